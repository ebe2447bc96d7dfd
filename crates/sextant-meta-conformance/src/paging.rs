//! Keyset (cursor) pagination.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{ids, ok};
use sextant_meta::{Filter, MetaStore, Query};

/// Walks a query page by page with cursors and returns all `_id`s in visiting order.
async fn walk(store: &dyn MetaStore, c: &str, base: &Query, page: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut q = base.clone().limit(page);
    for _ in 0..1000 {
        let docs = ok(store.find(c, &q).await, "find page");
        assert!(docs.len() as u64 <= page, "page larger than its limit");
        out.extend(ids(&docs));
        match base.cursor_after(&docs) {
            Some(cursor) if docs.len() as u64 == page => q = q.after(cursor),
            _ => return out,
        }
    }
    panic!("pagination did not terminate");
}

fn mixed_value(i: usize) -> Option<Value> {
    match i % 9 {
        0 => None,
        1 => Some(json!(null)),
        2 => Some(json!(i % 4)),
        3 => Some(json!((i % 3) as f64 + 0.5)),
        4 => Some(json!(["b", "a", "ü", "日"][i % 4])),
        5 => Some(json!(i % 2 == 0)),
        6 => Some(json!(1)),
        7 => Some(json!("a")),
        _ => Some(json!(-(i as i64))),
    }
}

/// Cursor pages, concatenated, equal the unpaged result for every page size and direction,
/// with ties, missing fields and mixed types in the sort field.
pub async fn keyset_pagination_visits_everything_once(store: Arc<dyn MetaStore>) {
    let c = "cf_keyset_walk";
    let s = store.as_ref();
    for i in 0..45 {
        let mut doc = json!({"_id": format!("k{:02}", (i * 17) % 45), "group": i % 3});
        if let (Some(v), Some(obj)) = (mixed_value(i), doc.as_object_mut()) {
            obj.insert("v".into(), v);
        }
        ok(s.insert(c, doc).await, "insert");
    }
    let queries = [
        Query::new().sort_asc("v"),
        Query::new().sort_desc("v"),
        Query::new(),
        Query::new().sort_desc("_id"),
        Query::new().sort_asc("group"),
        Query::new()
            .filter(Filter::new().ne("group", 1))
            .sort_desc("v"),
        Query::new()
            .filter(Filter::new().exists("v", true))
            .sort_asc("v"),
    ];
    for q in &queries {
        let all = ids(&ok(s.find(c, q).await, "find all"));
        assert_eq!(
            all.iter().collect::<HashSet<_>>().len(),
            all.len(),
            "duplicate in unpaged result"
        );
        for page in [1, 4, 7, 50] {
            let walked = walk(s, c, q, page).await;
            assert_eq!(walked, all, "paging {q:?} by {page}");
        }
    }
    // A cursor combined with skip continues after the cursor, then skips.
    let q = Query::new().sort_asc("v");
    let all = ids(&ok(s.find(c, &q).await, "find all"));
    let first = ok(s.find(c, &q.clone().limit(10)).await, "first page");
    let cursor = q.cursor_after(&first).expect("non-empty page");
    let rest = ids(&ok(
        s.find(c, &q.clone().after(cursor).skip(2).limit(3)).await,
        "skip",
    ));
    assert_eq!(rest, all[12..15].to_vec());
}

/// Documents inserted or deleted between pages neither duplicate nor hide the others: a page
/// always starts strictly after the last document seen.
pub async fn keyset_pagination_stable_across_writes(store: Arc<dyn MetaStore>) {
    let c = "cf_keyset_stable";
    let s = store.as_ref();
    for i in 0..20 {
        ok(
            s.insert(c, json!({"_id": format!("p{i:02}"), "score": i * 10}))
                .await,
            "insert",
        );
    }
    let q = Query::new().sort_asc("score").limit(5);
    let page1 = ok(s.find(c, &q).await, "page 1");
    assert_eq!(ids(&page1), vec!["p00", "p01", "p02", "p03", "p04"]);
    let cursor = q.cursor_after(&page1).expect("cursor");
    assert_eq!(cursor.value, json!(40));
    // Before the cursor: never shown. After it: shown once, in place.
    for (id, score) in [
        ("early", 5),
        ("p03z", 40),
        ("p04a", 40),
        ("late", 1000),
        ("mid", 95),
    ] {
        ok(
            s.insert(c, json!({"_id": id, "score": score})).await,
            "insert between pages",
        );
    }
    assert!(ok(s.delete(c, "p10").await, "delete ahead"));
    let mut seen = ids(&page1);
    let mut next = q.clone().after(cursor);
    loop {
        let page = ok(s.find(c, &next).await, "next page");
        seen.extend(ids(&page));
        match q.cursor_after(&page) {
            Some(cur) if page.len() == 5 => {
                // Writes keep arriving while paging.
                ok(s.insert(c, json!({"score": -1})).await, "insert behind");
                next = q.clone().after(cur);
            }
            _ => break,
        }
    }
    let mut expected: Vec<String> = (0..20)
        .filter(|i| *i != 10)
        .map(|i| format!("p{i:02}"))
        .collect();
    expected.insert(5, "p04a".into());
    expected.insert(11, "mid".into());
    expected.push("late".into());
    assert_eq!(seen, expected);
}
