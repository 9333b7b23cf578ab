//! Compiled bulk matcher: a set of STIX indicators against a stream of observations.
//!
//! Main types:
//! - [`MatcherBuilder`]: takes indicator objects ([`MatcherBuilder::add`]); an indicator whose
//!   pattern is invalid is reported as a [`Skipped`] with its id and left out.
//! - [`Matcher`]: the compiled index. [`Matcher::match_record`] takes one
//!   [`cairn_formats::Record`] and appends a [`Hit`] per indicator that matches.
//! - [`Options`]: bounds of the streaming state.
//!
//! # How a record is matched
//! Every bracketed comparison expression of every pattern is reduced to *anchors*
//! (`anchors.rs`): necessary conditions on the record's flat facts — an exact value at a
//! (type, path) slot, an address within a CIDR, a literal contained in the value (from `LIKE`
//! and `MATCHES`), or, when nothing narrower is known (negations, ordering, binary values,
//! deep reference paths), the mere presence of an object type. The index holds
//! - a hash map from hash(slot, value) to chained indicator ids (exact values, `IN` members),
//! - per slot, a binary prefix trie for IPv4 and one for IPv6 (`ISSUBSET` networks),
//! - one Aho-Corasick automaton over all required literals (`LIKE`/`MATCHES` prefilters),
//! - a map from object type to indicators anchored on presence only.
//!
//! In front of the exact-value map sits a split-block Bloom filter (12 bits per key, one 32-byte
//! block per lookup), so most facts that match nothing never touch the large map. Facts of SCO
//! types that no slot uses are skipped without being visited
//! ([`cairn_formats::Record::for_each_fact_where`]); a fact of a used type with built-in
//! (static) names finds its slot through a small memo keyed by the names' addresses, so it costs
//! no string building or hashing of the slot name. The indicators selected this way
//! are *candidates*; each is confirmed by the full evaluator of `cairn-pattern`
//! ([`cairn_pattern::Pattern::matches`]) on the record's STIX observation, so a hit is exactly
//! what the evaluator says. Patterns are kept as text and parsed when first a candidate (a
//! bounded cache keeps the parsed ones).
//!
//! When every slot holds exact values only and no indicator is anchored on type presence,
//! [`Matcher::prefilter`] runs that first step before a record exists: as a
//! [`cairn_formats::FactFilter`] it takes the facts a reader probes from a line, probes their
//! keys in the Bloom filter, and asks for the record (then matched by
//! [`Matcher::match_record`]) only when one may be indexed; the other records are counted
//! without being built. Hits are the same as matching every record.
//!
//! # Multi-observation patterns
//! Patterns other than one bracketed expression without qualifier (observation `AND`, `OR`,
//! `FOLLOWEDBY`, `REPEATS`, `WITHIN`, `START/STOP`) keep, per pattern, the last
//! [`Options::max_partial`] records that satisfied one of their bracketed expressions. Eviction
//! rule: a record is dropped when it is older than the pattern's outermost `WITHIN` window
//! (or [`Options::horizon_micros`] without one) relative to the newest record time seen, or when
//! the buffer is full (oldest first). After each addition the whole pattern is evaluated over
//! the buffer; on a hit the buffer is emptied, so one set of records is reported once.
//!
//! # Validity
//! Revoked indicators are not indexed. An indicator does not match a record whose time is at or
//! after its `valid_until`; records without a time are not checked against `valid_until`.
//! `valid_from` is not applied (logs older than an indicator are matched: retro-hunting).

mod anchors;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use aho_corasick::AhoCorasick;
use cairn_formats::{Fact, FactFilter, FactValue, Record, RecordInfo};
use cairn_pattern::{Net, ObservationExpr, Pattern, PatternError, Qualifier};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use anchors::{Anchor, Scalar};

/// Fixed seed: the index layout does not depend on the process.
const SEED: u64 = 0x5eed_ca12_0000_0001;

fn hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(SEED)
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

const NONE: u32 = u32::MAX;

/// Bounds of the matcher's state.
#[derive(Debug, Clone)]
pub struct Options {
    /// At most this many partial-match records are kept per multi-observation pattern.
    pub max_partial: usize,
    /// How long partial matches of a multi-observation pattern without `WITHIN` are kept,
    /// in microseconds of record time.
    pub horizon_micros: i64,
    /// How many parsed single-observation patterns are kept (the cache is emptied when full).
    pub parse_cache: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_partial: 64,
            horizon_micros: 3_600_000_000,
            parse_cache: 65_536,
        }
    }
}

/// Why an indicator was left out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SkipReason {
    #[error("invalid pattern: {0}")]
    InvalidPattern(PatternError),
    #[error("pattern_type {0:?} is not stix")]
    PatternType(String),
    #[error("no pattern")]
    NoPattern,
    #[error("revoked")]
    Revoked,
    #[error("valid_until {0:?} is not a timestamp")]
    BadValidUntil(String),
}

