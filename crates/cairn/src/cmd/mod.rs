//! Subcommands. Each lives in its own module with its clap `Args` and a `run` function.

pub mod admin;
pub mod audit_cmd;
pub mod export;
pub mod import;
pub mod match_cmd;
pub mod node;
pub mod pattern;
pub mod peer;
pub mod serve;
pub mod sharing;
pub mod stix;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    about = "Threat-intelligence exchange: STIX 2.1 store, TAXII 2.1 server, pattern engine"
)]
pub struct Cli {
    /// Where Cairn keeps its database.
    #[arg(
        long,
        global = true,
        env = "CAIRN_DATA_DIR",
        default_value = "./cairn-data"
    )]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve TAXII 2.1 (initializes an empty data directory first).
    Serve(serve::ServeArgs),
    /// Initialize the data directory (idempotent).
    Init,
    /// API tokens.
    #[command(subcommand)]
    Token(admin::TokenCmd),
    /// TAXII collections.
    #[command(subcommand)]
    Collection(admin::CollectionCmd),
    /// Member nations of this node's community.
    #[command(subcommand)]
    Nation(sharing::NationCmd),
    /// Organizations.
    #[command(subcommand)]
    Org(sharing::OrgCmd),
    /// Users and their roles.
    #[command(subcommand)]
    User(sharing::UserCmd),
    /// Sharing groups (sets of organizations, possibly across nations).
    #[command(subcommand)]
    Group(sharing::GroupCmd),
    /// Read and write grants on collections.
    #[command(subcommand)]
    Grant(sharing::GrantCmd),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCmd),
    /// Import STIX bundles, objects or JSON Lines into a collection.
    Import(import::ImportArgs),
    /// Export a collection as a STIX bundle on stdout.
    Export(export::ExportArgs),
    /// STIX patterns: validate and evaluate.
    #[command(subcommand)]
    Pattern(pattern::PatternCmd),
    /// Validate STIX bundles and objects against the STIX 2.1 MUST rules.
    Validate(stix::ValidateArgs),
    /// Partner nodes and their pull/push subscriptions.
    #[command(subcommand)]
    Peer(peer::PeerCmd),
    /// Run one round of every enabled subscription (or one peer's) and exit.
    Sync(peer::SyncArgs),
    /// Match logs (eve.json, Zeek, JSON Lines, STIX observed-data) against indicators.
    Match(match_cmd::MatchArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let data_dir = cli.data_dir;
    let rt = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    match cli.command {
        Command::Pattern(c) => pattern::run(c),
        Command::Validate(a) => stix::run(a),
        Command::Match(a) => match_cmd::run(&data_dir, a),
        Command::Serve(a) => {
            init_tracing();
            rt()?.block_on(serve::run(&data_dir, a))
        }
        Command::Init => rt()?.block_on(admin::init(&data_dir)),
        Command::Token(c) => rt()?.block_on(admin::token(&data_dir, c)),
        Command::Collection(c) => rt()?.block_on(admin::collection(&data_dir, c)),
        Command::Nation(c) => rt()?.block_on(sharing::nation_cmd(&data_dir, c)),
        Command::Org(c) => rt()?.block_on(sharing::org_cmd(&data_dir, c)),
        Command::User(c) => rt()?.block_on(sharing::user_cmd(&data_dir, c)),
        Command::Group(c) => rt()?.block_on(sharing::group_cmd(&data_dir, c)),
        Command::Grant(c) => rt()?.block_on(sharing::grant_cmd(&data_dir, c)),
        Command::Audit(c) => rt()?.block_on(audit_cmd::run(&data_dir, c)),
        Command::Import(a) => rt()?.block_on(import::run(&data_dir, a)),
        Command::Export(a) => rt()?.block_on(export::run(&data_dir, a)),
        Command::Peer(c) => rt()?.block_on(peer::run(&data_dir, c)),
        Command::Sync(a) => {
            init_tracing_quiet();
            rt()?.block_on(peer::sync(&data_dir, a))
        }
    }
}

fn init_tracing_quiet() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
