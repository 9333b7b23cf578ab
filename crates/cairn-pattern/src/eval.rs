//! The evaluator: comparison expressions against root SCOs, observation expressions as a
//! search for bindings of observation instances.

use std::cmp::Ordering;
use std::collections::HashMap;

use base64::Engine as _;
use serde_json::Value;
use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

use smallvec::SmallVec;

use crate::ast::ComparisonOp;
use crate::compiled::{Net, like_match, regex_search_bytes, regex_search_text};
use crate::error::ObservationError;
use crate::parser::decode_hex;
use crate::program::{KeyKind, NO_INSTANT, Node, Program};
use crate::time::{parse_timestamp, parse_timestamp_pair};

/// Upper bound on candidate bindings kept per sub-expression (after keeping minimal ones).
pub const MAX_BINDINGS: usize = 20_000;

/// Upper bound on candidate pairs examined when combining two sub-expressions, which keeps
/// evaluation time bounded for adversarial `REPEATS` counts over many instances.
pub const MAX_PAIRS: usize = 2_000_000;

/// STIX 2.1 SDO/SRO and meta types: never the root object of a comparison.
const NON_SCO_TYPES: &[&str] = &[
    "attack-pattern",
    "bundle",
    "campaign",
    "course-of-action",
    "extension-definition",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "language-content",
    "location",
    "malware",
    "malware-analysis",
    "marking-definition",
    "note",
    "observed-data",
    "opinion",
    "relationship",
    "report",
    "threat-actor",
    "tool",
    "sighting",
    "vulnerability",
];

/// FNV-1a: object ids are short and trusted enough for a fast non-keyed hash here (the maps
/// live for one evaluation call).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Property lookup: a linear scan over small objects (cheaper than hashing the key),
/// the map's own index for larger ones.
#[inline(always)]
fn prop<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    let Value::Object(m) = v else {
        return None;
    };
    if m.len() <= 12 {
        let kb = key.as_bytes();
        m.iter()
            .find(|(k, _)| {
                let b = k.as_bytes();
                // Cheap first-byte check before the full comparison.
                b.len() == kb.len() && b.first() == kb.first() && same_short(b, kb)
            })
            .map(|(_, x)| x)
    } else {
        m.get(key)
    }
}

/// `a == b` for slices of the same length; up to 16 bytes as two overlapping words (no
/// `memcmp` call: property names and most object types are short).
#[inline(always)]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let w8 = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let w4 = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        _ => a == b,
    }
}

/// Several properties in one pass over a small object (the map's own index for larger ones).
fn props<'v, const N: usize>(v: &'v Value, keys: [&str; N]) -> [Option<&'v Value>; N] {
    let mut out = [None; N];
    let Value::Object(m) = v else {
        return out;
    };
    if m.len() > 12 {
        for (o, k) in out.iter_mut().zip(keys) {
            *o = m.get(k);
        }
        return out;
    }
    let mut missing = N;
    for (k, x) in m {
        if let Some(i) = keys.iter().position(|key| k.as_str() == *key)
            && out[i].is_none()
        {
            out[i] = Some(x);
            missing -= 1;
            if missing == 0 {
                break;
            }
        }
    }
    out
}

/// One object of an observation, with its id and type looked up once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    id: &'a str,
    ty: &'a str,
    value: &'a Value,
}

