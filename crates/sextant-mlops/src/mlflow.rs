//! An MLflow tracking-server client over its REST API 2.0, so teams see Sextant's runs, metrics,
//! artifacts and registered model versions in the MLflow UI.
//!
//! Only what an export needs: experiments, runs, batched metrics/params/tags, dataset inputs,
//! artifacts through the server's artifact proxy (`mlflow server --serve-artifacts`), registered
//! models, versions and aliases. Wire details verified against a real 3.17.2 server:
//!
//! * one `log-batch` holds at most 1,000 entities in all, of which at most 100 params and 100
//!   tags; [`MlflowClient::log_batch`] packs to that and reports the calls it made;
//! * non-finite metric values travel as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`;
//! * a dataset digest is at most 36 characters;
//! * alias versions are strings, and aliases (not the legacy stages) mark staging/production.
//!
//! Every call has a 10 s timeout; a refused call is an [`MlflowError`] with the server's
//! `error_code`, never a panic.

use serde_json::{json, Value};
use std::time::Duration;

/// Largest entities (metrics + params + tags) in one `log-batch`.
pub const BATCH_ENTITIES: usize = 1000;
/// Largest params or tags in one `log-batch`.
pub const BATCH_PARAMS: usize = 100;

/// A refused or failed MLflow call.
#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    /// The server answered with an error (`error_code` as MLflow names it).
    #[error("MLflow {call}: HTTP {status} {error_code}: {message}")]
    Refused {
        /// Which call.
        call: &'static str,
        /// HTTP status.
        status: u16,
        /// MLflow's error code, e.g. `RESOURCE_ALREADY_EXISTS`.
        error_code: String,
        /// The server's message.
        message: String,
    },
    /// No answer (connection, timeout) or an unreadable one.
    #[error("MLflow {call}: {message}")]
    Transport {
        /// Which call.
        call: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl MlflowError {
    /// The server's error code, if it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            MlflowError::Refused { error_code, .. } => Some(error_code),
            MlflowError::Transport { .. } => None,
        }
    }
}

/// One metric point.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Metric name (≤ 250 characters).
    pub key: String,
    /// Value; NaN and infinities are sent as MLflow's strings.
    pub value: f64,
    /// Step (fold, trial, horizon…).
    pub step: i64,
    /// When, in ms since the epoch.
    pub timestamp_ms: i64,
}

/// A created run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// MLflow's run id.
    pub run_id: String,
    /// Where its artifacts go (`mlflow-artifacts:/<exp>/<run>/artifacts` with a proxying server).
    pub artifact_uri: String,
}

/// A client of one tracking server.
#[derive(Debug, Clone)]
pub struct MlflowClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

