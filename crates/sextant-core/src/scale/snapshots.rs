//! Content-addressed data snapshots for workers: the server exports the tables a request's data
//! load reads (for its symbols) as Parquet, stores each file and a manifest in the object store
//! under their SHA-256, and names the manifest in the job. A worker fetches the files once,
//! imports them into a DuckDB file of its own keyed by the manifest hash, and loads requests
//! from it; it never opens the server's database file.

use serde::{Deserialize, Serialize};
use sextant_data::cache::SNAPSHOT_TABLES;
use sextant_data::Cache;
use sextant_domain::{Resolution, Symbol};
use sextant_objects::Objects;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Object-store folder of the Parquet files.
pub const BLOBS: &str = "snapshots/blobs";
/// Object-store folder of the manifests.
pub const MANIFESTS: &str = "snapshots/manifests";
/// Object-store folder of results workers send back as files (feature shards).
pub const PARTS: &str = "snapshots/parts";

/// Why a snapshot could not be published or opened.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Exporting from, or importing into, DuckDB failed.
    #[error("snapshot data: {0}")]
    Data(#[from] sextant_data::DataError),
    /// The object store failed (or holds a corrupt object).
    #[error("snapshot store: {0}")]
    Objects(#[from] sextant_objects::ObjectsError),
    /// A local file operation failed.
    #[error("snapshot file {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest does not parse or was written by a build with another cache schema.
    #[error("snapshot manifest {key}: {message}")]
    Manifest {
        /// The manifest's hash.
        key: String,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a snapshot holds: the cache schema it was cut from, its symbols and resolution, and one
/// Parquet object per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `sextant_data::cache::snapshot_schema_version()` of the exporting build.
    pub schema_version: i32,
    /// The symbols it was cut to.
    pub symbols: Vec<Symbol>,
    /// The resolution it was cut to.
    pub resolution: Resolution,
    /// One entry per table, in import order.
    pub tables: Vec<TableBlob>,
}

/// One table of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableBlob {
    /// The table.
    pub table: String,
    /// SHA-256 of its Parquet file (the object `snapshots/blobs/<sha>.parquet`).
    pub sha256: String,
    /// Rows in it.
    pub rows: u64,
    /// Bytes of the file.
    pub bytes: u64,
}

/// Publishes snapshots (server side) and opens them (worker side).
pub struct Snapshots {
    objects: Arc<Objects>,
    /// Where a worker keeps imported snapshots (one DuckDB file each). One directory per worker
    /// process: DuckDB lets one process open a file for writing.
    local: PathBuf,
    open: Mutex<HashMap<String, Arc<Cache>>>,
    /// One import at a time: DuckDB refuses a second open of a file this process holds.
    importing: tokio::sync::Mutex<()>,
}

impl Snapshots {
    /// Snapshots in `objects`, imported under `local` when opened.
    pub fn new(objects: Arc<Objects>, local: PathBuf) -> Self {
        Snapshots {
            objects,
            local,
            open: Mutex::new(HashMap::new()),
            importing: tokio::sync::Mutex::new(()),
        }
    }

    /// Exports `symbols` × `resolution` from `cache` and stores the snapshot; returns the
    /// manifest's hash (the snapshot's name). Equal data gives equal files and so the same
    /// name, and storing an existing object again is a HEAD, not an upload.
    pub async fn publish(
        &self,
        cache: Arc<Cache>,
        symbols: Vec<Symbol>,
        resolution: Resolution,
    ) -> Result<String, SnapshotError> {
        let dir = tempfile::tempdir().map_err(io(&self.local))?;
        let path = dir.path().to_path_buf();
        let (syms, p) = (symbols.clone(), path.clone());
        let files =
            tokio::task::spawn_blocking(move || cache.export_snapshot(&syms, resolution, &p))
                .await
                .map_err(|e| SnapshotError::Manifest {
                    key: String::new(),
                    message: format!("export task failed: {e}"),
                })??;
        let mut tables = Vec::with_capacity(files.len());
        for f in files {
            let bytes = std::fs::read(&f.path).map_err(io(&f.path))?;
            let n = bytes.len() as u64;
            let sha256 = self.objects.put_hashed(BLOBS, "parquet", bytes).await?;
            tables.push(TableBlob {
                table: f.table,
                sha256,
                rows: f.rows,
                bytes: n,
            });
        }
        let manifest = Manifest {
            schema_version: sextant_data::cache::snapshot_schema_version(),
            symbols,
            resolution,
            tables,
        };
        let json = serde_json::to_vec(&manifest).map_err(|e| SnapshotError::Manifest {
            key: String::new(),
            message: e.to_string(),
        })?;
        let key = self.objects.put_hashed(MANIFESTS, "json", json).await?;
        tracing::info!(snapshot = %key, symbols = manifest.symbols.len(), "snapshot published");
        Ok(key)
    }

    /// The manifest of snapshot `key`.
    pub async fn manifest(&self, key: &str) -> Result<Manifest, SnapshotError> {
        let bytes = self.objects.get_hashed(MANIFESTS, key, "json").await?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| SnapshotError::Manifest {
            key: key.to_string(),
            message: e.to_string(),
        })?;
        let ours = sextant_data::cache::snapshot_schema_version();
        if m.schema_version != ours {
            return Err(SnapshotError::Manifest {
                key: key.to_string(),
                message: format!(
                    "cut from cache schema {}, this build reads schema {ours}",
                    m.schema_version
                ),
            });
        }
        if let Some(t) = m
            .tables
            .iter()
            .find(|t| !SNAPSHOT_TABLES.contains(&t.table.as_str()))
        {
            return Err(SnapshotError::Manifest {
                key: key.to_string(),
                message: format!("unknown table {:?}", t.table),
            });
        }
        Ok(m)
    }

    /// The cache holding snapshot `key`: open already, imported before (a DuckDB file under the
    /// local directory), or fetched and imported now. The file appears only complete (imported
    /// under a temporary name, then renamed), so a worker killed mid-import leaves no half
    /// snapshot behind.
    pub async fn open(&self, key: &str) -> Result<Arc<Cache>, SnapshotError> {
        if let Some(c) = self.open_map().get(key) {
            return Ok(c.clone());
        }
        let _one = self.importing.lock().await;
        if let Some(c) = self.open_map().get(key) {
            return Ok(c.clone());
        }
        let manifest = self.manifest(key).await?;
        std::fs::create_dir_all(&self.local).map_err(io(&self.local))?;
        let file = self.local.join(format!("{key}.duckdb"));
        if !file.exists() {
            let work = tempfile::tempdir_in(&self.local).map_err(io(&self.local))?;
            let mut list = Vec::with_capacity(manifest.tables.len());
            for t in &manifest.tables {
                let bytes = self.objects.get_hashed(BLOBS, &t.sha256, "parquet").await?;
                let p = work.path().join(format!("{}.parquet", t.table));
                std::fs::write(&p, bytes).map_err(io(&p))?;
                list.push((t.table.clone(), p));
            }
            let partial = work.path().join("snapshot.duckdb");
            let (p, f) = (partial.clone(), file.clone());
            tokio::task::spawn_blocking(move || -> Result<(), SnapshotError> {
                {
                    let cache = Cache::open(&p)?;
                    cache.import_snapshot(&list)?;
                    cache
                        .conn()
                        .execute_batch("CHECKPOINT")
                        .map_err(sextant_data::DataError::from)?;
                }
                std::fs::rename(&p, &f).map_err(io(&f))
            })
            .await
            .map_err(|e| SnapshotError::Manifest {
                key: key.to_string(),
                message: format!("import task failed: {e}"),
            })??;
            tracing::info!(snapshot = %key, file = %file.display(), "snapshot imported");
        }
        let cache = Arc::new(Cache::open(&file)?);
        Ok(self
            .open_map()
            .entry(key.to_string())
            .or_insert(cache)
            .clone())
    }

    /// The object store snapshots live in (checkpoints travel through it too).
    pub fn objects(&self) -> &Arc<Objects> {
        &self.objects
    }

    /// Stores the Parquet file at `path` (a worker's result) under its SHA-256; returns it.
    pub async fn put_part(&self, path: &Path) -> Result<String, SnapshotError> {
        let bytes = std::fs::read(path).map_err(io(path))?;
        Ok(self.objects.put_hashed(PARTS, "parquet", bytes).await?)
    }

    /// Fetches part `sha256` to `dest` (the object store checks the hash).
    pub async fn fetch_part(&self, sha256: &str, dest: &Path) -> Result<(), SnapshotError> {
        let bytes = self.objects.get_hashed(PARTS, sha256, "parquet").await?;
        std::fs::write(dest, bytes).map_err(io(dest))
    }

    fn open_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Cache>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}
