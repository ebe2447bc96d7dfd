//! A compiled definition: a flat list of nodes evaluated in order once per bar, each with
//! O(1) streaming state, writing into a slot vector. Nothing walks a syntax tree or looks up a
//! name per bar.
//!
//! Values are `f64`; booleans are 1 and 0, and a comparison with a missing value (NaN, e.g. an
//! indicator still warming up) is false. Window nodes follow the indicators' rule: a
//! non-finite input is a missing bar, skipped. `x[k]` counts bars of the symbol, missing or not.

use crate::indicators::{
    AdxState, AtrState, BollingerState, EmaState, Hlc, Indicator, MacdState, MomState, ObvState,
    PriceVolume, RocState, RsiState, SmaState, StochState, WmaState, ZScoreState,
};
use crate::simulator::BarView;
use std::collections::VecDeque;

/// An index into the slot vector.
pub(crate) type Slot = usize;

/// Arithmetic and comparison operators of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

/// One node: what it computes and where it writes (multi-output nodes write consecutive slots).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub op: Op,
    pub out: Slot,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// A price of the bar (its slot is filled before the nodes are stepped).
    Price(Price),
    /// An external series by its index in the plan's list of names.
    Ext(usize),
    /// 1 when the external (regime code) series equals the code.
    CodeIs(usize, f64),
    Const(f64),
    Neg(Slot),
    Abs(Slot),
    Not(Slot),
    // One variant per binary operator (not `Bin(op, a, b)`): one dispatch per node per bar.
    Add(Slot, Slot),
    Sub(Slot, Slot),
    Mul(Slot, Slot),
    Div(Slot, Slot),
    Min(Slot, Slot),
    Max(Slot, Slot),
    Lt(Slot, Slot),
    Le(Slot, Slot),
    Gt(Slot, Slot),
    Ge(Slot, Slot),
    Eq(Slot, Slot),
    Ne(Slot, Slot),
    And(Slot, Slot),
    Or(Slot, Slot),
    /// Comparisons with a constant kept in the node.
    LtK(Slot, f64),
    LeK(Slot, f64),
    GtK(Slot, f64),
    GeK(Slot, f64),
    Sma(SmaState, Slot),
    Ema(EmaState, Slot),
    Wma(WmaState, Slot),
    Rsi(RsiState, Slot),
    Roc(RocState, Slot),
    Mom(MomState, Slot),
    ZScore(ZScoreState, Slot),
    Std(RollingStd, Slot),
    Extreme(Extreme, Slot),
    /// Upper, middle, lower.
    Bollinger(BollingerState, Slot),
    /// Line, signal, histogram.
    Macd(MacdState, Slot),
    Atr(AtrState),
    /// ADX, +DI, −DI.
    Adx(AdxState),
    /// Slow %K, slow %D.
    Stoch(StochState),
    Obv(ObvState),
    Cross(Cross),
    Run(Run),
    Lag(Lag),
}

/// Strict crossover of `a` over (`up`) or under `b`, as the library strategies: the previous
/// pair is the last one where both were defined.
#[derive(Debug, Clone)]
pub(crate) struct Cross {
    pub up: bool,
    pub a: Slot,
    pub b: Slot,
    pub prev: Option<(f64, f64)>,
}

/// `rising(x, n)` / `falling(x, n)`: `x` rose (fell) strictly on each of the last `n` bars.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub up: bool,
    pub n: usize,
    pub src: Slot,
    pub prev: f64,
    pub count: usize,
}

/// `x[k]`: the value `k` bars ago (NaN before there were `k` earlier bars).
#[derive(Debug, Clone)]
pub(crate) struct Lag {
    pub k: usize,
    pub src: Slot,
    pub hist: VecDeque<f64>,
    /// The value before there were `k` earlier bars: NaN for a number, false (0) for a
    /// condition, so a lagged condition warming up is false like a comparison with NaN.
    pub warm: f64,
}

/// Highest (`max`) or lowest value of the last `n` valid inputs.
#[derive(Debug, Clone)]
pub(crate) struct Extreme {
    pub max: bool,
    pub n: usize,
    seen: usize,
    /// (input number, value), values monotonic from the front.
    deque: VecDeque<(usize, f64)>,
}

impl Extreme {
    pub fn new(max: bool, n: usize) -> Self {
        Extreme {
            max,
            n,
            seen: 0,
            deque: VecDeque::new(),
        }
    }

    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        let i = self.seen;
        self.seen += 1;
        while let Some(&(_, v)) = self.deque.back() {
            let dominated = if self.max { v <= x } else { v >= x };
            if !dominated {
                break;
            }
            self.deque.pop_back();
        }
        self.deque.push_back((i, x));
        while self.deque.front().is_some_and(|&(j, _)| j + self.n <= i) {
            self.deque.pop_front();
        }
        if self.seen >= self.n {
            self.deque.front().map_or(f64::NAN, |&(_, v)| v)
        } else {
            f64::NAN
        }
    }
}

