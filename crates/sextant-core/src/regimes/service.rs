//! Named regime models kept live: fitted walk-forward, labels stored in DuckDB (the series
//! backtests read), state and alerts in the metadata store, refreshed after every ingest that
//! touches one of their symbols.

use super::features::{default_features, features, RegimeFeature};
use super::RegimeServiceError;
use crate::backtest::{BacktestError, SeriesSource};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::run::BacktestRequest;
use sextant_backtest::strategy::{REGIME_LABELS, REGIME_SERIES};
use sextant_data::cache::RegimeLabel;
use sextant_data::Cache;
use sextant_domain::Symbol;
use sextant_meta::{Filter, MetaStore, Query};
use sextant_regimes::{confirmed_changes, walk_forward, Regime, Segment, WalkConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Metadata collection of regime models (spec and state; id = the model's name).
pub const REGIME_MODELS: &str = "regime_models";
/// Metadata collection of confirmed regime changes.
pub const REGIME_ALERTS: &str = "regime_alerts";
/// Most symbols in one regime model.
pub const MAX_REGIME_SYMBOLS: usize = 1000;
/// Most work one update may be configured for, in row-iterations (fits × restarts × max_iter ×
/// rows): an upper bound on EM's cost that keeps one request from holding a core for long.
/// The defaults on 20 years of daily bars need about 2.3e8.
pub const MAX_REGIME_WORK: f64 = 2e9;

fn default_confirm() -> usize {
    3
}

/// A valid regime model name: 1 to 64 characters of A-Z, a-z, 0-9, `_`, `.`, `^` and `-` (a
/// symbol's own model is named after it, and index symbols start with `^`).
pub fn is_model_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '^'))
}

/// What a regime model is fitted on and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpec {
    /// The model's name: 1 to 64 of A-Z, a-z, 0-9, `_`, `.`, `-`.
    pub name: String,
    /// One symbol, or the members of an equal-weight universe.
    pub symbols: Vec<Symbol>,
    /// The inputs, `return` first. Default: `["return", "volatility"]`.
    #[serde(default = "default_features")]
    pub features: Vec<RegimeFeature>,
    /// Model family, states, restarts, seed and the refit schedule. Default: a 3-state HMM,
    /// first fit on 504 days, refitted every 252.
    #[serde(default)]
    pub walk: WalkConfig,
    /// Consecutive days a new label must hold before a change is confirmed and alerted.
    /// Default: 3.
    #[serde(default = "default_confirm")]
    pub confirm_bars: usize,
    /// An `http(s)://` URL that receives each new alert as a JSON POST. Default: none.
    #[serde(default)]
    pub webhook: Option<String>,
}

impl RegimeSpec {
    /// The default model of one symbol, named after it.
    pub fn for_symbol(symbol: &Symbol) -> RegimeSpec {
        RegimeSpec {
            name: symbol.to_string(),
            symbols: vec![symbol.clone()],
            features: default_features(),
            walk: WalkConfig::default(),
            confirm_bars: default_confirm(),
            webhook: None,
        }
    }

    fn check(&self) -> Result<(), RegimeServiceError> {
        let bad = |m: String| Err(RegimeServiceError::Invalid(m));
        if !is_model_name(&self.name) {
            return bad("name must be 1 to 64 characters of A-Z, a-z, 0-9, _, ., ^ and -".into());
        }
        if self.symbols.is_empty() || self.symbols.len() > MAX_REGIME_SYMBOLS {
            return bad(format!(
                "symbols must list 1 to {MAX_REGIME_SYMBOLS} symbols, got {}",
                self.symbols.len()
            ));
        }
        if !(1..=250).contains(&self.confirm_bars) {
            return bad(format!(
                "confirm_bars must be 1 to 250, got {}",
                self.confirm_bars
            ));
        }
        if let Some(url) = &self.webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
                return bad("webhook must be an http:// or https:// URL".into());
            }
        }
        self.walk.check()?;
        Ok(())
    }
}

/// The regime on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeNow {
    /// The session.
    pub day: NaiveDate,
    /// The most probable regime given data up to `day`.
    pub regime: String,
    /// p(regime | data up to `day`) by regime name.
    pub probabilities: HashMap<String, f64>,
    /// The last day of the fit of the model that labelled `day`.
    pub fitted_to: NaiveDate,
}

/// What one regime looked like over the labelled days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeSummary {
    /// The regime.
    pub regime: Regime,
    /// Labelled days in it.
    pub days: usize,
    /// Share of the labelled days.
    pub share: f64,
    /// Mean daily return (first feature) on those days; `None` without any.
    pub mean_return: Option<f64>,
    /// Annualised standard deviation of that return on those days; `None` with fewer than
    /// two.
    pub volatility: Option<f64>,
}

