//! The reference validator's semantic checks on top of the grammar: hash values must fit their
//! hash type, and one bracketed observation expression takes each qualifier type at most once.

use crate::ast::{Comparison, ComparisonExpr, ComparisonOp, Literal, ObservationExpr, PathStep};
use crate::error::PatternError;

/// Hash types the reference validator checks, keyed by the upper-cased name without `-`.
fn hash_ok(hash_type: &str, v: &str) -> Option<bool> {
    let hex = |c: char| c.is_ascii_hexdigit();
    // The reference uses Python `re.match(r"^...$")`: `$` also matches before a final newline.
    let body = v.strip_suffix('\n').unwrap_or(v);
    let full_hex = |n: usize| body.chars().count() == n && body.chars().all(hex);
    Some(match hash_type {
        "MD5" => full_hex(32),
        "RIPEMD160" | "SHA1" => full_hex(40),
        "SHA224" | "SHA3224" => full_hex(56),
        "SHA256" | "SHA3256" => full_hex(64),
        "SHA384" | "SHA3384" => full_hex(96),
        "SHA512" | "SHA3512" | "WHIRLPOOL" => full_hex(128),
        "SSDEEP" => {
            let n = body.chars().count();
            (1..=128).contains(&n)
                && body
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/+:.".contains(c))
        }
        // The reference's MD6 expression is an unanchored alternation: it accepts any value
        // that starts with 32 hex digits (or with a newline, four spaces and 64 hex digits).
        "MD6" => {
            v.chars().take(32).filter(|c| hex(*c)).count() == 32
                || v.strip_prefix("\n    ")
                    .is_some_and(|r| r.chars().take(64).filter(|c| hex(*c)).count() == 64)
        }
        _ => return None,
    })
}

pub(crate) fn check_hashes(src: &str, root: &ObservationExpr, out: &mut Vec<PatternError>) {
    fn cmp(src: &str, e: &ComparisonExpr, out: &mut Vec<PatternError>) {
        match e {
            ComparisonExpr::And(v) | ComparisonExpr::Or(v) => {
                v.iter().for_each(|x| cmp(src, x, out));
            }
            ComparisonExpr::Comparison(c) => check_one(src, c, out),
        }
    }
    match root {
        ObservationExpr::Comparison(c) => cmp(src, c, out),
        ObservationExpr::And(v) | ObservationExpr::Or(v) | ObservationExpr::FollowedBy(v) => {
            v.iter().for_each(|x| check_hashes(src, x, out));
        }
        ObservationExpr::Qualified(e, _) => check_hashes(src, e, out),
    }
}

fn check_one(src: &str, c: &Comparison, out: &mut Vec<PatternError>) {
    if c.op == ComparisonOp::Exists {
        return;
    }
    if !c
        .path
        .steps
        .iter()
        .any(|s| matches!(s, PathStep::Key(k) if k == "hashes"))
    {
        return;
    }
    let Some(PathStep::Key(selector)) = c.path.steps.last() else {
        return;
    };
    let hash_type = selector.to_uppercase().replace(['-', '\''], "");
    // The reference checks the literal's source text (a set as `(a,b)`), quotes removed.
    let raw = match &c.literal {
        Some(Literal::Set(_)) => set_text(src, c),
        _ => src
            .get(c.literal_span.0..c.literal_span.1)
            .unwrap_or_default()
            .to_string(),
    };
    let value = raw.replace('\'', "");
    if hash_ok(&hash_type, &value) == Some(false) {
        out.push(PatternError::InvalidHash {
            hash_type: selector.clone(),
            value,
            offset: c.literal_span.0,
        });
    }
}

/// The set literal's tokens concatenated without whitespace or comments.
fn set_text(src: &str, c: &Comparison) -> String {
    let inner = src
        .get(c.literal_span.0..c.literal_span.1)
        .unwrap_or_default();
    crate::lexer::lex(inner)
        .iter()
        .map(|t| &inner[t.start..t.end])
        .collect()
}
