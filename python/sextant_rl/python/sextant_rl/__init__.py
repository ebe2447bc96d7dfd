"""Sextant's environments as gymnasium.Env classes.

`SextantTradingEnv` steps the real Sextant simulator (Rust): fills, commissions and slippage
exactly as a Sextant backtest; observations point in time. Train it with Stable-Baselines3,
RLlib or anything that speaks gymnasium.

    import pandas as pd, sextant_rl
    df = pd.read_csv("msft.csv", parse_dates=["date"])
    env = sextant_rl.SextantTradingEnv.from_frame(df, train_bars=2500)
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ._core import CartPoleCore, TradingCore

__all__ = ["SextantTradingEnv", "RustCartPole", "TradingCore", "CartPoleCore"]


class _RustEnv(gym.Env):
    metadata = {"render_modes": []}

    def _first_seed(self, seed):
        # gymnasium: a seed restarts the stream; None continues it (the first reset without a
        # seed draws one from the env's own generator).
        if seed is None and not getattr(self, "_seeded", False):
            seed = int(self.np_random.integers(0, 2**63 - 1))
        self._seeded = True
        return seed

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs = self._core.reset(self._first_seed(seed))
        return np.asarray(obs, dtype=np.float32), {}

    def step(self, action):
        obs, reward, terminated, truncated = self._core.step(int(action))
        return np.asarray(obs, dtype=np.float32), float(reward), bool(terminated), bool(truncated), {}


class SextantTradingEnv(_RustEnv):
    """One symbol's bars; discrete actions (short/flat/long by default)."""

    def __init__(self, ts, open, high, low, close, volume, **kwargs):
        self._core = TradingCore(
            [int(t) for t in ts], list(map(float, open)), list(map(float, high)),
            list(map(float, low)), list(map(float, close)), list(map(float, volume)), **kwargs)
        self.observation_space = spaces.Box(-np.inf, np.inf, (self._core.obs_dim,), np.float32)
        self.action_space = spaces.Discrete(self._core.n_actions)

    @classmethod
    def from_frame(cls, df, time="date", **kwargs):
        """From a DataFrame with a time column and open/high/low/close/volume columns (use the
        adjusted prices a backtest would)."""
        ts = (df[time].astype("int64") // 10**9).tolist()
        return cls(ts, df["open"], df["high"], df["low"], df["close"], df["volume"], **kwargs)


class RustCartPole(_RustEnv):
    """CartPole-v1 with gymnasium's dynamics, stepped in Rust."""

    def __init__(self):
        self._core = CartPoleCore()
        high = np.array([4.8, np.finfo(np.float32).max, 0.41887903, np.finfo(np.float32).max],
                        dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Discrete(2)