/// A regime model as stored: its spec and its latest state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeState {
    /// What it is fitted on and how.
    pub spec: RegimeSpec,
    /// The regimes with a probability column, in order.
    pub columns: Vec<Regime>,
    /// Every fitted model (walk-forward), oldest first, with its fit-end day in `fit_days`.
    pub segments: Vec<Segment>,
    /// The last day of each segment's fit.
    pub fit_days: Vec<NaiveDate>,
    /// The first and last labelled day.
    pub first_day: NaiveDate,
    /// The last labelled day.
    pub last_day: NaiveDate,
    /// The regime on the last day.
    pub latest: RegimeNow,
    /// Days with bars that have no feature row (members missing, windows filling).
    pub days_left_out: usize,
    /// Days before the first fit ended (no model yet, no label).
    pub days_unlabelled: usize,
    /// Each regime's share and statistics over the labelled days.
    pub summary: Vec<RegimeSummary>,
    /// Models fitted by the latest update (the rest were reused).
    pub fitted_last_update: usize,
    /// When it was last updated (RFC 3339, UTC).
    pub updated_at: String,
}

/// A confirmed regime change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeAlert {
    /// `{model}:{day}`.
    pub id: String,
    /// The regime model.
    pub model: String,
    /// The day the change was confirmed (the `confirm_bars`-th day of the new label).
    pub day: NaiveDate,
    /// The first day of the new label's run.
    pub began: NaiveDate,
    /// The regime confirmed before.
    pub from: Regime,
    /// The regime confirmed now.
    pub to: Regime,
    /// What triggered it: the hysteresis used and the probabilities on `day`.
    pub confirm_bars: usize,
    /// p(regime | data up to `day`) on the confirmation day.
    pub probabilities: HashMap<String, f64>,
    /// True for changes found when a model was first fitted over history (not sent to the
    /// webhook).
    pub backfill: bool,
    /// What the webhook answered (`"sent: 200"`, `"failed: …"`), when one is configured.
    pub webhook: Option<String>,
    /// When it was recorded (RFC 3339, UTC).
    pub created_at: String,
}

/// Keeps named regime models live.
pub struct RegimeService {
    /// The writer: labels are stored here.
    cache: Arc<Cache>,
    /// Read connections: features read their bars here, so a refresh's reads do not queue
    /// behind another model's label write.
    reads: Arc<sextant_data::cache::ReadPool>,
    meta: Arc<dyn MetaStore>,
    http: reqwest::Client,
}

