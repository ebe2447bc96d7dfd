//! The hand-written gradients against candle's autograd.

use super::*;
use candle_core::{Device, Tensor, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The same loss through candle's autograd, as the PPO trainer computed it before.
fn candle_gradients(pi: &Mlp, vf: &Mlp, b: &Batch<'_>, w: LossWeights) -> (Vec<f32>, f64) {
    let dev = Device::Cpu;
    let n = b.actions.len();
    let obs = Tensor::from_slice(b.obs, (n, pi.input()), &dev).expect("obs");
    let acts = Tensor::from_slice(b.actions, (n, 1), &dev).expect("acts");
    let old = Tensor::from_slice(b.old_logp, n, &dev).expect("old");
    let adv = Tensor::from_slice(b.adv, n, &dev).expect("adv");
    let ret = Tensor::from_slice(b.returns, n, &dev).expect("ret");
    let logits = pi.forward(&obs).expect("logits");
    let logp_all = candle_nn::ops::log_softmax(&logits, D::Minus1).expect("lsm");
    let logp = logp_all
        .gather(&acts, 1)
        .and_then(|t| t.squeeze(1))
        .expect("g");
    let ratio = (&logp - &old).and_then(|t| t.exp()).expect("ratio");
    let s1 = (&ratio * &adv).expect("s1");
    let s2 = (ratio.clamp(1.0 - w.clip, 1.0 + w.clip).expect("c") * &adv).expect("s2");
    let pl = s1
        .minimum(&s2)
        .and_then(|t| t.mean_all())
        .and_then(|t| t.neg())
        .expect("pl");
    let v = vf.forward(&obs).expect("v").squeeze(1).expect("v");
    let vl = (&ret - &v)
        .and_then(|t| t.sqr())
        .and_then(|t| t.mean_all())
        .expect("vl");
    let ent = (logp_all.exp().expect("e") * &logp_all)
        .and_then(|t| t.sum(1))
        .and_then(|t| t.mean_all())
        .and_then(|t| t.neg())
        .expect("ent");
    let loss = ((pl + (vl * w.vf_coef).expect("a")).expect("b") - (ent * w.ent_coef).expect("c"))
        .expect("loss");
    let grads = loss.backward().expect("backward");
    let mut flat = Vec::new();
    for var in pi.vars().iter().chain(vf.vars().iter()) {
        let g = grads.get(var.as_tensor()).expect("grad");
        flat.extend(
            g.flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .expect("vec"),
        );
    }
    let loss = f64::from(loss.to_scalar::<f32>().expect("scalar"));
    (flat, loss)
}

#[test]
fn gradients_equal_candles_autograd() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (obs_dim, actions, act) in [(9, 3, Activation::Tanh), (4, 2, Activation::Tanh)] {
        let pi =
            Mlp::with_activation(&[obs_dim, 64, 64, actions], 0.01, act, &mut rng).expect("pi");
        let vf = Mlp::with_activation(&[obs_dim, 64, 64, 1], 1.0, act, &mut rng).expect("vf");
        let n = 96;
        let obs: Vec<f32> = (0..n * obs_dim).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let acts: Vec<u32> = (0..n).map(|_| rng.gen_range(0..actions as u32)).collect();
        // Old log-probabilities spread so that some ratios fall outside the clip range on
        // either side.
        let old_logp: Vec<f32> = (0..n).map(|_| rng.gen_range(-2.5..-0.2)).collect();
        let adv: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.5..1.5)).collect();
        let returns: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let batch = Batch {
            total: n,
            obs: &obs,
            actions: &acts,
            old_logp: &old_logp,
            adv: &adv,
            returns: &returns,
        };
        let w = LossWeights {
            clip: 0.2,
            vf_coef: 0.5,
            ent_coef: 0.01,
        };
        let (want, want_loss) = candle_gradients(&pi, &vf, &batch, w);
        let (fp, fv) = (FlatMlp::from_mlp(&pi), FlatMlp::from_mlp(&vf));
        let (mut gp, mut gv) = (fp.zero_grads(), fv.zero_grads());
        let loss = ppo_gradients(&fp, &fv, &batch, w, &mut gp, &mut gv).expect("fused");
        let mut got = gp.flat();
        got.extend(gv.flat());
        // In two parts, summed: the same gradient.
        let (a, b) = batch.split(37);
        let (mut gp2, mut gv2) = (fp.zero_grads(), fv.zero_grads());
        let (mut gp3, mut gv3) = (fp.zero_grads(), fv.zero_grads());
        let la = ppo_gradients(&fp, &fv, &a, w, &mut gp2, &mut gv2).expect("a");
        let lb = ppo_gradients(&fp, &fv, &b, w, &mut gp3, &mut gv3).expect("b");
        gp2.add(&gp3);
        gv2.add(&gv3);
        assert!((la + lb - loss).abs() < 1e-9);
        let mut parts = gp2.flat();
        parts.extend(gv2.flat());
        for (x, y) in parts.iter().zip(&got) {
            assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{x} vs {y}");
        }
        assert_eq!(got.len(), want.len());
        assert!(
            (loss - want_loss).abs() < 1e-5,
            "loss {loss} vs {want_loss}"
        );
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (i, (g, c)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - c).abs() <= 1e-4 * scale + 1e-7,
                "{obs_dim}x{actions}: gradient {i}: fused {g}, candle {c}"
            );
        }
    }
}

#[test]
fn relu_networks_backpropagate_too() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let q = Mlp::with_activation(&[5, 16, 16, 3], 1.0, Activation::Relu, &mut rng).expect("q");
    let f = FlatMlp::from_mlp(&q);
    let n = 7;
    let x: Vec<f32> = (0..n * 5).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let mut tape = Tape::default();
    f.forward(&x, n, &mut tape).expect("forward");
    // Loss = sum of outputs: gradient of ones; compare with candle.
    let t = Tensor::from_slice(&x, (n, 5), &Device::Cpu).expect("x");
    let out = q.forward(&t).expect("out");
    let want_out = out
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("v");
    for (a, b) in tape.out.iter().zip(&want_out) {
        assert!((a - b).abs() < 1e-5);
    }
    let grads = out.sum_all().and_then(|t| t.backward()).expect("bw");
    let mut g = f.zero_grads();
    tape.d_out = vec![1.0; n * 3];
    f.backward(&mut tape, &mut g);
    let mut want = Vec::new();
    for var in q.vars() {
        let gr = grads.get(var.as_tensor()).expect("grad");
        want.extend(
            gr.flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .expect("v"),
        );
    }
    for (a, b) in g.flat().iter().zip(&want) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}
