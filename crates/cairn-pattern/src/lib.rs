//! STIX 2.1 Patterning: parser, validator and evaluator. No IO and no async.
//!
//! # Main types
//!
//! * [`Pattern`]: a parsed pattern. [`Pattern::parse`] applies the grammar only
//!   (`STIXPattern.g4` of stix2-patterns 2.1.2, the same language); [`Pattern::validate`] (or
//!   the free function [`validate`]) also applies the reference validator's semantic checks
//!   (hash values per hash type, one qualifier type per bracketed expression).
//! * [`PatternError`]: why a pattern was rejected, with the byte offset, line/column and what
//!   the grammar expected there.
//! * Inside, a pattern is one flat vector of nodes over one text buffer (the source and the
//!   decoded strings), written by the parser as it reads tokens, so parsing allocates a
//!   handful of buffers rather than a `String` or `Vec` per node; the evaluator reads that
//!   form. Precedence and grouping are resolved; string escapes, `h''`/`b''` and `t''`
//!   literals are decoded. `LIKE` patterns are put in NFC at parse time; a `MATCHES` regex
//!   that is only literal text (`^abc$`, `^(a|b)$`, `(?i)xyz`, ...) is answered by string
//!   comparison without a regex engine, any other is compiled on first use and kept with the
//!   pattern (without Unicode for ASCII values when that decides the same, which is far
//!   cheaper to build), and compiled regexes are shared through a bounded process-wide cache
//!   ([`REGEX_CACHE_SIZE`] entries, oldest dropped first; compiled regexes only, never match
//!   results). A [`Pattern`] is `Send + Sync` and can be shared between threads.
//! * The public syntax tree, for compiled matchers and other analyses, built from that form
//!   on the first call of [`Pattern::root`] and then kept: [`ObservationExpr`] (`[..]`,
//!   `AND`, `OR`, `FOLLOWEDBY`, qualified), [`ComparisonExpr`] (`AND`/`OR` inside brackets),
//!   [`Comparison`] `{ path, op, negated, literal, literal_span }`, [`ObjectPath`]
//!   (`object_type` + [`PathStep`]s), [`Literal`], [`Qualifier`], [`Timestamp`].
//! * [`Observation`]: one observed-data SDO as the evaluator sees it: `first_observed`,
//!   `last_observed` (nanoseconds), `number_observed` and its SCOs (borrowed
//!   `serde_json::Value`s, by id). [`observations_from_bundle`] builds them from bundle objects.
//! * [`Pattern::matches`] evaluates a pattern against a slice of observations;
//!   [`Pattern::matches_bundle`] against the objects of a bundle directly (the same result and
//!   errors as [`observations_from_bundle`] followed by [`Pattern::matches`], without building
//!   [`Observation`]s for small bundles).
//!
//! # Evaluation semantics (STIX 2.1 Part 5, as the OASIS stix2-matcher applies it)
//!
//! * A bracketed comparison expression holds on an observation when one root SCO of that
//!   observation satisfies it: `AND` needs both sides on the same root object, `OR` may mix
//!   objects and types. Paths step through `*_ref`/`*_refs` to SCOs of the same observation
//!   only; `[*]` holds if any element passes (`NOT` applies per element); `[n]` after `*_refs`
//!   indexes the list as written. A missing property makes a comparison false, also under
//!   `NOT` and `!=`.
//! * Values: ints and floats compare numerically; `*_hex`/`*_bin` properties are bytes and
//!   compare with `h''`/`b''` literals and, byte-wise, with strings whose code points are all
//!   below 256; `t''` literals compare with timestamp strings as instants. Mixed types: `=`
//!   false, `!=` true, ordering false. `IN` is `=` against any member. `LIKE` and `MATCHES`
//!   apply NFC to both sides; `MATCHES` is an unanchored search with `.` matching newlines;
//!   `ISSUBSET`/`ISSUPERSET` work on IPv4 and IPv6 addresses and CIDRs.
//! * An observed-data with `number_observed: n` is `n` interchangeable instances. Observation
//!   `AND`, `FOLLOWEDBY` and `REPEATS` bind distinct instances; `FOLLOWEDBY` needs every
//!   left instance's `first_observed` ≤ every right instance's `last_observed`; `WITHIN`
//!   needs a window of that length touching every bound interval; `START s STOP e` needs each
//!   bound interval to overlap `[s, e)`. `WITHIN 0` and `REPEATS 0` (outside the
//!   specification's positive values) never match.
//!
//! * Deviations from the reference matcher, where it contradicts the specification or crashes
//!   (each covered by `tests/fixtures/spec_cases.jsonl`): `NOT EXISTS` is honoured; `EXISTS`
//!   combines with `AND`/`OR`; IPv6, `/0` and bare-address containers work in
//!   `ISSUBSET`/`ISSUPERSET`; `IN` agrees with `=` (no `true == 1`, bytes vs strings as for
//!   `=`, mixed sets allowed); timestamps keep nine fraction digits; a `t''` literal against a
//!   non-timestamp string is a type mismatch; `:60` is a leap second, a date that does not
//!   exist matches nothing; `[n]` after `*_refs` indexes the list as written; `LIKE` does not
//!   ignore a final newline.
//!
//! Bindings are searched as per-observation instance counts, keeping only minimal ones, which is
//! exact because every constraint only gets easier with fewer bound instances. At most
//! [`MAX_BINDINGS`] candidate bindings are kept per sub-expression (a `REPEATS` whose exact
//! set would be larger keeps, per run of matching observations in time order, the bindings
//! filling the count from either end) and at most [`MAX_PAIRS`]
//! pairs are examined when combining two (beyond that a match may be missed, never invented);
//! combining is quadratic in the candidates: the evaluator is meant for checking one
//! pattern against a handful of observations (an indicator against an observed-data bundle),
//! not for streams of thousands of observations.