/// An indicator [`MatcherBuilder::add`] did not index.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("indicator {id}: {reason}")]
pub struct Skipped {
    pub id: String,
    pub reason: SkipReason,
}

/// Index of an indicator in a [`Matcher`].
pub type IndicatorIdx = u32;

/// One match.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub indicator: IndicatorIdx,
    /// Position of the record that completed the match.
    pub position: u64,
    /// Its time (microseconds since the epoch).
    pub time: Option<i64>,
    /// The facts of the record that selected the indicator: (SCO type, property path, value).
    /// Empty when the indicator was selected by object type only.
    pub matched: Vec<(String, String, Value)>,
    /// Records involved (1 for single-observation patterns): (position, time).
    pub records: Vec<(u64, Option<i64>)>,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    /// `valid_until` in microseconds (`i64::MAX` when absent).
    valid_until: i64,
    text_start: u32,
    text_len: u32,
    /// Index into the id arena.
    id_start: u32,
    id_len: u16,
    /// `NONE` for single-observation patterns, else index into `streams`.
    stream: u32,
}

#[derive(Debug, Clone, Copy)]
struct Link {
    ind: u32,
    next: u32,
}

#[derive(Debug, Clone, Copy)]
struct LitLink {
    ind: u32,
    slot: u64,
    next: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    exact: bool,
    literal: bool,
    trie4: u32,
    trie6: u32,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    child: [u32; 2],
    head: u32,
}

/// A binary trie of networks; each node holds the chain of indicators whose network ends there.
#[derive(Debug, Clone)]
struct Trie {
    bits: u32,
    nodes: Vec<Node>,
}

impl Trie {
    fn new(bits: u32) -> Trie {
        Trie {
            bits,
            nodes: vec![Node {
                child: [NONE; 2],
                head: NONE,
            }],
        }
    }

    fn node_for(&mut self, net: &Net) -> usize {
        let mut n = 0usize;
        for i in 0..u32::from(net.prefix) {
            let bit = ((net.addr >> (self.bits - 1 - i)) & 1) as usize;
            let c = self.nodes[n].child[bit];
            n = if c == NONE {
                self.nodes.push(Node {
                    child: [NONE; 2],
                    head: NONE,
                });
                let id = (self.nodes.len() - 1) as u32;
                self.nodes[n].child[bit] = id;
                id as usize
            } else {
                c as usize
            };
        }
        n
    }

    /// Call `f` with the chain head of every network that contains `net`.
    fn containing(&self, net: &Net, mut f: impl FnMut(u32)) {
        let mut n = 0usize;
        for i in 0..=u32::from(net.prefix) {
            let head = self.nodes[n].head;
            if head != NONE {
                f(head);
            }
            if i == u32::from(net.prefix) {
                break;
            }
            let bit = ((net.addr >> (self.bits - 1 - i)) & 1) as usize;
            let c = self.nodes[n].child[bit];
            if c == NONE {
                break;
            }
            n = c as usize;
        }
    }
}

/// A record kept for a multi-observation pattern.
#[derive(Debug, Clone)]
struct Partial {
    position: u64,
    time: Option<i64>,
    first_ns: i128,
    last_ns: i128,
    count: u64,
    objects: Vec<Value>,
}

#[derive(Debug)]
struct Stream {
    pattern: Pattern,
    /// Each bracketed expression as a pattern of its own (`None` when it cannot be rebuilt:
    /// then every candidate record is kept).
    leaves: Vec<Option<Pattern>>,
    window: i64,
    buf: VecDeque<Partial>,
}

/// A split-block Bloom filter over the keys of the exact-value map: most facts of a record
/// match no indicator, and this small bit array (about [`FILTER_BITS_PER_KEY`] bits per key,
/// one 32-byte block touched per lookup) answers "surely absent" for them without touching the
/// large hash map. It has no false negatives, so it never hides a candidate.
#[derive(Debug, Clone, Default)]
struct ExactFilter {
    blocks: Vec<[u32; 8]>,
}

/// Bits of [`ExactFilter`] per exact key (about 0.5% false positives).
const FILTER_BITS_PER_KEY: usize = 12;

const FILTER_SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

