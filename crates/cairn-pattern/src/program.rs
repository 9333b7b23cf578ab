//! The parsed pattern as the evaluator reads it: one flat vector of nodes in prefix order, with
//! every string a span of one text buffer (the pattern source, followed by whatever had to be
//! decoded: unescaped strings, NFC forms, literal regex alternatives) and decoded bytes in a
//! second buffer. Parsing a pattern therefore allocates a handful of buffers rather than a
//! `String` or `Vec` per node; the public syntax tree ([`crate::ObservationExpr`]) is built
//! from this form only when asked for.
//!
//! Every node that can be an operand carries `len`, the number of nodes of its subtree
//! (itself included), so operands are walked by skipping subtrees.

use std::sync::{Arc, OnceLock};

use crate::ast::{
    Comparison, ComparisonExpr, ComparisonOp, Literal, ObjectPath, ObservationExpr, PathStep,
    Qualifier, Timestamp,
};
use crate::compiled::Net;
use crate::error::PatternError;

/// `nanos` of a timestamp that names no real instant.
pub(crate) const NO_INSTANT: i128 = i128::MIN;

/// A byte range of [`Program::text`] (or of [`Program::bin`] for bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// What a key step does with the value it selects (decided once, from the key's suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Plain,
    /// `*_ref`: an object id, resolved within the observation.
    Ref,
    /// `*_refs`: a list of object ids.
    Refs,
    /// `*_hex`: bytes written in hex.
    Hex,
    /// `*_bin`: bytes written in base64.
    Bin,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Node {
    // Observation expressions.
    /// Operands follow.
    OAnd {
        len: u32,
    },
    OOr {
        len: u32,
    },
    OFollowedBy {
        len: u32,
    },
    /// The operand follows.
    Within {
        len: u32,
        seconds: f64,
        nanos: i128,
    },
    Repeats {
        len: u32,
        n: u64,
    },
    /// Two [`Node::Ts`] follow (start, stop), then the operand.
    StartStop {
        len: u32,
    },
    /// `[ ... ]`: the comparison expression follows.
    Bracket {
        len: u32,
    },
    // Comparison expressions.
    CAnd {
        len: u32,
    },
    COr {
        len: u32,
    },
    /// One property test: `nsteps` step nodes follow, then the literal (none for `EXISTS`),
    /// and at `comp` (relative, 0 when there is none) the prepared form of the literal.
    Test {
        len: u32,
        ty: Span,
        literal_span: Span,
        comp: u32,
        nsteps: u32,
        op: ComparisonOp,
        negated: bool,
    },
    // Path steps.
    Key {
        span: Span,
        kind: KeyKind,
    },
    Index(i64),
    AnyIndex,
    // Literals.
    Int(i128),
    Float(f64),
    Str(Span),
    Bool(bool),
    /// Bytes in [`Program::bin`].
    Hex(Span),
    Binary(Span),
    /// The text between the quotes, and its instant ([`NO_INSTANT`] when there is none).
    Ts {
        span: Span,
        nanos: i128,
    },
    /// Members follow.
    Set {
        len: u32,
    },
    // Prepared literals.
    /// `LIKE`: the pattern text in NFC.
    Like {
        span: Span,
        latin1: bool,
    },
    /// `MATCHES` with a regex that is only literal text: `nalts` [`Node::Alt`]s follow.
    LiteralRegex {
        nalts: u32,
        start: bool,
        end: bool,
        fold: bool,
        latin1: bool,
    },
    Alt(Span),
    /// `MATCHES` with a regex for the regex engine: the source in NFC, its slot in
    /// [`Program::regexes`].
    Regex {
        src: Span,
        slot: u32,
        latin1: bool,
    },
    /// `ISSUBSET`/`ISSUPERSET`: the literal as a network, if it is one.
    Net {
        valid: bool,
        v6: bool,
        prefix: u8,
        addr: u128,
    },
}

const _: () = assert!(std::mem::size_of::<Node>() <= 32);

impl Node {
    /// Number of nodes of the subtree starting here (1 for nodes without operands).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match *self {
            Node::OAnd { len }
            | Node::OOr { len }
            | Node::OFollowedBy { len }
            | Node::Within { len, .. }
            | Node::Repeats { len, .. }
            | Node::StartStop { len }
            | Node::Bracket { len }
            | Node::CAnd { len }
            | Node::COr { len }
            | Node::Test { len, .. }
            | Node::Set { len } => len as usize,
            _ => 1,
        }
    }
}

/// The compiled forms of one `MATCHES` regex of a pattern, each made on first use (from the
/// process-wide cache, see [`crate::compiled`]) and then kept with the pattern.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegexSlot {
    pub text: OnceLock<Arc<Result<regex_automata::meta::Regex, String>>>,
    pub ascii: OnceLock<Option<Arc<regex_automata::meta::Regex>>>,
    pub bytes: OnceLock<Option<Arc<regex::bytes::Regex>>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Program {
    /// The pattern source, then decoded strings.
    pub text: String,
    pub src_len: usize,
    /// Decoded `h''`/`b''` literals.
    pub bin: Vec<u8>,
    /// The root is `nodes[0]`.
    pub nodes: Vec<Node>,
    pub regexes: Vec<RegexSlot>,
    /// Duplicate-qualifier findings (reported by validation, not by parsing).
    pub issues: Vec<PatternError>,
}

