//! Prepared literals: `LIKE` patterns in NFC, `MATCHES` regexes (literal-only ones recognised at
//! parse time and answered by string comparison; others compiled on first use, in a
//! Unicode-free form for ASCII values where that is equivalent), networks for
//! `ISSUBSET`/`ISSUPERSET`.
//!
//! Compiled regexes are kept with the pattern and, process-wide, in a bounded cache keyed by
//! the regex text ([`REGEX_CACHE_SIZE`] entries, the oldest dropped first), so a regex that
//! comes back in another pattern is not built again. This is the same bound and eviction as
//! Python's `re` module cache (512 entries, first in first out), which the OASIS reference
//! matcher relies on. Only compiled regexes are cached, never results of a match.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::ast::ComparisonOp;
use crate::program::{Node, Program, RegexSlot, Span};

/// Most compiled regexes kept process-wide (over the three forms: text, ASCII, bytes).
pub const REGEX_CACHE_SIZE: usize = 512;

type MetaRegex = regex_automata::meta::Regex;

#[derive(Default)]
struct RegexCache {
    text: HashMap<Box<str>, Arc<Result<MetaRegex, String>>>,
    ascii: HashMap<Box<str>, Option<Arc<MetaRegex>>>,
    bytes: HashMap<Box<str>, Option<Arc<regex::bytes::Regex>>>,
    /// Insertion order over all three maps: (map, key).
    order: VecDeque<(u8, Box<str>)>,
}

static CACHE: Mutex<Option<RegexCache>> = Mutex::new(None);

/// Look `source` up in one map of the cache, building and inserting it on a miss (outside
/// the lock). At most [`REGEX_CACHE_SIZE`] entries are kept: the oldest goes first.
fn cached<V: Clone>(
    which: u8,
    map: fn(&mut RegexCache) -> &mut HashMap<Box<str>, V>,
    source: &str,
    build: impl FnOnce() -> V,
) -> V {
    {
        let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = guard.as_mut().and_then(|c| map(c).get(source)) {
            return v.clone();
        }
    }
    let v = build();
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let c = guard.get_or_insert_with(RegexCache::default);
    if map(c).contains_key(source) {
        return v;
    }
    while c.order.len() >= REGEX_CACHE_SIZE {
        let Some((w, k)) = c.order.pop_front() else {
            break;
        };
        match w {
            0 => {
                c.text.remove(&k);
            }
            1 => {
                c.ascii.remove(&k);
            }
            _ => {
                c.bytes.remove(&k);
            }
        }
    }
    map(c).insert(source.into(), v.clone());
    c.order.push_back((which, source.into()));
    v
}

fn build_text(source: &str) -> Arc<Result<MetaRegex, String>> {
    cached(
        0,
        |c| &mut c.text,
        source,
        || {
            Arc::new(
                regex_automata::meta::Builder::new()
                    .configure(regex_config())
                    .build(&format!("(?s){source}"))
                    .map_err(|e| e.to_string()),
            )
        },
    )
}

fn build_ascii(source: &str) -> Option<Arc<MetaRegex>> {
    cached(
        1,
        |c| &mut c.ascii,
        source,
        || {
            regex_automata::meta::Builder::new()
                .configure(regex_config())
                .syntax(
                    regex_automata::util::syntax::Config::new()
                        .unicode(false)
                        .utf8(false),
                )
                .build(&format!("(?s){source}"))
                .ok()
                .map(Arc::new)
        },
    )
}

/// Every pattern character stands for one byte (Latin-1 regexes only).
fn build_bytes(source: &str) -> Option<Arc<regex::bytes::Regex>> {
    cached(
        2,
        |c| &mut c.bytes,
        source,
        || {
            let mut b = String::from("(?s-u)");
            for c in source.chars() {
                if (c as u32) >= 128 {
                    b.push_str(&format!("\\x{:02X}", c as u32));
                } else {
                    b.push(c);
                }
            }
            regex::bytes::Regex::new(&b).ok().map(Arc::new)
        },
    )
}

fn is_latin1(s: &str) -> bool {
    s.is_ascii() || s.chars().all(|c| (c as u32) < 256)
}

