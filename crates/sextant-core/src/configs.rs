//! Saved strategy configurations: a library strategy with parameters validated against its
//! schema, a name and a description, owned by the key that saved them.

use crate::common::{find_page, from_doc, Actor, InvalidField, Page, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::strategy::build_strategy;
use sextant_meta::{Filter, MetaError, MetaStore, Query};
use std::sync::Arc;

/// Metadata collection of saved configs.
pub const CONFIGS: &str = "strategy_configs";

/// Why a config could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigStoreError {
    /// An input was rejected; the error names the field (HTTP 422).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No config has this id, or it belongs to another key (not revealed).
    #[error("no strategy config {0}")]
    NotFound(String),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// A stored config does not read back as one.
    #[error("stored config {id} is unreadable: {message}")]
    Corrupt {
        /// The config's id.
        id: String,
        /// What does not parse.
        message: String,
    },
}

/// What a caller saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInput {
    /// 1 to 100 characters (trimmed).
    pub name: String,
    /// A library strategy name.
    pub strategy: String,
    /// Parameters, validated against the strategy's schema. Default: `{}`.
    pub params: Option<Value>,
    /// Free text, at most 2000 characters.
    pub description: Option<String>,
}

/// A saved config as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyConfig {
    /// The config's id.
    pub id: String,
    /// Its name, trimmed.
    pub name: String,
    /// The library strategy.
    pub strategy: String,
    /// The parameters as saved (`{}` when none were given).
    pub params: Value,
    /// Free text, if any.
    pub description: Option<String>,
    /// When it was saved first (RFC 3339, UTC).
    pub created_at: String,
    /// When it was last replaced (RFC 3339, UTC).
    pub updated_at: String,
    /// The key that saved it; none for a config saved before configs had owners (admins only).
    #[serde(default)]
    pub owner: Option<String>,
}

/// Saves, lists, replaces and deletes strategy configs on behalf of an [`Actor`].
pub struct StrategyConfigService {
    meta: Arc<dyn MetaStore>,
}

impl StrategyConfigService {
    /// The service over `meta`.
    pub fn new(meta: Arc<dyn MetaStore>) -> Self {
        StrategyConfigService { meta }
    }

    /// The actor's configs (every config for an admin), newest first.
    pub async fn list(
        &self,
        actor: Actor<'_>,
        page: &PageRequest,
    ) -> Result<Page<StrategyConfig>, ConfigStoreError> {
        let filter = actor
            .scope()
            .map_or_else(Filter::new, |key| Filter::new().eq("owner", key));
        let query = Query::new().filter(filter).sort_desc("created_at");
        let page = find_page::<ConfigStoreError>(self.meta.as_ref(), CONFIGS, query, page).await?;
        page.try_map(read)
    }

    /// Validates and saves `input` as `owner`'s.
    pub async fn create(
        &self,
        input: &ConfigInput,
        owner: &str,
    ) -> Result<StrategyConfig, ConfigStoreError> {
        let params = validate(input)?;
        let now = chrono::Utc::now().to_rfc3339();
        let doc = json!({"name": input.name.trim(), "strategy": input.strategy, "params": params,
            "description": input.description, "created_at": now, "updated_at": now,
            "owner": owner});
        let id = self.meta.insert(CONFIGS, doc).await?;
        read(self.meta.get_required(CONFIGS, &id).await?)
    }

    /// Config `id` if `actor` may use it (its owner or an admin); another key's is not found.
    pub async fn get_as(
        &self,
        id: &str,
        actor: Actor<'_>,
    ) -> Result<StrategyConfig, ConfigStoreError> {
        let doc = match self.meta.get(CONFIGS, id).await {
            Ok(Some(doc)) => doc,
            // An id the store cannot even hold names no config.
            Ok(None) | Err(MetaError::Invalid(_)) => {
                return Err(ConfigStoreError::NotFound(id.into()))
            }
            Err(e) => return Err(e.into()),
        };
        let config = read(doc)?;
        let allowed = match &config.owner {
            Some(owner) => actor.may(owner),
            None => actor.admin,
        };
        if allowed {
            Ok(config)
        } else {
            Err(ConfigStoreError::NotFound(id.into()))
        }
    }

    /// Replaces config `id` with `input` (validated again), keeping its owner and creation time.
    pub async fn replace_as(
        &self,
        id: &str,
        input: &ConfigInput,
        actor: Actor<'_>,
    ) -> Result<StrategyConfig, ConfigStoreError> {
        let params = validate(input)?;
        let existing = self.get_as(id, actor).await?;
        let doc = json!({"name": input.name.trim(), "strategy": input.strategy, "params": params,
            "description": input.description, "created_at": existing.created_at,
            "updated_at": chrono::Utc::now().to_rfc3339(), "owner": existing.owner});
        self.meta.replace(CONFIGS, id, doc).await?;
        read(self.meta.get_required(CONFIGS, id).await?)
    }

    /// Deletes config `id` if `actor` may use it.
    pub async fn delete_as(&self, id: &str, actor: Actor<'_>) -> Result<(), ConfigStoreError> {
        self.get_as(id, actor).await?;
        if self.meta.delete(CONFIGS, id).await? {
            Ok(())
        } else {
            Err(ConfigStoreError::NotFound(id.into()))
        }
    }
}

/// Checks the name, the description and the parameters against the strategy's schema;
/// returns the parameters to store.
fn validate(input: &ConfigInput) -> Result<Value, InvalidField> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(InvalidField::new("name", "1 to 100 characters"));
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2000)
    {
        return Err(InvalidField::new("description", "at most 2000 characters"));
    }
    let params = input.params.clone().unwrap_or_else(|| json!({}));
    build_strategy(&input.strategy, &params).map_err(|e| {
        let field = e
            .field()
            .map(|f| format!("params.{f}"))
            .unwrap_or_else(|| "strategy".into());
        InvalidField::new(field, e.to_string())
    })?;
    Ok(params)
}

fn read(doc: Value) -> Result<StrategyConfig, ConfigStoreError> {
    let id = doc
        .get("_id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    from_doc(doc).map_err(|e| ConfigStoreError::Corrupt {
        id,
        message: e.to_string(),
    })
}
