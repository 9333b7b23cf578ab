//! `cairn match`: stream log records (Suricata eve.json, Zeek JSON, JSON Lines with a field map,
//! STIX observed-data) through the compiled indicator index of `cairn-match`; write one JSON line
//! per hit on stdout, a summary on stderr, and optionally STIX sightings into a collection.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use cairn_formats::{FieldMap, Format, LogReader, ReadStats, Record, format_micros};
use cairn_match::{Hit, Matcher, MatcherBuilder, Options};
use cairn_store::{Cursor, ObjectQuery, Store};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{import, node};

/// Namespace of sighting ids: UUIDv5(namespace, indicator id + bucket start).
const SIGHTING_NAMESPACE: uuid::Uuid = uuid::uuid!("6f0e8a52-5d0b-4c1e-9d1a-3c6f2b7e9a10");

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// STIX bundles of observed-data (evaluated with full semantics).
    Stix,
    /// Suricata eve.json.
    Eve,
    /// Zeek JSON logs.
    Zeek,
    /// JSON Lines mapped by `--map`.
    Jsonl,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["indicators", "collection"])))]
pub struct MatchArgs {
    /// STIX bundle, JSON array or JSON Lines file holding the indicators (`-` is not allowed here).
    #[arg(long)]
    pub indicators: Option<String>,
    /// Read the indicators (latest versions) from this collection (id or alias).
    #[arg(long)]
    pub collection: Option<String>,
    /// Log file to read, or `-` for stdin.
    #[arg(long)]
    pub input: String,
    /// Input format.
    #[arg(long, value_enum)]
    pub format: InputFormat,
    /// Field map for `--format jsonl` (see crates/cairn-formats/MAPPING.md).
    #[arg(long)]
    pub map: Option<String>,
    /// Store hits as STIX sightings (one per indicator and time bucket).
    #[arg(long)]
    pub sightings: bool,
    /// Collection for the sightings (id or alias); the node's default collection when not given.
    #[arg(long, requires = "sightings")]
    pub sightings_collection: Option<String>,
    /// Time bucket of sightings, e.g. 30s, 15m, 1h, 1d.
    #[arg(long, default_value = "1h", requires = "sightings")]
    pub bucket: String,
    /// Partial matches kept per multi-observation pattern.
    #[arg(long, default_value_t = 64)]
    pub max_partial: usize,
    /// How long partial matches of multi-observation patterns without WITHIN are kept (e.g. 1h).
    #[arg(long, default_value = "1h")]
    pub horizon: String,
}

/// `30s`, `15m`, `1h`, `2d` (or plain seconds) in microseconds.
pub fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = num
        .parse()
        .with_context(|| format!("invalid duration {s:?}: expected e.g. 30s, 15m, 1h, 1d"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("invalid duration {s:?}: the unit must be s, m, h or d"),
    };
    anyhow::ensure!(n > 0, "invalid duration {s:?}: must be positive");
    Ok(n * unit_secs * 1_000_000)
}

#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    modified: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<std::borrow::Cow<'a, str>>,
}

/// Keep the latest version (by `modified`, then `created`) of each object id, in input order.
/// Works on the raw texts so that a large indicator file is parsed one object at a time.
fn latest_versions<'a>(raws: &[&'a str]) -> Vec<&'a str> {
    let mut best: HashMap<String, (i64, usize)> = HashMap::new();
    let mut keep = vec![true; raws.len()];
    for (i, raw) in raws.iter().enumerate() {
        let Ok(h) = serde_json::from_str::<Head<'_>>(raw) else {
            continue;
        };
        let Some(id) = h.id else { continue };
        let t = h
            .modified
            .or(h.created)
            .and_then(|t| cairn_formats::parse_time(&t))
            .unwrap_or(i64::MIN);
        match best.get(id.as_ref()) {
            Some(&(bt, _)) if bt >= t => keep[i] = false,
            Some(&(_, j)) => {
                keep[j] = false;
                best.insert(id.into_owned(), (t, i));
            }
            None => {
                best.insert(id.into_owned(), (t, i));
            }
        }
    }
    raws.iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(*r))
        .collect()
}

async fn collection_indicators(store: &dyn Store, collection: &str) -> anyhow::Result<Vec<String>> {
    let c = node::resolve_collection(store, Some(collection)).await?;
    let mut out = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store
            .query(&ObjectQuery {
                collection: c.id,
                types: vec!["indicator".to_string()],
                after: after.clone(),
                limit: 5000,
                with_bodies: true,
                ..ObjectQuery::default()
            })
            .await
            .with_context(|| format!("cannot read indicators of collection {collection}"))?;
        for r in &page.records {
            if let Some(body) = &r.body {
                out.push(body.clone());
            }
        }
        after = page.records.last().map(|r| r.cursor());
        if !page.more || after.is_none() {
            break;
        }
    }
    Ok(out)
}