impl<'a> Obj<'a> {
    #[inline(always)]
    fn of(value: &'a Value) -> Option<Obj<'a>> {
        let Value::Object(m) = value else {
            return None;
        };
        let (mut id, mut ty) = (None, None);
        if m.len() > 12 {
            (id, ty) = (m.get("id"), m.get("type"));
        } else {
            for (k, x) in m {
                match k.as_bytes() {
                    b"id" => {
                        id = Some(x);
                        if ty.is_some() {
                            break;
                        }
                    }
                    b"type" => {
                        ty = Some(x);
                        if id.is_some() {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(Obj {
            id: id?.as_str()?,
            ty: ty.and_then(Value::as_str).unwrap_or(""),
            value,
        })
    }
}

/// One observed-data SDO as the evaluator sees it.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// `first_observed`, nanoseconds since the Unix epoch.
    pub first_observed: i128,
    /// `last_observed`, nanoseconds since the Unix epoch.
    pub last_observed: i128,
    /// How many identical observation instances this stands for (≥ 1).
    pub number_observed: u64,
    objects: Vec<Obj<'a>>,
    /// Id → position in `objects`, built only for larger observations.
    index: Option<FastMap<&'a str, usize>>,
}

/// Observations with more objects than this get a hash index for reference resolution.
const INDEX_FROM: usize = 16;

impl<'a> Observation<'a> {
    /// An observation over these objects (each with a string `id`; objects without one are
    /// ignored, a repeated id keeps the last object).
    pub fn new(
        first_observed: i128,
        last_observed: i128,
        number_observed: u64,
        objects: impl IntoIterator<Item = &'a Value>,
    ) -> Observation<'a> {
        let objects = objects.into_iter();
        let capacity = objects.size_hint().0;
        Observation::from_objs(
            first_observed,
            last_observed,
            number_observed,
            objects.filter_map(Obj::of),
            capacity,
            false,
        )
    }

    /// `unique_ids`: distinct objects are known to have distinct ids (they come from one
    /// id-keyed map), so a repeated object can only be the very same value.
    fn from_objs(
        first_observed: i128,
        last_observed: i128,
        number_observed: u64,
        all: impl Iterator<Item = Obj<'a>>,
        capacity: usize,
        unique_ids: bool,
    ) -> Observation<'a> {
        let mut v: Vec<Obj<'a>> = Vec::with_capacity(capacity.min(INDEX_FROM + 1));
        let mut index: Option<FastMap<&'a str, usize>> = None;
        for o in all {
            let found = match &index {
                Some(ix) => ix.get(o.id).copied(),
                None if unique_ids => v.iter().position(|x| std::ptr::eq(x.value, o.value)),
                None => v.iter().position(|x| x.id == o.id),
            };
            match found {
                Some(i) => v[i] = o,
                None => {
                    if let Some(ix) = &mut index {
                        ix.insert(o.id, v.len());
                    }
                    v.push(o);
                    if index.is_none() && v.len() > INDEX_FROM {
                        index = Some(v.iter().enumerate().map(|(i, x)| (x.id, i)).collect());
                    }
                }
            }
        }
        Observation {
            first_observed,
            last_observed,
            number_observed,
            objects: v,
            index,
        }
    }

    /// Build from an observed-data SDO and the SCOs available by id: the observation sees the
    /// SDO itself and the SCOs its `object_refs` list (ids not found are skipped).
    pub fn from_observed_data(
        observed_data: &'a Value,
        scos: &HashMap<&str, &'a Value>,
    ) -> Result<Observation<'a>, ObservationError> {
        Observation::from_od(
            observed_data,
            |id| scos.get(id).and_then(|v| Obj::of(v)),
            false,
        )
    }

    fn from_od(
        observed_data: &'a Value,
        lookup: impl Fn(&str) -> Option<Obj<'a>>,
        unique_ids: bool,
    ) -> Result<Observation<'a>, ObservationError> {
        let (first, last, n, refs) = od_fields(observed_data)?;
        let objs = Obj::of(observed_data)
            .into_iter()
            .chain(refs.iter().filter_map(|r| r.as_str().and_then(&lookup)));
        Ok(Observation::from_objs(
            first,
            last,
            n,
            objs,
            refs.len() + 1,
            unique_ids,
        ))
    }

    /// The objects of this observation, by id.
    pub fn objects(&self) -> impl Iterator<Item = (&'a str, &'a Value)> + '_ {
        self.objects.iter().map(|o| (o.id, o.value))
    }

    fn resolve(&self, id: &str) -> Option<&'a Value> {
        match &self.index {
            Some(ix) => ix.get(id).map(|i| self.objects[*i].value),
            None => self.objects.iter().find(|o| o.id == id).map(|o| o.value),
        }
    }
}

/// `first_observed`, `last_observed`, `number_observed` and `object_refs`, in one pass over a
/// small object.
#[inline(always)]
fn od_props(v: &Value) -> [Option<&Value>; 4] {
    let Value::Object(m) = v else {
        return [None; 4];
    };
    if m.len() > 12 {
        return props(
            v,
            [
                "first_observed",
                "last_observed",
                "number_observed",
                "object_refs",
            ],
        );
    }
    let mut out = [None; 4];
    for (k, x) in m {
        // The four names differ in length: the length picks the one to compare with.
        let k = k.as_bytes();
        let i = match k.len() {
            14 if key_is(k, b"first_observed") => 0,
            13 if key_is(k, b"last_observed") => 1,
            15 if key_is(k, b"number_observed") => 2,
            11 if key_is(k, b"object_refs") => 3,
            _ => continue,
        };
        out[i] = Some(x);
    }
    out
}

/// `k == name`, compared as a fixed-size array (a few word comparisons, no `memcmp` call).
#[inline(always)]
fn key_is<const N: usize>(k: &[u8], name: &[u8; N]) -> bool {
    <&[u8; N]>::try_from(k).is_ok_and(|k| k == name)
}

/// `first_observed`, `last_observed`, `number_observed` and `object_refs` of an observed-data,
/// checked.
#[inline(always)]
fn od_fields(observed_data: &Value) -> Result<(i128, i128, u64, &[Value]), ObservationError> {
    let [first, last, number, refs] = od_props(observed_data);
    let (first, last) = match (first.and_then(Value::as_str), last.and_then(Value::as_str)) {
        (Some(f), Some(l)) => parse_timestamp_pair(f, l),
        _ => (None, None),
    };
    if let (Some(f), Some(l), Some(n), Some(r)) = (
        first,
        last,
        number.and_then(Value::as_u64).filter(|n| *n >= 1),
        refs.and_then(Value::as_array),
    ) {
        return Ok((f, l, n, r));
    }
    od_error(observed_data)
}

