//! Simulator behaviour on small hand-made bars where every number can be checked by hand.

use serde_json::json;
use sextant_backtest::simulator::{
    BarSeries, Context, CorporateActions, Costs, FillTiming, MarketData, OrderKind, OrderRequest,
    OrderStatus, Quantity, ShareRounding, Side, SimConfig, Sizer, Target, TradingSimulator,
    CA_DIVIDEND, CA_SPLIT,
};
use sextant_backtest::strategy::{build_strategy, Strategy};

/// Bars with the given opens and closes; high/low bracket both by 1.
fn bars(sym: &str, open: &[f64], close: &[f64]) -> BarSeries {
    let n = open.len();
    let hi = open
        .iter()
        .zip(close)
        .map(|(o, c)| o.max(*c) + 1.0)
        .collect();
    let lo = open
        .iter()
        .zip(close)
        .map(|(o, c)| o.min(*c) - 1.0)
        .collect();
    let ts = (0..n as i64).map(|i| 1_000_000 + i * 86_400).collect();
    BarSeries::new(sym, ts, open.to_vec(), hi, lo, close.to_vec(), vec![1e6; n]).expect("bars")
}

/// What a script does at one bar.
type Action = Box<dyn Fn(&mut Context<'_>) + Send>;

/// Submits a fixed list of intents at given bars.
struct Script(Vec<(usize, Action)>);

impl Strategy for Script {
    fn name(&self) -> &str {
        "script"
    }
    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let t = ctx.view().t();
        for (bar, f) in &self.0 {
            if *bar == t {
                f(ctx);
            }
        }
    }
}

fn sim(cfg: SimConfig) -> TradingSimulator {
    TradingSimulator::new(cfg).expect("config")
}

#[test]
fn next_open_and_signal_close_fill_prices() {
    let md = MarketData::single(bars(
        "X",
        &[10.0, 11.0, 12.0, 13.0],
        &[10.5, 11.5, 12.5, 13.5],
    ))
    .expect("md");
    let script = || {
        Script(vec![
            (0, Box::new(|c| c.target(0, Target::Long))),
            (2, Box::new(|c| c.target(0, Target::Flat))),
        ])
    };
    let r = sim(SimConfig {
        initial_cash: 1000.0,
        ..SimConfig::default()
    })
    .run(&md, &mut script());
    let t = &r.trades[0];
    assert_eq!(
        (t.entry_bar, t.entry_price, t.exit_bar, t.exit_price, t.size),
        (1, 11.0, 3, 13.0, 90.0)
    );
    assert_eq!(r.final_equity(), 1000.0 + 90.0 * 2.0);
    let cfg = SimConfig {
        initial_cash: 1000.0,
        fill: FillTiming::SignalClose,
        ..SimConfig::default()
    };
    let r = sim(cfg).run(&md, &mut script());
    let t = &r.trades[0];
    assert_eq!(
        (t.entry_bar, t.entry_price, t.exit_bar, t.exit_price, t.size),
        (0, 10.5, 2, 12.5, 95.0)
    );
    // Equity is marked at each close: 1000 - 95·10.5 cash plus 95 shares.
    assert_eq!(r.equity[1], 1000.0 - 95.0 * 10.5 + 95.0 * 11.5);
}

#[test]
fn commission_slippage_and_fractional_shares() {
    let md =
        MarketData::single(bars("X", &[100.0, 100.0, 110.0], &[100.0, 100.0, 110.0])).expect("md");
    let costs = Costs {
        commission_pct: 0.01,
        commission_fixed: 2.0,
        slippage_bps: 100.0,
    };
    let cfg = SimConfig {
        initial_cash: 10_000.0,
        costs,
        shares: ShareRounding::Fractional,
        close_at_end: true,
        ..SimConfig::default()
    };
    let mut s = Script(vec![(0, Box::new(|c| c.target(0, Target::Long)))]);
    let r = sim(cfg).run(&md, &mut s);
    let buy = &r.fills[0];
    assert_eq!(buy.price, 101.0); // 100 + 1% slippage
    assert!(
        (buy.qty - (10_000.0 - 2.0) / 1.01 / 101.0).abs() < 1e-9,
        "all-in fractional {}",
        buy.qty
    );
    let sell = &r.fills[1];
    assert_eq!((sell.order, sell.bar, sell.price), (None, 2, 110.0 * 0.99));
    assert!((sell.commission - (sell.qty * sell.price * 0.01 + 2.0)).abs() < 1e-9);
    let t = &r.trades[0];
    assert!(!t.open);
    let expected = 10_000.0 + t.pnl;
    assert!(
        (r.final_equity() - expected).abs() < 1e-6,
        "{} vs {expected}",
        r.final_equity()
    );
}

