//! Per-comparison state prepared once at parse time: regexes for `MATCHES` and `LIKE`,
//! parsed networks for `ISSUBSET`/`ISSUPERSET`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::ast::{ComparisonOp, Literal};

/// Compiled form of a comparison's right-hand side.
#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    None,
    /// `MATCHES` and `LIKE`. `text` searches strings. When every code point of the (NFC)
    /// pattern is below 256 (`latin1`), binary values are searched too: by `MATCHES` with a
    /// byte regex compiled on first use from `byte_source`, by `LIKE` as UTF-8 text.
    Regex {
        text: Result<regex::Regex, String>,
        latin1: bool,
        byte_source: String,
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
    /// The byte regex of a Latin-1 `MATCHES` pattern, compiled on first use.
    pub(crate) fn byte_regex(&self) -> Option<&regex::bytes::Regex> {
        match self {
            Compiled::Regex {
                latin1: true,
                byte_source,
                bytes,
                ..
            } if !byte_source.is_empty() => bytes
                .get_or_init(|| regex::bytes::Regex::new(byte_source).ok())
                .as_ref(),
            _ => None,
        }
    }

    pub(crate) fn new(op: ComparisonOp, literal: &Literal) -> Compiled {
        let Literal::Str(s) = literal else {
            return Compiled::None;
        };
        match op {
            ComparisonOp::Matches => {
                let nfc: String = s.nfc().collect();
                let text = regex::Regex::new(&format!("(?s){nfc}")).map_err(|e| e.to_string());
                let latin1 = nfc.chars().all(|c| (c as u32) < 256);
                let mut byte_source = String::new();
                if latin1 {
                    // Bytes mode: every pattern character stands for one byte.
                    byte_source.push_str("(?s-u)");
                    for c in nfc.chars() {
                        if (c as u32) >= 128 {
                            byte_source.push_str(&format!("\\x{:02X}", c as u32));
                        } else {
                            byte_source.push(c);
                        }
                    }
                }
                Compiled::Regex {
                    text,
                    latin1,
                    byte_source,
                    bytes: OnceLock::new(),
                }
            }
            ComparisonOp::Like => {
                let nfc: String = s.nfc().collect();
                let mut re = String::from("(?s)\\A");
                for c in nfc.chars() {
                    match c {
                        '%' => re.push_str(".*"),
                        '_' => re.push('.'),
                        c => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
                    }
                }
                re.push_str("\\z");
                Compiled::Regex {
                    text: regex::Regex::new(&re).map_err(|e| e.to_string()),
                    latin1: nfc.chars().all(|c| (c as u32) < 256),
                    byte_source: String::new(),
                    bytes: OnceLock::new(),
                }
            }
            ComparisonOp::IsSubset | ComparisonOp::IsSuperset => Compiled::Net(Net::parse(s)),
            _ => Compiled::None,
        }
    }
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
