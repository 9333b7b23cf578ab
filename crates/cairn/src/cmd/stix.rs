//! `cairn validate FILE...|-`: check STIX bundles and objects against the STIX 2.1 MUST rules.
//!
//! Each input holds one or more JSON values (a bundle, an object, a list of objects, or JSON
//! Lines). One JSON line per object goes to stdout: `{"id", "valid", "errors": [{"property",
//! "rule"}]}`; a summary goes to stderr. Exit status 1 if anything is invalid.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_stix::{ValidateOptions, ValidationError, validate_bundle_with, validate_object_with};
use clap::Args;
use serde_json::{Value, json};

/// Indicators with `pattern_type` "stix" must carry a pattern cairn-pattern can parse.
const OPTIONS: ValidateOptions = cairn_store::ingest::VALIDATE_OPTIONS;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Files to validate (bundles, objects, lists or JSON Lines); `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Default)]
struct Tally {
    valid: u64,
    invalid: u64,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut tally = Tally::default();
    for path in &args.files {
        let mut text = String::new();
        let source = path.display().to_string();
        if source == "-" {
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
        } else {
            text = std::fs::read_to_string(path).with_context(|| format!("reading {source}"))?;
        }
        for value in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            match value {
                Ok(v) => validate_value(&v, &mut out, &mut tally)?,
                Err(e) => {
                    let rule = format!("{source}: not valid JSON: {e}");
                    emit(&mut out, None, &[("", rule.as_str())], &mut tally)?;
                    break;
                }
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{} objects: {} valid, {} invalid",
        tally.valid + tally.invalid,
        tally.valid,
        tally.invalid
    );
    Ok(if tally.invalid > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn validate_value(v: &Value, out: &mut impl Write, tally: &mut Tally) -> anyhow::Result<()> {
    match v {
        Value::Array(items) => {
            for item in items {
                validate_value(item, out, tally)?;
            }
        }
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("bundle") => {
            match validate_bundle_with(v, &OPTIONS) {
                Err(errs) => emit_errors(out, o.get("id").and_then(Value::as_str), &errs, tally)?,
                Ok(results) => {
                    let objects = o.get("objects").and_then(Value::as_array);
                    for (i, r) in results.iter().enumerate() {
                        let id = objects
                            .and_then(|a| a.get(i))
                            .and_then(|x| x.get("id"))
                            .and_then(Value::as_str);
                        match r {
                            Ok(_) => emit(out, id, &[], tally)?,
                            Err(errs) => emit_errors(out, id, errs, tally)?,
                        }
                    }
                }
            }
        }
        _ => {
            let id = v.get("id").and_then(Value::as_str);
            match validate_object_with(v, &OPTIONS) {
                Ok(_) => emit(out, id, &[], tally)?,
                Err(errs) => emit_errors(out, id, &errs, tally)?,
            }
        }
    }
    Ok(())
}

fn emit_errors(
    out: &mut impl Write,
    id: Option<&str>,
    errs: &[ValidationError],
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let pairs: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.property.as_str(), e.rule.as_str()))
        .collect();
    emit(out, id, &pairs, tally)
}

fn emit(
    out: &mut impl Write,
    id: Option<&str>,
    errors: &[(&str, &str)],
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let valid = errors.is_empty();
    if valid {
        tally.valid += 1;
    } else {
        tally.invalid += 1;
    }
    let errors: Vec<Value> = errors
        .iter()
        .map(|(p, r)| json!({"property": p, "rule": r}))
        .collect();
    serde_json::to_writer(
        &mut *out,
        &json!({"id": id, "valid": valid, "errors": errors}),
    )?;
    out.write_all(b"\n")?;
    Ok(())
}
