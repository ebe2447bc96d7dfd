//! RL policies through the service on the bundled real data: trained up to a date, checkpointed
//! and registered with their lineage, evaluated on the later bars beside buy and hold, flat and
//! the best SMA cross of the training range; the same seed gives the same checkpoint, and a
//! re-evaluation from the checkpoint gives the same figures and audit trail.

use sextant_core::rl::{Algo, RlServiceError, RlTrainRequest};
use sextant_rl::trading::{Actions, Reward};
use sextant_test_support::{d, services, services_with, sym};

fn request(seed: u64) -> RlTrainRequest {
    RlTrainRequest {
        symbol: sym("MSFT"),
        train_to: d("2008-12-31"),
        test_to: Some(d("2010-12-31")),
        algo: Algo::Ppo,
        steps: 8192,
        seed,
        actions: Actions::ShortFlatLong,
        reward: Reward::LogReturn,
        episode_bars: 252,
        commission_pct: 0.001,
        slippage_bps: 5.0,
        regime_states: None,
    }
}

#[tokio::test]
async fn train_register_and_reevaluate() {
    let t = services().await;
    let rl = &t.services.rl;
    let r = rl.train(request(4)).await.expect("train");
    assert!(r.id.starts_with("rlp_"));
    assert_eq!(r.train_range[1], d("2008-12-31"));
    let e = &r.evaluation;
    assert_eq!(
        e.from,
        d("2009-01-02"),
        "the first decision is on the first bar after training"
    );
    assert_eq!(e.to, d("2010-12-31"));
    assert!(e.days > 450, "two years of daily returns ({})", e.days);
    assert_eq!(e.flat.total_return, 0.0);
    // MSFT 2009-2010 (total return): buy and hold from the first open of 2009 to the end of 2010.
    assert!(e.buy_and_hold.total_return > 0.0);
    assert_eq!(e.action_counts.iter().sum::<usize>(), e.days + 1);
    assert!(e.vs_buy_and_hold.sharpe_diff_ci[0] <= e.vs_buy_and_hold.sharpe_diff_ci[1]);
    assert!(t
        .dir
        .path()
        .join("rl/checkpoints")
        .join(format!("{}.safetensors", r.checkpoint))
        .exists());

    let stored = rl.get(&r.id).await.expect("get");
    assert_eq!(stored, r);
    assert_eq!(rl.list().await.expect("ls").len(), 1);
    let (again, snap) = rl.reevaluate(&stored).await.expect("reevaluate");
    assert_eq!(snap, r.data_snapshot);
    assert_eq!(
        again, r.evaluation,
        "the checkpoint replays to the same figures"
    );

    // A checkpoint changed on disk is refused, not loaded.
    let file = t
        .dir
        .path()
        .join("rl/checkpoints")
        .join(format!("{}.safetensors", r.checkpoint));
    let good = std::fs::read(&file).expect("checkpoint");
    std::fs::write(&file, &good[..good.len() / 2]).expect("truncate");
    let e = rl
        .reevaluate(&stored)
        .await
        .expect_err("truncated checkpoint");
    assert!(matches!(e, RlServiceError::Objects(_)), "{e}");
    std::fs::write(&file, &good).expect("restore");

    let twin = rl.train(request(4)).await.expect("train again");
    assert_eq!(
        twin.checkpoint, r.checkpoint,
        "same seed, same data: the same checkpoint"
    );
    assert_eq!(rl.list().await.expect("ls").len(), 1, "registered once");
    let other = rl.train(request(5)).await.expect("train");
    assert_ne!(other.checkpoint, r.checkpoint);
}

