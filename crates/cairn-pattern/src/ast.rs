//! The pattern syntax tree.
//!
//! The tree mirrors the OASIS grammar (`STIXPattern.g4`, stix2-patterns 2.1.2) with the
//! precedence already applied: `FOLLOWEDBY` < `OR` < `AND` at the observation level,
//! `OR` < `AND` inside brackets, qualifiers bind to the observation expression on their left.
//! Parentheses are not kept as nodes (they only group). Chains of one operator are n-ary
//! (`a OR b OR c` is one `Or` with three operands), so long indicator lists stay shallow.

use std::fmt;

/// A top-level pattern node: one or more observation expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ comparison-expression ]`: one observation whose root object satisfies the comparison.
    Comparison(ComparisonExpr),
    /// `a AND b AND ...` (two or more operands): all, bound to distinct observation instances.
    And(Vec<ObservationExpr>),
    /// `a OR b OR ...` (two or more operands): any.
    Or(Vec<ObservationExpr>),
    /// `a FOLLOWEDBY b FOLLOWEDBY ...` (two or more operands, left-associative): all on
    /// distinct instances, every instance bound on the left no later than every one on the right.
    FollowedBy(Vec<ObservationExpr>),
    /// `a WITHIN n SECONDS`, `a REPEATS n TIMES`, `a START t STOP t`.
    Qualified(Box<ObservationExpr>, Qualifier),
}

/// A boolean expression inside `[ ... ]`, evaluated against one root object at a time.
// Leaves dominate every tree, so they are stored inline rather than boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    /// All operands (two or more) hold on the same root object.
    And(Vec<ComparisonExpr>),
    /// Any operand (two or more) holds (operands may name different object types).
    Or(Vec<ComparisonExpr>),
    /// One property test.
    Comparison(Comparison),
}

/// One property test: `path [NOT] op literal`, or `[NOT] EXISTS path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The object path on the left-hand side.
    pub path: ObjectPath,
    /// The operator.
    pub op: ComparisonOp,
    /// `NOT` was written before the operator (or before `EXISTS`).
    pub negated: bool,
    /// The right-hand side; `None` only for [`ComparisonOp::Exists`].
    pub literal: Option<Literal>,
    /// Byte range of the literal in the pattern source (empty for `EXISTS`).
    pub literal_span: (usize, usize),
}

/// Comparison operators. `=`/`==` are both [`ComparisonOp::Eq`], `!=`/`<>` both [`ComparisonOp::Ne`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComparisonOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
    Exists,
}

impl ComparisonOp {
    /// The operator as written in a pattern (canonical spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            ComparisonOp::Eq => "=",
            ComparisonOp::Ne => "!=",
            ComparisonOp::Lt => "<",
            ComparisonOp::Le => "<=",
            ComparisonOp::Gt => ">",
            ComparisonOp::Ge => ">=",
            ComparisonOp::In => "IN",
            ComparisonOp::Like => "LIKE",
            ComparisonOp::Matches => "MATCHES",
            ComparisonOp::IsSubset => "ISSUBSET",
            ComparisonOp::IsSuperset => "ISSUPERSET",
            ComparisonOp::Exists => "EXISTS",
        }
    }
}

/// `type:step.step[0].step[*]`: an object type and at least one step, the first a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectPath {
    /// The SCO type, e.g. `file`.
    pub object_type: String,
    /// The property steps; `steps[0]` is always a [`PathStep::Key`].
    pub steps: Vec<PathStep>,
}

impl ObjectPath {
    /// True if any key step is `*_ref` or `*_refs` (the path crosses objects).
    pub fn has_ref(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, PathStep::Key(k) if is_ref_key(k)))
    }
}

/// `*_ref` keys hold one object id, `*_refs` keys a list of them.
fn is_ref_key(k: &str) -> bool {
    k.ends_with("_ref") || k.ends_with("_refs")
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// `.key` or `.'quoted key'` (quotes and escapes removed).
    Key(String),
    /// `[n]` (a negative index is valid syntax and never selects anything).
    Index(i64),
    /// `[*]`: every element.
    AnyIndex,
}

/// A literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An integer. Integers beyond the `i128` range are kept as [`Literal::Float`].
    Int(i128),
    Float(f64),
    /// A string, escapes (`\'`, `\\`) resolved.
    Str(String),
    Bool(bool),
    /// `h'...'`, decoded.
    Hex(Vec<u8>),
    /// `b'...'`, base64-decoded.
    Binary(Vec<u8>),
    /// `t'...'`.
    Timestamp(Timestamp),
    /// `( lit, lit, ... )`, only after `IN`.
    Set(Vec<Literal>),
}

/// A `t'...'` literal or a timestamp read from data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// The text between the quotes.
    pub text: String,
    /// Nanoseconds since the Unix epoch; `None` when the text names no real instant
    /// (e.g. `2023-02-30`), which makes every comparison with it false.
    pub nanos: Option<i128>,
}

/// An observation-expression qualifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`; `nanos` is the duration rounded down to nanoseconds.
    Within { seconds: f64, nanos: i128 },
    /// `REPEATS n TIMES` (saturates at `u64::MAX`).
    Repeats(u64),
    /// `START t STOP t`.
    StartStop { start: Timestamp, stop: Timestamp },
}

impl Qualifier {
    /// The qualifier keyword (`WITHIN`, `REPEATS`, `START`).
    pub fn kind(&self) -> &'static str {
        match self {
            Qualifier::Within { .. } => "WITHIN",
            Qualifier::Repeats(_) => "REPEATS",
            Qualifier::StartStop { .. } => "START/STOP",
        }
    }
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathStep::Key(k) => {
                if !k.is_empty()
                    && k.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    write!(f, "{k}")
                } else {
                    write!(f, "'{}'", escape_str(k))
                }
            }
            PathStep::Index(i) => write!(f, "[{i}]"),
            PathStep::AnyIndex => write!(f, "[*]"),
        }
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 && matches!(s, PathStep::Key(_)) {
                write!(f, ".")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

pub(crate) fn escape_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}
