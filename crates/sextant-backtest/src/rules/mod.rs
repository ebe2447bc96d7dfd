//! User-defined strategies: a small declarative rule language, causal by construction, compiled
//! to a plan the simulator runs at native speed.
//!
//! # A definition
//!
//! A JSON document ([`RuleDoc`]): a `name`, typed `params` with ranges (what a tuner
//! searches), `require`d conditions on the parameters (`fast < slow`), `let` sub-expressions,
//! and a `long` and/or `short` rule set: an `entry` and an optional `exit` condition, risk exits
//! (`stop_loss`, `take_profit`, `trailing_stop` as `{"pct": 0.05}` or `{"atr": 2, "period":
//! 14}`, `max_bars`) and a `size` (`all_in`, `fraction`, `units`, `vol_target`). Numbers in
//! levels and sizes may name a parameter.
//!
//! # Expressions
//!
//! Series: `open high low close volume`; numbers; parameters (a boolean parameter is a
//! condition); `let` names. Operators: `+ - * /`, comparisons, `and or not`, lag `x[k]` (the
//! value `k` bars ago). Functions ([`FUNCTIONS`]): every library indicator with its parameters
//! (`sma ema wma rsi roc mom zscore`, `bb_upper/middle/lower(x, n, k)`,
//! `macd/macd_signal/macd_hist(x, fast, slow, signal)`, `atr(n)`, `adx/plus_di/minus_di(n)`,
//! `stoch_k/stoch_d(fastk, slowk, slowd)`, `obv()`), rolling `highest lowest mean std(x, n)`,
//! `crossover/crossunder(a, b)` (strict on both bars, as the library), `rising/falling(x, n)`
//! (a strict rise/fall on each of the last `n` bars), `abs min max`, and external data:
//! `ml_proba("model")`, `in_regime("model", "bull")`, `regime_prob("model", "bull")`, `feature("view.column")` (a feature-store
//! value; `feature("rsi_14")` reads the `technical` view), `series("name")`.
//!
//! Every function reads only the current and earlier bars, and there is no way to index
//! forward (a lag is a whole number ≥ 0 fixed when compiling): a definition cannot look ahead.
//! [`truncation_test`] checks it anyway on every saved definition. Periods and lags are whole
//! numbers or integer parameters, so every window is fixed before the first bar.
//!
//! Indicators warm up as in the library (TA-Lib lookbacks); a comparison with a value still
//! warming up is false (so is `crossover`), and `not` of it is true.
//!
//! # What the rules do, per symbol and bar
//!
//! After the symbol's bar closes: if the long entry holds, target long; else if the short
//! entry holds, target short; else a held long whose exit holds (a held short whose exit holds)
//! goes flat. A position held `max_bars` bars of the run's timeline since its entry signal goes
//! flat even while its entry still holds (the time limit is the point of `max_bars`); it can
//! enter again at the next close. A target equal to what is held does nothing. These are the library strategies' rules, which is why
//! they re-express exactly ([`library_definitions`]).
//!
//! Risk exits are the simulator's own resting orders, placed with the entry: a stop at the
//! signal close ∓ the distance and a limit at ± the take-profit distance, each closing the
//! whole position ([`crate::simulator::Quantity::Position`]). They are checked from the next
//! bar's range on, so with next-open fills they can trigger on the entry bar itself, with
//! backtesting.py's prices (a sell stop fills at `min(open, stop)`, a sell limit at
//! `max(open, limit)`); when both trigger in one bar the stop comes first. This equals
//! backtesting.py's `buy(sl=close·(1−d), tp=close·(1+d))`, or `close ∓ k·ATR` levels, trade
//! for trade (`tests/rules_golden.rs`). A
//! trailing stop moves at each close to `close ∓ distance` when that is tighter. An exit
//! signal (or `max_bars`, or a flip to the other side) cancels the resting exits: its market
//! order fills first at the next fill point, before anything within that bar's range, as
//! backtesting.py's `position.close()`, which it queues at the front. Exits left after a stop
//! or target closed the position are cancelled at the next close.