/// `s` in NFC: the same span when it already is, else a normalized copy appended to the text.
fn nfc_span(prog: &mut Program, s: Span) -> Span {
    let text = prog.str(s);
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return s;
    }
    let normalized: String = prog.str(s).nfc().collect();
    let start = prog.text.len();
    prog.text.push_str(&normalized);
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(prog.text.len()).unwrap_or(u32::MAX),
    }
}

/// Push the prepared form of the string literal `s` of an `op` comparison, if it has one.
pub(crate) fn prepare(prog: &mut Program, op: ComparisonOp, s: Span) -> bool {
    match op {
        ComparisonOp::Matches => {
            let src = nfc_span(prog, s);
            let latin1 = is_latin1(prog.str(src));
            if !literal_regex(prog, src, latin1) {
                let slot = u32::try_from(prog.regexes.len()).unwrap_or(u32::MAX);
                prog.regexes.push(RegexSlot::default());
                prog.nodes.push(Node::Regex { src, slot, latin1 });
            }
            true
        }
        ComparisonOp::Like => {
            let span = nfc_span(prog, s);
            let latin1 = is_latin1(prog.str(span));
            prog.nodes.push(Node::Like { span, latin1 });
            true
        }
        ComparisonOp::IsSubset | ComparisonOp::IsSuperset => {
            let n = Net::parse(prog.str(s));
            prog.nodes.push(Node::Net {
                valid: n.is_some(),
                v6: n.is_some_and(|n| n.v6),
                prefix: n.map_or(0, |n| n.prefix),
                addr: n.map_or(0, |n| n.addr),
            });
            true
        }
        _ => false,
    }
}

/// Can `source` be run without Unicode over ASCII text, deciding exactly as it does with
/// Unicode? On an ASCII haystack every class, Perl class (`\\d`, `\\w`, `\\s`), word boundary,
/// negation and `(?i)` folding means the same with and without Unicode, as long as the
/// regex itself is ASCII, has no Unicode property classes (`\\p`, `\\P`, errors without
/// Unicode) and no flag groups other than `(?i)`, `(?i:` and `(?:` (so Unicode cannot be
/// switched off inside it). The regex must also be small enough ([`unicode_weight`]) for its
/// Unicode form to be sure to fit the regex size limit: a regex too large for it must keep
/// never matching.
fn ascii_equivalent(source: &str) -> bool {
    source.len() <= 256
        && source.is_ascii()
        && !source.contains("\\p")
        && !source.contains("\\P")
        && source.match_indices("(?").all(|(i, _)| {
            let rest = &source[i + 2..];
            rest.starts_with("i)") || rest.starts_with("i:") || rest.starts_with(':')
        })
        && unicode_weight(source).is_some_and(|w| w <= ASCII_REGEX_MAX_WEIGHT)
}

/// Largest [`unicode_weight`] run without Unicode. The largest Unicode classes (`\\w`, `\\W`)
/// fit the default size limit about 500 times over; this keeps a margin of four.
const ASCII_REGEX_MAX_WEIGHT: u64 = 128;

