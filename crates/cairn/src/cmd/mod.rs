//! Subcommands. Each lives in its own module with its clap `Args` and a `run` function.

pub mod pattern;

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
    /// STIX patterns: validate and evaluate.
    #[command(subcommand)]
    Pattern(pattern::PatternCmd),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Pattern(c) => pattern::run(c),
    }
}
