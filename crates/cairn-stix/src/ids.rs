//! Deterministic SCO identifiers (STIX 2.1 section 2.9) and canonical JSON (RFC 8785).

use serde_json::{Map, Value};
use uuid::Uuid;

/// The namespace of deterministic SCO identifiers (UUIDv5).
pub const SCO_ID_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// The ID-contributing properties of each predefined SCO type, in the specification's order.
/// `process` has none: its identifiers are always UUIDv4.
pub fn id_contributing_properties(type_: &str) -> Option<&'static [&'static str]> {
    Some(match type_ {
        "artifact" => &["hashes", "payload_bin"],
        "autonomous-system" => &["number"],
        "directory" => &["path"],
        "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr" | "mac-addr" | "url" => &["value"],
        "email-message" => &["from_ref", "subject", "body"],
        "file" => &["hashes", "name", "parent_directory_ref", "extensions"],
        "mutex" => &["name"],
        "network-traffic" => &[
            "start",
            "end",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "extensions",
        ],
        "process" => &[],
        "software" => &["name", "cpe", "swid", "vendor", "version"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => return None,
    })
}

/// The deterministic identifier of an SCO: `type--UUIDv5(namespace, canonical JSON of its
/// ID-contributing properties)`. For `hashes`, one hash is used: MD5, else SHA-1, else SHA-256,
/// else SHA-512, else the first one given (algorithm names spelled otherwise, like `sha256`, are
/// read as the specification's names, as the stix2 library does). The `start` and `end` timestamps of network-traffic
/// contribute without trailing zeros in their fraction of a second (as the stix2 library does).
///
/// `None` when the type is not a predefined SCO type, when it has no ID-contributing properties
/// (`process`), or when the object carries none of them (a UUIDv4 must then be used).
pub fn sco_id(type_: &str, object: &Value) -> Option<String> {
    let props = id_contributing_properties(type_)?;
    let obj = object.as_object()?;
    let mut contrib = Map::new();
    for p in props {
        let Some(v) = obj.get(*p) else { continue };
        if *p == "hashes" {
            contrib.insert((*p).to_string(), choose_one_hash(v.as_object()?)?);
        } else if let (true, Some(ts)) = (matches!(*p, "start" | "end"), v.as_str()) {
            contrib.insert((*p).to_string(), Value::String(normalize_timestamp(ts)));
        } else {
            contrib.insert((*p).to_string(), v.clone());
        }
    }
    if contrib.is_empty() {
        return None;
    }
    let mut text = String::new();
    canonical_json(&Value::Object(contrib), &mut text);
    let uuid = Uuid::new_v5(&SCO_ID_NAMESPACE, text.as_bytes());
    Some(format!("{type_}--{uuid}"))
}

/// Timestamps contribute in their shortest form, as the stix2 library writes them: trailing zeros
/// of the fraction of a second are dropped, and the fraction too when nothing is left of it.
fn normalize_timestamp(ts: &str) -> String {
    match ts.strip_suffix('Z').and_then(|t| t.split_once('.')) {
        Some((whole, frac)) if frac.bytes().all(|c| c.is_ascii_digit()) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{frac}Z")
            }
        }
        _ => ts.to_string(),
    }
}

fn choose_one_hash(h: &Map<String, Value>) -> Option<Value> {
    let named: Vec<(String, &Value)> = h.iter().map(|(k, v)| (hash_name(k), v)).collect();
    let (key, value) = ["MD5", "SHA-1", "SHA-256", "SHA-512"]
        .into_iter()
        .find_map(|want| named.iter().find(|(k, _)| k == want))
        .or_else(|| named.first())?;
    let mut one = Map::new();
    one.insert(key.clone(), (*value).clone());
    Some(Value::Object(one))
}

/// The specification's name of a hash algorithm given under another spelling (`sha256`,
/// `SHA256`, `sha-256` are `SHA-256`), as the stix2 library recognizes them; other names as given.
fn hash_name(k: &str) -> String {
    let folded: String = k
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    match folded.as_str() {
        "MD5" => "MD5",
        "SHA1" => "SHA-1",
        "SHA256" => "SHA-256",
        "SHA512" => "SHA-512",
        "SHA3256" => "SHA3-256",
        "SHA3512" => "SHA3-512",
        "SSDEEP" => "SSDEEP",
        "TLSH" => "TLSH",
        _ => return k.to_string(),
    }
    .to_string()
}

/// Append the RFC 8785 canonical form of `v` to `out`: object members sorted by the UTF-16 code
/// units of their names, no whitespace, strings escaped as ECMAScript's `JSON.stringify` does,
/// numbers in ECMAScript's shortest form.
pub fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else if let Some(f) = n.as_f64() {
                out.push_str(&es_number(f));
            }
        }
        Value::String(s) => push_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(k, out);
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
    }
}

fn push_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript Number::toString for a finite double.
fn es_number(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let a = f.abs();
    if (1e-6..1e21).contains(&a) {
        // Rust's Display is the shortest round-trip decimal without exponent.
        format!("{f}")
    } else {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_and_escapes() {
        let mut s = String::new();
        canonical_json(
            &json!({"b": [1, 2.5, "x\n"], "a": {"d": true, "c": null}, "é": 1e21}),
            &mut s,
        );
        assert_eq!(
            s,
            r#"{"a":{"c":null,"d":true},"b":[1,2.5,"x\n"],"é":1e+21}"#
        );
    }

    #[test]
    fn ipv4_id_is_the_specification_example() {
        // The stix2 library (and the specification's examples) give this id for 198.51.100.3.
        let id = sco_id(
            "ipv4-addr",
            &json!({"type": "ipv4-addr", "value": "198.51.100.3"}),
        );
        assert!(id.is_some_and(|i| i.starts_with("ipv4-addr--") && i.as_bytes()[25] == b'5'));
    }

    #[test]
    fn no_contributing_properties_means_no_id() {
        assert_eq!(
            sco_id("process", &json!({"type": "process", "pid": 4})),
            None
        );
        assert_eq!(
            sco_id(
                "user-account",
                &json!({"type": "user-account", "is_disabled": true})
            ),
            None
        );
        assert_eq!(
            sco_id("x-custom", &json!({"type": "x-custom", "value": "a"})),
            None
        );
    }
}
