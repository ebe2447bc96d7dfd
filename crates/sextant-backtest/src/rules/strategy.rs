//! Runs a [`Program`] in the simulator: one copy of its nodes per symbol, stepped on the
//! symbol's bars; targets from the rules; stops and targets as the simulator's own stop and
//! limit orders.

use super::compile::{Distance, Program, SidePlan};
use super::plan::{step, Bar, Node};
use crate::simulator::{Context, OrderKind, OrderRequest, Quantity, Side, Target};
use crate::strategy::{held, Strategy};

/// A user-defined strategy (see the [`super`] module docs for its semantics).
#[derive(Debug, Clone)]
pub struct RuleStrategy {
    program: Program,
    books: Vec<Book>,
    /// The slots of the long and short entry and exit conditions.
    signals: [Option<usize>; 4],
    /// Whether a held position needs attention on a bar without a signal (time exit, trail).
    managed: bool,
}

#[derive(Debug, Clone)]
struct Book {
    nodes: Vec<Node>,
    vals: Vec<f64>,
    /// Stop/limit exits may be resting for this symbol.
    exits_live: bool,
    /// The bar (of the run's timeline) of the signal that opened the side now held.
    entry_bar: usize,
    /// Current protective stop and profit target levels (NaN: none).
    stop: f64,
    take: f64,
}

impl RuleStrategy {
    /// A strategy running `program`.
    pub fn new(program: Program) -> Self {
        let (l, s) = (program.long.as_ref(), program.short.as_ref());
        let signals = [
            l.map(|p| p.entry),
            s.map(|p| p.entry),
            l.and_then(|p| p.exit),
            s.and_then(|p| p.exit),
        ];
        let managed = [l, s]
            .into_iter()
            .flatten()
            .any(|p| p.max_bars.is_some() || p.trailing.is_some());
        RuleStrategy {
            program,
            books: Vec::new(),
            signals,
            managed,
        }
    }

    /// The compiled program.
    pub fn program(&self) -> &Program {
        &self.program
    }
}

/// `close` moved by `d` away from the position (`toward_loss`) or in its favour, for a long
/// (`sign` = 1) or a short (`sign` = −1): `close·(1 ∓ p)` for a fraction (the very float a
/// backtesting.py user's `sl=close*(1-p)` gives), `close ∓ k·ATR`. NaN while an ATR is
/// undefined.
fn level(vals: &[f64], close: f64, d: Distance, sign: f64, toward_loss: bool) -> f64 {
    let dir = if toward_loss { -sign } else { sign };
    let v = match d {
        Distance::Pct(p) => close * (1.0 + dir * p),
        Distance::Atr(k, slot) => close + dir * (k * vals[slot]),
    };
    if v.is_finite() && v > 0.0 {
        v
    } else {
        f64::NAN
    }
}

impl Book {
    /// Submits the resting exits at the current levels.
    fn place_exits(&mut self, ctx: &mut Context<'_>, s: usize, long: bool) {
        let side = if long { Side::Sell } else { Side::Buy };
        let mut placed = false;
        if !self.stop.is_nan() {
            ctx.submit(OrderRequest {
                symbol: s,
                side,
                kind: OrderKind::Stop(self.stop),
                qty: Quantity::Position,
            });
            placed = true;
        }
        if !self.take.is_nan() {
            ctx.submit(OrderRequest {
                symbol: s,
                side,
                kind: OrderKind::Limit(self.take),
                qty: Quantity::Position,
            });
            placed = true;
        }
        self.exits_live |= placed;
    }

    /// Moves a trailing stop of the held position to `close ∓ distance` if that is tighter,
    /// replacing the resting exits.
    fn trail(
        &mut self,
        ctx: &mut Context<'_>,
        s: usize,
        current: Option<&SidePlan>,
        pos: f64,
        bar: &Bar<'_>,
    ) {
        let Some(d) = current.and_then(|p| p.trailing) else {
            return;
        };
        let sign = if pos > 0.0 { 1.0 } else { -1.0 };
        let next = tighter(
            self.stop,
            level(&self.vals, bar.close(), d, sign, true),
            sign,
        );
        if next != self.stop && !next.is_nan() {
            self.stop = next;
            if self.exits_live {
                ctx.cancel(Some(s));
            }
            self.place_exits(ctx, s, pos > 0.0);
        }
    }

