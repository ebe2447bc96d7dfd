//! Filters, sorting, skip/limit and count.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{ids, ok, seed, sorted, strs};
use sextant_meta::{Filter, MetaStore, Query};

async fn matching(store: &dyn MetaStore, c: &str, f: Filter) -> Vec<String> {
    let found = ok(
        store.find(c, &f.clone().into()).await,
        &format!("find {f:?}"),
    );
    let n = ok(store.count(c, &f).await, "count");
    assert_eq!(n as usize, found.len(), "count and find disagree for {f:?}");
    sorted(ids(&found))
}

/// Equality on top-level and dotted fields; ints equal floats; strings are case-sensitive.
pub async fn find_equality_on_nested_fields(store: Arc<dyn MetaStore>) {
    let c = "cf_find_eq";
    let s = store.as_ref();
    seed(
        s,
        c,
        vec![
            json!({"_id": "a", "kind": "strategy", "params": {"window": 20, "name": "sma"},
                   "owner": {"team": {"name": "α-team"}}}),
            json!({"_id": "b", "kind": "strategy", "params": {"window": 50, "name": "ema"}}),
            json!({"_id": "c", "kind": "model", "params": {"window": 20.0}}),
            json!({"_id": "d", "kind": "strategy"}),
            json!({"_id": "e", "kind": "Strategy", "params": "flat"}),
        ],
    )
    .await;
    assert_eq!(
        matching(s, c, Filter::new().eq("kind", "strategy")).await,
        strs(&["a", "b", "d"])
    );
    assert_eq!(
        matching(s, c, Filter::new().eq("params.window", 20)).await,
        strs(&["a", "c"])
    );
    assert_eq!(
        matching(s, c, Filter::new().eq("params.window", 20.0)).await,
        strs(&["a", "c"])
    );
    assert_eq!(
        matching(
            s,
            c,
            Filter::new().eq("kind", "strategy").eq("params.window", 20)
        )
        .await,
        strs(&["a"])
    );
    assert_eq!(
        matching(s, c, Filter::new().eq("owner.team.name", "α-team")).await,
        strs(&["a"])
    );
    assert_eq!(
        matching(s, c, Filter::new().eq("kind", "STRATEGY")).await,
        strs(&[])
    );
    assert_eq!(
        matching(s, c, Filter::new().eq("_id", "c")).await,
        strs(&["c"])
    );
    assert_eq!(
        matching(s, c, Filter::new().eq("params.window.x", 1)).await,
        strs(&[])
    );
    assert_eq!(
        matching(s, c, Filter::new()).await,
        strs(&["a", "b", "c", "d", "e"])
    );
}

/// `any_of` is `$in`: any listed scalar, null also matching missing, empty list matching none.
pub async fn find_any_of(store: Arc<dyn MetaStore>) {
    let c = "cf_find_in";
    let s = store.as_ref();
    seed(
        s,
        c,
        vec![
            json!({"_id": "a", "kind": "model"}),
            json!({"_id": "b", "kind": "narrative"}),
            json!({"_id": "c", "kind": "strategy"}),
            json!({"_id": "d"}),
            json!({"_id": "e", "kind": 7}),
        ],
    )
    .await;
    let f = |vals: Vec<Value>| Filter::new().any_of("kind", vals);
    assert_eq!(
        matching(s, c, f(vec![json!("model"), json!("narrative")])).await,
        strs(&["a", "b"])
    );
    assert_eq!(
        matching(s, c, f(vec![json!("model"), json!(null)])).await,
        strs(&["a", "d"])
    );
    assert_eq!(
        matching(s, c, f(vec![json!(7), json!("strategy")])).await,
        strs(&["c", "e"])
    );
    assert_eq!(matching(s, c, f(vec![json!(7.0)])).await, strs(&["e"]));
    assert_eq!(matching(s, c, f(vec![])).await, strs(&[]));
    assert_eq!(
        matching(s, c, Filter::new().any_of("_id", ["a", "c", "zz"])).await,
        strs(&["a", "c"])
    );
}

