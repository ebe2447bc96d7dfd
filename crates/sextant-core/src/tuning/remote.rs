//! Trial batches on remote workers: the study's coordinator (the `optimize` job, on the server)
//! asks batches exactly as a local run does and sends each batch's evaluation out as
//! `trial_batch` child jobs; a worker loads the study's data snapshot, rebuilds the objective
//! and the pruner's view of the finished trials from the store, and evaluates with the same
//! function a local run uses ([`sextant_tuning::runner::evaluate_batch`]). The outcomes come
//! back bit for bit (floats travel as their IEEE-754 bits), so the study is the one a single
//! process would have run.

use super::{build_objective, store, TuningServiceError};
use crate::backtest::BacktestService;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_data::Cache;
use sextant_meta::MetaStore;
use sextant_tuning::backtest::BacktestObjective;
use sextant_tuning::pruner::Snapshot;
use sextant_tuning::runner::{evaluate_batch, Batch};
use sextant_tuning::Outcome;
use std::sync::Arc;

/// Runs child jobs (one per parameter object) and returns their results in order.
pub type Dispatch =
    Arc<dyn Fn(Vec<Value>) -> Result<Vec<Result<Value, String>>, TuningServiceError> + Send + Sync>;

/// How a study sends its batches to workers.
#[derive(Clone)]
pub struct RemoteTrials {
    /// The data snapshot (manifest hash) workers load the study's bars from.
    pub snapshot: String,
    /// Pieces each batch is split into (the live workers' job slots).
    pub slots: usize,
    /// Runs `trial_batch` child jobs.
    pub dispatch: Dispatch,
}

/// Parameters of a `trial_batch` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialBatchParams {
    /// The study.
    pub study: String,
    /// Its data snapshot (manifest hash).
    pub snapshot: String,
    /// The batch's first trial number: pruning sees the stored trials numbered below it.
    pub first: u32,
    /// `(trial number, strategy parameter object)` to evaluate.
    pub items: Vec<(u32, Value)>,
}