/// An upper bound on how many copies of classes and characters the compiled regex holds:
/// every atom (character, escape, bracket class) counts one, a group counts its contents,
/// `{n,m}` multiplies the item before it by its largest count (`{n,}` by `n + 1`); `*`, `+`
/// and `?` do not copy. `None` when the regex is not understood here (it then goes to the
/// Unicode engine).
fn unicode_weight(src: &str) -> Option<u64> {
    let b = src.as_bytes();
    let mut stack: Vec<u64> = Vec::new();
    let mut current: u64 = 0;
    let mut last: u64 = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        let item = match c {
            b'\\' => {
                let e = *b.get(i)?;
                i += 1;
                if matches!(e, b'x' | b'u' | b'U' | b'b' | b'B') && b.get(i) == Some(&b'{') {
                    return None;
                }
                1
            }
            b'[' => {
                // To the matching `]`: a `]` first (after an optional `^`) is literal, `[`
                // nests (`[[:alpha:]]`, set operations), escapes are skipped.
                let mut depth = 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    i += 1;
                }
                while depth > 0 {
                    match *b.get(i)? {
                        b'\\' => i += 1,
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                }
                1
            }
            b'(' => {
                if b.get(i) == Some(&b'?') {
                    // `(?i)`, `(?i:` or `(?:` (checked by the caller).
                    while !matches!(b.get(i), Some(b':' | b')')) {
                        i += 1;
                        b.get(i)?;
                    }
                    if b[i] == b')' {
                        i += 1;
                        continue;
                    }
                    i += 1;
                }
                stack.push(current);
                current = 0;
                continue;
            }
            b')' => {
                let inner = current;
                current = stack.pop()?;
                inner
            }
            b'{' => {
                let close = i + b[i..].iter().position(|x| *x == b'}')?;
                let body = std::str::from_utf8(&b[i..close]).ok()?;
                i = close + 1;
                let (lo, hi) = match body.split_once(',') {
                    Some((lo, "")) => (lo, None),
                    Some((lo, hi)) => (lo, Some(hi)),
                    None => (body, Some(body)),
                };
                let lo: u64 = lo.trim().parse().ok()?;
                let n = match hi {
                    Some(h) => h.trim().parse::<u64>().ok()?,
                    None => lo.saturating_add(1),
                };
                current = current.saturating_sub(last);
                last = last.saturating_mul(n.max(1));
                current = current.saturating_add(last);
                continue;
            }
            b'*' | b'+' | b'?' | b'|' | b'^' | b'$' => continue,
            _ => 1,
        };
        last = item;
        current = current.saturating_add(item);
    }
    stack.is_empty().then_some(current)
}

/// The regex engine configuration: the same engine as `regex::Regex`, without the DFAs
/// (full, one-pass and lazy) and explicit capture groups, whose construction would dominate
/// a single evaluation. Values are short, so the bounded backtracker and the PikeVM search
/// them quickly; only `is_match` is ever asked.
fn regex_config() -> regex_automata::meta::Config {
    regex_automata::meta::Config::new()
        .dfa(false)
        .onepass(false)
        .hybrid(false)
        .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
}

/// The text regex of the `Regex` node at `comp` (compiled on first call), or why it cannot be
/// compiled.
pub(crate) fn text_regex(prog: &Program, comp: usize) -> Option<&Result<MetaRegex, String>> {
    match prog.nodes[comp] {
        Node::Regex { src, slot, .. } => Some(
            prog.regexes[slot as usize]
                .text
                .get_or_init(|| build_text(prog.str(src)))
                .as_ref(),
        ),
        _ => None,
    }
}

/// Why the `MATCHES` regex at `comp` cannot be compiled (`None` when it can).
pub(crate) fn regex_error(prog: &Program, comp: usize) -> Option<&str> {
    match text_regex(prog, comp) {
        Some(Err(e)) => Some(e),
        _ => None,
    }
}

