//! Type-checks a definition's expressions and compiles them into a [`Program`]: one node per
//! distinct sub-expression (identical ones are shared), parameters folded into constants.

use super::doc::{Level, Num, ParamValue, RuleDoc, SideRules, SizeSpec};
use super::error::RuleError;
use super::parse::{parse_shared, BinOp, Expr, Span};
use super::plan::{prune, Bin, Cross, Extreme, Lag, Node, Op, Price, RollingStd, Run, Slot};
use crate::indicators::{
    AdxState, AtrState, BollingerState, EmaState, IndicatorError, MacdState, MomState, ObvState,
    RocState, RsiState, SmaState, StdKind, StochState, WmaState, ZScoreState,
};
use crate::simulator::Sizer;
use crate::strategy::REGIME_LABELS;
use std::collections::{BTreeMap, HashMap, HashSet};

mod call;
mod expr;

pub use call::FUNCTIONS;
use expr::Key;

/// Most nodes in one program.
pub const MAX_NODES: usize = 2_000;
/// Longest period or lag.
pub const MAX_PERIOD: usize = 100_000;
/// Deepest recursion while compiling, `let` expansions included.
pub const MAX_NESTING: usize = 256;

/// What an expression yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A number per bar.
    Num,
    /// True or false per bar.
    Bool,
}

/// External data a definition reads, which the backtest service attaches to the bars.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    /// `ml_proba("model")`: a trained model's point-in-time probability of an up move.
    MlProba(String),
    /// `in_regime("model", "label")`: a fitted regime model's forward-filtered label.
    Regime(String),
    /// `regime_prob("model", "label")`: the forward filter's probability of that regime.
    RegimeProb {
        /// The regime model.
        model: String,
        /// The regime (`bull`, `bear`, `sideways`, `high_vol`).
        label: String,
    },
    /// `series("name")`: any series attached under this name.
    Series(String),
    /// `feature("view.column")` (or `feature("column")` of the `technical` view): a feature
    /// store value, computed point in time from bars up to each bar.
    Feature {
        /// The feature view (`technical`, …).
        view: String,
        /// The feature's column in the view.
        column: String,
    },
}

impl Reference {
    /// The name the series is attached under.
    pub fn series_name(&self) -> String {
        match self {
            Reference::MlProba(m) => format!("ml_proba:{m}"),
            Reference::Regime(m) => format!("regime:{m}"),
            Reference::RegimeProb { model, label } => format!("regime_prob:{model}:{label}"),
            Reference::Series(s) => s.clone(),
            Reference::Feature { view, column } => format!("feature:{view}.{column}"),
        }
    }
}

/// A distance for a stop or target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Distance {
    /// A fraction of the close.
    Pct(f64),
    /// A multiple of the ATR value in a slot.
    Atr(f64, Slot),
}

/// One side's compiled rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SidePlan {
    pub entry: Slot,
    pub exit: Option<Slot>,
    pub stop_loss: Option<Distance>,
    pub take_profit: Option<Distance>,
    pub trailing: Option<Distance>,
    pub max_bars: Option<usize>,
    pub sizer: Option<Sizer>,
}

/// A compiled definition, ready to run.
#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) name: String,
    pub(crate) nodes: Vec<Node>,
    /// Slots that hold a constant, written once rather than stepped.
    pub(crate) consts: Vec<(Slot, f64)>,
    /// Slots that hold a price of the current bar, filled before the nodes are stepped.
    pub(crate) prices: Vec<(Slot, Price)>,
    pub(crate) width: usize,
    pub(crate) externals: Vec<String>,
    pub(crate) long: Option<SidePlan>,
    pub(crate) short: Option<SidePlan>,
    references: Vec<Reference>,
    /// Readable form of each side's expressions, for `explain`.
    pub(crate) listing: Vec<(String, String)>,
    warmup: usize,
}

impl Program {
    /// The definition's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The external series the program reads.
    pub fn references(&self) -> &[Reference] {
        &self.references
    }
    /// Number of nodes stepped per bar, after sharing identical sub-expressions, folding
    /// constants and dropping what no rule reads.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    /// Bars of history the deepest expression needs before it can be defined (an upper bound
    /// from indicator lookbacks and lags; the first signal cannot come earlier).
    pub fn warmup(&self) -> usize {
        self.warmup
    }
}

struct Compiler<'a> {
    doc: &'a RuleDoc,
    values: &'a BTreeMap<String, ParamValue>,
    nodes: Vec<Node>,
    width: usize,
    memo: HashMap<Key, (Slot, Ty)>,
    /// Lookback of each slot.
    depth: Vec<usize>,
    /// Readable form of each slot.
    /// Readable form of each slot; empty strings unless `explain`.
    show: Vec<String>,
    /// Whether to build the readable forms (for `explain`; a run does not need them).
    explain: bool,
    /// Current recursion depth of `expr`, `let` expansions included.
    nesting: usize,
    lets: HashMap<String, (Slot, Ty)>,
    in_progress: HashSet<String>,
    externals: Vec<String>,
    references: Vec<Reference>,
    consts: HashMap<Slot, f64>,
}

