//! [`Record`]: one log record as a set of STIX Cyber-observable Objects, kept in flat, reusable
//! buffers; [`Fact`]: one (SCO type, property path, value) triple of its flat form.

use serde_json::{Map, Value};

use crate::probe::Build;

/// Namespace of STIX 2.1 deterministic SCO identifiers (STIX 2.1 §2.9).
use cairn_stix::SCO_ID_NAMESPACE as SCO_NAMESPACE;

/// Index of an SCO inside its [`Record`].
pub type ScoIdx = u32;

/// A span of text in the record's arena, or a static string.
#[derive(Debug, Clone, Copy)]
enum Text {
    Static(&'static str),
    Arena(u32, u32),
}

#[derive(Debug, Clone, Copy)]
enum Val {
    Str(Text),
    Int(i64),
    Float(f64),
    Bool(bool),
    Ref(ScoIdx),
}

#[derive(Debug, Clone, Copy)]
struct Prop {
    sco: ScoIdx,
    path: Text,
    val: Val,
}

/// A scalar value of a [`Fact`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FactValue<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for FactValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FactValue::Str(s) => f.write_str(s),
            FactValue::Int(i) => write!(f, "{i}"),
            FactValue::Float(x) => write!(f, "{x}"),
            FactValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl FactValue<'_> {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match *self {
            FactValue::Str(s) => Value::String(s.to_string()),
            FactValue::Int(i) => Value::from(i),
            FactValue::Float(x) => Value::from(x),
            FactValue::Bool(b) => Value::Bool(b),
        }
    }
}

/// One element of the flat form of a record: the SCO of type `sco_type` (index `sco` in the
/// record) has, at the property path `path` (followed by `.sub` when the fact was reached through
/// a reference), the scalar `value`.
///
/// Paths are written like STIX pattern object paths without the type and without quotes:
/// `value`, `hashes.SHA-256`, `protocols[*]`, `extensions.http-request-ext.request_method`,
/// `src_ref` + sub `value` (i.e. `src_ref.value`), `resolves_to_refs[*]` + sub `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fact<'a> {
    pub sco_type: &'a str,
    pub sco: ScoIdx,
    pub path: &'a str,
    pub sub: Option<&'a str>,
    pub value: FactValue<'a>,
    /// True when `sco_type`, `path` and `sub` are `&'static str` (built-in mappings): then
    /// their addresses and lengths identify them for the life of the process, and a consumer
    /// may memoize per-name work by address.
    pub static_names: bool,
}

impl Fact<'_> {
    /// The full property path (`path` or `path.sub`).
    pub fn full_path(&self) -> String {
        match self.sub {
            Some(s) => format!("{}.{s}", self.path),
            None => self.path.to_string(),
        }
    }
}

/// One observation as STIX 2.1 objects: what an observed-data object says, with its SCOs.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// RFC 3339 UTC.
    pub first_observed: String,
    /// RFC 3339 UTC.
    pub last_observed: String,
    pub number_observed: u64,
    /// SCOs with deterministic ids; references are ids.
    pub objects: Vec<Value>,
}

/// One record read from a log: its position (1-based line number, or object index for STIX
/// input), its time (microseconds since the Unix epoch, UTC), and its SCOs.
///
/// A reader fills a `Record` in place; [`Record::clear`] keeps the buffers, so a stream of records
/// allocates only when a record is larger than every one before it.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// 1-based line number in the input (object index for STIX bundles).
    pub position: u64,
    /// Microseconds since the Unix epoch, UTC; `None` when the record has no usable time.
    pub time: Option<i64>,
    /// End of the observation window when the record spans time (flows, STIX observed-data);
    /// `None` means "same as `time`".
    pub time_end: Option<i64>,
    /// `number_observed` of STIX input; 1 for log records.
    pub count: u64,
    scos: Vec<Text>,
    props: Vec<Prop>,
    arena: String,
    /// The original objects, for STIX input (evaluated as given).
    original: Option<Vec<Value>>,
}

impl Record {
    pub fn new() -> Record {
        Record {
            count: 1,
            ..Record::default()
        }
    }

    /// Forget the content, keep the buffers.
    pub fn clear(&mut self) {
        self.position = 0;
        self.time = None;
        self.time_end = None;
        self.count = 1;
        self.scos.clear();
        self.props.clear();
        self.arena.clear();
        self.original = None;
    }

    /// Number of SCOs.
    pub fn sco_count(&self) -> usize {
        self.scos.len()
    }

    /// True when the record holds no SCO.
    pub fn is_empty(&self) -> bool {
        self.scos.is_empty()
    }

