//! Input validation and small document helpers shared by both backends.
//!
//! Every check lives here, before any backend sees the input, so that the embedded store and
//! MongoDB accept and reject exactly the same things. The rules are the intersection of what
//! both can store and query faithfully.

use serde_json::{Map, Value};

use crate::error::{invalid, Result};

/// A stored document: a JSON object whose `_id` is a string.
pub type Document = Map<String, Value>;

/// Longest collection name; leaves room for prefixes in SQLite table and MongoDB index names.
pub const MAX_COLLECTION_LEN: usize = 64;
/// Longest `_id`, in bytes. Ids are keys, not payloads.
pub const MAX_ID_LEN: usize = 512;
/// Deepest nesting accepted. MongoDB refuses documents nested deeper than 100 levels.
pub const MAX_DEPTH: usize = 100;
/// Longest dotted field path, in bytes.
pub const MAX_FIELD_LEN: usize = 256;

/// Checks a collection name against `[a-z_][a-z0-9_]{0,63}`.
///
/// The name becomes part of an SQLite table name and a MongoDB namespace, so it is restricted to
/// characters that need no quoting or escaping in either.
pub fn validate_collection(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok_first = matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_');
    let ok_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok_first || !ok_rest || name.len() > MAX_COLLECTION_LEN {
        return Err(invalid(format!(
            "collection name {name:?} must match [a-z_][a-z0-9_]* and be at most \
             {MAX_COLLECTION_LEN} characters"
        )));
    }
    Ok(())
}

/// Checks a document id: a non-empty string of at most [`MAX_ID_LEN`] bytes without NUL.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.contains('\0') {
        return Err(invalid(format!(
            "`_id` must be a non-empty string of at most {MAX_ID_LEN} bytes without NUL"
        )));
    }
    Ok(())
}

/// Checks a dotted field path such as `params.window` used in filters, sorts and indexes.
///
/// Segments are `[A-Za-z0-9_-]+` and not all digits: the path is spliced into SQLite JSON paths
/// and MongoDB keys, and a numeric segment would mean "array index" to MongoDB but "object key"
/// to SQLite. Paths address nested *objects*; a path that crosses an array matches nothing on the
/// embedded backend, so such queries are not part of the contract.
pub fn validate_field(path: &str) -> Result<()> {
    let bad = |why: &str| Err(invalid(format!("field path {path:?} {why}")));
    if path.is_empty() || path.len() > MAX_FIELD_LEN {
        return bad(&format!("must have 1 to {MAX_FIELD_LEN} bytes"));
    }
    for seg in path.split('.') {
        if seg.is_empty() {
            return bad("has an empty segment");
        }
        if !seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return bad("may only contain [A-Za-z0-9_-] segments separated by dots");
        }
        if seg.chars().all(|c| c.is_ascii_digit()) {
            return bad("has an all-digit segment (array indexes are not supported)");
        }
    }
    Ok(())
}

/// Checks an object key inside a document. Keys starting with `$` or containing `.` or NUL are
/// operators or paths to MongoDB, and empty keys are refused by some MongoDB versions, so all
/// of these are refused everywhere.
fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() || key.starts_with('$') || key.contains('.') || key.contains('\0') {
        return Err(invalid(format!(
            "field name {key:?} must be non-empty and not start with `$` or contain `.` or NUL"
        )));
    }
    Ok(())
}

/// Checks that a JSON number fits both backends: integers must fit in i64 (BSON has no u64).
pub(crate) fn validate_number(n: &serde_json::Number) -> Result<()> {
    if n.is_u64() && n.as_i64().is_none() {
        return Err(invalid(format!(
            "integer {n} does not fit in a signed 64-bit integer"
        )));
    }
    Ok(())
}

/// Recursively checks keys, numbers and depth of a value.
fn validate_value(v: &Value, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "document nests deeper than {MAX_DEPTH} levels"
        )));
    }
    match v {
        Value::Number(n) => validate_number(n),
        Value::Array(items) => items.iter().try_for_each(|i| validate_value(i, depth + 1)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            validate_key(k)?;
            validate_value(v, depth + 1)
        }),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

fn into_object(doc: Value, what: &str) -> Result<Document> {
    match doc {
        Value::Object(map) => {
            for (k, v) in &map {
                validate_key(k)?;
                validate_value(v, 2)?;
            }
            Ok(map)
        }
        other => Err(invalid(format!(
            "{what} must be a JSON object, got {}",
            type_name(&other)
        ))),
    }
}

fn id_of(doc: &Document) -> Result<Option<&str>> {
    match doc.get("_id") {
        None => Ok(None),
        Some(Value::String(id)) => validate_id(id).map(|()| Some(id.as_str())),
        Some(other) => Err(invalid(format!(
            "`_id` must be a string, got {}",
            type_name(other)
        ))),
    }
}

/// Validates a document for `insert`, assigning a fresh UUID v4 `_id` when it has none.
pub(crate) fn prepare_insert(doc: Value) -> Result<(String, Document)> {
    let mut doc = into_object(doc, "document")?;
    let id = match id_of(&doc)? {
        Some(id) => id.to_owned(),
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            doc.insert("_id".into(), Value::String(id.clone()));
            id
        }
    };
    Ok((id, doc))
}

/// Validates a full replacement for `id`: its `_id`, if present, must equal `id`.
pub(crate) fn prepare_replacement(id: &str, doc: Value) -> Result<Document> {
    validate_id(id)?;
    let mut doc = into_object(doc, "document")?;
    if let Some(own) = id_of(&doc)? {
        if own != id {
            return Err(invalid(format!(
                "document `_id` {own:?} differs from {id:?}"
            )));
        }
    }
    doc.insert("_id".into(), Value::String(id.to_owned()));
    Ok(doc)
}

/// Validates a `$set`-style patch of top-level fields. An `_id` in the patch must equal `id` and
/// is dropped, since ids never change.
pub(crate) fn prepare_patch(id: &str, patch: Value) -> Result<Document> {
    validate_id(id)?;
    let mut patch = into_object(patch, "patch")?;
    if let Some(own) = id_of(&patch)? {
        if own != id {
            return Err(invalid(format!(
                "patch would change `_id` from {id:?} to {own:?}"
            )));
        }
    }
    patch.remove("_id");
    Ok(patch)
}

/// Applies a patch: every top-level field in `patch` replaces the one in `doc`.
pub(crate) fn apply_patch(doc: &mut Document, patch: &Document) {
    for (k, v) in patch {
        doc.insert(k.clone(), v.clone());
    }
}

/// Follows a dotted path through nested objects.
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(doc, |v, seg| v.as_object()?.get(seg))
}

/// Checks a value used in an equality filter: a scalar (null, bool, number, string). Object and
/// array operands are refused because MongoDB compares them by field order while SQLite compares
/// JSON text, so their results would differ between backends.
pub(crate) fn validate_scalar(v: &Value, what: &str) -> Result<()> {
    match v {
        Value::Number(n) => validate_number(n),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
        other => Err(invalid(format!(
            "{what} must be null, a boolean, a number or a string, got {}",
            type_name(other)
        ))),
    }
}

/// Checks a value used as a range bound: a number or a string.
pub(crate) fn validate_bound(v: &Value) -> Result<()> {
    match v {
        Value::Number(n) => validate_number(n),
        Value::String(_) => Ok(()),
        other => Err(invalid(format!(
            "range bound must be a number or a string, got {}",
            type_name(other)
        ))),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
