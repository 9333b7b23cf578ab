//! `cairn serve`: initialize on first start, then serve TAXII 2.1 until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::{import, node};

/// The sample bundle loaded by `--sample` on first start.
const SAMPLE_BUNDLE: &str = include_str!("../../sample/sample-bundle.json");
const SAMPLE_LOADED: &str = "node.sample_loaded";

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CAIRN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Load the sample bundle into the default collection on first start.
    #[arg(long)]
    pub sample: bool,
    /// Largest page a client may ask for.
    #[arg(long, default_value_t = 1000)]
    pub max_page_size: usize,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, env = "CAIRN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, RSA or EC) of --tls-cert.
    #[arg(long, env = "CAIRN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Do not run the federation subscriptions in the background.
    #[arg(long)]
    pub no_sync: bool,
    /// Seconds one request of a background subscription to a peer may take (slow servers
    /// answer a first page late); as `cairn sync --timeout`.
    #[arg(long, default_value_t = 60)]
    pub sync_timeout: u64,
}

pub async fn run(data_dir: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Load the certificate before touching the data directory: a bad path fails fast.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(cairn_server::TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    let store = node::open(data_dir).await?;
    let outcome = node::init(store.as_ref()).await?;
    if outcome.created {
        println!("initialized a new node in {}", data_dir.display());
        if let Some(pw) = outcome.generated_password {
            println!("admin password: {pw}  (shown once)");
        }
    }
    if args.sample && store.get_setting(SAMPLE_LOADED).await?.is_none() {
        let collection = node::resolve_collection(store.as_ref(), None).await?;
        let mut importer = import::Importer::new(
            store.as_ref(),
            collection.id,
            1000,
            indicatif::ProgressBar::hidden(),
        );
        importer
            .add_text("sample-bundle.json", SAMPLE_BUNDLE)
            .await?;
        let s = importer.finish().await?;
        store.set_setting(SAMPLE_LOADED, "1").await?;
        println!(
            "loaded the sample bundle into collection {} ({} objects)",
            collection.id,
            s.added + s.duplicates
        );
    }
    let config = cairn_server::ServerConfig {
        max_page_size: args.max_page_size,
        peer_secrets: Some(std::sync::Arc::new(cairn_sync::SecretBox::open_dir(
            data_dir,
        )?)),
        ..Default::default()
    };
    let app = cairn_server::router(store.clone(), config).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("Cairn is serving TAXII 2.1 at {scheme}://{addr}/taxii2/");
    tracing::info!(%addr, scheme, "listening");
    let (stop_sync, sync_stopped) = tokio::sync::watch::channel(false);
    let sync = if args.no_sync {
        None
    } else {
        Some(super::peer::start_background(
            data_dir,
            store.clone(),
            args.sync_timeout,
            sync_stopped,
        )?)
    };
    match tls {
        Some(tls) => cairn_server::serve_tls(listener, tls, app, shutdown_signal()).await?,
        None => cairn_server::serve(listener, app, shutdown_signal()).await?,
    }
    let _ = stop_sync.send(true);
    if let Some(h) = sync {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), h).await;
    }
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
