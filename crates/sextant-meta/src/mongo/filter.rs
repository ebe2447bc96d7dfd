//! Translation of [`Filter`]s, sorts and keyset cursors into MongoDB query documents.
//!
//! Filters use only `$eq $ne $in $gt $gte $lt $lte $exists $type $and $or`, the common core
//! that real MongoDB and SecantusDB both implement.

use mongodb::bson::{doc, Bson, Document as BsonDoc};

use super::convert::to_bson;
use crate::error::Result;
use crate::query::{Cursor, Filter, Op, Order, TypeClass};

fn cond(field: &str, op: &Op) -> Result<BsonDoc> {
    let inner = match op {
        Op::Eq(v) => doc! {"$eq": to_bson(v)?},
        Op::Ne(v) => doc! {"$ne": to_bson(v)?},
        Op::In(vs) => doc! {"$in": vs.iter().map(to_bson).collect::<Result<Vec<_>>>()?},
        Op::Gt(v) => doc! {"$gt": to_bson(v)?},
        Op::Gte(v) => doc! {"$gte": to_bson(v)?},
        Op::Lt(v) => doc! {"$lt": to_bson(v)?},
        Op::Lte(v) => doc! {"$lte": to_bson(v)?},
        Op::Exists(b) => doc! {"$exists": *b},
    };
    Ok(doc! {field: inner})
}

/// Conjunction of documents, without a needless `$and` for zero or one clause.
pub(crate) fn and(mut clauses: Vec<BsonDoc>) -> BsonDoc {
    match clauses.len() {
        0 => BsonDoc::new(),
        1 => clauses.remove(0),
        _ => doc! {"$and": clauses},
    }
}

/// The filter as a list of clauses (to be combined with [`and`]).
pub(crate) fn clauses(filter: &Filter) -> Result<Vec<BsonDoc>> {
    filter
        .conditions()
        .iter()
        .map(|c| cond(&c.field, &c.op))
        .collect()
}

/// `$type` alias of a sort class (the null class is matched with `$eq: null` instead, which also
/// covers missing fields).
fn type_alias(class: TypeClass) -> Option<&'static str> {
    match class {
        TypeClass::Null => None,
        TypeClass::Number => Some("number"),
        TypeClass::String => Some("string"),
        TypeClass::Object => Some("object"),
        TypeClass::Array => Some("array"),
        TypeClass::Bool => Some("bool"),
    }
}

/// Documents strictly after `cursor` in the order (field, `_id`), both in direction `order`.
///
/// Because MongoDB comparisons are type-bracketed (`$gt: 5` never matches a string), "after" is
/// spelled out per type class: a later class (`$type`), a greater value in the same class, or an
/// equal value with a greater `_id`.
pub(crate) fn keyset(field: Option<&str>, order: Order, cursor: &Cursor) -> Result<BsonDoc> {
    let (cmp, id_cmp) = match order {
        Order::Asc => ("$gt", "$gt"),
        Order::Desc => ("$lt", "$lt"),
    };
    let Some(field) = field else {
        return Ok(doc! {"_id": {id_cmp: cursor.id.clone()}});
    };
    let class = TypeClass::of(&cursor.value);
    let value = to_bson(&cursor.value)?;
    let mut any: Vec<BsonDoc> = Vec::new();
    let beyond: Vec<TypeClass> = TypeClass::ALL
        .into_iter()
        .filter(|c| match order {
            Order::Asc => *c > class,
            Order::Desc => *c < class,
        })
        .collect();
    if beyond.contains(&TypeClass::Null) {
        any.push(doc! {field: {"$eq": Bson::Null}});
    }
    let aliases: Vec<&str> = beyond.into_iter().filter_map(type_alias).collect();
    if !aliases.is_empty() {
        any.push(doc! {field: {"$type": aliases}});
    }
    if class != TypeClass::Null {
        any.push(doc! {field: {cmp: value.clone()}});
    }
    any.push(doc! {field: {"$eq": value}, "_id": {id_cmp: cursor.id.clone()}});
    Ok(doc! {"$or": any})
}

/// Sort document: the field then `_id`, both in `order`.
pub(crate) fn sort(field: Option<&str>, order: Order) -> BsonDoc {
    let dir = match order {
        Order::Asc => 1,
        Order::Desc => -1,
    };
    match field {
        None => doc! {"_id": dir},
        Some(f) => doc! {f: dir, "_id": dir},
    }
}
