//! The web console's static files (`console/dist`, built with npm): a minimal HTTP/1.1
//! GET/HEAD responder on a Tokio listener, the same shape as the metrics endpoint,
//! because a directory of static files does not need an HTTP stack. The console itself
//! talks to the worker over NATS WebSocket; this server only hands out its files, plus
//! `/config.json` (the websocket URL and subject prefix the page should offer).
//!
//! Bounds: one request per connection (`Connection: close`), a request head of at most
//! 8 KiB read within 5 s (a body is never read), at most 64 connections at once. Paths
//! are resolved inside the directory only: `..`, backslashes, NUL and percent-encoded
//! separators are refused (404), and symbolic links are not followed out of it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::http::{read_head, READ_WITHIN};

/// Why the console's file server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The address could not be bound.
    #[error("cannot listen for the console on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// No built console was found.
    #[error(
        "no built console at {} (build it: cd console && npm ci && npm run build; or pass --dir)",
        .0.display()
    )]
    NotBuilt(PathBuf),
}

/// What the page is told in `/config.json`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PageConfig {
    /// The websocket URL the sign-in form offers (`ws://127.0.0.1:…` under `roster dev`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws_url: Option<String>,
    /// The subject prefix (`roster`).
    pub prefix: String,
}

/// The built console: `dir` when given, else `ROSTER_CONSOLE_DIR`, else `console/`
/// beside the binary (an installed layout), else the repository's `console/dist`.
pub fn find_dir(dir: Option<&Path>) -> Result<PathBuf, ConsoleError> {
    let built = |d: &Path| d.join("index.html").is_file();
    if let Some(d) = dir {
        return if built(d) {
            Ok(d.to_owned())
        } else {
            Err(ConsoleError::NotBuilt(d.to_owned()))
        };
    }
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("ROSTER_CONSOLE_DIR") {
        candidates.push(PathBuf::from(d));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        candidates.push(exe_dir.join("console"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console/dist"));
    candidates.push(PathBuf::from("console/dist"));
    candidates
        .iter()
        .find(|d| built(d))
        .cloned()
        .ok_or_else(|| ConsoleError::NotBuilt(candidates[candidates.len() - 2].clone()))
}

/// Listens on `addr` (port 0 picks a free one); returns the listener and its address.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ConsoleError> {
    let bind_err = |source| ConsoleError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    Ok((listener, local))
}

/// Serves the files of `dir` on `listener` until `stop` completes.
pub fn serve(
    listener: TcpListener,
    dir: PathBuf,
    config: PageConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let site = Arc::new(Site {
        dir,
        config: serde_json::to_vec(&config).unwrap_or_else(|_| b"{}".to_vec()),
    });
    crate::metrics::http::accept_loop(listener, stop, "console", move |stream| {
        let site = site.clone();
        async move { answer(stream, &site).await }
    })
}

struct Site {
    dir: PathBuf,
    config: Vec<u8>,
}

/// One response: status, content type and body (not sent for HEAD).
struct Reply {
    status: u16,
    kind: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            kind: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }
}

async fn answer(mut stream: TcpStream, site: &Site) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_WITHIN, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            return respond(&mut stream, Reply::text(431, "request too large\n"), false).await
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => return respond(&mut stream, Reply::text(408, "request timeout\n"), false).await,
    };
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(&mut stream, Reply::text(405, "only GET and HEAD\n"), false).await;
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    let reply = if path == "/config.json" {
        Reply {
            status: 200,
            kind: "application/json",
            body: site.config.clone(),
        }
    } else {
        match resolve(&site.dir, path) {
            Some(file) => match tokio::fs::read(&file).await {
                Ok(body) => Reply {
                    status: 200,
                    kind: content_type(&file),
                    body,
                },
                Err(_) => Reply::text(404, "not found\n"),
            },
            None => Reply::text(404, "not found\n"),
        }
    };
    respond(&mut stream, reply, head_only).await
}

/// The file a request path names inside `dir`, or `None` when the path is not a plain
/// relative path of normal components or leaves the directory (through `..` or a link).
pub fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix('/')?;
    // Percent-encoding is not decoded: the built files have plain names, and a `%2e%2e`
    // or `%2f` can then never turn into a separator or a parent.
    if rel.contains(['\\', '\0', '%']) {
        return None;
    }
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_owned()
    };
    let rel = Path::new(&rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let file = root.join(rel).canonicalize().ok()?;
    (file.starts_with(&root) && file.is_file()).then_some(file)
}

/// The content type of a built file, by its extension.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn respond(stream: &mut TcpStream, reply: Reply, head_only: bool) -> std::io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        _ => "Request Header Fields Too Large",
    };
    let allow = if reply.status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    // The page may load only its own files and connect only to websockets: no inline
    // script, no framing, no referrer leaking the URL.
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'self'; \
         connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'\r\n\
         Connection: close\r\n\r\n",
        reply.status,
        reply.kind,
        reply.body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(&reply.body).await?;
    }
    stream.shutdown().await
}

#[cfg(test)]
#[path = "console_test.rs"]
mod tests;