    #[inline(always)]
    fn is_static(t: Text) -> bool {
        matches!(t, Text::Static(_))
    }

    #[inline(always)]
    fn text(&self, t: Text) -> &str {
        match t {
            Text::Static(s) => s,
            Text::Arena(a, b) => &self.arena[a as usize..b as usize],
        }
    }

    fn push_text(&mut self, s: &str) -> Text {
        let a = self.arena.len() as u32;
        self.arena.push_str(s);
        Text::Arena(a, self.arena.len() as u32)
    }

    /// The type of SCO `i`.
    pub fn sco_type(&self, i: ScoIdx) -> &str {
        self.text(self.scos[i as usize])
    }

    /// Add an SCO of a built-in type.
    pub fn add_sco(&mut self, type_: &'static str) -> ScoIdx {
        self.scos.push(Text::Static(type_));
        (self.scos.len() - 1) as ScoIdx
    }

    /// Add an SCO whose type name is only known at run time.
    pub fn add_sco_dyn(&mut self, type_: &str) -> ScoIdx {
        let t = self.push_text(type_);
        self.scos.push(t);
        (self.scos.len() - 1) as ScoIdx
    }

    /// The SCO of `type_` whose `value` is `value`, created when absent (addresses and names are
    /// one object per value within a record).
    pub fn value_sco(&mut self, type_: &'static str, value: &str) -> ScoIdx {
        for p in &self.props {
            if let (Text::Static("value"), Val::Str(t)) = (p.path, p.val)
                && self.text(self.scos[p.sco as usize]) == type_
                && self.text(t) == value
            {
                return p.sco;
            }
        }
        let i = self.add_sco(type_);
        self.set_str(i, "value", value);
        i
    }

    /// Like [`Record::value_sco`], with the value written by `build` straight into the record's
    /// text arena (no temporary string).
    pub(crate) fn value_sco_built(
        &mut self,
        type_: &'static str,
        build: impl FnOnce(&mut String),
    ) -> ScoIdx {
        let a = self.arena.len();
        build(&mut self.arena);
        let (a32, b32) = (a as u32, self.arena.len() as u32);
        for p in &self.props {
            if let (Text::Static("value"), Val::Str(t)) = (p.path, p.val)
                && self.text(self.scos[p.sco as usize]) == type_
                && self.text(t) == &self.arena[a..]
            {
                let found = p.sco;
                self.arena.truncate(a);
                return found;
            }
        }
        let i = self.add_sco(type_);
        self.props.push(Prop {
            sco: i,
            path: Text::Static("value"),
            val: Val::Str(Text::Arena(a32, b32)),
        });
        i
    }

    /// Like [`Record::set_str`], with the value written by `build` straight into the record's
    /// text arena.
    pub(crate) fn set_str_built(
        &mut self,
        sco: ScoIdx,
        path: &'static str,
        build: impl FnOnce(&mut String),
    ) {
        let a = self.arena.len() as u32;
        build(&mut self.arena);
        let t = Text::Arena(a, self.arena.len() as u32);
        self.props.push(Prop {
            sco,
            path: Text::Static(path),
            val: Val::Str(t),
        });
    }

    /// The `ipv4-addr` or `ipv6-addr` (chosen by the text) whose value is `ip`.
    pub fn ip_sco(&mut self, ip: &str) -> ScoIdx {
        Build::ip_sco(self, ip)
    }

    /// A `network-traffic` between two addresses (with their `ipv4-addr`/`ipv6-addr` SCOs), its
    /// ports, and `protocols` = the IP version plus `transport` (lower-cased) when given. The
    /// shape every log format maps a connection to.
    pub fn network_traffic(
        &mut self,
        src: &str,
        dst: &str,
        src_port: Option<i64>,
        dst_port: Option<i64>,
        transport: Option<&str>,
    ) -> ScoIdx {
        Build::network_traffic(self, src, dst, src_port, dst_port, transport)
    }

    pub fn set_str(&mut self, sco: ScoIdx, path: &'static str, value: &str) {
        let t = self.push_text(value);
        self.props.push(Prop {
            sco,
            path: Text::Static(path),
            val: Val::Str(t),
        });
    }

    /// Set a string property, lower-cased (ASCII).
    pub fn set_str_lower(&mut self, sco: ScoIdx, path: &'static str, value: &str) {
        let a = self.arena.len();
        self.arena.push_str(value);
        self.arena[a..].make_ascii_lowercase();
        let t = Text::Arena(a as u32, self.arena.len() as u32);
        self.props.push(Prop {
            sco,
            path: Text::Static(path),
            val: Val::Str(t),
        });
    }