/// Ranges only compare within a type class: numbers (int and float together) or strings (by
/// UTF-8 bytes); booleans are not numbers, numeric strings are not numbers.
pub async fn find_ranges_are_type_bracketed(store: Arc<dyn MetaStore>) {
    let c = "cf_find_range";
    let s = store.as_ref();
    seed(
        s,
        c,
        vec![
            json!({"_id": "n1", "v": 1}),
            json!({"_id": "n2", "v": 2.5}),
            json!({"_id": "n3", "v": 10}),
            json!({"_id": "n4", "v": -3}),
            json!({"_id": "n5", "v": 1e15}),
            json!({"_id": "s1", "v": "10"}),
            json!({"_id": "s2", "v": "apple"}),
            json!({"_id": "s3", "v": "Banana"}),
            json!({"_id": "s4", "v": "cherry"}),
            json!({"_id": "s5", "v": "Ähre"}),
            json!({"_id": "s6", "v": "日本"}),
            json!({"_id": "b1", "v": true}),
            json!({"_id": "b2", "v": false}),
            json!({"_id": "z1", "v": null}),
            json!({"_id": "z2"}),
            json!({"_id": "o1", "v": {"x": 1}}),
            json!({"_id": "d1", "at": "2024-01-15T09:30:00Z"}),
            json!({"_id": "d2", "at": "2024-02-29T16:00:00Z"}),
            json!({"_id": "d3", "at": "2024-03-31T23:59:59Z"}),
            json!({"_id": "d4", "at": "2024-04-01T00:00:00Z"}),
        ],
    )
    .await;
    let r = |f: Filter| matching(s, c, f);
    assert_eq!(r(Filter::new().gt("v", 2)).await, strs(&["n2", "n3", "n5"]));
    assert_eq!(
        r(Filter::new().gte("v", 2.5).lte("v", 10)).await,
        strs(&["n2", "n3"])
    );
    assert_eq!(r(Filter::new().lt("v", 0)).await, strs(&["n4"]));
    assert_eq!(r(Filter::new().lte("v", 1.0)).await, strs(&["n1", "n4"]));
    assert_eq!(r(Filter::new().gt("v", 0).lt("v", 1)).await, strs(&[]));
    assert_eq!(
        r(Filter::new().gte("v", "b").lt("v", "d")).await,
        strs(&["s4"])
    );
    assert_eq!(r(Filter::new().gt("v", "z")).await, strs(&["s5", "s6"]));
    assert_eq!(r(Filter::new().lt("v", "B")).await, strs(&["s1"]));
    assert_eq!(
        r(Filter::new().gte("v", "")).await,
        strs(&["s1", "s2", "s3", "s4", "s5", "s6"])
    );
    assert_eq!(
        r(Filter::new().gte("at", "2024-02").lt("at", "2024-04")).await,
        strs(&["d2", "d3"])
    );
}

/// Null matches missing; `exists` sees nulls as present; `ne` is the exact complement of `eq`;
/// booleans and numbers never equal each other.
pub async fn find_null_missing_exists_ne(store: Arc<dyn MetaStore>) {
    let c = "cf_find_null";
    let s = store.as_ref();
    seed(
        s,
        c,
        vec![
            json!({"_id": "a", "v": null}),
            json!({"_id": "b"}),
            json!({"_id": "c", "v": 1}),
            json!({"_id": "d", "v": "x"}),
            json!({"_id": "e", "v": false}),
            json!({"_id": "f", "v": 0}),
            json!({"_id": "g", "v": true}),
            json!({"_id": "h", "v": {"w": null}}),
        ],
    )
    .await;
    let r = |f: Filter| matching(s, c, f);
    assert_eq!(
        r(Filter::new().eq("v", json!(null))).await,
        strs(&["a", "b"])
    );
    assert_eq!(
        r(Filter::new().exists("v", true)).await,
        strs(&["a", "c", "d", "e", "f", "g", "h"])
    );
    assert_eq!(r(Filter::new().exists("v", false)).await, strs(&["b"]));
    assert_eq!(
        r(Filter::new().ne("v", json!(null))).await,
        strs(&["c", "d", "e", "f", "g", "h"])
    );
    assert_eq!(
        r(Filter::new().ne("v", 1)).await,
        strs(&["a", "b", "d", "e", "f", "g", "h"])
    );
    assert_eq!(r(Filter::new().eq("v", false)).await, strs(&["e"]));
    assert_eq!(r(Filter::new().eq("v", 0)).await, strs(&["f"]));
    assert_eq!(r(Filter::new().eq("v", true)).await, strs(&["g"]));
    assert_eq!(r(Filter::new().eq("v", 1)).await, strs(&["c"]));
    assert_eq!(
        r(Filter::new().ne("v", false)).await,
        strs(&["a", "b", "c", "d", "f", "g", "h"])
    );
    assert_eq!(
        r(Filter::new().eq("v.w", json!(null))).await,
        strs(&["a", "b", "c", "d", "e", "f", "g", "h"])
    );
    assert_eq!(r(Filter::new().exists("v.w", true)).await, strs(&["h"]));
}

