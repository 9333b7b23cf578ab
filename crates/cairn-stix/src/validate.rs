//! The MUST rules of STIX 2.1, checked on a parsed JSON value (never modified).
//!
//! Each rule that fails produces one [`ValidationError`] naming the object id, the property path
//! and the rule. SHOULD rules are not checked here: they are advice, not errors.

use serde_json::{Map, Value};

use crate::vocab::{self, Category};
use crate::{ObjectMeta, Timestamp, ValidateOptions, ValidationError};

type Obj = Map<String, Value>;

/// Collects the errors of one object.
struct Ctx {
    id: String,
    errs: Vec<ValidationError>,
    options: ValidateOptions,
}

impl Ctx {
    fn err(&mut self, property: impl Into<String>, rule: impl Into<String>) {
        self.errs.push(ValidationError {
            object_id: self.id.clone(),
            property: property.into(),
            rule: rule.into(),
        });
    }
}

/// What a reference property may point to.
#[derive(Clone, Copy)]
enum Target {
    /// Any STIX object identifier.
    Any,
    /// Exactly these types.
    Types(&'static [&'static str]),
    /// An SDO (predefined or custom).
    Sdo,
    /// An SDO or an SCO (the ends of a relationship).
    SdoOrSco,
    /// An SCO (predefined or custom).
    Sco,
    /// An SCO or an SRO (observed-data `object_refs`).
    ScoOrSro,
}

impl Target {
    fn accepts(self, ty: &str) -> bool {
        match self {
            Target::Any => true,
            Target::Types(ts) => ts.contains(&ty),
            Target::Sdo => matches!(vocab::category(ty), Category::Sdo | Category::Custom),
            Target::SdoOrSco => matches!(
                vocab::category(ty),
                Category::Sdo | Category::Sco | Category::Custom
            ),
            Target::Sco => matches!(vocab::category(ty), Category::Sco | Category::Custom),
            Target::ScoOrSro => matches!(
                vocab::category(ty),
                Category::Sco | Category::Sro | Category::Custom
            ),
        }
    }

    fn describe(self) -> String {
        match self {
            Target::Any => "a STIX identifier".into(),
            Target::Types(ts) => format!("an identifier of type {}", ts.join(" or ")),
            Target::Sdo => "an identifier of an SDO".into(),
            Target::SdoOrSco => "an identifier of an SDO or SCO".into(),
            Target::Sco => "an identifier of an SCO".into(),
            Target::ScoOrSro => "an identifier of an SCO or SRO".into(),
        }
    }
}

const SOFTWARE: &[&str] = &["software"];
const IDENTITY: &[&str] = &["identity"];
const MARKING: &[&str] = &["marking-definition"];
const EMAIL_ADDR: &[&str] = &["email-addr"];
const ARTIFACT: &[&str] = &["artifact"];
const USER_ACCOUNT: &[&str] = &["user-account"];
const PROCESS: &[&str] = &["process"];
const NETWORK_TRAFFIC: &[&str] = &["network-traffic"];
const ADDRESSES: &[&str] = &["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"];

/// Check that `s` is a valid STIX type name (3–250 chars of `a-z0-9-`, starting with a letter,
/// no empty hyphen-separated part).
pub(crate) fn is_type_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=250).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !s.contains("--")
}

/// Check `^[a-z0-9_]{3,250}$` (the rule for property names).
pub(crate) fn is_property_name(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// Check an RFC 4122 UUID in its hyphenated 36-character form (version 1–5).
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    let version = b[14];
    let variant = b[19].to_ascii_lowercase();
    (b'1'..=b'5').contains(&version) && matches!(variant, b'8' | b'9' | b'a' | b'b')
}

/// Split a STIX identifier `type--UUID`; `None` if malformed.
pub(crate) fn identifier_type(s: &str) -> Option<&str> {
    let (ty, uuid) = s.rsplit_once("--")?;
    (is_type_name(ty) && is_uuid(uuid)).then_some(ty)
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|c| c.is_ascii_hexdigit())
}

fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// RFC 5646 language tag syntax: a 2–3 letter primary language (or `i`/`x` prefixes) followed by
/// hyphen-separated subtags of 1–8 alphanumerics.
pub(crate) fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(first) = parts.next() else {
        return false;
    };
    let first_ok = ((2..=3).contains(&first.len()) || first == "i" || first == "x")
        && first.bytes().all(|c| c.is_ascii_alphabetic());
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()))
}

/// A URI per RFC 3986: a scheme (`alpha *( alpha / digit / "+" / "-" / "." )`), `:`, then only
/// unreserved, reserved and percent-encoded characters (ASCII; no spaces).
fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sc = scheme.bytes();
    if !matches!(sc.next(), Some(c) if c.is_ascii_alphabetic())
        || !sc.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    {
        return false;
    }
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(x), Some(y)) if x.is_ascii_hexdigit() && y.is_ascii_hexdigit() => i += 3,
                _ => return false,
            }
            continue;
        }
        let ok = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'/'
                    | b'?'
                    | b'#'
                    | b'['
                    | b']'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

fn is_ipv4(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    addr.parse::<std::net::Ipv4Addr>().is_ok()
        && prefix.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 2
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|n| n <= 32)
        })
}

fn is_ipv6(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    addr.parse::<std::net::Ipv6Addr>().is_ok()
        && prefix.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|n| n <= 128)
        })
}

fn is_mac(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, c)| {
            if i % 3 == 2 {
                *c == b':'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(c)
            }
        })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// Property checkers

fn req(ctx: &mut Ctx, o: &Obj, props: &[&str]) {
    for p in props {
        if !o.contains_key(*p) {
            ctx.err(*p, "required property is missing");
        }
    }
}

fn string<'a>(ctx: &mut Ctx, o: &'a Obj, p: &str) -> Option<&'a str> {
    match o.get(p)? {
        Value::String(s) => Some(s),
        v => {
            ctx.err(p, format!("must be a string, not {}", type_name(v)));
            None
        }
    }
}

fn boolean(ctx: &mut Ctx, o: &Obj, p: &str) -> Option<bool> {
    match o.get(p)? {
        Value::Bool(b) => Some(*b),
        v => {
            ctx.err(p, format!("must be a boolean, not {}", type_name(v)));
            None
        }
    }
}

fn integer(ctx: &mut Ctx, o: &Obj, p: &str, min: i64, max: i64) -> Option<i64> {
    let v = o.get(p)?;
    match v.as_i64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        Some(n) => {
            ctx.err(p, format!("must be between {min} and {max}, got {n}"));
            None
        }
        None => {
            ctx.err(p, format!("must be an integer, not {v}"));
            None
        }
    }
}

fn number(ctx: &mut Ctx, o: &Obj, p: &str, min: f64, max: f64) -> Option<f64> {
    let v = o.get(p)?;
    match v.as_f64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        Some(n) => {
            ctx.err(p, format!("must be between {min} and {max}, got {n}"));
            None
        }
        None => {
            ctx.err(p, format!("must be a number, not {}", type_name(v)));
            None
        }
    }
}

fn string_list(ctx: &mut Ctx, o: &Obj, p: &str) -> Option<Vec<String>> {
    match o.get(p)? {
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, v) in a.iter().enumerate() {
                match v.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => ctx.err(format!("{p}[{i}]"), "must be a string"),
                }
            }
            Some(out)
        }
        v => {
            ctx.err(
                p,
                format!("must be a list of strings, not {}", type_name(v)),
            );
            None
        }
    }
}

fn enum_value(ctx: &mut Ctx, o: &Obj, p: &str, allowed: &[&str]) {
    if let Some(s) = string(ctx, o, p)
        && !allowed.contains(&s)
    {
        ctx.err(
            p,
            format!(
                "must be one of {} (closed enumeration), got {s:?}",
                allowed.join(", ")
            ),
        );
    }
}

