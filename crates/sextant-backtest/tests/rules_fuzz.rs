//! The rule language under malformed and adversarial input: token soup, random bytes, deep
//! nesting, huge numbers and periods, unknown names, wrong types, mutated documents. Every
//! case must end in a typed error or a strategy that runs, never a panic, and within a bounded
//! time; a compiled definition stays within its node limit.

use serde_json::{json, Value};
use sextant_backtest::rules::{self, RuleDoc, MAX_NODES};
use sextant_backtest::simulator::{BarSeries, MarketData, SimConfig, TradingSimulator};
use sextant_backtest::strategy::build_strategy;
use std::time::{Duration, Instant};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const TOKENS: &[&str] = &[
    "close",
    "open",
    "high",
    "low",
    "volume",
    "fast",
    "slow",
    "flag",
    "x",
    "nope",
    "sma",
    "ema",
    "rsi",
    "crossover",
    "crossunder",
    "highest",
    "bb_upper",
    "macd",
    "atr",
    "adx",
    "stoch_k",
    "rising",
    "ml_proba",
    "in_regime",
    "series",
    "abs",
    "min",
    "max",
    "(",
    ")",
    "[",
    "]",
    ",",
    "+",
    "-",
    "*",
    "/",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "!",
    "and",
    "or",
    "not",
    "true",
    "false",
    "0",
    "1",
    "3",
    "14",
    "-1",
    "2.5",
    "1e308",
    "1e999",
    "1e-320",
    "99999999999",
    "100001",
    "\"m\"",
    "\"bull\"",
    "\"\"",
    "\"",
    ".",
    "..",
    "é",
    "\u{0}",
    "let",
    "$",
];

