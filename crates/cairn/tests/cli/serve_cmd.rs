//! `cairn serve`: TLS flags that cannot be used are refused before anything is served or
//! initialized.

use std::path::Path;
use std::process::{Command, Output};

fn cairn(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("CAIRN_TLS_CERT")
        .env_remove("CAIRN_TLS_KEY")
        .env("CAIRN_ADMIN_PASSWORD", "correct horse battery staple")
        .output()
        .expect("cairn runs")
}

#[test]
fn serve_with_a_missing_certificate_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let cert = dir.path().join("missing.pem");
    let key = dir.path().join("missing-key.pem");
    let out = cairn(
        &data,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("cannot read the TLS certificate file") && stderr.contains("missing.pem"),
        "{stderr}"
    );
    assert!(!stdout.contains("serving"), "{stdout}");
    assert!(!data.exists(), "the data directory was initialized");
}

#[test]
fn serve_with_a_certificate_but_no_key_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(
        &dir.path().join("node"),
        &["serve", "--listen", "127.0.0.1:0", "--tls-cert", "cert.pem"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