#[test]
fn shorts_gain_when_prices_fall() {
    let md = MarketData::single(bars(
        "X",
        &[50.0, 50.0, 40.0, 40.0],
        &[50.0, 50.0, 40.0, 40.0],
    ))
    .expect("md");
    let mut s = Script(vec![
        (0, Box::new(|c| c.target(0, Target::Short))),
        (2, Box::new(|c| c.target(0, Target::Long))),
    ]);
    let r = sim(SimConfig {
        initial_cash: 1000.0,
        ..SimConfig::default()
    })
    .run(&md, &mut s);
    let short = &r.trades[0];
    assert!(!short.long && !short.open);
    assert_eq!(
        (short.size, short.entry_price, short.exit_price, short.pnl),
        (20.0, 50.0, 40.0, 200.0)
    );
    // The reversal opened a long with all the cash after covering.
    let long = &r.trades[1];
    assert!(long.long && long.open);
    assert_eq!(long.size, 30.0); // 1200 / 40
    assert_eq!(r.final_equity(), 1200.0);
}

#[test]
fn limit_and_stop_orders_rest_until_reached() {
    let md = MarketData::single(bars(
        "X",
        &[100.0, 99.0, 95.0, 90.0, 97.0],
        &[100.0, 98.0, 94.0, 96.0, 97.0],
    ))
    .expect("md");
    let mut s = Script(vec![
        (
            0,
            Box::new(|c| {
                c.submit(OrderRequest {
                    symbol: 0,
                    side: Side::Buy,
                    kind: OrderKind::Limit(92.0),
                    qty: Quantity::Units(5.0),
                })
            }),
        ),
        (
            0,
            Box::new(|c| {
                c.submit(OrderRequest {
                    symbol: 0,
                    side: Side::Buy,
                    kind: OrderKind::Stop(150.0),
                    qty: Quantity::Units(1.0),
                })
            }),
        ),
        (3, Box::new(|c| c.cancel(None))),
        (
            3,
            Box::new(|c| {
                c.submit(OrderRequest {
                    symbol: 0,
                    side: Side::Sell,
                    kind: OrderKind::Stop(96.5),
                    qty: Quantity::Units(5.0),
                })
            }),
        ),
    ]);
    let r = sim(SimConfig {
        initial_cash: 1000.0,
        ..SimConfig::default()
    })
    .run(&md, &mut s);
    // Bar 2 (low 93) does not reach 92; bar 3 opens at 90 below the limit and fills at the open.
    assert_eq!(
        (r.fills[0].bar, r.fills[0].price, r.fills[0].qty),
        (3, 90.0, 5.0)
    );
    assert_eq!(r.orders[1].status, OrderStatus::Cancelled { bar: 3 });
    // Sell stop 96.5 on bar 4 (low 96): triggered, filled at min(open 97, stop) = 96.5.
    assert_eq!(
        (r.fills[1].bar, r.fills[1].price, r.fills[1].side),
        (4, 96.5, Side::Sell)
    );
    assert_eq!(r.trades[0].pnl, 5.0 * 6.5);
}

#[test]
fn sizers() {
    let md = MarketData::single(bars("X", &[10.0; 30], &[10.0; 30])).expect("md");
    let go = || Script(vec![(25, Box::new(|c| c.target(0, Target::Long)))]);
    let size = |sizer| {
        sim(SimConfig {
            initial_cash: 1000.0,
            sizer,
            ..SimConfig::default()
        })
        .run(&md, &mut go())
        .trades[0]
            .size
    };
    assert_eq!(size(Sizer::FixedQuantity { units: 7.5 }), 7.0);
    assert_eq!(size(Sizer::FixedFraction { fraction: 0.5 }), 50.0);
    // Flat prices: zero realised volatility, so the leverage cap applies.
    let vt = Sizer::VolatilityTarget {
        annual_vol: 0.1,
        lookback: 10,
        periods_per_year: 252.0,
        max_leverage: 1.5,
    };
    assert_eq!(size(vt), 150.0);
    let early = Script(vec![(3, Box::new(|c| c.target(0, Target::Long)))]);
    let r = sim(SimConfig {
        sizer: vt,
        ..SimConfig::default()
    })
    .run(&md, &mut { early });
    assert!(
        matches!(r.orders[0].status, OrderStatus::Rejected { .. }),
        "too little history"
    );
}