/// Why `od_fields` refuses an observed-data: the first property that is wrong.
#[cold]
fn od_error(observed_data: &Value) -> Result<(i128, i128, u64, &[Value]), ObservationError> {
    let id = || {
        prop(observed_data, "id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let [first, last, number, refs] = od_props(observed_data);
    let ts = |property: &'static str, v: Option<&Value>| -> Result<i128, ObservationError> {
        let s = v
            .and_then(Value::as_str)
            .ok_or_else(|| ObservationError::Property {
                id: id(),
                property,
                expected: "string",
            })?;
        parse_timestamp(s).ok_or_else(|| ObservationError::Timestamp {
            id: id(),
            property,
            value: s.to_string(),
        })
    };
    let first = ts("first_observed", first)?;
    let last = ts("last_observed", last)?;
    let n = number
        .and_then(Value::as_u64)
        .filter(|n| *n >= 1)
        .ok_or_else(|| ObservationError::Property {
            id: id(),
            property: "number_observed",
            expected: "positive integer",
        })?;
    let refs = refs
        .and_then(Value::as_array)
        .ok_or_else(|| ObservationError::Property {
            id: id(),
            property: "object_refs",
            expected: "list",
        })?;
    Ok((first, last, n, refs))
}

/// Observations from the objects of a bundle (observed-data SDOs and SCOs in any order, e.g.
/// `bundle.objects`): every `observed-data` object becomes one observation, seeing the SCOs
/// its `object_refs` names. The SCOs are borrowed, never copied.
pub fn observations_from_bundle<'a, I>(objects: I) -> Result<Vec<Observation<'a>>, ObservationError>
where
    I: IntoIterator<Item = &'a Value>,
{
    let objects = objects.into_iter();
    let mut scos: Vec<Obj<'a>> = Vec::with_capacity(objects.size_hint().0);
    let mut ods = Vec::with_capacity(4);
    for o in objects {
        match Obj::of(o) {
            Some(obj) if obj.ty == "observed-data" => ods.push(o),
            Some(obj) => scos.push(obj),
            None if o.get("type").and_then(Value::as_str) == Some("observed-data") => ods.push(o),
            None => {}
        }
    }
    // A repeated id keeps the last object. Small bundles are searched linearly (cheaper than
    // hashing every id), larger ones through a map.
    let mut out = Vec::with_capacity(ods.len());
    if scos.len() <= INDEX_FROM {
        for od in ods {
            out.push(Observation::from_od(
                od,
                |id| scos.iter().rev().find(|o| o.id == id).copied(),
                true,
            )?);
        }
    } else {
        let index: FastMap<&str, Obj<'a>> = scos.iter().map(|o| (o.id, *o)).collect();
        for od in ods {
            out.push(Observation::from_od(od, |id| index.get(id).copied(), true)?);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// What the evaluator needs of an observation.

pub(crate) trait ObsView<'a> {
    fn first(&self) -> i128;
    fn last(&self) -> i128;
    fn count(&self) -> u64;
    fn objs(&self) -> &[Obj<'a>];
    fn resolve(&self, id: &str) -> Option<&'a Value>;
}

impl<'a> ObsView<'a> for Observation<'a> {
    fn first(&self) -> i128 {
        self.first_observed
    }
    fn last(&self) -> i128 {
        self.last_observed
    }
    fn count(&self) -> u64 {
        self.number_observed
    }
    fn objs(&self) -> &[Obj<'a>] {
        &self.objects
    }
    fn resolve(&self, id: &str) -> Option<&'a Value> {
        Observation::resolve(self, id)
    }
}

/// An observation of a small bundle: its objects are a slice of one buffer for all.
#[derive(Clone, Copy)]
struct View<'o, 'a> {
    first: i128,
    last: i128,
    count: u64,
    objs: &'o [Obj<'a>],
}

impl<'a> ObsView<'a> for View<'_, 'a> {
    fn first(&self) -> i128 {
        self.first
    }
    fn last(&self) -> i128 {
        self.last
    }
    fn count(&self) -> u64 {
        self.count
    }
    fn objs(&self) -> &[Obj<'a>] {
        self.objs
    }
    fn resolve(&self, id: &str) -> Option<&'a Value> {
        self.objs
            .iter()
            .find(|o| same_id(o.id, id))
            .map(|o| o.value)
    }
}

/// Bundles of up to this many SCOs (and observations of up to this many objects) are
/// evaluated by `matches_bundle` with linear id lookups, larger ones through `Observation`s
/// with hash indexes.
const LINEAR_UP_TO: usize = 48;

