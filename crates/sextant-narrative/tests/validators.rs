//! Each validator on a hand-made fact sheet with known values.

use chrono::NaiveDate;
use serde_json::json;
use sextant_narrative::policy::ADVICE_PHRASES;
use sextant_narrative::{
    render_template, validate, validate_with, Comparison, Fact, FactSheet, Side, Unit,
    ValidatorConfig, ViolationKind,
};
use std::collections::BTreeMap;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn fact(id: &str, value: f64, unit: Unit) -> Fact {
    Fact {
        id: id.into(),
        label: id.into(),
        value,
        unit,
    }
}

/// Strategy +12.34 % (Sharpe 0.202, drawdown −45 %) against buy and hold +20 % (0.5, −55 %).
fn sheet() -> FactSheet {
    let facts = vec![
        fact("kpi.total_return", 0.1234, Unit::Percent),
        fact("kpi.sharpe", 0.202, Unit::Ratio),
        fact("kpi.max_drawdown", -0.45, Unit::Percent),
        fact("kpi.trade_count", 17.0, Unit::Count),
        fact("kpi.final_equity", 13028.18, Unit::Currency),
        Fact {
            id: "kpi.value_at_risk".into(),
            label: "Value at risk (95% confidence)".into(),
            value: -0.021,
            unit: Unit::Percent,
        },
        fact("benchmark.total_return", 0.20, Unit::Percent),
        fact("benchmark.sharpe", 0.5, Unit::Ratio),
        fact("benchmark.max_drawdown", -0.55, Unit::Percent),
    ];
    let cmp = |metric: &str, s: f64, b: f64, higher| Comparison {
        metric: metric.into(),
        strategy: Some(s),
        benchmark: Some(b),
        higher,
    };
    FactSheet {
        strategy: "sma_cross".into(),
        params: json!({"fast": 10, "slow": 30}),
        symbols: vec!["MSFT".into()],
        start: Some(date("2004-01-02")),
        end: Some(date("2012-12-31")),
        facts,
        dates: BTreeMap::from([
            ("period.start".into(), date("2004-01-02")),
            ("period.end".into(), date("2012-12-31")),
        ]),
        drawdowns: Vec::new(),
        comparisons: vec![
            cmp("total_return", 0.1234, 0.20, Side::Benchmark),
            cmp("sharpe", 0.202, 0.5, Side::Benchmark),
            cmp("max_drawdown", -0.45, -0.55, Side::Strategy),
        ],
        extra: BTreeMap::new(),
        prices: "total_return".into(),
    }
}

const SECTIONS: &str = "## Summary\n\n## Performance\n\n## Risk\n\n## Trades\n\n## Caveats\n";

fn kinds(text: &str) -> Vec<ViolationKind> {
    validate(&format!("{SECTIONS}{text}"), &sheet())
        .violations
        .iter()
        .map(|v| v.kind)
        .collect()
}

#[test]
fn percent_and_fraction_forms_are_accepted_within_rounding() {
    for ok in [
        "12.3%",
        "12.34%",
        "12%",
        "0.123",
        "0.1234",
        "12.3 percent",
        "Sharpe 0.20",
        "0.2",
        "-45.0%",
        "45%",
        "95% VaR",
        "fast=10",
    ] {
        assert!(kinds(ok).is_empty(), "{ok}: {:?}", kinds(ok));
    }
    for bad in [
        "12.5%",
        "12.36%",
        "0.125",
        "Sharpe 0.21",
        "+45.0%",
        "-12.34% of something",
        "11",
    ] {
        assert_eq!(kinds(bad), vec![ViolationKind::UnsupportedNumber], "{bad}");
    }
}

#[test]
fn thousands_separators_and_currency_are_accepted() {
    for ok in ["$13,028.18", "13,028.18", "$13,028", "13028.2", "17 trades"] {
        assert!(kinds(ok).is_empty(), "{ok}: {:?}", kinds(ok));
    }
    assert_eq!(kinds("$13,128.18"), vec![ViolationKind::UnsupportedNumber]);
}

#[test]
fn dates_and_years_must_belong_to_the_sheet() {
    assert!(kinds("from 2004-01-02 to 2012-12-31, through 2008").is_empty());
    assert!(
        kinds("## 1. Summary\n1. first point").is_empty(),
        "numbering is not a fact"
    );
    assert_eq!(kinds("on 2013-03-01"), vec![ViolationKind::UnsupportedDate]);
    assert_eq!(kinds("in 1999"), vec![ViolationKind::UnsupportedNumber]);
}

