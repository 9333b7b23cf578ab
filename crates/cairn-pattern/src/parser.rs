//! Recursive-descent parser for the STIX 2.1 pattern grammar (`STIXPattern.g4`, stix2-patterns
//! 2.1.2). The grammar is LL(1) once its left recursion is written as loops, so the language
//! accepted here is exactly the reference one.

use base64::Engine as _;

use crate::ast::*;
use crate::compiled::Compiled;
use crate::error::PatternError;
use crate::lexer::{Tok, Token, lex};
use crate::time::parse_timestamp;

/// Nesting limit (parentheses and brackets) protecting the stack.
pub const MAX_DEPTH: usize = 100;

pub(crate) struct Parsed {
    pub root: ObservationExpr,
    /// Duplicate-qualifier findings (reported by validation, not by parsing).
    pub qualifier_issues: Vec<PatternError>,
}

pub(crate) fn parse(src: &str) -> Result<Parsed, PatternError> {
    let toks = lex(src);
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth: 0,
        issues: Vec::new(),
    };
    let root = p.observation_expressions()?;
    p.expect(Tok::Eof)?;
    Ok(Parsed {
        root,
        qualifier_issues: p.issues,
    })
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    issues: Vec<PatternError>,
}

const LITERALS: &[Tok] = &[
    Tok::IntNeg,
    Tok::IntPos,
    Tok::FloatNeg,
    Tok::FloatPos,
    Tok::Hex,
    Tok::Binary,
    Tok::Str,
    Tok::Bool,
    Tok::Timestamp,
];

const ORDERABLE: &[Tok] = &[
    Tok::IntNeg,
    Tok::IntPos,
    Tok::FloatNeg,
    Tok::FloatPos,
    Tok::Hex,
    Tok::Binary,
    Tok::Str,
    Tok::Timestamp,
];