/// Exact text form of a float (its bits in hex): JSON cannot carry NaN or infinities, and a
/// decimal round trip is exact only where the parser is.
pub fn f64_to_wire(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

/// The inverse of [`f64_to_wire`].
pub fn f64_from_wire(s: &str) -> Result<f64, TuningServiceError> {
    u64::from_str_radix(s, 16)
        .map(f64::from_bits)
        .map_err(|e| TuningServiceError::Internal(format!("bad float {s:?} from a worker: {e}")))
}

/// Floats in their wire form ([`f64_to_wire`]).
pub fn floats_to_wire(v: &[f64]) -> Vec<String> {
    v.iter().map(|x| f64_to_wire(*x)).collect()
}

/// A wire float held in a JSON value: anything but its string is an error, never a default.
pub fn f64_from_wire_value(v: Option<&Value>) -> Result<f64, TuningServiceError> {
    match v.and_then(Value::as_str) {
        Some(s) => f64_from_wire(s),
        None => Err(TuningServiceError::Internal(format!(
            "expected a float in wire form from a worker, got {v:?}"
        ))),
    }
}

/// A list of wire floats held in a JSON value: anything but an array of them is an error.
pub fn floats_from_wire(v: Option<&Value>) -> Result<Vec<f64>, TuningServiceError> {
    match v.and_then(Value::as_array) {
        Some(a) => a.iter().map(|x| f64_from_wire_value(Some(x))).collect(),
        None => Err(TuningServiceError::Internal(format!(
            "expected a list of floats in wire form from a worker, got {v:?}"
        ))),
    }
}

fn encode(results: &[(u32, Outcome, f64)]) -> Value {
    let outcomes: Vec<Value> = results
        .iter()
        .map(|(n, o, ms)| match o {
            Outcome::Complete {
                values,
                intermediate,
            } => json!({"n": n, "state": "complete", "values": floats_to_wire(values),
                        "intermediate": floats_to_wire(intermediate), "ms": ms}),
            Outcome::Pruned { intermediate } => {
                json!({"n": n, "state": "pruned", "intermediate": floats_to_wire(intermediate), "ms": ms})
            }
            Outcome::Failed(e) => json!({"n": n, "state": "failed", "error": e, "ms": ms}),
        })
        .collect();
    json!({ "outcomes": outcomes })
}

fn decode(v: &Value) -> Result<Vec<(u32, Outcome, f64)>, TuningServiceError> {
    let bad = || TuningServiceError::Internal(format!("malformed trial batch result: {v}"));
    let list = v
        .get("outcomes")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    list.iter()
        .map(|o| {
            let n = o.get("n").and_then(Value::as_u64).ok_or_else(bad)? as u32;
            let ms = o.get("ms").and_then(Value::as_f64).ok_or_else(bad)?;
            let outcome = match o.get("state").and_then(Value::as_str) {
                Some("complete") => Outcome::Complete {
                    values: floats_from_wire(o.get("values"))?,
                    intermediate: floats_from_wire(o.get("intermediate"))?,
                },
                Some("pruned") => Outcome::Pruned {
                    intermediate: floats_from_wire(o.get("intermediate"))?,
                },
                Some("failed") => Outcome::Failed(
                    o.get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("failed")
                        .to_string(),
                ),
                _ => return Err(bad()),
            };
            Ok((n, outcome, ms))
        })
        .collect()
}

impl RemoteTrials {
    /// Evaluates a batch on the workers: split into at most `slots` child jobs, results in
    /// item order. A child that fails fails the study (resumable: run it again to continue).
    pub(crate) fn evaluate(
        &self,
        study: &str,
        b: &Batch<'_>,
    ) -> Result<Vec<(u32, Outcome, f64)>, TuningServiceError> {
        let chunk = b.items.len().div_ceil(self.slots.max(1)).max(1);
        let params: Vec<Value> = b
            .items
            .chunks(chunk)
            .map(|c| {
                json!(TrialBatchParams {
                    study: study.to_string(),
                    snapshot: self.snapshot.clone(),
                    first: b.first,
                    items: c.to_vec(),
                })
            })
            .collect();
        let mut out = Vec::with_capacity(b.items.len());
        for r in (self.dispatch)(params)? {
            match r {
                Ok(v) => out.extend(decode(&v)?),
                Err(e) if e == "cancelled" => return Err(TuningServiceError::Cancelled),
                Err(e) => {
                    return Err(TuningServiceError::Internal(format!(
                        "a trial batch failed on its worker: {e}"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// Objectives a worker built recently, by study and snapshot: the batches of one study come
/// one after another, and loading its bars and building its folds once saves that per batch.
#[derive(Default)]
pub struct Objectives {
    recent: std::sync::Mutex<std::collections::VecDeque<(String, Arc<BacktestObjective>)>>,
}

/// Objectives kept by [`Objectives`].
const KEEP_OBJECTIVES: usize = 4;

impl Objectives {
    fn get(&self, key: &str) -> Option<Arc<BacktestObjective>> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, o)| o.clone())
    }

    fn put(&self, key: String, o: Arc<BacktestObjective>) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|(k, _)| *k != key);
        recent.push_front((key, o));
        recent.truncate(KEEP_OBJECTIVES);
    }
}

/// Worker side of a `trial_batch` job: evaluates the items on the snapshot `cache` and returns
/// the encoded outcomes.
pub async fn evaluate_trial_batch(
    meta: &dyn MetaStore,
    cache: Arc<Cache>,
    objectives: Arc<Objectives>,
    p: TrialBatchParams,
    stop: Arc<dyn Fn() -> bool + Send + Sync>,
) -> Result<Value, TuningServiceError> {
    let study = store::get_study(meta, &p.study)
        .await?
        .ok_or_else(|| TuningServiceError::NotFound(p.study.clone()))?;
    let req = study.request.clone();
    let spec = req.validate()?;
    let mut before: Vec<_> = store::trials(meta, &p.study)
        .await?
        .iter()
        .map(store::TrialRecord::trial)
        .filter(|t| t.number < p.first)
        .collect();
    before.sort_by_key(|t| t.number);
    tokio::task::spawn_blocking(move || {
        let key = format!("{}/{}", p.study, p.snapshot);
        let objective = match objectives.get(&key) {
            Some(o) => o,
            None => {
                let data = BacktestService::load(cache.as_ref(), &req.backtest)?;
                if data.snapshot != study.data_snapshot {
                    return Err(TuningServiceError::Internal(format!(
                        "snapshot {} holds other bars than study {} ran on (data {} here, {} there)",
                        p.snapshot, p.study, data.snapshot, study.data_snapshot
                    )));
                }
                let o = Arc::new(build_objective(&req, data)?);
                objectives.put(key, o.clone());
                o
            }
        };
        let prune = Snapshot::new(spec.pruner, &before);
        let results = evaluate_batch(
            objective.as_ref(),
            &p.items,
            &prune,
            spec.directions[0],
            &|| stop(),
        );
        if stop() {
            return Err(TuningServiceError::Cancelled);
        }
        Ok(encode(&results))
    })
    .await
    .map_err(|e| TuningServiceError::Internal(format!("trial batch task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_travel_bit_for_bit() {
        let results = vec![
            (
                3,
                Outcome::Complete {
                    values: vec![0.1 + 0.2, f64::NAN, f64::NEG_INFINITY, -0.0],
                    intermediate: vec![1.0 / 3.0],
                },
                1.5,
            ),
            (
                4,
                Outcome::Pruned {
                    intermediate: vec![f64::MIN_POSITIVE, f64::MAX],
                },
                0.0,
            ),
            (5, Outcome::Failed("constraint".into()), 2.0),
        ];
        let back = decode(&encode(&results)).expect("decode");
        assert_eq!(back.len(), 3);
        for ((n, a, ms), (m, b, ms2)) in results.iter().zip(&back) {
            assert_eq!((n, ms), (m, ms2));
            let bits = |o: &Outcome| -> Vec<u64> {
                match o {
                    Outcome::Complete {
                        values,
                        intermediate,
                    } => values
                        .iter()
                        .chain(intermediate)
                        .map(|x| x.to_bits())
                        .collect(),
                    Outcome::Pruned { intermediate } => {
                        intermediate.iter().map(|x| x.to_bits()).collect()
                    }
                    Outcome::Failed(_) => Vec::new(),
                }
            };
            assert_eq!(bits(a), bits(b));
            assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b));
        }
        assert!(decode(&json!({"outcomes": [{"n": 1, "state": "odd"}]})).is_err());
        assert!(f64_from_wire("zz").is_err());
    }
}
