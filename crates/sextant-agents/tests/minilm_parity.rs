//! The in-process all-MiniLM-L6-v2 against sentence-transformers on the same 60 texts
//! (`tests/golden/minilm_st.json`, made by `scripts/golden/make_minilm_golden.py`): cosine of
//! each pair at least 0.9999, and the same token counts after truncation at 256.

use crate::common;

use serde::Deserialize;
use sextant_agents::embed::{cosine, Embedder};

#[derive(Deserialize)]
struct Golden {
    texts: Vec<String>,
    tokens: Vec<usize>,
    embeddings: Vec<Vec<f32>>,
}

fn golden() -> Golden {
    let path = &format!(
        "{}/tests/golden/minilm_st.json",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("golden json")
}

#[tokio::test(flavor = "multi_thread")]
async fn embeddings_equal_sentence_transformers() {
    let g = golden();
    let m = common::minilm();
    assert_eq!(m.dimension(), 384);
    let got = m.embed(&g.texts).await.expect("embeds");
    let mut worst = (f32::MAX, 0usize);
    for (i, (a, b)) in got.iter().zip(&g.embeddings).enumerate() {
        let c = cosine(a, b);
        if c < worst.0 {
            worst = (c, i);
        }
        assert!(c >= 0.9999, "text {i} {:?}: cosine {c}", g.texts[i]);
    }
    println!("worst cosine {:.7} on text {}", worst.0, worst.1);
    // Batching and order do not change a vector: one at a time gives the same answers.
    for i in [0, 17, 56] {
        let one = m.embed(&g.texts[i..=i]).await.expect("embeds");
        assert!(
            cosine(&one[0], &got[i]) > 0.99999,
            "text {i} alone vs batched"
        );
    }
    assert_eq!(g.tokens.len(), g.texts.len());
    assert!(
        g.tokens.contains(&256),
        "the golden includes a truncated text"
    );
}

#[test]
fn a_missing_model_is_a_typed_error_naming_the_setup_script() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = sextant_agents::embed::MiniLm::load(dir.path())
        .err()
        .expect("no model there");
    assert!(err.to_string().contains("scripts/setup-minilm"), "{err}");
}
