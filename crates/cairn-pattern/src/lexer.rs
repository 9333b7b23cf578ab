//! Tokenizer following the lexer rules of `STIXPattern.g4`: at each position the longest
//! match wins, ties go to the rule listed first in the grammar.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    IntNeg,
    IntPos,
    FloatNeg,
    FloatPos,
    Hex,
    Binary,
    Str,
    Bool,
    Timestamp,
    And,
    Or,
    Not,
    FollowedBy,
    Like,
    Matches,
    IsSuperset,
    IsSubset,
    Exists,
    Last,
    In,
    Start,
    Stop,
    Seconds,
    True,
    False,
    Within,
    Repeats,
    Times,
    IdentNoHyphen,
    IdentHyphen,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Quote,
    Colon,
    Dot,
    Comma,
    RParen,
    LParen,
    RBrack,
    LBrack,
    Plus,
    Hyphen,
    Power,
    Divide,
    Asterisk,
    Invalid,
    Eof,
}

impl Tok {
    /// The grammar's name for the token (as the reference validator reports it).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tok::IntNeg => "IntNegLiteral",
            Tok::IntPos => "IntPosLiteral",
            Tok::FloatNeg => "FloatNegLiteral",
            Tok::FloatPos => "FloatPosLiteral",
            Tok::Hex => "HexLiteral",
            Tok::Binary => "BinaryLiteral",
            Tok::Str => "StringLiteral",
            Tok::Bool => "BoolLiteral",
            Tok::Timestamp => "TimestampLiteral",
            Tok::And => "'AND'",
            Tok::Or => "'OR'",
            Tok::Not => "'NOT'",
            Tok::FollowedBy => "'FOLLOWEDBY'",
            Tok::Like => "'LIKE'",
            Tok::Matches => "'MATCHES'",
            Tok::IsSuperset => "'ISSUPERSET'",
            Tok::IsSubset => "'ISSUBSET'",
            Tok::Exists => "'EXISTS'",
            Tok::Last => "'LAST'",
            Tok::In => "'IN'",
            Tok::Start => "'START'",
            Tok::Stop => "'STOP'",
            Tok::Seconds => "'SECONDS'",
            Tok::True => "'true'",
            Tok::False => "'false'",
            Tok::Within => "'WITHIN'",
            Tok::Repeats => "'REPEATS'",
            Tok::Times => "'TIMES'",
            Tok::IdentNoHyphen => "IdentifierWithoutHyphen",
            Tok::IdentHyphen => "IdentifierWithHyphen",
            Tok::Eq => "'='",
            Tok::Neq => "'!='",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::Quote => "'''",
            Tok::Colon => "':'",
            Tok::Dot => "'.'",
            Tok::Comma => "','",
            Tok::RParen => "')'",
            Tok::LParen => "'('",
            Tok::RBrack => "']'",
            Tok::LBrack => "'['",
            Tok::Plus => "'+'",
            Tok::Hyphen => "'-'",
            Tok::Power => "'^'",
            Tok::Divide => "'/'",
            Tok::Asterisk => "'*'",
            Tok::Invalid => "InvalidCharacter",
            Tok::Eof => "<EOF>",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub kind: Tok,
    /// A string literal with a backslash in it (the others are their text as written).
    pub escaped: bool,
    pub start: usize,
    pub end: usize,
}

/// `word` as one of the `N`-byte keywords of `table`.
#[inline(always)]
fn kw<const N: usize>(word: &[u8], table: &[(&[u8; N], Tok)]) -> Option<Tok> {
    let w: &[u8; N] = word.try_into().ok()?;
    table.iter().find(|(k, _)| *k == w).map(|(_, t)| *t)
}

