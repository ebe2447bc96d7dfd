//! Secondary indexes: idempotent creation and unique constraints.

use std::sync::Arc;

use serde_json::json;

use super::{assert_duplicate, assert_invalid, ids, ok, strs};
use sextant_meta::{Filter, MetaStore, Query};

/// Creating the same index twice is fine, on new or populated collections, and queries keep
/// their results.
pub async fn ensure_index_is_idempotent(store: Arc<dyn MetaStore>) {
    let c = "cf_index_idem";
    let s = store.as_ref();
    ok(
        s.ensure_index(c, "kind", false).await,
        "index on empty collection",
    );
    ok(s.ensure_index(c, "kind", false).await, "same index again");
    ok(
        s.ensure_index(c, "params.window", false).await,
        "nested index",
    );
    ok(s.ensure_index(c, "_id", true).await, "_id is always unique");
    for (id, kind) in [("a", "x"), ("b", "y"), ("c", "x")] {
        ok(
            s.insert(c, json!({"_id": id, "kind": kind, "params": {"window": 5}}))
                .await,
            "insert",
        );
    }
    ok(
        s.ensure_index(c, "kind", false).await,
        "index on populated collection",
    );
    let found = ok(
        s.find(c, &Filter::new().eq("kind", "x").into()).await,
        "find",
    );
    assert_eq!(ids(&found), strs(&["a", "c"]));
    // A plain and a unique index may coexist on one field, created in either order.
    ok(
        s.ensure_index(c, "slug", false).await,
        "plain index on slug",
    );
    ok(
        s.ensure_index(c, "slug", true).await,
        "unique index on slug too",
    );
    ok(s.ensure_index(c, "slug", false).await, "plain index again");
    ok(
        s.insert(c, json!({"_id": "s1", "slug": "one"})).await,
        "slug one",
    );
    assert_duplicate(s.insert(c, json!({"slug": "one"})).await, "slug one again");
    assert_invalid(s.ensure_index(c, "bad field", false).await, "bad field");
    assert_invalid(s.ensure_index("Bad", "kind", false).await, "bad collection");
}

/// A unique index rejects a clashing value on insert, replace, upsert, update_fields and
/// update_if — leaving data unchanged — while documents with the field null or missing are
/// unconstrained. `1` and `1.0` clash (numerically equal); `true` and `1` do not.
pub async fn unique_index_is_enforced_on_every_write(store: Arc<dyn MetaStore>) {
    let c = "cf_index_unique";
    let s = store.as_ref();
    ok(s.ensure_index(c, "name", true).await, "unique index");
    ok(s.ensure_index(c, "name", true).await, "unique index again");
    ok(
        s.insert(c, json!({"_id": "alpha", "name": "alpha"})).await,
        "first alpha",
    );
    assert_duplicate(s.insert(c, json!({"name": "alpha"})).await, "second alpha");
    ok(s.insert(c, json!({"name": "Alpha"})).await, "case differs");
    for i in 0..3 {
        ok(
            s.insert(c, json!({"_id": format!("missing{i}")})).await,
            "missing field",
        );
        ok(
            s.insert(c, json!({"_id": format!("null{i}"), "name": null}))
                .await,
            "null field",
        );
    }
    ok(
        s.insert(c, json!({"_id": "one", "name": 1})).await,
        "number",
    );
    assert_duplicate(
        s.insert(c, json!({"name": 1.0})).await,
        "1.0 clashes with 1",
    );
    ok(
        s.insert(c, json!({"_id": "t", "name": true})).await,
        "true is not 1",
    );

    assert_duplicate(
        s.replace(c, "null0", json!({"name": "alpha"})).await,
        "replace",
    );
    assert_duplicate(
        s.update_fields(c, "null1", json!({"name": "alpha"})).await,
        "update",
    );
    assert_duplicate(
        s.upsert(c, "fresh", json!({"name": "alpha"})).await,
        "upsert new",
    );
    assert_duplicate(
        s.upsert(c, "null2", json!({"name": "alpha"})).await,
        "upsert existing",
    );
    assert_duplicate(
        s.update_if(
            c,
            "missing0",
            &Filter::new().exists("name", false),
            json!({"name": 1}),
        )
        .await,
        "update_if",
    );
    assert_eq!(ok(s.get(c, "fresh").await, "get fresh"), None);
    assert_eq!(
        ok(s.get(c, "null0").await, "get"),
        Some(json!({"_id": "null0", "name": null}))
    );
    assert_eq!(
        ok(s.get(c, "missing0").await, "get"),
        Some(json!({"_id": "missing0"}))
    );
    assert_eq!(
        ok(
            s.count(c, &Filter::new().eq("name", "alpha")).await,
            "count"
        ),
        1
    );

    // Replacing a document with its own value is not a clash; freeing the value allows reuse.
    assert!(ok(
        s.replace(c, "alpha", json!({"name": "alpha", "v": 2}))
            .await,
        "self"
    ));
    assert!(ok(s.delete(c, "alpha").await, "delete"));
    ok(
        s.insert(c, json!({"_id": "alpha2", "name": "alpha"})).await,
        "reuse after delete",
    );

    // Unique nested fields.
    ok(s.ensure_index(c, "key.hash", true).await, "nested unique");
    ok(s.insert(c, json!({"key": {"hash": "h1"}})).await, "h1");
    assert_duplicate(
        s.insert(c, json!({"key": {"hash": "h1"}})).await,
        "h1 again",
    );
    ok(s.insert(c, json!({"key": {"hash": "h2"}})).await, "h2");
}

/// Building a unique index over existing duplicates fails with `Duplicate` and creates nothing.
pub async fn unique_index_over_existing_duplicates_fails(store: Arc<dyn MetaStore>) {
    let c = "cf_index_existing_dups";
    let s = store.as_ref();
    ok(s.insert(c, json!({"sym": "AAPL"})).await, "first");
    ok(s.insert(c, json!({"sym": "AAPL"})).await, "second");
    assert_duplicate(
        s.ensure_index(c, "sym", true).await,
        "unique over duplicates",
    );
    ok(
        s.insert(c, json!({"sym": "AAPL"})).await,
        "no index was left behind",
    );
    ok(
        s.ensure_index(c, "sym", false).await,
        "a non-unique index is fine",
    );
    let n = ok(
        s.find(c, &Query::new().filter(Filter::new().eq("sym", "AAPL")))
            .await,
        "find",
    );
    assert_eq!(n.len(), 3);
}
