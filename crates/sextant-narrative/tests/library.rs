//! The grounded template on real backtests: never falsely rejected, and every planted false
//! number or date in it is caught.

use crate::common;

use sextant_narrative::numbers::{scan, Token};
use sextant_narrative::{render_template, validate, FactSheet, ViolationKind};

#[test]
fn template_passes_validation_for_every_strategy_and_symbol() {
    for (label, sheet) in common::library_sheets() {
        let text = render_template(sheet);
        let report = validate(&text, sheet);
        assert!(report.ok, "{label}: {:#?}\n{text}", report.violations);
        for section in [
            "## Summary",
            "## Performance",
            "## Risk",
            "## Trades",
            "## Caveats",
        ] {
            assert!(text.contains(section), "{label}: {section}");
        }
    }
}

/// Whether `m` (a magnitude written with `decimals` decimals) is close to something quotable,
/// so a perturbation to it would be a true statement or ambiguous, not a planted error.
fn near_a_fact(sheet: &FactSheet, m: f64, decimals: usize) -> bool {
    let margin = 1.5 * 10f64.powi(-(decimals as i32));
    let mut quotable: Vec<f64> = sheet.whitelisted_numbers();
    quotable.extend(sheet.facts.iter().map(|f| f.value));
    quotable
        .iter()
        .flat_map(|v| [v.abs(), v.abs() * 100.0])
        .any(|v| (v - m).abs() <= margin)
        || (decimals == 0 && (1900.0..=2100.0).contains(&m))
}

/// `text` with the digits of the number at `start..end` replaced by a magnitude `delta` units
/// of its last digit larger, keeping sign, currency sign and percent suffix.
fn perturb(text: &str, start: usize, end: usize, sheet: &FactSheet) -> Option<String> {
    let span = &text[start..end];
    let first = span.find(|c: char| c.is_ascii_digit())?;
    let last = span.rfind(|c: char| c.is_ascii_digit())? + 1;
    let core = &span[first..last];
    let decimals = core.split_once('.').map_or(0, |(_, d)| d.len());
    let m: f64 = core.replace(',', "").parse().ok()?;
    let unit = 10f64.powi(-(decimals as i32));
    let new = [3.0, 7.0, 13.0, 29.0, 61.0, 127.0, 1009.0]
        .iter()
        .map(|d| m + d * unit)
        .find(|&v| !near_a_fact(sheet, v, decimals))?;
    let digits = format!("{new:.decimals$}");
    Some(format!(
        "{}{}{digits}{}{}",
        &text[..start],
        &span[..first],
        &span[last..],
        &text[end..]
    ))
}

#[test]
fn every_planted_false_number_or_date_is_caught() {
    let mut planted = 0;
    for (label, sheet) in common::library_sheets() {
        let text = render_template(sheet);
        for tok in scan(&text) {
            let (bad, kind) = match tok.token {
                Token::Number(_) => {
                    let Some(bad) = perturb(&text, tok.start, tok.end, sheet) else {
                        panic!("{label}: no perturbation for {}", &text[tok.start..tok.end])
                    };
                    (bad, ViolationKind::UnsupportedNumber)
                }
                Token::Date(d) => {
                    let shifted = (1..10)
                        .map(|k| d + chrono::Days::new(k))
                        .find(|x| !sheet.dates.values().any(|y| y == x))
                        .expect("a free date");
                    let bad = format!(
                        "{}{}{}",
                        &text[..tok.start],
                        shifted.format("%Y-%m-%d"),
                        &text[tok.end..]
                    );
                    (bad, ViolationKind::UnsupportedDate)
                }
            };
            let report = validate(&bad, sheet);
            assert!(
                report.violations.iter().any(|v| v.kind == kind),
                "{label}: perturbing {:?} at {} was not caught",
                &text[tok.start..tok.end],
                tok.start
            );
            planted += 1;
        }
    }
    assert!(planted > 1000, "planted {planted}");
}

#[test]
fn flipped_comparisons_are_caught_on_every_run() {
    let mut flipped = 0;
    for (label, sheet) in common::library_sheets() {
        let text = render_template(sheet);
        let swaps = [
            ("outperformed", "underperformed"),
            ("underperformed", "outperformed"),
            ("was higher than", "was lower than"),
            ("was lower than", "was higher than"),
            ("was shallower than", "was deeper than"),
            ("was deeper than", "was shallower than"),
            ("matched", "outperformed"),
            ("was equal to", "was higher than"),
        ];
        for (from, to) in swaps {
            if !text.contains(from) {
                continue;
            }
            let report = validate(&text.replace(from, to), sheet);
            assert!(
                report
                    .violations
                    .iter()
                    .any(|v| v.kind == ViolationKind::ContradictedClaim),
                "{label}: {from} -> {to} not caught"
            );
            flipped += 1;
        }
    }
    // Sheets with a non-finite side (e.g. no Sharpe on a flat curve) have no sentence to flip.
    assert!(flipped >= 90, "flipped {flipped}");
}

#[test]
fn fact_sheets_round_trip_through_json() {
    for (label, sheet) in common::library_sheets() {
        let text = serde_json::to_string(sheet).expect("serialise");
        let back: FactSheet = serde_json::from_str(&text).expect("deserialise");
        // serde_json (without `float_roundtrip`) may parse a float one ulp off: values approx.
        assert_eq!(back.dates, sheet.dates, "{label}");
        assert_eq!(back.comparisons.len(), sheet.comparisons.len(), "{label}");
        assert_eq!(back.facts.len(), sheet.facts.len(), "{label}");
        for (a, b) in back.facts.iter().zip(&sheet.facts) {
            assert_eq!((&a.id, a.unit), (&b.id, b.unit), "{label}");
            assert!(
                (a.value - b.value).abs() <= 1e-12 * b.value.abs().max(1.0),
                "{label}"
            );
        }
        assert!(sheet.fact("kpi.total_return").is_some(), "{label}");
        assert!(sheet.drawdowns.len() <= 3, "{label}");
    }
}

/// A run whose range contains a bar the quality checks hold says so in its narrative (count and
/// date), states its price basis, and still passes validation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_narrative_states_held_bars_and_the_price_basis() {
    use sextant_domain::{Resolution, Source, Symbol};
    let s = sextant_test_support::services().await;
    let msft = Symbol::new("MSFT").expect("symbol");
    let zzz = Symbol::new("ZZZ").expect("symbol");
    let mut bars = s
        .cache
        .bars(&msft, Resolution::Daily, None, None)
        .expect("bars");
    for b in &mut bars {
        b.symbol = zzz.clone();
    }
    let held_day = bars[100].ts.date();
    let b = &mut bars[100];
    std::mem::swap(&mut b.high, &mut b.low);
    s.cache
        .ingest_bars(&bars, Source::File, "test")
        .expect("ingest");
    let req = serde_json::from_value(serde_json::json!({
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbols": ["ZZZ"]
    }))
    .expect("request");
    let run = s.backtests.run(&req).await.expect("run");
    let stored = s
        .backtests
        .stored_with_benchmark(s.cache.as_ref(), &run.id)
        .await
        .expect("stored")
        .expect("some");
    let sheet = FactSheet::build(
        &stored.run,
        &stored.trades,
        &stored.curve,
        &stored.benchmark,
    );
    let text = render_template(&sheet);
    let report = validate(&text, &sheet);
    assert!(report.ok, "{:#?}\n{text}", report.violations);
    assert!(
        text.contains(&format!(
            "held 1 bar(s) of the period out of the data (the first on {held_day})"
        )),
        "{text}"
    );
    assert!(text.contains("total-return prices"), "{text}");
}
