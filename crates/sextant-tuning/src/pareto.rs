//! Pareto dominance, non-dominated sorting and crowding distance (Deb et al. 2002).

/// Whether loss vector `a` dominates `b`: no worse in every objective, better in one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Fronts of loss vectors, best first: indices into `losses`, each front in index order.
pub fn non_dominated_fronts(losses: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n = losses.len();
    let mut dominated_by = vec![0usize; n];
    let mut dominates_list: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in 0..n {
            if i != j && dominates(&losses[i], &losses[j]) {
                dominates_list[i].push(j);
            } else if i != j && dominates(&losses[j], &losses[i]) {
                dominated_by[i] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| dominated_by[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominates_list[i] {
                dominated_by[j] -= 1;
                if dominated_by[j] == 0 {
                    next.push(j);
                }
            }
        }
        next.sort_unstable();
        fronts.push(std::mem::take(&mut current));
        current = next;
    }
    fronts
}

/// Crowding distance of each member of one front (same order); the extremes of each objective
/// get infinity.
#[allow(clippy::needless_range_loop)] // objectives index the columns of a small matrix
pub fn crowding_distance(losses: &[Vec<f64>], front: &[usize]) -> Vec<f64> {
    let m = front.len();
    let mut dist = vec![0.0; m];
    if m <= 2 {
        return vec![f64::INFINITY; m];
    }
    let k = losses[front[0]].len();
    for obj in 0..k {
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| losses[front[a]][obj].total_cmp(&losses[front[b]][obj]));
        let (lo, hi) = (
            losses[front[order[0]]][obj],
            losses[front[order[m - 1]]][obj],
        );
        // An objective that is the same for the whole front says nothing (Optuna skips it).
        if hi > lo {
            dist[order[0]] = f64::INFINITY;
            dist[order[m - 1]] = f64::INFINITY;
            for w in 1..m - 1 {
                let gap = losses[front[order[w + 1]]][obj] - losses[front[order[w - 1]]][obj];
                dist[order[w]] += gap / (hi - lo);
            }
        }
    }
    dist
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_fronts() {
        let l = vec![
            vec![1.0, 4.0],
            vec![2.0, 2.0],
            vec![3.0, 3.0],
            vec![4.0, 1.0],
            vec![5.0, 5.0],
        ];
        let f = non_dominated_fronts(&l);
        assert_eq!(f, vec![vec![0, 1, 3], vec![2], vec![4]]);
        let d = crowding_distance(&l, &f[0]);
        assert!(d[0].is_infinite() && d[2].is_infinite() && d[1].is_finite());
        assert!(dominates(&[1.0, 1.0], &[1.0, 2.0]) && !dominates(&[1.0, 2.0], &[1.0, 2.0]));
    }
}
