//! The web dashboard and the API explorer: static files embedded in the binary.
//!
//! Two folders are compiled in with `rust-embed`, so `sextant serve` works offline with no CDN:
//! the dashboard's own files (`web/app/`, committed) and the third-party browser files
//! (`.web-vendor/`, uPlot and Swagger UI from pinned npm tarballs, see
//! `scripts/setup-web-vendor`). Routes:
//!
//! * `GET /` is the single-page app (`index.html`); it calls the public API with the key the user
//!   typed, so roles apply exactly as for any other client.
//! * `GET /docs` is Swagger UI over `/api/v1/openapi.json`.
//! * `GET /ui/{path}` are the app's files, `GET /ui/vendor/{path}` the vendored ones.
//!
//! These paths are public (they hold no data). Each file is gzipped once, on first request, and
//! served compressed when the client accepts gzip; every answer has an ETag. HTML pages carry a
//! strict Content-Security-Policy (scripts from this origin only, no inline script).
//!
//! `[server] web_dir` (env `SEXTANT_WEB_DIR`), when set, serves the app's files from that
//! directory instead of the embedded copy, re-read on every request, so front-end work needs no
//! rebuild.

use crate::state::AppState;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

#[derive(rust_embed::Embed)]
#[folder = "web/app/"]
struct AppFiles;

#[derive(rust_embed::Embed)]
#[folder = "../../.web-vendor/"]
struct VendorFiles;

/// The policy every HTML page is served with. Swagger UI sets inline styles and uses `data:`
/// images; nothing needs inline script or `eval`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The static routes (kept out of the OpenAPI document: they are not API operations). With
/// `web_dir`, the app's files come from that directory instead of the binary.
pub fn router(web_dir: Option<PathBuf>) -> Router<AppState> {
    let dir: Arc<Option<PathBuf>> = Arc::new(web_dir);
    let page = |name: &'static str, dir: Arc<Option<PathBuf>>| {
        get(move |h: HeaderMap| async move { app_file(dir.as_deref(), name, &h) })
    };
    let files = dir.clone();
    Router::new()
        .route("/", page("index.html", dir.clone()))
        .route("/docs", page("docs.html", dir))
        .route(
            "/ui/vendor/{*path}",
            get(|Path(p): Path<String>, h: HeaderMap| async move { vendor_file(&p, &h) }),
        )
        .route(
            "/ui/{*path}",
            get(move |Path(p): Path<String>, h: HeaderMap| async move {
                app_file(files.as_deref(), &p, &h)
            }),
        )
}

/// One file ready to serve.
struct Asset {
    raw: Vec<u8>,
    gzip: Option<Vec<u8>>,
    etag: String,
    mime: &'static str,
}

impl Asset {
    fn new(path: &str, raw: Vec<u8>) -> Asset {
        let mime = mime_of(path);
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&raw)[..12]));
        let gzip = compressible(mime)
            .then(|| gzip(&raw))
            .flatten()
            .filter(|g| g.len() < raw.len());
        Asset {
            raw,
            gzip,
            etag,
            mime,
        }
    }
}

fn gzip(raw: &[u8]) -> Option<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 3), Compression::best());
    enc.write_all(raw).ok()?;
    enc.finish().ok()
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.contains("javascript")
        || mime.contains("json")
        || mime.contains("svg")
}

fn mime_of(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

type Cache = Mutex<HashMap<String, Arc<Asset>>>;
static APP: LazyLock<Cache> = LazyLock::new(Default::default);
static VENDOR: LazyLock<Cache> = LazyLock::new(Default::default);

fn app_file(dir: Option<&std::path::Path>, path: &str, headers: &HeaderMap) -> Response {
    if let Some(dir) = dir {
        // Development: read from disk every time; refuse anything that is not a plain relative
        // path below the directory.
        if !safe_relative(path) {
            return not_found();
        }
        return match std::fs::read(dir.join(path)) {
            Ok(raw) => serve(&Asset::new(path, raw), headers),
            Err(_) => not_found(),
        };
    }
    cached(&APP, path, AppFiles::get(path).map(|f| f.data), headers)
}

fn vendor_file(path: &str, headers: &HeaderMap) -> Response {
    cached(
        &VENDOR,
        path,
        VendorFiles::get(path).map(|f| f.data),
        headers,
    )
}

fn cached(
    cache: &Cache,
    path: &str,
    data: Option<Cow<'static, [u8]>>,
    headers: &HeaderMap,
) -> Response {
    let Some(data) = data else {
        return not_found();
    };
    let hit = cache.lock().ok().and_then(|c| c.get(path).cloned());
    let asset = hit.unwrap_or_else(|| {
        let asset = Arc::new(Asset::new(path, data.into_owned()));
        if let Ok(mut c) = cache.lock() {
            c.insert(path.to_string(), asset.clone());
        }
        asset
    });
    serve(&asset, headers)
}

fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&asset.etag).ok();
    let mut out = HeaderMap::new();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    // Files change with the binary, not by name: revalidate each time (cheap on a LAN, 304).
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.mime.starts_with("text/html") {
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        out.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if let Some(tag) = etag {
        let matches = headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == tag.as_bytes());
        out.insert(header::ETAG, tag);
        if matches {
            return (StatusCode::NOT_MODIFIED, out).into_response();
        }
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    match (&asset.gzip, gzip_ok) {
        (Some(gz), true) => {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (out, gz.clone()).into_response()
        }
        _ => (out, asset.raw.clone()).into_response(),
    }
}

fn not_found() -> Response {
    crate::error::ApiError::not_found("no such file").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_only() {
        assert!(safe_relative("pages/backtest.js"));
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a\\b", "./a"] {
            assert!(!safe_relative(bad), "{bad}");
        }
    }

    #[test]
    fn every_page_and_vendored_file_is_embedded() {
        for f in [
            "index.html",
            "docs.html",
            "docs.js",
            "boot.js",
            "main.js",
            "app.css",
        ] {
            assert!(AppFiles::get(f).is_some(), "{f} not embedded");
        }
        for f in [
            "uplot-1.6.32/uPlot.iife.min.js",
            "uplot-1.6.32/LICENSE",
            "swagger-ui-dist-5.36.0/swagger-ui-bundle.js",
            "swagger-ui-dist-5.36.0/NOTICE",
        ] {
            assert!(VendorFiles::get(f).is_some(), "{f} not embedded");
        }
    }

    #[test]
    fn gzip_only_when_smaller() {
        let a = Asset::new("x.js", b"let a = 1;".repeat(200));
        assert!(a.gzip.as_ref().is_some_and(|g| g.len() < a.raw.len()));
        assert_eq!(a.mime, "text/javascript; charset=utf-8");
    }
}