    /// Set a timestamp property (RFC 3339 UTC; whole seconds are written without a fraction).
    pub fn set_time(&mut self, sco: ScoIdx, path: &'static str, micros: i64) {
        let a = self.arena.len() as u32;
        write_micros(&mut self.arena, micros, true);
        let t = Text::Arena(a, self.arena.len() as u32);
        self.props.push(Prop {
            sco,
            path: Text::Static(path),
            val: Val::Str(t),
        });
    }

    pub fn set_int(&mut self, sco: ScoIdx, path: &'static str, value: i64) {
        self.props.push(Prop {
            sco,
            path: Text::Static(path),
            val: Val::Int(value),
        });
    }

    pub fn set_ref(&mut self, sco: ScoIdx, path: &'static str, target: ScoIdx) {
        self.props.push(Prop {
            sco,
            path: Text::Static(path),
            val: Val::Ref(target),
        });
    }

    /// Set a property whose path is only known at run time (field maps, STIX input). Strings,
    /// integers, floats and booleans are kept; other JSON values are ignored.
    pub fn set_dyn(&mut self, sco: ScoIdx, path: &str, value: &Value) {
        let val = match value {
            Value::String(s) => Val::Str(self.push_text(s)),
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            _ => return,
        };
        let path = self.push_text(path);
        self.props.push(Prop { sco, path, val });
    }

    /// Set a reference whose path is only known at run time.
    pub fn set_ref_dyn(&mut self, sco: ScoIdx, path: &str, target: ScoIdx) {
        let path = self.push_text(path);
        self.props.push(Prop {
            sco,
            path,
            val: Val::Ref(target),
        });
    }

