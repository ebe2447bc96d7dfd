#!/usr/bin/env python3
"""Reference trajectories of gymnasium's CartPole-v1 for crates/sextant-rl/tests/cartpole.rs.

Sets the state, applies a fixed action sequence and prints each step's full-precision state,
reward, terminated and truncated (the unwrapped env's dynamics; the 500-step limit is the
TimeLimit wrapper's and is tested separately). Run with gymnasium installed:

    python3 -m venv /tmp/gym && /tmp/gym/bin/pip install gymnasium==1.4.0
    /tmp/gym/bin/python scripts/rl/cartpole_golden.py
"""
import json

import gymnasium as gym
import numpy as np

env = gym.make("CartPole-v1").unwrapped
env.reset(seed=0)
out = []
for start, actions in [
    ([0.01, -0.02, 0.03, 0.04], [1, 0, 0, 1, 1, 1, 0, 1, 0, 0] * 3),
    ([0.0, 0.0, 0.2, 0.0], [1] * 40),
]:
    env.state = np.array(start, dtype=np.float64)
    env.steps_beyond_terminated = None
    steps = []
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        steps.append({"state": [float(v) for v in env.state], "obs": [float(v) for v in obs],
                      "reward": float(r), "terminated": bool(term)})
        if term:
            break
    out.append({"start": start, "actions": actions[: len(steps)], "steps": steps})
print(json.dumps({"gymnasium": gym.__version__, "cases": out}, indent=1))
