//! Serves one file's bytes at every GET path with the TAXII media type, through the same axum
//! router and `cairn_server::serve` loop as the TAXII server. The TAXII benchmark uses it as the
//! "static file limit": the fastest this HTTP stack can deliver the same bytes as one page.
//!
//! `cargo run --release -p cairn-server --example static_file -- FILE 127.0.0.1:0`
//! prints the bound address on stdout.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(addr)) = (args.next(), args.next()) else {
        eprintln!("usage: static_file FILE ADDR");
        std::process::exit(2);
    };
    let bytes = Bytes::from(std::fs::read(&file)?);
    let app = Router::new().fallback(move || {
        let body = bytes.clone();
        async move {
            (
                [(header::CONTENT_TYPE, cairn_server::TAXII_MEDIA_TYPE)],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("{}", listener.local_addr()?);
    cairn_server::serve(listener, app, std::future::pending()).await
}
