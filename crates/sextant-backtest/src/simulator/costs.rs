//! Cost and sizing arithmetic shared by the simulator and the sweep engine.
//!
//! The sweep must reproduce the simulator's final equity exactly, so both call these functions
//! instead of re-deriving the formulas; the order of floating-point operations here is part of
//! the contract (it follows the reference libraries the golden tests compare with).

use serde::{Deserialize, Serialize};

/// Commission and slippage. Commission is charged on each fill as
/// `|qty| * price * commission_pct + commission_fixed` (price after slippage); slippage moves a
/// buy's price up and a sell's price down by `slippage_bps` basis points.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Costs {
    /// Fraction of the notional per fill, e.g. `0.002` for 0.2% per side.
    pub commission_pct: f64,
    /// Cash per fill.
    pub commission_fixed: f64,
    /// Basis points added to a buy's price and taken off a sell's.
    pub slippage_bps: f64,
}

/// How "all-in" turns cash into a quantity. The two reference libraries differ in rounding only,
/// which changes whole-share sizes at boundaries, so the golden tests need both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingConvention {
    /// vectorbt 1.2 `buy_nb`: `qty = ((cash - fixed) / (1 + pct)) / price`, floored to the share
    /// step with Python's float `//`.
    #[default]
    VectorBt,
    /// backtesting.py 0.6.6 `_Broker._process_orders` with `size = 1 - ε`:
    /// `qty = int(cash·(1-ε) // (price + (fixed + (1-ε)·price·pct) / (1-ε)))`. Note that it
    /// divides the fixed commission by the (fractional) order size, i.e. it treats it as if it
    /// were charged per share when sizing, though it is charged once per fill.
    BacktestingPy,
}

/// The result of an all-in buy: units, commission, and cash spent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllIn {
    /// Units bought; 0 when the cash buys nothing, and then `fee` and `cash_out` are 0 too.
    pub qty: f64,
    /// Commission of the buy, in account currency.
    pub fee: f64,
    /// Cash the buy costs: `qty · price + fee`, except that unrounded
    /// [`SizingConvention::VectorBt`] all-in spends exactly the cash given.
    pub cash_out: f64,
}

impl Costs {
    /// The fill price of a buy at quoted `price`.
    #[inline]
    pub fn buy_price(&self, price: f64) -> f64 {
        if self.slippage_bps == 0.0 {
            price
        } else {
            price * (1.0 + self.slippage_bps / 10_000.0)
        }
    }

    /// The fill price of a sell at quoted `price`.
    #[inline]
    pub fn sell_price(&self, price: f64) -> f64 {
        if self.slippage_bps == 0.0 {
            price
        } else {
            price * (1.0 - self.slippage_bps / 10_000.0)
        }
    }

    /// Commission of one fill (`price` already includes slippage).
    #[inline]
    pub fn fee(&self, qty: f64, price: f64) -> f64 {
        qty.abs() * price * self.commission_pct + self.commission_fixed
    }

    /// The largest quantity that `cash` buys at fill price `price` (0 when none), with its
    /// commission and the cash it costs (quantity × price + commission, except that vectorbt's
    /// unrounded all-in spends exactly `cash`).
    #[inline]
    pub fn all_in_buy(&self, cash: f64, price: f64, whole: bool, conv: SizingConvention) -> AllIn {
        const NONE: AllIn = AllIn {
            qty: 0.0,
            fee: 0.0,
            cash_out: 0.0,
        };
        if cash.is_nan() || cash <= 0.0 {
            return NONE;
        }
        match conv {
            SizingConvention::VectorBt => {
                let max_req = vbt_add(cash, -self.commission_fixed) / (1.0 + self.commission_pct);
                if max_req <= 0.0 {
                    return NONE;
                }
                let acq = max_req / price;
                if !whole {
                    return AllIn {
                        qty: acq,
                        fee: cash - max_req,
                        cash_out: cash,
                    };
                }
                // `acq // 1` in Python is exactly `floor(acq)` for a finite acq >= 0 (fmod by 1
                // is the exact fractional part), without the cost of a software fmod.
                self.bought(acq.floor(), price)
            }
            SizingConvention::BacktestingPy => {
                let frac = 1.0 - f64::EPSILON;
                let per_unit =
                    price + (self.commission_fixed + frac * price * self.commission_pct) / frac;
                let avail = cash * 1.0 * frac;
                let qty = if whole {
                    py_floordiv(avail, per_unit).trunc()
                } else {
                    avail / per_unit
                };
                // backtesting.py cancels an order whose cost exceeds the margin available.
                if qty <= 0.0 || qty * per_unit > cash {
                    return NONE;
                }
                self.bought(qty, price)
            }
        }
    }

