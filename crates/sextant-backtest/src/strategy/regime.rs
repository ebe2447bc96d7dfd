//! `regime_switch`: one parameter set of a library strategy per market regime, or flat.
//!
//! Every configured arm (the strategy built with that regime's parameters) runs on every bar
//! against its own virtual book, so its indicators and its stance (long, short, flat) are
//! current when its regime begins; the real position follows the arm of the regime labelled on
//! the bar (flat for a regime without parameters). The label is read from the `regime` series
//! through the same `≤ t` view as prices: a label stored for day `t` must be computable from
//! data up to `t`'s close (the regime service's forward filter is). Library strategies speak
//! in targets, which is all an arm's book follows; an arm may not be `regime_switch` itself nor
//! a strategy that needs its own external series.

use super::{held, Strategy};
use crate::simulator::{BarView, Context, Intent, Target};

/// The external series that carries the regime code of each bar.
pub const REGIME_SERIES: &str = "regime";

/// Regime names by code: the `regime` series holds the index into this list (NaN: no label).
pub const REGIME_LABELS: [&str; 4] = ["bull", "bear", "sideways", "high_vol"];

struct Arm {
    strategy: Box<dyn Strategy>,
    /// Signed units the arm would hold (±1 or 0 per symbol).
    book: Vec<f64>,
    scratch: Vec<Intent>,
}

/// See the module documentation.
pub(crate) struct RegimeSwitch {
    /// One arm per regime code; `None` holds no position in that regime.
    arms: Vec<Option<Arm>>,
}

impl RegimeSwitch {
    pub fn new(arms: Vec<Option<Box<dyn Strategy>>>) -> Self {
        RegimeSwitch {
            arms: arms
                .into_iter()
                .map(|a| {
                    a.map(|strategy| Arm {
                        strategy,
                        book: Vec::new(),
                        scratch: Vec::new(),
                    })
                })
                .collect(),
        }
    }
}

fn regime_code(view: &BarView<'_>, symbol: usize) -> Option<usize> {
    let v = *view.series(symbol, REGIME_SERIES)?.last()?;
    (v.is_finite() && v >= 0.0 && (v as usize) < REGIME_LABELS.len()).then_some(v as usize)
}

impl Strategy for RegimeSwitch {
    fn name(&self) -> &str {
        "regime_switch"
    }

    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let view = *ctx.view();
        let n = view.n_symbols();
        for arm in self.arms.iter_mut().flatten() {
            if arm.book.len() != n {
                arm.book = vec![0.0; n];
            }
            arm.scratch.clear();
            {
                let mut shadow =
                    Context::new(view, &arm.book, ctx.cash(), ctx.equity(), &mut arm.scratch);
                arm.strategy.on_bar(&mut shadow);
            }
            for intent in &arm.scratch {
                if let Intent::Target { symbol, target } = intent {
                    if let Some(b) = arm.book.get_mut(*symbol) {
                        *b = match target {
                            Target::Long => 1.0,
                            Target::Short => -1.0,
                            Target::Flat => 0.0,
                        };
                    }
                }
            }
        }
        for s in 0..n {
            if !view.has_bar(s) {
                continue;
            }
            // No label yet (before the model's first fit): stay as we are.
            let Some(code) = regime_code(&view, s) else {
                continue;
            };
            let want = match self.arms.get(code).and_then(Option::as_ref) {
                Some(arm) => held(arm.book[s]),
                None => Target::Flat,
            };
            if want != held(ctx.position(s)) {
                ctx.target(s, want);
            }
        }
    }
}
