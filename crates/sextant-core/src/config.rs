//! Configuration: built-in defaults, then a TOML file, then `SEXTANT_*` environment variables
//! (and `ALPHAVANTAGE_API_KEY`). Every key is optional: a fresh clone runs with no file at all.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file exists (or was named) but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file, as given or found.
        path: String,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match [`Config`]: a wrong type, or a key that does
    /// not exist (unknown keys are rejected so that typos do not pass silently).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file, as given or found.
        path: String,
        /// The parser's explanation, with the position of the fault.
        message: String,
    },
    /// An environment variable of [`ENV_VARS`] holds a value its setting cannot take.
    #[error("invalid value for {var}: {message}")]
    Env {
        /// The variable, e.g. `SEXTANT_LOAD_SAMPLE`.
        var: String,
        /// What was expected instead.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory for the DuckDB cache, the embedded metadata store and run artefacts.
    pub data_dir: PathBuf,
    /// Load the bundled sample data into an empty cache on first use.
    pub load_sample: bool,
    /// Where services store metadata (runs, models, portfolios, jobs). TOML table `[metadata]`.
    pub metadata: MetadataConfig,
    /// The Alpha Vantage market-data provider. TOML table `[alphavantage]`.
    pub alphavantage: AlphaVantageSettings,
    /// The HTTP server of `sextant serve`. TOML table `[server]`.
    pub server: ServerConfig,
    /// The language model that writes report narratives. TOML table `[llm]`.
    pub llm: LlmSettings,
    /// The data-quality checks every ingest runs, and whether failing rows are quarantined.
    pub quality: sextant_quality::QualityConfig,
    /// The strategy builder and the ChatOps agent. TOML table `[agents]`.
    pub agents: AgentsSettings,
    /// Run tracking, its MLflow mirror and drift bands. TOML table `[mlops]`.
    pub mlops: MlopsSettings,
    /// Where artefacts that travel (RL checkpoints) are kept: the data directory by default, an
    /// S3-compatible bucket by `url`. TOML table `[objects]`.
    pub objects: sextant_objects::ObjectsConfig,
    /// The job pool and the NATS JetStream transport to remote workers. TOML table `[jobs]`.
    pub jobs: JobsSettings,
}

/// Model operations. Runs are always tracked in the metadata store; with `mlflow_uri` they are
/// also exported to that MLflow tracking server (started with `--serve-artifacts` so artifacts
/// can be uploaded through it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MlopsSettings {
    /// MLflow tracking server, e.g. `http://127.0.0.1:5000`. Default: none (embedded tracking
    /// only). Env: `SEXTANT_MLFLOW_URI`.
    pub mlflow_uri: Option<String>,
    /// Bearer token for a hosted MLflow. Never written back out. Env: `SEXTANT_MLFLOW_TOKEN`.
    #[serde(skip_serializing)]
    pub mlflow_token: Option<String>,
    /// MLflow experiments are named `<prefix>/<kind>` (`sextant/training`). Default: `sextant`.
    pub experiment_prefix: String,
    /// PSI at which a feature is reported as drifting. Default: 0.1.
    pub drift_warn: f64,
    /// PSI at which drift alerts. Default: 0.25.
    pub drift_alert: f64,
    /// An http(s) URL every drift check that reaches the alert band is POSTed to as JSON
    /// (`{event: "model_drift_alert", model_id, …}`). Default: none. Env:
    /// `SEXTANT_DRIFT_WEBHOOK`.
    pub drift_webhook: Option<String>,
}

impl Default for MlopsSettings {
    fn default() -> Self {
        MlopsSettings {
            mlflow_uri: None,
            mlflow_token: None,
            experiment_prefix: "sextant".into(),
            drift_warn: 0.1,
            drift_alert: 0.25,
            drift_webhook: None,
        }
    }
}