impl ExactFilter {
    fn new<'k>(keys: impl ExactSizeIterator<Item = &'k u64>) -> ExactFilter {
        let n = keys.len();
        if n == 0 {
            return ExactFilter::default();
        }
        let blocks = (n * FILTER_BITS_PER_KEY).div_ceil(256).max(1);
        let mut f = ExactFilter {
            blocks: vec![[0u32; 8]; blocks],
        };
        for &k in keys {
            let (b, mask) = f.block_and_mask(k);
            for (w, m) in f.blocks[b].iter_mut().zip(mask) {
                *w |= m;
            }
        }
        f
    }

    #[inline]
    fn block_and_mask(&self, key: u64) -> (usize, [u32; 8]) {
        // Keys are already hashes: the high half picks the block, the low half the bits.
        let b = (((key >> 32) * self.blocks.len() as u64) >> 32) as usize;
        let x = key as u32;
        let mut mask = [0u32; 8];
        for (m, salt) in mask.iter_mut().zip(FILTER_SALT) {
            *m = 1u32 << (x.wrapping_mul(salt) >> 27);
        }
        (b, mask)
    }

    /// False when `key` is surely not in the map.
    #[inline]
    fn may_contain(&self, key: u64) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let (b, mask) = self.block_and_mask(key);
        let block = &self.blocks[b];
        block.iter().zip(mask).all(|(w, m)| w & m != 0)
    }

    fn bytes(&self) -> usize {
        self.blocks.capacity() * 32
    }
}

/// Slot of a (type, path) name as the index knows it: its hash and, when some pattern uses it,
/// what the index holds for it.
type SlotInfo = (u64, Option<Slot>);

/// One entry of the direct-mapped memo of slot lookups for facts with static names, keyed by
/// the addresses and lengths of the names.
#[derive(Debug, Clone, Copy)]
struct MemoEntry {
    key: [u64; 3],
    info: SlotInfo,
}

const MEMO_SIZE: usize = 1024;

/// Adds indicators and builds a [`Matcher`].
pub struct MatcherBuilder {
    options: Options,
    metas: Vec<Meta>,
    text: String,
    ids: String,
    exact: IdMap<u32>,
    links: Vec<Link>,
    slots: IdMap<Slot>,
    slot_types: Vec<String>,
    tries: Vec<Trie>,
    literals: Vec<String>,
    literal_ids: HashMap<String, u32>,
    lit_heads: Vec<u32>,
    lit_links: Vec<LitLink>,
    types: IdMap<u32>,
    streams: Vec<Stream>,
}

fn hash_str(s: &str) -> u64 {
    hasher().hash_one(s)
}

fn value_key(slot: u64, v: &Scalar) -> u64 {
    match v {
        Scalar::Str(s) => hasher().hash_one((slot, 1u8, s.as_str())),
        Scalar::Int(i) => hasher().hash_one((slot, 2u8, *i)),
        Scalar::FloatBits(b) => hasher().hash_one((slot, 3u8, *b)),
        Scalar::Bool(b) => hasher().hash_one((slot, 4u8, *b)),
    }
}

fn fact_key(slot: u64, v: &FactValue<'_>) -> u64 {
    match *v {
        FactValue::Str(s) => hasher().hash_one((slot, 1u8, s)),
        FactValue::Int(i) => hasher().hash_one((slot, 2u8, i128::from(i))),
        FactValue::Float(f) => match Scalar::from_f64(f) {
            Scalar::Int(i) => hasher().hash_one((slot, 2u8, i)),
            other => value_key(slot, &other),
        },
        FactValue::Bool(b) => hasher().hash_one((slot, 4u8, b)),
    }
}

/// The outermost `WITHIN` of a pattern, in microseconds.
fn within_micros(e: &ObservationExpr) -> Option<i64> {
    match e {
        ObservationExpr::Qualified(inner, Qualifier::Within { nanos, .. }) => {
            let own = i64::try_from(*nanos / 1000).unwrap_or(i64::MAX);
            Some(within_micros(inner).map_or(own, |i| i.max(own)))
        }
        ObservationExpr::Qualified(inner, _) => within_micros(inner),
        _ => None,
    }
}

impl Default for MatcherBuilder {
    fn default() -> Self {
        MatcherBuilder::new(Options::default())
    }
}

impl MatcherBuilder {
    pub fn new(options: Options) -> MatcherBuilder {
        MatcherBuilder {
            options,
            metas: Vec::new(),
            text: String::new(),
            ids: String::new(),
            exact: IdMap::default(),
            links: Vec::new(),
            slots: IdMap::default(),
            slot_types: Vec::new(),
            tries: Vec::new(),
            literals: Vec::new(),
            literal_ids: HashMap::new(),
            lit_heads: Vec::new(),
            lit_links: Vec::new(),
            types: IdMap::default(),
            streams: Vec::new(),
        }
    }