    #[inline(always)]
    fn fact_value(&self, v: Val) -> Option<FactValue<'_>> {
        Some(match v {
            Val::Str(t) => FactValue::Str(self.text(t)),
            Val::Int(i) => FactValue::Int(i),
            Val::Float(x) => FactValue::Float(x),
            Val::Bool(b) => FactValue::Bool(b),
            Val::Ref(_) => return None,
        })
    }

    /// Call `f` with every fact of the record's flat form: every scalar property of every SCO,
    /// and, for every reference property, every scalar property of the referenced SCO (one
    /// level deep, as `ref_path` + `sub`).
    pub fn for_each_fact<'a>(&'a self, f: impl FnMut(Fact<'a>)) {
        self.for_each_fact_where(|_| true, f);
    }

    /// [`Record::for_each_fact`] restricted to the facts of SCOs whose type `want` accepts
    /// (`want` is asked once per run of properties of one SCO): a consumer that only looks at
    /// some types skips the others' properties and references without visiting their values.
    pub fn for_each_fact_where<'a>(
        &'a self,
        mut want: impl FnMut(&str) -> bool,
        mut f: impl FnMut(Fact<'a>),
    ) {
        let mut last_sco = ScoIdx::MAX;
        let mut wanted = false;
        for p in &self.props {
            if p.sco != last_sco {
                last_sco = p.sco;
                wanted = want(self.text(self.scos[p.sco as usize]));
            }
            if !wanted {
                continue;
            }
            let type_text = self.scos[p.sco as usize];
            let sco_type = self.text(type_text);
            let path = self.text(p.path);
            let names_static = Self::is_static(type_text) && Self::is_static(p.path);
            match p.val {
                Val::Ref(target) => {
                    for q in self.props.iter().filter(|q| q.sco == target) {
                        if let Some(value) = self.fact_value(q.val) {
                            f(Fact {
                                sco_type,
                                sco: p.sco,
                                path,
                                sub: Some(self.text(q.path)),
                                value,
                                static_names: names_static && Self::is_static(q.path),
                            });
                        }
                    }
                }
                v => {
                    if let Some(value) = self.fact_value(v) {
                        f(Fact {
                            sco_type,
                            sco: p.sco,
                            path,
                            sub: None,
                            value,
                            static_names: names_static,
                        });
                    }
                }
            }
        }
    }

    /// The flat form as a vector (convenience for tests and tools; the matcher uses
    /// [`Record::for_each_fact`]).
    pub fn facts(&self) -> Vec<Fact<'_>> {
        let mut v = Vec::new();
        self.for_each_fact(|f| v.push(f));
        v
    }

    /// Attach the original STIX objects of an observed-data (STIX input): they are returned as
    /// they are by [`Record::observation`], while the props give the flat form.
    pub fn set_original(&mut self, objects: Vec<Value>) {
        self.original = Some(objects);
    }

    /// The record as a STIX observation. SCOs get deterministic ids (UUIDv5 over their
    /// id-contributing properties, STIX 2.1 §2.9); references become ids.
    pub fn observation(&self) -> Observation {
        let time = self.time.unwrap_or(0);
        let end = self.time_end.unwrap_or(time).max(time);
        Observation {
            first_observed: format_micros(time),
            last_observed: format_micros(end),
            number_observed: self.count.max(1),
            objects: match &self.original {
                Some(o) => o.clone(),
                None => self.stix_objects(),
            },
        }
    }

    fn stix_objects(&self) -> Vec<Value> {
        let n = self.scos.len();
        let mut ids: Vec<Option<String>> = vec![None; n];
        let mut out: Vec<Option<Map<String, Value>>> = vec![None; n];
        // Objects without references first, then those whose targets all have ids.
        let mut remaining = n;
        while remaining > 0 {
            let before = remaining;
            for i in 0..n {
                if ids[i].is_some() {
                    continue;
                }
                let ready = self
                    .props
                    .iter()
                    .filter(|p| p.sco as usize == i)
                    .all(|p| !matches!(p.val, Val::Ref(t) if ids[t as usize].is_none() && t as usize != i));
                if !ready {
                    continue;
                }
                let type_ = self.text(self.scos[i]);
                let mut obj = Map::new();
                for p in self.props.iter().filter(|p| p.sco as usize == i) {
                    let v = match p.val {
                        Val::Ref(t) => match &ids[t as usize] {
                            Some(id) => Value::String(id.clone()),
                            None => continue,
                        },
                        other => self
                            .fact_value(other)
                            .map(|f| f.to_json())
                            .unwrap_or(Value::Null),
                    };
                    insert_path(&mut obj, self.text(p.path), v);
                }
                let obj = Value::Object(obj);
                let id = sco_id(type_, &obj);
                let Value::Object(obj) = obj else {
                    unreachable!("built as an object above")
                };
                let mut full = Map::new();
                full.insert("type".into(), Value::String(type_.to_string()));
                full.insert("spec_version".into(), Value::String("2.1".into()));
                full.insert("id".into(), Value::String(id.clone()));
                full.extend(obj);
                ids[i] = Some(id);
                out[i] = Some(full);
                remaining -= 1;
            }
            if remaining == before {
                // A reference cycle: give the rest ids without their references.
                for i in 0..n {
                    if ids[i].is_none() {
                        let type_ = self.text(self.scos[i]);
                        let id = format!(
                            "{type_}--{}",
                            uuid::Uuid::new_v5(
                                &SCO_NAMESPACE,
                                format!("{}#{i}", self.position).as_bytes()
                            )
                        );
                        let mut full = Map::new();
                        full.insert("type".into(), Value::String(type_.to_string()));
                        full.insert("spec_version".into(), Value::String("2.1".into()));
                        full.insert("id".into(), Value::String(id.clone()));
                        ids[i] = Some(id);
                        out[i] = Some(full);
                        remaining -= 1;
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| Value::Object(o.unwrap_or_default()))
            .collect()
    }
}

/// Insert `v` at a dotted path (`a.b[*].c` style; `[*]` appends to a list).
fn insert_path(obj: &mut Map<String, Value>, path: &str, v: Value) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    if let Some(key) = head.strip_suffix("[*]") {
        let list = obj
            .entry(key.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            match rest {
                None => items.push(v),
                Some(r) => {
                    let mut m = Map::new();
                    insert_path(&mut m, r, v);
                    items.push(Value::Object(m));
                }
            }
        }
        return;
    }
    match rest {
        None => {
            obj.insert(head.to_string(), v);
        }
        Some(r) => {
            let child = obj
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = child {
                insert_path(m, r, v);
            }
        }
    }
}

/// The SCO's deterministic id as the STIX 2.1 specification (and the stix2 library) computes it;
/// for an object without id-contributing properties, a UUIDv5 over all of its properties, so
/// that the same log line always yields the same id.
fn sco_id(type_: &str, obj: &Value) -> String {
    cairn_stix::sco_id(type_, obj).unwrap_or_else(|| {
        let mut text = String::new();
        cairn_stix::canonical_json(obj, &mut text);
        format!(
            "{type_}--{}",
            uuid::Uuid::new_v5(&SCO_NAMESPACE, text.as_bytes())
        )
    })
}

/// Microseconds since the epoch as RFC 3339 UTC with 6 fraction digits (`Z`).
pub fn format_micros(micros: i64) -> String {
    let mut s = String::with_capacity(27);
    write_micros(&mut s, micros, false);
    s
}

/// Append `micros` as RFC 3339 UTC: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or `...SSZ` when
/// `drop_zero_fraction` and the fraction is zero. Years outside 0..=9999 are clamped.
pub fn write_micros(out: &mut String, micros: i64, drop_zero_fraction: bool) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let y = y.clamp(0, 9999) as u32;
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    // Two digits at a time (v < 100).
    let put2 = |b: &mut [u8; 27], at: usize, v: u32| {
        b[at] = b'0' + (v / 10) as u8;
        b[at + 1] = b'0' + (v % 10) as u8;
    };
    put2(&mut b, 0, y / 100);
    put2(&mut b, 2, y % 100);
    put2(&mut b, 5, m);
    put2(&mut b, 8, d);
    put2(&mut b, 11, sod / 3600);
    put2(&mut b, 14, (sod / 60) % 60);
    put2(&mut b, 17, sod % 60);
    put2(&mut b, 20, frac / 10_000);
    put2(&mut b, 22, (frac / 100) % 100);
    put2(&mut b, 24, frac % 100);
    let text = std::str::from_utf8(&b).unwrap_or("1970-01-01T00:00:00.000000Z");
    if drop_zero_fraction && frac == 0 {
        out.push_str(&text[..19]);
        out.push('Z');
    } else {
        out.push_str(text);
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date of a year in 0..=9999 (unsigned
/// arithmetic: the year is shifted by one 400-year era so that it never goes below zero).
#[inline]
fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    let y = y + 400 - u32::from(m <= 2);
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i64::from(era) * 146_097 + i64::from(doe) - 719_468 - 146_097
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parse an ISO 8601 / RFC 3339 timestamp as logs write it — `YYYY-MM-DD[T ]HH:MM:SS[.frac]`
/// followed by `Z`, `±HH:MM`, `±HHMM`, `±HH` or nothing (UTC) — into microseconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let head: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    if head[4] != b'-'
        || head[7] != b'-'
        || !(head[10] == b'T' || head[10] == b' ')
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    // Each digit is checked: a byte that is not one gives 10 or more here.
    let d = |i: usize| u32::from(head[i].wrapping_sub(b'0'));
    let two = |i: usize| (d(i) * 10 + d(i + 1), d(i).max(d(i + 1)));
    let ((y1, a), (y2, b2), (mo, c), (day, e), (h, f), (mi, g), (se, k)) =
        (two(0), two(2), two(5), two(8), two(11), two(14), two(17));
    if a.max(b2).max(c).max(e).max(f).max(g).max(k) > 9 {
        return None;
    }
    let y = y1 * 100 + y2;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        // Microseconds: the first six digits count, later ones are dropped (truncation).
        while let Some(&c) = b.get(i)
            && c.is_ascii_digit()
        {
            if i - start < 6 {
                micros = micros * 10 + i64::from(c - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(6)..6 {
            micros *= 10;
        }
    }
    let offset_secs = match &b[i..] {
        [] | [b'Z'] | [b'z'] | [b'+', b'0', b'0', b'0', b'0'] => 0,
        rest => offset(rest)?,
    };
    let days = days_from_civil(y, mo, day);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se.min(59)) - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// A zone offset `±HH`, `±HHMM` or `±HH:MM` (colons are left out wherever they are) in
/// seconds.
fn offset(text: &[u8]) -> Option<i64> {
    let [sign @ (b'+' | b'-'), rest @ ..] = text else {
        return None;
    };
    // The digits of the offset, colons left out (no allocation: this runs per record).
    let mut digits = [0u8; 4];
    let mut len = 0;
    for &c in rest {
        if c == b':' {
            continue;
        }
        if !c.is_ascii_digit() || len == 4 {
            return None;
        }
        digits[len] = c - b'0';
        len += 1;
    }
    if !matches!(len, 2 | 4) {
        return None;
    }
    let hh = i64::from(digits[0]) * 10 + i64::from(digits[1]);
    let mm = if len == 4 {
        i64::from(digits[2]) * 10 + i64::from(digits[3])
    } else {
        0
    };
    let o = hh * 3600 + mm * 60;
    Some(if *sign == b'-' { -o } else { o })
}

/// Seconds since the epoch (a JSON number, as Zeek writes `ts`) into microseconds.
pub fn epoch_secs_to_micros(secs: f64) -> Option<i64> {
    if secs.is_finite() && secs.abs() < 1e13 {
        Some((secs * 1_000_000.0).round() as i64)
    } else {
        None
    }
}

/// A JSON string borrowed from the input when it has no escapes, owned otherwise. (serde's own
/// `Cow<str>` always copies when wrapped in `Option`; this does not.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonStr<'a>(pub std::borrow::Cow<'a, str>);

impl std::ops::Deref for JsonStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for JsonStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(JsonStr(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}
