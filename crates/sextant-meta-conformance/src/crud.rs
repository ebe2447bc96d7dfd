//! Single-document operations: insert, get, replace, upsert, update_fields, update_if, delete.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{assert_invalid, ok};
use sextant_meta::{Cursor, Filter, MetaError, MetaStore, Op, Query};

/// The store answers and names itself.
pub async fn ping_and_backend_name(store: Arc<dyn MetaStore>) {
    ok(store.ping().await, "ping");
    assert!(
        ["sqlite", "mongodb"].contains(&store.backend_name()),
        "unexpected backend name {}",
        store.backend_name()
    );
}

/// Missing `_id`s are filled with distinct UUID v4 strings; explicit ones are kept.
pub async fn insert_generates_uuid_v4_ids(store: Arc<dyn MetaStore>) {
    let c = "cf_insert_ids";
    let a = ok(store.insert(c, json!({"n": 1})).await, "insert a");
    let b = ok(store.insert(c, json!({"n": 1})).await, "insert b");
    assert_ne!(a, b);
    for id in [&a, &b] {
        let u = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id} is no uuid: {e}"));
        assert_eq!(u.get_version_num(), 4, "{id} is not a v4 uuid");
    }
    let got = ok(store.get(c, &a).await, "get a");
    assert_eq!(got, Some(json!({"_id": a, "n": 1})));
    let explicit = ok(
        store.insert(c, json!({"_id": "explicit-1", "n": 2})).await,
        "insert",
    );
    assert_eq!(explicit, "explicit-1");
    assert_eq!(ok(store.count(c, &Filter::new()).await, "count"), 3);
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(
        json!("bottom"),
        |inner, i| json!({ format!("l{i}"): inner }),
    )
}

/// Every JSON value kind survives a round trip exactly: ints vs floats, extremes, unicode
/// (ids, keys and values), escapes, empty containers, deep nesting.
pub async fn round_trip_preserves_values(store: Arc<dyn MetaStore>) {
    let c = "cf_round_trip";
    let doc = json!({
        "_id": "rt-ü-日本-😀 /?#%",
        "ints": [0, 1, -1, i64::MAX, i64::MIN, 4_294_967_296_i64],
        "floats": [1.0, 0.1, -2.5e-10, 1e300, 123_456.789, 0.5],
        "unicode": "naïve café — 日本語 🚀 e\u{0301} \u{1F1FA}\u{1F1F8}",
        "escapes": "quote \" backslash \\ newline \n tab \t ctl \u{0001} '",
        "nested": {"a": {"b": {"c": [1, {"d": null}, [2, [3]]]}}},
        "empty_obj": {},
        "empty_arr": [],
        "t": true,
        "f": false,
        "nil": null,
        "ключ 🔑": "unicode key",
        "deep": nested(90),
    });
    let id = ok(store.insert(c, doc.clone()).await, "insert");
    assert_eq!(id, "rt-ü-日本-😀 /?#%");
    let got = ok(store.get(c, &id).await, "get").expect("document present");
    assert_eq!(got, doc);
    // Integers stay integers and floats stay floats.
    assert!(
        got["ints"][1].is_i64() && got["floats"][0].is_f64(),
        "{got}"
    );
    let found = ok(store.find(c, &Query::new()).await, "find");
    assert_eq!(found, vec![doc.clone()]);
    let by_unicode = ok(
        store
            .find(
                c,
                &Filter::new().eq("unicode", doc["unicode"].clone()).into(),
            )
            .await,
        "find by unicode value",
    );
    assert_eq!(by_unicode.len(), 1);
}

