//! Errors of parsing and validation.

/// Why a pattern was rejected. Every variant carries the byte offset in the pattern where the
/// problem starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The text does not follow the STIX 2.1 pattern grammar.
    #[error("syntax error at line {line}:{column}: found {found}, expected {}", expected.join(" or "))]
    Syntax {
        /// Byte offset of the offending token.
        offset: usize,
        /// 1-based line.
        line: usize,
        /// 0-based column, in characters.
        column: usize,
        /// The offending token (`<EOF>` at the end).
        found: String,
        /// What the grammar allows at that point.
        expected: Vec<String>,
    },
    /// A hash value that does not fit its hash type (`file:hashes.MD5 = 'xyz'`).
    #[error("'{value}' is not a valid {hash_type} hash (at offset {offset})")]
    InvalidHash {
        /// The hash key as written in the path.
        hash_type: String,
        /// The literal as written, quotes removed (as the reference validator checks it).
        value: String,
        offset: usize,
    },
    /// Two qualifiers of one type directly on one bracketed observation expression.
    #[error("duplicate qualifier type {kind} on one observation expression (at offset {offset})")]
    DuplicateQualifier { kind: &'static str, offset: usize },
    /// Nesting beyond the parser's depth limit.
    #[error("pattern nests deeper than {limit} levels (at offset {offset})")]
    TooDeep { limit: usize, offset: usize },
}

impl PatternError {
    /// Byte offset in the pattern where the problem starts.
    pub fn offset(&self) -> usize {
        match self {
            PatternError::Syntax { offset, .. }
            | PatternError::InvalidHash { offset, .. }
            | PatternError::DuplicateQualifier { offset, .. }
            | PatternError::TooDeep { offset, .. } => *offset,
        }
    }

    /// True for grammar errors, false for the validator's semantic checks.
    pub fn is_syntax(&self) -> bool {
        matches!(
            self,
            PatternError::Syntax { .. } | PatternError::TooDeep { .. }
        )
    }
}

/// Why an observed-data object could not be turned into an [`crate::Observation`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObservationError {
    /// A required property is missing or has the wrong JSON type.
    #[error("observed-data {id}: property {property} is missing or not a {expected}")]
    Property {
        id: String,
        property: &'static str,
        expected: &'static str,
    },
    /// `first_observed`/`last_observed` is not a STIX timestamp.
    #[error("observed-data {id}: {property} is not a timestamp: {value}")]
    Timestamp {
        id: String,
        property: &'static str,
        value: String,
    },
}
