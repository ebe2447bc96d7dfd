//! alphalens-reloaded 0.5.1 parity on real prices (golden written by
//! `scripts/golden/make_alphalens_golden.py`): the clean cells, rank IC per date and horizon,
//! mean demeaned return by quantile, quantile turnover and factor rank autocorrelation, to
//! 1e-9 relative (1e-12 absolute).

use crate::common;

use common::{assert_alphalens, golden, panel};

#[test]
fn signal_evaluation_equals_alphalens() {
    let g = golden();
    let rows = g["dates"].as_array().expect("dates").len();
    let (factor, prices) = (panel(&g, "factor", rows), panel(&g, "prices", rows));
    assert_alphalens(&g, &factor, &prices);
}
