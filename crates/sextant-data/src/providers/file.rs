//! CSV and Parquet files as a [`Provider`]: the file is parsed by DuckDB in a private in-memory
//! database with the same layout detection as the cache's fast path ([`Cache::ingest_file`]),
//! so both paths accept exactly the same files.
//!
//! The private database judges nothing: a provider only reads, and the bars it returns are
//! judged (and held, if need be) by the cache they are written into, where a reviewer sees
//! them. Judging here too would drop held bars before any review queue saw them.

use super::{FetchRequest, Fetched, Provider};
use crate::cache::FileOptions;
use crate::{Cache, Result};
use async_trait::async_trait;
use sextant_quality::QualityConfig;
use std::path::PathBuf;

/// Reads bars from one file.
pub struct FileProvider {
    /// The CSV (optionally gzip-compressed) or Parquet file.
    pub path: PathBuf,
    /// How to read the file; a `resolution` of `None` is taken from each request.
    pub options: FileOptions,
}

#[async_trait]
impl Provider for FileProvider {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched> {
        let path = self.path.clone();
        let mut options = self.options.clone();
        options.resolution = options.resolution.or(Some(req.resolution));
        let req = req.clone();
        let bars = tokio::task::spawn_blocking(move || -> Result<_> {
            let cache = Cache::open_in_memory()?.with_quality(QualityConfig {
                enabled: false,
                ..QualityConfig::default()
            });
            cache.ingest_file(&path, &options)?;
            cache.bars(&req.symbol, req.resolution, req.from, req.to)
        })
        .await
        .map_err(|e| crate::DataError::Invalid(format!("file reader task failed: {e}")))??;
        Ok(Fetched {
            bars,
            request: format!("file {}", self.path.display()),
        })
    }
}