/// The keyword spelled by `word`, if any (found by length, then compared as a fixed-size
/// array).
#[inline]
fn keyword(word: &[u8]) -> Option<Tok> {
    match word.len() {
        2 => kw(word, &[(b"OR", Tok::Or), (b"IN", Tok::In)]),
        3 => kw(word, &[(b"AND", Tok::And), (b"NOT", Tok::Not)]),
        4 => kw(
            word,
            &[
                (b"LIKE", Tok::Like),
                (b"LAST", Tok::Last),
                (b"STOP", Tok::Stop),
                (b"true", Tok::True),
            ],
        ),
        5 => kw(
            word,
            &[
                (b"START", Tok::Start),
                (b"TIMES", Tok::Times),
                (b"false", Tok::False),
            ],
        ),
        6 => kw(word, &[(b"EXISTS", Tok::Exists), (b"WITHIN", Tok::Within)]),
        7 => kw(
            word,
            &[
                (b"MATCHES", Tok::Matches),
                (b"SECONDS", Tok::Seconds),
                (b"REPEATS", Tok::Repeats),
            ],
        ),
        8 => kw(word, &[(b"ISSUBSET", Tok::IsSubset)]),
        10 => kw(
            word,
            &[
                (b"FOLLOWEDBY", Tok::FollowedBy),
                (b"ISSUPERSET", Tok::IsSuperset),
            ],
        ),
        _ => None,
    }
}

#[cfg(test)]
const KEYWORDS: &[(&str, Tok)] = &[
    ("AND", Tok::And),
    ("OR", Tok::Or),
    ("NOT", Tok::Not),
    ("FOLLOWEDBY", Tok::FollowedBy),
    ("LIKE", Tok::Like),
    ("MATCHES", Tok::Matches),
    ("ISSUPERSET", Tok::IsSuperset),
    ("ISSUBSET", Tok::IsSubset),
    ("EXISTS", Tok::Exists),
    ("LAST", Tok::Last),
    ("IN", Tok::In),
    ("START", Tok::Start),
    ("STOP", Tok::Stop),
    ("SECONDS", Tok::Seconds),
    ("true", Tok::True),
    ("false", Tok::False),
    ("WITHIN", Tok::Within),
    ("REPEATS", Tok::Repeats),
    ("TIMES", Tok::Times),
];

fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{0B}'
            | '\u{0C}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

fn digits(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `('0' | [1-9][0-9]*)` starting at i: length or None.
fn int_body(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i) {
        Some(b'0') => Some(1),
        Some(c) if c.is_ascii_digit() => Some(digits(b, i)),
        _ => None,
    }
}

/// `[0-9]* '.' [0-9]+` starting at i.
fn float_body(b: &[u8], i: usize) -> Option<usize> {
    let d = digits(b, i);
    if b.get(i + d) != Some(&b'.') {
        return None;
    }
    let f = digits(b, i + d + 1);
    (f > 0).then_some(d + 1 + f)
}

fn hex_lit(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'h') || b.get(i + 1) != Some(&b'\'') {
        return None;
    }
    let n = b[i + 2..]
        .iter()
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    (n % 2 == 0 && b.get(i + 2 + n) == Some(&b'\'')).then_some(n + 3)
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

fn bin_lit(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'b') || b.get(i + 1) != Some(&b'\'') {
        return None;
    }
    let s = i + 2;
    let n = b[s..].iter().take_while(|c| is_b64(**c)).count();
    let mut j = s + n;
    match n % 4 {
        0 if n > 0 => {}
        3 if b.get(j) == Some(&b'=') => j += 1,
        2 if b.get(j) == Some(&b'=') && b.get(j + 1) == Some(&b'=') => j += 2,
        _ => return None,
    }
    (b.get(j) == Some(&b'\'')).then_some(j + 1 - i)
}

/// The string literal starting with the quote at `i`: its length and whether it has escapes.
fn str_lit(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j += quote_or_backslash(b.get(j..)?)?;
        match b[j] {
            b'\'' => return Some((j + 1 - i, escaped)),
            _ => match b.get(j + 1)? {
                b'\'' | b'\\' => {
                    j += 2;
                    escaped = true;
                }
                _ => return None,
            },
        }
    }
}

