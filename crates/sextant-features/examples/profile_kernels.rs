//! Times the in-memory share of a kernel materialisation (read, compute, hash) on an existing
//! cache, repeatedly: a development probe for profiling (`perf record`), not a benchmark.
//!
//! `profile_kernels CACHE.duckdb [VIEW: technical|technical_1min] [REPEATS] [CSV to ingest first]`
use sextant_features::views::{technical, technical_intraday};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    sextant_data::process::tune_allocator();
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: profile_kernels CACHE [VIEW] [REPEATS]")?;
    let view = match args.next().as_deref() {
        None | Some("technical_1min") => technical_intraday(),
        Some("technical") => technical(),
        Some(other) => return Err(format!("unknown view {other}").into()),
    };
    let repeats: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let cache = sextant_data::Cache::open(std::path::Path::new(&path))?.with_quality(
        sextant_quality::QualityConfig {
            enabled: false,
            ..Default::default()
        },
    );
    if let Some(csv) = args.next() {
        let s = cache.ingest_file(std::path::Path::new(&csv), &Default::default())?;
        println!("ingested {} rows", s.rows_in);
    }
    if std::env::var_os("MATERIALIZE").is_some() {
        use sextant_features::FeatureStore;
        for _ in 0..repeats {
            let t = std::time::Instant::now();
            let mv = cache.materialize_view(&view)?;
            println!(
                "materialised {} rows in {:.3} s",
                mv.rows,
                t.elapsed().as_secs_f64()
            );
        }
        if let Some(s) = std::env::var_os("SLEEP") {
            std::thread::sleep(std::time::Duration::from_secs(s.to_string_lossy().parse()?));
        }
    }
    for _ in 0..repeats {
        let p = sextant_features::kernels::profile(&cache, &view)?.ok_or("view has no kernels")?;
        println!("{}", serde_json::to_string(&p)?);
    }
    Ok(())
}
