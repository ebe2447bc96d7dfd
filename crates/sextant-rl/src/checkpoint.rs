//! Checkpoints: a policy's tensors as safetensors bytes, named by their SHA-256. Encoding the
//! same policy twice gives the same bytes (safetensors orders tensors by dtype and name), so a
//! checkpoint's hash identifies the weights. Where the bytes are kept (a directory, an
//! S3-compatible bucket) is the caller's business; [`save`] and [`load`] are the file helpers.

use crate::dqn::QPolicy;
use crate::ppo::ActorCritic;
use crate::{Result, RlError};
use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `ac`'s tensors (`pi.*`, `vf.*`) as safetensors bytes, and their SHA-256 (hex).
pub fn encode(ac: &ActorCritic) -> Result<(Vec<u8>, String)> {
    let mut tensors = ac.pi.tensors("pi");
    tensors.extend(ac.vf.tensors("vf"));
    to_bytes(&tensors)
}

/// A Q-policy's tensors (`q.*`) as [`encode`] does.
pub fn encode_q(q: &QPolicy) -> Result<(Vec<u8>, String)> {
    to_bytes(&q.q.tensors("q"))
}

/// Loads `bytes` (from [`encode`]) into `ac`; the architecture must match.
pub fn decode(ac: &mut ActorCritic, bytes: &[u8]) -> Result<()> {
    let tensors = from_bytes(bytes)?;
    ac.pi.load("pi", &tensors)?;
    ac.vf.load("vf", &tensors)
}

/// Loads `bytes` (from [`encode_q`]) into `q`; the architecture must match.
pub fn decode_q(q: &mut QPolicy, bytes: &[u8]) -> Result<()> {
    q.q.load("q", &from_bytes(bytes)?)
}

fn to_bytes(tensors: &HashMap<String, Tensor>) -> Result<(Vec<u8>, String)> {
    let bytes = safetensors::serialize(tensors, None)
        .map_err(|e| RlError::Checkpoint(format!("serialise: {e}")))?;
    let hash = format!("{:x}", Sha256::digest(&bytes));
    Ok((bytes, hash))
}

fn from_bytes(bytes: &[u8]) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
        .map_err(|e| RlError::Checkpoint(format!("not a safetensors checkpoint: {e}")))
}

/// Writes `ac` to `dir/<sha256>.safetensors` (through a temporary file renamed into place) and
/// returns the path and the hash.
pub fn save(ac: &ActorCritic, dir: &Path) -> Result<(PathBuf, String)> {
    let (bytes, hash) = encode(ac)?;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| RlError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(".checkpoint-{}.tmp", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
    let path = dir.join(format!("{hash}.safetensors"));
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok((path, hash))
}

/// Loads the weights of the file `path` into `ac` (same architecture).
pub fn load(ac: &mut ActorCritic, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|source| RlError::Io {
        path: path.display().to_string(),
        source,
    })?;
    decode(ac, &bytes)
}
