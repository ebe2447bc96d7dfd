use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{purged_kfold, walk_forward};

#[test]
fn purged_kfold_never_leaks_over_random_configs() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for _ in 0..400 {
        let n = rng.gen_range(4..250);
        let max_h = rng.gen_range(0..15);
        let label_end: Vec<usize> = (0..n).map(|i| i + rng.gen_range(0..=max_h)).collect();
        let k = rng.gen_range(2..=n.min(10));
        let embargo = rng.gen_range(0..8);
        let splits = purged_kfold(&label_end, k, embargo).unwrap();
        assert_eq!(splits.len(), k);
        let mut covered: Vec<usize> = splits.iter().flat_map(|s| s.test.clone()).collect();
        covered.sort_unstable();
        assert_eq!(
            covered,
            (0..n).collect::<Vec<_>>(),
            "test folds partition the samples"
        );
        for s in &splits {
            let (a, b) = (s.test[0], *s.test.last().unwrap() + 1);
            assert_eq!(s.test, (a..b).collect::<Vec<_>>(), "contiguous");
            let e = s.test.iter().map(|&i| label_end[i]).max().unwrap();
            for &i in &s.train {
                assert!(!(a..b).contains(&i), "train ∩ test");
                assert!(
                    label_end[i] < a || i > e,
                    "label span of {i} overlaps test span [{a},{e}]"
                );
                assert!(
                    !(i >= b && i < b.max(e + 1) + embargo),
                    "{i} inside embargo"
                );
            }
            assert!(s.train.windows(2).all(|w| w[0] < w[1]));
        }
    }
}

#[test]
fn purged_kfold_keeps_clean_samples_and_rejects_bad_input() {
    // Horizon 0, no embargo: exactly complementary folds like KFold.
    let s = purged_kfold(&(0..10).collect::<Vec<_>>(), 5, 0).unwrap();
    assert_eq!(s[1].test, vec![2, 3]);
    assert_eq!(s[1].train, vec![0, 1, 4, 5, 6, 7, 8, 9]);
    // Horizon 2, embargo 1, fold [4,6): test span [4,7]; purge 2,3 (labels reach 4,5) and 6,7;
    // embargo 8.
    let le: Vec<usize> = (0..12).map(|i| i + 2).collect();
    let s = purged_kfold(&le, 6, 1).unwrap();
    assert_eq!(s[2].test, vec![4, 5]);
    assert_eq!(s[2].train, vec![0, 1, 9, 10, 11]);
    assert!(purged_kfold(&[], 2, 0).is_err());
    assert!(purged_kfold(&[0, 1], 3, 0).is_err());
    assert!(
        purged_kfold(&[0, 0, 1], 2, 0).is_err(),
        "label_end before sample"
    );
}

#[test]
fn walk_forward_trains_strictly_before_test_with_gap() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..300 {
        let n_splits = rng.gen_range(1..6);
        let test_size = rng.gen_range(1..20);
        let gap = rng.gen_range(0..10);
        let min_train = rng.gen_range(1..30);
        let n = min_train + gap + n_splits * test_size + rng.gen_range(0..50);
        let splits = walk_forward(n, n_splits, min_train, test_size, gap).unwrap();
        assert_eq!(splits.len(), n_splits);
        assert_eq!(*splits.last().unwrap().test.last().unwrap(), n - 1);
        for s in &splits {
            let first_test = s.test[0];
            assert!(s.train.len() >= min_train);
            assert!(
                s.train.iter().all(|&i| i + gap < first_test),
                "gap violated"
            );
            assert_eq!(s.test.len(), test_size);
        }
        assert!(
            splits
                .windows(2)
                .all(|w| w[0].train.len() < w[1].train.len()),
            "expanding"
        );
    }
    assert!(walk_forward(10, 3, 5, 2, 0).is_err());
    assert!(walk_forward(10, 0, 5, 2, 0).is_err());
    assert!(walk_forward(usize::MAX, usize::MAX, 1, 2, 0).is_err());
}
