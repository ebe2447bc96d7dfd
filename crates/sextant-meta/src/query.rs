//! Backend-neutral filters and queries.
//!
//! The operators mirror a small subset of MongoDB's query language whose semantics the embedded
//! backend reproduces exactly:
//!
//! * comparisons are *type-bracketed*: a numeric bound only matches numbers (ints and floats
//!   compare numerically), a string bound only strings (by UTF-8 bytes), and booleans are never
//!   numbers;
//! * `eq(field, null)` matches documents where the field is null **or missing**;
//! * when a field holds an array, a condition matches if the whole value or *any element*
//!   matches it (so `eq("tags", "x")` finds documents whose `tags` contain `"x"`), and `ne` /
//!   a negated match means *no* element matches;
//! * all conditions of a [`Filter`] must hold (logical AND).

use serde_json::Value;

use crate::doc::{lookup, validate_bound, validate_field, validate_id, validate_scalar};
use crate::error::Result;

/// One comparison applied to a field.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Equal to a scalar; `Eq(Null)` also matches a missing field.
    Eq(Value),
    /// Not equal: the exact negation of [`Op::Eq`] (so missing fields match unless the operand
    /// is null).
    Ne(Value),
    /// Equal to any of the scalars (empty list: matches nothing).
    In(Vec<Value>),
    /// Greater than a number or string (type-bracketed).
    Gt(Value),
    /// Greater than or equal.
    Gte(Value),
    /// Less than.
    Lt(Value),
    /// Less than or equal.
    Lte(Value),
    /// The field is present (true; a null value counts as present) or absent (false).
    Exists(bool),
}

/// A condition on one dotted field path.
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    /// Dotted path through nested objects, e.g. `params.window`.
    pub field: String,
    /// The comparison.
    pub op: Op,
}

/// A conjunction of conditions, built fluently:
/// `Filter::new().eq("status", "queued").lt("priority", 5)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    conds: Vec<Cond>,
}

impl Filter {
    /// The empty filter, which matches every document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an arbitrary condition.
    pub fn cond(mut self, field: impl Into<String>, op: Op) -> Self {
        self.conds.push(Cond {
            field: field.into(),
            op,
        });
        self
    }

    /// `field == value` (null also matches a missing field).
    pub fn eq(self, field: impl Into<String>, value: impl Into<Value>) -> Self {
        self.cond(field, Op::Eq(value.into()))
    }

    /// `field != value`.
    pub fn ne(self, field: impl Into<String>, value: impl Into<Value>) -> Self {
        self.cond(field, Op::Ne(value.into()))
    }

    /// `field` equals any of `values`.
    pub fn any_of<V: Into<Value>>(
        self,
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.cond(field, Op::In(values.into_iter().map(Into::into).collect()))
    }

    /// `field > bound`.
    pub fn gt(self, field: impl Into<String>, bound: impl Into<Value>) -> Self {
        self.cond(field, Op::Gt(bound.into()))
    }

    /// `field >= bound`.
    pub fn gte(self, field: impl Into<String>, bound: impl Into<Value>) -> Self {
        self.cond(field, Op::Gte(bound.into()))
    }

    /// `field < bound`.
    pub fn lt(self, field: impl Into<String>, bound: impl Into<Value>) -> Self {
        self.cond(field, Op::Lt(bound.into()))
    }

    /// `field <= bound`.
    pub fn lte(self, field: impl Into<String>, bound: impl Into<Value>) -> Self {
        self.cond(field, Op::Lte(bound.into()))
    }

    /// `field` is present (`true`) or absent (`false`).
    pub fn exists(self, field: impl Into<String>, present: bool) -> Self {
        self.cond(field, Op::Exists(present))
    }

    /// The conditions, in the order they were added.
    pub fn conditions(&self) -> &[Cond] {
        &self.conds
    }

    /// True when the filter has no conditions.
    pub fn is_empty(&self) -> bool {
        self.conds.is_empty()
    }

    /// Rejects malformed paths and operands before any backend sees them.
    pub(crate) fn validate(&self) -> Result<()> {
        for c in &self.conds {
            validate_field(&c.field)?;
            match &c.op {
                Op::Eq(v) | Op::Ne(v) => validate_scalar(v, "filter operand")?,
                Op::In(vs) => vs
                    .iter()
                    .try_for_each(|v| validate_scalar(v, "filter operand"))?,
                Op::Gt(v) | Op::Gte(v) | Op::Lt(v) | Op::Lte(v) => validate_bound(v)?,
                Op::Exists(_) => {}
            }
        }
        Ok(())
    }
}

