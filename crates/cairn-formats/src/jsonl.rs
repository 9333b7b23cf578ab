//! Generic JSON Lines with a user field map ([`FieldMap`]): each mapped field of a line becomes a
//! property of an SCO.
//!
//! The field map is a JSON document:
//!
//! ```json
//! {
//!   "time": "ts",
//!   "fields": {
//!     "src": "network-traffic:src_ref.value",
//!     "dst": "network-traffic:dst_ref.value",
//!     "dport": "network-traffic:dst_port",
//!     "query": "domain-name:value",
//!     "sha256": "file:hashes.'SHA-256'",
//!     "answers": "domain-name:resolves_to_refs[*].value"
//!   }
//! }
//! ```
//!
//! Keys of `fields` name a field of the line: the key as written, or a dotted path into nested
//! objects (`http.hostname`). Values are STIX object paths `TYPE:PATH` (quotes in the path are
//! optional). Rules: a `value` path makes one SCO per distinct value (an array gives one per
//! element); any other path sets a property on the record's one SCO of that type; a path that
//! ends in `_ref.value` or `_refs[*].value` creates the referenced SCO — `ipv4-addr`/`ipv6-addr`
//! when the value is an IP address, `email-addr` when it contains `@`, `domain-name` otherwise —
//! and points the reference at it. `time` (optional) names the field with the record time:
//! RFC 3339 text or epoch seconds.

use serde::Deserialize;
use serde_json::Value;

use crate::eve::is_ip;
use crate::record::{Record, ScoIdx, epoch_secs_to_micros, parse_time};
use crate::{LineParser, ParseError};

/// Errors in a field map.
#[derive(Debug, thiserror::Error)]
pub enum FieldMapError {
    #[error("field map is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("field map entry {field:?}: {reason}")]
    Entry { field: String, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldMapFile {
    time: Option<String>,
    fields: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone)]
enum Target {
    /// `TYPE:value`
    Value,
    /// `TYPE:path` (not `value`)
    Prop(String),
    /// `TYPE:ref_path.value` (ref_path ends in `_ref` or `_refs[*]`)
    Ref(String),
}

#[derive(Debug, Clone)]
struct Entry {
    field: String,
    sco_type: String,
    target: Target,
}

/// A parsed field map (see the module documentation for the file format).
#[derive(Debug, Clone)]
pub struct FieldMap {
    time: Option<String>,
    entries: Vec<Entry>,
}

impl FieldMap {
    /// Parse a field map document.
    pub fn parse(text: &str) -> Result<FieldMap, FieldMapError> {
        let file: FieldMapFile = serde_json::from_str(text)?;
        let mut entries = Vec::new();
        for (field, target) in file.fields {
            let err = |reason: &str| FieldMapError::Entry {
                field: field.clone(),
                reason: reason.to_string(),
            };
            let Value::String(target) = target else {
                return Err(err("the target must be a string TYPE:PATH"));
            };
            let Some((sco_type, path)) = target.split_once(':') else {
                return Err(err(
                    "the target must be TYPE:PATH, e.g. \"ipv4-addr:value\"",
                ));
            };
            if sco_type.is_empty()
                || !sco_type
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            {
                return Err(err(
                    "the object type must be lower-case letters, digits and '-'",
                ));
            }
            let path: String = path.chars().filter(|c| *c != '\'').collect();
            if path.is_empty() {
                return Err(err("the property path is empty"));
            }
            let target = if path == "value" {
                Target::Value
            } else if let Some(r) = path.strip_suffix(".value") {
                if r.ends_with("_ref") || r.ends_with("_refs[*]") {
                    Target::Ref(r.to_string())
                } else {
                    Target::Prop(path)
                }
            } else if path.contains("_ref.") || path.contains("_refs[*].") {
                return Err(err(
                    "only `value` can be reached through a reference (`..._ref.value`)",
                ));
            } else {
                Target::Prop(path)
            };
            entries.push(Entry {
                field,
                sco_type: sco_type.to_string(),
                target,
            });
        }
        Ok(FieldMap {
            time: file.time,
            entries,
        })
    }
}

/// Look a field up: the key as written, else a dotted path into nested objects.
fn lookup<'v>(v: &'v Value, field: &str) -> Option<&'v Value> {
    let obj = v.as_object()?;
    if let Some(x) = obj.get(field) {
        return Some(x);
    }
    let mut rest = field;
    let mut cur = v;
    while let Some((head, tail)) = rest.split_once('.') {
        cur = cur.as_object()?.get(head)?;
        rest = tail;
        if let Some(x) = cur.as_object().and_then(|o| o.get(rest)) {
            return Some(x);
        }
    }
    None
}