    /// Number of indicators added.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// Add one STIX object. Objects that are not indicators are ignored (`Ok(None)`); an
    /// indexed indicator gives `Ok(Some(index))`; an indicator left out gives `Err`.
    pub fn add(&mut self, obj: &Value) -> Result<Option<IndicatorIdx>, Skipped> {
        if obj.get("type").and_then(Value::as_str) != Some("indicator") {
            return Ok(None);
        }
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let skip = |reason| {
            Err(Skipped {
                id: id.clone(),
                reason,
            })
        };
        if obj.get("revoked").and_then(Value::as_bool) == Some(true) {
            return skip(SkipReason::Revoked);
        }
        match obj.get("pattern_type").and_then(Value::as_str) {
            None | Some("stix") => {}
            Some(other) => return skip(SkipReason::PatternType(other.to_string())),
        }
        let Some(text) = obj.get("pattern").and_then(Value::as_str) else {
            return skip(SkipReason::NoPattern);
        };
        let valid_until = match obj.get("valid_until").and_then(Value::as_str) {
            None => i64::MAX,
            Some(v) => match cairn_formats::parse_time(v) {
                Some(t) => t,
                None => return skip(SkipReason::BadValidUntil(v.to_string())),
            },
        };
        let pattern = match Pattern::validate(text) {
            Ok(p) => p,
            Err(e) => return skip(SkipReason::InvalidPattern(e)),
        };
        Ok(Some(self.add_pattern(&id, pattern, valid_until)))
    }

    /// Add a parsed pattern under an id.
    pub fn add_pattern(&mut self, id: &str, pattern: Pattern, valid_until: i64) -> IndicatorIdx {
        let ind = self.metas.len() as u32;
        let text_start = self.text.len() as u32;
        self.text.push_str(pattern.source());
        let id_start = self.ids.len() as u32;
        let id = &id[..id.len().min(u16::MAX as usize)];
        self.ids.push_str(id);
        let leaves = anchors::leaves(pattern.root());
        let mut all: Vec<Anchor> = Vec::new();
        for leaf in &leaves {
            for a in anchors::expr_anchors(leaf) {
                if !all.contains(&a) {
                    all.push(a);
                }
            }
        }
        let stream = if matches!(pattern.root(), ObservationExpr::Comparison(_)) {
            NONE
        } else {
            let leaf_patterns = leaves
                .iter()
                .map(|l| {
                    anchors::leaf_text(pattern.source(), l).and_then(|t| Pattern::parse(&t).ok())
                })
                .collect();
            let window = within_micros(pattern.root()).unwrap_or(self.options.horizon_micros);
            self.streams.push(Stream {
                pattern: pattern.clone(),
                leaves: leaf_patterns,
                window,
                buf: VecDeque::new(),
            });
            (self.streams.len() - 1) as u32
        };
        self.metas.push(Meta {
            valid_until,
            text_start,
            text_len: (self.text.len() as u32) - text_start,
            id_start,
            id_len: id.len() as u16,
            stream,
        });
        for a in all {
            self.index_anchor(ind, a);
        }
        ind
    }

    fn slot(&mut self, name: &str) -> (u64, &mut Slot) {
        let h = hash_str(name);
        let ty = name.split('\0').next().unwrap_or(name);
        if !self.slot_types.iter().any(|t| t == ty) {
            self.slot_types.push(ty.to_string());
        }
        (
            h,
            self.slots.entry(h).or_insert(Slot {
                exact: false,
                literal: false,
                trie4: NONE,
                trie6: NONE,
            }),
        )
    }

    fn index_anchor(&mut self, ind: u32, a: Anchor) {
        match a {
            Anchor::Exact { slot, value } => {
                let (h, s) = self.slot(&slot);
                s.exact = true;
                let key = value_key(h, &value);
                let head = self.exact.entry(key).or_insert(NONE);
                self.links.push(Link { ind, next: *head });
                *head = (self.links.len() - 1) as u32;
            }
            Anchor::Cidr { slot, net } => {
                let n_tries = self.tries.len() as u32;
                let (_, s) = self.slot(&slot);
                let t = if net.v6 { &mut s.trie6 } else { &mut s.trie4 };
                let created = *t == NONE;
                if created {
                    *t = n_tries;
                }
                let ti = *t as usize;
                if created {
                    self.tries.push(Trie::new(if net.v6 { 128 } else { 32 }));
                }
                let node = self.tries[ti].node_for(&net);
                self.links.push(Link {
                    ind,
                    next: self.tries[ti].nodes[node].head,
                });
                self.tries[ti].nodes[node].head = (self.links.len() - 1) as u32;
            }
            Anchor::Literal { slot, literal } => {
                let (h, s) = self.slot(&slot);
                s.literal = true;
                let lid = match self.literal_ids.get(&literal) {
                    Some(l) => *l,
                    None => {
                        let l = self.literals.len() as u32;
                        self.literal_ids.insert(literal.clone(), l);
                        self.literals.push(literal);
                        self.lit_heads.push(NONE);
                        l
                    }
                };
                self.lit_links.push(LitLink {
                    ind,
                    slot: h,
                    next: self.lit_heads[lid as usize],
                });
                self.lit_heads[lid as usize] = (self.lit_links.len() - 1) as u32;
            }
            Anchor::Type(t) => {
                let head = self.types.entry(hash_str(&t)).or_insert(NONE);
                self.links.push(Link { ind, next: *head });
                *head = (self.links.len() - 1) as u32;
            }
        }
    }

