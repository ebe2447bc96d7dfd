#!/usr/bin/env python3
"""The Python binding of sextant-rl under gymnasium's own checker (run by scripts/test through
scripts/build-rl-wheel): `gymnasium.utils.env_checker.check_env` on the trading environment over
the bundled MSFT bars and on the Rust CartPole, then what the checker does not cover: a seed
gives the same episode, an action outside the space is a Python exception, and episodes end
truncated at their length.

Usage: check_env.py SAMPLE_CSV_GZ
"""
import csv
import gzip
import sys

import numpy as np
from gymnasium.utils.env_checker import check_env

import sextant_rl


def msft(path):
    rows = [r for r in csv.DictReader(gzip.open(path, "rt")) if r["Ticker"] == "MSFT"]
    cols = {k: [] for k in ("ts", "open", "high", "low", "close", "volume")}
    for r in rows:
        # Total-return basis: every price scaled by the vendor's adjusted/raw ratio.
        k = float(r["Adj Close"]) / float(r["Close"])
        cols["ts"].append(int(np.datetime64(r["Date"], "s").astype("int64")))
        for c, name in (("open", "Open"), ("high", "High"), ("low", "Low"), ("close", "Close")):
            cols[c].append(float(r[name]) * k)
        cols["volume"].append(float(r["Volume"]))
    return cols


def episode(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [obs.tobytes()]
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        out.append((obs.tobytes(), r, term, trunc))
        if term or trunc:
            break
    return out


def main():
    data = msft(sys.argv[1])
    env = sextant_rl.SextantTradingEnv(**data, episode_bars=100, train_bars=2500)
    check_env(env, skip_render_check=True)
    print(f"check_env: SextantTradingEnv passes (obs {env.observation_space.shape}, "
          f"{env.action_space.n} actions, {len(data['ts'])} MSFT bars)")
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 3, 150).tolist()
    a, b = episode(env, 7, acts), episode(env, 7, acts)
    assert a == b, "same seed, same episode"
    assert episode(env, 8, acts) != a, "another seed, another window"
    assert len(a) == 101 and a[-1][3] and not a[-1][2], "truncated after 100 bars"
    try:
        env.step(0)
    except ValueError as e:
        print(f"a step after the episode's end: ValueError ({e})")
    else:
        raise AssertionError("a step after the end accepted")
    env.reset(seed=1)
    try:
        env.step(5)
    except ValueError as e:
        assert "not in Discrete(3)" in str(e), e
        print(f"an action outside the space: ValueError ({e})")
    else:
        raise AssertionError("action 5 accepted")
    for bad in (dict(reward="sharpe"), dict(actions="sideways"), dict(episode_bars=1)):
        try:
            sextant_rl.SextantTradingEnv(**data, **bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{bad} accepted")
    cp = sextant_rl.RustCartPole()
    check_env(cp, skip_render_check=True)
    print("check_env: RustCartPole passes")


if __name__ == "__main__":
    main()
