//! Tests of the configuration loader.
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn defaults_then_file_then_env() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("s.toml");
    std::fs::write(
        &f,
        "load_sample = false\n[alphavantage]\nrequests_per_minute = 75\n",
    )
    .expect("write");
    let c = Config::load_from(
        Some(&f),
        &env(&[("SEXTANT_DATA_DIR", "/x"), ("ALPHAVANTAGE_API_KEY", "k")]),
    )
    .expect("load");
    assert_eq!(c.data_dir, PathBuf::from("/x"));
    assert!(!c.load_sample);
    assert_eq!(c.alphavantage.requests_per_minute, 75);
    assert_eq!(c.alphavantage.api_key.as_deref(), Some("k"));
    let shown = toml::to_string(&c).expect("ser");
    assert!(!shown.contains("\"k\""), "the key is never serialised");
}

#[test]
fn a_data_dir_given_reads_its_own_file() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("sextant.toml"), "load_sample = false\n").expect("write");
    let c = Config::load_in(None, Some(dir.path())).expect("load");
    assert_eq!(c.data_dir, dir.path());
    assert!(!c.load_sample, "the data dir's sextant.toml was read");
    let other = tempfile::tempdir().expect("tmp");
    let c = Config::load_in(None, Some(other.path())).expect("load");
    assert!(c.load_sample, "no file there: defaults");
}

#[test]
fn bad_values_are_named() {
    let e = Config::load_from(None, &env(&[("SEXTANT_LOAD_SAMPLE", "maybe")]));
    assert!(matches!(e, Err(ConfigError::Env { var, .. }) if var == "SEXTANT_LOAD_SAMPLE"));
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("s.toml");
    std::fs::write(&f, "no_such_key = 1\n").expect("write");
    assert!(matches!(
        Config::load_from(Some(&f), &[]),
        Err(ConfigError::Parse { .. })
    ));
}
