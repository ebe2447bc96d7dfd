#![warn(missing_docs)]
//! Object storage for artefacts that travel: RL checkpoints today, data snapshots and models for
//! remote workers next. A local directory by default (the data directory itself, so an embedded
//! install keeps its files where they were), an S3-compatible bucket (AWS, MinIO, Ceph, R2, …)
//! by configuration.
//!
//! Built on the Apache Arrow project's `object_store` crate rather than a hand-rolled S3 client:
//! it is maintained, used by DataFusion, delta-rs and Polars, signs SigV4, retries, and gives one
//! API over local files and every cloud store, so the tests exercise the same code path on both.
//! Local writes go to a temporary file renamed into place; S3 `PUT`s are atomic; a reader never
//! sees half an object.
//!
//! Content-addressed objects ([`Objects::put_hashed`]) are named by the SHA-256 of their bytes
//! and verified on every read ([`Objects::get_hashed`]): a truncated or swapped file is an error,
//! never a silently different model.

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// Where objects live. TOML table `[objects]`; every field has a default, so an empty table
/// (or none) means the data directory.
///
/// Credentials are never in the file: the S3 store reads the standard `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectsConfig {
    /// `s3://bucket` or `s3://bucket/prefix`. Default: none (the data directory). Env:
    /// `SEXTANT_OBJECTS_URL`.
    pub url: Option<String>,
    /// An S3-compatible server's endpoint, e.g. `http://127.0.0.1:9000` (plain HTTP is allowed
    /// only for an endpoint that says so). Default: AWS. Env: `SEXTANT_S3_ENDPOINT`.
    pub endpoint: Option<String>,
    /// The bucket's region. Default: `AWS_REGION`, else `us-east-1`. Env: `SEXTANT_S3_REGION`.
    pub region: Option<String>,
}

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    /// The configuration cannot name a store.
    #[error("object store configuration: {0}")]
    Config(String),
    /// A key that is not a plain relative path.
    #[error("object key {key:?}: {why}")]
    Key {
        /// The key.
        key: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// No object under the key.
    #[error("no object {0}")]
    NotFound(String),
    /// A content-addressed object whose bytes do not hash to its name.
    #[error("object {key}: its bytes hash to {actual}, not to its name")]
    Corrupt {
        /// The key read.
        key: String,
        /// The SHA-256 of the bytes found.
        actual: String,
    },
    /// The store failed (I/O, network, authorisation).
    #[error("object store {location}: {source}")]
    Store {
        /// The store ([`Objects::location`]).
        location: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
}

/// A `Result` with [`ObjectsError`].
pub type Result<T> = std::result::Result<T, ObjectsError>;

/// The SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// An object store with keys relative to its root.
#[derive(Debug, Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    prefix: Option<String>,
    location: String,
}