/// Does the `MATCHES` regex prepared at `comp` find a match in `s` (already NFC)? `None` when
/// the regex cannot be compiled.
pub(crate) fn regex_search_text(prog: &Program, comp: usize, s: &str) -> Option<bool> {
    match prog.nodes[comp] {
        Node::LiteralRegex {
            nalts,
            start,
            end,
            fold,
            ..
        } => Some(alternatives(prog, comp, nalts).any(|a| {
            if !fold && !start && !end {
                s.contains(a)
            } else {
                found(s.as_bytes(), a.as_bytes(), start, end, fold)
            }
        })),
        Node::Regex { src, slot, .. } => {
            let source = prog.str(src);
            if s.is_ascii() && ascii_equivalent(source) {
                let ascii = prog.regexes[slot as usize]
                    .ascii
                    .get_or_init(|| build_ascii(source));
                if let Some(re) = ascii {
                    return Some(re.is_match(s.as_bytes()));
                }
            }
            match text_regex(prog, comp) {
                Some(Ok(re)) => Some(re.is_match(s)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Does the `MATCHES` regex prepared at `comp` find a match in binary data `b`? Only Latin-1
/// regexes can (every pattern character stands for one byte); false otherwise, and when the
/// regex cannot be compiled.
pub(crate) fn regex_search_bytes(prog: &Program, comp: usize, b: &[u8]) -> bool {
    match prog.nodes[comp] {
        Node::LiteralRegex {
            nalts,
            start,
            end,
            fold,
            latin1: true,
        } => alternatives(prog, comp, nalts).any(|a| {
            if a.is_ascii() {
                found(b, a.as_bytes(), start, end, fold)
            } else {
                let a: Vec<u8> = a.chars().map(|c| c as u32 as u8).collect();
                found(b, &a, start, end, fold)
            }
        }),
        Node::Regex {
            src,
            slot,
            latin1: true,
        } => {
            matches!(text_regex(prog, comp), Some(Ok(_)))
                && prog.regexes[slot as usize]
                    .bytes
                    .get_or_init(|| build_bytes(prog.str(src)))
                    .as_ref()
                    .is_some_and(|r| r.is_match(b))
        }
        _ => false,
    }
}

fn alternatives(prog: &Program, comp: usize, nalts: u32) -> impl Iterator<Item = &str> {
    prog.nodes[comp + 1..comp + 1 + nalts as usize]
        .iter()
        .map(|n| match *n {
            Node::Alt(s) => prog.str(s),
            _ => "",
        })
}

fn found(hay: &[u8], a: &[u8], start: bool, end: bool, fold: bool) -> bool {
    let eq = |x: &[u8]| {
        if fold {
            x.eq_ignore_ascii_case(a)
        } else {
            x == a
        }
    };
    if hay.len() < a.len() {
        return false;
    }
    match (start, end) {
        (true, true) => hay.len() == a.len() && eq(hay),
        (true, false) => eq(&hay[..a.len()]),
        (false, true) => eq(&hay[hay.len() - a.len()..]),
        (false, false) => a.is_empty() || hay.windows(a.len()).any(eq),
    }
}

/// A `MATCHES` regex that is only literal text: `[(?i)][^] lit [$]` or
/// `[(?i)][^] (lit|lit|...) [$]`, where `lit` is characters that are not regex syntax,
/// backslash-escaped metacharacters and `\xHH` escapes. Such a regex finds a match exactly
/// where one of the alternatives occurs (at the start with `^`, at the end with `$`, which
/// the regex engine anchors to the very start and end of the haystack), so it is answered by
/// comparing strings. `(?i)` is taken only for ASCII alternatives without `k` and `s` (the
/// only ASCII letters whose Unicode case-folding class holds a non-ASCII character, `K` and
/// `ſ`), where it is ASCII case-insensitive comparison. Anything else is left to the regex
/// engine.
///
/// On success pushes a [`Node::LiteralRegex`] and its [`Node::Alt`]s (the alternatives'
/// text appended to the program text); otherwise leaves the program as it was.
fn literal_regex(prog: &mut Program, src: Span, latin1: bool) -> bool {
    let (text_len, nodes_len) = (prog.text.len(), prog.nodes.len());
    if src.range().len() <= LITERAL_REGEX_MAX && literal_regex_parts(prog, src, latin1).is_some() {
        return true;
    }
    prog.text.truncate(text_len);
    prog.nodes.truncate(nodes_len);
    false
}

fn literal_regex_parts(prog: &mut Program, src: Span, latin1: bool) -> Option<()> {
    let end_at = src.end as usize;
    let mut i = src.start as usize;
    let next = |prog: &Program, i: &mut usize| -> Option<char> {
        if *i >= end_at {
            return None;
        }
        let c = prog.text[*i..].chars().next()?;
        *i += c.len_utf8();
        Some(c)
    };
    let fold = prog.text[i..end_at].starts_with("(?i)");
    if fold {
        i += 4;
    }
    let start = prog.text[i..end_at].starts_with('^');
    if start {
        i += 1;
    }
    let grouped = prog.text[i..end_at].starts_with('(');
    if grouped {
        i += 1;
    }
    let header = prog.nodes.len();
    prog.nodes.push(Node::AnyIndex); // replaced below
    let pos = |prog: &Program| u32::try_from(prog.text.len()).unwrap_or(u32::MAX);
    let mut alt_start = pos(prog);
    let mut closed = false;
    let mut end = false;
    while let Some(c) = next(prog, &mut i) {
        if closed || end {
            // Only `$` may follow the group, and nothing may follow `$`.
            if c == '$' && !end {
                end = true;
                continue;
            }
            return None;
        }
        match c {
            '\\' => {
                let e = next(prog, &mut i)?;
                let lit = if e == 'x' {
                    let h = next(prog, &mut i)?.to_digit(16)?;
                    let l = next(prog, &mut i)?.to_digit(16)?;
                    char::from_u32(h * 16 + l)?
                } else if is_regex_meta(e) {
                    e
                } else {
                    return None;
                };
                prog.text.push(lit);
            }
            '|' if grouped => {
                let here = pos(prog);
                prog.nodes.push(Node::Alt(Span {
                    start: alt_start,
                    end: here,
                }));
                alt_start = here;
            }
            ')' if grouped => closed = true,
            '$' if i >= end_at && !grouped => end = true,
            c if is_regex_special(c) => return None,
            c => prog.text.push(c),
        }
    }
    if grouped && !closed {
        return None;
    }
    let here = pos(prog);
    prog.nodes.push(Node::Alt(Span {
        start: alt_start,
        end: here,
    }));
    let nalts = u32::try_from(prog.nodes.len() - header - 1).ok()?;
    if fold
        && !prog.nodes[header + 1..].iter().all(|n| match *n {
            Node::Alt(s) => prog
                .str(s)
                .bytes()
                .all(|b| b.is_ascii() && !matches!(b, b'k' | b'K' | b's' | b'S')),
            _ => false,
        })
    {
        return None;
    }
    prog.nodes[header] = Node::LiteralRegex {
        nalts,
        start,
        end,
        fold,
        latin1,
    };
    Some(())
}

/// Characters with a meaning of their own outside a class (with no flags set, every other
/// character stands for itself; `]` and `}` are included to stay on the safe side):
/// `\\.+*?()|[]{}^$`.
fn is_regex_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
    )
}

/// Metacharacters of the regex syntax: these stand for themselves when escaped (the
/// special characters and `#&-~`).
fn is_regex_meta(c: char) -> bool {
    is_regex_special(c) || matches!(c, '#' | '&' | '-' | '~')
}

/// Longest literal regex answered without the regex engine.
const LITERAL_REGEX_MAX: usize = 4096;

/// Does `s` (already NFC) match the `LIKE` pattern `p` (NFC; `%` any run of characters,
/// newlines included, `_` one character)? Walks both strings by byte offsets (no copy).
pub(crate) fn like_match(p: &str, s: &str) -> bool {
    let sb = s.as_bytes();
    let char_len = |at: usize| {
        if sb[at] < 0x80 {
            1
        } else {
            s[at..].chars().next().map_or(1, char::len_utf8)
        }
    };
    let pb = p.as_bytes();
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < pb.len() {
            match pb[pi] {
                b'%' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'_' => {
                    pi += 1;
                    si += char_len(si);
                    continue;
                }
                // An ASCII character matches exactly that byte.
                a if a < 0x80 => {
                    if sb[si] == a {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                _ => {
                    let c = p[pi..].chars().next().unwrap_or('\0');
                    if s[si..].starts_with(c) {
                        pi += c.len_utf8();
                        si += c.len_utf8();
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                let next = ss + char_len(ss);
                pi = sp + 1;
                si = next;
                star = Some((sp, next));
            }
            None => return false,
        }
    }
    pb[pi.min(pb.len())..].iter().all(|b| *b == b'%')
}

/// An IPv4 or IPv6 network (a bare address is a full-length prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub v6: bool,
    pub addr: u128,
    pub prefix: u8,
}

impl Net {
    /// Parse `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or `v6/n`.
    pub fn parse(s: &str) -> Option<Net> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let (v6, addr, max) = if let Ok(v4) = a.parse::<Ipv4Addr>() {
            (false, u128::from(u32::from(v4)), 32u8)
        } else if let Ok(v6) = a.parse::<Ipv6Addr>() {
            (true, u128::from(v6), 128u8)
        } else {
            return None;
        };
        let prefix = match p {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let n: u8 = p.parse().ok()?;
                if n > max {
                    return None;
                }
                n
            }
        };
        Some(Net { v6, addr, prefix })
    }

    fn bits(&self) -> u32 {
        if self.v6 { 128 } else { 32 }
    }

    /// True if `self` (address or network) lies within `container`.
    pub fn within(&self, container: &Net) -> bool {
        if self.v6 != container.v6 || container.prefix > self.prefix {
            return false;
        }
        let shift = self.bits() - u32::from(container.prefix);
        if shift >= self.bits() {
            return true;
        }
        (self.addr >> shift) == (container.addr >> shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[x:v MATCHES 'src']` parsed: the program and the index of the prepared regex.
    fn prepared(src: &str) -> (Program, usize) {
        let lit = src.replace('\\', "\\\\").replace('\'', "\\'");
        let prog = crate::parser::parse(&format!("[x:v MATCHES '{lit}']")).expect("parses");
        let comp = prog
            .nodes
            .iter()
            .position(|n| matches!(n, Node::LiteralRegex { .. } | Node::Regex { .. }))
            .expect("prepared regex");
        (prog, comp)
    }

    fn is_literal(src: &str) -> bool {
        let (prog, comp) = prepared(src);
        matches!(prog.nodes[comp], Node::LiteralRegex { .. })
    }

    fn byte_regex(src: &str) -> Option<regex::bytes::Regex> {
        build_bytes(src).map(|r| (*r).clone())
    }

    /// The literal fast path must agree with the regex engine it replaces, on text and bytes.
    #[test]
    fn literal_regex_agrees_with_regex_engine() {
        let sources = [
            "",
            "^",
            "$",
            "^$",
            "abc",
            "^abc",
            "abc$",
            "^abc$",
            "^(abc|abd)$",
            "(abc|)",
            "^()$",
            "^a\\.b\\\\c\\?d\\-e$",
            "a-b&c~d#e f",
            "^\\x41\\x0e\\xe9$",
            "\\x8aPNG",
            "(?i)^abc$",
            "(?i)(ab|CD)",
            "(?i)^reg_dword$",
            "(?i)ask",
            "(?i)^\\x41$",
            "^été$",
            "a|b",
            "^(a|b)+$",
            "(a)b",
            "a$b",
            "\\d",
            "\\/",
            "\\x{41}",
            "a]",
            "(?i)K",
            "^ǅ$",
            "(?i)^ǆ$",
        ];
        let hays = [
            "",
            "abc",
            "xabc",
            "abcx",
            "ABC",
            "abd",
            "a.b\\c?d-e",
            "a-b&c~d#e f",
            "Ae\u{e}é",
            "A\u{e}é",
            "\u{8a}PNG",
            "REG_DWORD",
            "reg_dword",
            "ASK",
            "a\u{17f}k",
            "été",
            "a",
            "ab",
            "ǅ",
            "ǆ",
            "Ǆ",
            "\u{212a}",
            "k",
            "cd",
            "xCDx",
            "aab",
            "a$b",
            "\n",
            "abc\n",
        ];
        let mut checked = 0;
        for src in sources {
            if !is_literal(src) {
                continue;
            }
            let (prog, comp) = prepared(src);
            let text = regex::Regex::new(&format!("(?s){src}")).expect("literal regexes compile");
            let latin1 = src.chars().all(|c| (c as u32) < 256);
            for h in hays {
                assert_eq!(
                    regex_search_text(&prog, comp, h),
                    Some(text.is_match(h)),
                    "{src:?} on {h:?}"
                );
                if latin1 {
                    let bytes: Vec<u8> = h.bytes().collect();
                    let re = byte_regex(src).expect("byte regex");
                    assert_eq!(
                        regex_search_bytes(&prog, comp, &bytes),
                        re.is_match(&bytes),
                        "{src:?}"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 500);
        for s in [
            "a|b", "^(a|b)+$", "(a)b", "a$b", "\\d", "\\/", "\\x{41}", "a]", "(?i)K",
        ] {
            assert!(!is_literal(s), "{s:?} is not literal");
        }
    }

    /// Regexes run without Unicode over ASCII text must decide as the Unicode regex does.
    #[test]
    fn ascii_regex_agrees_with_unicode_regex() {
        let sources = [
            "^\\d+$",
            "\\w+\\s\\W",
            "^[a-z]+://[^/]+/",
            "(?i)^reg_[a-z]+$",
            "(?i:ab)c",
            "(?:ab|cd)+",
            "\\bfoo\\b",
            "\\Bo\\B",
            "^.mage/png$",
            "[\\x00-\\xff]x",
            "[^\\x80-\\xff]",
            "\\xe9",
            "^\\D\\S$",
            "[[:alpha:]]+[[:digit:]]",
            "(?i)K",
            "(?i)[k-s]",
            "a.c",
            "^$",
            "[^a]",
            "^\\d{4}-[0-9]+-\\d+T\\d{2}:\\d{2}$",
            "(ab){2,}|c{1,3}",
        ];
        let hays = [
            "",
            "123",
            "abc def!",
            "http://x/",
            "REG_SZ",
            "reg_dword",
            "abc",
            "ABc",
            "cdab",
            "foo bar",
            "a foo.",
            "food",
            "xoox",
            "image/png",
            "\nmage/png",
            "a\nc",
            "\u{7f}x",
            "x",
            "a",
            "K",
            "k",
            "S",
            "Q",
            "aB3",
            "\t \r",
        ];
        let mut checked = 0;
        for src in sources {
            assert!(ascii_equivalent(src), "{src:?}");
            let (prog, comp) = prepared(src);
            let unicode = build_text(src);
            let Ok(unicode) = &*unicode else {
                panic!("{src:?} compiles");
            };
            for h in hays {
                assert!(h.is_ascii());
                assert_eq!(
                    regex_search_text(&prog, comp, h),
                    Some(unicode.is_match(h)),
                    "{src:?} on {h:?}"
                );
                checked += 1;
            }
        }
        assert!(checked > 400);
        for src in [
            "\\pL",
            "(?-u)a",
            "(?m)^a",
            "é",
            "\\P{Greek}",
            "\\w{129}",
            "(\\w{9}){20}",
            "\\x{41}",
            "[a",
            "(a",
        ] {
            assert!(!ascii_equivalent(src), "{src:?}");
        }
        assert_eq!(
            unicode_weight("^\\d{4}-[0-9]+-(ab|c){3,5}x{2,}$"),
            Some(4 + 1 + 1 + 1 + 15 + 3)
        );
        assert_eq!(unicode_weight("(?i)[]a[:x:]]\\]"), Some(2));
        // The heaviest regexes taken, of the largest Unicode classes, fit the size limit.
        for class in [
            "\\w", "\\W", "(?i)\\w", ".", "\\S", "[^x]", "\\D", "[\\w\\W]",
        ] {
            let src = format!("(?:{class}){{{ASCII_REGEX_MAX_WEIGHT}}}");
            assert!(ascii_equivalent(&src), "{src:?}");
            let (prog, comp) = prepared(&src);
            assert!(matches!(text_regex(&prog, comp), Some(Ok(_))), "{src:?}");
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    /// The process-wide cache never holds more than its bound, and a regex evicted from it
    /// is built again the same.
    #[test]
    fn regex_cache_is_bounded() {
        for i in 0..REGEX_CACHE_SIZE + 40 {
            let src = format!("^a{{{i}}}[0-9]+$");
            let re = build_text(&src);
            assert!(matches!(&*re, Ok(r) if r.is_match(&format!("{}1", "a".repeat(i)))));
            let guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
            let c = guard.as_ref().expect("cache made");
            assert!(c.order.len() <= REGEX_CACHE_SIZE);
            assert!(c.text.len() + c.ascii.len() + c.bytes.len() <= REGEX_CACHE_SIZE);
        }
        let again = build_text("^a{0}[0-9]+$");
        assert!(matches!(&*again, Ok(r) if r.is_match("7")));
    }

    #[test]
    fn regex_character_sets() {
        for c in (0..0x3000).filter_map(char::from_u32) {
            assert_eq!(is_regex_special(c), "\\.+*?()|[]{}^$".contains(c), "{c:?}");
            assert_eq!(is_regex_meta(c), "\\.+*?()|[]{}^$#&-~".contains(c), "{c:?}");
        }
    }

    #[test]
    fn like_wildcards() {
        assert!(like_match("a%c", "abbbc"));
        assert!(like_match("a_c", "aéc"));
        assert!(!like_match("a_c", "ac"));
        assert!(like_match("%", ""));
        assert!(like_match("%%x", "yx"));
        assert!(!like_match("x%", "yx"));
        assert!(like_match("é%", "é\n"));
    }
}