/// The strategy builder and the ChatOps agent. Both use the `[llm]` model when `[llm]`
/// `provider` is `openai`, and answer offline otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsSettings {
    /// `minilm` (all-MiniLM-L6-v2 in process, from `scripts/setup-minilm`) or `openai` (an
    /// OpenAI-compatible `/embeddings` endpoint). Default: `minilm`. Env: `SEXTANT_EMBEDDINGS`.
    pub embeddings: String,
    /// Where the MiniLM files are. Default: `$SEXTANT_MINILM_DIR`, else
    /// `~/.cache/sextant/models/all-MiniLM-L6-v2`.
    pub minilm_dir: Option<PathBuf>,
    /// Base URL of the embeddings endpoint (`openai` only). Default:
    /// `https://api.openai.com/v1`. Env: `SEXTANT_EMBEDDINGS_BASE_URL`.
    pub embeddings_base_url: String,
    /// Embedding model name (`openai` only). Default: `text-embedding-3-large`.
    /// Env: `SEXTANT_EMBEDDINGS_MODEL`.
    pub embeddings_model: String,
    /// Length of the endpoint's vectors. Default: `3072` (text-embedding-3-large).
    pub embeddings_dimension: usize,
    /// Never written back out. Env: `SEXTANT_EMBEDDINGS_API_KEY`.
    #[serde(skip_serializing)]
    pub embeddings_api_key: Option<String>,
    /// Slack app signing secret; without it the Slack endpoint answers 503. Never written
    /// back out. Env: `SEXTANT_SLACK_SIGNING_SECRET`.
    #[serde(skip_serializing)]
    pub slack_signing_secret: Option<String>,
    /// Role of each Slack user id (`U2CERLKJA = "analyst"`); users not listed act as viewers.
    pub slack_roles: std::collections::BTreeMap<String, sextant_domain::Role>,
}

impl Default for AgentsSettings {
    fn default() -> Self {
        AgentsSettings {
            embeddings: "minilm".into(),
            minilm_dir: None,
            embeddings_base_url: "https://api.openai.com/v1".into(),
            embeddings_model: "text-embedding-3-large".into(),
            embeddings_dimension: 3072,
            embeddings_api_key: None,
            slack_signing_secret: None,
            slack_roles: Default::default(),
        }
    }
}

/// The language model behind narratives. `offline` (default) needs nothing: a deterministic
/// provider writes the grounded template. `openai` speaks the Chat Completions protocol to any
/// compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    /// `offline` or `openai`; any other value makes the report service fall back to the offline
    /// writer and report the error. Default: `offline`. Env: `SEXTANT_LLM_PROVIDER`.
    pub provider: String,
    /// Base URL of the Chat Completions endpoint (used by `openai` only).
    /// Default: `http://127.0.0.1:11434/v1` (a local Ollama). Env: `SEXTANT_LLM_BASE_URL`.
    pub base_url: String,
    /// Model name sent to the endpoint. Default: `llama3.1`. Env: `SEXTANT_LLM_MODEL`.
    pub model: String,
    /// Never written back out.
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Timeout of one request to the endpoint, in seconds; 0 counts as 1. Default: `60`.
    /// TOML key `llm.timeout_secs` (no environment variable).
    pub timeout_secs: u64,
    /// Attempts (first try plus re-prompts with the violations) before the grounded template.
    pub max_attempts: usize,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            provider: "offline".into(),
            base_url: "http://127.0.0.1:11434/v1".into(),
            model: "llama3.1".into(),
            api_key: None,
            timeout_secs: 60,
            max_attempts: 3,
        }
    }
}

/// Which metadata store holds runs, models, portfolios, watchlists and jobs. TOML table
/// `[metadata]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataConfig {
    /// `embedded` (a SQLite file in the data directory) or `mongodb`.
    pub backend: String,
    /// Connection string used when `backend` is `mongodb`.
    /// Default: `mongodb://127.0.0.1:27017`. Env: `SEXTANT_MONGODB_URI`.
    pub mongodb_uri: String,
    /// Database used when `backend` is `mongodb`. Default: `sextant`.
    /// Env: `SEXTANT_MONGODB_DATABASE`.
    pub mongodb_database: String,
}

