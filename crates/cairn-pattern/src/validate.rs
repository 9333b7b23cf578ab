//! The reference validator's semantic checks on top of the grammar: hash values must fit their
//! hash type, and one bracketed observation expression takes each qualifier type at most once.

use crate::ast::ComparisonOp;
use crate::error::PatternError;
use crate::program::{Node, Program};

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

pub(crate) fn check_hashes(prog: &Program, out: &mut Vec<PatternError>) {
    for i in prog.tests() {
        check_one(prog, i, out);
    }
}

fn check_one(prog: &Program, i: usize, out: &mut Vec<PatternError>) {
    let Node::Test {
        nsteps,
        op,
        literal_span,
        ..
    } = prog.nodes[i]
    else {
        return;
    };
    if op == ComparisonOp::Exists {
        return;
    }
    let steps = &prog.nodes[i + 1..i + 1 + nsteps as usize];
    let key = |n: &Node| match *n {
        Node::Key { span, .. } => Some(prog.str(span)),
        _ => None,
    };
    if !steps.iter().any(|s| key(s) == Some("hashes")) {
        return;
    }
    let Some(selector) = steps.last().and_then(key) else {
        return;
    };
    let hash_type = selector.to_uppercase().replace(['-', '\''], "");
    // The reference checks the literal's source text (a set as `(a,b)`), quotes removed.
    let src = prog.source();
    let lit = src.get(literal_span.range()).unwrap_or_default();
    let raw = match prog.nodes[i + 1 + nsteps as usize] {
        Node::Set { .. } => set_text(lit),
        _ => lit.to_string(),
    };
    let value = raw.replace('\'', "");
    if hash_ok(&hash_type, &value) == Some(false) {
        out.push(PatternError::InvalidHash {
            hash_type: selector.to_string(),
            value,
            offset: literal_span.start as usize,
        });
    }
}

/// The set literal's tokens concatenated without whitespace or comments.
fn set_text(inner: &str) -> String {
    crate::lexer::lex(inner)
        .iter()
        .map(|t| &inner[t.start..t.end])
        .collect()
}