fn kv(pairs: &[(String, String)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

fn metric_json(m: &Metric) -> Value {
    let value = if m.value.is_nan() {
        json!("NaN")
    } else if m.value == f64::INFINITY {
        json!("Infinity")
    } else if m.value == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(m.value)
    };
    json!({"key": m.key, "value": value, "step": m.step, "timestamp": m.timestamp_ms})
}

impl MlflowClient {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:5000`), with an optional bearer
    /// token for hosted servers.
    pub fn new(base: &str, token: Option<String>) -> Result<MlflowClient, MlflowError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| MlflowError::Transport {
                call: "client",
                message: e.to_string(),
            })?;
        Ok(MlflowClient {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(
        &self,
        call: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<Value, MlflowError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.map_err(|e| MlflowError::Transport {
            call,
            message: e.to_string(),
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| MlflowError::Transport {
            call,
            message: e.to_string(),
        })?;
        let body: Value = if text.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| json!({"message": text}))
        };
        if status.is_success() {
            return Ok(body);
        }
        Err(MlflowError::Refused {
            call,
            status: status.as_u16(),
            error_code: body["error_code"].as_str().unwrap_or("").to_string(),
            message: body["message"].as_str().unwrap_or("").to_string(),
        })
    }

    async fn post(
        &self,
        call: &'static str,
        path: &str,
        body: Value,
    ) -> Result<Value, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        self.send(call, self.http.post(url).json(&body)).await
    }

    async fn get(
        &self,
        call: &'static str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        self.send(call, self.http.get(url).query(query)).await
    }

    /// The id of experiment `name`, created when missing (a concurrent creation is re-read).
    pub async fn experiment_id(&self, name: &str) -> Result<String, MlflowError> {
        let found = self
            .get(
                "experiments/get-by-name",
                "experiments/get-by-name",
                &[("experiment_name", name)],
            )
            .await;
        match found {
            Ok(v) => return id_of(&v["experiment"]["experiment_id"], "experiments/get-by-name"),
            Err(e) if e.code() == Some("RESOURCE_DOES_NOT_EXIST") => {}
            Err(e) => return Err(e),
        }
        match self
            .post(
                "experiments/create",
                "experiments/create",
                json!({"name": name}),
            )
            .await
        {
            Ok(v) => id_of(&v["experiment_id"], "experiments/create"),
            Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => {
                let v = self
                    .get(
                        "experiments/get-by-name",
                        "experiments/get-by-name",
                        &[("experiment_name", name)],
                    )
                    .await?;
                id_of(&v["experiment"]["experiment_id"], "experiments/get-by-name")
            }
            Err(e) => Err(e),
        }
    }

    /// Starts a run in `experiment_id`.
    pub async fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        start_ms: i64,
        tags: &[(String, String)],
    ) -> Result<RunInfo, MlflowError> {
        let v = self
            .post(
                "runs/create",
                "runs/create",
                json!({"experiment_id": experiment_id, "run_name": run_name,
                       "start_time": start_ms, "tags": kv(tags)}),
            )
            .await?;
        let info = &v["run"]["info"];
        Ok(RunInfo {
            run_id: id_of(&info["run_id"], "runs/create")?,
            artifact_uri: match info["artifact_uri"].as_str() {
                Some(uri) if !uri.is_empty() => uri.to_string(),
                _ => {
                    return Err(MlflowError::Transport {
                        call: "runs/create",
                        message: format!("no artifact_uri in the answer ({info})"),
                    })
                }
            },
        })
    }

    /// Logs everything in as few `log-batch` calls as the limits allow; returns the calls made.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<usize, MlflowError> {
        let (mut m, mut p, mut t) = (0, 0, 0);
        let mut calls = 0;
        while m < metrics.len() || p < params.len() || t < tags.len() || calls == 0 {
            let np = (params.len() - p).min(BATCH_PARAMS);
            let nt = (tags.len() - t).min(BATCH_PARAMS);
            let nm = (metrics.len() - m).min(BATCH_ENTITIES - np - nt);
            let body = json!({
                "run_id": run_id,
                "metrics": metrics[m..m + nm].iter().map(metric_json).collect::<Vec<_>>(),
                "params": kv(&params[p..p + np]),
                "tags": kv(&tags[t..t + nt]),
            });
            self.post("runs/log-batch", "runs/log-batch", body).await?;
            calls += 1;
            (m, p, t) = (m + nm, p + np, t + nt);
            if nm + np + nt == 0 {
                break;
            }
        }
        Ok(calls)
    }

    /// Records the data snapshot a run read as its training dataset.
    pub async fn log_dataset(
        &self,
        run_id: &str,
        name: &str,
        snapshot: &str,
        source: &str,
    ) -> Result<(), MlflowError> {
        let digest: String = snapshot.chars().take(36).collect();
        let dataset = json!({"name": name, "digest": digest, "source_type": "sextant",
            "source": source, "schema": ""});
        self.post(
            "runs/log-inputs",
            "runs/log-inputs",
            json!({"run_id": run_id, "datasets": [{"dataset": dataset,
                "tags": [{"key": "mlflow.data.context", "value": "training"}]}]}),
        )
        .await
        .map(|_| ())
    }

    /// Uploads one artifact under the run's artifact root (needs a proxying server:
    /// `artifact_uri` must start with `mlflow-artifacts:/`).
    pub async fn upload_artifact(
        &self,
        run: &RunInfo,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), MlflowError> {
        let Some(root) = run.artifact_uri.strip_prefix("mlflow-artifacts:/") else {
            return Err(MlflowError::Transport {
                call: "artifacts/upload",
                message: format!(
                    "the server does not proxy artifacts (artifact root {}); start it with --serve-artifacts",
                    run.artifact_uri
                ),
            });
        };
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}/{}",
            self.base,
            root.trim_matches('/'),
            path.trim_start_matches('/')
        );
        self.send("artifacts/upload", self.http.put(url).body(bytes))
            .await
            .map(|_| ())
    }

    /// Ends a run (`FINISHED`, `FAILED` or `KILLED`).
    pub async fn end_run(
        &self,
        run_id: &str,
        status: &str,
        end_ms: i64,
    ) -> Result<(), MlflowError> {
        self.post(
            "runs/update",
            "runs/update",
            json!({"run_id": run_id, "status": status, "end_time": end_ms}),
        )
        .await
        .map(|_| ())
    }

    /// Creates registered model `name` (an existing one is fine).
    pub async fn ensure_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<(), MlflowError> {
        match self
            .post(
                "registered-models/create",
                "registered-models/create",
                json!({"name": name, "description": description}),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Registers a version of `name` from the run's `source` artifact path; returns the version.
    pub async fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        tags: &[(String, String)],
    ) -> Result<String, MlflowError> {
        let v = self
            .post(
                "model-versions/create",
                "model-versions/create",
                json!({"name": name, "source": source, "run_id": run_id, "tags": kv(tags)}),
            )
            .await?;
        id_of(&v["model_version"]["version"], "model-versions/create")
    }

    /// Points `alias` of `name` at `version` (moving it if set).
    pub async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<(), MlflowError> {
        self.post(
            "registered-models/alias",
            "registered-models/alias",
            json!({"name": name, "alias": alias, "version": version}),
        )
        .await
        .map(|_| ())
    }
}

fn id_of(v: &Value, call: &'static str) -> Result<String, MlflowError> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(MlflowError::Transport {
            call,
            message: format!("no id in the answer ({other})"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_travel_as_strings() {
        let m = |v| {
            metric_json(&Metric {
                key: "k".into(),
                value: v,
                step: 0,
                timestamp_ms: 1,
            })
        };
        assert_eq!(m(f64::NAN)["value"], "NaN");
        assert_eq!(m(f64::INFINITY)["value"], "Infinity");
        assert_eq!(m(f64::NEG_INFINITY)["value"], "-Infinity");
        assert_eq!(m(0.5)["value"], 0.5);
    }
}
