//! `cairn pattern validate|eval`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum PatternCmd {
    /// Validate patterns (one argument, or JSON Lines {"id","pattern"} on stdin).
    Validate { pattern: Option<String> },
}

pub fn run(_cmd: PatternCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet available")
}
