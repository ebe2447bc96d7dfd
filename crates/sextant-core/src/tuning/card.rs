//! Studies as the dashboard shows them: the best trial never without its deflated Sharpe
//! ratio, PBO and out-of-sample result.

use super::store::{StudyRecord, StudyState, STUDIES};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_meta::{Filter, MetaError, MetaStore, Query};

/// One study on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyCard {
    /// The study.
    pub study_id: String,
    /// Its label.
    pub name: Option<String>,
    /// Strategy tuned.
    pub strategy: String,
    /// Symbols traded.
    pub symbols: Vec<String>,
    /// Objectives, as written.
    pub objectives: Vec<String>,
    /// Where it is.
    pub state: StudyState,
    /// Complete trials.
    pub complete: usize,
    /// The best trial's parameters.
    pub best_params: Option<Value>,
    /// Its objective values.
    pub best_values: Vec<f64>,
    /// Deflated Sharpe ratio of the best trial.
    pub deflated_sharpe: Option<f64>,
    /// Probability of backtest overfitting.
    pub pbo: Option<f64>,
    /// Walk-forward out-of-sample Sharpe ratio.
    pub out_of_sample_sharpe: Option<f64>,
    /// Buy and hold's Sharpe ratio on the same windows.
    pub baseline_sharpe: Option<f64>,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

impl StudyCard {
    fn of(r: &StudyRecord) -> StudyCard {
        let a = r.analysis.clone().unwrap_or(Value::Null);
        let complete = r.state == StudyState::Complete;
        StudyCard {
            study_id: r.id.clone(),
            name: r.name.clone(),
            strategy: r.strategy.clone(),
            symbols: r
                .request
                .backtest
                .symbols
                .iter()
                .map(|s| s.to_string())
                .collect(),
            objectives: r.request.objectives.clone(),
            state: r.state,
            complete: r.counts.complete,
            // Shown only with the statistics that discount it.
            best_params: r
                .best
                .as_ref()
                .filter(|_| complete)
                .map(|b| b.params.clone()),
            best_values: r
                .best
                .as_ref()
                .filter(|_| complete)
                .map(|b| b.values.clone())
                .unwrap_or_default(),
            deflated_sharpe: a["deflated_sharpe"]["dsr"].as_f64(),
            pbo: a["pbo"]["pbo"].as_f64(),
            out_of_sample_sharpe: a["out_of_sample"]["sharpe"].as_f64(),
            baseline_sharpe: a["out_of_sample"]["baseline_sharpe"].as_f64(),
            updated_at: r.updated_at.to_rfc3339(),
        }
    }
}

/// The newest `n` studies `owner` may read (its own and ownerless ones), newest first.
pub async fn recent(
    meta: &dyn MetaStore,
    owner: &str,
    n: u64,
) -> Result<Vec<StudyCard>, MetaError> {
    let mut docs = Vec::new();
    for filter in [
        Filter::new().eq("owners", owner),
        Filter::new().exists("owners", false),
    ] {
        let q = Query::new().filter(filter).sort_desc("updated_at").limit(n);
        docs.extend(meta.find(STUDIES, &q).await?);
    }
    let mut recs: Vec<StudyRecord> = docs
        .into_iter()
        .filter_map(|d| match serde_json::from_value(d) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable study left off the dashboard");
                None
            }
        })
        .collect();
    recs.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    recs.truncate(n as usize);
    Ok(recs.iter().map(StudyCard::of).collect())
}
