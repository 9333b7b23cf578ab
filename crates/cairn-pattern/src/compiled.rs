//! Per-comparison state prepared from the literal: `LIKE` wildcards (parsed at parse time),
//! `MATCHES` regexes (literal-only ones recognised at parse time and answered by string
//! comparison; others compiled on first use and kept, in a Unicode-free form for ASCII values
//! where that is equivalent), parsed networks for `ISSUBSET`/`ISSUPERSET`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::ast::{ComparisonOp, Literal};

/// One element of a `LIKE` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LikeItem {
    /// `%`: any run of characters (newlines included).
    Any,
    /// `_`: exactly one character.
    One,
    Char(char),
}

/// Compiled form of a comparison's right-hand side.
#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    None,
    /// `LIKE`, NFC-normalized. `latin1`: every code point is below 256, so binary values
    /// are compared too (as UTF-8 text).
    Like {
        items: Vec<LikeItem>,
        latin1: bool,
    },
    /// `MATCHES`, NFC-normalized. The text regex is compiled on first use; when `latin1`,
    /// binary values are searched with a byte regex (also compiled on first use).
    Regex {
        source: String,
        latin1: bool,
        /// Set when the regex is only literal text (see [`LiteralRegex`]): searched without
        /// compiling a regex at all.
        literal: Option<Box<LiteralRegex>>,
        engines: Box<RegexEngines>,
    },
    /// `ISSUBSET` / `ISSUPERSET` literal, `None` when it is not an address or CIDR.
    Net(Option<Net>),
}

/// The compiled forms of one `MATCHES` regex, each built on first use.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegexEngines {
    /// The regex as written (Unicode, over text).
    text: OnceLock<Result<regex_automata::meta::Regex, String>>,
    /// The regex without Unicode, over the bytes of ASCII text, for regexes where that is
    /// known to decide exactly as `text` does (see [`ascii_equivalent`]). `None` when it
    /// does not compile.
    ascii: OnceLock<Option<regex_automata::meta::Regex>>,
    /// One byte per character, over binary values (Latin-1 regexes only).
    bytes: OnceLock<Option<regex::bytes::Regex>>,
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

