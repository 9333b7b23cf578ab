//! Property tests on random worlds: nations, organizations, sharing groups, collections with
//! random grants, users and peers, objects with random object-level and granular markings and
//! recipients. Fixed seed; `CAIRN_PROPTEST_CASES` raises the number of cases.

use std::collections::{BTreeMap, BTreeSet};

use cairn_policy::marking::{
    TLP1_MAPPING, TLP2_MARKING_IDS, recipients_marking_definition, standard_tlp,
};
use cairn_policy::{
    Access, CollectionPolicy, Destination, Grant, Grantee, GroupRef, IdentityRef, MarkingRegistry,
    Nation, ObjectLabels, OrgKind, OrgRef, Organization, Path, Principal, ReadFilter, Role,
    SharingGroup, Tlp, User, World, decide, decide_at, redact,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};
use uuid::Uuid;

const SEED: &[u8; 32] = b"cairn-policy/proptest/fixed-seed";
const NATIONS: [&str; 4] = ["FR", "DE", "EE", "KR"];
const SELECTORS: [&str; 15] = [
    "name",
    "description",
    "pattern",
    "labels.[0]",
    "labels.[1]",
    "labels.[2]",
    "external_references.[0]",
    "external_references.[1]",
    "external_references.[2]",
    "external_references.[0].url",
    "external_references.[1].url",
    "external_references.[2].source_name",
    "external_references",
    "id",
    "created",
];

fn runner() -> TestRunner {
    let cases = std::env::var("CAIRN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let config = Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, SEED))
}

/// The ten standard marking ids: TLP 2.0 then TLP 1.0.
fn standard_marking(i: usize) -> &'static str {
    if i < 5 {
        TLP2_MARKING_IDS[i]
    } else {
        TLP1_MAPPING[(i - 5) % 4].0
    }
}

#[derive(Debug, Clone)]
struct CollSpec {
    default_tlp: usize,
    anonymous: bool,
    grants: Vec<(u8, usize, bool, bool)>,
}

#[derive(Debug, Clone)]
struct ObjSpec {
    markings: Vec<usize>,
    creator: Option<usize>,
    recipients: Vec<usize>,
    granular: Vec<(usize, Vec<usize>)>,
}

#[derive(Debug, Clone)]
struct Spec {
    nations: usize,
    orgs: Vec<(usize, usize)>,
    groups: Vec<u8>,
    users: Vec<(usize, usize)>,
    source: CollSpec,
    targets: Vec<CollSpec>,
    objects: Vec<ObjSpec>,
}

fn coll_spec() -> impl Strategy<Value = CollSpec> {
    (
        0usize..5,
        prop::bool::weighted(0.25),
        prop::collection::vec((0u8..4, 0usize..8, any::<bool>(), any::<bool>()), 0..4),
    )
        .prop_map(|(default_tlp, anonymous, grants)| CollSpec {
            default_tlp,
            anonymous,
            grants,
        })
}

fn obj_spec() -> impl Strategy<Value = ObjSpec> {
    (
        prop::collection::vec(0usize..9, 0..4),
        prop::option::of(0usize..12),
        prop::collection::vec(0usize..12, 0..3),
        prop::collection::vec(
            (
                0usize..9,
                prop::collection::vec(0usize..SELECTORS.len(), 1..4),
            ),
            0..4,
        ),
    )
        .prop_map(|(markings, creator, recipients, granular)| ObjSpec {
            markings,
            creator,
            recipients,
            granular,
        })
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        1usize..=NATIONS.len(),
        prop::collection::vec((0usize..4, 0usize..10), 1..6),
        prop::collection::vec(any::<u8>(), 0..3),
        prop::collection::vec((0usize..8, 0usize..4), 1..7),
        coll_spec(),
        prop::collection::vec(coll_spec(), 1..3),
        prop::collection::vec(obj_spec(), 1..4),
    )
        .prop_map(
            |(nations, orgs, groups, users, source, targets, objects)| Spec {
                nations,
                orgs,
                groups,
                users,
                source,
                targets,
                objects,
            },
        )
}

/// A world, its collections, principals and objects, built from a spec.
struct Case {
    world: World,
    source: CollectionPolicy,
    targets: Vec<CollectionPolicy>,
    /// Every identity a marking may name: organizations, groups, and one from elsewhere.
    identities: Vec<IdentityRef>,
    registry: MarkingRegistry,
    objects: Vec<Value>,
}