/// A timestamp property. `millis`: the value must carry at least millisecond precision.
fn timestamp(ctx: &mut Ctx, o: &Obj, p: &str, millis: bool) -> Option<Timestamp> {
    match o.get(p)? {
        Value::String(s) => match Timestamp::parse(s) {
            Ok(t) => {
                if millis && !has_millis(s) {
                    ctx.err(
                        p,
                        "must be precise to at least the millisecond (3 fraction digits)",
                    );
                }
                Some(t)
            }
            Err(e) => {
                ctx.err(p, e.reason);
                None
            }
        },
        v => {
            ctx.err(
                p,
                format!("must be a timestamp string, not {}", type_name(v)),
            );
            None
        }
    }
}

fn has_millis(s: &str) -> bool {
    s.get(19..)
        .and_then(|r| r.strip_prefix('.'))
        .is_some_and(|f| f.len() > 3)
}

/// `later` must be >= `earlier` (or > when `strict`).
fn order(
    ctx: &mut Ctx,
    earlier: (&str, &Option<Timestamp>),
    later: (&str, &Option<Timestamp>),
    strict: bool,
) {
    if let (Some(a), Some(b)) = (earlier.1, later.1) {
        let bad = if strict { b <= a } else { b < a };
        if bad {
            let rel = if strict {
                "later than"
            } else {
                "later than or equal to"
            };
            ctx.err(
                later.0,
                format!("must be {rel} '{}' ({a}), got {b}", earlier.0),
            );
        }
    }
}

fn check_identifier(ctx: &mut Ctx, path: &str, v: &Value, target: Target) {
    check_identifier_at(ctx, || path.to_string(), v, target);
}

/// Like [`check_identifier`], building the property path only when there is an error.
fn check_identifier_at(ctx: &mut Ctx, path: impl Fn() -> String, v: &Value, target: Target) {
    let Some(s) = v.as_str() else {
        ctx.err(
            path(),
            format!("must be an identifier string, not {}", type_name(v)),
        );
        return;
    };
    match identifier_type(s) {
        None => ctx.err(
            path(),
            format!("{s:?} is not a valid identifier '<type>--<RFC 4122 UUID>'"),
        ),
        Some(ty) if !target.accepts(ty) => {
            ctx.err(path(), format!("must be {}, got {s:?}", target.describe()))
        }
        Some(_) => {}
    }
}

fn ref_prop(ctx: &mut Ctx, o: &Obj, p: &str, target: Target) {
    if let Some(v) = o.get(p) {
        check_identifier(ctx, p, v, target);
    }
}

fn refs_prop(ctx: &mut Ctx, o: &Obj, p: &str, target: Target) {
    match o.get(p) {
        None => {}
        Some(Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                check_identifier_at(ctx, || format!("{p}[{i}]"), v, target);
            }
        }
        Some(v) => ctx.err(
            p,
            format!("must be a list of identifiers, not {}", type_name(v)),
        ),
    }
}

fn at_least_one(ctx: &mut Ctx, o: &Obj, props: &[&str], what: &str) {
    if !props.iter().any(|p| o.contains_key(*p)) {
        ctx.err(
            props.join("|"),
            format!("at least one of {} must be present{what}", props.join(", ")),
        );
    }
}

/// `hashes`: a non-empty dictionary of hash algorithm names to hash values.
fn hashes(ctx: &mut Ctx, path: &str, v: &Value) {
    let Some(h) = v.as_object() else {
        ctx.err(path, format!("must be a dictionary, not {}", type_name(v)));
        return;
    };
    if h.is_empty() {
        ctx.err(path, "must not be empty");
    }
    for (k, val) in h {
        let p = format!("{path}.{k}");
        let Some(s) = val.as_str() else {
            ctx.err(p, "hash values must be strings");
            continue;
        };
        let hex_len = match k.as_str() {
            "MD5" => Some(32),
            "SHA-1" => Some(40),
            "SHA-256" | "SHA3-256" => Some(64),
            "SHA-512" | "SHA3-512" => Some(128),
            _ => None,
        };
        if let Some(n) = hex_len {
            if s.len() != n || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
                ctx.err(p, format!("a {k} hash must be {n} hexadecimal digits"));
            }
        } else if k == "SSDEEP" || k == "TLSH" {
            if s.is_empty() {
                ctx.err(p, "must not be empty");
            }
        } else if !(3..=250).contains(&k.len())
            || !k
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        {
            ctx.err(
                p,
                "custom hash algorithm names must be 3-250 characters of a-z, A-Z, 0-9, '_' or '-'",
            );
        }
    }
}

/// A dictionary: keys of 1–250 ASCII letters, digits, '_' or '-', and no empty lists or nulls.
fn dictionary(ctx: &mut Ctx, o: &Obj, p: &str) {
    match o.get(p) {
        None => {}
        Some(Value::Object(d)) => {
            if d.is_empty() {
                ctx.err(p, "a dictionary must not be empty");
            }
            for (k, v) in d {
                if k.is_empty()
                    || k.len() > 250
                    || !k
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                {
                    ctx.err(
                        format!("{p}.{k}"),
                        "dictionary keys must be 1-250 characters of a-z, A-Z, 0-9, '_' or '-'",
                    );
                }
                if v.is_null() {
                    ctx.err(format!("{p}.{k}"), "must not be null");
                }
            }
        }
        Some(v) => ctx.err(p, format!("must be a dictionary, not {}", type_name(v))),
    }
}

fn external_references(ctx: &mut Ctx, o: &Obj) {
    let Some(v) = o.get("external_references") else {
        return;
    };
    let Some(list) = v.as_array() else {
        ctx.err(
            "external_references",
            "must be a list of external references",
        );
        return;
    };
    for (i, er) in list.iter().enumerate() {
        let path = format!("external_references[{i}]");
        let Some(er) = er.as_object() else {
            ctx.err(path, "must be an object");
            continue;
        };
        let source = match er.get("source_name") {
            None => {
                ctx.err(
                    format!("{path}.source_name"),
                    "required property is missing",
                );
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                ctx.err(format!("{path}.source_name"), "must be a string");
                None
            }
        };
        for p in ["description", "url", "external_id"] {
            if let Some(v) = er.get(p)
                && !v.is_string()
            {
                ctx.err(format!("{path}.{p}"), "must be a string");
            }
        }
        let ext_id = er.get("external_id").and_then(Value::as_str);
        match source {
            Some("cve") => match ext_id {
                None => ctx.err(format!("{path}.external_id"), "required when source_name is 'cve'"),
                Some(x) if !is_cve_id(x) => ctx.err(
                    format!("{path}.external_id"),
                    format!("must be a CVE identifier 'CVE-YYYY-NNNN+' when source_name is 'cve', got {x:?}"),
                ),
                _ => {}
            },
            Some("capec") => match ext_id {
                None => ctx.err(format!("{path}.external_id"), "required when source_name is 'capec'"),
                Some(x) if !is_capec_id(x) => ctx.err(
                    format!("{path}.external_id"),
                    format!("must be a CAPEC identifier 'CAPEC-N' when source_name is 'capec', got {x:?}"),
                ),
                _ => {}
            },
            _ => {
                if !["description", "url", "external_id"].iter().any(|p| er.contains_key(*p)) {
                    ctx.err(path.clone(), "at least one of description, url or external_id must be present");
                }
            }
        }
        if let Some(u) = er.get("url").and_then(Value::as_str)
            && !is_url(u)
        {
            ctx.err(format!("{path}.url"), format!("{u:?} is not a valid URL"));
        }
        if let Some(h) = er.get("hashes") {
            hashes(ctx, &format!("{path}.hashes"), h);
        }
    }
}

fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, num)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|c| c.is_ascii_digit())
        && num.len() >= 4
        && num.bytes().all(|c| c.is_ascii_digit())
        && (num.len() == 4 || !num.starts_with('0'))
}

fn is_capec_id(s: &str) -> bool {
    s.strip_prefix("CAPEC-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

fn kill_chain_phases(ctx: &mut Ctx, o: &Obj) {
    let Some(v) = o.get("kill_chain_phases") else {
        return;
    };
    let Some(list) = v.as_array() else {
        ctx.err("kill_chain_phases", "must be a list of kill chain phases");
        return;
    };
    for (i, k) in list.iter().enumerate() {
        let path = format!("kill_chain_phases[{i}]");
        let Some(k) = k.as_object() else {
            ctx.err(path, "must be an object");
            continue;
        };
        for p in ["kill_chain_name", "phase_name"] {
            match k.get(p) {
                Some(Value::String(_)) => {}
                Some(_) => ctx.err(format!("{path}.{p}"), "must be a string"),
                None => ctx.err(format!("{path}.{p}"), "required property is missing"),
            }
        }
    }
}

/// Resolve a granular-marking selector against the object.
fn selector_resolves(o: &Obj, selector: &str) -> bool {
    let mut cur: Option<&Value> = None;
    for (n, seg) in selector.split('.').enumerate() {
        let next = if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let Ok(i) = idx.parse::<usize>() else {
                return false;
            };
            match cur {
                Some(Value::Array(a)) => a.get(i),
                _ => None,
            }
        } else if n == 0 {
            o.get(seg)
        } else {
            match cur {
                Some(Value::Object(m)) => m.get(seg),
                _ => None,
            }
        };
        match next {
            Some(v) => cur = Some(v),
            None => return false,
        }
    }
    cur.is_some()
}

fn granular_markings(ctx: &mut Ctx, o: &Obj, own_id: &str) {
    let Some(v) = o.get("granular_markings") else {
        return;
    };
    let Some(list) = v.as_array() else {
        ctx.err("granular_markings", "must be a list of granular markings");
        return;
    };
    for (i, gm) in list.iter().enumerate() {
        let path = format!("granular_markings[{i}]");
        let Some(gm) = gm.as_object() else {
            ctx.err(path, "must be an object");
            continue;
        };
        match (gm.get("marking_ref"), gm.get("lang")) {
            (Some(_), Some(_)) => ctx.err(
                path.clone(),
                "marking_ref and lang must not both be present",
            ),
            (None, None) => ctx.err(path.clone(), "one of marking_ref or lang must be present"),
            (Some(m), None) => {
                check_identifier(
                    ctx,
                    &format!("{path}.marking_ref"),
                    m,
                    Target::Types(MARKING),
                );
                if m.as_str() == Some(own_id) && own_id.starts_with("marking-definition--") {
                    ctx.err(
                        format!("{path}.marking_ref"),
                        "a marking definition must not mark itself",
                    );
                }
            }
            (None, Some(l)) => {
                if !l.as_str().is_some_and(is_language_tag) {
                    ctx.err(format!("{path}.lang"), "must be an RFC 5646 language tag");
                }
            }
        }
        match gm.get("selectors") {
            Some(Value::Array(sel)) if !sel.is_empty() => {
                for (j, s) in sel.iter().enumerate() {
                    match s.as_str() {
                        Some(s) if selector_resolves(o, s) => {}
                        Some(s) => ctx.err(
                            format!("{path}.selectors[{j}]"),
                            format!("selector {s:?} does not resolve to a property of the object"),
                        ),
                        None => ctx.err(format!("{path}.selectors[{j}]"), "must be a string"),
                    }
                }
            }
            Some(Value::Array(_)) => ctx.err(format!("{path}.selectors"), "must not be empty"),
            Some(_) => ctx.err(format!("{path}.selectors"), "must be a list of selectors"),
            None => ctx.err(format!("{path}.selectors"), "required property is missing"),
        }
    }
}

const EXTENSION_TYPES: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// The TLP 2.0 extension definition.
pub(crate) const TLP2_EXTENSION: &str =
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

fn extensions(ctx: &mut Ctx, o: &Obj, ty: &str) {
    let Some(v) = o.get("extensions") else {
        return;
    };
    let Some(exts) = v.as_object() else {
        ctx.err(
            "extensions",
            format!("must be a dictionary, not {}", type_name(v)),
        );
        return;
    };
    if exts.is_empty() {
        ctx.err("extensions", "must not be empty");
    }
    for (k, ext) in exts {
        let path = format!("extensions.{k}");
        let Some(e) = ext.as_object() else {
            ctx.err(path, "an extension must be an object");
            continue;
        };
        if let Some(uuid_part) = k.strip_prefix("extension-definition--") {
            if !is_uuid(uuid_part) {
                ctx.err(
                    path.clone(),
                    "extension-definition keys must be 'extension-definition--<UUID>'",
                );
            }
            match e.get("extension_type") {
                None => ctx.err(
                    format!("{path}.extension_type"),
                    "required for an extension defined by an extension-definition",
                ),
                Some(Value::String(t)) if EXTENSION_TYPES.contains(&t.as_str()) => {
                    if t == "toplevel-property-extension" {
                        for p in e.keys().filter(|p| *p != "extension_type") {
                            ctx.err(format!("{path}.{p}"), "a toplevel-property-extension carries its properties at the top level of the object, not inside the extension");
                        }
                    }
                }
                Some(t) => ctx.err(
                    format!("{path}.extension_type"),
                    format!("must be one of {}, got {t}", EXTENSION_TYPES.join(", ")),
                ),
            }
            if k == TLP2_EXTENSION
                && let Some(t) = e.get("tlp_2_0")
                && !t.as_str().is_some_and(|t| {
                    ["clear", "green", "amber", "amber+strict", "red"].contains(&t)
                })
            {
                ctx.err(
                    format!("{path}.tlp_2_0"),
                    "must be one of clear, green, amber, amber+strict, red",
                );
            }
        } else if k.ends_with("-ext") && is_type_name(k) {
            if e.is_empty() {
                ctx.err(path.clone(), "an extension must have at least one property");
            }
            for p in e.keys() {
                if !is_property_name(p) {
                    ctx.err(
                        format!("{path}.{p}"),
                        "property names must match ^[a-z0-9_]{3,250}$",
                    );
                }
            }
            predefined_extension(ctx, ty, k, e, &path);
        } else {
            ctx.err(path, "extension keys must be 'extension-definition--<UUID>' or a type name ending in '-ext'");
        }
    }
}

/// The predefined SCO extensions (STIX 2.1 section 6).
fn predefined_extension(ctx: &mut Ctx, ty: &str, k: &str, e: &Obj, path: &str) {
    let mut sub = Ctx {
        id: ctx.id.clone(),
        errs: Vec::new(),
        options: ctx.options,
    };
    let allowed_on: Option<&str> = match k {
        "archive-ext" | "ntfs-ext" | "pdf-ext" | "raster-image-ext" | "windows-pebinary-ext" => {
            Some("file")
        }
        "http-request-ext" | "icmp-ext" | "socket-ext" | "tcp-ext" => Some("network-traffic"),
        "windows-process-ext" | "windows-service-ext" => Some("process"),
        "unix-account-ext" => Some("user-account"),
        _ => None,
    };
    let Some(on) = allowed_on else {
        return; // a custom (deprecated-style) extension: only naming rules apply
    };
    if on != ty {
        ctx.err(
            path,
            format!("the predefined {k} extension applies only to {on} objects"),
        );
        return;
    }
    match k {
        "archive-ext" => {
            req(&mut sub, e, &["contains_refs"]);
            refs_prop(
                &mut sub,
                e,
                "contains_refs",
                Target::Types(&["file", "directory"]),
            );
        }
        "pdf-ext" => {
            boolean(&mut sub, e, "is_optimized");
            dictionary(&mut sub, e, "document_info_dict");
        }
        "raster-image-ext" => {
            integer(&mut sub, e, "image_height", 0, i64::MAX);
            integer(&mut sub, e, "image_width", 0, i64::MAX);
            integer(&mut sub, e, "bits_per_pixel", 0, i64::MAX);
            dictionary(&mut sub, e, "exif_tags");
        }
        "windows-pebinary-ext" => {
            req(&mut sub, e, &["pe_type"]);
            string(&mut sub, e, "pe_type");
            if let Some(h) = e.get("file_header_hashes") {
                hashes(&mut sub, "file_header_hashes", h);
            }
        }
        "http-request-ext" => {
            req(&mut sub, e, &["request_method", "request_value"]);
            string(&mut sub, e, "request_method");
            string(&mut sub, e, "request_value");
            dictionary(&mut sub, e, "request_header");
            ref_prop(
                &mut sub,
                e,
                "message_body_data_ref",
                Target::Types(ARTIFACT),
            );
        }
        "icmp-ext" => {
            req(&mut sub, e, &["icmp_type_hex", "icmp_code_hex"]);
            for p in ["icmp_type_hex", "icmp_code_hex"] {
                if let Some(s) = string(&mut sub, e, p)
                    && !is_hex(s)
                {
                    sub.err(p, "must be a hexadecimal string");
                }
            }
        }
        "socket-ext" => {
            req(&mut sub, e, &["address_family"]);
            enum_value(
                &mut sub,
                e,
                "address_family",
                &[
                    "AF_UNSPEC",
                    "AF_INET",
                    "AF_IPX",
                    "AF_APPLETALK",
                    "AF_NETBIOS",
                    "AF_INET6",
                    "AF_IRDA",
                    "AF_BTH",
                ],
            );
            if e.contains_key("socket_type") {
                enum_value(
                    &mut sub,
                    e,
                    "socket_type",
                    &[
                        "SOCK_STREAM",
                        "SOCK_DGRAM",
                        "SOCK_RAW",
                        "SOCK_RDM",
                        "SOCK_SEQPACKET",
                    ],
                );
            }
            boolean(&mut sub, e, "is_blocking");
            boolean(&mut sub, e, "is_listening");
            dictionary(&mut sub, e, "options");
            integer(&mut sub, e, "socket_descriptor", 0, i64::MAX);
            integer(&mut sub, e, "socket_handle", i64::MIN, i64::MAX);
        }
        "tcp-ext" => {
            for p in ["src_flags_hex", "dst_flags_hex"] {
                if let Some(s) = string(&mut sub, e, p)
                    && !is_hex(s)
                {
                    sub.err(p, "must be a hexadecimal string");
                }
            }
        }
        "windows-process-ext" => {
            boolean(&mut sub, e, "aslr_enabled");
            boolean(&mut sub, e, "dep_enabled");
            dictionary(&mut sub, e, "startup_info");
            if e.contains_key("integrity_level") {
                enum_value(
                    &mut sub,
                    e,
                    "integrity_level",
                    &["low", "medium", "high", "system"],
                );
            }
        }
        "windows-service-ext" => {
            refs_prop(&mut sub, e, "service_dll_refs", Target::Types(&["file"]));
            if e.contains_key("start_type") {
                enum_value(
                    &mut sub,
                    e,
                    "start_type",
                    &[
                        "SERVICE_AUTO_START",
                        "SERVICE_BOOT_START",
                        "SERVICE_DEMAND_START",
                        "SERVICE_DISABLED",
                        "SERVICE_SYSTEM_ALERT",
                    ],
                );
            }
            if e.contains_key("service_type") {
                enum_value(
                    &mut sub,
                    e,
                    "service_type",
                    &[
                        "SERVICE_KERNEL_DRIVER",
                        "SERVICE_FILE_SYSTEM_DRIVER",
                        "SERVICE_WIN32_OWN_PROCESS",
                        "SERVICE_WIN32_SHARE_PROCESS",
                    ],
                );
            }
            if e.contains_key("service_status") {
                enum_value(
                    &mut sub,
                    e,
                    "service_status",
                    &[
                        "SERVICE_CONTINUE_PENDING",
                        "SERVICE_PAUSE_PENDING",
                        "SERVICE_PAUSED",
                        "SERVICE_RUNNING",
                        "SERVICE_START_PENDING",
                        "SERVICE_STOP_PENDING",
                        "SERVICE_STOPPED",
                    ],
                );
            }
        }
        "unix-account-ext" => {
            integer(&mut sub, e, "gid", i64::MIN, i64::MAX);
            string_list(&mut sub, e, "groups");
        }
        _ => {}
    }
    for mut x in sub.errs {
        x.property = format!("{path}.{}", x.property);
        ctx.errs.push(x);
    }
}

// ---------------------------------------------------------------------------------------------
// Objects

/// Properties whose names the specification reserves; they must not be used.
const RESERVED_PROPERTIES: &[&str] = &["action", "severity", "username", "phone_numbers"];

pub(crate) fn validate_object(
    value: &Value,
    options: ValidateOptions,
) -> Result<ObjectMeta, Vec<ValidationError>> {
    let Some(o) = value.as_object() else {
        return Err(vec![ValidationError {
            object_id: "<no id>".into(),
            property: String::new(),
            rule: format!(
                "a STIX object must be a JSON object, not {}",
                type_name(value)
            ),
        }]);
    };
    let id = o.get("id").and_then(Value::as_str).unwrap_or("<no id>");
    let mut ctx = Ctx {
        id: id.to_string(),
        errs: Vec::new(),
        options,
    };

    // type
    let ty = match o.get("type") {
        None => {
            ctx.err("type", "required property is missing");
            ""
        }
        Some(Value::String(t)) => {
            if !is_type_name(t) {
                ctx.err("type", format!("{t:?} is not a valid type name (3-250 characters of a-z, 0-9 and '-', starting with a letter)"));
            } else if t == "action" {
                ctx.err("type", "'action' is a reserved type name");
            }
            t.as_str()
        }
        Some(v) => {
            ctx.err("type", format!("must be a string, not {}", type_name(v)));
            ""
        }
    };
    if ty == "bundle" {
        ctx.err(
            "type",
            "a bundle is not a STIX object; validate it as a bundle",
        );
        return Err(ctx.errs);
    }

    // id
    match o.get("id") {
        None => ctx.err("id", "required property is missing"),
        Some(Value::String(s)) => match identifier_type(s) {
            None => ctx.err(
                "id",
                format!("{s:?} is not a valid identifier '<type>--<RFC 4122 UUID>'"),
            ),
            Some(t) if t != ty => ctx.err(
                "id",
                format!("the identifier's type {t:?} must equal the object's type {ty:?}"),
            ),
            Some(_) => {}
        },
        Some(v) => ctx.err("id", format!("must be a string, not {}", type_name(v))),
    }

    let mut category = vocab::category(ty);
    if category == Category::Custom {
        // A custom object is an SCO when it has neither created nor modified.
        category = if o.contains_key("created") || o.contains_key("modified") {
            Category::Custom
        } else {
            Category::Sco
        };
    }

    // spec_version
    let spec_version = match o.get("spec_version") {
        None if category == Category::Sco => "2.1",
        None => "2.0",
        Some(Value::String(s)) if s == "2.1" => "2.1",
        Some(v) => {
            ctx.err("spec_version", format!("must be \"2.1\", got {v}"));
            "2.1"
        }
    };

    let (created, modified) = if spec_version == "2.0" {
        validate_20(&mut ctx, o, ty)
    } else {
        validate_21(&mut ctx, o, ty, category)
    };

    if ctx.errs.is_empty() {
        Ok(ObjectMeta {
            id: id.to_string(),
            type_: ty.to_string(),
            spec_version: spec_version.to_string(),
            created,
            modified,
        })
    } else {
        Err(ctx.errs)
    }
}

/// STIX 2.0 objects are kept as given; only what storage relies on is checked.
fn validate_20(ctx: &mut Ctx, o: &Obj, ty: &str) -> (Option<Timestamp>, Option<Timestamp>) {
    if ty == "marking-definition" {
        req(ctx, o, &["created"]);
    } else {
        req(ctx, o, &["created", "modified"]);
    }
    let created = timestamp(ctx, o, "created", false);
    let modified = timestamp(ctx, o, "modified", false);
    order(ctx, ("created", &created), ("modified", &modified), false);
    (created, modified)
}

fn validate_21(
    ctx: &mut Ctx,
    o: &Obj,
    ty: &str,
    category: Category,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let id = ctx.id.clone();
    // Property names, reserved names, nulls and empty lists.
    for (k, v) in o {
        if k != "id" && !is_property_name(k) {
            ctx.err(k.as_str(), "property names must match ^[a-z0-9_]{3,250}$");
        }
        if RESERVED_PROPERTIES.contains(&k.as_str()) {
            ctx.err(
                k.as_str(),
                "is a reserved property name and must not be used",
            );
        }
        match v {
            Value::Null => ctx.err(k.as_str(), "must not be null"),
            Value::Array(a) if a.is_empty() => ctx.err(k.as_str(), "empty lists must not be used"),
            _ => {}
        }
    }

    let is_sco = category == Category::Sco;
    let (created, modified) = if is_sco {
        (None, None)
    } else {
        let required: &[&str] = if ty == "marking-definition" {
            &["spec_version", "created"]
        } else {
            &["spec_version", "created", "modified"]
        };
        req(ctx, o, required);
        let created = timestamp(ctx, o, "created", true);
        let modified = timestamp(ctx, o, "modified", true);
        order(ctx, ("created", &created), ("modified", &modified), false);
        ref_prop(ctx, o, "created_by_ref", Target::Types(IDENTITY));
        boolean(ctx, o, "revoked");
        string_list(ctx, o, "labels");
        integer(ctx, o, "confidence", 0, 100);
        if let Some(l) = string(ctx, o, "lang")
            && !is_language_tag(l)
        {
            ctx.err("lang", format!("{l:?} is not an RFC 5646 language tag"));
        }
        external_references(ctx, o);
        (created, modified)
    };
    if is_sco {
        boolean(ctx, o, "defanged");
        uuid4_without_contributing_properties(ctx, o, ty);
    }
    refs_prop(ctx, o, "object_marking_refs", Target::Types(MARKING));
    if ty == "marking-definition"
        && let Some(a) = o.get("object_marking_refs").and_then(Value::as_array)
        && a.iter().any(|r| r.as_str() == Some(&id))
    {
        ctx.err(
            "object_marking_refs",
            "a marking definition must not mark itself",
        );
    }
    granular_markings(ctx, o, &id);
    extensions(ctx, o, ty);

    match category {
        Category::Sdo => sdo(ctx, o, ty),
        Category::Sro => sro(ctx, o, ty),
        Category::Sco => sco(ctx, o, ty),
        Category::Meta => meta(ctx, o, ty),
        Category::Bundle | Category::Custom => {}
    }
    (created, modified)
}

fn ts_pair(ctx: &mut Ctx, o: &Obj, first: &str, last: &str, strict: bool) {
    let a = timestamp(ctx, o, first, false);
    let b = timestamp(ctx, o, last, false);
    order(ctx, (first, &a), (last, &b), strict);
}

fn sdo(ctx: &mut Ctx, o: &Obj, ty: &str) {
    match ty {
        "attack-pattern" | "course-of-action" | "incident" | "tool" | "vulnerability" => {
            req(ctx, o, &["name"]);
            string(ctx, o, "name");
            string_list(ctx, o, "aliases");
            kill_chain_phases(ctx, o);
            if ty == "tool" {
                string_list(ctx, o, "tool_types");
            }
        }
        "campaign" => {
            req(ctx, o, &["name"]);
            string(ctx, o, "name");
            string_list(ctx, o, "aliases");
            ts_pair(ctx, o, "first_seen", "last_seen", false);
        }
        "grouping" => {
            req(ctx, o, &["context", "object_refs"]);
            string(ctx, o, "context");
            refs_prop(ctx, o, "object_refs", Target::Any);
        }
        "identity" => {
            req(ctx, o, &["name"]);
            string(ctx, o, "name");
            string(ctx, o, "identity_class");
            string_list(ctx, o, "sectors");
            string_list(ctx, o, "roles");
        }
        "indicator" => {
            req(ctx, o, &["pattern", "pattern_type", "valid_from"]);
            let pattern = string(ctx, o, "pattern");
            let pattern_type = string(ctx, o, "pattern_type");
            if let (Some(p), Some("stix"), Some(check)) =
                (pattern, pattern_type, ctx.options.stix_pattern)
                && let Err(e) = check(p)
            {
                ctx.err("pattern", format!("not a valid STIX pattern: {e}"));
            }
            string(ctx, o, "pattern_version");
            string_list(ctx, o, "indicator_types");
            ts_pair(ctx, o, "valid_from", "valid_until", true);
            kill_chain_phases(ctx, o);
        }
        "infrastructure" | "intrusion-set" | "threat-actor" => {
            req(ctx, o, &["name"]);
            string(ctx, o, "name");
            string_list(ctx, o, "aliases");
            ts_pair(ctx, o, "first_seen", "last_seen", false);
            kill_chain_phases(ctx, o);
        }
        "location" => {
            let lat = number(ctx, o, "latitude", -90.0, 90.0);
            let lon = number(ctx, o, "longitude", -180.0, 180.0);
            number(ctx, o, "precision", 0.0, f64::MAX);
            let has_lat = o.contains_key("latitude");
            let has_lon = o.contains_key("longitude");
            if has_lat != has_lon {
                ctx.err(
                    if has_lat { "longitude" } else { "latitude" },
                    "latitude and longitude must be present together",
                );
            }
            if o.contains_key("precision") && !(has_lat && has_lon) {
                ctx.err("precision", "requires latitude and longitude");
            }
            let _ = (lat, lon);
            if !(o.contains_key("region") || o.contains_key("country") || (has_lat && has_lon)) {
                ctx.err(
                    "region|country|latitude",
                    "one of region, country, or latitude and longitude must be present",
                );
            }
        }
        "malware" => {
            req(ctx, o, &["is_family"]);
            if boolean(ctx, o, "is_family") == Some(true) && !o.contains_key("name") {
                ctx.err("name", "required when is_family is true");
            }
            string(ctx, o, "name");
            ts_pair(ctx, o, "first_seen", "last_seen", false);
            refs_prop(ctx, o, "operating_system_refs", Target::Types(SOFTWARE));
            refs_prop(ctx, o, "sample_refs", Target::Types(&["file", "artifact"]));
            kill_chain_phases(ctx, o);
        }
        "malware-analysis" => {
            req(ctx, o, &["product"]);
            string(ctx, o, "product");
            at_least_one(ctx, o, &["result", "analysis_sco_refs"], "");
            ref_prop(ctx, o, "host_vm_ref", Target::Types(SOFTWARE));
            ref_prop(ctx, o, "operating_system_ref", Target::Types(SOFTWARE));
            refs_prop(ctx, o, "installed_software_refs", Target::Types(SOFTWARE));
            refs_prop(ctx, o, "analysis_sco_refs", Target::Sco);
            ref_prop(
                ctx,
                o,
                "sample_ref",
                Target::Types(&["file", "artifact", "network-traffic"]),
            );
            for p in ["submitted", "analysis_started", "analysis_ended"] {
                timestamp(ctx, o, p, false);
            }
        }
        "note" => {
            req(ctx, o, &["content", "object_refs"]);
            string(ctx, o, "content");
            string_list(ctx, o, "authors");
            refs_prop(ctx, o, "object_refs", Target::Any);
        }
        "observed-data" => {
            req(
                ctx,
                o,
                &["first_observed", "last_observed", "number_observed"],
            );
            ts_pair(ctx, o, "first_observed", "last_observed", false);
            integer(ctx, o, "number_observed", 1, 999_999_999);
            match (o.get("objects"), o.get("object_refs")) {
                (Some(_), Some(_)) => ctx.err(
                    "objects|object_refs",
                    "exactly one of objects or object_refs must be present, not both",
                ),
                (None, None) => ctx.err(
                    "objects|object_refs",
                    "exactly one of objects or object_refs must be present",
                ),
                (None, Some(_)) => refs_prop(ctx, o, "object_refs", Target::ScoOrSro),
                (Some(Value::Object(m)), None) => {
                    if m.is_empty() {
                        ctx.err("objects", "must not be empty");
                    }
                    for (k, v) in m {
                        match v.get("type").and_then(Value::as_str) {
                            Some(t) if is_type_name(t) => {}
                            _ => ctx.err(
                                format!("objects.{k}.type"),
                                "each observable must have a valid type",
                            ),
                        }
                    }
                }
                (Some(_), None) => ctx.err(
                    "objects",
                    "must be a dictionary of cyber-observable objects",
                ),
            }
        }
        "opinion" => {
            req(ctx, o, &["opinion", "object_refs"]);
            enum_value(
                ctx,
                o,
                "opinion",
                &[
                    "strongly-disagree",
                    "disagree",
                    "neutral",
                    "agree",
                    "strongly-agree",
                ],
            );
            refs_prop(ctx, o, "object_refs", Target::Any);
        }
        "report" => {
            req(ctx, o, &["name", "published", "object_refs"]);
            string(ctx, o, "name");
            timestamp(ctx, o, "published", false);
            refs_prop(ctx, o, "object_refs", Target::Any);
        }
        _ => {}
    }
}

fn sro(ctx: &mut Ctx, o: &Obj, ty: &str) {
    match ty {
        "relationship" => {
            req(ctx, o, &["relationship_type", "source_ref", "target_ref"]);
            if let Some(rt) = string(ctx, o, "relationship_type")
                && (rt.is_empty()
                    || !rt
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'))
            {
                ctx.err("relationship_type", "must only contain a-z, 0-9 and '-'");
            }
            ref_prop(ctx, o, "source_ref", Target::SdoOrSco);
            ref_prop(ctx, o, "target_ref", Target::SdoOrSco);
            ts_pair(ctx, o, "start_time", "stop_time", true);
        }
        "sighting" => {
            req(ctx, o, &["sighting_of_ref"]);
            ref_prop(ctx, o, "sighting_of_ref", Target::Sdo);
            refs_prop(
                ctx,
                o,
                "observed_data_refs",
                Target::Types(&["observed-data"]),
            );
            refs_prop(
                ctx,
                o,
                "where_sighted_refs",
                Target::Types(&["identity", "location"]),
            );
            integer(ctx, o, "count", 0, 999_999_999);
            boolean(ctx, o, "summary");
            ts_pair(ctx, o, "first_seen", "last_seen", false);
        }
        _ => {}
    }
}

fn meta(ctx: &mut Ctx, o: &Obj, ty: &str) {
    match ty {
        "marking-definition" => marking_definition(ctx, o),
        "language-content" => {
            req(ctx, o, &["object_ref", "contents"]);
            ref_prop(ctx, o, "object_ref", Target::Any);
            if let Some(r) = o.get("object_ref").and_then(Value::as_str)
                && identifier_type(r).is_some_and(|t| t == "language-content" || t == "bundle")
            {
                ctx.err(
                    "object_ref",
                    "must not refer to a bundle or a language-content object",
                );
            }
            timestamp(ctx, o, "object_modified", false);
            match o.get("contents") {
                None => {}
                Some(Value::Object(c)) => {
                    if c.is_empty() {
                        ctx.err("contents", "must not be empty");
                    }
                    for (lang, props) in c {
                        if !is_language_tag(lang) {
                            ctx.err(
                                format!("contents.{lang}"),
                                "keys must be RFC 5646 language tags",
                            );
                        }
                        match props.as_object() {
                            Some(p) => {
                                for k in p.keys() {
                                    if !is_property_name(k) {
                                        ctx.err(
                                            format!("contents.{lang}.{k}"),
                                            "must be a property name (^[a-z0-9_]{3,250}$)",
                                        );
                                    }
                                }
                            }
                            None => ctx.err(
                                format!("contents.{lang}"),
                                "must be a dictionary of property translations",
                            ),
                        }
                    }
                }
                Some(_) => ctx.err("contents", "must be a dictionary keyed by language tag"),
            }
        }
        "extension-definition" => {
            req(
                ctx,
                o,
                &[
                    "created_by_ref",
                    "name",
                    "schema",
                    "version",
                    "extension_types",
                ],
            );
            string(ctx, o, "name");
            string(ctx, o, "schema");
            string(ctx, o, "version");
            let types = string_list(ctx, o, "extension_types").unwrap_or_default();
            for (i, t) in types.iter().enumerate() {
                if !EXTENSION_TYPES.contains(&t.as_str()) {
                    ctx.err(
                        format!("extension_types[{i}]"),
                        format!("must be one of {}", EXTENSION_TYPES.join(", ")),
                    );
                }
            }
            if o.contains_key("extension_properties") {
                string_list(ctx, o, "extension_properties");
                if !types.iter().any(|t| t == "toplevel-property-extension") {
                    ctx.err(
                        "extension_properties",
                        "only allowed when extension_types contains toplevel-property-extension",
                    );
                }
            }
        }
        _ => {}
    }
}

const TLP1: &[(&str, &str)] = &[
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        "white",
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "green",
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "amber",
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        "red",
    ),
];

fn marking_definition(ctx: &mut Ctx, o: &Obj) {
    string(ctx, o, "name");
    let dt = string(ctx, o, "definition_type");
    let has_ext = o.contains_key("extensions");
    if !has_ext {
        req(ctx, o, &["definition_type", "definition"]);
    } else if dt.is_some() && !o.contains_key("definition") {
        ctx.err("definition", "required when definition_type is present");
    }
    let def = o.get("definition");
    if let Some(d) = def
        && !d.is_object()
    {
        ctx.err("definition", "must be an object");
    }
    match dt {
        Some("statement") => {
            if let Some(d) = def.and_then(Value::as_object)
                && !d.get("statement").is_some_and(Value::is_string)
            {
                ctx.err(
                    "definition.statement",
                    "a statement marking must have a string 'statement'",
                );
            }
        }
        Some("tlp") => {
            let id = ctx.id.clone();
            let colour = def.and_then(|d| d.get("tlp")).and_then(Value::as_str);
            match TLP1.iter().find(|(tid, _)| *tid == id) {
                None => ctx.err(
                    "id",
                    "TLP 1.0 markings must be one of the four predefined TLP marking definitions",
                ),
                Some((_, c)) if Some(*c) != colour => ctx.err(
                    "definition.tlp",
                    format!("must be {c:?} for this predefined TLP marking definition"),
                ),
                Some(_) => {}
            }
        }
        _ => {}
    }
}

fn sco(ctx: &mut Ctx, o: &Obj, ty: &str) {
    let ts = |ctx: &mut Ctx, ps: &[&str]| {
        for p in ps {
            timestamp(ctx, o, p, false);
        }
    };
    match ty {
        "artifact" => {
            match (o.contains_key("payload_bin"), o.contains_key("url")) {
                (true, true) => ctx.err(
                    "payload_bin|url",
                    "payload_bin and url must not both be present",
                ),
                (false, true) if !o.contains_key("hashes") => {
                    ctx.err("hashes", "required when url is present")
                }
                _ => {}
            }
            if let Some(p) = string(ctx, o, "payload_bin")
                && !is_base64(p)
            {
                ctx.err("payload_bin", "must be base64-encoded binary data");
            }
            if let Some(u) = string(ctx, o, "url")
                && !is_url(u)
            {
                ctx.err("url", format!("{u:?} is not a valid URL"));
            }
            if let Some(h) = o.get("hashes") {
                hashes(ctx, "hashes", h);
            }
            if o.contains_key("encryption_algorithm") {
                enum_value(
                    ctx,
                    o,
                    "encryption_algorithm",
                    &["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"],
                );
            }
            if o.contains_key("decryption_key") && !o.contains_key("encryption_algorithm") {
                ctx.err(
                    "decryption_key",
                    "must not be present when encryption_algorithm is absent",
                );
            }
        }
        "autonomous-system" => {
            req(ctx, o, &["number"]);
            integer(ctx, o, "number", 0, i64::MAX);
        }
        "directory" => {
            req(ctx, o, &["path"]);
            string(ctx, o, "path");
            ts(ctx, &["ctime", "mtime", "atime"]);
            refs_prop(
                ctx,
                o,
                "contains_refs",
                Target::Types(&["file", "directory"]),
            );
        }
        "domain-name" => {
            req(ctx, o, &["value"]);
            string(ctx, o, "value");
            refs_prop(
                ctx,
                o,
                "resolves_to_refs",
                Target::Types(&["ipv4-addr", "ipv6-addr", "domain-name"]),
            );
        }
        "email-addr" => {
            req(ctx, o, &["value"]);
            if let Some(v) = string(ctx, o, "value")
                && !v
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
            {
                ctx.err(
                    "value",
                    format!("{v:?} is not an email address (addr-spec)"),
                );
            }
            ref_prop(ctx, o, "belongs_to_ref", Target::Types(USER_ACCOUNT));
        }
        "email-message" => {
            req(ctx, o, &["is_multipart"]);
            match boolean(ctx, o, "is_multipart") {
                Some(true) if o.contains_key("body") => {
                    ctx.err("body", "must not be present when is_multipart is true")
                }
                Some(false) if o.contains_key("body_multipart") => ctx.err(
                    "body_multipart",
                    "must not be present when is_multipart is false",
                ),
                _ => {}
            }
            ts(ctx, &["date"]);
            ref_prop(ctx, o, "from_ref", Target::Types(EMAIL_ADDR));
            ref_prop(ctx, o, "sender_ref", Target::Types(EMAIL_ADDR));
            for p in ["to_refs", "cc_refs", "bcc_refs"] {
                refs_prop(ctx, o, p, Target::Types(EMAIL_ADDR));
            }
            ref_prop(ctx, o, "raw_email_ref", Target::Types(ARTIFACT));
            dictionary(ctx, o, "additional_header_fields");
            if let Some(parts) = o.get("body_multipart").and_then(Value::as_array) {
                for (i, part) in parts.iter().enumerate() {
                    let Some(p) = part.as_object() else {
                        ctx.err(format!("body_multipart[{i}]"), "must be an object");
                        continue;
                    };
                    match (p.get("body"), p.get("body_raw_ref")) {
                        (Some(_), Some(_)) | (None, None) => ctx.err(
                            format!("body_multipart[{i}]"),
                            "exactly one of body or body_raw_ref must be present",
                        ),
                        (None, Some(r)) => check_identifier(
                            ctx,
                            &format!("body_multipart[{i}].body_raw_ref"),
                            r,
                            Target::Types(&["artifact", "file"]),
                        ),
                        _ => {}
                    }
                }
            }
        }
        "file" => {
            at_least_one(ctx, o, &["hashes", "name"], "");
            if let Some(h) = o.get("hashes") {
                hashes(ctx, "hashes", h);
            }
            string(ctx, o, "name");
            integer(ctx, o, "size", 0, i64::MAX);
            if let Some(m) = string(ctx, o, "magic_number_hex")
                && !is_hex(m)
            {
                ctx.err("magic_number_hex", "must be a hexadecimal string");
            }
            ts(ctx, &["ctime", "mtime", "atime"]);
            ref_prop(
                ctx,
                o,
                "parent_directory_ref",
                Target::Types(&["directory"]),
            );
            refs_prop(ctx, o, "contains_refs", Target::Sco);
            ref_prop(ctx, o, "content_ref", Target::Types(ARTIFACT));
        }
        "ipv4-addr" | "ipv6-addr" => {
            req(ctx, o, &["value"]);
            if let Some(v) = string(ctx, o, "value") {
                let ok = if ty == "ipv4-addr" {
                    is_ipv4(v)
                } else {
                    is_ipv6(v)
                };
                if !ok {
                    ctx.err(
                        "value",
                        format!(
                            "{v:?} is not a valid {} address or CIDR block",
                            if ty == "ipv4-addr" { "IPv4" } else { "IPv6" }
                        ),
                    );
                }
            }
            refs_prop(ctx, o, "resolves_to_refs", Target::Types(&["mac-addr"]));
            refs_prop(
                ctx,
                o,
                "belongs_to_refs",
                Target::Types(&["autonomous-system"]),
            );
        }
        "mac-addr" => {
            req(ctx, o, &["value"]);
            if let Some(v) = string(ctx, o, "value")
                && !is_mac(v)
            {
                ctx.err(
                    "value",
                    format!("{v:?} must be a colon-delimited, lowercase MAC-48 address"),
                );
            }
        }
        "mutex" => {
            req(ctx, o, &["name"]);
            string(ctx, o, "name");
        }
        "network-traffic" => {
            req(ctx, o, &["protocols"]);
            at_least_one(ctx, o, &["src_ref", "dst_ref"], "");
            let start = timestamp(ctx, o, "start", false);
            let end = timestamp(ctx, o, "end", false);
            order(ctx, ("start", &start), ("end", &end), false);
            if boolean(ctx, o, "is_active") == Some(true) && o.contains_key("end") {
                ctx.err("end", "must not be present when is_active is true");
            }
            ref_prop(ctx, o, "src_ref", Target::Types(ADDRESSES));
            ref_prop(ctx, o, "dst_ref", Target::Types(ADDRESSES));
            integer(ctx, o, "src_port", 0, 65535);
            integer(ctx, o, "dst_port", 0, 65535);
            string_list(ctx, o, "protocols");
            for p in [
                "src_byte_count",
                "dst_byte_count",
                "src_packets",
                "dst_packets",
            ] {
                integer(ctx, o, p, 0, i64::MAX);
            }
            dictionary(ctx, o, "ipfix");
            ref_prop(ctx, o, "src_payload_ref", Target::Types(ARTIFACT));
            ref_prop(ctx, o, "dst_payload_ref", Target::Types(ARTIFACT));
            refs_prop(ctx, o, "encapsulates_refs", Target::Types(NETWORK_TRAFFIC));
            ref_prop(
                ctx,
                o,
                "encapsulated_by_ref",
                Target::Types(NETWORK_TRAFFIC),
            );
        }
        "process" => {
            require_some_property(ctx, o);
            boolean(ctx, o, "is_hidden");
            integer(ctx, o, "pid", i64::MIN, i64::MAX);
            ts(ctx, &["created_time"]);
            dictionary(ctx, o, "environment_variables");
            refs_prop(
                ctx,
                o,
                "opened_connection_refs",
                Target::Types(NETWORK_TRAFFIC),
            );
            ref_prop(ctx, o, "creator_user_ref", Target::Types(USER_ACCOUNT));
            ref_prop(ctx, o, "image_ref", Target::Types(&["file"]));
            ref_prop(ctx, o, "parent_ref", Target::Types(PROCESS));
            refs_prop(ctx, o, "child_refs", Target::Types(PROCESS));
        }
        "software" => {
            req(ctx, o, &["name"]);
            string(ctx, o, "name");
            for (i, l) in string_list(ctx, o, "languages")
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if !is_language_tag(l) {
                    ctx.err(
                        format!("languages[{i}]"),
                        format!("{l:?} is not an RFC 5646 language tag"),
                    );
                }
            }
        }
        "url" => {
            req(ctx, o, &["value"]);
            if let Some(v) = string(ctx, o, "value")
                && !is_url(v)
            {
                ctx.err("value", format!("{v:?} is not a valid URL (RFC 3986)"));
            }
        }
        "user-account" => {
            require_some_property(ctx, o);
            for p in [
                "is_service_account",
                "is_privileged",
                "can_escalate_privs",
                "is_disabled",
            ] {
                boolean(ctx, o, p);
            }
            ts(
                ctx,
                &[
                    "account_created",
                    "account_expires",
                    "credential_last_changed",
                    "account_first_login",
                    "account_last_login",
                ],
            );
        }
        "windows-registry-key" => {
            require_some_property(ctx, o);
            if let Some(k) = string(ctx, o, "key") {
                let hive = k.split('\\').next().unwrap_or_default();
                if ["HKLM", "HKCU", "HKCR", "HKU", "HKCC"]
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(hive))
                {
                    ctx.err(
                        "key",
                        format!("the hive must be spelled out in full (e.g. HKEY_LOCAL_MACHINE, not {hive})"),
                    );
                }
            }
            ts(ctx, &["modified_time"]);
            ref_prop(ctx, o, "creator_user_ref", Target::Types(USER_ACCOUNT));
            integer(ctx, o, "number_of_subkeys", 0, i64::MAX);
            if let Some(vals) = o.get("values").and_then(Value::as_array) {
                for (i, v) in vals.iter().enumerate() {
                    let Some(v) = v.as_object() else {
                        ctx.err(format!("values[{i}]"), "must be an object");
                        continue;
                    };
                    if let Some(dt) = v.get("data_type")
                        && !dt
                            .as_str()
                            .is_some_and(|d| REGISTRY_DATA_TYPES.contains(&d))
                    {
                        ctx.err(
                            format!("values[{i}].data_type"),
                            format!("must be one of {}", REGISTRY_DATA_TYPES.join(", ")),
                        );
                    }
                }
            }
        }
        "x509-certificate" => {
            require_some_property(ctx, o);
            boolean(ctx, o, "is_self_signed");
            if let Some(h) = o.get("hashes") {
                hashes(ctx, "hashes", h);
            }
            let a = timestamp(ctx, o, "validity_not_before", false);
            let b = timestamp(ctx, o, "validity_not_after", false);
            let _ = (a, b);
            integer(ctx, o, "subject_public_key_exponent", 0, i64::MAX);
        }
        _ => {}
    }
}