#[tokio::test]
async fn bad_requests_are_named() {
    let t = services().await;
    let rl = &t.services.rl;
    let bad = |edit: fn(&mut RlTrainRequest)| {
        let mut r = request(0);
        edit(&mut r);
        r
    };
    for req in [
        bad(|r| r.steps = 0),
        bad(|r| r.test_to = Some(d("2008-06-30"))),
        bad(|r| r.train_to = d("2000-06-30")),
        bad(|r| r.actions = Actions::Weights),
        bad(|r| r.commission_pct = f64::NAN),
        bad(|r| r.regime_states = Some(1)),
        bad(|r| r.regime_states = Some(5)),
        // The first regime fit needs two years of features: none is known by mid-2001.
        bad(|r| {
            r.train_to = d("2001-12-31");
            r.regime_states = Some(2);
        }),
    ] {
        let e = rl.train(req).await.expect_err("refused");
        assert!(matches!(e, RlServiceError::Invalid(_)), "{e}");
    }
    let e = rl
        .train(bad(|r| r.symbol = sym("NOPE")))
        .await
        .expect_err("no bars");
    assert!(
        matches!(e, RlServiceError::Invalid(_) | RlServiceError::Data(_)),
        "{e}"
    );
    assert!(matches!(
        rl.get("rlp_000000000000").await,
        Err(RlServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn regime_probabilities_are_observed_point_in_time() {
    let t = services().await;
    let rl = &t.services.rl;
    let mut req = request(3);
    req.regime_states = Some(3);
    let r = rl.train(req).await.expect("train with regimes");
    let g = r.regimes.as_ref().expect("regime inputs recorded");
    assert_eq!(g.columns.len(), 3, "{g:?}");
    assert!(g.first_labelled > r.train_range[0] && g.first_labelled < d("2008-12-31"));
    let (again, _) = rl.reevaluate(&r).await.expect("reevaluate");
    assert_eq!(again, r.evaluation);
    let plain = rl.train(request(3)).await.expect("train without");
    assert!(plain.regimes.is_none());
    assert_ne!(plain.checkpoint, r.checkpoint);
    assert_eq!(r.obs_dim, plain.obs_dim + 3, "3 probability columns more");

    // Point in time: the probabilities of every bar are the same when the bars end there.
    let cache = &t.services.cache;
    let msft = sym("MSFT");
    let (full, _) =
        sextant_core::rl::regime_columns(cache, &msft, d("2010-12-31"), 3, 3).expect("columns");
    for cut in ["2004-06-30", "2007-03-01", "2009-01-02"] {
        let (part, _) =
            sextant_core::rl::regime_columns(cache, &msft, d(cut), 3, 3).expect("columns");
        assert!(part.len() > 500 && part.len() < full.len());
        for (i, (a, b)) in part.iter().zip(&full).enumerate() {
            assert_eq!(a.0, b.0);
            let same =
                a.1.iter()
                    .zip(&b.1)
                    .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{cut}: row {i} ({}) differs: {:?} vs {:?}",
                a.0, a.1, b.1
            );
        }
    }
}

/// Checkpoints in an S3-compatible bucket (moto's server on loopback, started by
/// `scripts/start-s3-test-server`; skipped without `SEXTANT_TEST_S3_ENDPOINT` unless
/// `SEXTANT_REQUIRE_S3` is set, as `scripts/test` does): written there, not to the data
/// directory, readable by another client, loaded back for a re-evaluation, and a tampered object
/// is refused.
#[tokio::test]
async fn checkpoints_in_an_s3_bucket() {
    let Ok(endpoint) = std::env::var("SEXTANT_TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var_os("SEXTANT_REQUIRE_S3").is_none(),
            "SEXTANT_REQUIRE_S3 is set but SEXTANT_TEST_S3_ENDPOINT is not"
        );
        eprintln!("skipping: SEXTANT_TEST_S3_ENDPOINT not set");
        return;
    };
    let bucket = std::env::var("SEXTANT_TEST_S3_BUCKET").unwrap_or_else(|_| "sextant-test".into());
    let prefix = format!("core-rl-{}", std::process::id());
    let t = services_with(|c| {
        c.objects.url = Some(format!("s3://{bucket}/{prefix}"));
        c.objects.endpoint = Some(endpoint.clone());
    })
    .await;
    let rl = &t.services.rl;
    let r = rl.train(request(6)).await.expect("train");
    assert!(
        !t.dir.path().join("rl/checkpoints").exists(),
        "nothing written to the data directory"
    );
    // Another client with only the bucket's address (as another machine would) reads it.
    let other = sextant_objects::Objects::open(
        &t.services.config.objects,
        std::path::Path::new("/nonexistent"),
    )
    .expect("second client");
    let body = other
        .get(&format!("rl/checkpoints/{}.safetensors", r.checkpoint))
        .await
        .expect("read from the bucket");
    assert_eq!(sextant_objects::sha256_hex(&body), r.checkpoint);
    let (again, _) = rl.reevaluate(&r).await.expect("reevaluate from S3");
    assert_eq!(again, r.evaluation);

    // A checkpoint swapped in the bucket is refused on load.
    let key = format!("rl/checkpoints/{}.safetensors", r.checkpoint);
    t.services
        .objects
        .put(&key, b"not the policy".to_vec())
        .await
        .expect("overwrite");
    let e = rl.reevaluate(&r).await.expect_err("tampered checkpoint");
    assert!(matches!(e, RlServiceError::Objects(_)), "{e}");
}