/// A condition on an array field matches when any element matches (each condition on its own).
pub async fn find_array_fields_match_any_element(store: Arc<dyn MetaStore>) {
    let c = "cf_find_array";
    let s = store.as_ref();
    seed(
        s,
        c,
        vec![
            json!({"_id": "a", "tags": ["x", "y"], "scores": [1, 5]}),
            json!({"_id": "b", "tags": ["y"], "scores": []}),
            json!({"_id": "c", "tags": "x", "scores": 3}),
            json!({"_id": "d", "tags": [["x"]], "scores": [[10]]}),
            json!({"_id": "e"}),
            json!({"_id": "f", "tags": [null, "z"], "scores": [2.5, "9"]}),
        ],
    )
    .await;
    let r = |f: Filter| matching(s, c, f);
    assert_eq!(r(Filter::new().eq("tags", "x")).await, strs(&["a", "c"]));
    assert_eq!(
        r(Filter::new().any_of("tags", ["y", "z"])).await,
        strs(&["a", "b", "f"])
    );
    assert_eq!(
        r(Filter::new().ne("tags", "x")).await,
        strs(&["b", "d", "e", "f"])
    );
    assert_eq!(
        r(Filter::new().eq("tags", json!(null))).await,
        strs(&["e", "f"])
    );
    assert_eq!(r(Filter::new().gt("scores", 3)).await, strs(&["a"]));
    assert_eq!(
        r(Filter::new().gte("scores", 2.5).lt("scores", 4)).await,
        strs(&["a", "c", "f"])
    );
    // Different elements may satisfy different conditions, as in MongoDB.
    assert_eq!(
        r(Filter::new().gt("scores", 3).lt("scores", 2)).await,
        strs(&["a"])
    );
    assert_eq!(r(Filter::new().gt("scores", "5")).await, strs(&["f"]));
    assert_eq!(
        r(Filter::new().exists("scores", true)).await,
        strs(&["a", "b", "c", "d", "f"])
    );
}

/// `count` agrees with `find` for every filter (checked in every filter case) and is 0 for an
/// unmatched filter.
pub async fn count_matches_find(store: Arc<dyn MetaStore>) {
    let c = "cf_count";
    let s = store.as_ref();
    for i in 0..25 {
        ok(
            s.insert(c, json!({"i": i, "even": i % 2 == 0})).await,
            "insert",
        );
    }
    assert_eq!(ok(s.count(c, &Filter::new()).await, "count all"), 25);
    assert_eq!(
        ok(
            s.count(c, &Filter::new().eq("even", true)).await,
            "count even"
        ),
        13
    );
    assert_eq!(
        ok(s.count(c, &Filter::new().gte("i", 20)).await, "count tail"),
        5
    );
    assert_eq!(
        ok(s.count(c, &Filter::new().eq("i", 99)).await, "count none"),
        0
    );
    let limited = ok(s.find(c, &Query::new().limit(4)).await, "find limited");
    assert_eq!(limited.len(), 4, "count ignores limit but find honours it");
}

async fn order(store: &dyn MetaStore, c: &str, q: Query) -> Vec<String> {
    ids(&ok(store.find(c, &q).await, "find sorted"))
}

/// Sorting orders by type class (null/missing < numbers < strings < objects < booleans) and then
/// by value, strings by UTF-8 bytes; descending is the exact reverse.
pub async fn sort_orders_types_and_unicode(store: Arc<dyn MetaStore>) {
    let c = "cf_sort_types";
    let s = store.as_ref();
    let docs = vec![
        json!({"_id": "k", "v": true}),
        json!({"_id": "b", "v": null}),
        json!({"_id": "f", "v": "B"}),
        json!({"_id": "d", "v": 2}),
        json!({"_id": "i", "v": "日本"}),
        json!({"_id": "a"}),
        json!({"_id": "h", "v": "é"}),
        json!({"_id": "c", "v": -1.5}),
        json!({"_id": "g", "v": "a"}),
        json!({"_id": "e", "v": 10}),
        json!({"_id": "j", "v": "😀"}),
        json!({"_id": "x", "v": {"o": 1}}),
        json!({"_id": "jj", "v": false}),
        json!({"_id": "e2", "v": 2.0}),
    ];
    seed(s, c, docs).await;
    let asc = strs(&[
        "a", "b", "c", "d", "e2", "e", "f", "g", "h", "i", "j", "x", "jj", "k",
    ]);
    assert_eq!(order(s, c, Query::new().sort_asc("v")).await, asc);
    let mut desc = asc.clone();
    desc.reverse();
    assert_eq!(order(s, c, Query::new().sort_desc("v")).await, desc);
}

