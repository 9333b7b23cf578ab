//! Per-comparison state prepared once at parse time: regexes for `MATCHES` and `LIKE`,
//! parsed networks for `ISSUBSET`/`ISSUPERSET`.

use std::net::{Ipv4Addr, Ipv6Addr};

use unicode_normalization::UnicodeNormalization;

use crate::ast::{ComparisonOp, Literal};

/// Compiled form of a comparison's right-hand side.
#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    None,
    /// `MATCHES` and `LIKE`. `text` searches strings; `bytes` searches binary values and exists
    /// only when every code point of the (NFC) pattern is below 256.
    Regex {
        text: Result<regex::Regex, String>,
        bytes: Option<regex::bytes::Regex>,
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
                let nfc: String = s.nfc().collect();
                let text = regex::Regex::new(&format!("(?s){nfc}")).map_err(|e| e.to_string());
                let bytes = if nfc.chars().all(|c| (c as u32) < 256) {
                    let mut b = String::from("(?s-u)");
                    for c in nfc.chars() {
                        if (c as u32) >= 128 {
                            b.push_str(&format!("\\x{:02X}", c as u32));
                        } else {
                            b.push(c);
                        }
                    }
                    regex::bytes::Regex::new(&b).ok()
                } else {
                    None
                };
                Compiled::Regex { text, bytes }
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
                let text = regex::Regex::new(&re).map_err(|e| e.to_string());
                // Binary values are compared as UTF-8 text when the pattern is Latin-1.
                let bytes = if nfc.chars().all(|c| (c as u32) < 256) {
                    regex::bytes::Regex::new(&re).ok()
                } else {
                    None
                };
                Compiled::Regex { text, bytes }
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