    /// The stop for a position opened (or held) at `close`: the tighter of the fixed stop and
    /// the trailing one.
    fn stop_at(&self, plan: &SidePlan, close: f64, sign: f64) -> f64 {
        let fixed = plan
            .stop_loss
            .map_or(f64::NAN, |d| level(&self.vals, close, d, sign, true));
        let trail = plan
            .trailing
            .map_or(f64::NAN, |d| level(&self.vals, close, d, sign, true));
        tighter(fixed, trail, sign)
    }
}

/// The tighter of two stops (higher for a long, lower for a short), ignoring NaN.
fn tighter(a: f64, b: f64, sign: f64) -> f64 {
    match (a.is_nan(), b.is_nan()) {
        (true, _) => b,
        (_, true) => a,
        _ if sign > 0.0 => a.max(b),
        _ => a.min(b),
    }
}

impl Strategy for RuleStrategy {
    fn name(&self) -> &str {
        &self.program.name
    }

    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let view = *ctx.view();
        let program = &self.program;
        if self.books.len() != view.n_symbols() {
            let book = Book {
                nodes: program.nodes.clone(),
                vals: {
                    let mut v = vec![f64::NAN; program.width];
                    for &(slot, c) in &program.consts {
                        v[slot] = c;
                    }
                    v
                },
                exits_live: false,
                entry_bar: 0,
                stop: f64::NAN,
                take: f64::NAN,
            };
            self.books = vec![book; view.n_symbols()];
        }
        let t = view.t();
        for (s, book) in self.books.iter_mut().enumerate() {
            if !view.has_bar(s) {
                continue;
            }
            let bar = Bar {
                view: &view,
                symbol: s,
            };
            step(
                &mut book.nodes,
                &mut book.vals,
                &program.prices,
                &program.externals,
                &bar,
            );
            let pos = ctx.position(s);
            if pos == 0.0 && book.exits_live {
                // The position these exits protected is gone (closed by one of them, by an
                // exit rule, or never filled).
                ctx.cancel(Some(s));
                book.exits_live = false;
            }
            let on = |slot: Option<usize>| slot.is_some_and(|s| book.vals[s] != 0.0);
            let [le, se, lx, sx] = self.signals;
            let mut target = if on(le) {
                Some(Target::Long)
            } else if on(se) {
                Some(Target::Short)
            } else if (pos > 0.0 && on(lx)) || (pos < 0.0 && on(sx)) {
                Some(Target::Flat)
            } else {
                None
            };
            let now = held(pos);
            if !self.managed && target.is_none_or(|x| x == now) {
                // Nothing to change and nothing that moves with time (no time exit, no trail).
                continue;
            }
            let current = match now {
                Target::Long => program.long.as_ref(),
                Target::Short => program.short.as_ref(),
                Target::Flat => None,
            };
            if target.is_none_or(|t| t == now) {
                let expired = current
                    .and_then(|p| p.max_bars)
                    .is_some_and(|n| t - book.entry_bar >= n);
                if expired {
                    target = Some(Target::Flat);
                }
            }
            match target.filter(|x| *x != now) {
                Some(Target::Flat) => {
                    // The exit's market order comes first at the next fill, before any stop
                    // or target within that bar's range (backtesting.py queues
                    // `position.close()` at the front too), so the resting exits go now.
                    if book.exits_live {
                        ctx.cancel(Some(s));
                        book.exits_live = false;
                    }
                    ctx.target(s, Target::Flat);
                }
                Some(side) => {
                    let (plan, sign) = match side {
                        Target::Long => (program.long.as_ref(), 1.0),
                        _ => (program.short.as_ref(), -1.0),
                    };
                    let Some(plan) = plan else { continue };
                    if now != Target::Flat && book.exits_live {
                        // A flip: the old side's exits must not act on the new position.
                        ctx.cancel(Some(s));
                        book.exits_live = false;
                    }
                    match plan.sizer {
                        Some(sizer) => ctx.target_sized(s, side, sizer),
                        None => ctx.target(s, side),
                    }
                    book.entry_bar = t;
                    book.stop = book.stop_at(plan, bar.close(), sign);
                    book.take = plan
                        .take_profit
                        .map_or(f64::NAN, |d| level(&book.vals, bar.close(), d, sign, false));
                    book.place_exits(ctx, s, side == Target::Long);
                }
                None => book.trail(ctx, s, current, pos, &bar),
            }
        }
    }
}
