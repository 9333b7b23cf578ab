//! Pattern analysis: which facts of a record can make a pattern true.
//!
//! An *anchor* is a necessary condition on the flat facts of an observation: if a comparison
//! expression holds on an observation, at least one of its anchors fires on that observation's
//! facts. Anchors only select candidates; the evaluator of `cairn-pattern` decides. So anchors
//! must never be too narrow (a miss) and may be too wide (extra work).

use cairn_pattern::{
    Comparison, ComparisonExpr, ComparisonOp, Literal, Net, ObservationExpr, PathStep,
};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use unicode_normalization::UnicodeNormalization;

/// A scalar that an exact anchor compares with (after number normalisation).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i128),
    FloatBits(u64),
    Bool(bool),
}

impl Scalar {
    /// Integral floats are the same key as the integer (`80 = 80.0` holds).
    pub(crate) fn from_f64(f: f64) -> Scalar {
        if f.fract() == 0.0 && f.abs() < 1.7e38 {
            Scalar::Int(f as i128)
        } else {
            Scalar::FloatBits(f.to_bits())
        }
    }
}

/// A necessary condition for a comparison expression to hold on an observation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Anchor {
    /// A fact with this (type, path) slot equals the value.
    Exact { slot: String, value: Scalar },
    /// A fact of this slot is an address or network within `net`.
    Cidr { slot: String, net: Net },
    /// A fact of this slot contains this literal (after NFC).
    Literal { slot: String, literal: String },
    /// The observation has an object of this type.
    Type(String),
}

impl Anchor {
    fn cost(&self) -> u64 {
        match self {
            Anchor::Exact { .. } => 1,
            Anchor::Cidr { .. } => 2,
            Anchor::Literal { literal, .. } => 4 + 16u64.saturating_sub(literal.len() as u64),
            Anchor::Type(_) => 10_000,
        }
    }
}

