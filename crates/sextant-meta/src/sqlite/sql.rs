//! Translation of [`Filter`]s and [`Query`]s into SQLite SQL over JSON text.
//!
//! Each collection is a table `c_<name>(id TEXT PRIMARY KEY, doc TEXT)`; fields are read with
//! `json_extract`/`json_type`. Field paths are validated to `[A-Za-z0-9_-]` segments, so they
//! are spliced into the SQL as literals (which also lets SQLite match expression indexes); every
//! operand is a bound parameter.
//!
//! To reproduce MongoDB's semantics exactly, every comparison checks `json_type` (a numeric
//! bound never matches text or booleans, which SQLite would otherwise store as 0/1), and a field
//! holding an array also matches when any element does (`json_each`).

use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use crate::query::{Cond, Cursor, Filter, Op, Order, Query, TypeClass};

/// SQL text with its positional (`?`) parameters, in order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<SqlValue>,
}

impl Sql {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn param(&mut self, v: SqlValue) {
        self.text.push('?');
        self.params.push(v);
    }
}

/// The quoted table name for a (validated) collection.
pub(crate) fn table(collection: &str) -> String {
    format!("\"c_{collection}\"")
}

/// The name under which the table appears in `sqlite_master`.
pub(crate) fn table_name(collection: &str) -> String {
    format!("c_{collection}")
}

pub(crate) fn create_table(collection: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)",
        table(collection)
    )
}

/// A (validated) dotted field as an SQL string literal holding a JSON path: `'$."a"."b"'`.
fn path(field: &str) -> String {
    let mut p = String::from("'$");
    for seg in field.split('.') {
        p.push_str(".\"");
        p.push_str(seg);
        p.push('"');
    }
    p.push('\'');
    p
}

fn value_expr(field: &str) -> String {
    format!("json_extract(doc, {})", path(field))
}

fn type_expr(field: &str) -> String {
    format!("json_type(doc, {})", path(field))
}

/// Index DDL. A unique index keys on (type class, value) so that `true` and `1` do not clash;
/// null and missing fields yield a NULL key, which SQLite never considers duplicate — the same
/// set of documents MongoDB's partial unique index covers.
pub(crate) fn create_index(collection: &str, field: &str, unique: bool) -> String {
    if unique {
        let t = type_expr(field);
        format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS \"ux.{collection}.{field}\" ON {} \
             (CASE {t} WHEN 'integer' THEN 'n' WHEN 'real' THEN 'n' WHEN 'true' THEN 'b' \
              WHEN 'false' THEN 'b' WHEN 'null' THEN NULL ELSE {t} END, {})",
            table(collection),
            value_expr(field)
        )
    } else {
        format!(
            "CREATE INDEX IF NOT EXISTS \"ix.{collection}.{field}\" ON {} ({})",
            table(collection),
            value_expr(field)
        )
    }
}

fn scalar_param(v: &Value) -> SqlValue {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Null | Value::Array(_) | Value::Object(_) => SqlValue::Null,
    }
}

/// `value (op) x` restricted to x's type class, for a value expression `v` whose `json_type`
/// is `t`. Operands were validated to be scalars (ranges: numbers or strings).
fn scalar_pred(sql: &mut Sql, v: &str, t: &str, cmp: &str, x: &Value) {
    match x {
        Value::Null => sql.push(&format!("({t} = 'null')")),
        Value::Bool(b) => sql.push(&format!("({t} = '{b}')")),
        Value::Number(_) => {
            sql.push(&format!("({t} IN ('integer','real') AND {v} {cmp} "));
            sql.param(scalar_param(x));
            sql.push(")");
        }
        Value::String(_) => {
            sql.push(&format!("({t} = 'text' AND {v} {cmp} "));
            sql.param(scalar_param(x));
            sql.push(")");
        }
        // Rejected by validation; never matches.
        Value::Array(_) | Value::Object(_) => sql.push("0"),
    }
}

/// The element predicate of a positive condition (everything but `Ne` and `Exists`).
fn elem_pred(sql: &mut Sql, v: &str, t: &str, op: &Op) {
    match op {
        Op::Eq(x) | Op::Ne(x) => scalar_pred(sql, v, t, "=", x),
        Op::In(xs) if xs.is_empty() => sql.push("0"),
        Op::In(xs) => {
            sql.push("(");
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                scalar_pred(sql, v, t, "=", x);
            }
            sql.push(")");
        }
        Op::Gt(x) => scalar_pred(sql, v, t, ">", x),
        Op::Gte(x) => scalar_pred(sql, v, t, ">=", x),
        Op::Lt(x) => scalar_pred(sql, v, t, "<", x),
        Op::Lte(x) => scalar_pred(sql, v, t, "<=", x),
        Op::Exists(_) => sql.push("1"),
    }
}

