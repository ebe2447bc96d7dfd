//! A view materialised in symbol shards (each from a snapshot holding only its symbols, as a
//! worker does) and assembled gives the table a local materialisation writes, bit for bit:
//! the cross-sectional ranks are evaluated over every symbol, not within a shard.

use sextant_data::Cache;
use sextant_domain::{Resolution, Symbol};
use sextant_features::shards::{assemble_shards, export_shard, view_symbols, ShardPart};
use sextant_features::{FeatureStore, FeatureView};

/// A cache holding only `symbols` of `from`, through the snapshot export and import.
fn cut(from: &Cache, symbols: &[Symbol], dir: &std::path::Path) -> Cache {
    let files = from
        .export_snapshot(symbols, Resolution::Daily, dir)
        .expect("export");
    let cache = Cache::open_in_memory().expect("open");
    let list: Vec<(String, std::path::PathBuf)> =
        files.into_iter().map(|f| (f.table, f.path)).collect();
    cache.import_snapshot(&list).expect("import");
    cache
}

fn bits(
    cache: &Cache,
    view: &FeatureView,
) -> (Vec<String>, Vec<chrono::NaiveDateTime>, Vec<Vec<u64>>) {
    let p = cache
        .feature_panel(&view.name, None, &[], None, None)
        .expect("panel");
    let cols = p
        .columns
        .iter()
        .map(|c| c.iter().map(|x| x.to_bits()).collect())
        .collect();
    (p.symbols, p.ts, cols)
}

fn shard_parts(
    server: &Cache,
    view: &FeatureView,
    shards: &[Vec<Symbol>],
    tmp: &std::path::Path,
) -> Vec<ShardPart> {
    shards
        .iter()
        .enumerate()
        .map(|(i, syms)| {
            let dir = tmp.join(format!("s{i}"));
            let worker = cut(server, syms, &dir.join("snap"));
            std::fs::create_dir_all(dir.join("out")).expect("mkdir");
            let f = export_shard(&worker, view, &dir.join("out")).expect("export shard");
            assert_eq!(f.symbols.len(), syms.len());
            ShardPart {
                path: f.path,
                symbols: f.symbols,
                rows: f.rows,
                data_snapshot: f.data_snapshot,
            }
        })
        .collect()
}

#[test]
fn shards_assemble_into_the_local_table() {
    let tmp = tempfile::tempdir().expect("tmp");
    let local = Cache::open_in_memory().expect("open");
    local.ingest_sample().expect("sample");
    let view = sextant_features::views::technical();
    let want = local.materialize_view(&view).expect("local");
    let expected = bits(&local, &view);

    let server = Cache::open_in_memory().expect("open");
    server.ingest_sample().expect("sample");
    let symbols = view_symbols(&server, &view).expect("symbols");
    assert!(symbols.len() >= 3, "{symbols:?}");
    let shards: Vec<Vec<Symbol>> = symbols
        .chunks(symbols.len().div_ceil(3))
        .map(<[Symbol]>::to_vec)
        .collect();
    assert!(shards.len() >= 2);
    let parts = shard_parts(&server, &view, &shards, tmp.path());
    let got = assemble_shards(&server, &view, &parts).expect("assemble");
    assert_eq!(
        (
            got.rows,
            got.symbols,
            &got.data_snapshot,
            &got.version,
            &got.table_name
        ),
        (
            want.rows,
            want.symbols,
            &want.data_snapshot,
            &want.version,
            &want.table_name
        )
    );
    let assembled = bits(&server, &view);
    assert_eq!(assembled.0, expected.0, "symbols");
    assert_eq!(assembled.1, expected.1, "timestamps");
    for (j, name) in view.feature_names().iter().enumerate() {
        assert_eq!(
            assembled.2[j], expected.2[j],
            "{name} differs from the local table"
        );
    }
    // A rank computed within one shard would differ: the assembly really ranks across shards.
    let lone = cut(&server, &shards[0], &tmp.path().join("lone"));
    lone.materialize_view(&view).expect("lone");
    let within = bits(&lone, &view);
    let rank = view
        .feature_names()
        .iter()
        .position(|n| n == "cs_rank_ret_5")
        .expect("rank");
    let n = within.0.len();
    assert_ne!(
        within.2[rank],
        expected.2[rank][..n],
        "ranks within a shard differ"
    );

    // Missing a shard, or a shard of other bars, is refused.
    let err = assemble_shards(&server, &view, &parts[1..]).expect_err("a missing shard");
    assert!(err.to_string().contains("cover"), "{err}");
    let mut stale = parts.clone();
    stale[0].data_snapshot = "0".repeat(64);
    let err = assemble_shards(&server, &view, &stale).expect_err("other bars");
    assert!(err.to_string().contains("other bars"), "{err}");
    let mut twice = parts.clone();
    twice.push(parts[0].clone());
    assert!(assemble_shards(&server, &view, &twice).is_err());
    let mut short = parts.clone();
    short[0].rows -= 1;
    let err = assemble_shards(&server, &view, &short).expect_err("rows not as claimed");
    assert!(err.to_string().contains("rows"), "{err}");
}