fn build(spec: &Spec) -> Case {
    let nations: Vec<Nation> = NATIONS[..spec.nations]
        .iter()
        .map(|n| Nation::parse(n).unwrap())
        .collect();
    let mut world = World {
        nations: nations.iter().copied().collect(),
        ..World::default()
    };
    let mut orgs = Vec::new();
    for (i, (n, k)) in spec.orgs.iter().enumerate() {
        let org = Organization {
            id: Uuid::from_u128(0x1000 + i as u128),
            name: format!("org-{i}"),
            nation: nations[n % nations.len()],
            kind: OrgKind::ALL[*k],
            identity: IdentityRef(Uuid::from_u128(0xA000 + i as u128)),
        };
        orgs.push(OrgRef {
            id: org.id,
            identity: org.identity,
        });
        world.organizations.insert(org.id, org);
    }
    let mut groups = Vec::new();
    for (g, mask) in spec.groups.iter().enumerate() {
        let mut members: BTreeSet<Uuid> = orgs
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
            .map(|(_, o)| o.id)
            .collect();
        if members.is_empty() {
            members.insert(orgs[0].id);
        }
        let group = SharingGroup {
            id: Uuid::from_u128(0x2000 + g as u128),
            name: format!("group-{g}"),
            owner: *members.iter().next().unwrap(),
            identity: IdentityRef(Uuid::from_u128(0xB000 + g as u128)),
            members,
        };
        groups.push(GroupRef {
            id: group.id,
            identity: group.identity,
        });
        world.groups.insert(group.id, group);
    }
    for (u, (o, r)) in spec.users.iter().enumerate() {
        let user = User {
            id: Uuid::from_u128(0x3000 + u as u128),
            name: format!("user-{u}"),
            org: orgs[o % orgs.len()].id,
            role: Role::ALL[*r],
        };
        world.users.insert(user.id, user);
    }
    world.validate().expect("generated world is consistent");

    let collection = |c: &CollSpec, id: u128| {
        let grants = c
            .grants
            .iter()
            .map(|(kind, idx, read, write)| Grant {
                to: match kind {
                    0 => Grantee::Organization(orgs[idx % orgs.len()]),
                    1 if !groups.is_empty() => Grantee::SharingGroup(groups[idx % groups.len()]),
                    2 => Grantee::Nation(nations[idx % nations.len()]),
                    _ => Grantee::Community,
                },
                read: *read || !*write,
                write: *write,
            })
            .collect();
        let policy = CollectionPolicy {
            id: Uuid::from_u128(id),
            default_tlp: if c.anonymous {
                Tlp::Clear
            } else {
                Tlp::ALL[c.default_tlp]
            },
            anonymous_read: c.anonymous,
            grants,
        };
        policy.validate().expect("generated collection is valid");
        policy
    };
    let source = collection(&spec.source, 0x4000);
    let targets = spec
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| collection(t, 0x4001 + i as u128))
        .collect();

    let mut identities: Vec<IdentityRef> = orgs.iter().map(|o| o.identity).collect();
    identities.extend(groups.iter().map(|g| g.identity));
    identities.push(IdentityRef(Uuid::from_u128(0xF000)));

    let mut registry = MarkingRegistry::standard();
    let mut objects = Vec::new();
    for (n, o) in spec.objects.iter().enumerate() {
        let mut refs: Vec<String> = o
            .markings
            .iter()
            .map(|m| standard_marking(*m).to_string())
            .collect();
        if !o.recipients.is_empty() {
            let named: Vec<IdentityRef> = o
                .recipients
                .iter()
                .map(|r| identities[r % identities.len()])
                .collect();
            let id = format!(
                "marking-definition--{}",
                Uuid::from_u128(0xC000 + n as u128)
            );
            registry
                .learn(&recipients_marking_definition(
                    &id,
                    "2026-11-30T00:00:00.000Z",
                    &named,
                    &[],
                ))
                .expect("recipients marking");
            refs.push(id);
        }
        let mut granular: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (m, sels) in &o.granular {
            let entry = granular.entry(*m).or_default();
            for s in sels {
                if !entry.contains(&SELECTORS[*s]) {
                    entry.push(SELECTORS[*s]);
                }
            }
        }
        let mut obj = json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": format!("indicator--{}", Uuid::from_u128(0xD000 + n as u128)),
            "created": format!("2026-11-0{}T00:00:00.000Z", n + 1),
            "modified": format!("2026-11-0{}T00:00:00.000Z", n + 1),
            "name": format!("v{n}-name"),
            "description": format!("v{n}-description"),
            "pattern": format!("v{n}-pattern"),
            "labels": [format!("v{n}-l0"), format!("v{n}-l1"), format!("v{n}-l2")],
            "external_references": [
                {"source_name": format!("v{n}-e0-s"), "url": format!("v{n}-e0-u")},
                {"source_name": format!("v{n}-e1-s"), "url": format!("v{n}-e1-u")},
                {"source_name": format!("v{n}-e2-s"), "url": format!("v{n}-e2-u")}
            ]
        });
        if let Some(c) = o.creator {
            obj["created_by_ref"] = json!(identities[c % identities.len()].stix_id());
        }
        if !refs.is_empty() {
            obj["object_marking_refs"] = json!(refs);
        }
        if !granular.is_empty() {
            obj["granular_markings"] = granular
                .iter()
                .map(|(m, sels)| json!({"marking_ref": standard_marking(*m), "selectors": sels}))
                .collect();
        }
        objects.push(obj);
    }
    Case {
        world,
        source,
        targets,
        identities,
        registry,
        objects,
    }
}