/// Where in the document an expression comes from, with its text (for error positions).
#[derive(Clone, Copy)]
struct Src<'t> {
    field: &'t str,
    text: &'t str,
}

impl Src<'_> {
    fn err(&self, span: Span, message: impl Into<String>) -> RuleError {
        RuleError::at(self.field, self.text, (span.start, span.end), message)
    }
}

/// Compiles `doc` with parameter `values` (from [`RuleDoc::resolve`]) to run it.
pub fn compile(doc: &RuleDoc, values: &BTreeMap<String, ParamValue>) -> Result<Program, RuleError> {
    compile_with(doc, values, false)
}

/// [`compile`], keeping a readable form of each rule for [`super::explain`].
pub fn compile_explained(
    doc: &RuleDoc,
    values: &BTreeMap<String, ParamValue>,
) -> Result<Program, RuleError> {
    compile_with(doc, values, true)
}

fn compile_with(
    doc: &RuleDoc,
    values: &BTreeMap<String, ParamValue>,
    explain: bool,
) -> Result<Program, RuleError> {
    doc.check_shape()?;
    let mut c = Compiler {
        doc,
        values,
        nodes: Vec::new(),
        width: 0,
        memo: HashMap::new(),
        depth: Vec::new(),
        show: Vec::new(),
        explain,
        nesting: 0,
        lets: HashMap::new(),
        in_progress: HashSet::new(),
        externals: Vec::new(),
        references: Vec::new(),
        consts: HashMap::new(),
    };
    let mut listing = Vec::new();
    let long = match &doc.long {
        Some(r) => Some(c.side("long", r, &mut listing)?),
        None => None,
    };
    let short = match &doc.short {
        Some(r) => Some(c.side("short", r, &mut listing)?),
        None => None,
    };
    // A side whose entry is constantly false (e.g. guarded by a false `allow_short`) can never
    // be held: drop it, then every node no rule reads.
    let never = |c: &Compiler<'_>, side: &Option<SidePlan>| {
        side.as_ref()
            .is_some_and(|p| c.const_of(p.entry) == Some(0.0))
    };
    let long = if never(&c, &long) { None } else { long };
    let short = if never(&c, &short) { None } else { short };
    let mut roots = Vec::new();
    for side in [&long, &short].into_iter().flatten() {
        roots.push(side.entry);
        roots.extend(side.exit);
        for d in [side.stop_loss, side.take_profit, side.trailing]
            .into_iter()
            .flatten()
        {
            if let Distance::Atr(_, slot) = d {
                roots.push(slot);
            }
        }
    }
    prune(&mut c.nodes, &roots);
    // Constants are written once, prices read straight into their slots: neither is a node
    // dispatched per bar.
    let mut consts = Vec::new();
    let mut prices = Vec::new();
    c.nodes.retain(|n| {
        let price = match n.op {
            Op::Const(v) => {
                consts.push((n.out, v));
                return false;
            }
            Op::Price(p) => p,
            _ => return true,
        };
        prices.push((n.out, price));
        false
    });
    let mut warmup = 0;
    for side in [&long, &short].into_iter().flatten() {
        for s in std::iter::once(side.entry).chain(side.exit) {
            warmup = warmup.max(c.depth[s]);
        }
    }
    let mut references = c.references;
    references.sort();
    references.dedup();
    Ok(Program {
        name: doc.name.clone(),
        nodes: c.nodes,
        consts,
        prices,
        width: c.width,
        externals: c.externals,
        long,
        short,
        references,
        listing,
        warmup,
    })
}

fn ind_err(e: IndicatorError) -> String {
    e.to_string()
}