const REGISTRY_DATA_TYPES: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];

/// STIX 2.1 section 2.9: an SCO with none of its type's ID-contributing properties (and every
/// process) must have a UUIDv4 identifier.
fn uuid4_without_contributing_properties(ctx: &mut Ctx, o: &Obj, ty: &str) {
    let Some(props) = crate::id_contributing_properties(ty) else {
        return;
    };
    if props.iter().any(|p| o.contains_key(*p)) {
        return;
    }
    let Some(id) = o.get("id").and_then(Value::as_str) else {
        return;
    };
    if let Some((_, uuid)) = id.rsplit_once("--")
        && is_uuid(uuid)
        && uuid.as_bytes()[14] != b'4'
    {
        ctx.err(
            "id",
            "must be a UUIDv4 when the object has no ID-contributing properties",
        );
    }
}

/// SCOs with no required property must still carry at least one property of their own.
fn require_some_property(ctx: &mut Ctx, o: &Obj) {
    let common = [
        "type",
        "id",
        "spec_version",
        "object_marking_refs",
        "granular_markings",
        "defanged",
    ];
    if o.keys().all(|k| common.contains(&k.as_str())) {
        ctx.err(
            "",
            "at least one property specific to this object type (or an extension) must be present",
        );
    }
}

pub(crate) fn validate_bundle(
    value: &Value,
    options: ValidateOptions,
) -> Result<Vec<crate::ObjectResult>, Vec<ValidationError>> {
    let Some(o) = value.as_object() else {
        return Err(vec![ValidationError {
            object_id: "<no id>".into(),
            property: String::new(),
            rule: format!("a bundle must be a JSON object, not {}", type_name(value)),
        }]);
    };
    let id = o.get("id").and_then(Value::as_str).unwrap_or("<no id>");
    let mut ctx = Ctx {
        id: id.to_string(),
        errs: Vec::new(),
        options,
    };
    if o.get("type").and_then(Value::as_str) != Some("bundle") {
        ctx.err("type", "must be \"bundle\"");
    }
    match o.get("id") {
        None => ctx.err("id", "required property is missing"),
        Some(v) => check_identifier(&mut ctx, "id", v, Target::Types(&["bundle"])),
    }
    let objects = match o.get("objects") {
        None => &[][..],
        Some(Value::Array(a)) if a.is_empty() => {
            ctx.err("objects", "empty lists must not be used");
            &[][..]
        }
        Some(Value::Array(a)) => a.as_slice(),
        Some(v) => {
            ctx.err(
                "objects",
                format!("must be a list of STIX objects, not {}", type_name(v)),
            );
            &[][..]
        }
    };
    if !ctx.errs.is_empty() {
        return Err(ctx.errs);
    }
    Ok(objects
        .iter()
        .map(|o| validate_object(o, options))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        assert!(is_type_name("x-acme-widget"));
        assert!(is_type_name("ipv4-addr"));
        assert!(!is_type_name("ab"));
        assert!(!is_type_name("Indicator"));
        assert!(!is_type_name("x--y"));
        assert!(!is_type_name("1abc"));
        assert!(is_type_name("abc-"));
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            identifier_type("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            Some("indicator")
        );
        assert_eq!(
            identifier_type("indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"),
            None
        );
        assert_eq!(
            identifier_type("indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f"),
            None
        );
        assert_eq!(
            identifier_type("indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            None
        );
    }

    #[test]
    fn selectors() {
        let v: Value = serde_json::json!({"a_b": [{"c": 1}], "name": "x"});
        let o = v.as_object().unwrap();
        assert!(selector_resolves(o, "a_b.[0].c"));
        assert!(selector_resolves(o, "name"));
        assert!(!selector_resolves(o, "a_b.[1]"));
        assert!(!selector_resolves(o, "name.x"));
    }

    #[test]
    fn urls() {
        for u in [
            "https://c2.example.com/gate.php?a=1&b=%20",
            "mailto:x@y",
            "urn:isbn:123",
            "https://[::1]/",
            "x:",
        ] {
            assert!(is_url(u), "{u}");
        }
        for u in [
            "https://c2.example.com/a?q=\u{fc}",
            "http://a b",
            "c2.example.com",
            "https://x.com/%zz",
            "https://x.com/a|b",
            "http://x.com/<a>",
            "1http://x",
        ] {
            assert!(!is_url(u), "{u}");
        }
    }

    #[test]
    fn addresses() {
        assert!(is_ipv4("198.51.100.3"));
        assert!(is_ipv4("198.51.100.0/24"));
        assert!(!is_ipv4("198.51.100.0/33"));
        assert!(!is_ipv4("198.51.100"));
        assert!(is_ipv6("2001:db8::1/64"));
        assert!(!is_ipv6("2001:db8::g"));
        assert!(is_mac("d2:fb:49:24:37:18"));
        assert!(!is_mac("D2:FB:49:24:37:18"));
    }
}
