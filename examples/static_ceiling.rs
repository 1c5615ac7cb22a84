//! Benchmark yardstick: the smallest Rust HTTP server that answers every request with the
//! same bytes from memory (hyper 1, HTTP/1.1 keep-alive, TCP_NODELAY, a multi-threaded tokio
//! runtime), the ceiling any Rust server serving those bytes can reach. `bench/lesson.sh` runs
//! it beside `kubelab serve` and nginx with the very bytes kubelab sent.
//!
//! ```text
//! cargo run --release --example static_ceiling -- --addr 127.0.0.1:18081 \
//!     --file page.html --header 'content-type: text/html; charset=utf-8' \
//!     [--file-gzip page.html.gz]
//! ```
//!
//! With `--file-gzip`, a request whose `Accept-Encoding` names gzip gets those bytes with
//! `content-encoding: gzip`, as kubelab and nginx (`gzip_static`) answer it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT_ENCODING, CONTENT_ENCODING, HeaderName, HeaderValue, VARY};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[derive(Parser, Debug)]
#[command(about = "Serves one file's bytes from memory for every request")]
struct Args {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:18081")]
    addr: SocketAddr,
    /// The bytes to answer with.
    #[arg(long)]
    file: PathBuf,
    /// The same content gzip-encoded, answered when the request accepts gzip.
    #[arg(long)]
    file_gzip: Option<PathBuf>,
    /// A response header, `name: value` (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
}

/// What every request gets.
struct Answer {
    plain: Bytes,
    gzip: Option<Bytes>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err("listen on a loopback address only".into());
    }
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("`{header}` is not `name: value`"))?;
        headers.push((
            HeaderName::from_bytes(name.trim().as_bytes())?,
            HeaderValue::from_str(value.trim())?,
        ));
    }
    let answer: &'static Answer = Box::leak(Box::new(Answer {
        plain: Bytes::from(std::fs::read(&args.file)?),
        gzip: match &args.file_gzip {
            Some(path) => Some(Bytes::from(std::fs::read(path)?)),
            None => None,
        },
        headers,
    }));
    tokio::runtime::Runtime::new()?.block_on(serve(args.addr, answer))
}

async fn serve(
    addr: SocketAddr,
    answer: &'static Answer,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{addr}");
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| respond(answer, request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn respond(
    answer: &'static Answer,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let gzip = answer.gzip.as_ref().filter(|_| {
        request
            .headers()
            .get(ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"))
    });
    let body = gzip.unwrap_or(&answer.plain).clone();
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    for (name, value) in &answer.headers {
        headers.insert(name.clone(), value.clone());
    }
    if gzip.is_some() {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if answer.gzip.is_some() {
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    Ok(response)
}