/// Field matches `op` directly, or via any element when it is an array, or (for null operands)
/// by being missing.
fn positive(sql: &mut Sql, field: &str, op: &Op) {
    let (v, t, p) = (value_expr(field), type_expr(field), path(field));
    sql.push("(");
    elem_pred(sql, &v, &t, op);
    sql.push(&format!(
        " OR ({t} = 'array' AND EXISTS (SELECT 1 FROM json_each(doc, {p}) AS je WHERE "
    ));
    elem_pred(sql, "je.value", "je.type", op);
    sql.push("))");
    let null_operand = match op {
        Op::Eq(x) | Op::Ne(x) => x.is_null(),
        Op::In(xs) => xs.iter().any(Value::is_null),
        _ => false,
    };
    if null_operand {
        sql.push(&format!(" OR {t} IS NULL"));
    }
    sql.push(")");
}

fn cond(sql: &mut Sql, c: &Cond) {
    match &c.op {
        Op::Exists(present) => {
            let not = if *present { " NOT" } else { "" };
            sql.push(&format!("({} IS{not} NULL)", type_expr(&c.field)));
        }
        Op::Ne(_) => {
            // COALESCE: a NULL (unknown) inner result must count as "no match" before negating.
            sql.push("(NOT COALESCE(");
            positive(sql, &c.field, &c.op);
            sql.push(", 0))");
        }
        _ => positive(sql, &c.field, &c.op),
    }
}

/// Appends the filter as a boolean expression (`1` when empty).
pub(crate) fn where_expr(sql: &mut Sql, filter: &Filter) {
    if filter.is_empty() {
        sql.push("1");
        return;
    }
    for (i, c) in filter.conditions().iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        cond(sql, c);
    }
}

/// Sort rank of a field's type, matching [`TypeClass`] (missing and null are both 0).
fn rank_expr(field: &str) -> String {
    format!(
        "(CASE {} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 \
         WHEN 'object' THEN 3 WHEN 'array' THEN 4 WHEN 'true' THEN 5 WHEN 'false' THEN 5 \
         ELSE 0 END)",
        type_expr(field)
    )
}

/// Sort value within a rank; NULL (missing or null) becomes 0 so row-value comparisons with the
/// cursor never see NULL.
fn sort_value_expr(field: &str) -> String {
    format!("IFNULL({}, 0)", value_expr(field))
}

fn keyset(sql: &mut Sql, field: Option<&str>, order: Order, cursor: &Cursor) {
    let cmp = match order {
        Order::Asc => ">",
        Order::Desc => "<",
    };
    match field {
        None => {
            sql.push(&format!("id {cmp} "));
            sql.param(SqlValue::Text(cursor.id.clone()));
        }
        Some(f) => {
            let class = TypeClass::of(&cursor.value);
            let value = match &cursor.value {
                Value::Null => SqlValue::Integer(0),
                other => scalar_param(other),
            };
            sql.push(&format!(
                "({}, {}, id) {cmp} (?, ?, ?)",
                rank_expr(f),
                sort_value_expr(f)
            ));
            sql.params.push(SqlValue::Integer(class as i64));
            sql.params.push(value);
            sql.params.push(SqlValue::Text(cursor.id.clone()));
        }
    }
}

/// `SELECT doc ... ORDER BY ... LIMIT ... OFFSET ...` for a validated query.
pub(crate) fn find(collection: &str, q: &Query) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!("SELECT doc FROM {} WHERE ", table(collection)));
    where_expr(&mut sql, &q.filter);
    // Sorting by `_id` is sorting by the primary key alone.
    let field = Some(q.sort_field()).filter(|f| *f != "_id");
    let order = q.order();
    if let Some(cursor) = &q.after {
        sql.push(" AND ");
        keyset(&mut sql, field, order, cursor);
    }
    let dir = match order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    };
    match field {
        None => sql.push(&format!(" ORDER BY id {dir}")),
        Some(f) => sql.push(&format!(
            " ORDER BY {} {dir}, {} {dir}, id {dir}",
            rank_expr(f),
            sort_value_expr(f)
        )),
    }
    sql.push(" LIMIT ");
    sql.param(SqlValue::Integer(
        q.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
    ));
    sql.push(" OFFSET ");
    sql.param(SqlValue::Integer(i64::try_from(q.skip).unwrap_or(i64::MAX)));
    sql
}

/// `SELECT COUNT(*) ...` for a validated filter.
pub(crate) fn count(collection: &str, filter: &Filter) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT COUNT(*) FROM {} WHERE ",
        table(collection)
    ));
    where_expr(&mut sql, filter);
    sql
}

/// `SELECT doc ... WHERE id = ? AND <filter>`: the read half of `update_if`.
pub(crate) fn get_if(collection: &str, id: &str, filter: &Filter) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT doc FROM {} WHERE id = ",
        table(collection)
    ));
    sql.param(SqlValue::Text(id.to_owned()));
    sql.push(" AND ");
    where_expr(&mut sql, filter);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_segment_by_segment() {
        assert_eq!(path("a.b-c._d"), r#"'$."a"."b-c"."_d"'"#);
    }

    #[test]
    fn params_follow_text_order() {
        let q = Query::new()
            .filter(Filter::new().eq("a", 1).any_of("b", ["x", "y"]))
            .limit(5);
        let sql = find("c", &q);
        assert_eq!(sql.text.matches('?').count(), sql.params.len());
    }
}
