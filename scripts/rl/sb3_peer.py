#!/usr/bin/env python3
"""The Stable-Baselines3 side of scripts/bench-rl: SB3 PPO with sextant's settings on the same
environments, timed in the same run.

1. CartPole-v1 (rl-zoo settings: 8 envs, n_steps 32, batch 256, 20 epochs, gamma 0.98, GAE
   0.8, linear learning rate 0.001 and clip 0.2, [64, 64] tanh), 100k steps, on gymnasium's
   Python CartPole and on sextant's Rust CartPole through the binding; greedy return after.
2. The trading environment through the binding (bundled MSFT, 252-bar episodes, costs on):
   random-action steps per second from Python, and SB3 PPO with the settings sextant's RL
   service uses (8 envs, n_steps 256, batch 256, 10 epochs, gamma 0.99, GAE 0.95, lr 3e-4,
   entropy 0.01), 50k steps.

Prints JSON lines for scripts/bench-rl. Usage: sb3_peer.py SAMPLE_CSV_GZ
"""
import json
import os
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

import sextant_rl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_env import msft  # noqa: E402


def lin(v):
    return lambda progress: progress * v


def cartpole(make, label):
    env = make_vec_env(make, n_envs=8, seed=0)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                n_epochs=20, ent_coef=0.0, learning_rate=lin(0.001), clip_range=lin(0.2),
                seed=0, device="cpu", verbose=0)
    t = time.perf_counter()
    model.learn(100_000)
    secs = time.perf_counter() - t
    score, _ = evaluate_policy(model, make(), n_eval_episodes=10, deterministic=True)
    print(json.dumps({"what": f"sb3 ppo cartpole ({label})", "steps": 100_000, "secs": secs,
                      "steps_per_s": 100_000 / secs, "greedy_return": float(score)}), flush=True)


def main():
    data = msft(sys.argv[1])
    print(json.dumps({"what": "torch", "version": torch.__version__,
                      "threads": torch.get_num_threads()}), flush=True)
    cartpole(lambda: gym.make("CartPole-v1"), "gymnasium python env")
    cartpole(lambda: gym.wrappers.TimeLimit(sextant_rl.RustCartPole(), 500), "sextant rust env")

    env = sextant_rl.SextantTradingEnv(**data)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 3, 200_000)
    t = time.perf_counter()
    for a in acts:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    secs = time.perf_counter() - t
    print(json.dumps({"what": "trading env random actions from python", "steps_per_s": len(acts) / secs}),
          flush=True)

    venv = make_vec_env(lambda: sextant_rl.SextantTradingEnv(**data, train_bars=2500), n_envs=8, seed=0)
    model = PPO("MlpPolicy", venv, n_steps=256, batch_size=256, n_epochs=10, gamma=0.99,
                gae_lambda=0.95, learning_rate=3e-4, ent_coef=0.01, seed=0, device="cpu", verbose=0)
    t = time.perf_counter()
    model.learn(49_152)
    secs = time.perf_counter() - t
    print(json.dumps({"what": "sb3 ppo trading env", "steps": 49_152, "secs": secs,
                      "steps_per_s": 49_152 / secs}), flush=True)


if __name__ == "__main__":
    main()
