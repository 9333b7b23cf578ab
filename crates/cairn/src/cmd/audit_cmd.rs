//! `cairn audit verify|tail`: check the audit log's hash chain, and read its latest entries.

use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use cairn_store::audit::{AuditQuery, GENESIS, verify};
use cairn_store::{AuditEntry, Store};
use clap::Subcommand;

use super::node;

/// Entries read per store call.
const CHUNK: usize = 10_000;

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check every entry's hash and link; report the first broken entry (exit 1).
    Verify,
    /// Print the latest entries (oldest first), optionally filtered.
    Tail {
        /// How many entries.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Only entries of this actor (a user name, `cli`, `anonymous`).
        #[arg(long)]
        actor: Option<String>,
        /// Only entries about this object (an object, collection or token id, a user name).
        #[arg(long)]
        object: Option<String>,
        /// Only entries at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Walk every entry matching `q`, in chunks.
async fn each(
    store: &dyn Store,
    mut q: AuditQuery,
    mut f: impl FnMut(AuditEntry) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    q.limit = CHUNK;
    loop {
        let batch = store.audit_entries(&q).await?;
        let n = batch.len();
        for e in batch {
            q.after_seq = e.seq;
            f(e)?;
        }
        if n < CHUNK {
            return Ok(());
        }
    }
}

pub async fn run(data_dir: &Path, cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    let store = node::open(data_dir).await?;
    match cmd {
        AuditCmd::Verify => {
            let mut last = (0i64, GENESIS.to_string());
            let mut broken = None;
            each(store.as_ref(), AuditQuery::default(), |e| {
                if broken.is_none() {
                    match verify(last.0, &last.1, std::slice::from_ref(&e)) {
                        Ok(next) => last = next,
                        Err(b) => broken = Some(b),
                    }
                }
                Ok(())
            })
            .await?;
            match broken {
                Some(b) => {
                    eprintln!("the audit log is broken: {b}");
                    println!("broken at entry {}", b.seq);
                    Ok(ExitCode::from(1))
                }
                None => {
                    println!("audit log intact: {} entries, last hash {}", last.0, last.1);
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        AuditCmd::Tail {
            lines,
            actor,
            object,
            since,
            json,
        } => {
            let since = match since {
                Some(s) => Some(
                    cairn_stix::Timestamp::parse(&s)
                        .with_context(|| format!("--since {s:?} is not an RFC 3339 timestamp"))?
                        .unix_micros(),
                ),
                None => None,
            };
            let q = AuditQuery {
                actor,
                object,
                since,
                ..AuditQuery::default()
            };
            let mut last: VecDeque<AuditEntry> = VecDeque::with_capacity(lines + 1);
            each(store.as_ref(), q, |e| {
                last.push_back(e);
                if last.len() > lines {
                    last.pop_front();
                }
                Ok(())
            })
            .await?;
            for e in last {
                if json {
                    println!("{}", serde_json::to_string(&e)?);
                } else {
                    println!(
                        "{:>6}  {}  {:<12}  {:<16}  {}  {}",
                        e.seq,
                        cairn_stix::Timestamp::format_micros(e.entry.time),
                        e.entry.actor,
                        e.entry.action,
                        e.entry.object.as_deref().unwrap_or("-"),
                        e.entry.detail
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
