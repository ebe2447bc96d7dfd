//! Every point of the grid, in order: the first parameter varies slowest.

use crate::space::{Assignment, Distribution, SearchSpace};

/// The value of grid point `index` for each parameter (conditionals included; the study drops
/// the inactive ones). `None` once the grid is exhausted or when a parameter is a continuous
/// real.
pub fn point(space: &SearchSpace, index: u64) -> Option<Assignment> {
    let total = space.grid_size()?;
    if index >= total {
        return None;
    }
    let mut rest = index;
    let mut out = Assignment::new();
    for p in space.params.iter().rev() {
        let n = p.distribution.cardinality()?;
        let k = rest % n;
        rest /= n;
        out.insert(p.name.clone(), value(&p.distribution, k));
    }
    Some(out)
}

fn value(d: &Distribution, k: u64) -> f64 {
    match *d {
        Distribution::Int { low, step, .. } => (low + k as i64 * step) as f64,
        Distribution::Float {
            low, step: Some(s), ..
        } => d.snap(low + k as f64 * s),
        Distribution::Float { low, .. } => low,
        Distribution::Categorical { .. } => k as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Param;

    #[test]
    fn enumerates_in_order() {
        let space = SearchSpace {
            params: vec![
                Param {
                    name: "a".into(),
                    distribution: Distribution::Int {
                        low: 1,
                        high: 2,
                        step: 1,
                        log: false,
                    },
                    condition: None,
                },
                Param {
                    name: "b".into(),
                    distribution: Distribution::Categorical {
                        choices: vec![serde_json::json!("x"), serde_json::json!("y")],
                    },
                    condition: None,
                },
            ],
        };
        let pts: Vec<_> = (0..5).map(|i| point(&space, i)).collect();
        assert_eq!(pts[0].as_ref().unwrap()["a"], 1.0);
        assert_eq!(pts[1].as_ref().unwrap()["b"], 1.0);
        assert_eq!(pts[2].as_ref().unwrap()["a"], 2.0);
        assert!(pts[4].is_none());
    }
}