fn soup(rng: &mut Rng) -> String {
    let n = 1 + rng.below(40);
    (0..n)
        .map(|_| rng.pick(TOKENS))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A well-typed (mostly) random expression, so the compiled plan and the runtime are fuzzed
/// too: every function, periods up to the limit, lags, division by zero, external series.
fn condition(rng: &mut Rng, depth: usize) -> String {
    let n = |rng: &mut Rng| number(rng, depth + 1);
    match if depth > 4 { 0 } else { rng.below(9) } {
        0 | 1 => format!(
            "{} {} {}",
            n(rng),
            rng.pick(&["<", "<=", ">", ">=", "==", "!="]),
            n(rng)
        ),
        2 => format!(
            "({}) {} ({})",
            condition(rng, depth + 1),
            rng.pick(&["and", "or"]),
            condition(rng, depth + 1)
        ),
        3 => format!("not {}", condition(rng, depth + 1)),
        4 => format!(
            "{}({}, {})",
            rng.pick(&["crossover", "crossunder"]),
            n(rng),
            n(rng)
        ),
        5 => format!(
            "{}({}, {})",
            rng.pick(&["rising", "falling"]),
            n(rng),
            period(rng)
        ),
        6 => format!(
            "in_regime(\"m\", \"{}\") or regime_prob(\"m\", \"{}\") > 0.5",
            rng.pick(&["bull", "bear", "sideways", "high_vol"]),
            rng.pick(&["bull", "bear", "moon"])
        ),
        7 => rng.pick(&["flag", "true", "false"]).to_string(),
        _ => format!(
            "({})[{}]",
            condition(rng, depth + 1),
            rng.pick(&["0", "1", "5", "fast"])
        ),
    }
}

fn period(rng: &mut Rng) -> String {
    rng.pick(&["1", "2", "3", "5", "14", "fast", "slow", "250", "100000"])
        .to_string()
}

fn number(rng: &mut Rng, depth: usize) -> String {
    let leaf = depth > 4;
    match if leaf { rng.below(3) } else { rng.below(15) } {
        0 => rng
            .pick(&["close", "open", "high", "low", "volume", "f"])
            .to_string(),
        1 => rng
            .pick(&["0", "1", "-2.5", "1e300", "x", "fast"])
            .to_string(),
        2 => "ml_proba(\"m\")".to_string(),
        3 => format!(
            "{}({}, {})",
            rng.pick(&[
                "sma", "ema", "wma", "rsi", "roc", "mom", "zscore", "std", "highest", "lowest",
                "mean"
            ]),
            number(rng, depth + 1),
            period(rng)
        ),
        4 => format!(
            "{}({}, {}, {})",
            rng.pick(&["bb_upper", "bb_middle", "bb_lower"]),
            number(rng, depth + 1),
            period(rng),
            rng.pick(&["2", "x", "0.5"])
        ),
        5 => format!(
            "{}({}, {}, {}, {})",
            rng.pick(&["macd", "macd_signal", "macd_hist"]),
            number(rng, depth + 1),
            period(rng),
            period(rng),
            period(rng)
        ),
        6 => format!(
            "{}({})",
            rng.pick(&["atr", "adx", "plus_di", "minus_di"]),
            period(rng)
        ),
        7 => format!(
            "{}({}, {}, {})",
            rng.pick(&["stoch_k", "stoch_d"]),
            period(rng),
            period(rng),
            period(rng)
        ),
        8 => "obv()".to_string(),
        9 => format!(
            "({} {} {})",
            number(rng, depth + 1),
            rng.pick(&["+", "-", "*", "/"]),
            number(rng, depth + 1)
        ),
        10 => format!(
            "{}({}, {})",
            rng.pick(&["min", "max"]),
            number(rng, depth + 1),
            number(rng, depth + 1)
        ),
        11 => format!("abs(-{})", number(rng, depth + 1)),
        12 => format!(
            "{}[{}]",
            number(rng, depth + 1),
            rng.pick(&["1", "3", "slow", "10000"])
        ),
        13 => "feature(\"technical.rsi_14\")".to_string(),
        _ => "series(\"ml_proba:m\")".to_string(),
    }
}

fn bytes(rng: &mut Rng) -> String {
    let n = rng.below(64);
    let raw: Vec<u8> = (0..n).map(|_| (rng.next() & 0xff) as u8).collect();
    String::from_utf8_lossy(&raw).into_owned()
}

fn document(expr: &str, rng: &mut Rng) -> Value {
    let mut d = json!({
        "name": "fuzz",
        "params": {
            "fast": {"type": "int", "min": 1, "max": 50, "default": 5},
            "slow": {"type": "int", "min": 2, "max": 100, "default": 20},
            "flag": {"type": "bool", "default": true},
            "x": {"type": "float", "min": -5.0, "max": 5.0, "default": 0.5},
        },
        "let": {"f": "sma(close, fast)", "loop": "loop + 1"},
        "long": {"entry": expr},
    });
    match rng.below(8) {
        0 => d["long"]["exit"] = json!(expr),
        1 => d["short"] = json!({"entry": expr, "stop_loss": {"pct": "x"}}),
        2 => d["long"]["take_profit"] = json!({"atr": 1e300, "period": "fast"}),
        3 => d["long"]["size"] = json!({"kind": "fraction", "fraction": "flag"}),
        4 => d["require"] = json!([expr]),
        5 => d["let"]["g"] = json!(expr),
        6 => d["long"]["max_bars"] = json!(-3),
        _ => {}
    }
    d
}

fn bars() -> MarketData {
    let n = 120;
    let close: Vec<f64> = (0..n)
        .map(|i| 100.0 + (i as f64 * 0.37).sin() * 5.0)
        .collect();
    let s = BarSeries::new(
        "F",
        (0..n as i64).map(|i| 86_400 * i).collect(),
        close.iter().map(|c| c * 0.999).collect(),
        close.iter().map(|c| c * 1.01).collect(),
        close.iter().map(|c| c * 0.99).collect(),
        close.clone(),
        vec![1e6; n],
    )
    .expect("bars")
    .with_series(
        "ml_proba:m",
        (0..n).map(|i| (i % 10) as f64 / 10.0).collect(),
    )
    .expect("series");
    MarketData::single(s).expect("data")
}

fn bounded(what: &str, start: Instant) {
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{what} took {:?}",
        start.elapsed()
    );
}

