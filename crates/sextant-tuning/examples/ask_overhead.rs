//! Time of one TPE ask with a long history (for profiling): `ask_overhead <history> <asks>`.

use sextant_tuning::functions::TestFunction;
use sextant_tuning::{Direction, Outcome, PrunerKind, SamplerKind, Study, StudySpec};
use std::time::Instant;

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (n, asks) = (
        args.first().copied().unwrap_or(10_000),
        args.get(1).copied().unwrap_or(50),
    );
    let f = TestFunction::Branin;
    let spec = |s| StudySpec {
        space: f.space(),
        directions: vec![Direction::Minimize],
        sampler: s,
        pruner: PrunerKind::None,
        seed: 0,
    };
    let mut h = Study::new(spec(SamplerKind::Random)).expect("study");
    let tell = |s: &mut Study| {
        let t = s.ask(1).pop().expect("asked");
        let x = [t.params["x1"], t.params["x2"]];
        let out = Outcome::Complete {
            values: vec![f.value(&x)],
            intermediate: vec![],
        };
        s.tell(t.number, out, 0.0).expect("told");
    };
    for _ in 0..n {
        tell(&mut h);
    }
    let mut s = Study::resume(spec(SamplerKind::Tpe), h.trials().to_vec()).expect("resume");
    let t0 = Instant::now();
    for _ in 0..asks {
        tell(&mut s);
    }
    println!(
        "{:.3} ms per ask at {n}",
        t0.elapsed().as_secs_f64() * 1e3 / asks as f64
    );
}
