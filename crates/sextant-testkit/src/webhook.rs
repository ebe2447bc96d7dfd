//! A webhook receiver on loopback: answers every `POST` with 200 and hands the JSON body over,
//! so alert webhooks (regime changes, model drift) are tested over real HTTP.

use axum::routing::post;
use axum::Json;
use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Starts a receiver on `127.0.0.1:0`; returns its URL (`http://127.0.0.1:PORT/hook`) and the
/// bodies posted to it, in order. It serves until the runtime stops.
pub async fn start() -> std::io::Result<(String, UnboundedReceiver<Value>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let (tx, rx) = unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "webhook receiver stopped");
        }
    });
    Ok((url, rx))
}
