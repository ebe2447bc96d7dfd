//! The dashboard in a real headless Chromium (Debian's `chromium` + `chromium-driver`), driven
//! over W3C WebDriver (`common/webdriver.rs`) against the real router on loopback: log in, open a backtest,
//! run one from the form generated from the strategy's schema, see the equity chart drawn with
//! labelled axes and the narrative, see a model's drift check, promotion records and schedules
//! and run a drift check and a promotion with a reason from the Models page, approve a
//! quarantined bar as admin and be refused as viewer, visit every page and the API explorer
//! with no console errors. Screenshots and the page weights are written to
//! `$SEXTANT_ARTIFACTS_DIR` (default `<target>/tmp/web-artifacts`).
//!
//! Skips without `SEXTANT_CHROMEDRIVER` (the path of chromedriver) unless
//! `SEXTANT_REQUIRE_BROWSER` is set; `scripts/test` sets both.

use serde_json::{json, Value};
use sextant_server::auth::Role;
use sextant_server::Limits;
use std::path::PathBuf;
use std::time::Duration;

mod common;
use common::webdriver::{Driver, Session};
use common::{ingest_corrupted, start, Server};

/// How long a page may take to become ready (a backtest run included).
const READY: Duration = Duration::from_secs(60);

struct Ui {
    c: Session,
    base: String,
    out: PathBuf,
    /// Console entries at level SEVERE, each with the step that produced it.
    severe: Vec<(String, String)>,
}

impl Ui {
    async fn js(&self, script: &str) -> Value {
        self.c.js(script).await
    }

    /// Waits until `css` matches, failing with the page's alert text or app errors if not.
    async fn wait(&self, css: &str) -> String {
        if let Some(e) = self.c.wait(css, READY).await {
            return e;
        }
        let _ = self.shot("timeout").await;
        let state = self
            .js("return {alerts: [...document.querySelectorAll('[role=alert]')].map(e=>e.textContent), \
                 errors: (window.__sextant||{}).errors, page: document.querySelector('main')?.outerHTML.slice(0,2000)}")
            .await;
        panic!("no {css} within {READY:?}: {state}");
    }