/// The Alpha Vantage market-data provider. Without an API key the services still start; every
/// fetch then fails with a missing-key error before any request is sent. TOML table
/// `[alphavantage]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlphaVantageSettings {
    /// Never written back out: `Serialize` skips it so `sextant config` cannot leak it.
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Endpoint of the API. Default: `https://www.alphavantage.co/query`.
    /// Env: `SEXTANT_ALPHAVANTAGE_BASE_URL`.
    pub base_url: String,
    /// Client-side rate limit, requests per minute; 0 makes [`crate::Services::build`] fail.
    /// Default: `5`. Env: `SEXTANT_ALPHAVANTAGE_PER_MINUTE`.
    pub requests_per_minute: u32,
    /// Client-side limit, requests per day; 0 makes [`crate::Services::build`] fail.
    /// Default: `25`. Env: `SEXTANT_ALPHAVANTAGE_PER_DAY`.
    pub requests_per_day: u32,
    /// Use the adjusted endpoints (dividends, splits, adjusted close).
    pub adjusted: bool,
}

/// The HTTP server of `sextant serve`. TOML table `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Socket address the server listens on; `sextant serve --addr` overrides it.
    /// Default: `127.0.0.1:8077`. Env: `SEXTANT_SERVER_ADDR`.
    pub addr: String,
    /// Serve the dashboard's own files from this directory, re-read on every request, instead
    /// of the copy embedded in the binary (front-end development without a rebuild).
    /// Default: none. Env: `SEXTANT_WEB_DIR`.
    pub web_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: default_data_dir(),
            load_sample: true,
            metadata: MetadataConfig::default(),
            alphavantage: AlphaVantageSettings::default(),
            server: ServerConfig::default(),
            llm: LlmSettings::default(),
            quality: sextant_quality::QualityConfig::default(),
            agents: AgentsSettings::default(),
            mlops: MlopsSettings::default(),
            objects: sextant_objects::ObjectsConfig::default(),
            jobs: JobsSettings::default(),
        }
    }
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            backend: "embedded".into(),
            mongodb_uri: "mongodb://127.0.0.1:27017".into(),
            mongodb_database: "sextant".into(),
        }
    }
}

impl Default for AlphaVantageSettings {
    fn default() -> Self {
        AlphaVantageSettings {
            api_key: None,
            base_url: "https://www.alphavantage.co/query".into(),
            requests_per_minute: 5,
            requests_per_day: 25,
            adjusted: false,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:8077".into(),
            web_dir: None,
        }
    }
}

/// `$XDG_DATA_HOME/sextant`, else `~/.local/share/sextant`, else `./.sextant`.
fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("sextant");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/share/sextant"),
        None => PathBuf::from(".sextant"),
    }
}

/// One environment override: variable, description (for `--help` and the README), setter.
pub type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// Every `SEXTANT_*` variable Sextant reads, with its description.
pub fn env_vars() -> impl Iterator<Item = &'static (&'static str, &'static str, Setter)> {
    ENV_VARS.iter().chain(jobs::JOB_ENV_VARS)
}

