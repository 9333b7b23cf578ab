//! `cairn import FILE|DIR|-...`: load STIX bundles, envelopes, objects, arrays or JSON Lines into a
//! collection through the same validation as TAXII POST.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use cairn_store::{AddRequest, NewVersion, StatusDetail, Store};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::node;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files or directories (searched for *.json and *.jsonl), or `-` for stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Target collection (id or alias); the node's default collection when not given.
    #[arg(long)]
    pub collection: Option<String>,
    /// Objects per transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
}

/// Counts of one import.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

pub async fn run(data_dir: &Path, args: ImportArgs) -> anyhow::Result<std::process::ExitCode> {
    let store = node::open(data_dir).await?;
    let collection = node::resolve_collection(store.as_ref(), args.collection.as_deref()).await?;
    let started = Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} objects ({per_sec}) {msg}")
            .expect("static template"),
    );
    let mut importer = Importer::new(
        store.as_ref(),
        collection.id,
        args.batch.max(1),
        bar.clone(),
    );
    for input in &args.inputs {
        for (name, text) in read_inputs(input)? {
            bar.set_message(name.clone());
            importer.add_text(&name, &text).await?;
        }
    }
    let summary = importer.finish().await?;
    bar.finish_and_clear();
    eprintln!(
        "imported into collection {} ({}): {} added, {} already present, {} rejected in {:.2}s",
        collection.id,
        collection.title,
        summary.added,
        summary.duplicates,
        summary.rejected,
        started.elapsed().as_secs_f64()
    );
    Ok(if summary.rejected > 0 {
        std::process::ExitCode::from(2)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// Batches prepared versions into [`Store::add_objects`] calls.
pub struct Importer<'a> {
    store: &'a dyn Store,
    collection: Uuid,
    batch: usize,
    pending: Vec<NewVersion>,
    rejected: Vec<StatusDetail>,
    summary: ImportSummary,
    bar: ProgressBar,
    /// The node organization's identity, the policy creator of objects without one.
    creator: Option<cairn_policy::IdentityRef>,
}

impl<'a> Importer<'a> {
    pub fn new(store: &'a dyn Store, collection: Uuid, batch: usize, bar: ProgressBar) -> Self {
        Importer {
            store,
            collection,
            batch,
            pending: Vec::new(),
            rejected: Vec::new(),
            summary: ImportSummary::default(),
            bar,
            creator: None,
        }
    }

    /// Add every object found in one input's text. `name` labels error messages.
    pub async fn add_text(&mut self, name: &str, text: &str) -> anyhow::Result<()> {
        match split_objects(text) {
            Ok(objects) => {
                for raw in objects {
                    self.add_raw(name, raw.get()).await?;
                }
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                self.summary.rejected += 1;
            }
        }
        Ok(())
    }

    async fn add_raw(&mut self, name: &str, raw: &str) -> anyhow::Result<()> {
        match cairn_store::ingest::prepare_version(raw) {
            Ok(v) => self.pending.push(v),
            Err(detail) => {
                eprintln!(
                    "{name}: {}: {}",
                    if detail.id.is_empty() {
                        "<no id>"
                    } else {
                        &detail.id
                    },
                    detail.message.as_deref().unwrap_or("")
                );
                self.rejected.push(detail);
            }
        }
        if self.pending.len() + self.rejected.len() >= self.batch {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() && self.rejected.is_empty() {
            return Ok(());
        }
        let n = (self.pending.len() + self.rejected.len()) as u64;
        cairn_store::ingest::resolve_markings(self.store, &mut self.pending).await?;
        // What the node imports without `created_by_ref` is its own organization's (for the
        // sharing policy only; the text is stored as given).
        if self.creator.is_none() {
            let org = node::admin_org(self.store).await?;
            self.creator = self
                .store
                .get_org(org)
                .await?
                .and_then(|o| cairn_policy::IdentityRef::parse(&o.identity_id).ok());
        }
        for v in &mut self.pending {
            if v.labels.creator.is_none() {
                v.labels.creator = self.creator;
            }
        }
        let audit = cairn_store::NewAuditEntry::new(
            "cli",
            "objects.add",
            Some(self.collection.to_string()),
            serde_json::json!({
                "objects": self
                    .pending
                    .iter()
                    .map(|v| serde_json::json!({"id": v.id, "version": v.version}))
                    .collect::<Vec<_>>(),
                "rejected": self.rejected.len(),
            }),
        );
        let status = self
            .store
            .add_objects(AddRequest {
                api_root: node::DEFAULT_API_ROOT.to_string(),
                collection: self.collection,
                status_id: Uuid::new_v4(),
                request_timestamp: node::now_micros(),
                versions: std::mem::take(&mut self.pending),
                rejected: std::mem::take(&mut self.rejected),
                owner: None,
                audit: Some(audit),
                origin: None,
                sync: None,
            })
            .await
            .context("storing a batch failed")?;
        let dup = status
            .successes
            .iter()
            .filter(|s| s.message.is_some())
            .count() as u64;
        self.summary.duplicates += dup;
        self.summary.added += status.successes.len() as u64 - dup;
        self.summary.rejected += status.failures.len() as u64;
        self.bar.inc(n);
        Ok(())
    }

    pub async fn finish(mut self) -> anyhow::Result<ImportSummary> {
        self.flush().await?;
        Ok(self.summary)
    }
}

/// Read one command-line input: `-` (stdin), a file, or every *.json/*.jsonl file under a directory
/// (sorted). Returns (name, text) pairs.
fn read_inputs(input: &str) -> anyhow::Result<Vec<(String, String)>> {
    if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read stdin")?;
        return Ok(vec![("<stdin>".to_string(), s)]);
    }
    let path = Path::new(input);
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {input}"))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        collect_files(path, &mut files)?;
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            Ok((f.display().to_string(), text))
        })
        .collect()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "jsonl")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(borrow)]
    objects: Option<&'a RawValue>,
}

/// Split a document into raw objects: a bundle or TAXII envelope (its `objects`), a JSON array of
/// objects, a single object, or JSON Lines of any of these.
pub fn split_objects(text: &str) -> Result<Vec<&RawValue>, String> {
    match serde_json::from_str::<&RawValue>(text) {
        Ok(whole) => split_one(whole),
        Err(whole_err) => {
            let mut out = Vec::new();
            let mut any = false;
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                any = true;
                let raw: &RawValue = serde_json::from_str(line).map_err(|e| {
                    if n == 0 {
                        format!("not JSON: {whole_err}")
                    } else {
                        format!("line {}: not JSON: {e}", n + 1)
                    }
                })?;
                out.extend(split_one(raw)?);
            }
            if any {
                Ok(out)
            } else {
                Err("empty input".to_string())
            }
        }
    }
}

fn split_one(raw: &RawValue) -> Result<Vec<&RawValue>, String> {
    let text = raw.get();
    if text.starts_with('[') {
        return serde_json::from_str::<Vec<&RawValue>>(text)
            .map_err(|e| format!("bad JSON array: {e}"));
    }
    let head: Head<'_> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let container = match (&head.type_, head.objects) {
        (Some(t), Some(_)) if t == "bundle" => true,
        (None, Some(o)) => o.get().starts_with('['),
        _ => false,
    };
    if container {
        let objects = head.objects.expect("checked above");
        serde_json::from_str::<Vec<&RawValue>>(objects.get())
            .map_err(|e| format!("'objects' must be a list of objects: {e}"))
    } else {
        Ok(vec![raw])
    }
}
