//! Per-comparison state prepared from the literal: `LIKE` wildcards (parsed at parse time),
//! `MATCHES` regexes (compiled on first use and kept), parsed networks for
//! `ISSUBSET`/`ISSUPERSET`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

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
        text: OnceLock<Result<regex_automata::meta::Regex, String>>,
        bytes: OnceLock<Option<regex::bytes::Regex>>,
    },
    /// `ISSUBSET` / `ISSUPERSET` literal, `None` when it is not an address or CIDR.
    Net(Option<Net>),
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
                let source: String = s.nfc().collect();
                Compiled::Regex {
                    latin1: source.chars().all(|c| (c as u32) < 256),
                    source,
                    text: OnceLock::new(),
                    bytes: OnceLock::new(),
                }
            }
            ComparisonOp::Like => {
                let nfc: String = s.nfc().collect();
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
            Compiled::Regex { source, text, .. } => Some(text.get_or_init(|| {
                // The same engine as `regex::Regex`, without the one-pass DFA whose
                // construction would dominate a single evaluation.
                regex_automata::meta::Builder::new()
                    .configure(
                        regex_automata::meta::Config::new()
                            .dfa(false)
                            .onepass(false),
                    )
                    .build(&format!("(?s){source}"))
                    .map_err(|e| e.to_string())
            })),
            _ => None,
        }
    }

    /// The byte regex of a Latin-1 `MATCHES` pattern, compiled on first use: every pattern
    /// character stands for one byte.
    pub(crate) fn byte_regex(&self) -> Option<&regex::bytes::Regex> {
        match self {
            Compiled::Regex {
                source,
                latin1: true,
                bytes,
                ..
            } => bytes
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

/// Does `s` (already NFC) match the `LIKE` items? `%` may span newlines.
pub(crate) fn like_match(p: &[LikeItem], s: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
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
                    si += 1;
                    continue;
                }
                LikeItem::Char(c) if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                LikeItem::Char(_) => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
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
