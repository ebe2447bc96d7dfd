//! Named regime models kept live: fitted walk-forward, labels stored in DuckDB (the series
//! backtests read), state and alerts in the metadata store, refreshed after every ingest that
//! touches one of their symbols.

use super::compute::{compute, to_now, Computed, Prepared};
pub use super::spec::*;
use super::RegimeServiceError;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;
use sextant_backtest::strategy::REGIME_LABELS;
use sextant_data::cache::{ReadPool, RegimeLabel};
use sextant_data::Cache;
use sextant_domain::Symbol;
use sextant_meta::{Filter, MetaStore, Query};
use sextant_regimes::Segment;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Keeps named regime models live.
pub struct RegimeService {
    /// The writer: labels are stored here.
    cache: Arc<Cache>,
    /// Read connections: features read their bars here, so a refresh's reads do not queue
    /// behind another model's label write.
    reads: Arc<ReadPool>,
    meta: Arc<dyn MetaStore>,
    http: reqwest::Client,
}

impl RegimeService {
    /// A service reading bars through `reads`, writing labels to its main connection, state
    /// and alerts to `meta`.
    pub fn new(reads: Arc<ReadPool>, meta: Arc<dyn MetaStore>) -> Self {
        let cache = reads.main().clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|e| {
                // Only a broken TLS backend gets here; alerts then go out without the timeout.
                tracing::warn!(error = %e, "webhook client without timeout");
                reqwest::Client::new()
            });
        RegimeService {
            cache,
            reads,
            meta,
            http,
        }
    }

    /// Creates or replaces the model `spec.name` and fits it; a replaced model keeps the fits
    /// whose rows and configuration are unchanged. Returns the state and the new alerts.
    ///
    /// # Errors
    /// [`RegimeServiceError::Invalid`] for a bad spec or too little data, `Data`/`Meta` for
    /// store failures.
    pub async fn fit(
        &self,
        spec: RegimeSpec,
    ) -> Result<(RegimeState, Vec<RegimeAlert>), RegimeServiceError> {
        spec.check()?;
        let previous = self.stored(&spec.name).await?;
        self.update(spec, previous).await
    }

    /// Refits the stored model `name` on the current bars (reusing unchanged fits).
    ///
    /// # Errors
    /// [`RegimeServiceError::NotFound`] when there is no such model; as [`Self::fit`].
    pub async fn refresh(
        &self,
        name: &str,
    ) -> Result<(RegimeState, Vec<RegimeAlert>), RegimeServiceError> {
        let previous = self
            .stored(name)
            .await?
            .ok_or_else(|| RegimeServiceError::NotFound(name.to_string()))?;
        self.update(previous.spec.clone(), Some(previous)).await
    }

    /// Refreshes every stored model with one of `symbols` among its members (what an ingest
    /// job calls): models are computed as many at once as the machine has cores, their labels
    /// stored in one transaction, then each state and its alerts. One model's failure does not
    /// stop the others.
    #[allow(clippy::type_complexity)]
    pub async fn refresh_touching(
        &self,
        symbols: &[Symbol],
    ) -> Vec<(
        String,
        Result<(RegimeState, Vec<RegimeAlert>), RegimeServiceError>,
    )> {
        use futures::StreamExt;
        // The listed states are the previous states: no second read per model.
        let listed = match self.list().await {
            Ok(l) => l,
            Err(e) => return vec![("*".into(), Err(e))],
        };
        let wanted: std::collections::HashSet<&Symbol> = symbols.iter().collect();
        let due: Vec<RegimeState> = listed
            .into_iter()
            .filter(|st| st.spec.symbols.iter().any(|m| wanted.contains(m)))
            .collect();
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        let prepared: Vec<(String, Result<Prepared, RegimeServiceError>)> =
            futures::stream::iter(due)
                .map(|prev| async move {
                    let name = prev.spec.name.clone();
                    (name, self.prepare(prev.spec.clone(), Some(prev)).await)
                })
                .buffer_unordered(parallel)
                .collect()
                .await;
        let mut ready = Vec::new();
        let mut out = Vec::new();
        for (name, r) in prepared {
            match r {
                Ok(p) => ready.push(p),
                Err(e) => out.push((name, Err(e))),
            }
        }
        if let Err(e) = self.write_labels(&ready).await {
            let msg = e.to_string();
            for p in ready {
                out.push((
                    p.spec.name.clone(),
                    Err(RegimeServiceError::Invalid(format!(
                        "storing labels: {msg}"
                    ))),
                ));
            }
        } else {
            for p in ready {
                let name = p.spec.name.clone();
                out.push((name, self.commit(p).await));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The stored state of `name`.
    ///
    /// # Errors
    /// [`RegimeServiceError::NotFound`] when there is no such model.
    pub async fn state(&self, name: &str) -> Result<RegimeState, RegimeServiceError> {
        self.stored(name)
            .await?
            .ok_or_else(|| RegimeServiceError::NotFound(name.to_string()))
    }

    /// The model named after `symbol`, fitted with the defaults on first use.
    ///
    /// # Errors
    /// As [`Self::fit`].
    pub async fn for_symbol(&self, symbol: &Symbol) -> Result<RegimeState, RegimeServiceError> {
        let spec = RegimeSpec::for_symbol(symbol);
        match self.stored(&spec.name).await? {
            Some(s) => Ok(s),
            None => Ok(self.fit(spec).await?.0),
        }
    }

    /// The regime of model `name` on the last labelled day up to `at` (default: the latest).
    ///
    /// # Errors
    /// [`RegimeServiceError::NotFound`] for an unknown model or no label up to `at`.
    pub async fn at(
        &self,
        name: &str,
        at: Option<NaiveDate>,
    ) -> Result<(RegimeState, RegimeNow), RegimeServiceError> {
        let state = self.state(name).await?;
        let labels = self.cache.regime_labels(name, None, at)?;
        let last = labels.last().ok_or_else(|| {
            RegimeServiceError::NotFound(format!(
                "{name}: no label on or before {}",
                at.map_or("the end".into(), |d| d.to_string())
            ))
        })?;
        let now = to_now(last, &state.columns);
        Ok((state, now))
    }

    /// The labels of model `name` between `from` and `to`, oldest first.
    ///
    /// # Errors
    /// [`RegimeServiceError::NotFound`] for an unknown model.
    pub async fn history(
        &self,
        name: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<(RegimeState, Vec<RegimeNow>), RegimeServiceError> {
        let state = self.state(name).await?;
        let rows = self.cache.regime_labels(name, from, to)?;
        let out = rows.iter().map(|l| to_now(l, &state.columns)).collect();
        Ok((state, out))
    }

    /// Every stored model's state, by name.
    ///
    /// # Errors
    /// `Meta` when the store fails, `Corrupt` for an unreadable document.
    pub async fn list(&self) -> Result<Vec<RegimeState>, RegimeServiceError> {
        let docs = self
            .meta
            .find(REGIME_MODELS, &Query::new().sort_asc("_id"))
            .await?;
        docs.into_iter().map(parse_state).collect()
    }

    /// Alerts, newest first: of model `name`, or of every model.
    ///
    /// # Errors
    /// `Meta` when the store fails.
    pub async fn alerts(
        &self,
        name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RegimeAlert>, RegimeServiceError> {
        let mut filter = Filter::new();
        if let Some(n) = name {
            filter = filter.eq("model", n);
        }
        let q = Query::new()
            .filter(filter)
            .sort_desc("day")
            .limit(limit as u64);
        let docs = self.meta.find(REGIME_ALERTS, &q).await?;
        Ok(docs
            .into_iter()
            .filter_map(|d| crate::common::readable(d, "regime alert"))
            .collect())
    }

    async fn stored(&self, name: &str) -> Result<Option<RegimeState>, RegimeServiceError> {
        match self.meta.get(REGIME_MODELS, name).await? {
            Some(doc) => parse_state(doc).map(Some),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        spec: RegimeSpec,
        previous: Option<RegimeState>,
    ) -> Result<(RegimeState, Vec<RegimeAlert>), RegimeServiceError> {
        let prepared = self.prepare(spec, previous).await?;
        self.write_labels(std::slice::from_ref(&prepared)).await?;
        self.commit(prepared).await
    }

    /// Features, walk-forward fits and labels of `spec` (on a blocking thread, bars read on a
    /// read connection); nothing is stored yet.
    async fn prepare(
        &self,
        spec: RegimeSpec,
        previous: Option<RegimeState>,
    ) -> Result<Prepared, RegimeServiceError> {
        // A changed spec (members, features, model) invalidates the old fits; the hash check in
        // the walk covers changed bars.
        let reuse: Vec<Segment> = previous
            .as_ref()
            .filter(|p| {
                p.spec.symbols == spec.symbols
                    && p.spec.features == spec.features
                    && p.spec.walk == spec.walk
            })
            .map(|p| p.segments.clone())
            .unwrap_or_default();
        let reused_before = reuse.len();
        let cache = self.reads.get();
        let s = spec.clone();
        let started = std::time::Instant::now();
        let computed = tokio::task::spawn_blocking(move || compute(&cache, &s, &reuse))
            .await
            .map_err(|e| {
                RegimeServiceError::Invalid(format!("regime computation stopped: {e}"))
            })??;
        tracing::debug!(
            model = %spec.name,
            fitted = computed.state.fitted_last_update,
            compute_ms = started.elapsed().as_secs_f64() * 1e3,
            "regime model computed"
        );
        // When every earlier fit was reused (same spec, same rows), every stored label is
        // unchanged (point in time): only the days after the previous update are written.
        let new_segments = computed.state.segments.len().saturating_sub(reused_before);
        let reused_all = reused_before > 0 && computed.state.fitted_last_update <= new_segments;
        let append_after = previous
            .as_ref()
            .filter(|p| reused_all && p.first_day == computed.state.first_day)
            .map(|p| p.last_day);
        Ok(Prepared {
            spec,
            previous,
            computed,
            append_after,
        })
    }

    /// Stores the labels of every prepared model in one transaction (a refresh of hundreds of
    /// models pays one commit, not one each).
    async fn write_labels(&self, batch: &[Prepared]) -> Result<(), RegimeServiceError> {
        if batch.is_empty() {
            return Ok(());
        }
        let cache = self.cache.clone();
        let writes: Vec<(String, Option<NaiveDate>, Vec<RegimeLabel>)> = batch
            .iter()
            .map(|p| {
                (
                    p.spec.name.clone(),
                    p.append_after,
                    p.computed.labels.clone(),
                )
            })
            .collect();
        tokio::task::spawn_blocking(move || cache.write_regime_labels(&writes))
            .await
            .map_err(|e| {
                RegimeServiceError::Invalid(format!("regime label write stopped: {e}"))
            })??;
        Ok(())
    }

    /// Stores a prepared model's state and its new alerts (posting them to the webhook).
    async fn commit(
        &self,
        prepared: Prepared,
    ) -> Result<(RegimeState, Vec<RegimeAlert>), RegimeServiceError> {
        let Prepared {
            spec,
            previous,
            computed,
            ..
        } = prepared;
        let Computed { state, changes, .. } = computed;
        let doc = serde_json::to_value(&state)
            .map_err(|e| RegimeServiceError::Invalid(format!("regime state: {e}")))?;
        self.meta.upsert(REGIME_MODELS, &spec.name, doc).await?;
        // New alerts: changes confirmed after the previous update's last day; on a first fit
        // every historical change is recorded as a backfill (no webhook).
        let since = previous.as_ref().map(|p| p.last_day);
        let mut alerts = Vec::new();
        for (day, began, from, to, probs) in changes {
            if since.is_some_and(|s| day <= s) {
                continue;
            }
            let backfill = since.is_none();
            let id = format!("{}:{day}", spec.name);
            let probabilities: HashMap<String, f64> = state
                .columns
                .iter()
                .map(|r| r.to_string())
                .zip(probs)
                .collect();
            let mut alert = RegimeAlert {
                id: id.clone(),
                model: spec.name.clone(),
                day,
                began,
                from,
                to,
                confirm_bars: spec.confirm_bars,
                probabilities,
                backfill,
                webhook: None,
                created_at: chrono::Utc::now().to_rfc3339(),
            };
            if let (Some(url), false) = (&spec.webhook, backfill) {
                alert.webhook = Some(self.post(url, &alert).await);
            }
            if !backfill {
                tracing::info!(model = %spec.name, %day, from = %from, to = %to, "regime change confirmed");
            }
            let doc = serde_json::to_value(&alert)
                .map_err(|e| RegimeServiceError::Invalid(format!("regime alert: {e}")))?;
            self.meta.upsert(REGIME_ALERTS, &id, doc).await?;
            alerts.push(alert);
        }
        Ok((state, alerts))
    }

    async fn post(&self, url: &str, alert: &RegimeAlert) -> String {
        match self.http.post(url).json(alert).send().await {
            Ok(r) => format!("sent: {}", r.status().as_u16()),
            Err(e) => {
                tracing::warn!(%url, error = %e, "regime alert webhook failed");
                format!("failed: {e}")
            }
        }
    }

    /// Each bar's probability of the regime in column `column` of model `name` (the forward
    /// filter's, stored with each label; NaN before the first label).
    pub(super) fn probabilities(
        &self,
        name: &str,
        column: usize,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<f64>, RegimeServiceError> {
        let labels = self.cache.regime_labels(name, None, None)?;
        let by_day: HashMap<NaiveDate, f64> = labels
            .iter()
            .filter_map(|l| l.probabilities.get(column).map(|p| (l.day, *p)))
            .collect();
        Ok(ts
            .iter()
            .map(|t| by_day.get(&t.date()).copied().unwrap_or(f64::NAN))
            .collect())
    }

    /// Each bar's regime code (index into [`REGIME_LABELS`]; NaN before the first label) from
    /// model `name`'s stored labels.
    pub(crate) fn codes(
        &self,
        name: &str,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<f64>, RegimeServiceError> {
        let labels = self.cache.regime_labels(name, None, None)?;
        let by_day: HashMap<NaiveDate, f64> = labels
            .iter()
            .filter_map(|l| {
                REGIME_LABELS
                    .iter()
                    .position(|n| *n == l.label)
                    .map(|c| (l.day, c as f64))
            })
            .collect();
        Ok(ts
            .iter()
            .map(|t| by_day.get(&t.date()).copied().unwrap_or(f64::NAN))
            .collect())
    }
}

fn parse_state(doc: Value) -> Result<RegimeState, RegimeServiceError> {
    let name = doc
        .get("spec")
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let mut doc = doc;
    if let Some(o) = doc.as_object_mut() {
        o.remove("_id");
        o.remove("id");
    }
    serde_json::from_value(doc).map_err(|e| RegimeServiceError::Corrupt {
        name,
        message: e.to_string(),
    })
}