#[test]
fn rebalance_to_target_weights() {
    let a = bars("A", &[10.0; 5], &[10.0; 5]);
    let b = bars("B", &[20.0; 5], &[20.0; 5]);
    let md = MarketData::new(vec![a, b]).expect("md");
    let mut s = Script(vec![
        (0, Box::new(|c| c.rebalance(vec![(0, 0.5), (1, 0.25)]))),
        (2, Box::new(|c| c.rebalance(vec![(0, 0.0), (1, 0.5)]))),
    ]);
    let r = sim(SimConfig {
        initial_cash: 1000.0,
        ..SimConfig::default()
    })
    .run(&md, &mut s);
    let held = |bar: usize, sym: usize| {
        r.fills
            .iter()
            .filter(|f| f.bar <= bar && f.symbol == sym)
            .map(|f| f.qty * f.side.sign())
            .sum::<f64>()
    };
    assert_eq!((held(1, 0), held(1, 1)), (50.0, 12.0));
    assert_eq!((held(3, 0), held(3, 1)), (0.0, 25.0));
    assert_eq!(r.final_equity(), 1000.0);
}

#[test]
fn multi_symbol_alignment_leaves_gaps() {
    let a = bars("A", &[2.0, 3.0, 4.0], &[2.0, 3.0, 4.0]);
    let mut b = bars("B", &[5.0, 6.0], &[5.0, 6.0]);
    b = BarSeries::new(
        "B",
        vec![1_000_000 + 86_400, 1_000_000 + 3 * 86_400],
        b.open().to_vec(),
        b.high().to_vec(),
        b.low().to_vec(),
        b.close().to_vec(),
        b.volume().to_vec(),
    )
    .expect("b");
    let md = MarketData::new(vec![a, b]).expect("md");
    assert_eq!(md.len(), 4);
    let cfg = SimConfig {
        sizer: Sizer::FixedFraction { fraction: 0.4 },
        ..SimConfig::default()
    };
    let r = sim(cfg).run(
        &md,
        build_strategy("buy_and_hold", &json!(null))
            .expect("s")
            .as_mut(),
    );
    // B has no bar at 0 and A none at 3: each is bought at its own first available next open.
    let entries: Vec<(usize, usize)> = r.trades.iter().map(|t| (t.symbol, t.entry_bar)).collect();
    assert_eq!(entries, vec![(0, 1), (1, 3)]);
}

/// A 2:1 split at bar 2 and a 1.0 dividend at bar 3: applied, the position doubles at half the
/// price (value unchanged) and the dividend arrives as cash; ignored, the split is a loss.
#[test]
fn corporate_actions_split_positions_and_pay_dividends() {
    let open = [100.0, 100.0, 50.0, 50.0, 50.0];
    let close = [100.0, 100.0, 50.0, 49.0, 49.0];
    let nan = f64::NAN;
    let data = || {
        MarketData::single(
            bars("X", &open, &close)
                .with_series(CA_SPLIT, vec![nan, nan, 2.0, nan, nan])
                .expect("split")
                .with_series(CA_DIVIDEND, vec![nan, nan, nan, 1.0, nan])
                .expect("dividend"),
        )
        .expect("data")
    };
    let run = |actions: CorporateActions| {
        let cfg = SimConfig {
            initial_cash: 1000.0,
            corporate_actions: actions,
            ..SimConfig::default()
        };
        let mut s = build_strategy("buy_and_hold", &json!({})).expect("strategy");
        sim(cfg).run(&data(), s.as_mut())
    };
    // Bought 10 at the open of bar 1 (100): 20 shares after the split, +20 cash at bar 3.
    let applied = run(CorporateActions::Apply);
    assert_eq!(applied.equity, vec![1000.0, 1000.0, 1000.0, 1000.0, 1000.0]);
    assert_eq!(applied.cash[4], 20.0);
    assert_eq!(applied.trades[0].size, 20.0);
    assert_eq!(applied.trades[0].entry_price, 50.0);
    let ignored = run(CorporateActions::Ignore);
    assert_eq!(ignored.equity[4], 490.0);
}

/// An intent naming a symbol the data does not have is rejected with the reason; the run goes
/// on (a strategy bug must not take a run, or the server running it, down).
#[test]
fn an_order_for_a_missing_symbol_is_rejected_not_a_panic() {
    let md = MarketData::single(bars("X", &[10.0, 11.0, 12.0], &[10.5, 11.5, 12.5])).expect("md");
    let mut script = Script(vec![
        (0, Box::new(|c| c.target(7, Target::Long))),
        (0, Box::new(|c| c.rebalance(vec![(0, 0.5), (3, 0.5)]))),
        (1, Box::new(|c| c.target(0, Target::Long))),
    ]);
    let r = sim(SimConfig::default()).run(&md, &mut script);
    let rejected: Vec<&str> = r
        .orders
        .iter()
        .filter_map(|o| match &o.status {
            OrderStatus::Rejected { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(rejected.len(), 2, "{:?}", r.orders);
    assert!(rejected[0].contains("symbol #7"), "{rejected:?}");
    assert!(rejected[1].contains("symbol #3"), "{rejected:?}");
    // The valid order still fills at the next open.
    assert_eq!(r.trades.len(), 1);
    assert_eq!(r.trades[0].entry_bar, 2);
}