fn build_matcher(raws: &[&str], options: Options) -> anyhow::Result<(Matcher, usize)> {
    let mut b = MatcherBuilder::new(options);
    let mut skipped = 0;
    for raw in latest_versions(raws) {
        let o: Value = serde_json::from_str(raw).context("an indicator is not valid JSON")?;
        if let Err(e) = b.add(&o) {
            eprintln!("skipped {e}");
            skipped += 1;
        }
    }
    Ok((b.build(), skipped))
}

/// Count, first and last time of the hits of one indicator in one bucket.
type BucketCounts = (u64, Option<i64>, Option<i64>);

/// Sightings gathered per (indicator, bucket start).
#[derive(Default)]
struct Sightings {
    buckets: BTreeMap<(u32, Option<i64>), BucketCounts>,
}

impl Sightings {
    fn add(&mut self, hit: &Hit, bucket: i64) {
        let start = hit.time.map(|t| t.div_euclid(bucket) * bucket);
        let e = self
            .buckets
            .entry((hit.indicator, start))
            .or_insert((0, None, None));
        e.0 += 1;
        if let Some(t) = hit.time {
            e.1 = Some(e.1.map_or(t, |f: i64| f.min(t)));
            e.2 = Some(e.2.map_or(t, |l: i64| l.max(t)));
        }
    }

    fn objects(&self, m: &Matcher, identity: &str, input: &str) -> Vec<Value> {
        let now = format_micros(node::now_micros());
        self.buckets
            .iter()
            .map(|((ind, start), (count, first, last))| {
                let indicator_id = m.indicator_id(*ind);
                let bucket = start.map(format_micros).unwrap_or_else(|| "untimed".to_string());
                let id = uuid::Uuid::new_v5(&SIGHTING_NAMESPACE, format!("{indicator_id}|{bucket}").as_bytes());
                let mut s = json!({
                    "type": "sighting",
                    "spec_version": "2.1",
                    "id": format!("sighting--{id}"),
                    "created": now,
                    "modified": now,
                    "created_by_ref": identity,
                    "sighting_of_ref": indicator_id,
                    "where_sighted_refs": [identity],
                    "count": (*count).min(999_999_999),
                    "description": format!("cairn match over {input}: time bucket starting {bucket}"),
                });
                if let (Some(f), Some(l)) = (first, last) {
                    s["first_seen"] = json!(format_micros(*f));
                    s["last_seen"] = json!(format_micros(*l));
                }
                s
            })
            .collect()
    }
}

fn hit_json(m: &Matcher, h: &Hit) -> Value {
    json!({
        "indicator": m.indicator_id(h.indicator),
        "pattern": m.pattern_text(h.indicator),
        "position": h.position,
        "time": h.time.map(format_micros),
        "matched": h.matched.iter().map(|(t, p, v)| json!({"type": t, "path": p, "value": v})).collect::<Vec<_>>(),
        "records": h.records.iter().map(|(p, t)| json!({"position": p, "time": t.map(format_micros)})).collect::<Vec<_>>(),
    })
}