/// The position of the first `'` or `\\` in `s`, eight bytes at a time.
#[inline]
fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES << 7;
    // The lowest byte flagged by `(x - ONES) & !x & HIGH` is the lowest zero byte of `x`.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let words = s.chunks_exact(8);
    let tail = words.remainder();
    for (n, w) in words.enumerate() {
        let x = u64::from_le_bytes(w.try_into().ok()?);
        let hit = zero(x ^ (ONES * u64::from(b'\''))) | zero(x ^ (ONES * u64::from(b'\\')));
        if hit != 0 {
            return Some(8 * n + (hit.trailing_zeros() / 8) as usize);
        }
    }
    tail.iter()
        .position(|c| matches!(c, b'\'' | b'\\'))
        .map(|k| s.len() - tail.len() + k)
}

fn ts_lit(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b't') || b.get(i + 1) != Some(&b'\'') {
        return None;
    }
    let s = &b[i + 2..];
    let d = |k: usize| s.get(k).is_some_and(|c| c.is_ascii_digit());
    let at = |k: usize, c: u8| s.get(k) == Some(&c);
    let in_r = |k: usize, lo: u8, hi: u8| s.get(k).is_some_and(|c| (lo..=hi).contains(c));
    if !(d(0) && d(1) && d(2) && d(3) && at(4, b'-')) {
        return None;
    }
    let month = (at(5, b'0') && in_r(6, b'1', b'9')) || (at(5, b'1') && in_r(6, b'0', b'2'));
    let day = (at(8, b'0') && in_r(9, b'1', b'9'))
        || (in_r(8, b'1', b'2') && d(9))
        || (at(8, b'3') && in_r(9, b'0', b'1'));
    let hour = (in_r(11, b'0', b'1') && d(12)) || (at(11, b'2') && in_r(12, b'0', b'3'));
    let min = in_r(14, b'0', b'5') && d(15);
    let sec = (in_r(17, b'0', b'5') && d(18)) || (at(17, b'6') && at(18, b'0'));
    if !(month
        && at(7, b'-')
        && day
        && at(10, b'T')
        && hour
        && at(13, b':')
        && min
        && at(16, b':')
        && sec)
    {
        return None;
    }
    let mut k = 19;
    if at(k, b'.') {
        let f = s[k + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if f == 0 {
            return None;
        }
        k += 1 + f;
    }
    (at(k, b'Z') && at(k + 1, b'\'')).then_some(k + 4)
}

/// Tokenize; whitespace and comments are dropped. Always ends with an `Eof` token.
pub(crate) fn lex(src: &str) -> Vec<Token> {
    let mut lx = Lexer::new(src);
    let mut out = Vec::with_capacity(src.len() / 4 + 2);
    loop {
        let t = lx.next_token();
        out.push(t);
        if t.kind == Tok::Eof {
            return out;
        }
    }
}

/// Tokens one at a time (the parser needs one token of look-ahead, so no token list is built).
pub(crate) struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    pub(crate) fn new(src: &'s str) -> Lexer<'s> {
        Lexer { src, pos: 0 }
    }

    /// The next token, whitespace and comments skipped; `Eof` at the end (and after it).
    /// Inlined into the parser's token reads, which saves a call (and its saved registers)
    /// per token.
    #[inline(always)]
    pub(crate) fn next_token(&mut self) -> Token {
        let b = self.src.as_bytes();
        let mut i = self.pos;
        let mut escaped = false;
        while let Some(&first) = b.get(i) {
            let (kind, len) = match CLASS[usize::from(first)] {
                C_SPACE => {
                    i += 1;
                    continue;
                }
                C_WORD => word(b, i),
                C_QUOTE => match str_lit(b, i) {
                    Some((n, esc)) => {
                        escaped = esc;
                        (Tok::Str, n)
                    }
                    None => (Tok::Quote, 1),
                },
                C_EQ => (Tok::Eq, if b.get(i + 1) == Some(&b'=') { 2 } else { 1 }),
                C_OTHER => match self.other(i) {
                    Ok(t) => t,
                    Err(skip_to) => {
                        i = skip_to;
                        continue;
                    }
                },
                // A token no longer rule can start with (its kind is the class).
                single => (SINGLE[usize::from(single)], 1),
            };
            self.pos = i + len;
            return Token {
                kind,
                escaped,
                start: i,
                end: i + len,
            };
        }
        self.pos = b.len();
        Token {
            kind: Tok::Eof,
            escaped: false,
            start: b.len(),
            end: b.len(),
        }
    }

    /// The token at `i` when it starts with neither a letter, `_`, ASCII whitespace nor a
    /// one-byte token: `Err` with the position after it when it is whitespace or a comment.
    #[inline(never)]
    fn other(&self, i: usize) -> Result<(Tok, usize), usize> {
        let src = self.src;
        let b = src.as_bytes();
        let first = b[i];
        let c = if first < 0x80 {
            char::from(first)
        } else {
            src[i..].chars().next().unwrap_or('\0')
        };
        if first >= 0x80 && is_ws(c) {
            return Err(i + c.len_utf8());
        }
        if first == b'/'
            && b.get(i + 1) == Some(&b'*')
            && let Some(p) = src[i + 2..].find("*/")
        {
            return Err(i + p + 4);
        }
        if first == b'/' && b.get(i + 1) == Some(&b'/') {
            let n = b[i..]
                .iter()
                .take_while(|c| **c != b'\r' && **c != b'\n')
                .count();
            return Err(i + n);
        }
        Ok(longest(b, i, c))
    }
}