impl Compiler<'_> {
    fn side(
        &mut self,
        name: &str,
        r: &SideRules,
        listing: &mut Vec<(String, String)>,
    ) -> Result<SidePlan, RuleError> {
        let entry = self.condition(&format!("{name}.entry"), &r.entry)?;
        listing.push((format!("{name}.entry"), self.show[entry].clone()));
        let exit = match &r.exit {
            Some(text) => {
                let s = self.condition(&format!("{name}.exit"), text)?;
                listing.push((format!("{name}.exit"), self.show[s].clone()));
                Some(s)
            }
            None => None,
        };
        // A fraction that would put the level at or below zero is refused: a stop (or a short's
        // target) of 100 % or more could never be placed.
        let level = |c: &mut Self,
                     field: &str,
                     l: &Option<Level>,
                     below_one: bool|
         -> Result<Option<Distance>, RuleError> {
            l.as_ref()
                .map(|l| c.level(&format!("{name}.{field}"), l, below_one))
                .transpose()
        };
        let stop_loss = level(self, "stop_loss", &r.stop_loss, true)?;
        let take_profit = level(self, "take_profit", &r.take_profit, name == "short")?;
        let trailing = level(self, "trailing_stop", &r.trailing_stop, true)?;
        let max_bars = match &r.max_bars {
            Some(n) => {
                let field = format!("{name}.max_bars");
                let v = self.num(&field, n)?;
                if !(v.fract() == 0.0 && (1.0..=MAX_PERIOD as f64).contains(&v)) {
                    return Err(RuleError::field(
                        field,
                        format!("must be a whole number of bars in 1..={MAX_PERIOD}, got {v}"),
                    ));
                }
                Some(v as usize)
            }
            None => None,
        };
        let sizer = r
            .size
            .as_ref()
            .map(|s| self.sizer(&format!("{name}.size"), s))
            .transpose()?;
        Ok(SidePlan {
            entry,
            exit,
            stop_loss,
            take_profit,
            trailing,
            max_bars,
            sizer,
        })
    }

    fn condition(&mut self, field: &str, text: &str) -> Result<Slot, RuleError> {
        let src = Src { field, text };
        let e = parse_shared(text).map_err(|e| {
            src.err(
                Span {
                    start: e.at,
                    end: e.at + 1,
                },
                e.message,
            )
        })?;
        let (slot, ty) = self.expr(src, &e)?;
        if ty != Ty::Bool {
            return Err(src.err(e.span(), "a rule must be a condition (true or false), not a number: compare it, e.g. `x > 0`"));
        }
        Ok(slot)
    }

    fn num(&self, field: &str, n: &Num) -> Result<f64, RuleError> {
        match n {
            Num::Lit(v) => Ok(*v),
            Num::Param(p) => match self.values.get(p) {
                Some(ParamValue::Int(i)) => Ok(*i as f64),
                Some(ParamValue::Float(f)) => Ok(*f),
                Some(ParamValue::Bool(_)) => Err(RuleError::field(
                    field,
                    format!("parameter {p:?} is a boolean, not a number"),
                )),
                None => Err(RuleError::field(field, format!("unknown parameter {p:?}"))),
            },
        }
    }

    fn level(&mut self, field: &str, l: &Level, below_one: bool) -> Result<Distance, RuleError> {
        match (&l.pct, &l.atr) {
            (Some(p), None) => {
                if l.period.is_some() {
                    return Err(RuleError::field(
                        field,
                        "`period` goes with `atr`, not `pct`",
                    ));
                }
                let v = self.num(field, p)?;
                let ok = v > 0.0 && if below_one { v < 1.0 } else { v <= 10.0 };
                if !ok {
                    let range = if below_one { "(0, 1)" } else { "(0, 10]" };
                    return Err(RuleError::field(
                        format!("{field}.pct"),
                        format!("must be in {range} (a fraction: 0.05 = 5 %), got {v}"),
                    ));
                }
                Ok(Distance::Pct(v))
            }
            (None, Some(a)) => {
                let k = self.num(field, a)?;
                if !(k > 0.0 && k <= 100.0) {
                    return Err(RuleError::field(
                        format!("{field}.atr"),
                        format!("must be in (0, 100], got {k}"),
                    ));
                }
                let period = match &l.period {
                    Some(p) => self.num(field, p)?,
                    None => 14.0,
                };
                let n = period_of(period)
                    .map_err(|m| RuleError::field(format!("{field}.period"), m))?;
                let slot = self
                    .atr_node(n)
                    .map_err(|e| RuleError::field(format!("{field}.period"), ind_err(e)))?;
                Ok(Distance::Atr(k, slot))
            }
            _ => Err(RuleError::field(
                field,
                "give exactly one of `pct` and `atr`",
            )),
        }
    }

    fn sizer(&self, field: &str, s: &SizeSpec) -> Result<Sizer, RuleError> {
        let sizer = match s {
            SizeSpec::AllIn => Sizer::AllIn,
            SizeSpec::Fraction { fraction } => Sizer::FixedFraction {
                fraction: self.num(field, fraction)?,
            },
            SizeSpec::Units { units } => Sizer::FixedQuantity {
                units: self.num(field, units)?,
            },
            SizeSpec::VolTarget {
                annual_vol,
                lookback,
                max_leverage,
                periods_per_year,
            } => {
                let lb = self.num(field, lookback)?;
                if !(lb.fract() == 0.0 && (2.0..=10_000.0).contains(&lb)) {
                    return Err(RuleError::field(
                        format!("{field}.lookback"),
                        "must be a whole number in 2..=10000",
                    ));
                }
                Sizer::VolatilityTarget {
                    annual_vol: self.num(field, annual_vol)?,
                    lookback: lb as usize,
                    max_leverage: self.num(field, max_leverage)?,
                    periods_per_year: match periods_per_year {
                        Some(p) => self.num(field, p)?,
                        None => 252.0,
                    },
                }
            }
        };
        sizer
            .validate()
            .map_err(|e| RuleError::field(field, e.to_string()))?;
        Ok(sizer)
    }
}

fn period_of(v: f64) -> Result<usize, String> {
    if v.fract() == 0.0 && (1.0..=MAX_PERIOD as f64).contains(&v) {
        Ok(v as usize)
    } else {
        Err(format!(
            "must be a whole number in 1..={MAX_PERIOD}, got {v}"
        ))
    }
}