pub fn run(data_dir: &Path, args: MatchArgs) -> anyhow::Result<ExitCode> {
    let bucket = parse_duration(&args.bucket)?;
    let horizon = parse_duration(&args.horizon)?;
    let format = match args.format {
        InputFormat::Eve => Some(Format::Eve),
        InputFormat::Zeek => Some(Format::Zeek),
        InputFormat::Jsonl => {
            let path = args
                .map
                .as_deref()
                .context("--format jsonl needs --map FIELDMAP")?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read field map {path}"))?;
            Some(Format::Jsonl(
                FieldMap::parse(&text).with_context(|| format!("field map {path}"))?,
            ))
        }
        InputFormat::Stix => None,
    };
    if args.map.is_some() && args.format != InputFormat::Jsonl {
        anyhow::bail!("--map applies to --format jsonl only");
    }
    let needs_store = args.collection.is_some() || args.sightings;
    let rt = if needs_store {
        Some(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        )
    } else {
        None
    };
    let store = match &rt {
        Some(rt) => Some(rt.block_on(node::open(data_dir))?),
        None => None,
    };

    let loading = Instant::now();
    let options = Options {
        max_partial: args.max_partial.max(1),
        horizon_micros: horizon,
        ..Options::default()
    };
    let (mut matcher, skipped) = match (&args.indicators, &args.collection, &rt, &store) {
        (Some(path), _, _, _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read indicators from {path}"))?;
            let raws = import::split_objects(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            let raws: Vec<&str> = raws.iter().map(|r| r.get()).collect();
            build_matcher(&raws, options)?
        }
        (None, Some(c), Some(rt), Some(store)) => {
            let bodies = rt.block_on(collection_indicators(store.as_ref(), c))?;
            let raws: Vec<&str> = bodies.iter().map(String::as_str).collect();
            build_matcher(&raws, options)?
        }
        _ => anyhow::bail!("give --indicators FILE or --collection ID"),
    };
    eprintln!(
        "{} indicators compiled ({} skipped) in {:.2}s",
        matcher.len(),
        skipped,
        loading.elapsed().as_secs_f64()
    );

    let input: Box<dyn BufRead> = if args.input == "-" {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(&args.input)
            .with_context(|| format!("cannot open {}", args.input))?;
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} records ({per_sec}) {msg}")
            .expect("static template"),
    );
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut sightings = Sightings::default();
    let mut hits: Vec<Hit> = Vec::new();
    let mut total_hits: u64 = 0;
    let started = Instant::now();
    let mut emit =
        |matcher: &Matcher, hits: &mut Vec<Hit>, out: &mut BufWriter<_>| -> anyhow::Result<()> {
            for h in hits.drain(..) {
                total_hits += 1;
                serde_json::to_writer(&mut *out, &hit_json(matcher, &h))?;
                out.write_all(b"\n")?;
                if args.sightings {
                    sightings.add(&h, bucket);
                }
            }
            Ok(())
        };
    let stats: ReadStats = match format {
        Some(format) => {
            let mut reader = LogReader::new(input, &format);
            let mut rec = Record::new();
            let mut shown: u64 = 0;
            loop {
                // Records that can select no indicator are counted by the reader and the
                // matcher without being built (`Matcher::prefilter`).
                let got = match matcher.prefilter() {
                    Some(mut p) => reader.next_record_filtered(&mut rec, &mut p),
                    None => reader.next_record(&mut rec),
                }
                .with_context(|| format!("reading {}", args.input))?;
                if !got {
                    break;
                }
                matcher.match_record(&rec, &mut hits);
                if !hits.is_empty() {
                    emit(&matcher, &mut hits, &mut out)?;
                }
                let n = reader.stats().records;
                if n >= shown + 65_536 {
                    shown = n;
                    bar.set_position(n);
                }
            }
            reader.into_stats()
        }
        None => {
            let mut text = String::new();
            let mut input = input;
            input
                .read_to_string(&mut text)
                .with_context(|| format!("reading {}", args.input))?;
            let records = cairn_formats::stix::read_observed_data(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.input))?;
            for rec in &records {
                matcher.match_record(rec, &mut hits);
                emit(&matcher, &mut hits, &mut out)?;
                bar.inc(1);
            }
            ReadStats {
                records: records.len() as u64,
                ..ReadStats::default()
            }
        }
    };
    out.flush()?;
    drop(out);
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    for (line, e) in &stats.errors {
        eprintln!("{}:{line}: skipped: {e}", args.input);
    }
    eprintln!(
        "{} records ({} malformed, {} without observables), {} hits, {:.2}s, {:.0} records/s",
        stats.records,
        stats.malformed,
        stats.empty,
        total_hits,
        secs,
        stats.records as f64 / secs.max(1e-9)
    );

    if args.sightings {
        let (Some(rt), Some(store)) = (&rt, &store) else {
            unreachable!("the store is open with --sightings")
        };
        rt.block_on(async {
            let org = node::admin_org(store.as_ref()).await?;
            let identity = store.get_org(org).await?.context("the node's organization is missing")?.identity_id;
            let target = node::resolve_collection(store.as_ref(), args.sightings_collection.as_deref()).await?;
            let objects = sightings.objects(&matcher, &identity, &args.input);
            let mut importer = import::Importer::new(store.as_ref(), target.id, 1000, ProgressBar::hidden());
            for o in &objects {
                importer.add_text("sighting", &o.to_string()).await?;
            }
            let s = importer.finish().await?;
            eprintln!(
                "{} sightings written to collection {} ({}): {} added, {} already present, {} rejected",
                objects.len(),
                target.id,
                target.title,
                s.added,
                s.duplicates,
                s.rejected
            );
            anyhow::ensure!(s.rejected == 0, "some sightings were rejected");
            Ok::<_, anyhow::Error>(())
        })?;
    }
    Ok(ExitCode::SUCCESS)
}
