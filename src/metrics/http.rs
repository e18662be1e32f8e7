//! The metrics endpoint: a minimal HTTP/1.1 responder on a Tokio listener, because two
//! read-only paths do not need an HTTP stack. `GET /metrics` answers the OpenMetrics
//! text; `GET /healthz` answers 200 `ok` while the worker serves and its NATS connection
//! is up, else 503. Anything else gets 404 (another path) or 405 (another method).
//!
//! Bounds: one request per connection (`Connection: close`), a request head of at most
//! 8 KiB read within 5 s (a body is never read), at most 64 connections at once (more
//! wait in the listen backlog).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::Metrics;

pub(crate) const MAX_HEAD: usize = 8 * 1024;
pub(crate) const READ_WITHIN: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 64;

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsServerError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen for metrics on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Listens on `addr` (port 0 picks a free one), before anything else starts, so a bad
/// address fails the start; returns the listener and the address it is bound to.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), MetricsServerError> {
    let bind_err = |source| MetricsServerError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    Ok((listener, local))
}

/// Serves `/metrics` and `/healthz` on `listener` until `stop` completes. `healthy`
/// says whether the worker serves with its NATS connection up.
pub fn serve(
    listener: TcpListener,
    metrics: Metrics,
    healthy: Arc<dyn Fn() -> bool + Send + Sync>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving /metrics and /healthz");
    }
    accept_loop(listener, stop, "metrics", move |stream| {
        let (metrics, healthy) = (metrics.clone(), healthy.clone());
        async move { answer(stream, &metrics, healthy.as_ref()).await }
    })
}

/// Accepts connections on `listener` until `stop` completes, at most
/// [`MAX_CONNECTIONS`] at once (the rest wait in the listen backlog), each answered by
/// `answer` on a task of its own. Shared by the metrics endpoint and the console's files.
pub(crate) fn accept_loop<F, Fut>(
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
    what: &'static str,
    answer: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(stop);
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let conn = tokio::select! {
                () = &mut stop => return,
                c = listener.accept() => c,
            };
            let (stream, _) = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, what, "accept failed");
                    continue;
                }
            };
            let answering = answer(stream);
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = answering.await {
                    tracing::debug!(error = %e, what, "request failed");
                }
            });
        }
    })
}

/// Reads one request head and answers it.
async fn answer(
    mut stream: TcpStream,
    metrics: &Metrics,
    healthy: &(dyn Fn() -> bool + Send + Sync),
) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_WITHIN, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            return respond(&mut stream, 431, "text/plain", "request too large\n").await
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => return respond(&mut stream, 408, "text/plain", "request timeout\n").await,
    };
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => {
            let body = metrics.encode();
            let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            respond(&mut stream, 200, kind, &body).await
        }
        ("GET", "/healthz") if healthy() => respond(&mut stream, 200, "text/plain", "ok\n").await,
        ("GET", "/healthz") => respond(&mut stream, 503, "text/plain", "unavailable\n").await,
        (_, "/metrics" | "/healthz") => respond(&mut stream, 405, "text/plain", "only GET\n").await,
        _ => respond(&mut stream, 404, "text/plain", "not found\n").await,
    }
}

/// The request head up to its blank line, or `None` if it exceeds [`MAX_HEAD`].
pub(crate) async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let allow = if status == 405 { "Allow: GET\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
