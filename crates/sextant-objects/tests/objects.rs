//! The same checks on a local directory and on an S3-compatible server (moto's standalone
//! server on loopback, started by `scripts/start-s3-test-server`; the S3 half skips without
//! `SEXTANT_TEST_S3_ENDPOINT` unless `SEXTANT_REQUIRE_S3` is set, as `scripts/test` does).

use sextant_objects::{sha256_hex, Objects, ObjectsConfig, ObjectsError};

fn s3_config(prefix: &str) -> Option<ObjectsConfig> {
    match std::env::var("SEXTANT_TEST_S3_ENDPOINT") {
        Ok(endpoint) => {
            let bucket =
                std::env::var("SEXTANT_TEST_S3_BUCKET").unwrap_or_else(|_| "sextant-test".into());
            Some(ObjectsConfig {
                url: Some(format!("s3://{bucket}/{prefix}")),
                endpoint: Some(endpoint),
                region: None,
            })
        }
        Err(_) => {
            assert!(
                std::env::var_os("SEXTANT_REQUIRE_S3").is_none(),
                "SEXTANT_REQUIRE_S3 is set but SEXTANT_TEST_S3_ENDPOINT is not \
                 (eval \"$(scripts/start-s3-test-server)\")"
            );
            eprintln!("skipping the S3 half: SEXTANT_TEST_S3_ENDPOINT not set");
            None
        }
    }
}

/// A prefix no other run has used.
fn fresh_prefix(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}

async fn suite(o: &Objects) {
    // Round trip, overwrite, existence.
    assert!(!o.exists("a/b.bin").await.expect("head"));
    o.put("a/b.bin", b"first".to_vec()).await.expect("put");
    assert!(o.exists("a/b.bin").await.expect("head"));
    assert_eq!(o.get("a/b.bin").await.expect("get"), b"first");
    o.put("a/b.bin", b"second".to_vec()).await.expect("put");
    assert_eq!(o.get("a/b.bin").await.expect("get"), b"second");
    // Binary content and an empty object survive as they are.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    o.put("bin/all.bytes", bytes.clone()).await.expect("put");
    assert_eq!(o.get("bin/all.bytes").await.expect("get"), bytes);
    o.put("empty", Vec::new()).await.expect("put empty");
    assert!(o.get("empty").await.expect("get empty").is_empty());

    // Missing objects and bad keys are typed errors.
    assert!(matches!(
        o.get("a/none.bin").await,
        Err(ObjectsError::NotFound(k)) if k == "a/none.bin"
    ));
    for key in [
        "",
        "/abs",
        "a/",
        "a//b",
        "../up",
        "a/../b",
        "a/.hidden",
        "with space",
        "ünï",
    ] {
        assert!(
            matches!(
                o.put(key, b"x".to_vec()).await,
                Err(ObjectsError::Key { .. })
            ),
            "{key:?} accepted"
        );
        assert!(matches!(o.get(key).await, Err(ObjectsError::Key { .. })));
    }

    // Content-addressed objects: named by their hash, verified on read.
    let body = b"checkpoint bytes".to_vec();
    let hash = o
        .put_hashed("ckpt", "safetensors", body.clone())
        .await
        .expect("put hashed");
    assert_eq!(hash, sha256_hex(&body));
    assert_eq!(
        o.put_hashed("ckpt", "safetensors", body.clone())
            .await
            .expect("again"),
        hash,
        "same bytes, same name"
    );
    assert_eq!(
        o.get_hashed("ckpt", &hash, "safetensors")
            .await
            .expect("get hashed"),
        body
    );
    // Swapped bytes under the name are refused, not returned.
    let key = Objects::hashed_key("ckpt", &hash, "safetensors");
    o.put(&key, b"tampered".to_vec()).await.expect("overwrite");
    match o.get_hashed("ckpt", &hash, "safetensors").await {
        Err(ObjectsError::Corrupt { key: k, actual }) => {
            assert_eq!(k, key);
            assert_eq!(actual, sha256_hex(b"tampered"));
        }
        other => panic!("tampered object read back: {other:?}"),
    }
    // Storing the object again repairs it.
    o.put_hashed("ckpt", "safetensors", body.clone())
        .await
        .expect("repair");
    assert_eq!(
        o.get_hashed("ckpt", &hash, "safetensors")
            .await
            .expect("read"),
        body
    );
    assert!(matches!(
        o.get_hashed("ckpt", &sha256_hex(b"never stored"), "safetensors")
            .await,
        Err(ObjectsError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_local_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("objects");
    let o = Objects::open(&ObjectsConfig::default(), &root).expect("local");
    assert_eq!(o.location(), root.display().to_string());
    suite(&o).await;
    // Keys are paths under the root: the data directory keeps its layout.
    assert_eq!(
        std::fs::read(root.join("a/b.bin")).expect("file"),
        b"second"
    );
    // No temporary file is left behind by the atomic writes.
    let leftovers: Vec<_> = std::fs::read_dir(root.join("a"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n != "b.bin")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn an_s3_compatible_bucket() {
    let Some(cfg) = s3_config(&fresh_prefix("suite")) else {
        return;
    };
    let o = Objects::open(&cfg, std::path::Path::new("/nonexistent")).expect("s3");
    assert!(o.location().starts_with("s3://"), "{}", o.location());
    suite(&o).await;

    // Two prefixes of one bucket do not see each other's objects.
    let Some(other_cfg) = s3_config(&fresh_prefix("other")) else {
        return;
    };
    let other = Objects::open(&other_cfg, std::path::Path::new("/nonexistent")).expect("s3");
    assert!(!other.exists("a/b.bin").await.expect("head"));
    other.put("a/b.bin", b"other".to_vec()).await.expect("put");
    assert_eq!(o.get("a/b.bin").await.expect("get"), b"second");

    // A bucket that does not exist is a store error naming the store, not a panic.
    let missing = ObjectsConfig {
        url: Some("s3://no-such-bucket-here".into()),
        ..cfg.clone()
    };
    let m = Objects::open(&missing, std::path::Path::new("/nonexistent")).expect("builds");
    match m.put("x", b"x".to_vec()).await {
        Err(ObjectsError::Store { location, .. }) => {
            assert!(location.contains("no-such-bucket-here"))
        }
        other => panic!("write to a missing bucket: {other:?}"),
    }
}

#[test]
fn bad_urls_are_configuration_errors() {
    for url in ["http://bucket", "s3://", "bucket/prefix"] {
        let cfg = ObjectsConfig {
            url: Some(url.into()),
            ..ObjectsConfig::default()
        };
        assert!(
            matches!(
                Objects::open(&cfg, std::path::Path::new("/tmp")),
                Err(ObjectsError::Config(_))
            ),
            "{url}"
        );
    }
}