    /// Compile the index.
    pub fn build(self) -> Matcher {
        let automaton = if self.literals.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&self.literals).expect("literal automaton within limits"))
        };
        let exact_filter = ExactFilter::new(self.exact.keys());
        let exact_only = self
            .slots
            .values()
            .all(|s| !s.literal && s.trie4 == NONE && s.trie6 == NONE);
        let mut m = Matcher {
            options: self.options,
            metas: self.metas,
            text: self.text,
            ids: self.ids,
            exact_filter,
            memo: vec![None; MEMO_SIZE],
            exact: self.exact,
            links: self.links,
            slots: self.slots,
            slot_types: self.slot_types,
            tries: self.tries,
            automaton,
            lit_heads: self.lit_heads,
            lit_links: self.lit_links,
            types: self.types,
            streams: self.streams,
            cache: HashMap::new(),
            newest: i64::MIN,
            cands: Vec::new(),
            facts: Vec::new(),
            keys: Vec::new(),
            exact_only,
            type_memo: Vec::new(),
            key_buf: String::new(),
            nfc_buf: String::new(),
            stats: MatchStats::default(),
        };
        m.shrink();
        m
    }
}

/// [`Matcher::prefilter`]: the matcher's first pass (exact keys against the Bloom filter) over
/// the facts a reader reports, before any record is built.
pub struct Prefilter<'m> {
    m: &'m mut Matcher,
}

impl FactFilter for Prefilter<'_> {
    #[inline]
    fn wants(&mut self, sco_type: &'static str) -> bool {
        self.m.wants_type(sco_type)
    }

    #[inline]
    fn fact(&mut self, fact: &Fact<'_>) {
        // Every slot is exact-only here (see `Matcher::prefilter`).
        if let (slot_hash, Some(slot)) = self.m.lookup_slot(fact)
            && slot.exact
        {
            self.m.keys.push(fact_key(slot_hash, &fact.value));
        }
    }

    fn needs_record(&mut self, record: RecordInfo) -> bool {
        let m = &mut *self.m;
        let any = m
            .keys
            .iter()
            .fold(false, |any, &k| any | m.exact_filter.may_contain(k));
        m.keys.clear();
        if !any {
            m.note_record(record.time, record.time_end);
        }
        any
    }

    fn discard(&mut self) {
        self.m.keys.clear();
    }
}

/// Counters of a [`Matcher`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MatchStats {
    pub records: u64,
    /// Candidates handed to the evaluator.
    pub candidates: u64,
    pub hits: u64,
    /// Candidates refused because the record is at or after the indicator's `valid_until`.
    pub expired: u64,
}

/// The compiled index (see the crate documentation).
pub struct Matcher {
    options: Options,
    metas: Vec<Meta>,
    text: String,
    ids: String,
    exact_filter: ExactFilter,
    memo: Vec<Option<MemoEntry>>,
    exact: IdMap<u32>,
    links: Vec<Link>,
    slots: IdMap<Slot>,
    /// SCO types of the slots: facts of other types cannot select an indicator.
    slot_types: Vec<String>,
    tries: Vec<Trie>,
    automaton: Option<AhoCorasick>,
    lit_heads: Vec<u32>,
    lit_links: Vec<LitLink>,
    types: IdMap<u32>,
    streams: Vec<Stream>,
    cache: HashMap<u32, Pattern>,
    newest: i64,
    cands: Vec<(u32, u32)>,
    facts: Vec<(String, String, Value)>,
    /// Exact-value keys of the record being matched (first pass).
    keys: Vec<u64>,
    /// No slot holds a CIDR trie or a literal: the first (exact keys only) pass applies.
    exact_only: bool,
    /// Memo of [`Matcher::wants_type`] for built-in type names: (address, length, wanted).
    type_memo: Vec<(usize, usize, bool)>,
    key_buf: String,
    nfc_buf: String,
    stats: MatchStats,
}

impl Matcher {
    fn shrink(&mut self) {
        self.metas.shrink_to_fit();
        self.text.shrink_to_fit();
        self.ids.shrink_to_fit();
        self.exact.shrink_to_fit();
        self.links.shrink_to_fit();
        self.slots.shrink_to_fit();
        self.lit_links.shrink_to_fit();
        for t in &mut self.tries {
            t.nodes.shrink_to_fit();
        }
    }

