//! Saved user-defined strategies (the rule language, `sextant_backtest::rules`): versioned
//! documents owned by the key that saved them, each version checked, compiled and put through
//! the truncation test before it is stored.
//!
//! A strategy has a stable id (`usd_` and 16 hex digits) and versions 1, 2, …; saving again
//! under the id adds a version, and old versions stay readable, so a run that named
//! `usd_…@2` can be re-read. A backtest names a saved definition as
//! `{"strategy": "rules", "params": {"definition": "usd_…"}}` (the latest version) or
//! `"usd_…@2"`; [`DefinitionService::resolve_params`] puts the document itself in its place
//! before the run, so the run's manifest, and its id, carry the exact definition used.

use crate::common::{find_page, Actor, InvalidField, Page, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::rules::{self, RuleDoc, RuleError, TruncationReport};
use sextant_meta::{Filter, MetaError, MetaStore, Query};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Metadata collection of saved strategies: one header per id.
pub const DEFINITIONS: &str = "strategy_definitions";
/// Metadata collection of their versions, keyed `{id}@{version}`.
pub const VERSIONS: &str = "strategy_definition_versions";
/// Most versions one strategy keeps.
pub const MAX_VERSIONS: u32 = 1_000;

/// Why a definition could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The definition (or another input) was rejected; the field names the place in the
    /// document, the message quotes the offending token (HTTP 422).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No strategy (or version) has this id, or it belongs to another key (not revealed).
    #[error("no saved strategy {0}")]
    NotFound(String),
    /// Another save of the same strategy won the race for this version number (HTTP 409).
    #[error("strategy {0} was changed concurrently; read it and save again")]
    Conflict(String),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// A stored record does not read back.
    #[error("stored strategy {id} is unreadable: {message}")]
    Corrupt {
        /// The record's id.
        id: String,
        /// What does not parse.
        message: String,
    },
}

/// One stored version of a strategy, with what checking it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionVersion {
    /// The strategy's id.
    pub id: String,
    /// This version's number, from 1.
    pub version: u32,
    /// The definition's name.
    pub name: String,
    /// The definition as saved.
    pub definition: Value,
    /// sha256 of the definition's canonical JSON.
    pub sha256: String,
    /// JSON Schema of its parameters (ranges a tuner searches).
    pub params_schema: Value,
    /// What `sextant strategy check` prints: parameters, compiled rules, warm-up, data.
    pub explain: String,
    /// External series it reads (`ml_proba:…`, `regime:…`).
    pub references: Vec<String>,
    /// The truncation test it passed when saved.
    pub truncation: TruncationReport,
    /// The key that saved it.
    pub owner: String,
    /// When this version was saved (RFC 3339, UTC).
    pub created_at: String,
}

/// A strategy's header: its name, owner and latest version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionHeader {
    /// `usd_` and 16 hex digits.
    pub id: String,
    /// The latest version's name.
    pub name: String,
    /// The latest version number.
    pub latest: u32,
    /// The key that created it.
    pub owner: String,
    /// When version 1 was saved.
    pub created_at: String,
    /// When the latest version was saved.
    pub updated_at: String,
}

/// What checking a definition found: the compiled program's account and the truncation test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The definition's name.
    pub name: String,
    /// Readable account (see [`rules::explain`]).
    pub explain: String,
    /// Parameter schema.
    pub params_schema: Value,
    /// External series read.
    pub references: Vec<String>,
    /// Nodes stepped per bar.
    pub nodes: usize,
    /// Bars before the first possible signal.
    pub warmup: usize,
    /// The truncation test's result.
    pub truncation: TruncationReport,
}

fn invalid(e: &RuleError) -> InvalidField {
    InvalidField::new(format!("definition.{}", e.field), e.to_string())
}

/// Parses, checks, compiles and truncation-tests `definition`.
pub fn check_definition(definition: &Value) -> Result<(RuleDoc, CheckReport), InvalidField> {
    let size = serde_json::to_vec(definition).map_or(usize::MAX, |b| b.len());
    if size > rules::MAX_DEFINITION_BYTES {
        return Err(InvalidField::new(
            "definition",
            format!("{size} bytes, more than {}", rules::MAX_DEFINITION_BYTES),
        ));
    }
    let doc = RuleDoc::from_value(definition).map_err(|e| invalid(&e))?;
    let program = rules::check(&doc).map_err(|e| invalid(&e))?;
    check_features(&program)?;
    let truncation = rules::truncation_test(&program)
        .map_err(|m| InvalidField::new("definition", format!("failed the truncation test: {m}")))?;
    let report = CheckReport {
        name: doc.name.clone(),
        explain: rules::explain(&doc, &program),
        params_schema: doc.params_schema(),
        references: program
            .references()
            .iter()
            .map(|r| r.series_name())
            .collect(),
        nodes: program.node_count(),
        warmup: program.warmup(),
        truncation,
    };
    Ok((doc, report))
}

