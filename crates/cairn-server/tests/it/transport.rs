//! Transport: HTTPS with a certificate generated at test time (rcgen), driven by reqwest trusting
//! only that certificate; plain HTTP on the TLS port; security headers on plain and TLS responses
//! (errors included); the body limit of GET/DELETE over both; certificate and key loading errors.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use cairn_server::TlsConfig;
use cairn_server::transport::{BODYLESS_LIMIT, HSTS};
use cairn_store::Store;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::harness::{ROOT, T, World, test_config, world};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM into `dir`.
struct Cert {
    cert_pem: String,
    cert_path: std::path::PathBuf,
    key_path: std::path::PathBuf,
}

fn self_signed(dir: &Path, name: &str) -> Cert {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("generate certificate");
    let cert_pem = ck.cert.pem();
    let cert_path = dir.join(format!("{name}-cert.pem"));
    let key_path = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, ck.signing_key.serialize_pem()).unwrap();
    Cert {
        cert_pem,
        cert_path,
        key_path,
    }
}

/// An HTTPS server over the world's store, on its own port.
struct TlsServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TlsServer {
    async fn start(w: &World, tls: TlsConfig) -> TlsServer {
        let store: Arc<dyn Store> = w.server.store.clone();
        let app = cairn_server::router(store, test_config())
            .await
            .expect("router");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(cairn_server::serve_tls(listener, tls, app, async {
            let _ = rx.await;
        }));
        TlsServer {
            addr,
            shutdown: Some(tx),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        self.task
            .await
            .expect("server task")
            .expect("server result");
    }
}

/// A client that trusts `cert` and nothing else, resolving `localhost` to the loopback address.
fn tls_client(cert: &Cert, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert_pem.as_bytes()).unwrap())
        .resolve("localhost", addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn assert_security_headers(h: &reqwest::header::HeaderMap, tls: bool, what: &str) {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    assert_eq!(
        get("x-content-type-options"),
        Some("nosniff"),
        "{what}: {h:?}"
    );
    assert_eq!(get("x-frame-options"), Some("DENY"), "{what}: {h:?}");
    assert_eq!(get("referrer-policy"), Some("no-referrer"), "{what}: {h:?}");
    assert!(
        get("content-security-policy").is_some_and(|v| v.starts_with("default-src 'none'")),
        "{what}: {h:?}"
    );
    assert_eq!(get("cache-control"), Some("no-store"), "{what}: {h:?}");
    if tls {
        assert_eq!(
            get("strict-transport-security"),
            Some(HSTS),
            "{what}: {h:?}"
        );
    } else {
        assert_eq!(get("strict-transport-security"), None, "{what}: {h:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_taxii_with_security_headers() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "node");
    let tls = TlsConfig::from_pem_files(&cert.cert_path, &cert.key_path).expect("load");
    let s = TlsServer::start(&w, tls).await;
    let c = tls_client(&cert, s.addr);

    // Discovery.
    let r = c
        .get(s.url("/taxii2/"))
        .header("Accept", T)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], T);
    assert_security_headers(r.headers(), true, "discovery");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["title"], "Cairn test");
    assert_eq!(v["default"], format!("{ROOT}/"));

    // Authenticated read over the same TLS connection pool.
    let r = c
        .get(s.url(&format!("{ROOT}/collections/")))
        .header("Accept", T)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_security_headers(r.headers(), true, "collections");
    let v: Value = r.json().await.unwrap();
    assert!(!v["collections"].as_array().unwrap().is_empty(), "{v}");

    // Errors carry them too: wrong password, unknown path.
    let r = c
        .get(s.url(&format!("{ROOT}/collections/")))
        .header("Accept", T)
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_security_headers(r.headers(), true, "401");
    let r = c
        .get(s.url("/nowhere/"))
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], T);
    assert_security_headers(r.headers(), true, "404");

    // A client that does not trust the certificate refuses the server.
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .resolve("localhost", s.addr)
        .build()
        .unwrap();
    let e = untrusting
        .get(s.url("/taxii2/"))
        .send()
        .await
        .expect_err("an untrusted certificate must be refused");
    assert!(e.is_connect(), "{e:?}");

    s.stop().await;
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_fails_and_https_goes_on() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "node");
    let tls = TlsConfig::from_pem_files(&cert.cert_path, &cert.key_path).unwrap();
    let s = TlsServer::start(&w, tls).await;

    let plain = reqwest::Client::new()
        .get(format!("http://{}/taxii2/", s.addr))
        .header("Accept", T)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await;
    assert!(
        plain.is_err(),
        "plain HTTP to the TLS port got an answer: {plain:?}"
    );
    // A client that connects and says nothing does not hold up the others.
    let silent = tokio::net::TcpStream::connect(s.addr).await.unwrap();

    let c = tls_client(&cert, s.addr);
    let r = c
        .get(s.url("/taxii2/"))
        .header("Accept", T)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(silent);

    s.stop().await;
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_has_security_headers_but_no_hsts() {
    let w = world().await;
    let r = reqwest::Client::new()
        .get(w.server.url("/taxii2/"))
        .header("Accept", T)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_security_headers(r.headers(), false, "plain discovery");
    let r = reqwest::Client::new()
        .delete(w.server.url("/taxii2/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_security_headers(r.headers(), false, "plain 405");
    w.server.stop().await;
}

async fn assert_too_large(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 413, "{what}");
    assert_eq!(r.headers()["content-type"], T, "{what}");
    assert_security_headers(r.headers(), r.url().scheme() == "https", what);
    let v: Value = r.json().await.expect("TAXII error body");
    assert_eq!(v["http_status"], "413", "{what}: {v}");
    assert_eq!(v["title"], "Content Too Large", "{what}: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_on_get_and_delete_are_limited() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "node");
    let tls = TlsConfig::from_pem_files(&cert.cert_path, &cert.key_path).unwrap();
    let s = TlsServer::start(&w, tls).await;
    let c = tls_client(&cert, s.addr);
    let coll = w.expand("{C_SCRATCH}");
    let objects = format!("{ROOT}/collections/{coll}/objects/");
    let big = " ".repeat(BODYLESS_LIMIT + 1);
    let exact = " ".repeat(BODYLESS_LIMIT);

    for (base, client) in [
        (s.url(""), &c),
        (w.server.base.clone(), &reqwest::Client::new()),
    ] {
        let r = client
            .get(format!("{base}/taxii2/"))
            .header("Accept", T)
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_too_large(r, &format!("GET {base} with a large body")).await;
        // At the limit, the body is tolerated (and ignored).
        let r = client
            .get(format!("{base}/taxii2/"))
            .header("Accept", T)
            .basic_auth("alice", Some("alice-pw"))
            .body(exact.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {base} with a body at the limit");
        let r = client
            .delete(format!(
                "{base}{objects}indicator--00000000-0000-4000-8000-000000000000/"
            ))
            .header("Accept", T)
            .basic_auth("alice", Some("alice-pw"))
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_too_large(r, &format!("DELETE {base} with a large body")).await;
    }

    // Chunked, no Content-Length: counted as it arrives.
    let addr = w.server.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAccept: {T}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 16_384, " ".repeat(16_384));
    for _ in 0..5 {
        // The server may answer (and close) before the whole body is sent.
        if sock.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
    assert!(text.contains("\"http_status\":\"413\""), "{text}");

    s.stop().await;
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_and_key_errors_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = self_signed(dir.path(), "a");
    let b = self_signed(dir.path(), "b");
    let missing = dir.path().join("missing.pem");

    let e = TlsConfig::from_pem_files(&missing, &a.key_path).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("certificate") && msg.contains("missing.pem"),
        "{msg}"
    );
    let e = TlsConfig::from_pem_files(&a.cert_path, &missing).unwrap_err();
    assert!(e.to_string().contains("key"), "{e}");
    // The key file holds only a certificate; the certificate file holds only a key.
    let e = TlsConfig::from_pem_files(&a.cert_path, &a.cert_path).unwrap_err();
    assert!(e.to_string().contains("no PRIVATE KEY"), "{e}");
    let e = TlsConfig::from_pem_files(&a.key_path, &a.key_path).unwrap_err();
    assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
    // A key that does not belong to the certificate.
    let e = TlsConfig::from_pem_files(&a.cert_path, &b.key_path).unwrap_err();
    assert!(e.to_string().contains("cannot be used together"), "{e}");
    // The matching pair loads.
    TlsConfig::from_pem_files(&b.cert_path, &b.key_path).expect("matching pair");
}