/// Sort direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Sort on one field; ties are always broken by `_id` in the same direction, which makes the
/// order total and so keyset pagination stable.
///
/// Values of different types sort by type first, as in MongoDB: missing and null (equal to each
/// other), then numbers, strings, objects, and booleans (false before true). Where the sort
/// field holds an array the position is backend-specific (MongoDB sorts by the smallest or
/// largest element), so sort on scalar fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    /// Dotted field path.
    pub field: String,
    /// Direction.
    pub order: Order,
}

/// Keyset-pagination position: the sort value and `_id` of the last document already seen.
///
/// Unlike `skip`, a cursor stays correct when documents are inserted or deleted between pages:
/// the next page starts strictly after `(value, id)` in the query's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    /// The sort field's value in that document (null when missing). Ignored when the query sorts
    /// by `_id` alone.
    pub value: Value,
    /// That document's `_id`.
    pub id: String,
}

impl Cursor {
    /// The cursor positioned at `doc` for a query sorted on `sort_field`.
    ///
    /// Returns `None` when `doc` has no string `_id`.
    pub fn at(doc: &Value, sort_field: &str) -> Option<Cursor> {
        let id = doc.get("_id")?.as_str()?.to_owned();
        let value = lookup(doc, sort_field).cloned().unwrap_or(Value::Null);
        Some(Cursor { value, id })
    }
}

/// A find request: filter, optional sort, keyset cursor, skip and limit.
///
/// Without a sort the order is by `_id` ascending, so every query has a deterministic order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    /// Which documents match.
    pub filter: Filter,
    /// Order; `None` means `_id` ascending.
    pub sort: Option<Sort>,
    /// Start strictly after this position (applied before `skip`).
    pub after: Option<Cursor>,
    /// Number of matching documents to drop (after the cursor).
    pub skip: u64,
    /// Maximum number of documents returned; `Some(0)` returns none.
    pub limit: Option<u64>,
}

impl From<Filter> for Query {
    fn from(filter: Filter) -> Self {
        Query {
            filter,
            ..Query::default()
        }
    }
}

impl Query {
    /// Matches everything, ordered by `_id`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the filter.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }

    /// Sorts ascending on `field`.
    pub fn sort_asc(mut self, field: impl Into<String>) -> Self {
        self.sort = Some(Sort {
            field: field.into(),
            order: Order::Asc,
        });
        self
    }

    /// Sorts descending on `field`.
    pub fn sort_desc(mut self, field: impl Into<String>) -> Self {
        self.sort = Some(Sort {
            field: field.into(),
            order: Order::Desc,
        });
        self
    }

    /// Continues after `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// Skips `n` documents.
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }

    /// Returns at most `n` documents.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// The field the query is ordered by (`_id` without a sort).
    pub fn sort_field(&self) -> &str {
        self.sort.as_ref().map_or("_id", |s| s.field.as_str())
    }

    /// The direction of the order.
    pub fn order(&self) -> Order {
        self.sort.as_ref().map_or(Order::Asc, |s| s.order)
    }

    /// The cursor that continues after the last document of `page`, or `None` for an empty page.
    pub fn cursor_after(&self, page: &[Value]) -> Option<Cursor> {
        Cursor::at(page.last()?, self.sort_field())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.filter.validate()?;
        if let Some(sort) = &self.sort {
            validate_field(&sort.field)?;
        }
        if let Some(c) = &self.after {
            validate_id(&c.id)?;
            validate_scalar(&c.value, "cursor value")?;
        }
        Ok(())
    }
}

/// Type classes in sort order, shared by both backends' sort and cursor logic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TypeClass {
    Null = 0,
    Number = 1,
    String = 2,
    Object = 3,
    Array = 4,
    Bool = 5,
}

impl TypeClass {
    pub(crate) const ALL: [TypeClass; 6] = [
        TypeClass::Null,
        TypeClass::Number,
        TypeClass::String,
        TypeClass::Object,
        TypeClass::Array,
        TypeClass::Bool,
    ];

    pub(crate) fn of(v: &Value) -> TypeClass {
        match v {
            Value::Null => TypeClass::Null,
            Value::Number(_) => TypeClass::Number,
            Value::String(_) => TypeClass::String,
            Value::Object(_) => TypeClass::Object,
            Value::Array(_) => TypeClass::Array,
            Value::Bool(_) => TypeClass::Bool,
        }
    }
}