/// Population standard deviation of the last `n` valid inputs (TA-Lib's STDDEV with one
/// deviation: running sums of values and squares).
#[derive(Debug, Clone)]
pub(crate) struct RollingStd {
    n: usize,
    window: VecDeque<f64>,
    sum: f64,
    sumsq: f64,
}

impl RollingStd {
    pub fn new(n: usize) -> Self {
        RollingStd {
            n,
            window: VecDeque::new(),
            sum: 0.0,
            sumsq: 0.0,
        }
    }

    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        self.window.push_back(x);
        self.sum += x;
        self.sumsq += x * x;
        if self.window.len() > self.n {
            if let Some(old) = self.window.pop_front() {
                self.sum -= old;
                self.sumsq -= old * old;
            }
        }
        if self.window.len() < self.n {
            return f64::NAN;
        }
        let n = self.n as f64;
        let mean = self.sum / n;
        (self.sumsq / n - mean * mean).max(0.0).sqrt()
    }
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The bar a plan steps on: one symbol at the view's last bar; prices are read when a node
/// asks for them.
pub(crate) struct Bar<'a> {
    pub view: &'a BarView<'a>,
    pub symbol: usize,
}

pub(crate) fn last(s: &[f64]) -> f64 {
    s.last().copied().unwrap_or(f64::NAN)
}

impl Bar<'_> {
    pub fn close(&self) -> f64 {
        last(self.view.close(self.symbol))
    }
    fn hlc(&self) -> Hlc {
        let s = self.symbol;
        Hlc::new(
            last(self.view.high(s)),
            last(self.view.low(s)),
            self.close(),
        )
    }
}

/// A price column of the bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Price {
    Open,
    High,
    Low,
    Close,
    Volume,
}

impl Price {
    /// This price of `symbol` at the view's last bar.
    fn read(self, view: &BarView<'_>, symbol: usize) -> f64 {
        last(match self {
            Price::Open => view.open(symbol),
            Price::High => view.high(symbol),
            Price::Low => view.low(symbol),
            Price::Close => view.close(symbol),
            Price::Volume => view.volume(symbol),
        })
    }
}

/// Evaluates every node once for one bar, in order, writing `vals` (after filling the price
/// slots).
#[inline]
pub(crate) fn step(
    nodes: &mut [Node],
    vals: &mut [f64],
    prices: &[(Slot, Price)],
    externals: &[String],
    bar: &Bar<'_>,
) {
    let (view, sym) = (bar.view, bar.symbol);
    for &(slot, p) in prices {
        vals[slot] = p.read(view, sym);
    }
    for node in nodes.iter_mut() {
        let o = node.out;
        let v = match &mut node.op {
            Op::Price(p) => p.read(view, sym),
            Op::Ext(i) => bar
                .view
                .series(bar.symbol, &externals[*i])
                .map_or(f64::NAN, last),
            Op::CodeIs(i, code) => {
                let v = bar
                    .view
                    .series(bar.symbol, &externals[*i])
                    .map_or(f64::NAN, last);
                flag(v == *code)
            }
            Op::Const(c) => *c,
            Op::Neg(a) => -vals[*a],
            Op::Abs(a) => vals[*a].abs(),
            Op::Not(a) => flag(vals[*a] == 0.0),
            Op::Add(a, b) => vals[*a] + vals[*b],
            Op::Sub(a, b) => vals[*a] - vals[*b],
            Op::Mul(a, b) => vals[*a] * vals[*b],
            Op::Div(a, b) => vals[*a] / vals[*b],
            Op::Min(a, b) => binary(Bin::Min, vals[*a], vals[*b]),
            Op::Max(a, b) => binary(Bin::Max, vals[*a], vals[*b]),
            Op::Lt(a, b) => flag(vals[*a] < vals[*b]),
            Op::Le(a, b) => flag(vals[*a] <= vals[*b]),
            Op::Gt(a, b) => flag(vals[*a] > vals[*b]),
            Op::Ge(a, b) => flag(vals[*a] >= vals[*b]),
            Op::Eq(a, b) => flag(vals[*a] == vals[*b]),
            Op::Ne(a, b) => binary(Bin::Ne, vals[*a], vals[*b]),
            Op::And(a, b) => flag(vals[*a] != 0.0 && vals[*b] != 0.0),
            Op::Or(a, b) => flag(vals[*a] != 0.0 || vals[*b] != 0.0),
            Op::LtK(a, k) => flag(vals[*a] < *k),
            Op::LeK(a, k) => flag(vals[*a] <= *k),
            Op::GtK(a, k) => flag(vals[*a] > *k),
            Op::GeK(a, k) => flag(vals[*a] >= *k),
            Op::Sma(s, a) => opt(s.update(vals[*a])),
            Op::Ema(s, a) => opt(s.update(vals[*a])),
            Op::Wma(s, a) => opt(s.update(vals[*a])),
            Op::Rsi(s, a) => opt(s.update(vals[*a])),
            Op::Roc(s, a) => opt(s.update(vals[*a])),
            Op::Mom(s, a) => opt(s.update(vals[*a])),
            Op::ZScore(s, a) => opt(s.update(vals[*a])),
            Op::Std(s, a) => s.update(vals[*a]),
            Op::Extreme(s, a) => s.update(vals[*a]),
            Op::Bollinger(s, a) => {
                let b = s.update(vals[*a]);
                vals[o + 1] = b.map_or(f64::NAN, |b| b.middle);
                vals[o + 2] = b.map_or(f64::NAN, |b| b.lower);
                b.map_or(f64::NAN, |b| b.upper)
            }
            Op::Macd(s, a) => {
                let m = s.update(vals[*a]);
                vals[o + 1] = m.map_or(f64::NAN, |m| m.signal);
                vals[o + 2] = m.map_or(f64::NAN, |m| m.hist);
                m.map_or(f64::NAN, |m| m.macd)
            }
            Op::Atr(s) => opt(s.update(bar.hlc())),
            Op::Adx(s) => {
                let d = s.update(bar.hlc());
                vals[o + 1] = d.map_or(f64::NAN, |d| d.plus_di);
                vals[o + 2] = d.map_or(f64::NAN, |d| d.minus_di);
                d.and_then(|d| d.adx).unwrap_or(f64::NAN)
            }
            Op::Stoch(s) => {
                let k = s.update(bar.hlc());
                vals[o + 1] = k.map_or(f64::NAN, |k| k.slowd);
                k.map_or(f64::NAN, |k| k.slowk)
            }
            Op::Obv(s) => opt(s.update(PriceVolume::new(bar.close(), last(view.volume(sym))))),
            Op::Cross(c) => {
                let now = (vals[c.a], vals[c.b]);
                if now.0.is_nan() || now.1.is_nan() {
                    0.0
                } else {
                    let hit = c.prev.is_some_and(|p| {
                        if c.up {
                            p.0 < p.1 && now.0 > now.1
                        } else {
                            p.0 > p.1 && now.0 < now.1
                        }
                    });
                    c.prev = Some(now);
                    flag(hit)
                }
            }
            Op::Run(r) => {
                let x = vals[r.src];
                let moved = if r.up { x > r.prev } else { x < r.prev };
                r.count = if moved { r.count + 1 } else { 0 };
                r.prev = x;
                flag(r.count >= r.n)
            }
            Op::Lag(l) => {
                l.hist.push_back(vals[l.src]);
                if l.hist.len() > l.k + 1 {
                    l.hist.pop_front();
                }
                if l.hist.len() == l.k + 1 {
                    l.hist[0]
                } else {
                    l.warm
                }
            }
        };
        vals[o] = v;
    }
}

