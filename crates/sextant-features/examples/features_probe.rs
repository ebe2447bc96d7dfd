//! Materialises the built-in technical view on the bundled data and prints a few rows (a
//! development probe; `sextant bench` has the figures).
use sextant_features::FeatureStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cache = sextant_data::Cache::open_in_memory()?;
    cache.ingest_sample()?;
    let view = sextant_features::views::technical();
    let t = std::time::Instant::now();
    let mv = cache.materialize_view(&view)?;
    println!("{} rows in {:?}: {:?}", mv.rows, t.elapsed(), mv.version);
    let sym = sextant_domain::Symbol::new("MSFT")?;
    let p = cache.feature_panel("technical", None, &[sym], None, None)?;
    for i in [0, 1, 60, 2000] {
        println!("{} {} {:?}", p.symbols[i], p.ts[i], p.row(i));
    }
    Ok(())
}
