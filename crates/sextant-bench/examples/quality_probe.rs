//! Prints what the quality checks flag on the bundled real data and on injected faults (a
//! development probe; `sextant bench quality` is the benchmark).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("sample.csv.gz");
    std::fs::write(&src, sextant_data::providers::sample::BYTES)?;
    let out = dir.path().join("corrupt.csv");
    let truth = sextant_bench::quality::inject(&src, &out, 25, seed)?;
    let (score, secs) = sextant_bench::quality::ingest_and_score(&out, &truth)?;
    println!(
        "{secs:.3}s recall {:.3} precision {:.3} items {} true {}",
        score.recall, score.precision, score.items, score.true_items
    );
    for (k, (n, d)) in &score.injected {
        println!("  {k}: {d}/{n}");
    }
    for f in &score.false_items {
        println!("  false: {f}");
    }
    let missed: Vec<_> = truth.iter().collect();
    let _ = missed;
    Ok(())
}
