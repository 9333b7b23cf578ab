//! `cairn export --collection ID`: a STIX bundle on stdout, written page by page.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use cairn_store::{ObjectQuery, VersionFilter};
use clap::Args;

use super::node;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Collection id or alias (default: the node's default collection).
    #[arg(long)]
    pub collection: Option<String>,
    /// Only objects of these STIX types (repeat or comma-separate).
    #[arg(long = "type", value_delimiter = ',')]
    pub types: Vec<String>,
    /// Only versions added after this timestamp (RFC 3339, UTC).
    #[arg(long)]
    pub added_after: Option<String>,
    /// Every version of each object, not only the latest.
    #[arg(long)]
    pub all_versions: bool,
}

pub async fn run(data_dir: &Path, args: ExportArgs) -> anyhow::Result<std::process::ExitCode> {
    let store = node::open(data_dir).await?;
    let collection = node::resolve_collection(store.as_ref(), args.collection.as_deref()).await?;
    let added_after = match &args.added_after {
        Some(t) => Some(
            cairn_stix::Timestamp::parse(t)
                .with_context(|| format!("--added-after {t:?} is not a UTC RFC 3339 timestamp"))?
                .unix_micros(),
        ),
        None => None,
    };
    let mut q = ObjectQuery {
        collection: collection.id,
        types: args.types.clone(),
        versions: VersionFilter {
            all: args.all_versions,
            ..VersionFilter::default()
        },
        added_after,
        limit: 1000,
        with_bodies: true,
        ..ObjectQuery::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    write!(
        out,
        "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
        uuid::Uuid::new_v4()
    )?;
    let mut first = true;
    let mut n = 0u64;
    loop {
        let page = store.query(&q).await?;
        for r in &page.records {
            if !first {
                out.write_all(b",\n")?;
            } else {
                out.write_all(b"\n")?;
            }
            first = false;
            out.write_all(r.body.as_deref().unwrap_or("null").as_bytes())?;
            n += 1;
        }
        match (page.more, page.records.last()) {
            (true, Some(last)) => q.after = Some(last.cursor()),
            _ => break,
        }
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    eprintln!("exported {n} objects from collection {}", collection.id);
    Ok(std::process::ExitCode::SUCCESS)
}