impl Objects {
    /// Objects under the local directory `root` (created if missing).
    ///
    /// # Errors
    /// [`ObjectsError::Config`] when the directory cannot be created or opened.
    pub fn local(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root)
            .map_err(|e| ObjectsError::Config(format!("{}: {e}", root.display())))?;
        let store = LocalFileSystem::new_with_prefix(root)
            .map_err(|e| ObjectsError::Config(format!("{}: {e}", root.display())))?;
        Ok(Objects {
            store: Arc::new(store),
            prefix: None,
            location: root.display().to_string(),
        })
    }

    /// The store `cfg` names, or the local directory `data_dir` when it names none.
    ///
    /// # Errors
    /// [`ObjectsError::Config`] for a URL that is not `s3://bucket[/prefix]` or a store that
    /// cannot be built.
    pub fn open(cfg: &ObjectsConfig, data_dir: &Path) -> Result<Self> {
        let Some(url) = &cfg.url else {
            return Self::local(data_dir);
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            ObjectsError::Config(format!("url {url:?}: expected s3://bucket[/prefix]"))
        })?;
        let (bucket, prefix) = match rest.split_once('/') {
            Some((b, p)) => (b, p.trim_matches('/')),
            None => (rest, ""),
        };
        if bucket.is_empty() {
            return Err(ObjectsError::Config(format!("url {url:?}: no bucket")));
        }
        let region = cfg
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(&region);
        if let Some(ep) = &cfg.endpoint {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"))
                // Self-hosted servers rarely resolve bucket subdomains.
                .with_virtual_hosted_style_request(false);
        }
        let store = b
            .build()
            .map_err(|e| ObjectsError::Config(format!("{url}: {e}")))?;
        let location = match &cfg.endpoint {
            Some(ep) => format!("{url} at {ep}"),
            None => url.clone(),
        };
        tracing::info!(%location, "object store");
        Ok(Objects {
            store: Arc::new(store),
            prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
            location,
        })
    }

    /// Where the objects are (a directory, or `s3://bucket/prefix at endpoint`), for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn path(&self, key: &str) -> Result<ObjectPath> {
        let bad = |why| {
            Err(ObjectsError::Key {
                key: key.to_string(),
                why,
            })
        };
        if key.is_empty() || key.len() > 512 {
            return bad("empty or longer than 512 bytes");
        }
        if key.starts_with('/') || key.ends_with('/') {
            return bad("starts or ends with '/'");
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
        if !key.chars().all(plain) {
            return bad("only ASCII letters, digits, '.', '_', '-' and '/' are allowed");
        }
        if key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == ".." || part.starts_with('.'))
        {
            return bad("a part is empty, '.', '..' or hidden");
        }
        let full = match &self.prefix {
            Some(p) => format!("{p}/{key}"),
            None => key.to_string(),
        };
        ObjectPath::parse(&full).map_err(|_| ObjectsError::Key {
            key: key.to_string(),
            why: "not a valid object path",
        })
    }

    fn store_error(&self, key: &str, e: object_store::Error) -> ObjectsError {
        match e {
            object_store::Error::NotFound { .. } => ObjectsError::NotFound(key.to_string()),
            source => ObjectsError::Store {
                location: self.location.clone(),
                source,
            },
        }
    }

    /// Writes `bytes` under `key`, replacing any object there (atomically: a reader sees the old
    /// object or the new one).
    ///
    /// # Errors
    /// [`ObjectsError::Key`] for a bad key, [`ObjectsError::Store`] when the store fails.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let path = self.path(key)?;
        // Every failure of a write is the store's (an S3 404 here means a missing bucket).
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|source| ObjectsError::Store {
                location: self.location.clone(),
                source,
            })?;
        Ok(())
    }

    /// The bytes under `key`.
    ///
    /// # Errors
    /// [`ObjectsError::NotFound`] when there is none, [`ObjectsError::Key`] or
    /// [`ObjectsError::Store`] otherwise.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        let got = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.store_error(key, e))?;
        let bytes = got.bytes().await.map_err(|e| self.store_error(key, e))?;
        Ok(bytes.to_vec())
    }

    /// Whether an object exists under `key`.
    ///
    /// # Errors
    /// [`ObjectsError::Key`] or [`ObjectsError::Store`].
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.store_error(key, e)),
        }
    }

    /// The key of the content-addressed object `hash` with extension `ext` under `dir`.
    pub fn hashed_key(dir: &str, hash: &str, ext: &str) -> String {
        format!("{dir}/{hash}.{ext}")
    }

    /// Stores `bytes` as `dir/<sha256>.<ext>` and returns the hash. An object already there
    /// with the same size is kept (same name, same bytes; a HEAD instead of an upload); one of
    /// another size (a truncated write, a tampered file) is replaced.
    ///
    /// # Errors
    /// As [`Objects::put`].
    pub async fn put_hashed(&self, dir: &str, ext: &str, bytes: Vec<u8>) -> Result<String> {
        let hash = sha256_hex(&bytes);
        let key = Self::hashed_key(dir, &hash, ext);
        let path = self.path(&key)?;
        let same = match self.store.head(&path).await {
            Ok(meta) => meta.size as usize == bytes.len(),
            Err(object_store::Error::NotFound { .. }) => false,
            Err(e) => return Err(self.store_error(&key, e)),
        };
        if !same {
            self.put(&key, bytes).await?;
        }
        Ok(hash)
    }

    /// The bytes of `dir/<hash>.<ext>`, checked against `hash`.
    ///
    /// # Errors
    /// [`ObjectsError::Corrupt`] when they do not hash to it; as [`Objects::get`] otherwise.
    pub async fn get_hashed(&self, dir: &str, hash: &str, ext: &str) -> Result<Vec<u8>> {
        let key = Self::hashed_key(dir, hash, ext);
        let bytes = self.get(&key).await?;
        let actual = sha256_hex(&bytes);
        if actual != hash {
            return Err(ObjectsError::Corrupt { key, actual });
        }
        Ok(bytes)
    }
}
