//! Saved user-defined strategies on the real metadata store: versions, ownership, references
//! resolved into a request, the truncation test at save, and a save interrupted between
//! claiming its version number and writing it.

use serde_json::json;
use sextant_core::common::{Actor, PageRequest};
use sextant_core::definitions::{DefinitionError, DEFINITIONS};

use crate::common;
use common::services;

fn definition(period: i64) -> serde_json::Value {
    json!({"name": "rsi_dip", "params": {"lower": {"type": "float", "min": 5, "max": 50, "default": 30}},
           "long": {"entry": format!("rsi(close, {period}) < lower"), "exit": format!("rsi(close, {period}) > 70")}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_ownership_references_and_an_interrupted_save() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let s = services(dir.path()).await;
    let defs = &s.definitions;
    let alice = Actor {
        key: "alice",
        admin: false,
    };
    let bob = Actor {
        key: "bob",
        admin: false,
    };

    let v1 = defs.create(&definition(14), "alice").await.expect("saved");
    assert_eq!(v1.version, 1);
    assert!(v1.truncation.orders > 0, "{:?}", v1.truncation);
    assert!(v1.explain.contains("rsi(close, 14)"), "{}", v1.explain);
    let v2 = defs
        .add_version(&v1.id, &definition(5), alice)
        .await
        .expect("v2");
    assert_eq!(v2.version, 2);
    assert_ne!(v1.sha256, v2.sha256);

    // Another key sees nothing, and cannot add a version.
    assert!(matches!(
        defs.get_as(&v1.id, None, bob).await,
        Err(DefinitionError::NotFound(_))
    ));
    assert!(matches!(
        defs.add_version(&v1.id, &definition(7), bob).await,
        Err(DefinitionError::NotFound(_))
    ));
    let page = defs.list(bob, &PageRequest::default()).await.expect("list");
    assert!(page.items.is_empty());
    let page = defs
        .list(alice, &PageRequest::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].latest, 2);

    // A reference becomes the document of that version.
    let mut params = json!({"definition": format!("{}@1", v1.id), "lower": 25.0});
    defs.resolve_params("rules", &mut params, alice)
        .await
        .expect("resolved");
    assert_eq!(params["definition"], definition(14));
    assert_eq!(params["lower"], 25.0);
    let mut latest = json!({"definition": v1.id});
    defs.resolve_params("rules", &mut latest, alice)
        .await
        .expect("resolved");
    assert_eq!(latest["definition"], definition(5));
    let mut other = json!({"definition": "usd_nope"});
    assert!(defs
        .resolve_params("rules", &mut other, alice)
        .await
        .is_err());
    let mut untouched = json!({"definition": "usd_nope"});
    defs.resolve_params("sma_cross", &mut untouched, alice)
        .await
        .expect("not a rules request");

    // An invalid definition is refused with the field and the token.
    let mut bad = definition(14);
    bad["long"]["exit"] = json!("rsi(close, 14) > 70 and");
    let e = defs
        .add_version(&v1.id, &bad, alice)
        .await
        .expect_err("invalid");
    assert!(e.to_string().contains("definition.long.exit"), "{e}");

    // A save that claimed version 3 and stopped before writing it: the latest read is still
    // version 2, and the next save takes version 4.
    s.meta
        .update_fields(DEFINITIONS, &v1.id, json!({"latest": 3}))
        .await
        .expect("claim");
    let read = defs.get_as(&v1.id, None, alice).await.expect("latest");
    assert_eq!(read.version, 2);
    let v4 = defs
        .add_version(&v1.id, &definition(9), alice)
        .await
        .expect("v4");
    assert_eq!(v4.version, 4);
    let all = defs.versions_as(&v1.id, alice).await.expect("versions");
    assert_eq!(all.iter().map(|v| v.version).collect::<Vec<_>>(), [4, 2, 1]);

    defs.delete_as(&v1.id, alice).await.expect("deleted");
    assert!(matches!(
        defs.get_as(&v1.id, Some(1), alice).await,
        Err(DefinitionError::NotFound(_))
    ));
}
