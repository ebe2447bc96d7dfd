//! Medians of the best value over seed sets, for judging sampler changes against noise.
//! `cargo run --release -p sextant-tuning --example tpe_seeds -- <offset> <seeds> [candidates]`
//! (`MINBW=0` gives TPE Optuna's bandwidth floor, `MINBW=f` another floor for the good group).

use sextant_tuning::functions::TestFunction;
use sextant_tuning::runner::{run, RunConfig};
use sextant_tuning::sampler::{Sampler, TpeConfig};
use sextant_tuning::{Direction, PrunerKind, SamplerKind, Study, StudySpec};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (offset, seeds) = (
        args.first().copied().unwrap_or(0),
        args.get(1).copied().unwrap_or(20),
    );
    let cands = args.get(2).copied().unwrap_or(48) as u32;
    let minbw: Option<f64> = std::env::var("MINBW").ok().and_then(|v| v.parse().ok());
    for f in [TestFunction::Branin, TestFunction::Hartmann6] {
        for s in [SamplerKind::Tpe, SamplerKind::Cmaes] {
            let mut v: Vec<f64> = (offset..offset + seeds)
                .map(|seed| {
                    let spec = StudySpec {
                        space: f.space(),
                        directions: vec![Direction::Minimize],
                        sampler: s,
                        pruner: PrunerKind::None,
                        seed,
                    };
                    let sampler = match s {
                        SamplerKind::Tpe => Sampler::Tpe(
                            TpeConfig {
                                n_ei_candidates: cands,
                                min_bandwidth: if minbw == Some(0.0) {
                                    None
                                } else {
                                    minbw.or(Some(0.05))
                                },
                                ..TpeConfig::default()
                            },
                            Default::default(),
                        ),
                        _ => Sampler::new(s, &spec.space, 1, seed).expect("sampler"),
                    };
                    let mut st = Study::resume_with(spec, sampler, Vec::new()).expect("study");
                    let cfg = RunConfig {
                        n_trials: 100,
                        batch: 1,
                        fixed: Default::default(),
                    };
                    run::<()>(&mut st, &f, &cfg, &mut |_| Ok(()), &mut |_| Ok(()), &|| {
                        false
                    })
                    .expect("run");
                    st.ranked()[0].values[0]
                })
                .collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            print!("{f} {s} median {:.5}  ", (v[(n - 1) / 2] + v[n / 2]) / 2.0);
        }
    }
    println!();
}
