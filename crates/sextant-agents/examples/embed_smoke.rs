//! Prints the first numbers of one embedding (a manual check).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let m = sextant_agents::embed::MiniLm::load(sextant_agents::embed::MiniLm::default_dir())?;
    let texts = vec![
        "buy when the 10-day average crosses above the 50-day".to_string(),
        "hello".to_string(),
    ];
    let t = std::time::Instant::now();
    let v = m.embed_blocking(&texts)?;
    println!("{:?} {:?}", &v[0][..5], t.elapsed());
    println!("{:?}", &v[1][..5]);
    Ok(())
}
