//! STIX input: bundles (or JSON Lines of objects) holding `observed-data` and the SCOs they
//! reference (STIX 2.1 `object_refs`, or the STIX 2.0 `objects` dictionary). Each observed-data
//! becomes one [`Record`] that keeps its original objects for exact evaluation — the
//! observed-data itself and the SCOs of its `object_refs`, as the pattern evaluator sees an
//! observation — and carries their flat form for the index.

use std::collections::HashMap;

use serde_json::Value;

use crate::ParseError;
use crate::record::{Record, ScoIdx, parse_time};

/// Read every object of a document: a bundle, a JSON array, one object, or JSON Lines of these.
fn objects_of(text: &str) -> Result<Vec<Value>, ParseError> {
    fn split(v: Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(a) => out.extend(a),
            Value::Object(mut m) if m.get("type").and_then(Value::as_str) == Some("bundle") => {
                if let Some(Value::Array(a)) = m.remove("objects") {
                    out.extend(a);
                }
            }
            other => out.push(other),
        }
    }
    let mut out = Vec::new();
    match serde_json::from_str::<Value>(text) {
        Ok(v) => split(v, &mut out),
        Err(whole) => {
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(line).map_err(|e| {
                    ParseError::Json(if n == 0 {
                        whole.to_string()
                    } else {
                        format!("line {}: {e}", n + 1)
                    })
                })?;
                split(v, &mut out);
            }
        }
    }
    Ok(out)
}

/// Turn a STIX document into one record per `observed-data` (in document order; `position` is
/// the 1-based index among the observed-data). Objects that are neither observed-data nor
/// referenced SCOs are ignored.
pub fn read_observed_data(text: &str) -> Result<Vec<Record>, ParseError> {
    let objects = objects_of(text)?;
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
        .collect();
    let mut out = Vec::new();
    for od in objects
        .iter()
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("observed-data"))
    {
        let mut rec = Record::new();
        rec.position = out.len() as u64 + 1;
        let first = od
            .get("first_observed")
            .and_then(Value::as_str)
            .and_then(parse_time);
        let last = od
            .get("last_observed")
            .and_then(Value::as_str)
            .and_then(parse_time);
        rec.time = first;
        rec.time_end = last;
        rec.count = od
            .get("number_observed")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let mut scos: Vec<Value> = Vec::new();
        if let Some(Value::Object(m)) = od.get("objects") {
            // STIX 2.0: a dictionary keyed "0", "1", ...; references are those keys.
            for (k, v) in m {
                let mut v = v.clone();
                if let Value::Object(o) = &mut v {
                    o.entry("id").or_insert_with(|| Value::String(k.clone()));
                }
                scos.push(v);
            }
        } else if let Some(Value::Array(refs)) = od.get("object_refs") {
            // STIX 2.1: the observed-data itself and the SCOs its `object_refs` names (as the
            // pattern evaluator sees an observation; references resolve within these only).
            scos.push(od.clone());
            for r in refs.iter().filter_map(Value::as_str) {
                if let Some(o) = by_id.get(r) {
                    scos.push((*o).clone());
                }
            }
        }
        let index: HashMap<String, ScoIdx> = scos
            .iter()
            .enumerate()
            .filter_map(|(i, o)| Some((o.get("id")?.as_str()?.to_string(), i as ScoIdx)))
            .collect();
        for o in &scos {
            let t = o.get("type").and_then(Value::as_str).unwrap_or("");
            rec.add_sco_dyn(t);
        }
        for (i, o) in scos.iter().enumerate() {
            if let Value::Object(m) = o {
                for (k, v) in m {
                    if matches!(k.as_str(), "type" | "id" | "spec_version") {
                        continue;
                    }
                    walk(&mut rec, i as ScoIdx, k, v, &index);
                }
            }
        }
        rec.set_original(scos);
        out.push(rec);
    }
    Ok(out)
}

fn walk(rec: &mut Record, sco: ScoIdx, path: &str, v: &Value, index: &HashMap<String, ScoIdx>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                walk(rec, sco, &format!("{path}.{k}"), x, index);
            }
        }
        Value::Array(a) => {
            let p = format!("{path}[*]");
            for x in a {
                walk(rec, sco, &p, x, index);
            }
        }
        Value::String(s) if path.ends_with("_ref") || path.ends_with("_refs[*]") => {
            match index.get(s.as_str()) {
                Some(t) => rec.set_ref_dyn(sco, path, *t),
                None => rec.set_dyn(sco, path, v),
            }
        }
        other => rec.set_dyn(sco, path, other),
    }
}