    /// Waits until `script` (a function body) returns `true`.
    async fn wait_true(&self, what: &str, script: &str) {
        let t0 = std::time::Instant::now();
        while self.js(script).await != json!(true) {
            if t0.elapsed() > READY {
                let _ = self.shot("timeout").await;
                panic!("{what}: not within {READY:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn page(&self, hash: &str, name: &str) {
        self.c.goto(&format!("{}/#{hash}", self.base)).await;
        self.wait(&format!("main#page[data-page={name}][data-ready]"))
            .await;
    }

    async fn click(&self, css: &str) {
        let e = self.wait(css).await;
        self.c.click(&e).await;
    }

    async fn shot(&self, name: &str) -> PathBuf {
        let path = self.out.join(format!("{name}.png"));
        std::fs::write(&path, self.c.screenshot().await).expect("write screenshot");
        path
    }

    /// The app's own error record (window.onerror, rejections, console.error, failed loads)
    /// must be empty, and the browser log is drained into `severe`.
    async fn clean(&mut self, step: &str) {
        let errors = self
            .js("return (window.__sextant || {errors: ['no __sextant']}).errors")
            .await;
        assert_eq!(errors, json!([]), "{step}: page errors");
        for e in self.c.console().await {
            if e["level"] == "SEVERE" {
                let message = e["message"].as_str().unwrap_or("").to_string();
                self.severe.push((step.to_string(), message));
            }
        }
    }

    async fn login(&mut self, key: &str) {
        self.c.goto(&format!("{}/", self.base)).await;
        self.js("sessionStorage.clear(); location.hash = ''; location.reload(); return 1")
            .await;
        let field = self.wait("input#key").await;
        self.c.type_text(&field, key).await;
        self.click("button#login").await;
        self.wait("nav#nav").await;
        self.wait("main#page[data-ready]").await;
    }

    /// What the current document loaded from this origin, API calls aside: each file with its
    /// size on the wire (fetched again with `Accept-Encoding: gzip`, since the browser reports
    /// 0 bytes for a file it revalidated from its cache) and the total.
    async fn weight(&self) -> Value {
        let paths = self
            .js("return [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')] \
                 .filter(e => e && e.name.startsWith(location.origin) && !e.name.includes('/api/')) \
                 .map(e => new URL(e.name).pathname)")
            .await;
        let paths: Vec<String> = serde_json::from_value(paths).expect("paths");
        let http = reqwest::Client::new();
        let (mut files, mut total, mut raw) = (Vec::new(), 0usize, 0usize);
        for p in paths {
            let resp = http
                .get(format!("{}{p}", self.base))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .expect("asset");
            assert!(resp.status().is_success(), "{p}: {}", resp.status());
            let gz = resp.headers().get("content-encoding").is_some();
            let body = resp.bytes().await.expect("body");
            let plain = if gz {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out)
                    .expect("gunzip");
                out.len()
            } else {
                body.len()
            };
            total += body.len();
            raw += plain;
            files.push(json!({"path": p, "wire_bytes": body.len(), "raw_bytes": plain}));
        }
        json!({"wire_bytes": total, "raw_bytes": raw, "files": files})
    }
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("SEXTANT_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-artifacts"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

async fn chromedriver() -> Option<Driver> {
    let Some(bin) = std::env::var_os("SEXTANT_CHROMEDRIVER") else {
        assert!(
            std::env::var_os("SEXTANT_REQUIRE_BROWSER").is_none(),
            "SEXTANT_REQUIRE_BROWSER is set but SEXTANT_CHROMEDRIVER is not (scripts/setup-chromium)"
        );
        eprintln!("skipping: SEXTANT_CHROMEDRIVER not set");
        return None;
    };
    Some(Driver::start(&bin).await)
}

async fn browser(driver: &Driver) -> Session {
    let binary = std::env::var("SEXTANT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": binary, "args": ["--headless=new", "--no-sandbox",
            "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US"]},
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    Session::new(driver, caps).await
}

async fn pending_ids(s: &Server) -> Vec<i64> {
    let (_, body) = s
        .get(
            "/api/v1/quality/quarantine?status=pending&limit=500",
            Role::Viewer,
        )
        .await;
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect()
}

/// Polls a job until it ends.
async fn wait_job(s: &Server, id: &str) -> Value {
    s.wait_job(id, READY).await
}

async fn status_of(s: &Server, id: i64) -> String {
    let (_, body) = s
        .get(&format!("/api/v1/quality/quarantine/{id}"), Role::Viewer)
        .await;
    body["status"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let s = start(Limits::default()).await;
    ingest_corrupted(&s).await;
    // One stored run so the list has something to open.
    let req =
        json!({"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbols": ["MSFT"]});
    let (code, seeded) = s.post("/api/v1/backtests", Role::Analyst, req).await;
    assert_eq!(code.as_u16(), 201, "{seeded}");
    let seeded = seeded["id"].as_str().expect("id").to_string();

    // A model for the Models page, trained through the API (before the browser starts, so the
    // training does not compete with it), promoted with a reason, checked for drift, scheduled.
    let train = json!({"name": "web", "symbols": ["MSFT", "IBM"], "train_to": "2009-12-31",
        "test_from": "2010-01-01", "validation": {"kind": "none"}, "params": {"n_trees": 20},
        "seed": 3});
    let (code, job) = s.post("/api/v1/models/train", Role::Analyst, train).await;
    assert_eq!(code.as_u16(), 202, "{job}");
    let trained = wait_job(&s, job["id"].as_str().expect("job id")).await;
    assert_eq!(trained["status"], "succeeded", "{trained}");
    let model = trained["result"]["model_id"]
        .as_str()
        .expect("model id")
        .to_string();
    // An RL policy for the RL page, trained through the API the same way.
    let (code, job) = s
        .post(
            "/api/v1/rl/train",
            Role::Analyst,
            json!({"symbol": "MSFT", "train_to": "2008-12-31", "test_to": "2010-12-31",
                "steps": 8192, "seed": 1}),
        )
        .await;
    assert_eq!(code.as_u16(), 202, "{job}");
    let rl_done = wait_job(&s, job["id"].as_str().expect("job id")).await;
    assert_eq!(rl_done["status"], "succeeded", "{rl_done}");
    let policy = rl_done["result"]["policy_id"]
        .as_str()
        .expect("policy id")
        .to_string();
    const REASON: &str = "web tour: beats the 2010 holdout";
    let (code, out) = s
        .post(
            &format!("/api/v1/models/{model}/promote"),
            Role::Analyst,
            json!({"stage": "production", "reason": REASON}),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{out}");
    let (code, drift) = s
        .post(
            &format!("/api/v1/models/{model}/drift"),
            Role::Analyst,
            json!({"from": "2011-01-01", "to": "2012-12-31"}),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{drift}");
    let drift_id = drift["id"].as_str().expect("drift id").to_string();
    let features = drift["report"]["features"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!features.is_empty(), "{drift}");
    let (code, sch) = s
        .post(
            "/api/v1/mlops/schedules",
            Role::Analyst,
            json!({"name": "web-weekly", "model": "web", "cron": "0 6 * * MON",
                "trigger": {"kind": "drift", "band": "alert"}}),
        )
        .await;
    assert_eq!(code.as_u16(), 201, "{sch}");

    let mut ui = Ui {
        c: browser(&driver).await,
        base: s.base.clone(),
        out: artifacts(),
        severe: Vec::new(),
    };
    let mut shots = Vec::new();

    // Log in as an analyst; the shell paints before any API call.
    ui.login(s.key(Role::Analyst)).await;
    let fcp = ui
        .js("const p=performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : -1")
        .await;
    let fcp = fcp.as_f64().expect("fcp");
    assert!(
        (0.0..1000.0).contains(&fcp),
        "first contentful paint {fcp} ms"
    );
    ui.page("/overview", "overview").await;
    shots.push(ui.shot("overview").await);
    ui.clean("overview").await;

    // Open the stored backtest from the list.
    ui.page("/backtests", "backtests").await;
    ui.click(&format!("a[href='#/backtests/{seeded}']")).await;
    ui.wait("main#page[data-page=backtest][data-ready]").await;
    ui.wait("figure#equity canvas").await;
    ui.clean("open backtest").await;

    // Run one from the form generated from sma_cross's JSON Schema.
    ui.page("/backtests/new", "backtest-new").await;
    let (_, lib) = s.get("/api/v1/strategies", Role::Viewer).await;
    let schema = lib
        .as_array()
        .expect("library")
        .iter()
        .find(|i| i["name"] == "sma_cross")
        .map(|i| i["schema"].clone())
        .expect("sma_cross");
    ui.js(
        "const s=document.querySelector('select#strategy'); s.value='sma_cross'; \
           s.dispatchEvent(new Event('change', {bubbles:true})); return 1",
    )
    .await;
    for (name, _) in schema["properties"].as_object().expect("properties") {
        ui.wait(&format!("form [name={name}]")).await;
    }
    let fast_max = ui
        .js("return document.querySelector('form [name=fast]').max")
        .await;
    assert_eq!(
        fast_max.as_str().map(str::to_string),
        schema["properties"]["fast"]["maximum"]
            .as_f64()
            .map(|m| m.to_string()),
        "the form's bounds come from the schema"
    );
    ui.js("const set=(n,v)=>{const e=document.querySelector(`form [name=${n}]`); e.value=v; \
           e.dispatchEvent(new Event('input',{bubbles:true}));}; set('fast','12'); set('slow','40'); \
           const y=document.querySelector('select#symbol'); y.value='AAPL'; \
           y.dispatchEvent(new Event('change',{bubbles:true})); return 1")
        .await;
    ui.click("button#run").await;
    ui.wait("main#page[data-page=backtest][data-ready]").await;
    let url = ui.c.url().await;
    let id = url
        .split_once("#/backtests/")
        .map(|(_, id)| id.to_string())
        .unwrap_or_else(|| panic!("not navigated to the new run: {url}"));
    assert_ne!(id, seeded);
    // Runs are owned by the key that made them.
    let (_, run) = s
        .get(&format!("/api/v1/backtests/{id}"), Role::Analyst)
        .await;
    let request = &run["manifest"]["request"];
    assert_eq!(request["strategy"], "sma_cross", "{run}");
    assert_eq!(request["params"]["fast"], 12, "{run}");
    assert_eq!(request["symbols"], json!(["AAPL"]), "{run}");

    // The equity chart is drawn (non-transparent pixels) with labelled axes, trades and the
    // narrative are shown.
    let drawn = ui
        .js("const c=document.querySelector('figure#equity canvas'); \
             const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data; \
             let n=0; for(let i=3;i<d.length;i+=4) if(d[i]>0) n++; return n")
        .await;
    assert!(
        drawn.as_u64().unwrap_or(0) > 1000,
        "equity canvas drawn: {drawn}"
    );
    let axes = ui
        .js("return window.__sextant.charts.equity.axes.map(a => a.label || '')")
        .await;
    let axes: Vec<String> = serde_json::from_value(axes).expect("axes");
    assert!(
        axes.len() >= 2 && axes.iter().all(|l| !l.is_empty()),
        "axes {axes:?}"
    );
    let caption = ui
        .js("return document.querySelector('figure#equity figcaption').textContent")
        .await;
    assert!(caption.as_str().is_some_and(|c| !c.trim().is_empty()));
    let trades = ui
        .js("return document.querySelectorAll('table#trades tbody tr').length")
        .await;
    assert!(trades.as_u64().unwrap_or(0) > 0, "trade rows");
    let metrics = ui
        .js("return document.querySelector('table#metrics').textContent")
        .await;
    assert!(
        metrics
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("sharpe"),
        "{metrics}"
    );
    ui.wait("section#narrative p").await;
    let narrative = ui
        .js("return [...document.querySelectorAll('section#narrative p')].map(p=>p.textContent).join(' ')")
        .await;
    assert!(
        narrative.as_str().unwrap_or("").len() > 80,
        "narrative: {narrative}"
    );
    shots.push(ui.shot("backtest").await);
    ui.clean("run backtest").await;

    // Every other page renders without errors.
    for (hash, name) in [
        ("/market", "market"),
        (&*format!("/compare?ids={seeded},{id}"), "compare"),
        ("/jobs", "jobs"),
        ("/studies", "studies"),
    ] {
        ui.page(hash, name).await;
        shots.push(ui.shot(name).await);
        ui.clean(name).await;
    }

    // The Models page: the latest drift check (its band as a badge, every feature by PSI), the
    // promotion record with its reason, the schedule.
    ui.page(&format!("/models?id={model}"), "models").await;
    ui.wait(&format!("section#drift [data-check-id='{drift_id}']"))
        .await;
    let band = ui
        .js("return document.querySelector('section#drift #drift-band.badge').dataset.band")
        .await;
    assert!(
        ["none", "warn", "alert"].contains(&band.as_str().unwrap_or("")),
        "band {band}"
    );
    assert_eq!(band, drift["report"]["band"], "the stored band");
    let rows = ui
        .js(
            "return [...document.querySelectorAll('table#drift-features tbody tr[data-feature]')] \
             .map(r => r.dataset.feature)",
        )
        .await;
    let rows: Vec<String> = serde_json::from_value(rows).expect("feature rows");
    assert_eq!(rows.len(), features.len(), "one row per feature: {rows:?}");
    let psi = |name: &str| {
        features
            .iter()
            .find(|f| f["feature"] == name)
            .and_then(|f| f["psi"].as_f64())
            .unwrap_or(f64::NEG_INFINITY)
    };
    assert!(
        features
            .iter()
            .all(|f| f["psi"].as_f64().unwrap_or(f64::NEG_INFINITY) <= psi(&rows[0])),
        "highest PSI first: {rows:?}"
    );
    let promotions = ui
        .js("return document.querySelector('table#promotions').textContent")
        .await;
    let promotions = promotions.as_str().unwrap_or("");
    assert!(
        promotions.contains(REASON) && promotions.contains("→ production"),
        "{promotions}"
    );
    let schedules = ui
        .js("return document.querySelector('table#schedules').textContent")
        .await;
    let schedules = schedules.as_str().unwrap_or("");
    assert!(
        schedules.contains("web-weekly") && schedules.contains("0 6 * * MON"),
        "{schedules}"
    );
    shots.push(ui.shot("models").await);
    ui.clean("models").await;

    // Run a drift check from the form (it defaults to the last check's window): the panel shows
    // the new check, the earlier one moves to the history.
    ui.click("form#drift-form button#drift-run").await;
    ui.wait(&format!(
        "section#drift [data-check-id]:not([data-check-id='{drift_id}'])"
    ))
    .await;
    ui.wait("#drift-msg [role=status]").await;
    ui.wait("table#drift-features tbody tr[data-feature]").await;
    ui.wait("table#drift-history tbody tr").await;
    let (_, checks) = s
        .get(&format!("/api/v1/models/{model}/drift"), Role::Viewer)
        .await;
    assert_eq!(checks.as_array().map(Vec::len), Some(2), "{checks}");
    ui.clean("drift check from the page").await;

    // Move the model back to staging with a reason: recorded, and the table shows it.
    const UI_REASON: &str = "web tour: back to staging from the page";
    ui.js("document.querySelector('select#stage').value = 'staging'; return 1")
        .await;
    let field = ui.wait("input#promote-reason").await;
    ui.c.type_text(&field, UI_REASON).await;
    ui.click("button#promote").await;
    ui.wait_true(
        "the promotion record on the page",
        &format!(
            "return (document.querySelector('table#promotions')?.textContent || '').includes({})",
            json!(UI_REASON)
        ),
    )
    .await;
    let (_, recs) = s
        .get("/api/v1/mlops/promotions?model=web", Role::Viewer)
        .await;
    assert_eq!(recs[0]["reason"], UI_REASON, "{recs}");
    assert_eq!(recs[0]["to_stage"], "staging", "{recs}");
    assert_eq!(recs[0]["actor"]["kind"], "key", "{recs}");
    ui.clean("promote with a reason").await;

    // The RL page: the policy's out-of-sample legs beside buy and hold, flat and the best rule,
    // the verdict of the bootstrap in words, the reward curve, the lineage; the training form
    // queues a job.
    ui.page(&format!("/rl?id={policy}"), "rl").await;
    ui.wait("table#rl-legs tr[data-leg='best_rule']").await;
    let legs = ui
        .js("return [...document.querySelectorAll('table#rl-legs tbody tr')].map(r => r.dataset.leg)")
        .await;
    assert_eq!(
        legs,
        json!(["policy", "buy_and_hold", "flat", "best_rule"]),
        "{legs}"
    );
    let verdict = ui
        .js("return document.getElementById('rl-verdict-bh').textContent")
        .await;
    assert!(
        verdict.as_str().unwrap_or("").contains("buy and hold"),
        "{verdict}"
    );
    let (_, stored) = s
        .get(&format!("/api/v1/rl/policies/{policy}"), Role::Viewer)
        .await;
    let shown = ui
        .js("return document.getElementById('rl-checkpoint').textContent")
        .await;
    let checkpoint = stored["checkpoint"].as_str().unwrap_or("-");
    assert!(
        shown.as_str().unwrap_or("").starts_with(&checkpoint[..16]),
        "{shown} vs {checkpoint}"
    );
    let curve_points = ui
        .js("return window.__sextant.charts['reward-curve'].data[0].length")
        .await;
    assert!(curve_points.as_u64().unwrap_or(0) >= 1, "{curve_points}");
    shots.push(ui.shot("rl").await);
    ui.clean("rl").await;
    ui.js("document.getElementById('rl-steps').value = '2048'; return 1")
        .await;
    ui.click("form#rl-train button#rl-submit").await;
    ui.wait("#rl-msg [role=status][data-job-id]").await;
    ui.clean("rl training form").await;

    // The licence links in the footer resolve.
    let links = ui
        .js("return [...document.querySelectorAll('footer a[href^=\"/\"]')].map(a => a.getAttribute('href'))")
        .await;
    let links: Vec<String> = serde_json::from_value(links).expect("links");
    assert!(links.len() >= 3, "{links:?}");
    for l in &links {
        let code = reqwest::get(format!("{}{l}", s.base))
            .await
            .expect("link")
            .status();
        assert!(code.is_success(), "{l}: {code}");
    }

    // Everything the dashboard loaded while visiting every page (one document since login).
    let weight = ui.weight().await;

    // Keyboard: from the top of the page, Tab reaches the skip link, every nav link and Log out.
    ui.c.goto(&format!("{}/#/backtests/{id}", s.base)).await;
    ui.js("location.reload(); return 1").await;
    ui.wait("main#page[data-page=backtest][data-ready]").await;
    let mut reached = Vec::new();
    for _ in 0..14 {
        ui.c.tab().await;
        let here = ui
            .js("const e=document.activeElement; return e ? (e.id || e.getAttribute('href') || e.textContent.trim()) : ''")
            .await;
        reached.push(here.as_str().unwrap_or("").to_string());
    }
    let links = ui
        .js("return [...document.querySelectorAll('nav#nav a')].map(a => a.getAttribute('href'))")
        .await;
    let links: Vec<String> = serde_json::from_value(links).expect("nav links");
    for want in links.iter().map(String::as_str).chain(["skip", "logout"]) {
        assert!(
            reached.iter().any(|r| r == want),
            "Tab never reached {want}: {reached:?}"
        );
    }

    // Narrow screens: the detail page reflows without horizontal scrolling.
    ui.c.resize(375, 800).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = ui
        .js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert!(
        overflow.as_i64().unwrap_or(i64::MAX) <= 0,
        "overflows 375 px by {overflow}"
    );
    ui.js("document.activeElement.blur(); window.scrollTo(0, 0); return 1")
        .await;
    shots.push(ui.shot("backtest-375px").await);
    ui.c.resize(1280, 900).await;

    // The API explorer works offline with the logged-in key. With 100 operations or more Swagger
    // UI renders only the tags in view (a virtual list), so the test follows a link to the tag
    // (`#/auth`), as a user would; the explorer scrolls it into view and renders it. (A link to
    // the operation itself makes Swagger UI log a deprecation for the `_` in its id.)
    ui.c.goto(&format!("{}/docs#/auth", s.base)).await;
    ui.wait("#operations-auth-get_current_key").await;
    // "Try it out" sends the logged-in key: GET /api/v1/me answers with the analyst's role.
    ui.click("#operations-auth-get_current_key .opblock-summary")
        .await;
    // (tryItOutEnabled: the operation opens ready to execute.)
    ui.click("#operations-auth-get_current_key button.execute")
        .await;
    ui.wait("#operations-auth-get_current_key .live-responses-table .response-col_status")
        .await;
    let answer = ui
        .js("return document.querySelector('#operations-auth-get_current_key .live-responses-table').textContent")
        .await;
    let answer = answer.as_str().unwrap_or("");
    assert!(
        answer.contains("200") && answer.contains("analyst"),
        "{answer}"
    );
    let docs_weight = ui.weight().await;
    shots.push(ui.shot("docs").await);
    ui.clean("docs").await;

    // An admin approves a held bar.
    let pending = pending_ids(&s).await;
    assert!(pending.len() > 2, "quarantined bars to review");
    ui.login(s.key(Role::Admin)).await;
    ui.page("/quality", "quality").await;
    let first = ui
        .js("return Number(document.querySelector('tr[data-id]').dataset.id)")
        .await
        .as_i64()
        .expect("a row");
    assert!(pending.contains(&first));
    ui.click(&format!(
        "tr[data-id='{first}'] button[data-action=approve]"
    ))
    .await;
    ui.wait(&format!("tr[data-id='{first}'] [data-status='approved']"))
        .await;
    assert_eq!(status_of(&s, first).await, "approved");
    shots.push(ui.shot("quality-admin").await);
    ui.clean("approve as admin").await;

    // A viewer sees the queue but the server refuses the approval.
    ui.login(s.key(Role::Viewer)).await;
    ui.page("/quality", "quality").await;
    let row = ui
        .js("return Number(document.querySelector('tr[data-id]').dataset.id)")
        .await
        .as_i64()
        .expect("a row");
    ui.click(&format!("tr[data-id='{row}'] button[data-action=approve]"))
        .await;
    ui.wait("[role=alert]").await;
    let alert = ui
        .js("return [...document.querySelectorAll('[role=alert]')].map(e=>e.textContent).join(' ')")
        .await;
    let alert = alert.as_str().unwrap_or("");
    assert!(
        alert.contains("Refused") && alert.contains("403"),
        "{alert}"
    );
    assert_eq!(status_of(&s, row).await, "pending");
    shots.push(ui.shot("quality-viewer").await);
    ui.clean("refused as viewer").await;

    // The only console error is the browser's own report of that deliberate 403.
    let unexpected: Vec<_> = ui
        .severe
        .iter()
        .filter(|(step, m)| {
            !(step == "refused as viewer" && m.contains("/approve") && m.contains("403"))
        })
        .collect();
    assert!(unexpected.is_empty(), "console errors: {unexpected:#?}");

    let weights = json!({"dashboard": weight, "docs": docs_weight, "first_contentful_paint_ms": fcp,
        "screenshots": shots});
    let bytes = weight["wire_bytes"].as_u64().expect("bytes");
    assert!(
        bytes > 10_000 && bytes < 500_000,
        "dashboard weight {bytes} B gzipped"
    );
    std::fs::write(
        ui.out.join("page-weights.json"),
        serde_json::to_string_pretty(&weights).expect("json"),
    )
    .expect("write weights");
    eprintln!("web artifacts: {} {weights}", ui.out.display());
    ui.c.close().await;
}