/// Equal sort values are ordered by `_id`, in the sort's direction; nested sort fields work.
pub async fn sort_ties_break_on_id(store: Arc<dyn MetaStore>) {
    let c = "cf_sort_ties";
    let s = store.as_ref();
    let rows = [
        ("m", 2),
        ("c", 1),
        ("q", 2),
        ("a", 1),
        ("z", 0),
        ("b", 2),
        ("k", 1),
    ];
    for (id, rank) in rows {
        ok(
            s.insert(c, json!({"_id": id, "meta": {"rank": rank}}))
                .await,
            "insert",
        );
    }
    assert_eq!(
        order(s, c, Query::new().sort_asc("meta.rank")).await,
        strs(&["z", "a", "c", "k", "b", "m", "q"])
    );
    assert_eq!(
        order(s, c, Query::new().sort_desc("meta.rank")).await,
        strs(&["q", "m", "b", "k", "c", "a", "z"])
    );
    assert_eq!(
        order(s, c, Query::new().sort_desc("_id")).await,
        strs(&["z", "q", "m", "k", "c", "b", "a"])
    );
    assert_eq!(
        order(
            s,
            c,
            Query::new()
                .filter(Filter::new().eq("meta.rank", 1))
                .sort_desc("meta.rank")
        )
        .await,
        strs(&["k", "c", "a"])
    );
}

/// `skip` and `limit` page through the sorted result; `limit(0)` returns nothing.
pub async fn skip_and_limit(store: Arc<dyn MetaStore>) {
    let c = "cf_skip_limit";
    let s = store.as_ref();
    for i in 0..10 {
        ok(
            s.insert(c, json!({"_id": format!("d{i}"), "n": i})).await,
            "insert",
        );
    }
    let q = || Query::new().sort_asc("n");
    assert_eq!(order(s, c, q().limit(3)).await, strs(&["d0", "d1", "d2"]));
    assert_eq!(
        order(s, c, q().skip(3).limit(3)).await,
        strs(&["d3", "d4", "d5"])
    );
    assert_eq!(order(s, c, q().skip(8).limit(5)).await, strs(&["d8", "d9"]));
    assert_eq!(order(s, c, q().skip(8)).await, strs(&["d8", "d9"]));
    assert!(order(s, c, q().skip(20)).await.is_empty());
    assert!(order(s, c, q().limit(0)).await.is_empty());
    assert_eq!(order(s, c, q().limit(u64::MAX)).await.len(), 10);
    assert_eq!(
        order(s, c, Query::new().sort_desc("n").skip(1).limit(2)).await,
        strs(&["d8", "d7"])
    );
}

/// Without a sort, results come in `_id` order, whatever the insertion order.
pub async fn default_order_is_by_id(store: Arc<dyn MetaStore>) {
    let c = "cf_default_order";
    let s = store.as_ref();
    for id in ["m", "b", "z", "a", "Q", "é", "0"] {
        ok(s.insert(c, json!({"_id": id})).await, "insert");
    }
    assert_eq!(
        order(s, c, Query::new()).await,
        strs(&["0", "Q", "a", "b", "m", "z", "é"])
    );
}

/// `find_one` returns the first document in the query's order.
pub async fn find_one_returns_first(store: Arc<dyn MetaStore>) {
    let c = "cf_find_one";
    let s = store.as_ref();
    seed(
        s,
        c,
        vec![
            json!({"_id": "a", "p": 1, "status": "queued"}),
            json!({"_id": "b", "p": 9, "status": "queued"}),
            json!({"_id": "c", "p": 5, "status": "done"}),
        ],
    )
    .await;
    let q = Query::new()
        .filter(Filter::new().eq("status", "queued"))
        .sort_desc("p");
    let first = ok(s.find_one(c, &q).await, "find_one");
    assert_eq!(first.and_then(|d| d.get("_id").cloned()), Some(json!("b")));
    let none = Query::new().filter(Filter::new().eq("status", "running"));
    assert_eq!(ok(s.find_one(c, &none).await, "find_one none"), None);
}
