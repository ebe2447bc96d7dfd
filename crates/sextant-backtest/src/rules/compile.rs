//! Type-checks a definition's expressions and compiles them into a [`Program`]: one node per
//! distinct sub-expression (identical ones are shared), parameters folded into constants.

use super::doc::{Level, Num, ParamValue, RuleDoc, SideRules, SizeSpec};
use super::error::RuleError;
use super::parse::{parse_shared, BinOp, Expr, Span};
use super::plan::{Bin, Cross, Extreme, Lag, Node, Op, Price, RollingStd, Run, Slot};
use crate::indicators::{
    AdxState, AtrState, BollingerState, EmaState, IndicatorError, MacdState, MomState, ObvState,
    RocState, RsiState, SmaState, StdKind, StochState, WmaState, ZScoreState,
};
use crate::simulator::Sizer;
use crate::strategy::REGIME_LABELS;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Most nodes in one program.
pub const MAX_NODES: usize = 2_000;
/// Longest period or lag.
pub const MAX_PERIOD: usize = 100_000;

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
            Op::Open => Price::Open,
            Op::High => Price::High,
            Op::Low => Price::Low,
            Op::Close => Price::Close,
            Op::Volume => Price::Volume,
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
        let level =
            |c: &mut Self, field: &str, l: &Option<Level>| -> Result<Option<Distance>, RuleError> {
                l.as_ref()
                    .map(|l| c.level(&format!("{name}.{field}"), l))
                    .transpose()
            };
        let stop_loss = level(self, "stop_loss", &r.stop_loss)?;
        let take_profit = level(self, "take_profit", &r.take_profit)?;
        let trailing = level(self, "trailing_stop", &r.trailing_stop)?;
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

    fn level(&mut self, field: &str, l: &Level) -> Result<Distance, RuleError> {
        match (&l.pct, &l.atr) {
            (Some(p), None) => {
                if l.period.is_some() {
                    return Err(RuleError::field(
                        field,
                        "`period` goes with `atr`, not `pct`",
                    ));
                }
                let v = self.num(field, p)?;
                if !(v > 0.0 && v <= 10.0) {
                    return Err(RuleError::field(
                        format!("{field}.pct"),
                        format!("must be in (0, 10] (a fraction: 0.05 = 5 %), got {v}"),
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
                let state = AtrState::new(n)
                    .map_err(|e| RuleError::field(format!("{field}.period"), ind_err(e)))?;
                let (slot, _) = self.node(
                    key("atr", &[n as u64]),
                    Op::Atr(state),
                    1,
                    Ty::Num,
                    n,
                    format!("atr({n})"),
                );
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

    /// Adds (or finds) a node; `key` identifies it for sharing.
    fn node(
        &mut self,
        key: Key,
        op: Op,
        outputs: usize,
        ty: Ty,
        depth: usize,
        show: String,
    ) -> (Slot, Ty) {
        if let Some(&hit) = self.memo.get(&key) {
            return hit;
        }
        let out = self.width;
        self.width += outputs;
        self.nodes.push(Node { op, out });
        for _ in 0..outputs {
            self.depth.push(depth);
            self.show.push(show.clone());
        }
        self.memo.insert(key, (out, ty));
        (out, ty)
    }

    fn check_size(&self, src: Src<'_>, span: Span) -> Result<(), RuleError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(src.err(
                span,
                format!("the definition compiles to more than {MAX_NODES} nodes"),
            ));
        }
        Ok(())
    }

    fn constant(&mut self, v: f64, ty: Ty) -> (Slot, Ty) {
        let show = if !self.explain {
            String::new()
        } else if ty == Ty::Bool {
            (v != 0.0).to_string()
        } else {
            v.to_string()
        };
        let r = self.node(
            key("const", &[v.to_bits(), u64::from(ty == Ty::Bool)]),
            Op::Const(v),
            1,
            ty,
            0,
            show,
        );
        self.consts.insert(r.0, v);
        r
    }

    fn expr(&mut self, src: Src<'_>, e: &Expr) -> Result<(Slot, Ty), RuleError> {
        self.check_size(src, e.span())?;
        match e {
            Expr::Num(v, _) => Ok(self.constant(*v, Ty::Num)),
            Expr::Bool(b, _) => Ok(self.constant(f64::from(u8::from(*b)), Ty::Bool)),
            Expr::Str(_, span) => Err(src.err(
                *span,
                "a string is only an argument of ml_proba, in_regime, regime_prob, feature or series",
            )),
            Expr::Ident(name, span) => self.ident(src, name, *span),
            Expr::Neg(a, _) => {
                let a = self.typed(src, a, Ty::Num)?;
                Ok(self.node(
                    key("neg", &[a as u64]),
                    Op::Neg(a),
                    1,
                    Ty::Num,
                    self.depth[a],
                    self.shown(format_args!("-({})", self.show[a])),
                ))
            }
            Expr::Not(a, _) => {
                let a = self.typed(src, a, Ty::Bool)?;
                if let Some(v) = self.const_of(a) {
                    return Ok(self.constant(f64::from(u8::from(v == 0.0)), Ty::Bool));
                }
                Ok(self.node(
                    key("not", &[a as u64]),
                    Op::Not(a),
                    1,
                    Ty::Bool,
                    self.depth[a],
                    self.shown(format_args!("not ({})", self.show[a])),
                ))
            }
            Expr::Binary(op, l, r, _) => self.binary(src, *op, l, r),
            Expr::Lag(x, k, _) => {
                let (a, ty) = self.expr(src, x)?;
                let k = self.const_int(src, k, 0)?;
                if k == 0 {
                    return Ok((a, ty));
                }
                let lag = Lag {
                    k,
                    src: a,
                    hist: Default::default(),
                };
                Ok(self.node(
                    key("lag", &[a as u64, k as u64]),
                    Op::Lag(lag),
                    1,
                    ty,
                    self.depth[a] + k,
                    self.shown(format_args!("({})[{k}]", self.show[a])),
                ))
            }
            Expr::Call(name, args, span) => self.call(src, name, args, *span),
        }
    }

    fn typed(&mut self, src: Src<'_>, e: &Expr, want: Ty) -> Result<Slot, RuleError> {
        let (s, ty) = self.expr(src, e)?;
        if ty != want {
            let (w, g) = match want {
                Ty::Num => ("a number", "a condition"),
                Ty::Bool => ("a condition (true or false)", "a number"),
            };
            return Err(src.err(e.span(), format!("expected {w}, found {g}")));
        }
        Ok(s)
    }

    fn ident(&mut self, src: Src<'_>, name: &str, span: Span) -> Result<(Slot, Ty), RuleError> {
        let price = match name {
            "open" => Some(Op::Open),
            "high" => Some(Op::High),
            "low" => Some(Op::Low),
            "close" => Some(Op::Close),
            "volume" => Some(Op::Volume),
            _ => None,
        };
        if let Some(op) = price {
            return Ok(self.node(
                key("price", &[op_code(&op)]),
                op,
                1,
                Ty::Num,
                0,
                name.to_string(),
            ));
        }
        if let Some(v) = self.values.get(name) {
            return Ok(match v {
                ParamValue::Bool(b) => self.constant(f64::from(u8::from(*b)), Ty::Bool),
                v => self.constant(v.as_f64(), Ty::Num),
            });
        }
        if let Some(&hit) = self.lets.get(name) {
            return Ok(hit);
        }
        if let Some(text) = self.doc.lets.get(name) {
            if !self.in_progress.insert(name.to_string()) {
                return Err(src.err(span, format!("`{name}` is defined in terms of itself")));
            }
            let field = format!("let.{name}");
            let inner = Src {
                field: &field,
                text,
            };
            let e = parse_shared(text).map_err(|e| {
                inner.err(
                    Span {
                        start: e.at,
                        end: e.at + 1,
                    },
                    e.message,
                )
            })?;
            let r = self.expr(inner, &e)?;
            self.in_progress.remove(name);
            self.lets.insert(name.to_string(), r);
            return Ok(r);
        }
        let mut known: Vec<&str> = vec!["open", "high", "low", "close", "volume"];
        known.extend(self.doc.params.keys().map(String::as_str));
        known.extend(self.doc.lets.keys().map(String::as_str));
        Err(src.err(
            span,
            format!("unknown name `{name}`; known: {}", known.join(", ")),
        ))
    }

    fn binary(
        &mut self,
        src: Src<'_>,
        op: BinOp,
        l: &Expr,
        r: &Expr,
    ) -> Result<(Slot, Ty), RuleError> {
        let (bin, operand, result) = match op {
            BinOp::Add => (Bin::Add, Ty::Num, Ty::Num),
            BinOp::Sub => (Bin::Sub, Ty::Num, Ty::Num),
            BinOp::Mul => (Bin::Mul, Ty::Num, Ty::Num),
            BinOp::Div => (Bin::Div, Ty::Num, Ty::Num),
            BinOp::Lt => (Bin::Lt, Ty::Num, Ty::Bool),
            BinOp::Le => (Bin::Le, Ty::Num, Ty::Bool),
            BinOp::Gt => (Bin::Gt, Ty::Num, Ty::Bool),
            BinOp::Ge => (Bin::Ge, Ty::Num, Ty::Bool),
            BinOp::Eq => (Bin::Eq, Ty::Num, Ty::Bool),
            BinOp::Ne => (Bin::Ne, Ty::Num, Ty::Bool),
            BinOp::And => (Bin::And, Ty::Bool, Ty::Bool),
            BinOp::Or => (Bin::Or, Ty::Bool, Ty::Bool),
        };
        let a = self.typed(src, l, operand)?;
        let b = self.typed(src, r, operand)?;
        Ok(self.bin(bin, a, b, result, op.symbol()))
    }

    /// `text` when explaining, else nothing (format arguments are not rendered).
    fn shown(&self, text: std::fmt::Arguments<'_>) -> String {
        if self.explain {
            text.to_string()
        } else {
            String::new()
        }
    }

    /// The value of a constant slot.
    fn const_of(&self, s: Slot) -> Option<f64> {
        self.consts.get(&s).copied()
    }

    fn bin(&mut self, bin: Bin, a: Slot, b: Slot, ty: Ty, symbol: &str) -> (Slot, Ty) {
        // Fold constants (parameters are constants here): `allow_short and x` with
        // allow_short false is false, so the short side it guards costs nothing per bar.
        match (bin, self.const_of(a), self.const_of(b)) {
            (_, Some(x), Some(y)) => return self.constant(super::plan::binary(bin, x, y), ty),
            (Bin::And, Some(x), None) | (Bin::Or, Some(x), None) => {
                let absorbing = (bin == Bin::And) == (x == 0.0);
                return if absorbing {
                    self.constant(f64::from(u8::from(bin == Bin::Or)), ty)
                } else {
                    (b, ty)
                };
            }
            (Bin::And, None, Some(y)) | (Bin::Or, None, Some(y)) => {
                let absorbing = (bin == Bin::And) == (y == 0.0);
                return if absorbing {
                    self.constant(f64::from(u8::from(bin == Bin::Or)), ty)
                } else {
                    (a, ty)
                };
            }
            _ => {}
        }
        let depth = self.depth[a].max(self.depth[b]);
        let show = self.shown(format_args!("({} {symbol} {})", self.show[a], self.show[b]));
        self.node(
            key("bin", &[bin as u64, a as u64, b as u64]),
            bin.op(a, b),
            1,
            ty,
            depth,
            show,
        )
    }

    /// A compile-time whole number (literal or integer parameter) in `min..=MAX_PERIOD`.
    fn const_int(&self, src: Src<'_>, e: &Expr, min: usize) -> Result<usize, RuleError> {
        let v = match e {
            Expr::Num(v, _) => *v,
            Expr::Ident(name, _) => match self.values.get(name) {
                Some(ParamValue::Int(i)) => *i as f64,
                Some(_) => return Err(src.err(e.span(), format!("`{name}` must be an integer parameter here"))),
                None => return Err(src.err(e.span(), format!("`{name}` is not a parameter; a period or lag is a whole number or an integer parameter"))),
            },
            _ => return Err(src.err(e.span(), "a period or lag is a whole number or an integer parameter")),
        };
        if v.fract() != 0.0 || v < min as f64 || v > MAX_PERIOD as f64 {
            return Err(src.err(
                e.span(),
                format!("must be a whole number in {min}..={MAX_PERIOD}, got {v}"),
            ));
        }
        Ok(v as usize)
    }

    /// A compile-time number (literal or numeric parameter).
    fn const_num(&self, src: Src<'_>, e: &Expr) -> Result<f64, RuleError> {
        match e {
            Expr::Num(v, _) => Ok(*v),
            Expr::Ident(name, _) => match self.values.get(name) {
                Some(ParamValue::Int(i)) => Ok(*i as f64),
                Some(ParamValue::Float(f)) => Ok(*f),
                _ => Err(src.err(e.span(), format!("`{name}` is not a numeric parameter"))),
            },
            _ => Err(src.err(e.span(), "expected a number or a numeric parameter")),
        }
    }

    fn string(&self, src: Src<'_>, e: &Expr) -> Result<String, RuleError> {
        match e {
            Expr::Str(s, span) => {
                if s.is_empty() || s.len() > 128 || s.chars().any(|c| c.is_control()) {
                    return Err(src.err(*span, "a name of 1-128 printable characters"));
                }
                Ok(s.clone())
            }
            _ => Err(src.err(e.span(), "expected a double-quoted name")),
        }
    }

    fn external(&mut self, r: Reference) -> usize {
        let name = r.series_name();
        self.references.push(r);
        match self.externals.iter().position(|e| *e == name) {
            Some(i) => i,
            None => {
                self.externals.push(name);
                self.externals.len() - 1
            }
        }
    }

    fn call(
        &mut self,
        src: Src<'_>,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Result<(Slot, Ty), RuleError> {
        let name_span = Span {
            start: span.start,
            end: span.start + name.len(),
        };
        let Some(arity) = arity(name) else {
            return Err(src.err(
                name_span,
                format!(
                    "unknown function `{name}`; the functions are {}",
                    FUNCTIONS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if args.len() != arity {
            return Err(src.err(
                span,
                format!(
                    "{name} takes {arity} argument{}, got {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        let at = |e: IndicatorError| src.err(span, ind_err(e));
        // One-series window indicators: f(x, n).
        let window = |c: &mut Self,
                      make: &dyn Fn(usize, Slot) -> Result<Op, IndicatorError>,
                      lookback: &dyn Fn(usize) -> usize|
         -> Result<(Slot, Ty), RuleError> {
            let x = c.typed(src, &args[0], Ty::Num)?;
            let n = c.const_int(src, &args[1], 1)?;
            let op = make(n, x).map_err(at)?;
            let depth = c.depth[x] + lookback(n);
            let show = c.shown(format_args!("{name}({}, {n})", c.show[x]));
            Ok(c.node(
                key(static_name(name), &[x as u64, n as u64]),
                op,
                1,
                Ty::Num,
                depth,
                show,
            ))
        };
        match name {
            "sma" | "mean" => window(self, &|n, x| Ok(Op::Sma(SmaState::new(n)?, x)), &|n| n - 1),
            "ema" => window(self, &|n, x| Ok(Op::Ema(EmaState::new(n)?, x)), &|n| n - 1),
            "wma" => window(self, &|n, x| Ok(Op::Wma(WmaState::new(n)?, x)), &|n| n - 1),
            "rsi" => window(self, &|n, x| Ok(Op::Rsi(RsiState::new(n)?, x)), &|n| n),
            "roc" => window(self, &|n, x| Ok(Op::Roc(RocState::new(n)?, x)), &|n| n),
            "mom" => window(self, &|n, x| Ok(Op::Mom(MomState::new(n)?, x)), &|n| n),
            "zscore" => window(
                self,
                &|n, x| Ok(Op::ZScore(ZScoreState::new(n, StdKind::Population)?, x)),
                &|n| n - 1,
            ),
            "std" => window(self, &|n, x| Ok(Op::Std(RollingStd::new(n), x)), &|n| n - 1),
            "highest" => window(
                self,
                &|n, x| Ok(Op::Extreme(Extreme::new(true, n), x)),
                &|n| n - 1,
            ),
            "lowest" => window(
                self,
                &|n, x| Ok(Op::Extreme(Extreme::new(false, n), x)),
                &|n| n - 1,
            ),
            "bb_upper" | "bb_middle" | "bb_lower" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                let n = self.const_int(src, &args[1], 1)?;
                let k = self.const_num(src, &args[2])?;
                let st = BollingerState::new(n, k, k).map_err(at)?;
                let (base, _) = self.node(
                    key("bb", &[x as u64, n as u64, k.to_bits()]),
                    Op::Bollinger(st, x),
                    3,
                    Ty::Num,
                    self.depth[x] + n - 1,
                    String::new(),
                );
                let i = ["bb_upper", "bb_middle", "bb_lower"]
                    .iter()
                    .position(|b| *b == name)
                    .unwrap_or(0);
                self.show[base + i] =
                    self.shown(format_args!("{name}({}, {n}, {k})", self.show[x]));
                Ok((base + i, Ty::Num))
            }
            "macd" | "macd_signal" | "macd_hist" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                let f = self.const_int(src, &args[1], 1)?;
                let s = self.const_int(src, &args[2], 1)?;
                let g = self.const_int(src, &args[3], 1)?;
                let st = MacdState::new(f, s, g).map_err(at)?;
                let (base, _) = self.node(
                    key("macd", &[x as u64, f as u64, s as u64, g as u64]),
                    Op::Macd(st, x),
                    3,
                    Ty::Num,
                    self.depth[x] + s + g - 2,
                    String::new(),
                );
                let i = ["macd", "macd_signal", "macd_hist"]
                    .iter()
                    .position(|b| *b == name)
                    .unwrap_or(0);
                self.show[base + i] =
                    self.shown(format_args!("{name}({}, {f}, {s}, {g})", self.show[x]));
                Ok((base + i, Ty::Num))
            }
            "atr" => {
                let n = self.const_int(src, &args[0], 1)?;
                let st = AtrState::new(n).map_err(at)?;
                Ok(self.node(
                    key("atr", &[n as u64]),
                    Op::Atr(st),
                    1,
                    Ty::Num,
                    n,
                    format!("atr({n})"),
                ))
            }
            "adx" | "plus_di" | "minus_di" => {
                let n = self.const_int(src, &args[0], 2)?;
                let st = AdxState::new(n).map_err(at)?;
                let (base, _) = self.node(
                    key("adx", &[n as u64]),
                    Op::Adx(st),
                    3,
                    Ty::Num,
                    2 * n - 1,
                    String::new(),
                );
                let i = ["adx", "plus_di", "minus_di"]
                    .iter()
                    .position(|b| *b == name)
                    .unwrap_or(0);
                self.show[base + i] = self.shown(format_args!("{name}({n})"));
                Ok((base + i, Ty::Num))
            }
            "stoch_k" | "stoch_d" => {
                let a = self.const_int(src, &args[0], 1)?;
                let b = self.const_int(src, &args[1], 1)?;
                let d = self.const_int(src, &args[2], 1)?;
                let st = StochState::new(a, b, d).map_err(at)?;
                let (base, _) = self.node(
                    key("stoch", &[a as u64, b as u64, d as u64]),
                    Op::Stoch(st),
                    2,
                    Ty::Num,
                    a + b + d - 3,
                    String::new(),
                );
                let i = usize::from(name == "stoch_d");
                self.show[base + i] = self.shown(format_args!("{name}({a}, {b}, {d})"));
                Ok((base + i, Ty::Num))
            }
            "obv" => Ok(self.node(
                key("obv", &[]),
                Op::Obv(ObvState::new()),
                1,
                Ty::Num,
                0,
                "obv()".into(),
            )),
            "crossover" | "crossunder" => {
                let a = self.typed(src, &args[0], Ty::Num)?;
                let b = self.typed(src, &args[1], Ty::Num)?;
                let up = name == "crossover";
                let depth = self.depth[a].max(self.depth[b]) + 1;
                let show = self.shown(format_args!("{name}({}, {})", self.show[a], self.show[b]));
                Ok(self.node(
                    key(static_name(name), &[a as u64, b as u64]),
                    Op::Cross(Cross {
                        up,
                        a,
                        b,
                        prev: None,
                    }),
                    1,
                    Ty::Bool,
                    depth,
                    show,
                ))
            }
            "rising" | "falling" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                let n = self.const_int(src, &args[1], 1)?;
                let run = Run {
                    up: name == "rising",
                    n,
                    src: x,
                    prev: f64::NAN,
                    count: 0,
                };
                let show = self.shown(format_args!("{name}({}, {n})", self.show[x]));
                Ok(self.node(
                    key(static_name(name), &[x as u64, n as u64]),
                    Op::Run(run),
                    1,
                    Ty::Bool,
                    self.depth[x] + n,
                    show,
                ))
            }
            "abs" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                Ok(self.node(
                    key("abs", &[x as u64]),
                    Op::Abs(x),
                    1,
                    Ty::Num,
                    self.depth[x],
                    self.shown(format_args!("abs({})", self.show[x])),
                ))
            }
            "min" | "max" => {
                let a = self.typed(src, &args[0], Ty::Num)?;
                let b = self.typed(src, &args[1], Ty::Num)?;
                let bin = if name == "min" { Bin::Min } else { Bin::Max };
                let depth = self.depth[a].max(self.depth[b]);
                let show = self.shown(format_args!("{name}({}, {})", self.show[a], self.show[b]));
                Ok(self.node(
                    key("bin", &[bin as u64, a as u64, b as u64]),
                    bin.op(a, b),
                    1,
                    Ty::Num,
                    depth,
                    show,
                ))
            }
            "ml_proba" | "series" | "feature" => {
                let s = self.string(src, &args[0])?;
                let r = match name {
                    "ml_proba" => Reference::MlProba(s),
                    "series" => Reference::Series(s),
                    _ => {
                        let (view, column) = s.split_once('.').unwrap_or(("technical", &s));
                        if !super::doc::is_name(view) || !super::doc::is_name(column) {
                            return Err(src.err(
                                args[0].span(),
                                "a feature is \"column\" (of the technical view) or \"view.column\"",
                            ));
                        }
                        Reference::Feature {
                            view: view.to_string(),
                            column: column.to_string(),
                        }
                    }
                };
                let show = self.shown(format_args!("{name}({:?})", r.series_name()));
                let i = self.external(r);
                Ok(self.node(key("ext", &[i as u64]), Op::Ext(i), 1, Ty::Num, 0, show))
            }
            "in_regime" | "regime_prob" => {
                let model = self.string(src, &args[0])?;
                let label = self.string(src, &args[1])?;
                let Some(code) = REGIME_LABELS.iter().position(|l| *l == label) else {
                    return Err(src.err(
                        args[1].span(),
                        format!(
                            "unknown regime {label:?}; the regimes are {}",
                            REGIME_LABELS.join(", ")
                        ),
                    ));
                };
                let show = self.shown(format_args!("{name}({model:?}, {label:?})"));
                if name == "regime_prob" {
                    let i = self.external(Reference::RegimeProb { model, label });
                    return Ok(self.node(key("ext", &[i as u64]), Op::Ext(i), 1, Ty::Num, 0, show));
                }
                let i = self.external(Reference::Regime(model));
                Ok(self.node(
                    key("regime", &[i as u64, code as u64]),
                    Op::CodeIs(i, code as f64),
                    1,
                    Ty::Bool,
                    0,
                    show,
                ))
            }
            _ => Err(src.err(name_span, format!("unknown function `{name}`"))),
        }
    }
}

/// What identifies a node for sharing: its kind and up to five numbers (input slots,
/// periods, the bits of a constant), with no allocation.
type Key = (&'static str, [u64; 5]);

fn key(kind: &'static str, parts: &[u64]) -> Key {
    let mut k = [u64::MAX; 5];
    for (d, p) in k.iter_mut().zip(parts) {
        *d = *p;
    }
    (kind, k)
}

/// The `'static` name of a known function (the call was checked against [`FUNCTIONS`]).
fn static_name(name: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("?", |(n, _)| *n)
}

fn op_code(op: &Op) -> u64 {
    match op {
        Op::Open => 0,
        Op::High => 1,
        Op::Low => 2,
        Op::Close => 3,
        _ => 4,
    }
}

/// Every function with its number of arguments.
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("sma", 2),
    ("mean", 2),
    ("ema", 2),
    ("wma", 2),
    ("rsi", 2),
    ("roc", 2),
    ("mom", 2),
    ("zscore", 2),
    ("std", 2),
    ("highest", 2),
    ("lowest", 2),
    ("bb_upper", 3),
    ("bb_middle", 3),
    ("bb_lower", 3),
    ("macd", 4),
    ("macd_signal", 4),
    ("macd_hist", 4),
    ("atr", 1),
    ("adx", 1),
    ("plus_di", 1),
    ("minus_di", 1),
    ("stoch_k", 3),
    ("stoch_d", 3),
    ("obv", 0),
    ("crossover", 2),
    ("crossunder", 2),
    ("rising", 2),
    ("falling", 2),
    ("abs", 1),
    ("min", 2),
    ("max", 2),
    ("ml_proba", 1),
    ("feature", 1),
    ("in_regime", 2),
    ("regime_prob", 2),
    ("series", 1),
];

fn arity(name: &str) -> Option<usize> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Removes the nodes that no root reads, directly or through other nodes (nodes come in
/// dependency order, so one backward pass finds them).
fn prune(nodes: &mut Vec<Node>, roots: &[Slot]) {
    let width = nodes
        .iter()
        .map(|n| n.out + outputs(&n.op))
        .max()
        .unwrap_or(0);
    let mut live = vec![false; width];
    for &r in roots {
        live[r] = true;
    }
    let mut keep = vec![false; nodes.len()];
    for (i, n) in nodes.iter().enumerate().rev() {
        if (n.out..n.out + outputs(&n.op)).any(|s| live[s]) {
            keep[i] = true;
            for s in inputs(&n.op) {
                live[s] = true;
            }
        }
    }
    let mut i = 0;
    nodes.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

fn outputs(op: &Op) -> usize {
    match op {
        Op::Bollinger(..) | Op::Macd(..) | Op::Adx(_) => 3,
        Op::Stoch(_) => 2,
        _ => 1,
    }
}

fn inputs(op: &Op) -> Vec<Slot> {
    match op {
        Op::Neg(a) | Op::Abs(a) | Op::Not(a) => vec![*a],
        Op::Add(a, b)
        | Op::Sub(a, b)
        | Op::Mul(a, b)
        | Op::Div(a, b)
        | Op::Min(a, b)
        | Op::Max(a, b)
        | Op::Lt(a, b)
        | Op::Le(a, b)
        | Op::Gt(a, b)
        | Op::Ge(a, b)
        | Op::Eq(a, b)
        | Op::Ne(a, b)
        | Op::And(a, b)
        | Op::Or(a, b) => vec![*a, *b],
        Op::Sma(_, a)
        | Op::Ema(_, a)
        | Op::Wma(_, a)
        | Op::Rsi(_, a)
        | Op::Roc(_, a)
        | Op::Mom(_, a)
        | Op::ZScore(_, a)
        | Op::Std(_, a)
        | Op::Extreme(_, a)
        | Op::Bollinger(_, a)
        | Op::Macd(_, a) => vec![*a],
        Op::Cross(c) => vec![c.a, c.b],
        Op::Run(r) => vec![r.src],
        Op::Lag(l) => vec![l.src],
        Op::Open
        | Op::High
        | Op::Low
        | Op::Close
        | Op::Volume
        | Op::Ext(_)
        | Op::CodeIs(..)
        | Op::Const(_)
        | Op::Atr(_)
        | Op::Adx(_)
        | Op::Stoch(_)
        | Op::Obv(_) => vec![],
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
