//! The API contract as a generated client sees it: `scripts/openapi-client-check.py` generates a
//! Python client from this server's `/api/v1/openapi.json` with openapi-python-client (pinned by
//! `scripts/setup-openapi-client-venv`), fails on any generator warning (duplicate operationIds
//! once made it drop 9 operations), checks that every GET operation became a function, and calls
//! every read through the client against one object of each kind made here, validating each body
//! against its schema and its timestamps as RFC 3339 with `Z`. The responses of the writes made
//! here are validated the same way.
//!
//! Gated like the MCP SDK test: `SEXTANT_OPENAPI_PYTHON` names the venv's python;
//! `SEXTANT_REQUIRE_OPENAPI_CLIENT=1` (set by `scripts/test`) makes a missing one a failure.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sextant_server::auth::Role;
use sextant_server::Limits;
use std::collections::BTreeMap;

use crate::common;
use common::{ingest_corrupted, start, Server};

/// Responses of the writes, kept for the client check to validate against the spec.
struct Recorder<'a> {
    s: &'a Server,
    seen: Vec<Value>,
}

impl Recorder<'_> {
    /// `method path` as `role`, asserting `want`, recorded under `operation_id`.
    async fn call(
        &mut self,
        operation_id: &str,
        method: Method,
        path: &str,
        role: Role,
        body: Option<Value>,
        want: StatusCode,
    ) -> Value {
        let (status, out, _) = self
            .s
            .call(method, path, Some(self.s.key(role)), body)
            .await;
        assert_eq!(status, want, "{operation_id} {path}: {out}");
        self.seen
            .push(json!({"operation_id": operation_id, "status": status.as_u16(), "body": out}));
        out
    }
}