/// A `feature("view.column")` of a built-in view must name one of its features: caught when
/// the definition is checked rather than when a backtest loads its bars. (A view that is not
/// built in may be a stored one; the backtest's loader checks it.)
fn check_features(program: &rules::Program) -> Result<(), InvalidField> {
    for r in program.references() {
        let rules::Reference::Feature { view, column } = r else {
            continue;
        };
        let Some(v) = sextant_features::find(view) else {
            continue;
        };
        let names = v.feature_names();
        if !names.iter().any(|n| n == column) {
            return Err(InvalidField::new(
                "definition",
                format!(
                    "feature(\"{view}.{column}\"): the {view} view has no feature {column:?}; it has {}",
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Saves, versions, lists, reads and deletes user-defined strategies for an [`Actor`].
pub struct DefinitionService {
    meta: Arc<dyn MetaStore>,
}

fn read<T: for<'de> Deserialize<'de>>(doc: Value) -> Result<T, DefinitionError> {
    let id = doc
        .get("_id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    crate::common::from_doc(doc).map_err(|e| DefinitionError::Corrupt {
        id,
        message: e.to_string(),
    })
}

impl DefinitionService {
    /// The service over `meta`.
    pub fn new(meta: Arc<dyn MetaStore>) -> Self {
        DefinitionService { meta }
    }

    /// Checks and saves `definition` as a new strategy owned by `owner` (version 1).
    pub async fn create(
        &self,
        definition: &Value,
        owner: &str,
    ) -> Result<DefinitionVersion, DefinitionError> {
        let (doc, report) = check_definition(definition)?;
        let now = chrono::Utc::now();
        let mut h = Sha256::new();
        h.update(owner.as_bytes());
        h.update(doc.name.as_bytes());
        h.update(
            now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                .as_bytes(),
        );
        let id = format!("usd_{}", &hex::encode(h.finalize())[..16]);
        let stamp = now.to_rfc3339();
        let header = DefinitionHeader {
            id: id.clone(),
            name: doc.name.clone(),
            latest: 1,
            owner: owner.to_string(),
            created_at: stamp.clone(),
            updated_at: stamp.clone(),
        };
        let version = self.version_record(&id, 1, definition, &doc, report, owner, &stamp)?;
        self.meta
            .upsert(VERSIONS, &format!("{id}@1"), to_doc(&version)?)
            .await?;
        self.meta.upsert(DEFINITIONS, &id, to_doc(&header)?).await?;
        Ok(version)
    }

    /// Checks `definition` and saves it as the next version of strategy `id`.
    pub async fn add_version(
        &self,
        id: &str,
        definition: &Value,
        actor: Actor<'_>,
    ) -> Result<DefinitionVersion, DefinitionError> {
        let header = self.header_as(id, actor).await?;
        if header.latest >= MAX_VERSIONS {
            return Err(InvalidField::new(
                "definition",
                format!("a strategy keeps at most {MAX_VERSIONS} versions"),
            )
            .into());
        }
        let (doc, report) = check_definition(definition)?;
        let next = header.latest + 1;
        let stamp = chrono::Utc::now().to_rfc3339();
        // Claim the version number first: of two concurrent saves one wins, the other is told.
        let claimed = self
            .meta
            .update_if(
                DEFINITIONS,
                id,
                &Filter::new().eq("latest", header.latest),
                json!({"latest": next, "name": doc.name, "updated_at": stamp}),
            )
            .await?;
        if !claimed {
            return Err(DefinitionError::Conflict(id.into()));
        }
        let version = self.version_record(id, next, definition, &doc, report, actor.key, &stamp)?;
        self.meta
            .upsert(VERSIONS, &format!("{id}@{next}"), to_doc(&version)?)
            .await?;
        Ok(version)
    }

    #[allow(clippy::too_many_arguments)]
    fn version_record(
        &self,
        id: &str,
        version: u32,
        definition: &Value,
        doc: &RuleDoc,
        report: CheckReport,
        owner: &str,
        stamp: &str,
    ) -> Result<DefinitionVersion, DefinitionError> {
        // The parsed document in its canonical form (fields in declaration order, maps
        // sorted), so the same definition written differently hashes the same.
        let canonical = to_doc(doc)?.to_string();
        // The metadata store keeps MongoDB's field-name rules: no leading `$`.
        let mut params_schema = report.params_schema;
        if let Some(m) = params_schema.as_object_mut() {
            m.remove("$schema");
        }
        Ok(DefinitionVersion {
            id: id.to_string(),
            version,
            name: doc.name.clone(),
            definition: definition.clone(),
            sha256: hex::encode(Sha256::digest(&canonical)),
            params_schema,
            explain: report.explain,
            references: report.references,
            truncation: report.truncation,
            owner: owner.to_string(),
            created_at: stamp.to_string(),
        })
    }

    async fn header_as(
        &self,
        id: &str,
        actor: Actor<'_>,
    ) -> Result<DefinitionHeader, DefinitionError> {
        let doc = match self.meta.get(DEFINITIONS, id).await {
            Ok(Some(doc)) => doc,
            Ok(None) | Err(MetaError::Invalid(_)) => {
                return Err(DefinitionError::NotFound(id.into()))
            }
            Err(e) => return Err(e.into()),
        };
        let header: DefinitionHeader = read(doc)?;
        if actor.may(&header.owner) {
            Ok(header)
        } else {
            Err(DefinitionError::NotFound(id.into()))
        }
    }

    /// Version `version` (the latest when `None`) of strategy `id`, if `actor` may read it.
    pub async fn get_as(
        &self,
        id: &str,
        version: Option<u32>,
        actor: Actor<'_>,
    ) -> Result<DefinitionVersion, DefinitionError> {
        let header = self.header_as(id, actor).await?;
        let v = version.unwrap_or(header.latest);
        let key = format!("{id}@{v}");
        if let Some(doc) = self.meta.get(VERSIONS, &key).await? {
            return read(doc);
        }
        if version.is_none() {
            // A save claims its version number before writing it; one interrupted in between
            // leaves the number unused, and the latest is the newest version written.
            let query = Query::new()
                .filter(Filter::new().eq("id", id))
                .sort_desc("version")
                .limit(1);
            if let Some(doc) = self.meta.find_one(VERSIONS, &query).await? {
                return read(doc);
            }
        }
        Err(DefinitionError::NotFound(key))
    }

    /// Every version of strategy `id`, newest first.
    pub async fn versions_as(
        &self,
        id: &str,
        actor: Actor<'_>,
    ) -> Result<Vec<DefinitionVersion>, DefinitionError> {
        self.header_as(id, actor).await?;
        let query = Query::new()
            .filter(Filter::new().eq("id", id))
            .sort_desc("version");
        self.meta
            .find(VERSIONS, &query)
            .await?
            .into_iter()
            .map(read)
            .collect()
    }

    /// The actor's strategies (every one for an admin), most recently changed first.
    pub async fn list(
        &self,
        actor: Actor<'_>,
        page: &PageRequest,
    ) -> Result<Page<DefinitionHeader>, DefinitionError> {
        let filter = actor
            .scope()
            .map_or_else(Filter::new, |key| Filter::new().eq("owner", key));
        let query = Query::new().filter(filter).sort_desc("updated_at");
        let page =
            find_page::<DefinitionError>(self.meta.as_ref(), DEFINITIONS, query, page).await?;
        page.try_map(read)
    }

    /// Deletes strategy `id` and its versions. Runs made with it keep their copy.
    pub async fn delete_as(&self, id: &str, actor: Actor<'_>) -> Result<(), DefinitionError> {
        let header = self.header_as(id, actor).await?;
        for v in 1..=header.latest {
            self.meta.delete(VERSIONS, &format!("{id}@{v}")).await?;
        }
        self.meta.delete(DEFINITIONS, id).await?;
        Ok(())
    }

    /// Puts the saved definition in place of a reference in `params.definition` of a `rules`
    /// strategy (`usd_…` or `usd_…@N`, checked against `actor`); anything else is left as is.
    pub async fn resolve_params(
        &self,
        strategy: &str,
        params: &mut Value,
        actor: Actor<'_>,
    ) -> Result<(), DefinitionError> {
        if strategy != rules::RULES {
            return Ok(());
        }
        let Some(Value::String(reference)) = params.get("definition") else {
            return Ok(());
        };
        let (id, version) = match reference.split_once('@') {
            Some((id, v)) => {
                let v = v.parse::<u32>().map_err(|_| {
                    InvalidField::new(
                        "params.definition",
                        format!("{reference:?}: the version after '@' is a number"),
                    )
                })?;
                (id.to_string(), Some(v))
            }
            None => (reference.clone(), None),
        };
        let found = self.get_as(&id, version, actor).await?;
        params["definition"] = found.definition;
        Ok(())
    }
}

fn to_doc<T: Serialize>(v: &T) -> Result<Value, DefinitionError> {
    serde_json::to_value(v).map_err(|e| DefinitionError::Corrupt {
        id: "?".into(),
        message: e.to_string(),
    })
}
