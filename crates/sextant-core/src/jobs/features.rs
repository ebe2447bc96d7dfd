//! `materialize_features`: materialises a built-in feature view as a job. With a NATS queue
//! and live workers, the symbols are computed in shards on the workers
//! ([`crate::scale::features`]); otherwise here, as `POST /features/{name}/materialize` does.
//! Either way the table, its version and its data snapshot are the same.

use super::{parse_params, JobContext, JobError, JobHandler, JobKind};
use crate::market_data::MarketDataService;
use crate::scale::{ScaleOut, FEATURE_SHARD};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_features::FeatureView;
use std::sync::Arc;

/// Parameters of a `materialize_features` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterializeParams {
    /// A built-in view's name (`technical`, `technical_1min`, `technical_macro`).
    pub view: String,
}

impl MaterializeParams {
    fn resolve(params: &Value) -> Result<FeatureView, JobError> {
        let p: MaterializeParams = parse_params(params)?;
        sextant_features::find(&p.view)
            .ok_or_else(|| JobError::InvalidParams(format!("no feature view {:?}", p.view)))
    }
}

/// The `materialize_features` handler. Resumable: materialising replaces the version's table
/// in one transaction, so running it again is harmless.
pub struct MaterializeJob {
    market_data: Arc<MarketDataService>,
    scale: Arc<ScaleOut>,
}

impl MaterializeJob {
    /// A handler writing through `market_data`'s cache, sharding through `scale` when it can.
    pub fn new(market_data: Arc<MarketDataService>, scale: Arc<ScaleOut>) -> Self {
        MaterializeJob { market_data, scale }
    }
}

#[async_trait]
impl JobHandler for MaterializeJob {
    fn kind(&self) -> &'static str {
        JobKind::MaterializeFeatures.name()
    }

    fn resumable(&self) -> bool {
        true
    }

    fn validate(&self, params: &Value) -> Result<(), JobError> {
        MaterializeParams::resolve(params).map(|_| ())
    }

    async fn run(&self, ctx: JobContext, params: Value) -> Result<Value, JobError> {
        let view = MaterializeParams::resolve(&params)?;
        ctx.check()?;
        let (mv, where_) = if ctx.can_fan_out(FEATURE_SHARD).await {
            let slots = ctx.remote_slots(FEATURE_SHARD).await;
            let mv =
                crate::scale::features::materialize_remote(&ctx, &self.scale, &view, slots).await?;
            (mv, "workers")
        } else {
            ctx.progress(0.0, format!("computing {}", view.name)).await;
            let md = self.market_data.clone();
            let mv = tokio::task::spawn_blocking(move || md.materialize_view(&view))
                .await
                .map_err(|e| JobError::Failed(format!("materialise task failed: {e}")))??;
            (mv, "server")
        };
        ctx.progress(1.0, format!("{} rows on the {where_}", mv.rows))
            .await;
        let mut out = serde_json::to_value(&mv).map_err(|e| JobError::Failed(e.to_string()))?;
        if let Some(o) = out.as_object_mut() {
            o.insert("computed_on".into(), Value::from(where_));
        }
        Ok(out)
    }
}