#[test]
fn adversarial_definitions_get_typed_errors_never_a_panic() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let data = bars();
    let sim = TradingSimulator::new(SimConfig::default()).expect("config");
    let (mut ok, mut refused) = (0, 0);
    let mut cases: Vec<String> = Vec::new();
    for i in 0..6_000 {
        cases.push(match i % 3 {
            0 => bytes(&mut rng),
            1 => soup(&mut rng),
            _ => condition(&mut rng, 0),
        });
    }
    cases.push(format!(
        "{}close{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    ));
    cases.push(format!("{}close", "not ".repeat(50_000)));
    cases.push(format!("{}close", "-".repeat(50_000)));
    cases.push(format!("close{}", "[1]".repeat(20_000)));
    cases.push(
        (0..3_000)
            .map(|i| format!("sma(close, {})", i + 1))
            .collect::<Vec<_>>()
            .join(" + ")
            + " > 0",
    );
    cases.push("sma(close, 100000)[100000] > 0".into());
    cases.push("sma(close, 1e9) > 0".into());
    cases.push("crossover(close, close) and in_regime(\"m\", \"moon\")".into());
    cases.push("f".into());
    cases.push("loop > 0".into());
    for expr in &cases {
        let start = Instant::now();
        let parsed = rules::parse(expr);
        bounded("parse", start);
        if let Ok(e) = parsed {
            let _ = format!("{e:?}");
        }
        let doc = document(expr, &mut rng);
        let params = json!({"definition": doc});
        let start = Instant::now();
        match build_strategy("rules", &params) {
            Ok(mut s) => {
                let prog = rules::program_from_params(&params).expect("compiles twice");
                assert!(prog.node_count() <= MAX_NODES);
                let r = sim.run(&data, s.as_mut());
                assert_eq!(r.equity.len(), data.len());
                ok += 1;
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
        }
        bounded("build and run", start);
        if let Ok(d) = RuleDoc::from_value(&document(expr, &mut rng)) {
            let start = Instant::now();
            if let Ok(p) = rules::check(&d) {
                let _ = rules::explain(&d, &p);
            }
            bounded("check", start);
        }
    }
    eprintln!(
        "{} cases: {ok} compiled and ran, {refused} refused with a typed error",
        cases.len()
    );
    assert!(
        ok > 500 && refused > 3_000,
        "{ok} compiled and ran, {refused} refused"
    );
}

#[test]
fn errors_name_the_field_and_point_at_the_token() {
    let d = json!({"name": "e", "long": {"entry": "close > sma(close, 10) and volme > 0"}});
    let e = rules::check(&RuleDoc::from_value(&d).expect("doc")).expect_err("unknown name");
    assert_eq!(e.field, "long.entry");
    let t = e.token.clone().expect("token");
    assert_eq!(&t.text[t.start..t.end], "volme");
    assert_eq!(t.column(), 28);
    let shown = e.to_string();
    assert!(
        shown.contains("unknown name `volme`") && shown.contains("^^^^^"),
        "{shown}"
    );

    let d = json!({"name": "e", "long": {"entry": "sma(close, 10)"}});
    let e = rules::check(&RuleDoc::from_value(&d).expect("doc")).expect_err("not a condition");
    assert!(e.message.contains("condition"), "{e}");

    let d = json!({"name": "e", "let": {"a": "b + 1", "b": "a * 2"}, "long": {"entry": "a > 0"}});
    let e = rules::check(&RuleDoc::from_value(&d).expect("doc")).expect_err("cycle");
    assert!(e.message.contains("itself"), "{e}");

    let d = json!({"name": "e", "params": {"n": {"type": "float", "min": 1.0, "max": 5.0, "default": 2.0}},
                   "long": {"entry": "close > sma(close, n)"}});
    let e = rules::check(&RuleDoc::from_value(&d).expect("doc")).expect_err("float period");
    assert!(e.message.contains("integer parameter"), "{e}");

    let d =
        json!({"name": "e", "long": {"entry": "close > 0", "stop_loss": {"pct": 0.05, "atr": 2}}});
    let e = rules::check(&RuleDoc::from_value(&d).expect("doc")).expect_err("two distances");
    assert_eq!(e.field, "long.stop_loss");

    assert!(
        RuleDoc::from_value(&json!({"name": "e", "long": {"entry": "x"}, "extra": 1})).is_err()
    );
}

#[test]
fn deep_let_chains_are_an_error_not_a_stack_overflow() {
    // 64 lets, each 60 levels deep and ending in the next: ~3,800 levels when expanded.
    let mut lets = serde_json::Map::new();
    for i in 0..64 {
        let next = if i == 63 {
            "close".to_string()
        } else {
            format!("a{}", i + 1)
        };
        lets.insert(format!("a{i}"), json!(format!("{}{next}", "-".repeat(60))));
    }
    let d = json!({"name": "deep", "let": lets, "long": {"entry": "a0 > 0"}});
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let doc = RuleDoc::from_value(&d).expect("doc");
            rules::check(&doc).map(|_| ()).map_err(|e| e.to_string())
        })
        .expect("thread");
    let e = handle
        .join()
        .expect("no stack overflow")
        .expect_err("too deep");
    assert!(e.contains("nested deeper"), "{e}");
}

#[test]
fn reserved_names_and_impossible_levels_are_refused() {
    let check = |d: Value| rules::check(&RuleDoc::from_value(&d).expect("doc")).map(|_| ());
    let e = check(json!({"name": "r", "params": {"close": {"type": "float", "min": 0, "max": 1, "default": 0.5}},
                         "long": {"entry": "close > 0"}}))
    .expect_err("param named close");
    assert!(e.message.contains("reserved"), "{e}");
    assert!(
        check(json!({"name": "r", "let": {"and": "close"}, "long": {"entry": "close > 0"}}))
            .is_err()
    );
    let e = check(json!({"name": "r", "long": {"entry": "close > 0", "stop_loss": {"pct": 1.0}}}))
        .expect_err("a 100 % stop");
    assert_eq!(e.field, "long.stop_loss.pct");
    assert!(check(
        json!({"name": "r", "short": {"entry": "close > 0", "take_profit": {"pct": 1.2}}})
    )
    .is_err());
    assert!(check(
        json!({"name": "r", "long": {"entry": "close > 0", "take_profit": {"pct": 1.2}}})
    )
    .is_ok());
}
