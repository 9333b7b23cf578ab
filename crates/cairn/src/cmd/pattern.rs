//! `cairn pattern validate|eval`.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use cairn_pattern::Pattern;
use clap::Subcommand;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[derive(Subcommand, Debug)]
pub enum PatternCmd {
    /// Validate patterns. With an argument: print a verdict, exit 1 when invalid. Without:
    /// read JSON Lines {"id","pattern"} on stdin, write {"id","result","error"} per line.
    Validate { pattern: Option<String> },
    /// Evaluate JSON Lines {"id","pattern","observed_data","objects"} from stdin (the match
    /// corpus format); write {"id","result": true|false|"error"} per line.
    Eval,
}

/// A validate line: only what is needed is materialized (other fields are skipped).
#[derive(Deserialize)]
struct ValidateLine {
    #[serde(default)]
    id: Value,
    pattern: Option<String>,
}

/// An eval line in the match-corpus format (extra fields such as "expected" are skipped).
#[derive(Deserialize)]
struct EvalLine {
    #[serde(default)]
    id: Value,
    pattern: Option<String>,
    #[serde(default)]
    observed_data: Vec<Value>,
    #[serde(default)]
    objects: Vec<Value>,
}

pub fn run(cmd: PatternCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PatternCmd::Validate {
            pattern: Some(pattern),
        } => Ok(validate_one(&pattern)),
        PatternCmd::Validate { pattern: None } => {
            lines(|v: ValidateLine| {
                let result = match v.pattern.as_deref().map(Pattern::validate) {
                    None => json!({"result": "error", "error": "no \"pattern\" string"}),
                    Some(Ok(_)) => json!({"result": true}),
                    Some(Err(e)) => json!({"result": false, "error": e.to_string()}),
                };
                (v.id, result)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PatternCmd::Eval => {
            lines(|v: EvalLine| {
                let result = match eval_case(&v) {
                    Ok(r) => json!({ "result": r }),
                    Err(e) => json!({"result": "error", "error": e}),
                };
                (v.id, result)
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate_one(pattern: &str) -> ExitCode {
    match Pattern::validate(pattern) {
        Ok(p) => {
            let unsupported = p.unsupported();
            println!("valid STIX 2.1 pattern");
            for u in unsupported {
                println!("note: regex not supported by this engine, never matches: {u}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid STIX 2.1 pattern: {e}");
            let at = e.offset().min(pattern.len());
            if !pattern.contains('\n') && pattern.is_char_boundary(at) {
                eprintln!("  {pattern}");
                eprintln!("  {}^", " ".repeat(pattern[..at].chars().count()));
            }
            ExitCode::FAILURE
        }
    }
}

fn eval_case(v: &EvalLine) -> Result<bool, String> {
    let pattern = v.pattern.as_deref().ok_or("no \"pattern\" string")?;
    let p = Pattern::validate(pattern).map_err(|e| format!("invalid pattern: {e}"))?;
    let unsupported = p.unsupported();
    if !unsupported.is_empty() {
        return Err(format!("unsupported regex: {}", unsupported.join("; ")));
    }
    p.matches_bundle(v.observed_data.iter().chain(&v.objects))
        .map_err(|e| e.to_string())
}

/// Read JSON Lines on stdin; for each, write `{"id": .., ...result}` on stdout. A line that
/// does not fit `T` gets `"result": "error"` (with its id when it has one).
fn lines<T: DeserializeOwned>(f: impl Fn(T) -> (Value, Value)) -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let (id, result) = match serde_json::from_str::<T>(&line) {
            Ok(v) => f(v),
            Err(e) => {
                let id = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v.get("id").cloned())
                    .unwrap_or(Value::Null);
                (
                    id,
                    json!({"result": "error", "error": format!("line {}: {e}", n + 1)}),
                )
            }
        };
        let mut res = serde_json::Map::new();
        res.insert("id".to_string(), id);
        if let Value::Object(m) = result {
            res.extend(m);
        }
        serde_json::to_writer(&mut out, &res).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    Ok(())
}