#[test]
fn missing_section_is_caught() {
    let s = sheet();
    let text = render_template(&s).replace("## Risk", "## Dangers");
    let r = validate(&text, &s);
    assert_eq!(r.violations.len(), 1, "{:?}", r.violations);
    assert_eq!(r.violations[0].kind, ViolationKind::MissingSection);
    let relaxed = ValidatorConfig {
        required_sections: vec!["Summary".into()],
        ..ValidatorConfig::default()
    };
    assert!(validate_with(&text, &s, &relaxed).ok);
}

#[test]
fn flipped_comparisons_are_caught() {
    let s = sheet();
    let text = render_template(&s);
    assert!(
        validate(&text, &s).ok,
        "{:?}\n{text}",
        validate(&text, &s).violations
    );
    assert!(text.contains("underperformed"));
    for (from, to) in [
        ("underperformed", "outperformed"),
        ("lower than", "higher than"),
        ("shallower than", "deeper than"),
    ] {
        let flipped = text.replace(from, to);
        let r = validate(&flipped, &s);
        assert!(
            r.violations
                .iter()
                .any(|v| v.kind == ViolationKind::ContradictedClaim),
            "{from} -> {to}"
        );
    }
}

#[test]
fn claim_rules_handle_negation_subjects_and_signs() {
    for ok in [
        "The strategy did not outperform buy and hold.",
        "Buy and hold beat the strategy.",
        "The strategy was beaten by buy and hold.",
        "The strategy lagged the benchmark, but its drawdown was smaller than buy and hold's.",
        "Compared with buy and hold, the strategy had a lower Sharpe ratio.",
        "The strategy gained 12.34%.",
        "The strategy was profitable.",
        "The worst trade lost 12.3%.",
    ] {
        assert!(kinds(ok).is_empty(), "{ok}: {:?}", kinds(ok));
    }
    for bad in [
        "The strategy beat buy and hold.",
        "Buy and hold underperformed the strategy.",
        "The strategy didn't underperform buy and hold.",
        "The strategy had a higher Sharpe ratio than buy and hold.",
        "The strategy's drawdown was deeper than the benchmark's.",
        "The strategy lost 12.34%.",
        "The strategy was unprofitable.",
        "The strategy was not profitable.",
    ] {
        assert!(
            kinds(bad).contains(&ViolationKind::ContradictedClaim),
            "{bad}: {:?}",
            kinds(bad)
        );
    }
}

#[test]
fn advice_and_toxic_language_are_caught() {
    for p in ADVICE_PHRASES {
        assert!(
            kinds(&format!("Given this, {p} here.")).contains(&ViolationKind::Advice),
            "{p}"
        );
    }
    assert!(kinds("You should buy MSFT now, it can't lose.").contains(&ViolationKind::Advice));
    assert!(kinds("Only an idiot would ignore this.").contains(&ViolationKind::Toxic));
    assert!(
        kinds("This is not a recommendation to trade.").is_empty(),
        "recommendation is not advice"
    );
}

#[test]
fn personal_data_and_secrets_are_caught_and_numbers_are_not() {
    for (text, what) in [
        ("Write to jane.doe@example.com for the data.", "e-mail"),
        ("Call (212) 555-0147 before the open.", "phone"),
        ("Call 212-555-0147 before the open.", "phone"),
        ("Reach me on +442071234567.", "E.164 phone"),
        ("SSN 078-05-1120 on file.", "SSN"),
        ("Card 4111 1111 1111 1111 was charged.", "card"),
        ("Card 4111111111111111 was charged.", "card"),
        (
            "Use sx_95b98e571583_4e839d8ecbf27c03ebb41549212b69a0 to log in.",
            "Sextant key",
        ),
        (
            "The key sk-abcdefghijklmnopqrstuvwx works.",
            "OpenAI-style key",
        ),
        ("AKIAIOSFODNN7EXAMPLE", "AWS key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
    ] {
        assert!(kinds(text).contains(&ViolationKind::Pii), "{what}: {text}");
    }
    // What narratives are made of never matches: dates side by side, prices, percentages,
    // counts, run ids, a Luhn-invalid 16-digit number.
    for text in [
        "From 2000-03-01 2013-03-01 the run held 3,270 bars.",
        "Total return 1,131.12% with Sharpe 0.754 and max drawdown -71.18% (2000-07-12 to 2001-10-31).",
        "Final equity $123,112.18 after 44 trades; run bt_2e94075aab2e98bf98ada94b.",
        "Volume 28,230,100 shares at 26.50 / 26.96 / 26.20 / 26.93.",
        "Reference 4111 1111 1111 1112 is not a card.",
        "Periods per year 252.00, 1,148 bars in the longest drawdown.",
    ] {
        assert!(!kinds(text).contains(&ViolationKind::Pii), "false positive: {text}");
    }
}