/// The pattern against the objects of a bundle, as `observations_from_bundle` followed by
/// `matches` decides (the same errors, the same result), without building `Observation`s for
/// small bundles: the objects of every observation go into one buffer on the stack.
pub(crate) fn matches_bundle<'a, I>(p: &Program, objects: I) -> Result<bool, ObservationError>
where
    I: IntoIterator<Item = &'a Value>,
    I::IntoIter: Clone,
{
    let objects = objects.into_iter();
    let all = objects.clone();
    let mut scos: SmallVec<[Obj<'a>; 16]> = SmallVec::new();
    // Each observed-data with itself as an object (when it has an id).
    let mut ods: SmallVec<[(&'a Value, Option<Obj<'a>>); 4]> = SmallVec::new();
    for o in objects {
        match Obj::of(o) {
            Some(obj) if obj.ty == "observed-data" => ods.push((o, Some(obj))),
            Some(obj) => scos.push(obj),
            None if o.get("type").and_then(Value::as_str) == Some("observed-data") => {
                ods.push((o, None));
            }
            None => {}
        }
    }
    if scos.len() > LINEAR_UP_TO {
        let obs = observations_from_bundle(all)?;
        return Ok(matches(p, &obs));
    }
    let scos: &[Obj<'a>] = &scos;
    let mut buf: SmallVec<[Obj<'a>; 24]> = SmallVec::new();
    // Per observation: first, last, count and its range of `buf`.
    type Head = (i128, i128, u64, usize, usize);
    let mut heads: SmallVec<[Head; 4]> = SmallVec::new();
    for &(od, me) in &ods {
        let (first, last, n, refs) = od_fields(od)?;
        let start = buf.len();
        if let Some(me) = me {
            buf.push(me);
        }
        for r in refs {
            let Some(o) = r
                .as_str()
                .and_then(|id| scos.iter().rev().find(|o| same_id(o.id, id)))
            else {
                continue;
            };
            // An object already there is the same value (so the same `Obj`).
            if !buf[start..].iter().any(|x| std::ptr::eq(x.value, o.value)) {
                buf.push(*o);
            }
        }
        if buf.len() - start > LINEAR_UP_TO {
            // Large observations get an index: leave them to the general path.
            let obs = observations_from_bundle(all)?;
            return Ok(matches(p, &obs));
        }
        heads.push((first, last, n, start, buf.len()));
    }
    let mut views: SmallVec<[View<'_, 'a>; 4]> = SmallVec::new();
    for &(first, last, count, s, e) in &heads {
        views.push(View {
            first,
            last,
            count,
            objs: &buf[s..e],
        });
    }
    Ok(matches(p, &views))
}

/// `a == b`, looking first at the last byte (ids of one type share their start).
#[inline]
fn same_id(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().last() == b.as_bytes().last() && a == b
}

// ---------------------------------------------------------------------------------------
// Comparison expressions

/// A value selected by an object path.
enum Val<'a> {
    Json(&'a Value),
    Bytes(Vec<u8>),
    /// A `*_refs` list, not yet resolved (so `[n]` indexes it as written).
    Refs(&'a [Value]),
}

/// A selected value reduced to what comparisons look at.
enum Scalar<'v> {
    Int(i128),
    Float(f64),
    Str(&'v str),
    Bool(bool),
    Bytes(&'v [u8]),
    Other,
}

fn scalar<'v>(v: &'v Val<'_>) -> Scalar<'v> {
    match v {
        Val::Json(j) => match j {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Scalar::Int(i128::from(i))
                } else if let Some(u) = n.as_u64() {
                    Scalar::Int(i128::from(u))
                } else {
                    Scalar::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => Scalar::Str(s),
            Value::Bool(b) => Scalar::Bool(*b),
            _ => Scalar::Other,
        },
        Val::Bytes(b) => Scalar::Bytes(b),
        Val::Refs(_) => Scalar::Other,
    }
}

/// A literal of the program, borrowed.
#[derive(Clone, Copy)]
enum Lit<'p> {
    Int(i128),
    Float(f64),
    Str(&'p str),
    Bool(bool),
    Bytes(&'p [u8]),
    /// Nanoseconds, [`NO_INSTANT`] when the literal names no instant.
    Ts(i128),
    Other,
}

#[inline(always)]
fn lit(p: &Program, i: usize) -> Lit<'_> {
    match p.nodes[i] {
        Node::Int(v) => Lit::Int(v),
        Node::Float(v) => Lit::Float(v),
        Node::Str(s) => Lit::Str(p.str(s)),
        Node::Bool(b) => Lit::Bool(b),
        Node::Hex(s) | Node::Binary(s) => Lit::Bytes(&p.bin[s.range()]),
        Node::Ts { nanos, .. } => Lit::Ts(nanos),
        _ => Lit::Other,
    }
}

/// The comparison expression at `i` against the object `root` of type `ty`. A property test
/// of another type is refused here, before any call (most objects are of another type).
#[inline(always)]
fn eval_cmp<'a, O: ObsView<'a>>(p: &Program, i: usize, ty: &str, root: &'a Value, obs: &O) -> bool {
    match p.nodes[i] {
        Node::Test { ty: t, .. } => {
            let t = p.bytes(t);
            t.len() == ty.len() && same_short(t, ty.as_bytes()) && test(p, i, root, obs)
        }
        _ => eval_cmp_nary(p, i, ty, root, obs),
    }
}

/// [`eval_cmp`] of an `AND` or `OR` node.
fn eval_cmp_nary<'a, O: ObsView<'a>>(
    p: &Program,
    i: usize,
    ty: &str,
    root: &'a Value,
    obs: &O,
) -> bool {
    match p.nodes[i] {
        Node::CAnd { .. } => p.operands(i).all(|x| eval_cmp(p, x, ty, root, obs)),
        Node::COr { .. } => p.operands(i).any(|x| eval_cmp(p, x, ty, root, obs)),
        _ => false,
    }
}

#[inline(never)]
fn test<'a, O: ObsView<'a>>(p: &Program, i: usize, root: &'a Value, obs: &O) -> bool {
    let Node::Test {
        nsteps,
        op,
        negated,
        comp,
        ..
    } = p.nodes[i]
    else {
        return false;
    };
    let lit_at = i + 1 + nsteps as usize;
    let steps = &p.nodes[i + 1..lit_at];
    if op == ComparisonOp::Exists {
        let found = walk(p, Val::Json(root), steps, obs, &mut |_| true);
        return found != negated;
    }
    let comp = if comp == 0 { 0 } else { i + comp as usize };
    walk(p, Val::Json(root), steps, obs, &mut |v| {
        predicate(p, op, negated, lit_at, comp, v)
    })
}

/// Visit every value the remaining steps select; stop early when `f` returns true.
fn walk<'a, O: ObsView<'a>, F: FnMut(&Val<'a>) -> bool>(
    p: &Program,
    v: Val<'a>,
    steps: &[Node],
    obs: &O,
    f: &mut F,
) -> bool {
    // Plain keys into JSON objects (most steps) are followed in a loop, the others recurse.
    let mut v = v;
    let mut steps = steps;
    let (step, rest) = loop {
        let Some((step, rest)) = steps.split_first() else {
            return f(&v);
        };
        match (step, &v) {
            (
                Node::Key {
                    span,
                    kind: KeyKind::Plain,
                },
                Val::Json(obj),
            ) => match prop(obj, p.str(*span)) {
                Some(x) => {
                    v = Val::Json(x);
                    steps = rest;
                }
                None => return false,
            },
            _ => break (step, rest),
        }
    };
    match *step {
        Node::Key { span, kind } => {
            let Val::Json(obj) = v else {
                return false;
            };
            let Some(x) = prop(obj, p.str(span)) else {
                return false;
            };
            match kind {
                KeyKind::Ref => {
                    let Value::String(id) = x else {
                        return false;
                    };
                    match obs.resolve(id) {
                        Some(o) => walk(p, Val::Json(o), rest, obs, f),
                        None => false,
                    }
                }
                KeyKind::Refs => {
                    let Value::Array(ids) = x else {
                        return false;
                    };
                    if !ids
                        .iter()
                        .any(|i| i.as_str().is_some_and(|i| obs.resolve(i).is_some()))
                    {
                        return false;
                    }
                    walk(p, Val::Refs(ids), rest, obs, f)
                }
                KeyKind::Hex => match x {
                    Value::String(s) => match decode_hex(s) {
                        Some(b) => walk(p, Val::Bytes(b), rest, obs, f),
                        None => walk(p, Val::Json(x), rest, obs, f),
                    },
                    _ => walk(p, Val::Json(x), rest, obs, f),
                },
                KeyKind::Bin => match x {
                    Value::String(s) => match base64::engine::general_purpose::STANDARD.decode(s) {
                        Ok(b) => walk(p, Val::Bytes(b), rest, obs, f),
                        Err(_) => walk(p, Val::Json(x), rest, obs, f),
                    },
                    _ => walk(p, Val::Json(x), rest, obs, f),
                },
                KeyKind::Plain => walk(p, Val::Json(x), rest, obs, f),
            }
        }
        Node::Index(i) => {
            let Ok(i) = usize::try_from(i) else {
                return false;
            };
            match v {
                Val::Json(Value::Array(a)) => match a.get(i) {
                    Some(x) => walk(p, Val::Json(x), rest, obs, f),
                    None => false,
                },
                Val::Refs(ids) => match ids
                    .get(i)
                    .and_then(Value::as_str)
                    .and_then(|id| obs.resolve(id))
                {
                    Some(o) => walk(p, Val::Json(o), rest, obs, f),
                    None => false,
                },
                _ => false,
            }
        }
        Node::AnyIndex => match v {
            Val::Json(Value::Array(a)) => a.iter().any(|x| walk(p, Val::Json(x), rest, obs, f)),
            Val::Refs(ids) => ids.iter().any(|id| {
                id.as_str()
                    .and_then(|id| obs.resolve(id))
                    .is_some_and(|o| walk(p, Val::Json(o), rest, obs, f))
            }),
            _ => false,
        },
        _ => false,
    }
}

/// Exact comparison of an integer with a float.
fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= 1.7e38 {
        return Some(Ordering::Less);
    }
    if f <= -1.7e38 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    let ti = t as i128;
    Some(
        i.cmp(&ti)
            .then_with(|| 0.0f64.partial_cmp(&(f - t)).unwrap_or(Ordering::Equal)),
    )
}

/// Bytes against a string whose code points are all below 256 (one byte each); `None` when
/// the string has a larger code point.
fn cmp_bytes_latin1(a: &[u8], s: &str) -> Option<Ordering> {
    if !s.chars().all(|c| (c as u32) < 256) {
        return None;
    }
    Some(a.iter().copied().cmp(s.chars().map(|c| c as u32 as u8)))
}

/// Result of an ordering test between a value and a literal.
enum Ord3 {
    Is(Ordering),
    /// Types that have no order between them: the test is false, `NOT` included.
    Mismatch,
    /// A string that cannot be compared with bytes: false, but `NOT` applies.
    NotLatin1,
}

fn order(v: &Scalar<'_>, lit: Lit<'_>) -> Ord3 {
    use Ord3::*;
    let some = |o: Option<Ordering>| o.map_or(Mismatch, Is);
    match (v, lit) {
        (Scalar::Int(a), Lit::Int(b)) => Is(a.cmp(&b)),
        (Scalar::Int(a), Lit::Float(b)) => some(cmp_int_float(*a, b)),
        (Scalar::Float(a), Lit::Int(b)) => some(cmp_int_float(b, *a).map(Ordering::reverse)),
        (Scalar::Float(a), Lit::Float(b)) => some(a.partial_cmp(&b)),
        (Scalar::Str(a), Lit::Str(b)) => Is((*a).cmp(b)),
        (Scalar::Bytes(a), Lit::Bytes(b)) => Is((*a).cmp(b)),
        (Scalar::Bytes(a), Lit::Str(s)) => cmp_bytes_latin1(a, s).map_or(NotLatin1, Is),
        (Scalar::Str(s), Lit::Bytes(b)) => {
            cmp_bytes_latin1(b, s).map_or(NotLatin1, |o| Is(o.reverse()))
        }
        (Scalar::Str(s), Lit::Ts(t)) => match parse_timestamp(s) {
            Some(a) if t != NO_INSTANT => Is(a.cmp(&t)),
            _ => Mismatch,
        },
        _ => Mismatch,
    }
}

fn equal(v: &Scalar<'_>, lit: Lit<'_>) -> bool {
    match (v, lit) {
        (Scalar::Bool(a), Lit::Bool(b)) => *a == b,
        (_, Lit::Bool(_)) | (Scalar::Bool(_), _) => false,
        _ => matches!(order(v, lit), Ord3::Is(Ordering::Equal)),
    }
}

fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() || is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.nfc().collect())
    }
}

/// The test of `op` against the literal at `lit_at` (prepared form at `comp`, 0 for none),
/// `NOT` applied.
fn predicate(
    p: &Program,
    op: ComparisonOp,
    negated: bool,
    lit_at: usize,
    comp: usize,
    v: &Val<'_>,
) -> bool {
    let s = scalar(v);
    let r = match op {
        ComparisonOp::Eq | ComparisonOp::Ne => {
            equal(&s, lit(p, lit_at)) == (op == ComparisonOp::Eq)
        }
        ComparisonOp::Lt | ComparisonOp::Le | ComparisonOp::Gt | ComparisonOp::Ge => {
            match order(&s, lit(p, lit_at)) {
                Ord3::Mismatch => return false,
                Ord3::NotLatin1 => false,
                Ord3::Is(o) => match op {
                    ComparisonOp::Lt => o.is_lt(),
                    ComparisonOp::Le => o.is_le(),
                    ComparisonOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                },
            }
        }
        ComparisonOp::In => p.operands(lit_at).any(|m| equal(&s, lit(p, m))),
        ComparisonOp::Like => match (p.nodes[comp], &s) {
            (Node::Like { span, .. }, Scalar::Str(x)) => like_match(p.str(span), &nfc(x)),
            (Node::Like { span, latin1: true }, Scalar::Bytes(b)) => {
                std::str::from_utf8(b).is_ok_and(|x| like_match(p.str(span), &nfc(x)))
            }
            _ => false,
        },
        ComparisonOp::Matches => match &s {
            Scalar::Str(x) => regex_search_text(p, comp, &nfc(x)) == Some(true),
            Scalar::Bytes(b) => regex_search_bytes(p, comp, b),
            _ => false,
        },
        ComparisonOp::IsSubset | ComparisonOp::IsSuperset => match (p.net(comp), &s) {
            (Some(lit_net), Scalar::Str(x)) => match Net::parse(x) {
                Some(val_net) if op == ComparisonOp::IsSubset => val_net.within(&lit_net),
                Some(val_net) => lit_net.within(&val_net),
                None => false,
            },
            _ => false,
        },
        ComparisonOp::Exists => true,
    };
    r != negated
}

/// Does some root object of `obs` satisfy the bracketed expression at `i`?
fn observation_matches<'a, O: ObsView<'a>>(p: &Program, i: usize, obs: &O) -> bool {
    obs.objs()
        .iter()
        .any(|o| eval_cmp(p, i + 1, o.ty, o.value, obs) && !NON_SCO_TYPES.contains(&o.ty))
}

// ---------------------------------------------------------------------------------------
// Observation expressions

/// Instances bound, as (observation index, count) sorted by index (inline up to two).
type Binding = SmallVec<[(u32, u64); 2]>;

/// Candidate bindings of a sub-expression (inline up to four).
type Bindings = SmallVec<[Binding; 4]>;

struct Ctx<'o, 'p, O> {
    p: &'p Program,
    obs: &'o [O],
}

impl<'a, O: ObsView<'a>> Ctx<'_, '_, O> {
    fn combine(&self, a: &[Binding], b: &[Binding], followed_by: bool) -> Bindings {
        let mut out = Bindings::new();
        let mut pairs = 0usize;
        for x in a {
            for y in b {
                pairs += 1;
                if pairs > MAX_PAIRS {
                    return minimize(out);
                }
                if followed_by && self.max_first(x) > self.min_last(y) {
                    continue;
                }
                if let Some(z) = self.add(x, y) {
                    out.push(z);
                    if out.len() > 4 * MAX_BINDINGS {
                        return minimize(out);
                    }
                }
            }
        }
        minimize(out)
    }

    fn add(&self, x: &Binding, y: &Binding) -> Option<Binding> {
        let mut z = Binding::with_capacity(x.len() + y.len());
        let (mut i, mut j) = (0, 0);
        while i < x.len() || j < y.len() {
            let (idx, n) = match (x.get(i), y.get(j)) {
                (Some(a), Some(b)) if a.0 == b.0 => {
                    i += 1;
                    j += 1;
                    (a.0, a.1.checked_add(b.1)?)
                }
                (Some(a), Some(b)) if a.0 < b.0 => {
                    i += 1;
                    *a
                }
                (Some(a), None) => {
                    i += 1;
                    *a
                }
                (_, Some(b)) => {
                    j += 1;
                    *b
                }
                (None, None) => break,
            };
            if n > self.obs[idx as usize].count() {
                return None;
            }
            z.push((idx, n));
        }
        Some(z)
    }

    /// `REPEATS k` over single-instance bindings when the exact set of count vectors would be
    /// too large: for each run of matched observations in time order, the binding that fills
    /// `k` instances from the run's start (and one filling from its end). Every binding
    /// produced is valid; the ones with the shortest time spans are among them.
    fn repeats_in_windows(&self, base: &[Binding], k: u64) -> Bindings {
        let mut idx: Vec<u32> = base.iter().map(|b| b[0].0).collect();
        idx.sort_by_key(|i| {
            let o = &self.obs[*i as usize];
            (o.first(), o.last(), *i)
        });
        idx.dedup();
        let fill = |run: &mut dyn Iterator<Item = u32>| -> Option<Binding> {
            let mut need = k;
            let mut z = Binding::new();
            for i in run {
                let take = self.obs[i as usize].count().min(need);
                z.push((i, take));
                need -= take;
                if need == 0 {
                    z.sort_unstable();
                    return Some(z);
                }
            }
            None
        };
        let mut out = Bindings::new();
        for start in 0..idx.len() {
            out.extend(fill(&mut idx[start..].iter().copied()));
            out.extend(fill(&mut idx[..=start].iter().rev().copied()));
        }
        minimize(out)
    }

    fn max_first(&self, b: &Binding) -> i128 {
        b.iter()
            .map(|(i, _)| self.obs[*i as usize].first())
            .max()
            .unwrap_or(i128::MIN)
    }

    fn min_last(&self, b: &Binding) -> i128 {
        b.iter()
            .map(|(i, _)| self.obs[*i as usize].last())
            .min()
            .unwrap_or(i128::MAX)
    }

    fn eval(&self, e: usize) -> Bindings {
        let p = self.p;
        match p.nodes[e] {
            Node::Bracket { .. } => self
                .obs
                .iter()
                .enumerate()
                .filter(|(_, o)| o.count() >= 1 && observation_matches(p, e, *o))
                .map(|(i, _)| smallvec::smallvec![(i as u32, 1)])
                .take(MAX_BINDINGS)
                .collect(),
            Node::OOr { .. } => {
                let mut out = Bindings::new();
                for x in p.operands(e) {
                    out.extend(self.eval(x));
                }
                minimize(out)
            }
            Node::OAnd { .. } | Node::OFollowedBy { .. } => {
                let followed_by = matches!(p.nodes[e], Node::OFollowedBy { .. });
                let mut acc = Bindings::new();
                for (i, x) in p.operands(e).enumerate() {
                    let b = self.eval(x);
                    acc = if i == 0 {
                        b
                    } else {
                        self.combine(&acc, &b, followed_by)
                    };
                    if acc.is_empty() {
                        break;
                    }
                }
                acc
            }
            Node::StartStop { .. } => {
                let (Node::Ts { nanos: s, .. }, Node::Ts { nanos: t, .. }) =
                    (p.nodes[e + 1], p.nodes[e + 2])
                else {
                    return Bindings::new();
                };
                if s == NO_INSTANT || t == NO_INSTANT || s >= t {
                    return Bindings::new();
                }
                let mut v = self.eval(e + 3);
                v.retain(|b| {
                    b.iter().all(|(i, _)| {
                        let o = &self.obs[*i as usize];
                        o.last() >= s && o.first() < t
                    })
                });
                v
            }
            Node::Within { nanos, .. } => {
                if nanos <= 0 {
                    return Bindings::new();
                }
                let mut v = self.eval(e + 1);
                v.retain(|b| self.max_first(b) - self.min_last(b) <= nanos);
                v
            }
            Node::Repeats { n, .. } => {
                let mut k = n;
                if k == 0 {
                    return Bindings::new();
                }
                let mut base = self.eval(e + 1);
                // k disjoint bindings need at least k instances.
                let cap: u128 = self.obs.iter().map(|o| u128::from(o.count())).sum();
                if u128::from(k) > cap {
                    return Bindings::new();
                }
                if base.iter().all(|b| b.len() == 1 && b[0].1 == 1)
                    && compositions_exceed(k, base.len() as u64, MAX_BINDINGS as u64)
                {
                    return self.repeats_in_windows(&base, k);
                }
                let mut acc: Option<Bindings> = None;
                loop {
                    if k & 1 == 1 {
                        acc = Some(match acc {
                            None => base.clone(),
                            Some(a) => self.combine(&a, &base, false),
                        });
                    }
                    k >>= 1;
                    if k == 0 || acc.as_ref().is_some_and(|a| a.is_empty()) {
                        break;
                    }
                    base = self.combine(&base, &base, false);
                }
                acc.unwrap_or_default()
            }
            _ => Bindings::new(),
        }
    }
}

/// Would the number of ways to spread `k` instances over `m` observations exceed `limit`?
/// (`C(k + m - 1, m - 1)`, computed incrementally with early exit.)
fn compositions_exceed(k: u64, m: u64, limit: u64) -> bool {
    if m <= 1 {
        return false;
    }
    let r = m - 1;
    let (a, b) = (k.max(r), k.min(r));
    let mut c: u128 = 1;
    for i in 1..=b {
        // c = C(a + i, i), built up step by step; C(k + r, r) = C(a + b, b).
        c = c * u128::from(a + i) / u128::from(i);
        if c > u128::from(limit) {
            return true;
        }
    }
    false
}

/// Drop duplicates and bindings that bind a superset of another binding's instances.
fn minimize(mut v: Bindings) -> Bindings {
    if v.len() <= 1 {
        return v;
    }
    let size = |b: &Binding| b.iter().map(|x| x.1).sum::<u64>();
    // Bindings that compare equal here are identical: an unstable sort orders them the same.
    v.sort_unstable_by(|a, b| size(a).cmp(&size(b)).then_with(|| a.cmp(b)));
    v.dedup();
    if v.len() > 2_000 {
        v.truncate(MAX_BINDINGS);
        return v;
    }
    let mut out = Bindings::with_capacity(v.len());
    for b in v {
        if !out.iter().any(|m| dominated_by(&b, m)) {
            out.push(b);
        }
    }
    out
}

/// True if every count of `m` is ≤ the same observation's count in `b`.
fn dominated_by(b: &Binding, m: &Binding) -> bool {
    m.iter().all(|(i, n)| {
        b.iter()
            .find(|(j, _)| j == i)
            .is_some_and(|(_, bn)| bn >= n)
    })
}

pub(crate) fn matches<'a, O: ObsView<'a>>(p: &Program, observations: &[O]) -> bool {
    if observations.len() > u32::MAX as usize {
        return false;
    }
    // Without AND, FOLLOWEDBY or qualifiers every binding is one instance of one observation:
    // the pattern matches when one observation does (no bindings built).
    if simple(p, 0) {
        return observations
            .iter()
            .any(|o| o.count() >= 1 && holds(p, 0, o));
    }
    !Ctx {
        p,
        obs: observations,
    }
    .eval(0)
    .is_empty()
}

/// Only bracketed expressions and `OR`?
fn simple(p: &Program, e: usize) -> bool {
    match p.nodes[e] {
        Node::Bracket { .. } => true,
        Node::OOr { .. } => p.operands(e).all(|x| simple(p, x)),
        _ => false,
    }
}

fn holds<'a, O: ObsView<'a>>(p: &Program, e: usize, o: &O) -> bool {
    match p.nodes[e] {
        Node::Bracket { .. } => observation_matches(p, e, o),
        Node::OOr { .. } => p.operands(e).any(|x| holds(p, x, o)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_short;

    /// The word comparison agrees with slice equality, whichever byte differs.
    #[test]
    fn short_comparison_agrees_with_equality() {
        for n in 0..24 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_short(&a, &a));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_short(&a, &b), "{n} {at}");
            }
        }
    }
}
