//! Redaction: what of an object version a destination may receive, given its granular markings.

use serde_json::Value;

use crate::decision::{Access, decide, decide_at};
use crate::labels::{ObjectLabels, REQUIRED_PROPERTIES};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Parses a STIX 2.1 granular-marking selector (`a.b`, `a.[0].b`) into segments.
fn parse_selector(selector: &str) -> Option<Vec<Seg>> {
    if selector.is_empty() {
        return None;
    }
    selector
        .split('.')
        .map(|part| {
            if let Some(n) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
                n.parse().ok().map(Seg::Index)
            } else if part.is_empty() {
                None
            } else {
                Some(Seg::Key(part.to_string()))
            }
        })
        .collect()
}

fn render(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => format!("[{i}]"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn exists(v: &Value, path: &[Seg]) -> bool {
    let mut cur = v;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => match m.get(k) {
                Some(x) => x,
                None => return false,
            },
            (Seg::Index(i), Value::Array(a)) => match a.get(*i) {
                Some(x) => x,
                None => return false,
            },
            _ => return false,
        };
    }
    true
}

fn get_mut<'v>(v: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes `path` from `v`; returns true when something was removed. A list emptied by the
/// removal is removed from its parent object too (STIX lists are never empty).
fn remove(v: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    let Some(parent) = get_mut(v, parent_path) else {
        return false;
    };
    match (last, parent) {
        (Seg::Key(k), Value::Object(m)) => m.shift_remove(k).is_some(),
        (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            if a.is_empty() {
                remove_empty_list(v, parent_path);
            }
            true
        }
        _ => false,
    }
}

fn remove_empty_list(v: &mut Value, list_path: &[Seg]) {
    if let Some((Seg::Key(k), grand)) = list_path.split_last()
        && let Some(Value::Object(m)) = get_mut(v, grand)
    {
        m.shift_remove(k);
    }
}

/// What `access.to` may receive of `object`: `None` when it may not receive the object at all
/// (or when a property it may not see is one the object cannot lose, such as `id`); otherwise
/// a copy without the properties under granular markings more restrictive than it may see
/// (a property's level is the more restrictive of the object's and the granular marking's),
/// with `granular_markings` pruned of selectors that no longer point anywhere and list indexes
/// renumbered.
pub fn redact(object: &Value, labels: &ObjectLabels, access: &Access<'_>) -> Option<Value> {
    let object_decision = decide(labels, access);
    if !object_decision.allowed {
        return None;
    }
    let object_tlp = object_decision.tlp;
    let mut denied: Vec<Vec<Seg>> = Vec::new();
    for g in &labels.granular {
        if g.tlp <= object_tlp || decide_at(g.tlp.max(object_tlp), labels, access).allowed {
            continue;
        }
        for sel in &g.selectors {
            let Some(path) = parse_selector(sel) else {
                continue;
            };
            if !exists(object, &path) {
                continue;
            }
            if let Some(Seg::Key(first)) = path.first()
                && REQUIRED_PROPERTIES.contains(&first.as_str())
            {
                return None;
            }
            denied.push(path);
        }
    }
    if denied.is_empty() {
        return Some(object.clone());
    }
    let mut out = object.clone();
    // The granular markings' selectors, kept in step with the removals.
    let mut kept: Vec<Vec<Option<Vec<Seg>>>> = out
        .get("granular_markings")
        .and_then(Value::as_array)
        .map(|gms| {
            gms.iter()
                .map(|gm| {
                    gm.get("selectors")
                        .and_then(Value::as_array)
                        .map(|s| {
                            s.iter()
                                .map(|x| x.as_str().and_then(parse_selector))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    denied.sort();
    denied.dedup();
    // Deepest and highest index first: removing one never moves another still to remove.
    for path in denied.iter().rev() {
        if !remove(&mut out, path) {
            continue;
        }
        for sels in &mut kept {
            for sel in sels.iter_mut() {
                let Some(s) = sel else { continue };
                if s.starts_with(path) {
                    *sel = None;
                    continue;
                }
                if let Some((Seg::Index(removed), parent)) = path.split_last()
                    && s.len() > parent.len()
                    && s.starts_with(parent)
                    && let Seg::Index(j) = &mut s[parent.len()]
                    && *j > *removed
                {
                    *j -= 1;
                }
            }
        }
    }
    // Drop selectors that no longer resolve (gone with an emptied list) and empty markings.
    let resolved: Vec<Vec<String>> = kept
        .iter()
        .map(|sels| {
            sels.iter()
                .flatten()
                .filter(|s| exists(&out, s))
                .map(|s| render(s))
                .collect()
        })
        .collect();
    if let Some(Value::Array(gms)) = out.get_mut("granular_markings") {
        let mut i = 0;
        gms.retain_mut(|gm| {
            let sels = resolved.get(i).cloned().unwrap_or_default();
            i += 1;
            if sels.is_empty() {
                return false;
            }
            if let Some(obj) = gm.as_object_mut() {
                obj.insert(
                    "selectors".into(),
                    Value::Array(sels.into_iter().map(Value::String).collect()),
                );
            }
            true
        });
        if gms.is_empty()
            && let Some(m) = out.as_object_mut()
        {
            m.shift_remove("granular_markings");
        }
    }
    Some(out)
}