    /// Number of indexed indicators.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// The id of an indicator.
    pub fn indicator_id(&self, i: IndicatorIdx) -> &str {
        let m = &self.metas[i as usize];
        &self.ids[m.id_start as usize..m.id_start as usize + m.id_len as usize]
    }

    /// The pattern text of an indicator.
    pub fn pattern_text(&self, i: IndicatorIdx) -> &str {
        let m = &self.metas[i as usize];
        &self.text[m.text_start as usize..(m.text_start + m.text_len) as usize]
    }

    /// Whether an indicator spans several observations (kept in streaming state).
    pub fn is_multi_observation(&self, i: IndicatorIdx) -> bool {
        self.metas[i as usize].stream != NONE
    }

    /// Bytes of pattern text held.
    pub fn pattern_text_bytes(&self) -> usize {
        self.text.len()
    }

    /// Counters so far.
    pub fn stats(&self) -> MatchStats {
        self.stats
    }

    /// Count a record and advance the newest record time (the clock of the streaming state).
    #[inline]
    fn note_record(&mut self, time: Option<i64>, time_end: Option<i64>) {
        self.stats.records += 1;
        if let Some(t) = time {
            self.newest = self.newest.max(time_end.unwrap_or(t).max(t));
        }
    }

    /// The matcher as a [`FactFilter`] for [`cairn_formats::LogReader::next_record_filtered`]:
    /// it collects the exact-value keys of a line's facts and needs the record only when one of
    /// them passes the Bloom filter, so that most records are never built. A record it passes
    /// over is counted and advances the streaming clock as [`Matcher::match_record`] would;
    /// since it could select no indicator, matching it would have given no hit. `None` when
    /// some slot holds CIDRs or literals or some indicator is anchored on an object type only:
    /// then every record needs [`Matcher::match_record`].
    pub fn prefilter(&mut self) -> Option<Prefilter<'_>> {
        (self.exact_only && self.types.is_empty()).then_some(Prefilter { m: self })
    }

    /// Whether facts of SCOs of this built-in type can select an indicator (memoized by the
    /// name's address).
    #[inline]
    fn wants_type(&mut self, t: &'static str) -> bool {
        let key = (t.as_ptr() as usize, t.len());
        if let Some(&(_, _, w)) = self.type_memo.iter().find(|e| (e.0, e.1) == key) {
            return w;
        }
        let w = self.slot_types.iter().any(|s| s == t);
        if self.type_memo.len() < 64 {
            self.type_memo.push((key.0, key.1, w));
        }
        w
    }

    /// Match one record; hits are appended to `out` in indicator order.
    pub fn match_record(&mut self, rec: &Record, out: &mut Vec<Hit>) {
        self.note_record(rec.time, rec.time_end);
        self.cands.clear();
        self.facts.clear();
        let mut cands = std::mem::take(&mut self.cands);
        let mut facts = std::mem::take(&mut self.facts);
        let slot_types = std::mem::take(&mut self.slot_types);
        // First pass: only the exact-value keys of the record. When no slot needs more than an
        // exact lookup and no key passes the Bloom filter (most records), nothing can match;
        // the filter probes run back to back, so their cache misses overlap.
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        // With CIDR or literal slots most records need the full pass anyway: go straight to it.
        let mut full = !self.exact_only;
        if !full {
            rec.for_each_fact_where(
                |t| slot_types.iter().any(|s| s == t),
                |f| {
                    if full {
                        return;
                    }
                    let (slot_hash, slot) = self.lookup_slot(&f);
                    let Some(slot) = slot else { return };
                    if slot.trie4 != NONE || slot.trie6 != NONE || slot.literal {
                        full = true;
                    } else if slot.exact {
                        keys.push(fact_key(slot_hash, &f.value));
                    }
                },
            );
        }
        if !full {
            full = keys
                .iter()
                .fold(false, |any, &k| any | self.exact_filter.may_contain(k));
        }
        // Left empty: `Prefilter` collects the next line's keys into the same buffer.
        keys.clear();
        self.keys = keys;
        // Second pass, when something may match: candidates with the facts that selected them.
        if full {
            rec.for_each_fact_where(
                |t| slot_types.iter().any(|s| s == t),
                |f| self.candidates_of_fact(&f, &mut cands, &mut facts),
            );
        }
        self.slot_types = slot_types;
        if !self.types.is_empty() {
            let mut seen: Vec<u64> = Vec::new();
            for i in 0..rec.sco_count() {
                let h = hash_str(rec.sco_type(i as u32));
                if seen.contains(&h) {
                    continue;
                }
                seen.push(h);
                if let Some(&head) = self.types.get(&h) {
                    let mut l = head;
                    while l != NONE {
                        cands.push((self.links[l as usize].ind, NONE));
                        l = self.links[l as usize].next;
                    }
                }
            }
        }
        if !cands.is_empty() {
            cands.sort_unstable();
            cands.dedup();
            self.confirm(rec, &cands, &facts, out);
        }
        self.cands = cands;
        self.facts = facts;
    }

    /// The slot of a fact's (type, path): hashed from its text and looked up in the index.
    fn slot_info(&mut self, f: &Fact<'_>) -> SlotInfo {
        self.key_buf.clear();
        self.key_buf.push_str(f.sco_type);
        self.key_buf.push('\0');
        self.key_buf.push_str(f.path);
        if let Some(sub) = f.sub {
            self.key_buf.push('.');
            self.key_buf.push_str(sub);
        }
        let slot_hash = hash_str(&self.key_buf);
        (slot_hash, self.slots.get(&slot_hash).copied())
    }

    /// The slot of a fact, through the memo when its names are static.
    #[inline]
    fn lookup_slot(&mut self, f: &Fact<'_>) -> SlotInfo {
        // A static name is identified by its address and length, packed in one word (user-space
        // addresses fit 48 bits; longer names or higher addresses skip the memo).
        let word = |s: &str| {
            let (p, l) = (s.as_ptr() as u64, s.len() as u64);
            (p < 1 << 48 && l < 1 << 16).then_some(p | l << 48)
        };
        let memo_key = if f.static_names {
            match (word(f.sco_type), word(f.path), f.sub.map_or(Some(0), word)) {
                (Some(t), Some(p), Some(s)) => Some([t, p, s]),
                _ => None,
            }
        } else {
            None
        };
        if let Some(key) = memo_key {
            let h = (key[0].wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ key[1])
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ key[2];
            let i = (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % MEMO_SIZE;
            match self.memo[i] {
                Some(e) if e.key == key => e.info,
                _ => {
                    let info = self.slot_info(f);
                    self.memo[i] = Some(MemoEntry { key, info });
                    info
                }
            }
        } else {
            self.slot_info(f)
        }
    }

    fn candidates_of_fact(
        &mut self,
        f: &Fact<'_>,
        cands: &mut Vec<(u32, u32)>,
        facts: &mut Vec<(String, String, Value)>,
    ) {
        let (slot_hash, slot) = self.lookup_slot(f);
        let Some(slot) = slot else {
            return;
        };
        let before = cands.len();
        if slot.exact
            && let key = fact_key(slot_hash, &f.value)
            && self.exact_filter.may_contain(key)
            && let Some(&head) = self.exact.get(&key)
        {
            let mut l = head;
            while l != NONE {
                cands.push((self.links[l as usize].ind, facts.len() as u32));
                l = self.links[l as usize].next;
            }
        }
        if let FactValue::Str(s) = f.value {
            if (slot.trie4 != NONE || slot.trie6 != NONE)
                && let Some(net) = Net::parse(s)
            {
                let t = if net.v6 { slot.trie6 } else { slot.trie4 };
                if t != NONE {
                    let links = &self.links;
                    self.tries[t as usize].containing(&net, |head| {
                        let mut l = head;
                        while l != NONE {
                            cands.push((links[l as usize].ind, facts.len() as u32));
                            l = links[l as usize].next;
                        }
                    });
                }
            }
            if slot.literal
                && let Some(ac) = &self.automaton
            {
                let hay: &str = if s.is_ascii() {
                    s
                } else {
                    self.nfc_buf.clear();
                    self.nfc_buf.extend(s.nfc());
                    &self.nfc_buf
                };
                for m in ac.find_overlapping_iter(hay) {
                    let mut l = self.lit_heads[m.pattern().as_usize()];
                    while l != NONE {
                        let link = self.lit_links[l as usize];
                        if link.slot == slot_hash {
                            cands.push((link.ind, facts.len() as u32));
                        }
                        l = link.next;
                    }
                }
            }
        }
        if cands.len() > before {
            let path = f.full_path();
            facts.push((f.sco_type.to_string(), path, f.value.to_json()));
        }
    }

    fn confirm(
        &mut self,
        rec: &Record,
        cands: &[(u32, u32)],
        facts: &[(String, String, Value)],
        out: &mut Vec<Hit>,
    ) {
        let obs = rec.observation();
        let first_ns = i128::from(rec.time.unwrap_or(0)) * 1000;
        let last_ns = i128::from(
            rec.time_end
                .unwrap_or(rec.time.unwrap_or(0))
                .max(rec.time.unwrap_or(0)),
        ) * 1000;
        let observation = cairn_pattern::Observation::new(
            first_ns,
            last_ns,
            obs.number_observed,
            obs.objects.iter(),
        );
        let mut i = 0;
        while i < cands.len() {
            let ind = cands[i].0;
            let mut matched: Vec<(String, String, Value)> = Vec::new();
            while i < cands.len() && cands[i].0 == ind {
                if cands[i].1 != NONE {
                    let f = &facts[cands[i].1 as usize];
                    if !matched.contains(f) {
                        matched.push(f.clone());
                    }
                }
                i += 1;
            }
            let meta = self.metas[ind as usize];
            if let Some(t) = rec.time
                && t >= meta.valid_until
            {
                self.stats.expired += 1;
                continue;
            }
            self.stats.candidates += 1;
            if meta.stream == NONE {
                if !self.cache.contains_key(&ind) {
                    if self.cache.len() >= self.options.parse_cache.max(1) {
                        self.cache.clear();
                    }
                    let text = self.pattern_text(ind).to_string();
                    let Ok(p) = Pattern::parse(&text) else {
                        continue;
                    };
                    self.cache.insert(ind, p);
                }
                if self.cache[&ind].matches(std::slice::from_ref(&observation)) {
                    self.stats.hits += 1;
                    out.push(Hit {
                        indicator: ind,
                        position: rec.position,
                        time: rec.time,
                        matched,
                        records: vec![(rec.position, rec.time)],
                    });
                }
            } else {
                let max_partial = self.options.max_partial.max(1);
                let newest = self.newest;
                let st = &mut self.streams[meta.stream as usize];
                let relevant = st.leaves.iter().any(|l| match l {
                    Some(p) => p.matches(std::slice::from_ref(&observation)),
                    None => true,
                });
                if !relevant {
                    continue;
                }
                // Eviction: older than the window relative to the newest time seen, then size.
                if newest != i64::MIN {
                    let limit = newest.saturating_sub(st.window);
                    st.buf.retain(|p| {
                        p.time.is_none_or(|t| t >= limit) || p.last_ns / 1000 >= i128::from(limit)
                    });
                }
                while st.buf.len() >= max_partial {
                    st.buf.pop_front();
                }
                st.buf.push_back(Partial {
                    position: rec.position,
                    time: rec.time,
                    first_ns,
                    last_ns,
                    count: obs.number_observed,
                    objects: obs.objects.clone(),
                });
                let observations: Vec<cairn_pattern::Observation<'_>> = st
                    .buf
                    .iter()
                    .map(|p| {
                        cairn_pattern::Observation::new(
                            p.first_ns,
                            p.last_ns,
                            p.count,
                            p.objects.iter(),
                        )
                    })
                    .collect();
                if st.pattern.matches(&observations) {
                    let records = st.buf.iter().map(|p| (p.position, p.time)).collect();
                    st.buf.clear();
                    self.stats.hits += 1;
                    out.push(Hit {
                        indicator: ind,
                        position: rec.position,
                        time: rec.time,
                        matched,
                        records,
                    });
                }
            }
        }
    }

    /// Partial-match records currently held for multi-observation patterns.
    pub fn partial_records(&self) -> usize {
        self.streams.iter().map(|s| s.buf.len()).sum()
    }

    /// An estimate of the heap bytes of the index, pattern text and ids excluded.
    pub fn index_bytes(&self) -> usize {
        use std::mem::size_of;
        let map = |cap: usize, entry: usize| cap * (entry + 1);
        self.metas.capacity() * size_of::<Meta>()
            + map(self.exact.capacity(), 12)
            + self.exact_filter.bytes()
            + self.links.capacity() * size_of::<Link>()
            + map(self.slots.capacity(), 8 + size_of::<Slot>())
            + self
                .tries
                .iter()
                .map(|t| t.nodes.capacity() * size_of::<Node>())
                .sum::<usize>()
            + self.lit_links.capacity() * size_of::<LitLink>()
            + self.lit_heads.capacity() * 4
            + self.automaton.as_ref().map_or(0, AhoCorasick::memory_usage)
            + map(self.types.capacity(), 12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_filter_has_no_false_negatives_and_few_false_positives() {
        let keys: Vec<u64> = (0..50_000u64).map(|i| hash_str(&format!("k{i}"))).collect();
        let f = ExactFilter::new(keys.iter());
        assert!(keys.iter().all(|&k| f.may_contain(k)));
        let probes = 100_000u64;
        let false_pos = (0..probes)
            .filter(|i| f.may_contain(hash_str(&format!("absent{i}"))))
            .count();
        // About 0.5% expected at 12 bits per key; 3% would mean a broken bit selection.
        assert!(
            false_pos < (probes as usize) * 3 / 100,
            "{false_pos} false positives"
        );
        assert!(!ExactFilter::new([].iter()).may_contain(keys[0]));
    }
}
