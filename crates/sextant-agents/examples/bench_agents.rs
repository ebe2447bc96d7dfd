//! Agents benchmark (run by `scripts/bench-agents`): MiniLM embedding throughput in sentences
//! per second (batched, and one sentence at a time), and the offline builder's latency per
//! request over the 240-request evaluation set. Prints one JSON line per figure.

use sextant_agents::builder::{BuildRequest, Builder};
use sextant_agents::catalog::{catalog, CatalogIndex};
use sextant_agents::embed::{Embedder, MiniLm};
use std::sync::Arc;
use std::time::Instant;

fn texts() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/minilm_texts.txt");
    std::fs::read_to_string(path)
        .expect("texts")
        .lines()
        .map(str::to_string)
        .collect()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let t0 = Instant::now();
    let m = MiniLm::load(MiniLm::default_dir())?;
    println!(
        "{{\"figure\": \"model_load_ms\", \"value\": {:.1}}}",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let base = texts();
    let corpus: Vec<String> = base.iter().cycle().take(n).cloned().collect();
    m.embed_blocking(&corpus[..32])?; // warm-up
    let t = Instant::now();
    m.embed_blocking(&corpus)?;
    let secs = t.elapsed().as_secs_f64();
    println!("{{\"figure\": \"embed_batched_sentences_per_s\", \"value\": {:.1}, \"sentences\": {n}, \"threads\": {}}}", n as f64 / secs, std::thread::available_parallelism().map_or(1, |p| p.get()));
    let mut one = Vec::new();
    for s in base.iter().take(60) {
        let t = Instant::now();
        m.embed_blocking(std::slice::from_ref(s))?;
        one.push(t.elapsed().as_secs_f64() * 1e3);
    }
    one.sort_by(f64::total_cmp);
    println!(
        "{{\"figure\": \"embed_single_ms\", \"p50\": {:.2}, \"p95\": {:.2}}}",
        pct(&one, 0.5),
        pct(&one, 0.95)
    );

    let t = Instant::now();
    let index = CatalogIndex::build(catalog(), &m).await?;
    println!(
        "{{\"figure\": \"catalog_index_ms\", \"value\": {:.1}, \"entries\": {}}}",
        t.elapsed().as_secs_f64() * 1e3,
        index.entries().len()
    );
    let builder = Builder::new(Arc::new(index), Arc::new(m.clone()), None);
    let eval = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/eval/builder_requests.jsonl"
    ))?;
    let mut lat = Vec::new();
    for line in eval.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let req = BuildRequest {
            text: v["request"].as_str().unwrap_or_default().to_string(),
            regime_model: Some("spy_regimes".into()),
            ml_model: Some("spy_signal".into()),
        };
        let t = Instant::now();
        builder.build(&req).await?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    println!("{{\"figure\": \"builder_offline_ms\", \"p50\": {:.2}, \"p95\": {:.2}, \"max\": {:.2}, \"requests\": {}}}", pct(&lat, 0.5), pct(&lat, 0.95), lat[lat.len() - 1], lat.len());
    let _ = m.dimension();
    Ok(())
}