/// Byte classes for the first byte of a token: ASCII whitespace, a word (letter or `_`),
/// a quote, `=`, anything else needing a closer look, or (3 to 10) a one-byte token, its
/// index in [`SINGLE`].
const C_SPACE: u8 = 0;
const C_WORD: u8 = 1;
const C_OTHER: u8 = 2;
const C_QUOTE: u8 = 11;
const C_EQ: u8 = 12;

/// The one-byte tokens (no longer rule starts with these bytes), at their class number.
static SINGLE: [Tok; 11] = [
    Tok::Invalid,
    Tok::Invalid,
    Tok::Invalid,
    Tok::LBrack,
    Tok::RBrack,
    Tok::LParen,
    Tok::RParen,
    Tok::Colon,
    Tok::Comma,
    Tok::Asterisk,
    Tok::Power,
];

const fn class_table() -> [u8; 256] {
    let mut t = [C_OTHER; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = match b {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C => C_SPACE,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => C_WORD,
            b'[' => 3,
            b']' => 4,
            b'(' => 5,
            b')' => 6,
            b':' => 7,
            b',' => 8,
            b'*' => 9,
            b'^' => 10,
            b'\'' => C_QUOTE,
            b'=' => C_EQ,
            _ => C_OTHER,
        };
        c += 1;
    }
    t
}

static CLASS: [u8; 256] = class_table();

/// Bytes that continue an identifier (`[A-Za-z0-9_]`).
const fn ident_table(hyphen: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_' || (hyphen && b == b'-');
        c += 1;
    }
    t
}

static IDENT: [bool; 256] = ident_table(false);
/// Bytes that continue an identifier with hyphens (`[A-Za-z0-9_-]`).
static IDENT_HYPHEN: [bool; 256] = ident_table(true);