mod causal;
mod compile;
mod doc;
mod error;
mod library;
mod parse;
mod plan;
mod print;
mod strategy;

pub use causal::{truncation_test, TruncationReport};
pub use compile::{
    compile, compile_explained, Program, Reference, Ty, FUNCTIONS, MAX_NODES, MAX_PERIOD,
};
pub use doc::{is_name, Level, Num, ParamDecl, ParamValue, RuleDoc, SideRules, SizeSpec};
pub use error::{RuleError, TokenAt};
pub use library::library_definitions;
pub use parse::{parse, parse_shared, Expr, SyntaxError, MAX_DEPTH, MAX_EXPR_BYTES};
pub use print::{canonical, canonical_text};
pub use strategy::RuleStrategy;

use crate::strategy::ParamError;
use parse::BinOp;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The library name under which a backtest runs a definition: `{"strategy": "rules",
/// "params": {"definition": {...}, "fast": 12}}`.
pub const RULES: &str = "rules";

/// Largest definition accepted, in bytes of JSON.
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;

/// The definition inside a `rules` parameter object.
pub fn definition_of(params: &Value) -> Result<RuleDoc, ParamError> {
    let invalid = |reason: String| ParamError::Invalid {
        field: "definition".into(),
        reason,
    };
    match params.get("definition") {
        // Size is bounded without serialising (this runs for every trial of a study): the
        // document's shape is closed (unknown fields are refused), expressions are at most
        // MAX_EXPR_BYTES, params and lets at most MAX_PARAMS and MAX_LETS each. Callers taking
        // a definition from outside also cap its bytes (MAX_DEFINITION_BYTES).
        Some(v @ Value::Object(_)) => RuleDoc::from_value(v).map_err(|e| invalid(e.message)),
        Some(Value::String(id)) => Err(invalid(format!(
            "the saved definition {id:?} is resolved by the backtest service; here it must be inline"
        ))),
        _ => Err(invalid(
            "a `rules` strategy needs params.definition: the definition object (or a saved definition's id)".into(),
        )),
    }
}

/// Parses, checks and compiles the definition in `params` with the parameter values beside it.
pub fn program_from_params(params: &Value) -> Result<Program, ParamError> {
    let doc = definition_of(params)?;
    let empty = Map::new();
    let given = params.as_object().unwrap_or(&empty);
    let values = doc.resolve(given)?;
    check_require(&doc, &values).map_err(rule_param_error)?;
    compile(&doc, &values).map_err(rule_param_error)
}

/// The external series the definition in a `rules` parameter object reads (none when it does
/// not compile: building it fails with the reason anyway).
pub fn references_of(params: &Value) -> Vec<Reference> {
    program_from_params(params).map_or_else(|_| Vec::new(), |p| p.references().to_vec())
}

/// Builds the strategy for a `rules` parameter object.
pub fn build(params: &Value) -> Result<RuleStrategy, ParamError> {
    program_from_params(params).map(RuleStrategy::new)
}

fn rule_param_error(e: RuleError) -> ParamError {
    ParamError::Invalid {
        field: e.field.clone(),
        reason: e.to_string(),
    }
}

/// Checks and compiles `doc` with its default parameters: every error a user can fix before
/// running, with the field and token at fault.
pub fn check(doc: &RuleDoc) -> Result<Program, RuleError> {
    doc.check_shape()?;
    let values = doc
        .resolve(&Map::new())
        .map_err(|e| RuleError::field("params", e.to_string()))?;
    check_require(doc, &values)?;
    compile_explained(doc, &values)
}

