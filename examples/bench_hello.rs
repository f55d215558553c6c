//! The benchmark's physical limit: a minimal hyper server on the same runtime and
//! HTTP stack as authproxy, answering every request with a small fixed body.
//!
//! `cargo run --release --example bench_hello -- 127.0.0.1:18090`

use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 18090)));
    let body = Bytes::from_static(br#"[{"user":"user42@bench.test","authority":"http://127.0.0.1:8180/realms/tenant-a","authorityIdPHint":null}]"#);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("hello listening on {addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_request: Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move { Ok::<_, Infallible>(Response::new(http_body_util::Full::new(body))) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