/// The token at `i` (not whitespace or a comment): the longest match, ties to the rule
/// listed first in the grammar. `c` is the character at `i`.
/// (Words, quotes, `=` and the one-byte tokens are read by `Lexer::next_token` itself.)
fn longest(b: &[u8], i: usize, c: char) -> (Tok, usize) {
    let first = b[i];
    match first {
        b'!' => {
            return if b.get(i + 1) == Some(&b'=') {
                (Tok::Neq, 2)
            } else {
                (Tok::Invalid, 1)
            };
        }
        b'<' => {
            return match b.get(i + 1) {
                Some(b'>') => (Tok::Neq, 2),
                Some(b'=') => (Tok::Le, 2),
                _ => (Tok::Lt, 1),
            };
        }
        b'>' => {
            return if b.get(i + 1) == Some(&b'=') {
                (Tok::Ge, 2)
            } else {
                (Tok::Gt, 1)
            };
        }
        _ => {}
    }
    let mut best: (Tok, usize) = (Tok::Invalid, c.len_utf8());
    let mut best_len = 0usize;
    let mut offer = |t: Tok, l: Option<usize>| {
        if let Some(l) = l
            && l > best_len
        {
            best_len = l;
            best = (t, l);
        }
    };
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
        let sign = |s: u8| -> Option<usize> { (first == s).then_some(1) };
        offer(
            Tok::IntNeg,
            sign(b'-').and_then(|_| int_body(b, i + 1).map(|n| n + 1)),
        );
        let plus = usize::from(first == b'+');
        offer(Tok::IntPos, int_body(b, i + plus).map(|n| n + plus));
        offer(
            Tok::FloatNeg,
            sign(b'-').and_then(|_| float_body(b, i + 1).map(|n| n + 1)),
        );
        offer(Tok::FloatPos, float_body(b, i + plus).map(|n| n + plus));
    }
    let single = match first {
        b'.' => Some(Tok::Dot),
        b'+' => Some(Tok::Plus),
        b'-' => Some(Tok::Hyphen),
        b'/' => Some(Tok::Divide),
        b'[' => Some(Tok::LBrack),
        b']' => Some(Tok::RBrack),
        b'(' => Some(Tok::LParen),
        b')' => Some(Tok::RParen),
        b':' => Some(Tok::Colon),
        b',' => Some(Tok::Comma),
        b'*' => Some(Tok::Asterisk),
        b'^' => Some(Tok::Power),
        _ => None,
    };
    if let Some(t) = single {
        offer(t, Some(1));
    }
    best
}

/// A token starting with a letter or `_`: `h''`, `b''` and `t''` literals, `true`/`false`,
/// keywords and identifiers.
#[inline(always)]
fn word(b: &[u8], i: usize) -> (Tok, usize) {
    if b.get(i + 1) == Some(&b'\'') {
        return quoted_literal(b, i);
    }
    let rest = &b[i + 1..];
    let n1 = 1 + rest
        .iter()
        .position(|c| !IDENT[usize::from(*c)])
        .unwrap_or(rest.len());
    if b.get(i + n1) == Some(&b'-') {
        let rest = &b[i + n1..];
        let more = rest
            .iter()
            .position(|c| !IDENT_HYPHEN[usize::from(*c)])
            .unwrap_or(rest.len());
        return (Tok::IdentHyphen, n1 + more);
    }
    // `true`/`false` and the keywords are words of letters: as a prefix of a longer
    // identifier they lose to it, so only a whole word can be one of them (`Bool` is listed
    // before the `true`/`false` keywords and wins the tie).
    match keyword(&b[i..i + n1]) {
        Some(Tok::True | Tok::False) => (Tok::Bool, n1),
        Some(t) => (t, n1),
        None => (Tok::IdentNoHyphen, n1),
    }
}

/// A letter followed by a quote: a one-letter identifier, unless a `h''`, `b''` or `t''`
/// literal of this letter is longer.
#[inline(never)]
fn quoted_literal(b: &[u8], i: usize) -> (Tok, usize) {
    let lit = match b[i] {
        b'h' => hex_lit(b, i).map(|n| (Tok::Hex, n)),
        b'b' => bin_lit(b, i).map(|n| (Tok::Binary, n)),
        b't' => ts_lit(b, i).map(|n| (Tok::Timestamp, n)),
        _ => None,
    };
    lit.unwrap_or((Tok::IdentNoHyphen, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time search finds what a byte-by-byte search finds.
    #[test]
    fn quote_or_backslash_agrees_with_bytewise_search() {
        for len in 0..40 {
            for at in 0..=len {
                for c in [b'\'', b'\\', b'x'] {
                    for fill in [b'a', 0x80, 0xFF, 0x26, 0x5B] {
                        let mut s = vec![fill; len];
                        if at < len {
                            s[at] = c;
                        }
                        let expected = s.iter().position(|b| matches!(b, b'\'' | b'\\'));
                        assert_eq!(quote_or_backslash(&s), expected, "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn keyword_table_agrees_with_lookup() {
        for (kw, t) in KEYWORDS {
            assert_eq!(keyword(kw.as_bytes()), Some(*t));
        }
        assert_eq!(keyword(b"ANDX"), None);
        assert_eq!(keyword(b"and"), None);
    }
}