mod ast;
mod compiled;
mod error;
mod eval;
mod lexer;
mod parser;
mod program;
mod time;
mod validate;

use std::sync::OnceLock;

pub use ast::{
    Comparison, ComparisonExpr, ComparisonOp, Literal, ObjectPath, ObservationExpr, PathStep,
    Qualifier, Timestamp,
};
pub use compiled::{Net, REGEX_CACHE_SIZE};
pub use error::{ObservationError, PatternError};
pub use eval::{MAX_BINDINGS, MAX_PAIRS, Observation, observations_from_bundle};
pub use parser::MAX_DEPTH;
pub use time::parse_timestamp;

/// A parsed STIX 2.1 pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    prog: program::Program,
    /// The public syntax tree, built on first use.
    tree: OnceLock<ObservationExpr>,
}

impl PartialEq for Pattern {
    /// Same pattern text (the tree is a function of it).
    fn eq(&self, other: &Pattern) -> bool {
        self.source() == other.source()
    }
}

impl Pattern {
    /// Parse against the grammar only (no semantic checks). Nesting deeper than
    /// [`MAX_DEPTH`] groups or stacked qualifiers is rejected with [`PatternError::TooDeep`]
    /// (the grammar itself has no limit; chains such as `a OR b OR ...` do not count).
    pub fn parse(src: &str) -> Result<Pattern, PatternError> {
        Ok(Pattern {
            prog: parser::parse(src)?,
            tree: OnceLock::new(),
        })
    }

    /// Parse and apply the reference validator's semantic checks; the first problem found
    /// is returned (duplicate qualifiers first, then hash values in pattern order).
    pub fn validate(src: &str) -> Result<Pattern, PatternError> {
        let p = Pattern::parse(src)?;
        if let Some(e) = p.prog.issues.first() {
            return Err(e.clone());
        }
        let mut hashes = Vec::new();
        validate::check_hashes(&p.prog, &mut hashes);
        match hashes.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(p),
        }
    }

    /// All semantic problems of a parsed pattern (empty when it is valid).
    pub fn semantic_errors(&self) -> Vec<PatternError> {
        let mut out = self.prog.issues.clone();
        validate::check_hashes(&self.prog, &mut out);
        out
    }

    /// The pattern text as given.
    pub fn source(&self) -> &str {
        self.prog.source()
    }

    /// The syntax tree (built on the first call, then kept).
    pub fn root(&self) -> &ObservationExpr {
        self.tree.get_or_init(|| self.prog.observation(0))
    }

    /// Regexes this engine cannot compile (the pattern is valid, but such `MATCHES`/`LIKE`
    /// comparisons never hold). Empty for evaluable patterns.
    pub fn unsupported(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in self.prog.tests() {
            let program::Node::Test { comp, op, .. } = self.prog.nodes[i] else {
                continue;
            };
            if comp == 0 {
                continue;
            }
            if let Some(msg) = compiled::regex_error(&self.prog, i + comp as usize) {
                out.push(format!("{} {}: {msg}", self.prog.path(i), op.as_str()));
            }
        }
        out
    }

    /// Does the pattern match these observations?
    pub fn matches(&self, observations: &[Observation<'_>]) -> bool {
        eval::matches(&self.prog, observations)
    }

    /// Does the pattern match the observations of these bundle objects (observed-data SDOs
    /// and SCOs in any order)? The same as [`observations_from_bundle`] followed by
    /// [`Pattern::matches`], errors included, without building [`Observation`]s for bundles
    /// of up to 48 SCOs.
    pub fn matches_bundle<'a, I>(&self, objects: I) -> Result<bool, ObservationError>
    where
        I: IntoIterator<Item = &'a serde_json::Value>,
        I::IntoIter: Clone,
    {
        eval::matches_bundle(&self.prog, objects)
    }
}

impl std::fmt::Display for Pattern {
    /// The pattern text as given.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.source())
    }
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;

    /// Same as [`Pattern::validate`].
    fn from_str(s: &str) -> Result<Pattern, PatternError> {
        Pattern::validate(s)
    }
}

/// [`Pattern::validate`] as a free function.
pub fn validate(src: &str) -> Result<Pattern, PatternError> {
    Pattern::validate(src)
}
