//! Runs the fake Alpha Vantage until Ctrl-C, for manual and out-of-process end-to-end tests.
//!
//! Usage: `alphavantage-testserver [ADDR]` (default `127.0.0.1:0`). Prints the base URL on stdout;
//! script failures through the `/_control/*` endpoints (see the library docs).

use sextant_testkit::alphavantage::AlphaVantageServer;
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = match std::env::args().nth(1) {
        Some(a) => a
            .parse()
            .map_err(|e| std::io::Error::other(format!("bad address {a:?}: {e}")))?,
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let server = AlphaVantageServer::builder().addr(addr).start().await?;
    println!("{}", server.base_url());
    tokio::signal::ctrl_c().await?;
    drop(server);
    Ok(())
}
