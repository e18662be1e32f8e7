//! Unit tests of `console`: paths stay inside the directory, files get their types, and
//! the responder answers GET and HEAD only.

use super::*;

use tokio::io::AsyncReadExt;

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dist/assets")).unwrap();
    std::fs::write(dir.path().join("dist/index.html"), "<!doctype html>").unwrap();
    std::fs::write(dir.path().join("dist/assets/app.js"), "1").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    dir
}

#[test]
fn paths_resolve_inside_the_directory_only() {
    let tmp = site();
    let dist = tmp.path().join("dist");
    let root = dist.canonicalize().unwrap();
    assert_eq!(resolve(&dist, "/"), Some(root.join("index.html")));
    assert_eq!(
        resolve(&dist, "/assets/app.js"),
        Some(root.join("assets/app.js"))
    );
    for bad in [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets%2f..%2f..%2fsecret.txt",
        "/..\\secret.txt",
        "//etc/passwd",
        "/./index.html",
        "relative",
        "/missing.js",
        "/assets",
    ] {
        assert_eq!(resolve(&dist, bad), None, "{bad}");
    }
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), dist.join("link.txt")).unwrap();
    assert_eq!(
        resolve(&dist, "/link.txt"),
        None,
        "a link out of the directory"
    );
}

#[test]
fn built_files_get_their_content_types() {
    assert_eq!(
        content_type(Path::new("a/index.html")),
        "text/html; charset=utf-8"
    );
    assert_eq!(
        content_type(Path::new("app.js")),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        content_type(Path::new("app.css")),
        "text/css; charset=utf-8"
    );
    assert_eq!(content_type(Path::new("x.bin")), "application/octet-stream");
}

async fn ask(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_server_answers_get_and_head_and_refuses_the_rest() {
    let tmp = site();
    let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = PageConfig {
        ws_url: Some("ws://127.0.0.1:1".into()),
        prefix: "roster".into(),
    };
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = serve(listener, tmp.path().join("dist"), config, async {
        let _ = rx.await;
    });
    let get = ask(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
    assert!(
        get.contains("Content-Type: text/html; charset=utf-8\r\n"),
        "{get}"
    );
    assert!(
        get.contains("Content-Security-Policy: default-src 'self'"),
        "{get}"
    );
    assert!(get.ends_with("<!doctype html>"), "{get}");
    let head = ask(addr, "HEAD /assets/app.js HTTP/1.1\r\n\r\n").await;
    assert!(
        head.contains("Content-Length: 1\r\n") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let config = ask(addr, "GET /config.json?x HTTP/1.1\r\n\r\n").await;
    assert!(
        config.ends_with(r#"{"ws_url":"ws://127.0.0.1:1","prefix":"roster"}"#),
        "{config}"
    );
    let post = ask(addr, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
    assert!(
        post.starts_with("HTTP/1.1 405 ") && post.contains("Allow: GET, HEAD\r\n"),
        "{post}"
    );
    let out = ask(addr, "GET /../secret.txt HTTP/1.1\r\n\r\n").await;
    assert!(out.starts_with("HTTP/1.1 404 "), "{out}");
    server.abort();
}