    #[inline]
    fn bought(&self, qty: f64, price: f64) -> AllIn {
        if qty <= 0.0 {
            return AllIn {
                qty: 0.0,
                fee: 0.0,
                cash_out: 0.0,
            };
        }
        let notional = qty * price;
        let fee = notional * self.commission_pct + self.commission_fixed;
        AllIn {
            qty,
            fee,
            cash_out: notional + fee,
        }
    }

    /// Cash received for selling `qty` at fill price `price`, net of commission.
    #[inline]
    pub fn sell_proceeds(&self, qty: f64, price: f64) -> f64 {
        let notional = qty * price;
        vbt_add(
            notional,
            -(notional * self.commission_pct + self.commission_fixed),
        )
    }
}

/// `cash - cost`, snapped to exactly 0 when the two agree to 1e-9 relative (vectorbt's `add_nb`),
/// so that spending "all" cash leaves 0 rather than a rounding residue of either sign.
#[inline]
pub fn spend(cash: f64, cost: f64) -> f64 {
    vbt_add(cash, -cost)
}

const REL_TOL: f64 = 1e-9;
const ABS_TOL: f64 = 1e-12;

#[inline]
fn is_close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() || a.is_infinite() || b.is_infinite() {
        return false;
    }
    a == b || (a - b).abs() <= (REL_TOL * a.abs().max(b.abs())).max(ABS_TOL)
}

#[inline]
fn np_sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// vectorbt's `add_nb`: `a + b`, or exactly 0 when the sum is zero up to tolerance.
#[inline]
pub fn vbt_add(a: f64, b: f64) -> f64 {
    let zero = if np_sign(a) != np_sign(b) {
        is_close(a.abs(), b.abs())
    } else {
        is_close(a + b, 0.0)
    };
    if zero {
        0.0
    } else {
        a + b
    }
}

/// Python's (and numba's) float floor division `a // b` (CPython `float_floor_div`), which is not
/// `(a / b).floor()`: it divides `a - fmod(a, b)`, so it never rounds up across an integer.
#[inline]
pub fn py_floordiv(a: f64, b: f64) -> f64 {
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0_f64.copysign(a / b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floordiv_matches_python() {
        assert_eq!(py_floordiv(7.0, 2.0), 3.0);
        assert_eq!(py_floordiv(-7.0, 2.0), -4.0);
        // 1 // 0.1 is 9.0 in Python although 1 / 0.1 rounds to 10.0.
        assert_eq!(py_floordiv(1.0, 0.1), 9.0);
        assert_eq!((1.0_f64 / 0.1).floor(), 10.0);
    }

    #[test]
    fn floordiv_by_one_is_floor() {
        for a in [
            0.0,
            0.5,
            1.0,
            80.999_999_999_999_99,
            123_456.789,
            4_503_599_627_370_495.5,
        ] {
            assert_eq!(py_floordiv(a, 1.0), a.floor(), "{a}");
        }
    }

    #[test]
    fn vbt_add_snaps_to_zero() {
        assert_eq!(vbt_add(10_000.0, -10_000.000_000_001), 0.0);
        assert_eq!(vbt_add(10_000.0, -9_999.0), 1.0);
        assert_eq!(vbt_add(0.0, 0.0), 0.0);
    }

    #[test]
    fn all_in_conventions() {
        let c = Costs {
            commission_pct: 0.002,
            ..Costs::default()
        };
        // 10000 / 1.002 / 124.31 = 80.28..
        let a = c.all_in_buy(10_000.0, 124.31, true, SizingConvention::VectorBt);
        assert_eq!(a.qty, 80.0);
        assert_eq!(a.cash_out, 80.0 * 124.31 + 80.0 * 124.31 * 0.002);
        let b = c.all_in_buy(10_000.0, 124.31, true, SizingConvention::BacktestingPy);
        assert_eq!(b.qty, 80.0);
        let f = c.all_in_buy(10_000.0, 124.31, false, SizingConvention::VectorBt);
        assert!((f.qty * 124.31 * 1.002 - 10_000.0).abs() < 1e-9);
        assert_eq!(f.cash_out, 10_000.0);
        assert_eq!(
            c.all_in_buy(0.0, 1.0, true, SizingConvention::VectorBt).qty,
            0.0
        );
    }
}
