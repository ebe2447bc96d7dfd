//! Checkpoints: a policy's tensors as safetensors, named by the SHA-256 of their bytes, with a
//! JSON lineage beside them (environment and agent configuration, data snapshot, seed, reward
//! curve). Saving the same policy twice writes the same bytes.

use crate::dqn::QPolicy;
use crate::ppo::ActorCritic;
use crate::{Result, RlError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Writes `ac` to `dir/<sha256>.safetensors` and returns the path and the hash.
pub fn save(ac: &ActorCritic, dir: &Path) -> Result<(PathBuf, String)> {
    let mut tensors = ac.pi.tensors("pi");
    tensors.extend(ac.vf.tensors("vf"));
    write(&tensors, dir)
}

/// Writes a Q-policy as [`save`] does (tensors `q.*`).
pub fn save_q(q: &QPolicy, dir: &Path) -> Result<(PathBuf, String)> {
    write(&q.q.tensors("q"), dir)
}

/// Loads the weights of `path` into `q` (same architecture).
pub fn load_q(q: &mut QPolicy, path: &Path) -> Result<()> {
    q.q.load("q", &read(path)?)
}

fn read(path: &Path) -> Result<HashMap<String, candle_core::Tensor>> {
    candle_core::safetensors::load(path, &candle_core::Device::Cpu)
        .map_err(|e| RlError::Checkpoint(format!("{}: {e}", path.display())))
}

fn write(tensors: &HashMap<String, candle_core::Tensor>, dir: &Path) -> Result<(PathBuf, String)> {
    std::fs::create_dir_all(dir).map_err(|source| RlError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let tmp = dir.join(format!(".checkpoint-{}.tmp", std::process::id()));
    candle_core::safetensors::save(tensors, &tmp)?;
    let bytes = std::fs::read(&tmp).map_err(|source| RlError::Io {
        path: tmp.display().to_string(),
        source,
    })?;
    let hash = format!("{:x}", Sha256::digest(&bytes));
    let path = dir.join(format!("{hash}.safetensors"));
    std::fs::rename(&tmp, &path).map_err(|source| RlError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok((path, hash))
}

/// Loads the weights of `path` into `ac` (same architecture).
pub fn load(ac: &mut ActorCritic, path: &Path) -> Result<()> {
    let tensors = read(path)?;
    ac.pi.load("pi", &tensors)?;
    ac.vf.load("vf", &tensors)
}
