//! Recursive-descent parser for the STIX 2.1 pattern grammar (`STIXPattern.g4`, stix2-patterns
//! 2.1.2). The grammar is LL(1) once its left recursion is written as loops, so the language
//! accepted here is exactly the reference one. It reads tokens one at a time and writes the
//! flat [`Program`] directly (no token list, no per-node allocation).

use base64::Engine as _;

use crate::ast::ComparisonOp;
use crate::compiled;
use crate::error::PatternError;
use crate::lexer::{Lexer, Tok, Token};
use crate::program::{KeyKind, NO_INSTANT, Node, Program, Span};
use crate::time::parse_timestamp;

/// Nesting limit (parentheses and brackets) protecting the stack.
pub const MAX_DEPTH: usize = 100;

pub(crate) fn parse(src: &str) -> Result<Program, PatternError> {
    if u32::try_from(src.len()).is_err() {
        return Err(PatternError::Syntax {
            offset: 0,
            line: 1,
            column: 0,
            found: "a pattern of 4 GiB or more".to_string(),
            expected: Vec::new(),
        });
    }
    let mut text = String::with_capacity(src.len() + src.len() / 2 + 16);
    text.push_str(src);
    let mut lexer = Lexer::new(src);
    let cur = lexer.next_token();
    let mut p = Parser {
        src,
        lexer,
        cur,
        prev_end: 0,
        depth: 0,
        prog: Program {
            text,
            src_len: src.len(),
            bin: Vec::new(),
            nodes: Vec::with_capacity(src.len() / 5 + 4),
            regexes: Vec::new(),
            issues: Vec::new(),
        },
    };
    p.observation_expressions()?;
    p.expect(Tok::Eof)?;
    Ok(p.prog)
}

struct Parser<'s> {
    src: &'s str,
    lexer: Lexer<'s>,
    cur: Token,
    prev_end: usize,
    depth: usize,
    prog: Program,
}

/// A set of token kinds: the list (for error messages, in the grammar's order) and a bit
/// per kind (for the test).
struct TokSet {
    list: &'static [Tok],
    bits: u64,
}

const _: () = assert!((Tok::Eof as u32) < 64);

impl TokSet {
    const fn of(list: &'static [Tok]) -> TokSet {
        let mut bits = 0u64;
        let mut i = 0;
        while i < list.len() {
            bits |= 1 << (list[i] as u32);
            i += 1;
        }
        TokSet { list, bits }
    }

    #[inline]
    fn has(&self, k: Tok) -> bool {
        self.bits >> (k as u32) & 1 != 0
    }
}

const LITERALS: TokSet = TokSet::of(&[
    Tok::IntNeg,
    Tok::IntPos,
    Tok::FloatNeg,
    Tok::FloatPos,
    Tok::Hex,
    Tok::Binary,
    Tok::Str,
    Tok::Bool,
    Tok::Timestamp,
]);

const ORDERABLE: TokSet = TokSet::of(&[
    Tok::IntNeg,
    Tok::IntPos,
    Tok::FloatNeg,
    Tok::FloatPos,
    Tok::Hex,
    Tok::Binary,
    Tok::Str,
    Tok::Timestamp,
]);

const STRING: TokSet = TokSet::of(&[Tok::Str]);

