//! `sextant bench`'s ML figures: feature materialisation on the bundled universe, training time,
//! and single-symbol scoring latency from a warm model (the goal is p99 < 1 ms).

use anyhow::Result;
use serde_json::json;
use sextant_core::signals::TrainRequest;
use sextant_core::{Config, Services};
use sextant_domain::Symbol;
use sextant_features::FeatureStore;
use std::path::Path;
use std::time::Instant;

pub async fn run(dir: &Path, queries: usize) -> Result<()> {
    let config = Config {
        data_dir: dir.join("ml"),
        ..Config::default()
    };
    let s = Services::build(config).await?;
    let view = sextant_features::views::technical();
    let mut best = f64::INFINITY;
    let mut rows = 0;
    for _ in 0..3 {
        let t = Instant::now();
        rows = s.cache.materialize_view(&view)?.rows;
        best = best.min(t.elapsed().as_secs_f64());
    }
    crate::bench::report(
        "materialise technical view (bundled, 17 features)",
        rows,
        best,
    );
    let req: TrainRequest = serde_json::from_value(json!({
        "name": "bench",
        "symbols": ["AAPL", "GOOG", "IBM", "MSFT"],
        "train_to": "2009-12-31",
        "test_from": "2010-01-01",
        "validation": {"kind": "none"},
        "seed": 1
    }))?;
    let t = Instant::now();
    let rec = s.signals.train(req).await?;
    println!(
        "{:<48} {} samples, 100 trees: {:.2} s (holdout AUC {:.3})",
        "train signal model (features, labels, fit, SHAP)",
        rec.metrics.train_samples,
        t.elapsed().as_secs_f64(),
        rec.metrics.holdout.as_ref().map_or(f64::NAN, |h| h.auc)
    );
    let msft = Symbol::new("MSFT")?;
    s.signals.score_record(&rec, &msft, false)?; // warm: model loaded, view checked
    for explain in [false, true] {
        let mut lat = Vec::with_capacity(queries);
        for _ in 0..queries {
            let t = Instant::now();
            let sig = s.signals.score_record(&rec, &msft, explain)?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(sig);
        }
        let what = if explain {
            "score one symbol, warm model, with SHAP"
        } else {
            "score one symbol, warm model"
        };
        crate::bench::latency(what, lat, "scores; goal p99 < 1000 µs");
    }
    Ok(())
}
