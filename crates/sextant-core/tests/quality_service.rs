//! The quality service: anomaly flags reach the metadata store incrementally, and reviews leave
//! an audit record there.

use sextant_core::quality::{FLAGS, REVIEWS};
use sextant_core::Services;
use sextant_data::cache::{Decision, FileOptions, QuarantineQuery};
use sextant_meta::Filter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_are_copied_once_and_reviews_are_audited() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Services::build(sextant_test_support::config_in(&dir.path().join("data")))
        .await
        .expect("services");
    // The sample's notices were copied at startup.
    let in_cache = s.cache.quality_flags(None, 100_000).expect("flags").len() as u64;
    assert!(in_cache > 0);
    assert_eq!(
        s.meta.count(FLAGS, &Filter::new()).await.expect("count"),
        in_cache
    );
    assert_eq!(
        s.quality.sync_flags().await.expect("sync"),
        0,
        "nothing new"
    );

    // A corrupted copy under other tickers: new flags, copied by the next sync only.
    let src = sextant_test_support::sample_file(dir.path());
    let out = dir.path().join("corrupt.csv");
    sextant_bench::quality::inject(&src, &out, 5, 3).expect("inject");
    let text = std::fs::read_to_string(&out)
        .expect("read")
        .replace("MSFT,", "ZMSFT,")
        .replace("AAPL,", "ZAAPL,")
        .replace("IBM,", "ZIBM,")
        .replace("GOOG,", "ZGOOG,")
        .replace("FB,", "ZFB,");
    std::fs::write(&out, text).expect("write");
    s.market_data
        .ingest_file(&out, &FileOptions::default())
        .expect("ingest");
    let written = s.quality.sync_flags().await.expect("sync");
    let total = s.cache.quality_flags(None, 100_000).expect("flags").len() as u64;
    assert_eq!(written as u64, total - in_cache);
    assert_eq!(
        s.meta.count(FLAGS, &Filter::new()).await.expect("count"),
        total
    );
    assert_eq!(s.quality.sync_flags().await.expect("sync"), 0);

    let (held, _) = s
        .quality
        .quarantined(QuarantineQuery {
            limit: 10,
            ..QuarantineQuery::default()
        })
        .await
        .expect("held");
    let id = held.first().expect("something held").id;
    s.quality
        .review(id, Decision::Reject, "steward", Some("bad print".into()))
        .await
        .expect("reject");
    let audit = s
        .meta
        .find(REVIEWS, &sextant_meta::Query::new())
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["reviewer"], "steward");
    assert_eq!(audit[0]["decision"], "rejected");
    assert_eq!(audit[0]["quarantine_id"], id);
}