/// Parser of JSON Lines through a [`FieldMap`].
#[derive(Debug, Clone)]
pub struct JsonlParser {
    map: FieldMap,
    /// One SCO per type for non-value properties (reset per line).
    singles: Vec<(String, ScoIdx)>,
}

impl JsonlParser {
    pub fn new(map: FieldMap) -> JsonlParser {
        JsonlParser {
            map,
            singles: Vec::new(),
        }
    }
}

fn single(singles: &mut Vec<(String, ScoIdx)>, rec: &mut Record, type_: &str) -> ScoIdx {
    if let Some((_, i)) = singles.iter().find(|(t, _)| t == type_) {
        return *i;
    }
    let i = rec.add_sco_dyn(type_);
    singles.push((type_.to_string(), i));
    i
}

fn values(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().filter(|x| !x.is_null()).collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

impl LineParser for JsonlParser {
    fn parse_line(&mut self, line: &str, rec: &mut Record) -> Result<(), ParseError> {
        let v: Value = serde_json::from_str(line).map_err(|e| ParseError::Json(e.to_string()))?;
        if !v.is_object() {
            return Err(ParseError::Json("a line must be a JSON object".into()));
        }
        self.singles.clear();
        if let Some(tf) = &self.map.time {
            let t = match lookup(&v, tf) {
                Some(Value::String(s)) => parse_time(s),
                Some(Value::Number(n)) => n.as_f64().and_then(epoch_secs_to_micros),
                _ => return Err(ParseError::Field("time", format!("field {tf:?} missing"))),
            };
            rec.time = Some(t.ok_or_else(|| {
                ParseError::Field("time", format!("field {tf:?} is not a timestamp"))
            })?);
        }
        let singles = &mut self.singles;
        for e in &self.map.entries {
            let Some(found) = lookup(&v, &e.field) else {
                continue;
            };
            for x in values(found) {
                match &e.target {
                    Target::Value => {
                        let text = match x {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        if text.is_empty() {
                            continue;
                        }
                        let i = match e.sco_type.as_str() {
                            "ipv4-addr" => rec.value_sco("ipv4-addr", &text),
                            "ipv6-addr" => rec.value_sco("ipv6-addr", &text),
                            "domain-name" => rec.value_sco("domain-name", &text),
                            "url" => rec.value_sco("url", &text),
                            "email-addr" => rec.value_sco("email-addr", &text),
                            "mac-addr" => rec.value_sco("mac-addr", &text),
                            other => {
                                let i = rec.add_sco_dyn(other);
                                rec.set_dyn(i, "value", &Value::String(text));
                                i
                            }
                        };
                        if !singles.iter().any(|(t, _)| *t == e.sco_type) {
                            singles.push((e.sco_type.clone(), i));
                        }
                    }
                    Target::Prop(path) => {
                        let i = single(singles, rec, &e.sco_type);
                        rec.set_dyn(i, path, x);
                    }
                    Target::Ref(path) => {
                        let Value::String(s) = x else { continue };
                        if s.is_empty() {
                            continue;
                        }
                        let target = if is_ip(s) {
                            rec.ip_sco(s)
                        } else if s.contains('@') {
                            rec.value_sco("email-addr", s)
                        } else {
                            rec.value_sco("domain-name", s)
                        };
                        let i = single(singles, rec, &e.sco_type);
                        rec.set_ref_dyn(i, path, target);
                    }
                }
            }
        }
        Ok(())
    }
}