impl RegimeService {
    /// A service reading bars through `reads`, writing labels to its main connection, state
    /// and alerts to `meta`.
    pub fn new(reads: Arc<sextant_data::cache::ReadPool>, meta: Arc<dyn MetaStore>) -> Self {
        let cache = reads.main().clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
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
        let names = match self.names().await {
            Ok(n) => n,
            Err(e) => return vec![("*".into(), Err(e))],
        };
        let wanted: std::collections::HashSet<&Symbol> = symbols.iter().collect();
        let due: Vec<String> = names
            .into_iter()
            .filter(|(_, members)| members.iter().any(|m| wanted.contains(m)))
            .map(|(n, _)| n)
            .collect();
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        let prepared: Vec<(String, Result<Prepared, RegimeServiceError>)> =
            futures::stream::iter(due)
                .map(|name| async move {
                    let r = match self.stored(&name).await {
                        Ok(Some(prev)) => self.prepare(prev.spec.clone(), Some(prev)).await,
                        Ok(None) => Err(RegimeServiceError::NotFound(name.clone())),
                        Err(e) => Err(e),
                    };
                    (name, r)
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
            .filter_map(|d| serde_json::from_value(d).ok())
            .collect())
    }

    async fn names(&self) -> Result<Vec<(String, Vec<Symbol>)>, RegimeServiceError> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .map(|s| (s.spec.name.clone(), s.spec.symbols))
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

    /// Each bar's regime code (index into [`REGIME_LABELS`]; NaN before the first label) from
    /// model `name`'s stored labels.
    fn codes(&self, name: &str, ts: &[NaiveDateTime]) -> Result<Vec<f64>, RegimeServiceError> {
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

type ChangeRow = (NaiveDate, NaiveDate, Regime, Regime, Vec<f64>);

/// A model computed but not yet stored.
struct Prepared {
    spec: RegimeSpec,
    previous: Option<RegimeState>,
    computed: Computed,
    /// Write only the labels after this day (every earlier fit was reused); `None`: replace
    /// all.
    append_after: Option<NaiveDate>,
}

struct Computed {
    state: RegimeState,
    labels: Vec<RegimeLabel>,
    changes: Vec<ChangeRow>,
}

/// Features, walk-forward fits, labels, summary and confirmed changes (blocking).
fn compute(
    cache: &Cache,
    spec: &RegimeSpec,
    reuse: &[Segment],
) -> Result<Computed, RegimeServiceError> {
    let (rows, days_left_out) = features(cache, &spec.symbols, &spec.features)?;
    let x: Vec<Vec<f64>> = rows.iter().map(|r| r.values.clone()).collect();
    if x.len() < spec.walk.min_fit_rows {
        return Err(RegimeServiceError::Invalid(format!(
            "{}: {} days of features; the first fit needs {} (walk.min_fit_rows)",
            spec.name,
            x.len(),
            spec.walk.min_fit_rows
        )));
    }
    let fits = (x.len() - spec.walk.min_fit_rows) / spec.walk.refit_every + 1;
    let work = fits as f64
        * spec.walk.model.restarts as f64
        * spec.walk.model.max_iter as f64
        * x.len() as f64;
    if work > MAX_REGIME_WORK {
        return Err(RegimeServiceError::Invalid(format!(
            "{}: {fits} fits x {} restarts x {} iterations x {} rows = {work:.1e} row-iterations, over the limit of {MAX_REGIME_WORK:.0e}; raise walk.refit_every or lower walk.model.restarts / max_iter",
            spec.name, spec.walk.model.restarts, spec.walk.model.max_iter, x.len()
        )));
    }
    let walk = walk_forward(&x, &spec.walk, reuse)?;
    let w = walk.columns.len();
    let first = walk.first_labelled;
    let fit_days: Vec<NaiveDate> = walk.segments.iter().map(|s| rows[s.fit_end].date).collect();
    let mut labels = Vec::with_capacity(walk.labels.len());
    let mut seg = 0;
    for (i, regime) in walk.labels.iter().enumerate() {
        let t = first + i;
        while seg + 1 < walk.segments.len() && walk.segments[seg + 1].fit_end <= t {
            seg += 1;
        }
        labels.push(RegimeLabel {
            day: rows[t].date,
            label: regime.to_string(),
            probabilities: walk.probabilities[i * w..(i + 1) * w].to_vec(),
            fitted_to: fit_days[seg],
        });
    }
    let summary = walk
        .columns
        .iter()
        .map(|&r| {
            let ret: Vec<f64> = walk
                .labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == r)
                .map(|(i, _)| x[first + i][0])
                .collect();
            let n = ret.len();
            // A regime no day fell in has no statistics (never a NaN, which JSON cannot hold).
            let mean = (n > 0).then(|| ret.iter().sum::<f64>() / n as f64);
            let volatility = mean.filter(|_| n > 1).map(|m| {
                let var = ret.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
                (var * 252.0).sqrt()
            });
            RegimeSummary {
                regime: r,
                days: n,
                share: n as f64 / walk.labels.len() as f64,
                mean_return: mean,
                volatility,
            }
        })
        .collect();
    let changes = confirmed_changes(&walk.labels, spec.confirm_bars)
        .into_iter()
        .map(|c| {
            let i = c.confirmed_at;
            (
                rows[first + i].date,
                rows[first + c.began_at].date,
                c.from,
                c.to,
                walk.probabilities[i * w..(i + 1) * w].to_vec(),
            )
        })
        .collect();
    let last = labels
        .last()
        .ok_or_else(|| RegimeServiceError::Invalid("no labels".into()))?;
    let latest = to_now(last, &walk.columns);
    let state = RegimeState {
        spec: spec.clone(),
        columns: walk.columns.clone(),
        fit_days,
        first_day: rows[first].date,
        last_day: last.day,
        latest,
        days_left_out,
        days_unlabelled: first,
        summary,
        fitted_last_update: walk.fitted,
        segments: walk.segments,
        updated_at: chrono::Utc::now().to_rfc3339(),
    };
    Ok(Computed {
        state,
        labels,
        changes,
    })
}

fn to_now(l: &RegimeLabel, columns: &[Regime]) -> RegimeNow {
    RegimeNow {
        day: l.day,
        regime: l.label.clone(),
        probabilities: columns
            .iter()
            .map(|r| r.to_string())
            .zip(l.probabilities.iter().copied())
            .collect(),
        fitted_to: l.fitted_to,
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

/// Attaches `regime` codes to each symbol's bars for the `regime_switch` strategy, from the
/// stored labels of the model named in `params.model` (point in time: a day's label uses data
/// up to that day's close).
impl SeriesSource for RegimeService {
    fn series(
        &self,
        req: &BacktestRequest,
        _symbol: &Symbol,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError> {
        if req.strategy != "regime_switch" {
            return Ok(Vec::new());
        }
        let name = model_param(req)?;
        let codes = self
            .codes(name, ts)
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        if codes.iter().all(|c| c.is_nan()) {
            return Err(BacktestError::invalid(format!(
                "regime model {name:?} has no label in the backtest range: fit it first (sextant regime fit, POST /api/v1/market-data/regime/models)"
            )));
        }
        Ok(vec![(REGIME_SERIES.to_string(), codes)])
    }

    fn provenance(&self, req: &BacktestRequest) -> Result<Value, BacktestError> {
        if req.strategy != "regime_switch" {
            return Ok(Value::Null);
        }
        let name = model_param(req)?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        let state = tokio::task::block_in_place(|| handle.block_on(self.state(name)))
            .map_err(|e| BacktestError::invalid(e.to_string()))?;
        let fits: Vec<Value> = state
            .segments
            .iter()
            .zip(&state.fit_days)
            .map(|(s, d)| json!({"fit_to": d, "fit_hash": s.fit_hash}))
            .collect();
        Ok(json!({"regime_model": {"name": name, "spec": state.spec, "fits": fits}}))
    }
}

fn model_param(req: &BacktestRequest) -> Result<&str, BacktestError> {
    req.params
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            BacktestError::invalid("regime_switch needs params.model (a regime model name)")
        })
}