/// Polls a job until it ends and asserts it succeeded.
async fn finished(s: &Server, id: &str) -> Value {
    let t = std::time::Instant::now();
    loop {
        let (status, job) = s.get(&format!("/api/v1/jobs/{id}"), Role::Admin).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        match job["status"].as_str() {
            Some("succeeded") => return job,
            Some("failed" | "cancelled") => panic!("job {id} did not succeed: {job}"),
            _ => {}
        }
        assert!(
            t.elapsed().as_secs() < 120,
            "job {id} still {}",
            job["status"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_reads_every_get_operation() {
    let python = match std::env::var("SEXTANT_OPENAPI_PYTHON") {
        Ok(p) => p,
        Err(_) if std::env::var_os("SEXTANT_REQUIRE_OPENAPI_CLIENT").is_some() => {
            panic!("SEXTANT_OPENAPI_PYTHON is not set (scripts/setup-openapi-client-venv)")
        }
        Err(_) => {
            println!("skipping the generated client: run scripts/setup-openapi-client-venv and set SEXTANT_OPENAPI_PYTHON");
            return;
        }
    };
    let s = start(Limits::default()).await;
    let mut rec = Recorder {
        s: &s,
        seen: Vec::new(),
    };
    use Method as M;
    use StatusCode as C;

    // One object of each kind, through the API.
    let run = rec
        .call(
            "run_backtest",
            M::POST,
            "/api/v1/backtests",
            Role::Analyst,
            Some(
                json!({"strategy": "sma_cross", "params": {"fast": 10, "slow": 30},
                "symbols": ["MSFT"], "from": "2007-01-01", "to": "2010-12-31"}),
            ),
            C::CREATED,
        )
        .await;
    let bt = text(&run, "id");
    let portfolio = rec
        .call(
            "create_portfolio",
            M::POST,
            "/api/v1/portfolios",
            Role::Analyst,
            Some(json!({"name": "client", "base_cash": 10000})),
            C::CREATED,
        )
        .await;
    let pf = text(&portfolio, "id");
    rec.call(
        "add_portfolio_transaction",
        M::POST,
        &format!("/api/v1/portfolios/{pf}/transactions"),
        Role::Analyst,
        Some(
            json!({"kind": "buy", "date": "2012-01-03", "symbol": "MSFT",
            "quantity": 10, "price": 26.77}),
        ),
        C::CREATED,
    )
    .await;
    let watchlist = rec
        .call(
            "create_watchlist",
            M::POST,
            "/api/v1/watchlists",
            Role::Analyst,
            Some(json!({"name": "client", "symbols": ["MSFT", "IBM", "NOPE"]})),
            C::CREATED,
        )
        .await;
    let wl = text(&watchlist, "id");
    let definition = json!({"name": "trend", "params": {"n": {"type": "int", "min": 5, "max": 100, "default": 20}},
        "long": {"entry": "close > sma(close, n)", "exit": "close < sma(close, n)"}});
    rec.call(
        "check_definition",
        M::POST,
        "/api/v1/strategies/definitions/check",
        Role::Analyst,
        Some(json!({"definition": definition})),
        C::OK,
    )
    .await;
    let saved = rec
        .call(
            "create_definition",
            M::POST,
            "/api/v1/strategies/definitions",
            Role::Analyst,
            Some(json!({"definition": definition})),
            C::CREATED,
        )
        .await;
    let def = text(&saved, "id");
    let config = rec
        .call(
            "create_strategy_config",
            M::POST,
            "/api/v1/strategies/configs",
            Role::Analyst,
            Some(json!({"name": "client", "strategy": "sma_cross"})),
            C::CREATED,
        )
        .await;
    let cfg = text(&config, "id");
    rec.call("save_universe", M::PUT, "/api/v1/universes/client", Role::Analyst,
        Some(json!({"description": "IBM leaves", "csv": "symbol,from,to\nIBM,,2008-12-31\nMSFT,,\n"})),
        C::OK)
        .await;
    let study = rec
        .call(
            "start_study",
            M::POST,
            "/api/v1/backtests/optimize",
            Role::Analyst,
            Some(
                json!({"backtest": {"strategy": "sma_cross", "symbols": ["MSFT"],
                "from": "2006-01-01", "to": "2010-12-31"},
                "search": [{"name": "fast", "distribution": {"type": "int", "low": 5, "high": 20}}],
                "trials": 4, "batch": 2}),
            ),
            C::ACCEPTED,
        )
        .await;
    let stu = text(&study, "study_id");
    let train = rec
        .call(
            "train_ml_model",
            M::POST,
            "/api/v1/models/train",
            Role::Analyst,
            Some(
                json!({"name": "client", "symbols": ["MSFT", "IBM"], "train_to": "2009-12-31",
                "test_from": "2010-01-01", "validation": {"kind": "none"},
                "params": {"n_trees": 20}, "seed": 3}),
            ),
            C::ACCEPTED,
        )
        .await;
    let job = text(&train, "id");
    let trained = finished(&s, &job).await;
    let model = text(&trained["result"], "model_id");
    let rl_job = rec
        .call(
            "train_rl_policy",
            M::POST,
            "/api/v1/rl/train",
            Role::Analyst,
            Some(
                json!({"symbol": "MSFT", "train_to": "2008-12-31", "test_to": "2009-12-31",
                "steps": 2048, "seed": 1}),
            ),
            C::ACCEPTED,
        )
        .await;
    let rl_done = finished(&s, &text(&rl_job, "id")).await;
    let policy = text(&rl_done["result"], "policy_id");
    rec.call(
        "check_model_drift",
        M::POST,
        &format!("/api/v1/models/{model}/drift"),
        Role::Analyst,
        Some(json!({"from": "2011-01-01", "to": "2012-12-31"})),
        C::OK,
    )
    .await;
    let schedule = rec
        .call(
            "create_schedule",
            M::POST,
            "/api/v1/mlops/schedules",
            Role::Analyst,
            Some(
                json!({"name": "client-weekly", "model": "client", "cron": "0 6 * * MON",
                "trigger": {"kind": "drift", "band": "alert"}}),
            ),
            C::CREATED,
        )
        .await;
    let sch = text(&schedule, "id");
    let evaluation = rec
        .call(
            "run_eval",
            M::POST,
            "/api/v1/mlops/evals",
            Role::Analyst,
            Some(
                json!({"backtest": {"strategy": "sma_cross", "params": {"fast": 10, "slow": 40},
                "symbols": ["MSFT"]}, "windows": ["gfc", "covid"], "simulations": 200,
                "resamples": 200}),
            ),
            C::CREATED,
        )
        .await;
    let evl = text(&evaluation, "id");
    let (_, runs) = s
        .get(&format!("/api/v1/mlops/runs?subject={model}"), Role::Viewer)
        .await;
    let tracked = text(&runs[0], "id");
    finished(&s, &text(&study, "id")).await;
    rec.call(
        "run_walk_forward",
        M::POST,
        "/api/v1/backtests/walk-forward",
        Role::Analyst,
        Some(
            json!({"request": {"strategy": "sma_cross", "symbols": ["MSFT"], "from": "2006-01-01"},
            "spec": {"train_bars": 252, "test_bars": 126,
                "candidates": [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 40}]}}),
        ),
        C::OK,
    )
    .await;
    rec.call(
        "evaluate_factor",
        M::POST,
        "/api/v1/factors/evaluate",
        Role::Analyst,
        Some(
            json!({"universe": "cache", "signal": {"signal": "momentum", "lookback": 20},
            "from": "2008-01-01", "to": "2010-12-31", "quantiles": 2}),
        ),
        C::OK,
    )
    .await;
    rec.call(
        "materialize_feature_view",
        M::POST,
        "/api/v1/features/technical/materialize",
        Role::Analyst,
        None,
        C::OK,
    )
    .await;
    // A regime model (the symbol's, fitted on first use) whose alerts and slices are read.
    let (status, regime) = s
        .get("/api/v1/market-data/regime?symbol=MSFT", Role::Viewer)
        .await;
    assert_eq!(status, C::OK, "{regime}");
    let forecast_of = "/api/v1/market-data/forecast/MSFT?paths=200&horizon=5";
    let (status, forecast) = s.get(forecast_of, Role::Viewer).await;
    assert_eq!(status, C::OK, "{forecast}");
    let fc = text(&forecast, "forecast_id");
    // An economic series, imported as `sextant ingest macro --file` does.
    let dir = tempfile::tempdir().expect("tmp");
    let cpi = dir.path().join("cpi.csv");
    std::fs::write(&cpi, "timestamp,value\n2024-02-01,311.054\n2024-01-01,.\n").expect("write");
    let key = sextant_domain::SeriesKey::parse_id("cpi_monthly").expect("key");
    s.services
        .reference
        .import_macro(&key, &cpi)
        .expect("import");
    // Held bars: one approved (so its review fields are set), the others pending.
    ingest_corrupted(&s).await;
    let (status, held) = s
        .get("/api/v1/quality/quarantine?limit=1", Role::Viewer)
        .await;
    assert_eq!(status, C::OK, "{held}");
    let bar = held["items"][0]["id"].as_i64().expect("a held bar");
    rec.call(
        "approve_quarantined_bar",
        M::POST,
        &format!("/api/v1/quality/quarantine/{bar}/approve"),
        Role::Admin,
        Some(json!({"note": "checked"})),
        C::OK,
    )
    .await;
    // The agent, so its audit trail has records.
    rec.call(
        "send_chat_message",
        M::POST,
        "/api/v1/chat",
        Role::Analyst,
        Some(json!({"message": "is the cache healthy?"})),
        C::OK,
    )
    .await;
    rec.call(
        "build_strategy_from_text",
        M::POST,
        "/api/v1/strategies/generative-builder",
        Role::Analyst,
        Some(json!({"text": "10/50 SMA cross with a 5% stop"})),
        C::OK,
    )
    .await;

    // Every GET operation's required parameters (and a few optional ones, to keep costly
    // reads small), by path template.
    let ids = format!("{bt},{bt}");
    let fixtures = json!({
        "/api/v1/backtests/compare": {"ids": ids},
        "/api/v1/backtests/{id}": {"id": bt},
        "/api/v1/backtests/{id}/equity": {"id": bt},
        "/api/v1/backtests/{id}/trades": {"id": bt},
        "/api/v1/backtests/{id}/report": {"id": bt},
        "/api/v1/backtests/{id}/forecast": {"id": bt, "paths": 200, "horizon": 5},
        "/api/v1/backtests/{id}/regimes": {"id": bt, "model": regime["model"]},
        "/api/v1/portfolios/{id}": {"id": pf},
        "/api/v1/portfolios/{id}/holdings": {"id": pf},
        "/api/v1/portfolios/{id}/performance": {"id": pf, "from": "2012-01-03"},
        "/api/v1/portfolios/{id}/transactions": {"id": pf},
        "/api/v1/portfolios/{id}/forecast": {"id": pf, "paths": 200, "horizon": 5},
        "/api/v1/watchlists/{id}": {"id": wl},
        "/api/v1/watchlists/{id}/quotes": {"id": wl},
        "/api/v1/strategies/definitions/{id}": {"id": def},
        "/api/v1/strategies/definitions/{id}/versions": {"id": def},
        "/api/v1/strategies/definitions/{id}/versions/{version}": {"id": def, "version": 1},
        "/api/v1/strategies/configs/{id}": {"id": cfg},
        "/api/v1/jobs/{id}": {"id": job},
        "/api/v1/studies/{id}": {"id": stu},
        "/api/v1/studies/{id}/trials": {"id": stu},
        "/api/v1/studies/{id}/leaderboard": {"id": stu},
        "/api/v1/models/{id}": {"id": model},
        "/api/v1/models/{id}/drift": {"id": model},
        "/api/v1/rl/policies/{id}": {"id": policy},
        "/api/v1/mlops/runs/{id}": {"id": tracked},
        "/api/v1/mlops/schedules/{id}": {"id": sch},
        "/api/v1/mlops/evals/{id}": {"id": evl},
        "/api/v1/signals/{symbol}": {"symbol": "MSFT", "model": model, "explain": true},
        "/api/v1/features/{name}": {"name": "technical", "symbols": "MSFT,IBM",
            "from": "2010-01-01", "to": "2010-01-31"},
        "/api/v1/forecasts/{id}": {"id": fc},
        "/api/v1/instruments/{symbol}": {"symbol": "MSFT"},
        "/api/v1/symbols/{symbol}/actions": {"symbol": "MSFT"},
        "/api/v1/symbols/search": {"q": "MS"},
        "/api/v1/macro/{series}": {"series": "cpi_monthly"},
        "/api/v1/market-data/bars/{symbol}": {"symbol": "MSFT", "from": "2008-09-25",
            "to": "2008-10-03"},
        "/api/v1/market-data/forecast/{symbol}": {"symbol": "MSFT", "paths": 200, "horizon": 5},
        "/api/v1/market-data/forecast/{symbol}/calibration": {"symbol": "MSFT", "paths": 100,
            "horizons": "1", "step": 250, "models": "naive,historical"},
        "/api/v1/market-data/forecast/{symbol}/scores": {"symbol": "MSFT"},
        "/api/v1/market-data/regime": {"symbol": "MSFT"},
        "/api/v1/market-data/regime/history": {"symbol": "MSFT", "from": "2012-01-01"},
        "/api/v1/universes/{name}": {"name": "client"},
        "/api/v1/quality/quarantine/{id}": {"id": bar},
    });
    let responses = dir.path().join("responses.json");
    let recorded = rec.seen.len();
    std::fs::write(&responses, Value::Array(rec.seen).to_string()).expect("write responses");

    let script = &format!(
        "{}/../../scripts/openapi-client-check.py",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    );
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(&s.base)
        .arg(fixtures.to_string())
        .arg(&responses)
        .env("SEXTANT_OPENAPI_KEY", s.key(Role::Admin))
        .output()
        .await
        .expect("run the client check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client check failed:\n{stdout}\n{stderr}"
    );

    // Every read answered 200 through the generated client, and the summary adds up.
    let mut statuses = BTreeMap::new();
    let mut summary = Value::Null;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v.get("summary").is_some() {
            summary = v["summary"].clone();
        } else {
            statuses.insert(text(&v, "operation_id"), v["status"].as_u64().unwrap_or(0));
        }
    }
    let not_ok: Vec<_> = statuses.iter().filter(|(_, s)| **s != 200).collect();
    assert!(
        not_ok.is_empty(),
        "reads that did not answer 200: {not_ok:?}\n{stdout}"
    );
    let gets = summary["get_operations"].as_u64().expect("get count");
    let skipped = summary["skipped"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(statuses.len() as u64, gets - skipped, "{summary}");
    assert_eq!(
        skipped, 3,
        "only /metrics, the job event stream and the evaluation's HTML page are not JSON: \
         {summary}"
    );
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["recorded_checked"], recorded, "{summary}");
    assert!(
        summary["rfc3339_z_timestamps"]
            .as_u64()
            .is_some_and(|n| n > 100),
        "{summary}"
    );
    // The spec's own count, for the record: every GET but the two above was called.
    let (status, spec) = s.get("/api/v1/openapi.json", Role::Viewer).await;
    assert_eq!(status, C::OK);
    let spec_gets = spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .filter(|item| item.get("get").is_some())
        .count() as u64;
    assert_eq!(spec_gets, gets);
    println!(
        "generated client: {} GET operations called, {summary}",
        statuses.len()
    );
}