fn span(start: usize, end: usize) -> Span {
    // Lengths were checked to fit u32 before parsing; decoded text never exceeds 4 x source.
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'s> Parser<'s> {
    #[inline]
    fn peek(&self) -> Token {
        self.cur
    }

    #[inline(always)]
    fn bump(&mut self) -> Token {
        let t = self.cur;
        if t.kind != Tok::Eof {
            self.prev_end = t.end;
            self.cur = self.lexer.next_token();
        }
        t
    }

    fn text(&self, t: Token) -> &'s str {
        &self.src[t.start..t.end]
    }

    fn error(&self, expected: &[Tok]) -> PatternError {
        let t = self.peek();
        let before = &self.src[..t.start];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before, |p| &before[p + 1..])
            .chars()
            .count();
        let found = if t.kind == Tok::Eof {
            "<EOF>".to_string()
        } else {
            format!("'{}'", self.text(t))
        };
        PatternError::Syntax {
            offset: t.start,
            line,
            column,
            found,
            expected: expected.iter().map(|k| k.name().to_string()).collect(),
        }
    }

    #[inline(always)]
    fn expect(&mut self, k: Tok) -> Result<Token, PatternError> {
        if self.peek().kind == k {
            Ok(self.bump())
        } else {
            Err(self.error(&[k]))
        }
    }

    #[inline(always)]
    fn expect_one(&mut self, ks: &TokSet) -> Result<Token, PatternError> {
        if ks.has(self.peek().kind) {
            Ok(self.bump())
        } else {
            Err(self.error(ks.list))
        }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatternError::TooDeep {
                limit: MAX_DEPTH,
                offset: self.peek().start,
            });
        }
        Ok(())
    }

    fn push(&mut self, n: Node) {
        self.prog.nodes.push(n);
    }

    /// Put `n` before the nodes from `at` on (its operands) and set its length to cover them.
    fn wrap(&mut self, at: usize, make: impl FnOnce(u32) -> Node) {
        let len = len32(self.prog.nodes.len() - at + 1);
        self.prog.nodes.insert(at, make(len));
    }

    /// `first (sep next)*`: one operand stays as it is, two or more get an n-ary node.
    #[inline(always)]
    fn chain(
        &mut self,
        sep: Tok,
        mut operand: impl FnMut(&mut Self) -> Result<(), PatternError>,
        make: impl FnOnce(u32) -> Node,
    ) -> Result<(), PatternError> {
        let at = self.prog.nodes.len();
        operand(self)?;
        if self.peek().kind != sep {
            return Ok(());
        }
        while self.peek().kind == sep {
            self.bump();
            operand(self)?;
        }
        self.wrap(at, make);
        Ok(())
    }

    fn observation_expressions(&mut self) -> Result<(), PatternError> {
        self.chain(Tok::FollowedBy, Self::observation_or, |len| {
            Node::OFollowedBy { len }
        })
    }

    fn observation_or(&mut self) -> Result<(), PatternError> {
        self.chain(Tok::Or, Self::observation_and, |len| Node::OOr { len })
    }

    fn observation_and(&mut self) -> Result<(), PatternError> {
        self.chain(Tok::And, Self::observation_expression, |len| Node::OAnd {
            len,
        })
    }

    fn observation_expression(&mut self) -> Result<(), PatternError> {
        self.enter()?;
        let at = self.prog.nodes.len();
        let t = self.peek();
        let bracketed = match t.kind {
            Tok::LBrack => {
                self.bump();
                // The node goes first, its length is known once the expression is read.
                self.push(Node::Bracket { len: 0 });
                self.comparison_expression()?;
                self.expect(Tok::RBrack)?;
                self.prog.nodes[at] = Node::Bracket {
                    len: len32(self.prog.nodes.len() - at),
                };
                true
            }
            Tok::LParen => {
                self.bump();
                self.observation_expressions()?;
                self.expect(Tok::RParen)?;
                false
            }
            _ => return Err(self.error(&[Tok::LParen, Tok::LBrack])),
        };
        let mut seen: [bool; 3] = [false; 3];
        let mut quals = 0;
        loop {
            let q_tok = self.peek();
            let (kind, which) = match q_tok.kind {
                Tok::Start => {
                    self.bump();
                    let s = self.expect(Tok::Timestamp)?;
                    self.expect(Tok::Stop)?;
                    let e = self.expect(Tok::Timestamp)?;
                    let (s, e) = (self.timestamp_node(s), self.timestamp_node(e));
                    let inner = len32(self.prog.nodes.len() - at);
                    self.prog
                        .nodes
                        .splice(at..at, [Node::StartStop { len: inner + 3 }, s, e]);
                    ("START/STOP", 2)
                }
                Tok::Within => {
                    self.bump();
                    let n =
                        self.expect_one(const { &TokSet::of(&[Tok::IntPos, Tok::FloatPos]) })?;
                    self.expect(Tok::Seconds)?;
                    let txt = self.text(n).trim_start_matches('+');
                    let seconds = txt.parse().unwrap_or(f64::INFINITY);
                    let nanos = decimal_nanos(txt);
                    self.wrap(at, |len| Node::Within {
                        len,
                        seconds,
                        nanos,
                    });
                    ("WITHIN", 0)
                }
                Tok::Repeats => {
                    self.bump();
                    let n = self.expect(Tok::IntPos)?;
                    self.expect(Tok::Times)?;
                    let txt = self.text(n).trim_start_matches('+');
                    let n = txt.parse().unwrap_or(u64::MAX);
                    self.wrap(at, |len| Node::Repeats { len, n });
                    ("REPEATS", 1)
                }
                _ => break,
            };
            if bracketed {
                if seen[which] {
                    self.prog.issues.push(PatternError::DuplicateQualifier {
                        kind,
                        offset: q_tok.start,
                    });
                }
                seen[which] = true;
            }
            // Each qualifier nests the tree one level deeper.
            self.enter()?;
            quals += 1;
        }
        self.depth -= 1 + quals;
        Ok(())
    }

    fn timestamp_node(&self, t: Token) -> Node {
        let (start, end) = (t.start + 2, t.end - 1);
        Node::Ts {
            span: span(start, end),
            nanos: parse_timestamp(&self.src[start..end]).unwrap_or(NO_INSTANT),
        }
    }

    fn comparison_expression(&mut self) -> Result<(), PatternError> {
        self.chain(Tok::Or, Self::comparison_and, |len| Node::COr { len })
    }

    fn comparison_and(&mut self) -> Result<(), PatternError> {
        self.chain(Tok::And, Self::prop_test, |len| Node::CAnd { len })
    }

    fn prop_test(&mut self) -> Result<(), PatternError> {
        let t = self.peek();
        match t.kind {
            Tok::LParen => {
                self.enter()?;
                self.bump();
                self.comparison_expression()?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                Ok(())
            }
            Tok::Not | Tok::Exists => {
                let negated = t.kind == Tok::Not;
                if negated {
                    self.bump();
                }
                self.expect(Tok::Exists)?;
                let at = self.prog.nodes.len();
                self.push(Node::AnyIndex); // replaced below
                let (ty, nsteps) = self.object_path()?;
                let here = self.peek().start;
                self.prog.nodes[at] = Node::Test {
                    len: len32(self.prog.nodes.len() - at),
                    ty,
                    literal_span: span(here, here),
                    comp: 0,
                    nsteps,
                    op: ComparisonOp::Exists,
                    negated,
                };
                Ok(())
            }
            Tok::IdentNoHyphen | Tok::IdentHyphen => {
                let at = self.prog.nodes.len();
                self.push(Node::AnyIndex); // replaced below
                let (ty, nsteps) = self.object_path()?;
                let negated = if self.peek().kind == Tok::Not {
                    self.bump();
                    true
                } else {
                    false
                };
                let op_tok = self.peek();
                let op = match op_tok.kind {
                    Tok::Eq => ComparisonOp::Eq,
                    Tok::Neq => ComparisonOp::Ne,
                    Tok::Lt => ComparisonOp::Lt,
                    Tok::Le => ComparisonOp::Le,
                    Tok::Gt => ComparisonOp::Gt,
                    Tok::Ge => ComparisonOp::Ge,
                    Tok::In => ComparisonOp::In,
                    Tok::Like => ComparisonOp::Like,
                    Tok::Matches => ComparisonOp::Matches,
                    Tok::IsSubset => ComparisonOp::IsSubset,
                    Tok::IsSuperset => ComparisonOp::IsSuperset,
                    _ => {
                        let mut exp = Vec::new();
                        if !negated {
                            exp.push(Tok::Not);
                        }
                        exp.extend([
                            Tok::Eq,
                            Tok::Neq,
                            Tok::Lt,
                            Tok::Le,
                            Tok::Gt,
                            Tok::Ge,
                            Tok::In,
                            Tok::Like,
                            Tok::Matches,
                            Tok::IsSubset,
                            Tok::IsSuperset,
                        ]);
                        if !negated {
                            exp.push(Tok::Dot);
                            exp.push(Tok::LBrack);
                        }
                        return Err(self.error(&exp));
                    }
                };
                self.bump();
                let start = self.peek().start;
                let lit_at = self.prog.nodes.len();
                match op {
                    ComparisonOp::Eq | ComparisonOp::Ne => self.literal(&LITERALS)?,
                    ComparisonOp::Lt | ComparisonOp::Le | ComparisonOp::Gt | ComparisonOp::Ge => {
                        self.literal(&ORDERABLE)?
                    }
                    ComparisonOp::In => self.set_literal()?,
                    _ => self.literal(&STRING)?,
                }
                let end = self.prev_end;
                let comp_at = self.prog.nodes.len();
                let prepared = match self.prog.nodes[lit_at] {
                    Node::Str(s) => compiled::prepare(&mut self.prog, op, s),
                    _ => false,
                };
                self.prog.nodes[at] = Node::Test {
                    len: len32(self.prog.nodes.len() - at),
                    ty,
                    literal_span: span(start, end),
                    comp: if prepared { len32(comp_at - at) } else { 0 },
                    nsteps,
                    op,
                    negated,
                };
                Ok(())
            }
            _ => Err(self.error(&[
                Tok::Not,
                Tok::Exists,
                Tok::IdentNoHyphen,
                Tok::IdentHyphen,
                Tok::LParen,
            ])),
        }
    }

    /// Pushes the step nodes; returns the object type and the number of steps.
    fn object_path(&mut self) -> Result<(Span, u32), PatternError> {
        let ty = self.expect_one(const { &TokSet::of(&[Tok::IdentNoHyphen, Tok::IdentHyphen]) })?;
        self.expect(Tok::Colon)?;
        let first = self.expect_one(const { &TokSet::of(&[Tok::IdentNoHyphen, Tok::Str]) })?;
        self.key(first);
        let mut n: usize = 1;
        loop {
            match self.peek().kind {
                Tok::Dot => {
                    self.bump();
                    let k =
                        self.expect_one(const { &TokSet::of(&[Tok::IdentNoHyphen, Tok::Str]) })?;
                    self.key(k);
                }
                Tok::LBrack => {
                    self.bump();
                    let i = self.expect_one(
                        const { &TokSet::of(&[Tok::IntPos, Tok::IntNeg, Tok::Asterisk]) },
                    )?;
                    self.expect(Tok::RBrack)?;
                    let step = match i.kind {
                        Tok::Asterisk => Node::AnyIndex,
                        _ => {
                            let txt = self.text(i).trim_start_matches('+');
                            Node::Index(txt.parse().unwrap_or(if txt.starts_with('-') {
                                i64::MIN
                            } else {
                                i64::MAX
                            }))
                        }
                    };
                    self.push(step);
                }
                _ => break,
            }
            n += 1;
        }
        Ok((span(ty.start, ty.end), len32(n)))
    }

    fn key(&mut self, t: Token) {
        let span = if t.kind == Tok::Str {
            self.string(t)
        } else {
            span(t.start, t.end)
        };
        // The suffix is looked for only when the last byte can end it.
        let k = self.prog.bytes(span);
        let kind = match k.last() {
            Some(b'f') if k.ends_with(b"_ref") => KeyKind::Ref,
            Some(b's') if k.ends_with(b"_refs") => KeyKind::Refs,
            Some(b'x') if k.ends_with(b"_hex") => KeyKind::Hex,
            Some(b'n') if k.ends_with(b"_bin") => KeyKind::Bin,
            _ => KeyKind::Plain,
        };
        self.push(Node::Key { span, kind });
    }

    /// The value of a string literal token: its inner text, or its unescaped copy.
    fn string(&mut self, t: Token) -> Span {
        if !t.escaped {
            return span(t.start + 1, t.end - 1);
        }
        let inner = &self.src[t.start + 1..t.end - 1];
        let start = self.prog.text.len();
        // The lexer only lets `\\` and `\'` through: each backslash escapes the next byte.
        let mut rest = inner;
        while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
            self.prog.text.push_str(&rest[..at]);
            let escaped = rest[at + 1..].chars().next();
            if let Some(c) = escaped {
                self.prog.text.push(c);
            }
            rest = &rest[at + 1 + escaped.map_or(0, char::len_utf8)..];
        }
        self.prog.text.push_str(rest);
        span(start, self.prog.text.len())
    }

    fn set_literal(&mut self) -> Result<(), PatternError> {
        self.expect(Tok::LParen)?;
        let at = self.prog.nodes.len();
        if self.peek().kind != Tok::RParen {
            loop {
                self.literal(&LITERALS)?;
                match self.peek().kind {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RParen => break,
                    _ => return Err(self.error(&[Tok::Comma, Tok::RParen])),
                }
            }
        }
        self.bump();
        self.wrap(at, |len| Node::Set { len });
        Ok(())
    }

    fn bytes(&mut self, b: Option<Vec<u8>>) -> Span {
        let start = self.prog.bin.len();
        if let Some(b) = b {
            self.prog.bin.extend_from_slice(&b);
        }
        span(start, self.prog.bin.len())
    }

    fn literal(&mut self, allowed: &TokSet) -> Result<(), PatternError> {
        let t = self.expect_one(allowed)?;
        let txt = self.text(t);
        let node = match t.kind {
            Tok::IntNeg | Tok::IntPos => {
                let s = txt.trim_start_matches('+');
                match small_int(s).map_or_else(|| s.parse::<i128>(), Ok) {
                    Ok(v) => Node::Int(v),
                    Err(_) => Node::Float(s.parse().unwrap_or(if s.starts_with('-') {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    })),
                }
            }
            Tok::FloatNeg | Tok::FloatPos => {
                Node::Float(txt.trim_start_matches('+').parse().unwrap_or(0.0))
            }
            Tok::Str => Node::Str(self.string(t)),
            Tok::Bool => Node::Bool(txt == "true"),
            Tok::Hex => Node::Hex(self.bytes(decode_hex(&txt[2..txt.len() - 1]))),
            Tok::Binary => Node::Binary(
                self.bytes(
                    base64::engine::general_purpose::STANDARD
                        .decode(&txt[2..txt.len() - 1])
                        .ok(),
                ),
            ),
            _ => self.timestamp_node(t),
        };
        self.push(node);
        Ok(())
    }
}

/// An integer literal of at most 18 digits (`-` allowed), read without the general parser.
fn small_int(s: &str) -> Option<i128> {
    let (neg, digits) = match s.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(i128::from(if neg { -v } else { v }))
}

pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let b = s.as_bytes();
    (0..b.len())
        .step_by(2)
        .map(|i| {
            let h = (b[i] as char).to_digit(16)?;
            let l = (b[i + 1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// Decimal text (`12`, `1.5`, `.25`) to nanoseconds, truncating past 9 fraction digits.
fn decimal_nanos(s: &str) -> i128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut n: i128 = 0;
    for c in int.bytes() {
        n = n.saturating_mul(10).saturating_add(i128::from(c - b'0'));
    }
    n = n.saturating_mul(1_000_000_000);
    let mut f: i128 = 0;
    let mut scale = 100_000_000;
    for c in frac.bytes().take(9) {
        f += i128::from(c - b'0') * scale;
        scale /= 10;
    }
    n.saturating_add(f)
}
