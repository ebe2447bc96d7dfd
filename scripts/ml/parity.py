#!/usr/bin/env python3
"""Parity of sextant-ml's GBT with LightGBM, and of its TreeSHAP with the `shap` package.

Builds a leakage-free daily feature matrix from the bundled US-equities sample, trains
LightGBM (defaults, n_estimators=100) and the Rust GBT (GbtParams::default(), same matrix via
CSV), and compares test AUC and training time. Then loads the Rust model into
`shap.TreeExplainer` through its custom-tree dictionary and compares SHAP values.

Target (learnable: volatility clusters): is tomorrow's absolute close-to-close return above
its trailing 250-day median (median known at t)? Features use data up to t's close only.
Split by date: train 2000-2009, test 2010-2013; the last train day of each symbol is purged
because its label (t+1 return) falls in the test period.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

AUC_TOLERANCE = 0.01
SHAP_TOLERANCE = 1e-6


def build_matrix(csv_gz: str) -> pd.DataFrame:
    raw = pd.read_csv(csv_gz, parse_dates=["Date"]).sort_values(["Ticker", "Date"])
    frames = []
    for sym, d in raw.groupby("Ticker", sort=True):
        d = d.reset_index(drop=True)
        # Split/dividend adjustment factor applied to every price so returns have no split jumps.
        f = d["Adj Close"] / d["Close"]
        close, open_ = d["Adj Close"], d["Open"] * f
        r1 = np.log(close).diff()
        out = pd.DataFrame({"date": d["Date"], "symbol": sym})
        for k in (1, 5, 10, 20):
            out[f"ret_{k}"] = np.log(close).diff(k)
        out["vol_10"] = r1.rolling(10).std()
        out["vol_20"] = r1.rolling(20).std()
        out["hl_range"] = (d["High"] - d["Low"]) / d["Close"]
        out["gap"] = open_ / close.shift(1) - 1.0
        lv = np.log(d["Volume"].replace(0, np.nan))
        out["volume_z20"] = (lv - lv.rolling(20).mean()) / lv.rolling(20).std()
        absr = r1.abs()
        for k in range(1, 6):
            out[f"abs_ret_lag{k}"] = absr.shift(k - 1)
        med250 = absr.rolling(250, min_periods=250).median()
        # The label is relative to the trailing median, so give the learner the same yardstick
        # (still only data up to t): recent volatility relative to its own long-run level.
        out["vol_10_rel"] = out["vol_10"] / med250
        out["vol_20_rel"] = out["vol_20"] / med250
        out["abs_ret_5d_mean_rel"] = absr.rolling(5).mean() / med250
        nxt = absr.shift(-1)
        out["label"] = np.where(nxt > med250, 1.0, 0.0)
        out["next_date"] = d["Date"].shift(-1)
        out = out[med250.notna() & nxt.notna()]
        frames.append(out)
    m = pd.concat(frames, ignore_index=True)
    train = (m["date"].dt.year <= 2009) & (m["next_date"].dt.year <= 2009)  # purge boundary label
    test = m["date"].dt.year >= 2010
    m["split"] = np.where(train, "train", np.where(test, "test", "purged"))
    return m[m["split"] != "purged"].drop(columns=["next_date"]).reset_index(drop=True)


def lgb_split_sets(booster) -> list:
    """Per tree, the sorted (feature, threshold) pairs of its splits."""
    def walk(node, out):
        if "split_feature" in node:
            out.append((node["split_feature"], node["threshold"]))
            walk(node["left_child"], out)
            walk(node["right_child"], out)
        return out
    return [sorted(walk(t["tree_structure"], [])) for t in booster.dump_model()["tree_info"]]


def rust_split_sets(model: dict) -> list:
    return [sorted((f, th) for f, th, l in zip(t["feature"], t["threshold"], t["left"]) if l >= 0)
            for t in model["trees"]]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--keep", help="write the matrix and artefacts here instead of a temp dir")
    ap.add_argument("--shap-rows", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="timed fits per learner (best is reported)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)

    import lightgbm as lgb
    import shap
    from sklearn.metrics import roc_auc_score

    m = build_matrix(os.path.join(root, "data/sample/us-equities-daily-2000-2013.csv.gz"))
    features = [c for c in m.columns if c not in ("date", "symbol", "label", "split")]
    work = args.keep or tempfile.mkdtemp(prefix="sextant-ml-parity-")
    os.makedirs(work, exist_ok=True)
    csv_path = os.path.join(work, "matrix.csv")
    m[features + ["label", "split"]].to_csv(csv_path, index=False, float_format="%.17g")
    # Train LightGBM from the CSV as written, so both learners see bit-identical inputs.
    # round_trip: pandas' default fast parser can be off by ulps, the learners must see identical values.
    mm = pd.read_csv(csv_path, float_precision="round_trip")
    tr, te = mm[mm["split"] == "train"], mm[mm["split"] == "test"]
    xtr, ytr = tr[features].to_numpy(np.float64), tr["label"].to_numpy()
    xte, yte = te[features].to_numpy(np.float64), te["label"].to_numpy()
    print(f"matrix: {len(tr)} train rows, {len(te)} test rows, {len(features)} features, "
          f"train base rate {ytr.mean():.4f}, test base rate {yte.mean():.4f}")

    # Best of N fits for both learners: the machine is shared, the minimum is least noisy.
    lgb_seconds = float("inf")
    for _ in range(args.repeat):
        clf = lgb.LGBMClassifier(n_estimators=100, random_state=0, verbose=-1)
        t0 = time.perf_counter()
        clf.fit(xtr, ytr)
        lgb_seconds = min(lgb_seconds, time.perf_counter() - t0)
    # Also single-threaded, since the Rust fit only fans out on large leaves.
    lgb_seconds_1t = float("inf")
    for _ in range(args.repeat):
        one = lgb.LGBMClassifier(n_estimators=100, random_state=0, verbose=-1, n_jobs=1)
        t0 = time.perf_counter()
        one.fit(xtr, ytr)
        lgb_seconds_1t = min(lgb_seconds_1t, time.perf_counter() - t0)
    lgb_auc = roc_auc_score(yte, clf.predict_proba(xte)[:, 1])
    lgb_auc_train = roc_auc_score(ytr, clf.predict_proba(xtr)[:, 1])

    cmd = ["cargo", "run", "--quiet", "--release", "-p", "sextant-ml", "--example", "gbt_parity", "--",
           csv_path, "--out-dir", work, "--shap-rows", str(args.shap_rows), "--repeat", str(args.repeat)]
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        print("PARITY FAILED: the Rust example did not run")
        return 2
    rust = json.loads(res.stdout.strip().splitlines()[-1])
    d_auc = abs(rust["auc_test"] - lgb_auc)
    with open(os.path.join(work, "pred_test.json")) as fh:
        rust_pred = np.asarray(json.load(fh))
    lgb_pred = clf.predict_proba(xte)[:, 1]
    sk_auc_rust = roc_auc_score(yte, rust_pred)  # cross-check our AUC implementation
    pred_corr = float(np.corrcoef(rust_pred, lgb_pred)[0, 1])
    ratio = rust["train_seconds"] / lgb_seconds
    ratio_1t = rust["train_seconds"] / lgb_seconds_1t

    # Structural comparison: identical (feature, threshold) split sets per tree, in order.
    with open(os.path.join(work, "model.bin")) as fh:
        rust_model = json.load(fh)
    ls, rs = lgb_split_sets(clf.booster_), rust_split_sets(rust_model)
    same_trees = sum(a == b for a, b in zip(ls, rs))
    first_diff = next((i for i, (a, b) in enumerate(zip(ls, rs)) if a != b), None)

    # SHAP parity: our exported dictionary through shap's own C++ TreeSHAP.
    with open(os.path.join(work, "shap_dict.json")) as fh:
        d = json.load(fh)
    trees = []
    for t in d["trees"]:
        trees.append({
            "children_left": np.asarray(t["children_left"], dtype=np.int32),
            "children_right": np.asarray(t["children_right"], dtype=np.int32),
            "children_default": np.asarray(t["children_default"], dtype=np.int32),
            "features": np.asarray(t["features"], dtype=np.int32),
            "thresholds": np.asarray(t["thresholds"], dtype=np.float64),
            "values": np.asarray(t["values"], dtype=np.float64).reshape(-1, 1),
            "node_sample_weight": np.asarray(t["node_sample_weight"], dtype=np.float64),
        })
    model_dict = {k: v for k, v in d.items() if k != "trees"}
    model_dict["trees"] = trees
    explainer = shap.TreeExplainer(model_dict, feature_perturbation="tree_path_dependent")
    with open(os.path.join(work, "shap_values.json")) as fh:
        ours = json.load(fh)
    k = len(ours["values"])
    theirs = np.asarray(explainer.shap_values(xte[:k]))
    ours_v = np.asarray(ours["values"])
    shap_diff = float(np.max(np.abs(theirs - ours_v)))
    # Same rows with the fixed ~20% NaN pattern the example applied (exercises default directions).
    masked = xte[:k].copy()
    ii, jj = np.meshgrid(np.arange(k), np.arange(masked.shape[1]), indexing="ij")
    masked[(ii * 7 + jj * 3) % 5 == 0] = np.nan
    theirs_m = np.asarray(explainer.shap_values(masked))
    shap_diff_masked = float(np.max(np.abs(theirs_m - np.asarray(ours["values_masked"]))))
    shap_diff = max(shap_diff, shap_diff_masked)
    ev_diff = abs(float(np.ravel(explainer.expected_value)[0]) - ours["expected_value"])
    add_err = float(np.max(np.abs(ours_v.sum(1) + ours["expected_value"] - np.asarray(ours["predict_raw"]))))
    nan_rows = int(np.isnan(masked).any(axis=1).sum())

    summary = {
        "auc_test_lightgbm": lgb_auc, "auc_test_rust": rust["auc_test"], "abs_delta_auc": d_auc,
        "auc_train_lightgbm": lgb_auc_train, "auc_train_rust": rust["auc_train"],
        "auc_test_rust_sklearn": sk_auc_rust, "test_pred_corr": pred_corr,
        "rust_deterministic": rust["deterministic"], "timing_repeats": args.repeat,
        "train_seconds_lightgbm": lgb_seconds, "train_seconds_lightgbm_1thread": lgb_seconds_1t,
        "train_seconds_rust": rust["train_seconds"],
        "train_time_ratio_rust_over_lightgbm": ratio,
        "train_time_ratio_rust_over_lightgbm_1thread": ratio_1t,
        "identical_trees": same_trees, "first_differing_tree": first_diff,
        "rust_trees": rust["n_trees"], "rust_predict_p99_us": rust["predict_p99_us"],
        "rust_test_log_loss": rust["test_report"]["log_loss"],
        "baseline_test_log_loss": rust["test_report"]["baseline_log_loss"],
        "shap_rows": k, "shap_masked_rows_with_nan": nan_rows, "shap_max_abs_diff": shap_diff,
        "shap_max_abs_diff_masked": shap_diff_masked,
        "shap_expected_value_diff": ev_diff, "rust_shap_additivity_max_err": add_err,
        "artefacts": work,
    }
    print(f"LightGBM {lgb.__version__}: test AUC {lgb_auc:.5f} (train {lgb_auc_train:.5f}), "
          f"fit {lgb_seconds:.3f}s (n_jobs=1: {lgb_seconds_1t:.3f}s)")
    print(f"sextant-ml GBT:  test AUC {rust['auc_test']:.5f} (train {rust['auc_train']:.5f}), "
          f"fit {rust['train_seconds']:.3f}s, {rust['n_trees']} trees")
    print(f"|dAUC| = {d_auc:.5f} (tolerance {AUC_TOLERANCE}); train time ratio rust/lightgbm = {ratio:.2f} "
          f"(vs n_jobs=1: {ratio_1t:.2f}; best of {args.repeat} each); test-prediction correlation {pred_corr:.4f}; "
          f"sklearn AUC of rust preds {sk_auc_rust:.6f}; deterministic {rust['deterministic']}")
    print(f"trees with identical splits (feature, threshold): {same_trees}/{len(ls)}; "
          f"first differing tree: {first_diff}")
    print(f"SHAP ({shap.__version__}) vs ours on {k} test rows + {k} NaN-masked copies "
          f"({nan_rows} with NaN): max |diff| = {shap_diff:.3e}, "
          f"expected_value diff = {ev_diff:.3e}; our additivity error {add_err:.3e}")
    print(json.dumps(summary))
    ok = (d_auc <= AUC_TOLERANCE and shap_diff <= SHAP_TOLERANCE and ev_diff <= SHAP_TOLERANCE
          and abs(sk_auc_rust - rust["auc_test"]) < 1e-9 and rust["deterministic"])
    print("PARITY OK" if ok else "PARITY FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
