//! RL policies through the service on the bundled real data: trained up to a date, checkpointed
//! and registered with their lineage, evaluated on the later bars beside buy and hold, flat and
//! the best SMA cross of the training range; the same seed gives the same checkpoint, and a
//! re-evaluation from the checkpoint gives the same figures and audit trail.

use sextant_core::rl::{Algo, RlServiceError, RlTrainRequest};
use sextant_rl::trading::{Actions, Reward};
use sextant_test_support::{d, services, sym};

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
    let (again, snap) = rl.reevaluate(&stored).expect("reevaluate");
    assert_eq!(snap, r.data_snapshot);
    assert_eq!(
        again, r.evaluation,
        "the checkpoint replays to the same figures"
    );

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