/// Inserting an existing `_id` fails with `Duplicate` and leaves the original untouched.
pub async fn insert_duplicate_id_is_typed_error(store: Arc<dyn MetaStore>) {
    let c = "cf_dup_id";
    ok(
        store.insert(c, json!({"_id": "dup", "v": 1})).await,
        "first insert",
    );
    let err = store.insert(c, json!({"_id": "dup", "v": 2})).await;
    match &err {
        Err(MetaError::Duplicate { collection, detail }) => {
            assert_eq!(collection, c);
            assert!(
                detail.contains("dup"),
                "detail should name the id: {detail}"
            );
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
    assert_eq!(
        ok(store.get(c, "dup").await, "get"),
        Some(json!({"_id": "dup", "v": 1}))
    );
    assert_eq!(ok(store.count(c, &Filter::new()).await, "count"), 1);
}

/// Malformed input fails with `Invalid` on every operation and writes nothing.
pub async fn invalid_inputs_are_rejected(store: Arc<dyn MetaStore>) {
    let c = "cf_invalid";
    let s = store.as_ref();
    let long = "x".repeat(65);
    for bad in [
        "",
        "Upper",
        "1abc",
        "a-b",
        "a.b",
        "sp ace",
        "ü",
        long.as_str(),
    ] {
        assert_invalid(
            s.insert(bad, json!({})).await,
            &format!("collection {bad:?}"),
        );
        assert_invalid(s.get(bad, "x").await, "get with bad collection");
        assert_invalid(s.find(bad, &Query::new()).await, "find with bad collection");
        assert_invalid(
            s.count(bad, &Filter::new()).await,
            "count with bad collection",
        );
    }
    for doc in [json!([1]), json!("s"), json!(1), json!(null)] {
        assert_invalid(s.insert(c, doc.clone()).await, &format!("non-object {doc}"));
        assert_invalid(s.upsert(c, "x", doc.clone()).await, "non-object upsert");
        assert_invalid(s.update_fields(c, "x", doc).await, "non-object patch");
    }
    for doc in [
        json!({"_id": 5}),
        json!({"_id": null}),
        json!({"_id": ""}),
        json!({"_id": {"a": 1}}),
        json!({"$set": 1}),
        json!({"a.b": 1}),
        json!({"": 1}),
        json!({"ok": {"$bad": 1}}),
        json!({"ok": [{"x.y": 1}]}),
        json!({"big": u64::MAX}),
        json!({"deep": super::crud::nested(150)}),
    ] {
        assert_invalid(
            s.insert(c, doc.clone()).await,
            &format!("bad document {doc}"),
        );
    }
    assert_invalid(s.get(c, "").await, "empty id");
    assert_invalid(
        s.replace(c, "a", json!({"_id": "b"})).await,
        "replace with other _id",
    );
    assert_invalid(
        s.upsert(c, "a", json!({"_id": "b"})).await,
        "upsert with other _id",
    );
    assert_invalid(
        s.update_fields(c, "a", json!({"_id": "b"})).await,
        "patch changing _id",
    );
    for field in [
        "", "a..b", ".a", "a.", "$x", "a b", "a.0", "é", "a\"b", "a'b",
    ] {
        let f = Filter::new().eq(field, 1);
        assert_invalid(
            s.find(c, &f.clone().into()).await,
            &format!("field {field:?}"),
        );
        assert_invalid(s.count(c, &f).await, "count with bad field");
        assert_invalid(
            s.find(c, &Query::new().sort_asc(field)).await,
            "sort on bad field",
        );
        assert_invalid(s.ensure_index(c, field, false).await, "index bad field");
    }
    for op in [
        Op::Eq(json!({"a": 1})),
        Op::Eq(json!([1])),
        Op::Ne(json!([1])),
        Op::In(vec![json!(1), json!({"a": 1})]),
        Op::Gt(json!(true)),
        Op::Lt(json!(null)),
        Op::Gte(json!([1])),
        Op::Eq(json!(u64::MAX)),
    ] {
        let f = Filter::new().cond("a", op.clone());
        assert_invalid(
            s.find(c, &f.clone().into()).await,
            &format!("operand {op:?}"),
        );
        assert_invalid(
            s.update_if(c, "x", &f, json!({"a": 1})).await,
            "update_if with bad operand",
        );
    }
    let cursor = Cursor {
        value: json!({"a": 1}),
        id: "x".into(),
    };
    assert_invalid(
        s.find(c, &Query::new().sort_asc("a").after(cursor)).await,
        "object cursor value",
    );
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count"), 0);
}

/// Absent documents and never-written collections are ordinary answers, not errors.
pub async fn missing_documents_and_collections(store: Arc<dyn MetaStore>) {
    let c = "cf_never_written";
    let s = store.as_ref();
    assert_eq!(ok(s.get(c, "nope").await, "get"), None);
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count"), 0);
    assert!(ok(s.find(c, &Query::new()).await, "find").is_empty());
    assert_eq!(ok(s.find_one(c, &Query::new()).await, "find_one"), None);
    assert!(!ok(s.delete(c, "nope").await, "delete"));
    assert!(!ok(s.replace(c, "nope", json!({"a": 1})).await, "replace"));
    assert!(!ok(
        s.update_fields(c, "nope", json!({"a": 1})).await,
        "update"
    ));
    assert!(!ok(
        s.update_fields(c, "nope", json!({})).await,
        "empty update"
    ));
    assert!(!ok(
        s.update_if(c, "nope", &Filter::new(), json!({"a": 1}))
            .await,
        "update_if"
    ));
    match s.get_required(c, "nope").await {
        Err(MetaError::NotFound { collection, id }) => {
            assert_eq!((collection.as_str(), id.as_str()), (c, "nope"));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count after"), 0);
    ok(s.insert(c, json!({"_id": "x"})).await, "insert");
    assert_eq!(ok(s.get(c, "nope").await, "get other id"), None);
}

/// `replace` swaps the whole document, keeps the `_id`, and never creates.
pub async fn replace_semantics(store: Arc<dyn MetaStore>) {
    let c = "cf_replace";
    let s = store.as_ref();
    ok(
        s.insert(c, json!({"_id": "r", "a": 1, "b": {"c": 2}}))
            .await,
        "insert",
    );
    assert!(ok(s.replace(c, "r", json!({"z": "new"})).await, "replace"));
    assert_eq!(
        ok(s.get(c, "r").await, "get"),
        Some(json!({"_id": "r", "z": "new"}))
    );
    assert!(ok(
        s.replace(c, "r", json!({"_id": "r", "z": 2})).await,
        "replace with own _id"
    ));
    assert_eq!(
        ok(s.get(c, "r").await, "get"),
        Some(json!({"_id": "r", "z": 2}))
    );
    assert!(!ok(
        s.replace(c, "absent", json!({"z": 1})).await,
        "replace missing"
    ));
    assert_eq!(ok(s.get(c, "absent").await, "get missing"), None);
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count"), 1);
}

/// `upsert` creates (true) then replaces (false).
pub async fn upsert_semantics(store: Arc<dyn MetaStore>) {
    let c = "cf_upsert";
    let s = store.as_ref();
    assert!(ok(
        s.upsert(c, "u", json!({"v": 1, "old": true})).await,
        "create"
    ));
    assert_eq!(
        ok(s.get(c, "u").await, "get"),
        Some(json!({"_id": "u", "v": 1, "old": true}))
    );
    assert!(!ok(
        s.upsert(c, "u", json!({"_id": "u", "v": 2})).await,
        "replace"
    ));
    assert_eq!(
        ok(s.get(c, "u").await, "get"),
        Some(json!({"_id": "u", "v": 2}))
    );
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count"), 1);
}

/// `update_fields` is `$set` on top-level fields.
pub async fn update_fields_semantics(store: Arc<dyn MetaStore>) {
    let c = "cf_update_fields";
    let s = store.as_ref();
    ok(
        s.insert(
            c,
            json!({"_id": "u", "keep": 1, "over": "old", "obj": {"a": 1, "b": 2}}),
        )
        .await,
        "insert",
    );
    assert!(ok(
        s.update_fields(
            c,
            "u",
            json!({"over": "new", "added": [1, 2], "obj": {"c": 3}, "gone": null, "_id": "u"})
        )
        .await,
        "update"
    ));
    assert_eq!(
        ok(s.get(c, "u").await, "get"),
        Some(json!({
            "_id": "u", "keep": 1, "over": "new", "added": [1, 2], "obj": {"c": 3}, "gone": null
        }))
    );
    assert!(ok(
        s.update_fields(c, "u", json!({})).await,
        "empty patch on existing"
    ));
    assert!(!ok(
        s.update_fields(c, "other", json!({"x": 1})).await,
        "missing doc"
    ));
    assert_eq!(ok(s.get(c, "other").await, "get missing"), None);
    // The updated value is visible to queries.
    let hits = ok(
        s.count(c, &Filter::new().eq("over", "new").eq("obj.c", 3))
            .await,
        "count",
    );
    assert_eq!(hits, 1);
}

/// `update_if` applies the patch only when the document matches the expected state.
pub async fn update_if_semantics(store: Arc<dyn MetaStore>) {
    let c = "cf_update_if";
    let s = store.as_ref();
    ok(
        s.insert(
            c,
            json!({"_id": "j", "status": "queued", "attempts": 0, "lease": {"owner": null}}),
        )
        .await,
        "insert",
    );
    let queued = Filter::new().eq("status", "queued");
    assert!(!ok(
        s.update_if(
            c,
            "j",
            &Filter::new().eq("status", "running"),
            json!({"status": "done"})
        )
        .await,
        "mismatch"
    ));
    assert_eq!(
        ok(s.get(c, "j").await, "get").and_then(|d| d.get("status").cloned()),
        Some(json!("queued"))
    );
    assert!(ok(
        s.update_if(c, "j", &queued, json!({"status": "running", "attempts": 1}))
            .await,
        "match"
    ));
    assert!(!ok(
        s.update_if(c, "j", &queued, json!({"status": "running"}))
            .await,
        "second claim"
    ));
    // Conditions on nested, missing and null fields, and ranges.
    let cond = Filter::new()
        .eq("lease.owner", json!(null))
        .exists("finished_at", false)
        .lt("attempts", 3);
    assert!(ok(
        s.update_if(c, "j", &cond, json!({"lease": {"owner": "w1"}}))
            .await,
        "nested condition"
    ));
    assert!(!ok(
        s.update_if(c, "j", &cond, json!({"lease": {"owner": "w2"}}))
            .await,
        "nested condition no longer holds"
    ));
    assert!(ok(
        s.update_if(c, "j", &Filter::new().eq("lease.owner", "w1"), json!({}))
            .await,
        "empty patch reports the match"
    ));
    assert!(!ok(
        s.update_if(c, "missing", &Filter::new(), json!({"x": 1}))
            .await,
        "missing doc"
    ));
    assert_eq!(
        ok(s.get(c, "j").await, "get"),
        Some(json!({"_id": "j", "status": "running", "attempts": 1, "lease": {"owner": "w1"}}))
    );
}

/// `delete` removes once and reports whether anything was there.
pub async fn delete_semantics(store: Arc<dyn MetaStore>) {
    let c = "cf_delete";
    let s = store.as_ref();
    ok(s.insert(c, json!({"_id": "d1"})).await, "insert d1");
    ok(s.insert(c, json!({"_id": "d2"})).await, "insert d2");
    assert!(ok(s.delete(c, "d1").await, "delete"));
    assert!(!ok(s.delete(c, "d1").await, "delete again"));
    assert_eq!(ok(s.get(c, "d1").await, "get"), None);
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count"), 1);
    // The id can be reused.
    ok(
        s.insert(c, json!({"_id": "d1", "again": true})).await,
        "reinsert",
    );
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count"), 2);
}

/// The same `_id` in two collections names two documents.
pub async fn collections_are_isolated(store: Arc<dyn MetaStore>) {
    let s = store.as_ref();
    ok(
        s.insert("cf_iso_a", json!({"_id": "same", "c": "a"})).await,
        "insert a",
    );
    ok(
        s.insert("cf_iso_b", json!({"_id": "same", "c": "b"})).await,
        "insert b",
    );
    assert!(ok(s.delete("cf_iso_a", "same").await, "delete a"));
    assert_eq!(ok(s.get("cf_iso_a", "same").await, "get a"), None);
    assert_eq!(
        ok(s.get("cf_iso_b", "same").await, "get b"),
        Some(json!({"_id": "same", "c": "b"}))
    );
}