/// The `SEXTANT_*` variables of every section but `[jobs]` (see [`env_vars`]).
const ENV_VARS: &[(&str, &str, Setter)] = &[
    ("SEXTANT_DATA_DIR", "data directory", |c, v| {
        c.data_dir = PathBuf::from(v);
        Ok(())
    }),
    (
        "SEXTANT_LOAD_SAMPLE",
        "load the bundled sample into an empty cache (true/false)",
        |c, v| {
            c.load_sample = parse_bool(v)?;
            Ok(())
        },
    ),
    (
        "SEXTANT_QUALITY_ENABLED",
        "run the data-quality checks on every ingest (true/false)",
        |c, v| {
            c.quality.enabled = parse_bool(v)?;
            Ok(())
        },
    ),
    (
        "SEXTANT_QUALITY_QUARANTINE",
        "hold rows that fail a check out of the cache until reviewed (true/false; false = flag only)",
        |c, v| {
            c.quality.quarantine = parse_bool(v)?;
            Ok(())
        },
    ),
    (
        "SEXTANT_QUALITY_POLICY",
        "which findings hold a bar: provable (default: structural faults and provable spikes), structural, strict",
        |c, v| {
            c.quality.policy = sextant_quality::QualityPolicy::parse(v).ok_or_else(|| {
                format!("SEXTANT_QUALITY_POLICY={v:?}: expected provable, structural or strict")
            })?;
            Ok(())
        },
    ),
    ("SEXTANT_METADATA_BACKEND", "embedded | mongodb", |c, v| {
        c.metadata.backend = v.to_string();
        Ok(())
    }),
    (
        "SEXTANT_MONGODB_URI",
        "MongoDB connection string",
        |c, v| {
            c.metadata.mongodb_uri = v.to_string();
            Ok(())
        },
    ),
    (
        "SEXTANT_MONGODB_DATABASE",
        "MongoDB database name",
        |c, v| {
            c.metadata.mongodb_database = v.to_string();
            Ok(())
        },
    ),
    ("ALPHAVANTAGE_API_KEY", "Alpha Vantage API key", |c, v| {
        c.alphavantage.api_key = Some(v.to_string());
        Ok(())
    }),
    (
        "SEXTANT_ALPHAVANTAGE_BASE_URL",
        "Alpha Vantage base URL",
        |c, v| {
            c.alphavantage.base_url = v.to_string();
            Ok(())
        },
    ),
    (
        "SEXTANT_ALPHAVANTAGE_PER_MINUTE",
        "client-side limit, requests per minute",
        |c, v| {
            c.alphavantage.requests_per_minute = v.parse().map_err(|e| format!("{e}"))?;
            Ok(())
        },
    ),
    (
        "SEXTANT_ALPHAVANTAGE_PER_DAY",
        "client-side limit, requests per day",
        |c, v| {
            c.alphavantage.requests_per_day = v.parse().map_err(|e| format!("{e}"))?;
            Ok(())
        },
    ),
    (
        "SEXTANT_LLM_PROVIDER",
        "offline | openai (any Chat Completions endpoint)",
        |c, v| {
            c.llm.provider = v.to_string();
            Ok(())
        },
    ),
    (
        "SEXTANT_LLM_BASE_URL",
        "Chat Completions base URL, e.g. http://127.0.0.1:11434/v1",
        |c, v| {
            c.llm.base_url = v.to_string();
            Ok(())
        },
    ),
    ("SEXTANT_LLM_MODEL", "model name", |c, v| {
        c.llm.model = v.to_string();
        Ok(())
    }),
    (
        "SEXTANT_LLM_API_KEY",
        "API key of the LLM endpoint (never printed)",
        |c, v| {
            c.llm.api_key = Some(v.to_string());
            Ok(())
        },
    ),
    ("SEXTANT_EMBEDDINGS", "minilm | openai (an /embeddings endpoint)", |c, v| {
        c.agents.embeddings = v.to_string();
        Ok(())
    }),
    ("SEXTANT_EMBEDDINGS_BASE_URL", "embeddings endpoint base URL", |c, v| {
        c.agents.embeddings_base_url = v.to_string();
        Ok(())
    }),
    ("SEXTANT_EMBEDDINGS_MODEL", "embedding model name", |c, v| {
        c.agents.embeddings_model = v.to_string();
        Ok(())
    }),
    (
        "SEXTANT_EMBEDDINGS_API_KEY",
        "API key of the embeddings endpoint (never printed)",
        |c, v| {
            c.agents.embeddings_api_key = Some(v.to_string());
            Ok(())
        },
    ),
    (
        "SEXTANT_SLACK_SIGNING_SECRET",
        "Slack app signing secret (never printed)",
        |c, v| {
            c.agents.slack_signing_secret = Some(v.to_string());
            Ok(())
        },
    ),
    (
        "SEXTANT_SERVER_ADDR",
        "address `sextant serve` listens on",
        |c, v| {
            c.server.addr = v.to_string();
            Ok(())
        },
    ),
    (
        "SEXTANT_MLFLOW_URI",
        "MLflow tracking server runs are also exported to",
        |c, v| {
            c.mlops.mlflow_uri = Some(v.to_string());
            Ok(())
        },
    ),
    (
        "SEXTANT_DRIFT_WEBHOOK",
        "URL drift alerts are posted to",
        |c, v| {
            c.mlops.drift_webhook = Some(v.to_string());
            Ok(())
        },
    ),
    (
        "SEXTANT_MLFLOW_TOKEN",
        "bearer token of the MLflow server (never printed)",
        |c, v| {
            c.mlops.mlflow_token = Some(v.to_string());
            Ok(())
        },
    ),
    (
        "SEXTANT_OBJECTS_URL",
        "s3://bucket[/prefix] for checkpoints (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        |c, v| {
            c.objects.url = Some(v.to_string());
            Ok(())
        },
    ),
    ("SEXTANT_S3_ENDPOINT", "S3-compatible server endpoint", |c, v| {
        c.objects.endpoint = Some(v.to_string());
        Ok(())
    }),
    ("SEXTANT_S3_REGION", "S3 region", |c, v| {
        c.objects.region = Some(v.to_string());
        Ok(())
    }),
    (
        "SEXTANT_WEB_DIR",
        "serve the dashboard's files from this directory (development)",
        |c, v| {
            c.server.web_dir = Some(PathBuf::from(v));
            Ok(())
        },
    ),
];

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

