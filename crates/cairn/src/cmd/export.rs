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
    /// Export what this user may take out (the sharing policy's `export` path: no TLP:RED,
    /// granular markings redacted), instead of everything as the node operator.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
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
    // As a user: the export rules of the sharing policy, with that user's identity.
    let mut policy = None;
    let mut read = cairn_store::ReadAccess::All;
    if let Some(name) = &args.as_user {
        let user = store
            .get_user_by_name(name)
            .await?
            .with_context(|| format!("no user named {name:?}"))?;
        let principal = cairn_store::access::user_principal(store.as_ref(), &user).await?;
        let channel = cairn_store::access::collection_policy(store.as_ref(), &collection).await?;
        if !channel.can_read(&principal) {
            anyhow::bail!(
                "user {name:?} may not read collection {} (no read grant covers it)",
                collection.id
            );
        }
        let filter = cairn_policy::ReadFilter::new(
            cairn_policy::Path::Export,
            cairn_policy::Destination::User(&principal),
            &channel,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        read = cairn_store::ReadAccess::Filter(filter);
        policy = Some((principal, channel));
    }
    let mut q = ObjectQuery {
        read,
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
            let body = r.body.as_deref().unwrap_or("null");
            // As a user, a version with granular markings leaves redacted (or not at all).
            let text: std::borrow::Cow<'_, str> = match (&policy, &r.labels) {
                (Some((principal, channel)), Some(labels)) => {
                    let access = cairn_policy::Access {
                        path: cairn_policy::Path::Export,
                        to: cairn_policy::Destination::User(principal),
                        source: channel,
                    };
                    let value: serde_json::Value = serde_json::from_str(body)?;
                    match cairn_policy::redact(&value, labels, &access) {
                        Some(v) if v == value => body.into(),
                        Some(v) => v.to_string().into(),
                        None => continue,
                    }
                }
                _ => body.into(),
            };
            if !first {
                out.write_all(b",\n")?;
            } else {
                out.write_all(b"\n")?;
            }
            first = false;
            out.write_all(text.as_bytes())?;
            n += 1;
        }
        match (page.more, page.records.last()) {
            (true, Some(last)) => q.after = Some(last.cursor()),
            _ => break,
        }
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    store
        .append_audit(&[cairn_store::NewAuditEntry::new(
            args.as_user.as_deref().unwrap_or("cli"),
            "objects.export",
            Some(collection.id.to_string()),
            serde_json::json!({"count": n, "as_user": args.as_user.is_some()}),
        )])
        .await?;
    eprintln!("exported {n} objects from collection {}", collection.id);
    Ok(std::process::ExitCode::SUCCESS)
}