/// Evaluates each `require` condition on the parameter values.
pub fn check_require(
    doc: &RuleDoc,
    values: &BTreeMap<String, ParamValue>,
) -> Result<(), RuleError> {
    for (i, text) in doc.require.iter().enumerate() {
        let field = format!("require[{i}]");
        let e = parse_shared(text)
            .map_err(|e| RuleError::at(&field, text, (e.at, e.at + 1), e.message))?;
        match const_eval(&e, values) {
            Ok(v) if v != 0.0 => {}
            Ok(_) => {
                let shown: Vec<String> = values
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_f64()))
                    .collect();
                return Err(RuleError::at(
                    &field,
                    text,
                    (0, text.len()),
                    format!("not met by {}", shown.join(", ")),
                ));
            }
            Err(span) => {
                return Err(RuleError::at(
                    &field,
                    text,
                    span,
                    "a requirement uses numbers, parameters and operators only",
                ));
            }
        }
    }
    Ok(())
}

/// Value of an expression over parameters and literals; the span of the first other token.
fn const_eval(e: &Expr, values: &BTreeMap<String, ParamValue>) -> Result<f64, (usize, usize)> {
    let b = |x: bool| f64::from(u8::from(x));
    Ok(match e {
        Expr::Num(v, _) => *v,
        Expr::Bool(x, _) => b(*x),
        Expr::Ident(name, s) => values
            .get(name)
            .map(|v| v.as_f64())
            .ok_or((s.start, s.end))?,
        Expr::Neg(a, _) => -const_eval(a, values)?,
        Expr::Not(a, _) => b(const_eval(a, values)? == 0.0),
        Expr::Binary(op, l, r, _) => {
            let (x, y) = (const_eval(l, values)?, const_eval(r, values)?);
            match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Lt => b(x < y),
                BinOp::Le => b(x <= y),
                BinOp::Gt => b(x > y),
                BinOp::Ge => b(x >= y),
                BinOp::Eq => b(x == y),
                BinOp::Ne => b(x != y),
                BinOp::And => b(x != 0.0 && y != 0.0),
                BinOp::Or => b(x != 0.0 || y != 0.0),
            }
        }
        other => {
            let s = other.span();
            return Err((s.start, s.end));
        }
    })
}

/// A readable account of a compiled definition: parameters, each rule as compiled (after
/// parameters are substituted and `let`s expanded), risk exits, warm-up and external data.
pub fn explain(doc: &RuleDoc, program: &Program) -> String {
    let mut out = format!("strategy {}\n", doc.name);
    if !doc.description.is_empty() {
        out += &format!("  {}\n", doc.description);
    }
    if !doc.params.is_empty() {
        out += "parameters:\n";
        for (name, p) in &doc.params {
            let line = match p {
                ParamDecl::Int {
                    min, max, default, ..
                } => format!("int {min}..={max}, default {default}"),
                ParamDecl::Float {
                    min, max, default, ..
                } => format!("float {min}..={max}, default {default}"),
                ParamDecl::Bool { default, .. } => format!("bool, default {default}"),
            };
            out += &format!("  {name}: {line}\n");
        }
    }
    out += "rules (with default parameters):\n";
    for (field, shown) in &program.listing {
        out += &format!("  {field}: {shown}\n");
    }
    for (side, rules) in [("long", &doc.long), ("short", &doc.short)] {
        let Some(r) = rules else { continue };
        let mut exits = Vec::new();
        for (what, l) in [
            ("stop_loss", &r.stop_loss),
            ("take_profit", &r.take_profit),
            ("trailing_stop", &r.trailing_stop),
        ] {
            if let Some(l) = l {
                exits.push(format!("{what} {l}"));
            }
        }
        if let Some(n) = &r.max_bars {
            exits.push(format!("max_bars {n}"));
        }
        if let Some(s) = &r.size {
            exits.push(format!("size {s}"));
        }
        if !exits.is_empty() {
            out += &format!("  {side} risk and sizing: {}\n", exits.join("; "));
        }
    }
    out += &format!(
        "compiled: {} nodes; warm-up: the first signal needs at least {} earlier bars\n",
        program.node_count(),
        program.warmup()
    );
    if program.references().is_empty() {
        out += "external data: none (prices only)\n";
    } else {
        let names: Vec<String> = program
            .references()
            .iter()
            .map(|r| r.series_name())
            .collect();
        out += &format!("external data: {}\n", names.join(", "));
    }
    out
}