impl PartialEq for Compiled {
    /// Compiled state is derived from the literal, so it never makes two ASTs differ.
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Compiled {
    pub(crate) fn new(op: ComparisonOp, literal: &Literal) -> Compiled {
        let Literal::Str(s) = literal else {
            return Compiled::None;
        };
        match op {
            ComparisonOp::Matches => {
                let source = nfc_string(s);
                Compiled::Regex {
                    latin1: source.chars().all(|c| (c as u32) < 256),
                    literal: LiteralRegex::parse(&source).map(Box::new),
                    source,
                    engines: Box::default(),
                }
            }
            ComparisonOp::Like => {
                let nfc: std::borrow::Cow<'_, str> = if is_nfc_quick(s.chars()) == IsNormalized::Yes
                {
                    std::borrow::Cow::Borrowed(s)
                } else {
                    std::borrow::Cow::Owned(s.nfc().collect())
                };
                let items = nfc
                    .chars()
                    .map(|c| match c {
                        '%' => LikeItem::Any,
                        '_' => LikeItem::One,
                        c => LikeItem::Char(c),
                    })
                    .collect();
                Compiled::Like {
                    items,
                    latin1: nfc.chars().all(|c| (c as u32) < 256),
                }
            }
            ComparisonOp::IsSubset | ComparisonOp::IsSuperset => Compiled::Net(Net::parse(s)),
            _ => Compiled::None,
        }
    }

    /// The text regex of a `MATCHES` comparison (compiled on first call), or why it cannot be
    /// compiled. `None` for other operators.
    pub(crate) fn text_regex(&self) -> Option<&Result<regex_automata::meta::Regex, String>> {
        match self {
            Compiled::Regex {
                source, engines, ..
            } => Some(engines.text.get_or_init(|| {
                regex_automata::meta::Builder::new()
                    .configure(regex_config())
                    .build(&format!("(?s){source}"))
                    .map_err(|e| e.to_string())
            })),
            _ => None,
        }
    }

    /// Why the `MATCHES` regex cannot be compiled (`None` when it can, or for other operators).
    pub(crate) fn regex_error(&self) -> Option<&str> {
        match self {
            Compiled::Regex {
                literal: Some(_), ..
            } => None,
            Compiled::Regex { .. } => match self.text_regex() {
                Some(Err(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// Does the `MATCHES` regex find a match in `s` (already NFC)? `None` when the regex
    /// cannot be compiled (or for other operators).
    pub(crate) fn regex_search_text(&self, s: &str) -> Option<bool> {
        match self {
            Compiled::Regex {
                literal: Some(l), ..
            } => Some(l.search_text(s)),
            Compiled::Regex {
                source, engines, ..
            } => {
                if s.is_ascii() && ascii_equivalent(source) {
                    let ascii = engines.ascii.get_or_init(|| {
                        regex_automata::meta::Builder::new()
                            .configure(regex_config())
                            .syntax(
                                regex_automata::util::syntax::Config::new()
                                    .unicode(false)
                                    .utf8(false),
                            )
                            .build(&format!("(?s){source}"))
                            .ok()
                    });
                    if let Some(re) = ascii {
                        return Some(re.is_match(s.as_bytes()));
                    }
                }
                match self.text_regex() {
                    Some(Ok(re)) => Some(re.is_match(s)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Does the `MATCHES` regex find a match in binary data `b`? Only Latin-1 regexes can
    /// (every pattern character stands for one byte); false otherwise, and when the regex
    /// cannot be compiled.
    pub(crate) fn regex_search_bytes(&self, b: &[u8]) -> bool {
        match self {
            Compiled::Regex {
                literal: Some(l),
                latin1: true,
                ..
            } => l.search_bytes(b),
            Compiled::Regex {
                literal: Some(_), ..
            } => false,
            Compiled::Regex { .. } => {
                matches!(self.text_regex(), Some(Ok(_)))
                    && self.byte_regex().is_some_and(|r| r.is_match(b))
            }
            _ => false,
        }
    }

    /// The byte regex of a Latin-1 `MATCHES` pattern, compiled on first use: every pattern
    /// character stands for one byte.
    pub(crate) fn byte_regex(&self) -> Option<&regex::bytes::Regex> {
        match self {
            Compiled::Regex {
                source,
                latin1: true,
                engines,
                ..
            } => engines
                .bytes
                .get_or_init(|| {
                    let mut b = String::from("(?s-u)");
                    for c in source.chars() {
                        if (c as u32) >= 128 {
                            b.push_str(&format!("\\x{:02X}", c as u32));
                        } else {
                            b.push(c);
                        }
                    }
                    regex::bytes::Regex::new(&b).ok()
                })
                .as_ref(),
            _ => None,
        }
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
#[derive(Debug, Clone)]
pub(crate) struct LiteralRegex {
    start: bool,
    end: bool,
    /// ASCII case-insensitive; the alternatives are then lower-cased.
    fold: bool,
    alternatives: Vec<String>,
}

/// Characters with a meaning of their own outside a class (with no flags set, every other
/// character stands for itself; `]` and `}` are included to stay on the safe side).
const REGEX_SPECIAL: &str = "\\.+*?()|[]{}^$";

/// Metacharacters of the regex syntax: these stand for themselves when escaped.
const REGEX_META: &str = "\\.+*?()|[]{}^$#&-~";

/// Longest literal regex answered without the regex engine.
const LITERAL_REGEX_MAX: usize = 4096;

impl LiteralRegex {
    pub(crate) fn parse(src: &str) -> Option<LiteralRegex> {
        if src.len() > LITERAL_REGEX_MAX {
            return None;
        }
        let (fold, src) = match src.strip_prefix("(?i)") {
            Some(rest) => (true, rest),
            None => (false, src),
        };
        let mut chars = src.chars().peekable();
        let start = chars.next_if_eq(&'^').is_some();
        let grouped = chars.next_if_eq(&'(').is_some();
        let mut alternatives = vec![String::new()];
        let mut closed = false;
        let mut end = false;
        while let Some(c) = chars.next() {
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
                    let e = chars.next()?;
                    let lit = if e == 'x' {
                        let h = chars.next()?.to_digit(16)?;
                        let l = chars.next()?.to_digit(16)?;
                        char::from_u32(h * 16 + l)?
                    } else if REGEX_META.contains(e) {
                        e
                    } else {
                        return None;
                    };
                    alternatives.last_mut()?.push(lit);
                }
                '|' if grouped => alternatives.push(String::new()),
                ')' if grouped => closed = true,
                '$' if chars.peek().is_none() && !grouped => end = true,
                c if REGEX_SPECIAL.contains(c) => return None,
                c => alternatives.last_mut()?.push(c),
            }
        }
        if grouped && !closed {
            return None;
        }
        if fold {
            if !alternatives.iter().all(|a| {
                a.bytes()
                    .all(|b| b.is_ascii() && !matches!(b, b'k' | b'K' | b's' | b'S'))
            }) {
                return None;
            }
            alternatives
                .iter_mut()
                .for_each(|a| a.make_ascii_lowercase());
        }
        Some(LiteralRegex {
            start,
            end,
            fold,
            alternatives,
        })
    }

    fn found(&self, hay: &[u8], a: &[u8]) -> bool {
        let eq = |x: &[u8]| {
            if self.fold {
                x.eq_ignore_ascii_case(a)
            } else {
                x == a
            }
        };
        if hay.len() < a.len() {
            return false;
        }
        match (self.start, self.end) {
            (true, true) => hay.len() == a.len() && eq(hay),
            (true, false) => eq(&hay[..a.len()]),
            (false, true) => eq(&hay[hay.len() - a.len()..]),
            (false, false) => a.is_empty() || hay.windows(a.len()).any(eq),
        }
    }

    /// Search text (already NFC).
    fn search_text(&self, s: &str) -> bool {
        self.alternatives.iter().any(|a| {
            if !self.fold && !self.start && !self.end {
                s.contains(a.as_str())
            } else {
                self.found(s.as_bytes(), a.as_bytes())
            }
        })
    }

    /// Search binary data, one byte per character (false unless every character of the
    /// regex is below 256).
    fn search_bytes(&self, b: &[u8]) -> bool {
        self.alternatives.iter().any(|a| {
            let a: Option<Vec<u8>> = a.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
            a.is_some_and(|a| self.found(b, &a))
        })
    }
}

/// `s` in NFC (copied as is when the quick check says it already is).
fn nfc_string(s: &str) -> String {
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        s.to_string()
    } else {
        s.nfc().collect()
    }
}

/// Does `s` (already NFC) match the `LIKE` items? `%` may span newlines. Walks `s` by byte
/// offsets (no copy of its characters).
pub(crate) fn like_match(p: &[LikeItem], s: &str) -> bool {
    let char_len = |at: usize| s[at..].chars().next().map_or(1, char::len_utf8);
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if let Some(item) = p.get(pi) {
            match *item {
                LikeItem::Any => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                LikeItem::One => {
                    pi += 1;
                    si += char_len(si);
                    continue;
                }
                LikeItem::Char(c) if s[si..].starts_with(c) => {
                    pi += 1;
                    si += c.len_utf8();
                    continue;
                }
                LikeItem::Char(_) => {}
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
    p[pi.min(p.len())..].iter().all(|i| *i == LikeItem::Any)
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
            let Some(lit) = LiteralRegex::parse(src) else {
                continue;
            };
            let c = Compiled::new(ComparisonOp::Matches, &Literal::Str(src.to_string()));
            let text = regex::Regex::new(&format!("(?s){src}")).expect("literal regexes compile");
            let latin1 = src.chars().all(|c| (c as u32) < 256);
            for h in hays {
                assert_eq!(lit.search_text(h), text.is_match(h), "{src:?} on {h:?}");
                assert_eq!(
                    c.regex_search_text(h),
                    Some(text.is_match(h)),
                    "{src:?} on {h:?}"
                );
                if latin1 {
                    let bytes: Vec<u8> = h.bytes().collect();
                    let re = c.byte_regex().expect("byte regex");
                    assert_eq!(c.regex_search_bytes(&bytes), re.is_match(&bytes), "{src:?}");
                }
                checked += 1;
            }
        }
        assert!(checked > 500);
        for s in [
            "a|b", "^(a|b)+$", "(a)b", "a$b", "\\d", "\\/", "\\x{41}", "a]", "(?i)K",
        ] {
            assert!(LiteralRegex::parse(s).is_none(), "{s:?} is not literal");
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
            let c = Compiled::new(ComparisonOp::Matches, &Literal::Str(src.to_string()));
            let Some(Ok(unicode)) = c.text_regex() else {
                panic!("{src:?} compiles");
            };
            for h in hays {
                assert!(h.is_ascii());
                assert_eq!(
                    c.regex_search_text(h),
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
            let c = Compiled::new(ComparisonOp::Matches, &Literal::Str(src.clone()));
            assert!(matches!(c.text_regex(), Some(Ok(_))), "{src:?}");
        }
    }
}