impl Bin {
    /// The plan node computing `a op b`.
    pub(crate) fn op(self, a: Slot, b: Slot) -> Op {
        match self {
            Bin::Add => Op::Add(a, b),
            Bin::Sub => Op::Sub(a, b),
            Bin::Mul => Op::Mul(a, b),
            Bin::Div => Op::Div(a, b),
            Bin::Min => Op::Min(a, b),
            Bin::Max => Op::Max(a, b),
            Bin::Lt => Op::Lt(a, b),
            Bin::Le => Op::Le(a, b),
            Bin::Gt => Op::Gt(a, b),
            Bin::Ge => Op::Ge(a, b),
            Bin::Eq => Op::Eq(a, b),
            Bin::Ne => Op::Ne(a, b),
            Bin::And => Op::And(a, b),
            Bin::Or => Op::Or(a, b),
        }
    }
}

#[inline]
pub(crate) fn binary(op: Bin, a: f64, b: f64) -> f64 {
    match op {
        Bin::Add => a + b,
        Bin::Sub => a - b,
        Bin::Mul => a * b,
        Bin::Div => a / b,
        // NaN in, NaN out (f64::min would return the other operand).
        Bin::Min if a.is_nan() || b.is_nan() => f64::NAN,
        Bin::Max if a.is_nan() || b.is_nan() => f64::NAN,
        Bin::Min => a.min(b),
        Bin::Max => a.max(b),
        Bin::Lt => flag(a < b),
        Bin::Le => flag(a <= b),
        Bin::Gt => flag(a > b),
        Bin::Ge => flag(a >= b),
        Bin::Eq => flag(a == b),
        Bin::Ne => flag(!a.is_nan() && !b.is_nan() && a != b),
        Bin::And => flag(a != 0.0 && b != 0.0),
        Bin::Or => flag(a != 0.0 || b != 0.0),
    }
}

/// Removes the nodes that no root reads, directly or through other nodes (nodes come in
/// dependency order, so one backward pass finds them).
pub(crate) fn prune(nodes: &mut Vec<Node>, roots: &[Slot]) {
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
        Op::LtK(a, _) | Op::LeK(a, _) | Op::GtK(a, _) | Op::GeK(a, _) => vec![*a],
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
        Op::Price(_)
        | Op::Ext(_)
        | Op::CodeIs(..)
        | Op::Const(_)
        | Op::Atr(_)
        | Op::Adx(_)
        | Op::Stoch(_)
        | Op::Obv(_) => vec![],
    }
}