/// The slot name of a path: `type\0steps`, where steps are keys joined by `.`, and any index
/// step is written `[*]` (a fact at `[*]` stands for every element).
pub(crate) fn slot_of(object_type: &str, steps: &[PathStep]) -> String {
    let mut s = String::with_capacity(object_type.len() + 16);
    s.push_str(object_type);
    s.push('\0');
    let mut first = true;
    for st in steps {
        match st {
            PathStep::Key(k) => {
                if !first {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathStep::Index(_) | PathStep::AnyIndex => s.push_str("[*]"),
        }
        first = false;
    }
    s
}

/// Can facts answer this path exactly? Facts hold scalars at most one reference deep, without
/// the common properties `type`, `id`, `spec_version`; binary (`*_hex`, `*_bin`) properties
/// compare as bytes, which facts do not model.
fn factual_path(steps: &[PathStep]) -> bool {
    let mut refs = 0;
    let mut last_is_ref = false;
    for st in steps {
        if let PathStep::Key(k) = st {
            last_is_ref = k.ends_with("_ref") || k.ends_with("_refs");
            if last_is_ref {
                refs += 1;
            }
            if k.ends_with("_hex") || k.ends_with("_bin") {
                return false;
            }
        }
    }
    // Facts carry properties, not the common `type`/`id`/`spec_version` (nor through refs).
    if let Some(PathStep::Key(k)) = steps.last()
        && matches!(k.as_str(), "type" | "id" | "spec_version")
    {
        return false;
    }
    // `x_refs[*]` (an index after a ref key) is still a reference value: `last_is_ref` holds.
    refs <= 1 && !last_is_ref
}

fn scalar_of(l: &Literal) -> Option<Scalar> {
    Some(match l {
        Literal::Str(s) => Scalar::Str(s.clone()),
        Literal::Int(i) => Scalar::Int(*i),
        Literal::Float(f) => Scalar::from_f64(*f),
        Literal::Bool(b) => Scalar::Bool(*b),
        _ => return None,
    })
}

/// The longest run of literal characters of a `LIKE` pattern (NFC), if any.
fn like_literal(s: &str) -> Option<String> {
    let nfc: String = s.nfc().collect();
    nfc.split(['%', '_'])
        .max_by_key(|p| p.len())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// Literals one of which every match of a `MATCHES` regex (unanchored search, `(?s)`, NFC)
/// contains; `None` when no such finite set is known.
fn regex_literals(s: &str) -> Option<Vec<String>> {
    let nfc: String = s.nfc().collect();
    let hir = regex_syntax::ParserBuilder::new()
        .dot_matches_new_line(true)
        .build()
        .parse(&nfc)
        .ok()?;
    let mut seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    seq.optimize_for_prefix_by_preference();
    let lits = seq.literals()?;
    if lits.is_empty() || lits.len() > 64 {
        return None;
    }
    let mut out = Vec::new();
    for l in lits {
        let text = std::str::from_utf8(l.as_bytes()).ok()?;
        if text.is_empty() {
            return None;
        }
        out.push(text.to_string());
    }
    Some(out)
}

fn comparison_anchors(c: &Comparison) -> Vec<Anchor> {
    let type_only = || vec![Anchor::Type(c.path.object_type.clone())];
    if c.negated || !factual_path(&c.path.steps) {
        return type_only();
    }
    let slot = || slot_of(&c.path.object_type, &c.path.steps);
    match (c.op, &c.literal) {
        (ComparisonOp::Eq, Some(l)) => match scalar_of(l) {
            Some(value) => vec![Anchor::Exact {
                slot: slot(),
                value,
            }],
            None => type_only(),
        },
        (ComparisonOp::In, Some(Literal::Set(items))) => {
            let mut out = Vec::new();
            for l in items {
                match scalar_of(l) {
                    Some(value) => out.push(Anchor::Exact {
                        slot: slot(),
                        value,
                    }),
                    None => return type_only(),
                }
            }
            if out.is_empty() { type_only() } else { out }
        }
        (ComparisonOp::IsSubset, Some(Literal::Str(s))) => match Net::parse(s) {
            Some(net) => vec![Anchor::Cidr { slot: slot(), net }],
            None => type_only(),
        },
        (ComparisonOp::Like, Some(Literal::Str(s))) => match like_literal(s) {
            Some(literal) => vec![Anchor::Literal {
                slot: slot(),
                literal,
            }],
            None => type_only(),
        },
        (ComparisonOp::Matches, Some(Literal::Str(s))) => match regex_literals(s) {
            Some(lits) => lits
                .into_iter()
                .map(|literal| Anchor::Literal {
                    slot: slot(),
                    literal,
                })
                .collect(),
            None => type_only(),
        },
        _ => type_only(),
    }
}

fn cost(v: &[Anchor]) -> u64 {
    v.iter().map(Anchor::cost).sum()
}

/// Anchors of a comparison expression: `AND` keeps the cheaper side (either is necessary),
/// `OR` needs both sides' anchors.
pub(crate) fn expr_anchors(e: &ComparisonExpr) -> Vec<Anchor> {
    match e {
        ComparisonExpr::Comparison(c) => comparison_anchors(c),
        ComparisonExpr::And(items) => items
            .iter()
            .map(expr_anchors)
            .min_by_key(|x| cost(x))
            .unwrap_or_default(),
        ComparisonExpr::Or(items) => {
            let mut x: Vec<Anchor> = Vec::new();
            for anchor in items.iter().flat_map(expr_anchors) {
                if !x.contains(&anchor) {
                    x.push(anchor);
                }
            }
            x
        }
    }
}

/// Every bracketed comparison expression of a pattern, left to right.
pub(crate) fn leaves(e: &ObservationExpr) -> Vec<&ComparisonExpr> {
    fn walk<'a>(e: &'a ObservationExpr, out: &mut Vec<&'a ComparisonExpr>) {
        match e {
            ObservationExpr::Comparison(c) => out.push(c),
            ObservationExpr::And(items)
            | ObservationExpr::Or(items)
            | ObservationExpr::FollowedBy(items) => {
                for i in items {
                    walk(i, out);
                }
            }
            ObservationExpr::Qualified(a, _) => walk(a, out),
        }
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

/// The text of one bracketed comparison expression as a pattern of its own, rebuilt from the
/// tree and the literal spans of `source`.
pub(crate) fn leaf_text(source: &str, e: &ComparisonExpr) -> Option<String> {
    fn render(source: &str, e: &ComparisonExpr, out: &mut String) -> Option<()> {
        match e {
            ComparisonExpr::Comparison(c) => {
                if c.op == ComparisonOp::Exists {
                    if c.negated {
                        out.push_str("NOT ");
                    }
                    out.push_str("EXISTS ");
                    out.push_str(&c.path.to_string());
                } else {
                    out.push_str(&c.path.to_string());
                    out.push(' ');
                    if c.negated {
                        out.push_str("NOT ");
                    }
                    out.push_str(c.op.as_str());
                    out.push(' ');
                    out.push_str(source.get(c.literal_span.0..c.literal_span.1)?);
                }
            }
            ComparisonExpr::And(items) | ComparisonExpr::Or(items) => {
                let op = if matches!(e, ComparisonExpr::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(op);
                    }
                    out.push('(');
                    render(source, item, out)?;
                    out.push(')');
                }
            }
        }
        Some(())
    }
    let mut s = String::from("[");
    render(source, e, &mut s)?;
    s.push(']');
    Some(s)
}