fn principals(world: &World) -> Vec<(bool, Principal)> {
    let mut out = Vec::new();
    for u in world.users.values() {
        out.push((true, world.user_principal(u.id).unwrap()));
    }
    for o in world.organizations.values() {
        out.push((false, world.peer_for_org(o.id).unwrap()));
    }
    for n in &world.nations {
        out.push((false, world.peer_for_nation(*n).unwrap()));
    }
    out
}

/// Every destination of the case, with a name for messages.
fn destinations<'a>(
    case: &'a Case,
    principals: &'a [(bool, Principal)],
) -> Vec<(String, Destination<'a>)> {
    let mut out = vec![("anonymous".to_string(), Destination::Anonymous)];
    for (is_user, p) in principals {
        let name = format!(
            "{:?} in {} groups {}",
            p.org.map(|o| o.identity),
            p.nation,
            p.groups.len()
        );
        out.push(if *is_user {
            (format!("user {name}"), Destination::User(p))
        } else {
            (format!("peer {name}"), Destination::Peer(p))
        });
    }
    for t in &case.targets {
        out.push((format!("collection {}", t.id), Destination::Collection(t)));
    }
    out
}

fn parse_selector(s: &str) -> Vec<Value> {
    s.split('.')
        .map(
            |p| match p.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
                Some(n) => json!(n.parse::<usize>().unwrap()),
                None => json!(p),
            },
        )
        .collect()
}

fn resolve<'v>(v: &'v Value, sel: &str) -> Option<&'v Value> {
    let mut cur = v;
    for seg in parse_selector(sel) {
        cur = match seg {
            Value::Number(n) => cur.as_array()?.get(n.as_u64()? as usize)?,
            Value::String(k) => cur.as_object()?.get(&k)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        Value::Object(m) => m.values().for_each(|x| leaves(x, out)),
        _ => {}
    }
}

/// The content strings of an object, without its markings.
fn content(v: &Value) -> BTreeSet<String> {
    let mut out = Vec::new();
    if let Some(m) = v.as_object() {
        for (k, x) in m {
            if k != "granular_markings" && k != "object_marking_refs" {
                leaves(x, &mut out);
            }
        }
    }
    out.into_iter().collect()
}

fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let principals = principals(&case.world);
    let dests = destinations(case, &principals);
    let source = &case.source;
    for obj in &case.objects {
        let labels = ObjectLabels::from_object_in(obj, &case.registry);

        // The extractor: the most restrictive object-level marking is the object's TLP.
        let refs: Vec<&str> = obj["object_marking_refs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let max = refs.iter().filter_map(|r| standard_tlp(r)).max();
        prop_assert_eq!(labels.tlp, max);
        let effective = labels.effective_tlp(source.default_tlp);
        prop_assert!(effective >= max.unwrap_or(source.default_tlp));
        // The same object with only its most restrictive TLP marking decides the same.
        let mut single = obj.clone();
        if let Some(t) = max {
            let keep: Vec<&str> = refs
                .iter()
                .copied()
                .filter(|r| standard_tlp(r).is_none())
                .chain(std::iter::once(t.marking_id()))
                .collect();
            single["object_marking_refs"] = json!(keep);
        }
        let single_labels = ObjectLabels::from_object_in(&single, &case.registry);

        // Adding a marking at least as restrictive as the effective level.
        let stricter: Vec<ObjectLabels> = Tlp::ALL
            .into_iter()
            .filter(|t| *t >= effective)
            .map(|t| {
                let mut o = obj.clone();
                let mut r: Vec<Value> = o["object_marking_refs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                r.push(json!(t.marking_id()));
                o["object_marking_refs"] = Value::Array(r);
                ObjectLabels::from_object_in(&o, &case.registry)
            })
            .collect();

        for (name, to) in &dests {
            for path in Path::ALL {
                let access = Access {
                    path,
                    to: *to,
                    source,
                };
                let d = decide(&labels, &access);
                let why = format!("{} to {name}, {obj}, {labels:?}", path.as_str());
                prop_assert_eq!(
                    d.allowed,
                    decide(&single_labels, &access).allowed,
                    "most restrictive wins: {}",
                    why
                );
                if path.leaves_node() && effective == Tlp::Red {
                    prop_assert!(!d.allowed, "RED left the node: {}", why);
                }
                if matches!(to, Destination::Anonymous) && d.allowed {
                    prop_assert_eq!(
                        effective,
                        Tlp::Clear,
                        "anonymous got more than CLEAR: {}",
                        why
                    );
                }
                for s in &stricter {
                    prop_assert!(
                        !decide(s, &access).allowed || d.allowed,
                        "a stricter marking widened: {}",
                        why
                    );
                }
                if let Ok(filter) = ReadFilter::new(path, *to, source) {
                    prop_assert_eq!(filter.admits(&labels), d.allowed, "ReadFilter: {}", why);
                }
                let out = redact(obj, &labels, &access);
                prop_assert_eq!(
                    out.is_some(),
                    d.allowed,
                    "redact agrees with decide: {}",
                    why
                );
                let Some(out) = out else { continue };
                check_redaction(obj, &out, &labels, &access, &why)?;
            }
        }
    }
    // The identities named in markings all came from the case.
    prop_assert!(!case.identities.is_empty());
    Ok(())
}

/// No more, no less: every string under a granular marking the destination may not see is
/// gone; every other string is still there; every remaining selector points at what it pointed
/// at before.
fn check_redaction(
    obj: &Value,
    out: &Value,
    labels: &ObjectLabels,
    access: &Access<'_>,
    why: &str,
) -> Result<(), TestCaseError> {
    let object_tlp = labels.effective_tlp(access.source.default_tlp);
    let mut denied_paths: Vec<&str> = Vec::new();
    let mut kept: Vec<(&str, &str)> = Vec::new();
    for gm in obj["granular_markings"].as_array().into_iter().flatten() {
        let mref = gm["marking_ref"].as_str().unwrap();
        let level = standard_tlp(mref).unwrap().max(object_tlp);
        let visible = decide_at(level, labels, access).allowed;
        for sel in gm["selectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
        {
            if visible {
                kept.push((mref, sel));
            } else {
                denied_paths.push(sel);
            }
        }
    }
    let mut denied = BTreeSet::new();
    for sel in &denied_paths {
        let mut l = Vec::new();
        leaves(resolve(obj, sel).unwrap(), &mut l);
        denied.extend(l);
    }
    let before = content(obj);
    let after = content(out);
    for s in &denied {
        prop_assert!(
            !after.contains(s),
            "{s} is under a marking it may not see: {why} -> {out}"
        );
    }
    for s in before.difference(&denied) {
        prop_assert!(
            after.contains(s),
            "{s} was removed but is not under a denied marking: {why} -> {out}"
        );
    }
    // A selector whose target lost a part (or is itself gone) is checked by the strings above.
    let under_denied = |sel: &str| {
        denied_paths.iter().any(|d| {
            sel == *d || sel.starts_with(&format!("{d}.")) || d.starts_with(&format!("{sel}."))
        })
    };
    for (mref, sel) in kept {
        if under_denied(sel) {
            continue;
        }
        let original = resolve(obj, sel).unwrap();
        let marking = out["granular_markings"]
            .as_array()
            .and_then(|a| a.iter().find(|g| g["marking_ref"] == mref));
        prop_assert!(
            marking.is_some(),
            "marking {mref} for {sel} dropped: {why} -> {out}"
        );
        let found = marking.unwrap()["selectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .any(|s| resolve(out, s) == Some(original));
        prop_assert!(
            found,
            "selector {sel} of {mref} lost its target: {why} -> {out}"
        );
    }
    for gm in out["granular_markings"].as_array().into_iter().flatten() {
        for sel in gm["selectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
        {
            prop_assert!(
                resolve(out, sel).is_some(),
                "dangling selector {sel}: {out}"
            );
        }
    }
    Ok(())
}

#[test]
fn random_worlds_keep_the_invariants() {
    let mut runner = runner();
    runner
        .run(&spec(), |spec| check_case(&build(&spec)))
        .unwrap();
}