impl Config {
    /// Defaults, then `file` (or `$SEXTANT_CONFIG`, or `<data_dir>/sextant.toml` if it exists),
    /// then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_in(file, None)
    }

    /// As [`Config::load`] for a data directory given on the command line: it comes before
    /// `$SEXTANT_DATA_DIR` and the file's `data_dir`, including where `sextant.toml` is looked
    /// for (`sextant --data-dir D` reads `D/sextant.toml`).
    pub fn load_in(file: Option<&Path>, data_dir: Option<&Path>) -> Result<Config, ConfigError> {
        let mut env: Vec<(String, String)> = std::env::vars().collect();
        if let Some(d) = data_dir {
            env.insert(
                0,
                ("SEXTANT_DATA_DIR".into(), d.to_string_lossy().into_owned()),
            );
        }
        let mut cfg = Self::load_from(file, &env)?;
        if let Some(d) = data_dir {
            cfg.data_dir = d.to_path_buf();
        }
        Ok(cfg)
    }

    /// As [`Config::load`] with an explicit environment (tests).
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let explicit = file
            .map(Path::to_path_buf)
            .or_else(|| get("SEXTANT_CONFIG").map(PathBuf::from));
        let mut cfg = match &explicit {
            Some(p) => Self::from_file(p)?,
            None => Config::default(),
        };
        if explicit.is_none() {
            let data_dir = get("SEXTANT_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| cfg.data_dir.clone());
            let implicit = data_dir.join("sextant.toml");
            if implicit.is_file() {
                cfg = Self::from_file(&implicit)?;
            }
        }
        for (var, _, set) in env_vars() {
            if let Some(v) = get(var) {
                set(&mut cfg, &v).map_err(|message| ConfigError::Env {
                    var: (*var).to_string(),
                    message,
                })?;
            }
        }
        Ok(cfg)
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The DuckDB market-data cache file.
    pub fn cache_path(&self) -> PathBuf {
        self.data_dir.join("market.duckdb")
    }

    /// The embedded metadata store file.
    pub fn metadata_path(&self) -> PathBuf {
        self.data_dir.join("metadata.sqlite")
    }
}

mod jobs;
pub use jobs::JobsSettings;

#[cfg(test)]
mod tests;