/// The operands of the node at `i` whose first operand is at `first`.
pub(crate) struct Operands<'p> {
    nodes: &'p [Node],
    at: usize,
    end: usize,
}

impl Iterator for Operands<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.at >= self.end {
            return None;
        }
        let i = self.at;
        self.at += self.nodes[i].len();
        Some(i)
    }
}

impl Program {
    #[inline]
    pub(crate) fn str(&self, s: Span) -> &str {
        &self.text[s.range()]
    }

    /// The bytes of a span of the text (no check that it falls on character boundaries, for
    /// comparing).
    #[inline]
    pub(crate) fn bytes(&self, s: Span) -> &[u8] {
        &self.text.as_bytes()[s.range()]
    }

    pub(crate) fn source(&self) -> &str {
        &self.text[..self.src_len]
    }

    /// Operands of the n-ary node at `i` (they start right after it).
    #[inline]
    pub(crate) fn operands(&self, i: usize) -> Operands<'_> {
        Operands {
            nodes: &self.nodes,
            at: i + 1,
            end: i + self.nodes[i].len(),
        }
    }

    /// Every `Test` node index, left to right.
    pub(crate) fn tests(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n, Node::Test { .. }))
            .map(|(i, _)| i)
    }

    /// The path of the test at `i`, as the public tree has it.
    pub(crate) fn path(&self, i: usize) -> ObjectPath {
        let Node::Test { ty, nsteps, .. } = self.nodes[i] else {
            unreachable!("path of a test node");
        };
        let steps = self.nodes[i + 1..i + 1 + nsteps as usize]
            .iter()
            .map(|s| match *s {
                Node::Key { span, .. } => PathStep::Key(self.str(span).to_string()),
                Node::Index(n) => PathStep::Index(n),
                _ => PathStep::AnyIndex,
            })
            .collect();
        ObjectPath {
            object_type: self.str(ty).to_string(),
            steps,
        }
    }

    fn timestamp(&self, i: usize) -> Timestamp {
        match self.nodes[i] {
            Node::Ts { span, nanos } => Timestamp {
                text: self.str(span).to_string(),
                nanos: (nanos != NO_INSTANT).then_some(nanos),
            },
            _ => unreachable!("timestamp node"),
        }
    }

    fn literal(&self, i: usize) -> Literal {
        match self.nodes[i] {
            Node::Int(v) => Literal::Int(v),
            Node::Float(v) => Literal::Float(v),
            Node::Str(s) => Literal::Str(self.str(s).to_string()),
            Node::Bool(b) => Literal::Bool(b),
            Node::Hex(s) => Literal::Hex(self.bin[s.range()].to_vec()),
            Node::Binary(s) => Literal::Binary(self.bin[s.range()].to_vec()),
            Node::Ts { .. } => Literal::Timestamp(self.timestamp(i)),
            Node::Set { .. } => Literal::Set(self.operands(i).map(|m| self.literal(m)).collect()),
            _ => unreachable!("literal node"),
        }
    }

    fn comparison(&self, i: usize) -> ComparisonExpr {
        match self.nodes[i] {
            Node::CAnd { .. } => {
                ComparisonExpr::And(self.operands(i).map(|x| self.comparison(x)).collect())
            }
            Node::COr { .. } => {
                ComparisonExpr::Or(self.operands(i).map(|x| self.comparison(x)).collect())
            }
            Node::Test {
                literal_span,
                nsteps,
                op,
                negated,
                ..
            } => ComparisonExpr::Comparison(Comparison {
                path: self.path(i),
                op,
                negated,
                literal: (op != ComparisonOp::Exists)
                    .then(|| self.literal(i + 1 + nsteps as usize)),
                literal_span: (literal_span.start as usize, literal_span.end as usize),
            }),
            _ => unreachable!("comparison node"),
        }
    }

    pub(crate) fn observation(&self, i: usize) -> ObservationExpr {
        let ops = |i| self.operands(i).map(|x| self.observation(x)).collect();
        match self.nodes[i] {
            Node::OAnd { .. } => ObservationExpr::And(ops(i)),
            Node::OOr { .. } => ObservationExpr::Or(ops(i)),
            Node::OFollowedBy { .. } => ObservationExpr::FollowedBy(ops(i)),
            Node::Bracket { .. } => ObservationExpr::Comparison(self.comparison(i + 1)),
            Node::Within { seconds, nanos, .. } => ObservationExpr::Qualified(
                Box::new(self.observation(i + 1)),
                Qualifier::Within { seconds, nanos },
            ),
            Node::Repeats { n, .. } => {
                ObservationExpr::Qualified(Box::new(self.observation(i + 1)), Qualifier::Repeats(n))
            }
            Node::StartStop { .. } => ObservationExpr::Qualified(
                Box::new(self.observation(i + 3)),
                Qualifier::StartStop {
                    start: self.timestamp(i + 1),
                    stop: self.timestamp(i + 2),
                },
            ),
            _ => unreachable!("observation node"),
        }
    }

    /// The prepared network of an `ISSUBSET`/`ISSUPERSET` test node.
    pub(crate) fn net(&self, comp: usize) -> Option<Net> {
        match self.nodes[comp] {
            Node::Net {
                valid: true,
                v6,
                prefix,
                addr,
            } => Some(Net { v6, addr, prefix }),
            _ => None,
        }
    }
}