impl<'s> Parser<'s> {
    fn peek(&self) -> Token {
        self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
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

    fn expect(&mut self, k: Tok) -> Result<Token, PatternError> {
        if self.peek().kind == k {
            Ok(self.bump())
        } else {
            Err(self.error(&[k]))
        }
    }

    fn expect_one(&mut self, ks: &[Tok]) -> Result<Token, PatternError> {
        if ks.contains(&self.peek().kind) {
            Ok(self.bump())
        } else {
            Err(self.error(ks))
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

    fn observation_expressions(&mut self) -> Result<ObservationExpr, PatternError> {
        let first = self.observation_or()?;
        if self.peek().kind != Tok::FollowedBy {
            return Ok(first);
        }
        let mut items = Vec::with_capacity(4);
        items.push(first);
        while self.peek().kind == Tok::FollowedBy {
            self.bump();
            items.push(self.observation_or()?);
        }
        Ok(ObservationExpr::FollowedBy(items))
    }

    fn observation_or(&mut self) -> Result<ObservationExpr, PatternError> {
        let first = self.observation_and()?;
        if self.peek().kind != Tok::Or {
            return Ok(first);
        }
        let mut items = Vec::with_capacity(4);
        items.push(first);
        while self.peek().kind == Tok::Or {
            self.bump();
            items.push(self.observation_and()?);
        }
        Ok(ObservationExpr::Or(items))
    }

    fn observation_and(&mut self) -> Result<ObservationExpr, PatternError> {
        let first = self.observation_expression()?;
        if self.peek().kind != Tok::And {
            return Ok(first);
        }
        let mut items = Vec::with_capacity(4);
        items.push(first);
        while self.peek().kind == Tok::And {
            self.bump();
            items.push(self.observation_expression()?);
        }
        Ok(ObservationExpr::And(items))
    }

    fn observation_expression(&mut self) -> Result<ObservationExpr, PatternError> {
        self.enter()?;
        let t = self.peek();
        let (mut expr, bracketed) = match t.kind {
            Tok::LBrack => {
                self.bump();
                let c = self.comparison_expression()?;
                self.expect(Tok::RBrack)?;
                (ObservationExpr::Comparison(c), true)
            }
            Tok::LParen => {
                self.bump();
                let e = self.observation_expressions()?;
                self.expect(Tok::RParen)?;
                (e, false)
            }
            _ => return Err(self.error(&[Tok::LParen, Tok::LBrack])),
        };
        let mut seen: Vec<&'static str> = Vec::new();
        let mut quals = 0;
        loop {
            let q_tok = self.peek();
            let q = match q_tok.kind {
                Tok::Start => {
                    self.bump();
                    let s = self.expect(Tok::Timestamp)?;
                    self.expect(Tok::Stop)?;
                    let e = self.expect(Tok::Timestamp)?;
                    Qualifier::StartStop {
                        start: timestamp_literal(self.text(s)),
                        stop: timestamp_literal(self.text(e)),
                    }
                }
                Tok::Within => {
                    self.bump();
                    let n = self.expect_one(&[Tok::IntPos, Tok::FloatPos])?;
                    self.expect(Tok::Seconds)?;
                    let txt = self.text(n).trim_start_matches('+');
                    Qualifier::Within {
                        seconds: txt.parse().unwrap_or(f64::INFINITY),
                        nanos: decimal_nanos(txt),
                    }
                }
                Tok::Repeats => {
                    self.bump();
                    let n = self.expect(Tok::IntPos)?;
                    self.expect(Tok::Times)?;
                    let txt = self.text(n).trim_start_matches('+');
                    Qualifier::Repeats(txt.parse().unwrap_or(u64::MAX))
                }
                _ => break,
            };
            if bracketed {
                if seen.contains(&q.kind()) {
                    self.issues.push(PatternError::DuplicateQualifier {
                        kind: q.kind(),
                        offset: q_tok.start,
                    });
                }
                seen.push(q.kind());
            }
            expr = ObservationExpr::Qualified(Box::new(expr), q);
            // Each qualifier nests the tree one level deeper.
            self.enter()?;
            quals += 1;
        }
        self.depth -= 1 + quals;
        Ok(expr)
    }

    fn comparison_expression(&mut self) -> Result<ComparisonExpr, PatternError> {
        let first = self.comparison_and()?;
        if self.peek().kind != Tok::Or {
            return Ok(first);
        }
        let mut items = Vec::with_capacity(4);
        items.push(first);
        while self.peek().kind == Tok::Or {
            self.bump();
            items.push(self.comparison_and()?);
        }
        Ok(ComparisonExpr::Or(items))
    }

    fn comparison_and(&mut self) -> Result<ComparisonExpr, PatternError> {
        let first = self.prop_test()?;
        if self.peek().kind != Tok::And {
            return Ok(first);
        }
        let mut items = Vec::with_capacity(4);
        items.push(first);
        while self.peek().kind == Tok::And {
            self.bump();
            items.push(self.prop_test()?);
        }
        Ok(ComparisonExpr::And(items))
    }

    fn prop_test(&mut self) -> Result<ComparisonExpr, PatternError> {
        let t = self.peek();
        match t.kind {
            Tok::LParen => {
                self.enter()?;
                self.bump();
                let e = self.comparison_expression()?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                Ok(e)
            }
            Tok::Not | Tok::Exists => {
                let negated = t.kind == Tok::Not;
                if negated {
                    self.bump();
                }
                self.expect(Tok::Exists)?;
                let path = self.object_path()?;
                let at = self.peek().start;
                Ok(ComparisonExpr::Comparison(Comparison {
                    path,
                    op: ComparisonOp::Exists,
                    negated,
                    literal: None,
                    literal_span: (at, at),
                    compiled: Compiled::None,
                }))
            }
            Tok::IdentNoHyphen | Tok::IdentHyphen => {
                let path = self.object_path()?;
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
                let literal = match op {
                    ComparisonOp::Eq | ComparisonOp::Ne => self.literal(LITERALS)?,
                    ComparisonOp::Lt | ComparisonOp::Le | ComparisonOp::Gt | ComparisonOp::Ge => {
                        self.literal(ORDERABLE)?
                    }
                    ComparisonOp::In => self.set_literal()?,
                    _ => self.literal(&[Tok::Str])?,
                };
                let end = self.toks[self.pos - 1].end;
                let compiled = Compiled::new(op, &literal);
                Ok(ComparisonExpr::Comparison(Comparison {
                    path,
                    op,
                    negated,
                    literal: Some(literal),
                    literal_span: (start, end),
                    compiled,
                }))
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

    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let ty = self.expect_one(&[Tok::IdentNoHyphen, Tok::IdentHyphen])?;
        let object_type = self.text(ty).to_string();
        self.expect(Tok::Colon)?;
        let first = self.expect_one(&[Tok::IdentNoHyphen, Tok::Str])?;
        let mut steps = Vec::with_capacity(4);
        steps.push(PathStep::Key(self.key_text(first)));
        loop {
            match self.peek().kind {
                Tok::Dot => {
                    self.bump();
                    let k = self.expect_one(&[Tok::IdentNoHyphen, Tok::Str])?;
                    steps.push(PathStep::Key(self.key_text(k)));
                }
                Tok::LBrack => {
                    self.bump();
                    let i = self.expect_one(&[Tok::IntPos, Tok::IntNeg, Tok::Asterisk])?;
                    self.expect(Tok::RBrack)?;
                    steps.push(match i.kind {
                        Tok::Asterisk => PathStep::AnyIndex,
                        _ => {
                            let txt = self.text(i).trim_start_matches('+');
                            PathStep::Index(txt.parse().unwrap_or(if txt.starts_with('-') {
                                i64::MIN
                            } else {
                                i64::MAX
                            }))
                        }
                    });
                }
                _ => break,
            }
        }
        Ok(ObjectPath { object_type, steps })
    }

    fn key_text(&self, t: Token) -> String {
        if t.kind == Tok::Str {
            unescape(self.text(t))
        } else {
            self.text(t).to_string()
        }
    }

    fn set_literal(&mut self) -> Result<Literal, PatternError> {
        self.expect(Tok::LParen)?;
        let mut items = Vec::new();
        if self.peek().kind == Tok::RParen {
            self.bump();
            return Ok(Literal::Set(items));
        }
        loop {
            items.push(self.literal(LITERALS)?);
            match self.peek().kind {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => {
                    self.bump();
                    return Ok(Literal::Set(items));
                }
                _ => return Err(self.error(&[Tok::Comma, Tok::RParen])),
            }
        }
    }

    fn literal(&mut self, allowed: &[Tok]) -> Result<Literal, PatternError> {
        let t = self.expect_one(allowed)?;
        let txt = self.text(t);
        Ok(match t.kind {
            Tok::IntNeg | Tok::IntPos => {
                let s = txt.trim_start_matches('+');
                match s.parse::<i128>() {
                    Ok(v) => Literal::Int(v),
                    Err(_) => Literal::Float(s.parse().unwrap_or(if s.starts_with('-') {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    })),
                }
            }
            Tok::FloatNeg | Tok::FloatPos => {
                Literal::Float(txt.trim_start_matches('+').parse().unwrap_or(0.0))
            }
            Tok::Str => Literal::Str(unescape(txt)),
            Tok::Bool => Literal::Bool(txt == "true"),
            Tok::Hex => Literal::Hex(decode_hex(&txt[2..txt.len() - 1]).unwrap_or_default()),
            Tok::Binary => Literal::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(&txt[2..txt.len() - 1])
                    .unwrap_or_default(),
            ),
            _ => Literal::Timestamp(timestamp_literal(txt)),
        })
    }
}

fn timestamp_literal(txt: &str) -> Timestamp {
    let inner = &txt[2..txt.len() - 1];
    Timestamp {
        text: inner.to_string(),
        nanos: parse_timestamp(inner),
    }
}

/// Remove the quotes of a string literal and resolve `\'` and `\\`.
pub(crate) fn unescape(txt: &str) -> String {
    let inner = &txt[1..txt.len() - 1];
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
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
