//! `cairn pattern validate|eval`.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use cairn_pattern::{Pattern, observations_from_bundle};
use clap::Subcommand;
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

pub fn run(cmd: PatternCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PatternCmd::Validate {
            pattern: Some(pattern),
        } => Ok(validate_one(&pattern)),
        PatternCmd::Validate { pattern: None } => {
            lines(|v| {
                let Some(pattern) = v.get("pattern").and_then(Value::as_str) else {
                    return json!({"result": "error", "error": "no \"pattern\" string"});
                };
                match Pattern::validate(pattern) {
                    Ok(_) => json!({"result": true}),
                    Err(e) => json!({"result": false, "error": e.to_string()}),
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PatternCmd::Eval => {
            lines(|v| match eval_case(v) {
                Ok(r) => json!({ "result": r }),
                Err(e) => json!({"result": "error", "error": e}),
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

fn eval_case(v: &Value) -> Result<bool, String> {
    let pattern = v
        .get("pattern")
        .and_then(Value::as_str)
        .ok_or("no \"pattern\" string")?;
    let p = Pattern::validate(pattern).map_err(|e| format!("invalid pattern: {e}"))?;
    let unsupported = p.unsupported();
    if !unsupported.is_empty() {
        return Err(format!("unsupported regex: {}", unsupported.join("; ")));
    }
    let list = |k: &str| -> Result<&[Value], String> {
        match v.get(k) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(format!("\"{k}\" is not a list")),
        }
    };
    let ods = list("observed_data")?;
    let objs = list("objects")?;
    let obs = observations_from_bundle(ods.iter().chain(objs)).map_err(|e| e.to_string())?;
    Ok(p.matches(&obs))
}

/// Read JSON Lines on stdin; for each, write `{"id": .., ...f(line)}` on stdout.
fn lines(f: impl Fn(&Value) -> Value) -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let mut res = match serde_json::from_str::<Value>(&line) {
            Ok(v) => {
                let mut r = f(&v);
                r["id"] = v.get("id").cloned().unwrap_or(Value::Null);
                r
            }
            Err(e) => {
                json!({"id": null, "result": "error", "error": format!("line {}: {e}", n + 1)})
            }
        };
        // Put "id" first for readability.
        if let Value::Object(m) = &mut res {
            if let Some(id) = m.shift_remove("id") {
                m.shift_insert(0, "id".to_string(), id);
            }
        }
        serde_json::to_writer(&mut out, &res).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    Ok(())
}
