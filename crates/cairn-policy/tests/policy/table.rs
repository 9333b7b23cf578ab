//! POLICY.md's rule table against the code: the same cells as `RULES`, and `decide` doing what
//! each cell's audience says in POLICY.md, on every destination of a small world.

use cairn_policy::{
    Access, Audience, CollectionPolicy, Destination, Grantee, ObjectLabels, Path, Principal, Tlp,
    decide, rule,
};
use serde_json::json;

use crate::world::NamedWorld;

struct Row {
    tlp: Tlp,
    path: Path,
    destinations: String,
    audience: Audience,
}

fn policy_md_rows() -> Vec<Row> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../POLICY.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = text
        .find("<!-- rules:begin -->")
        .expect("rules:begin marker");
    let end = text.find("<!-- rules:end -->").expect("rules:end marker");
    let mut rows = Vec::new();
    for line in text[start..end].lines().skip(1) {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() != 4 || cells[0] == "TLP" || cells[0].starts_with("---") {
            assert!(
                line.trim().is_empty() || cells.len() == 4,
                "malformed row {line:?}"
            );
            continue;
        }
        rows.push(Row {
            tlp: Tlp::parse(cells[0]).unwrap_or_else(|e| panic!("{line}: {e}")),
            path: Path::parse(cells[1]).unwrap_or_else(|e| panic!("{line}: {e}")),
            destinations: cells[2].to_string(),
            audience: Audience::parse(cells[3]).unwrap_or_else(|e| panic!("{line}: {e}")),
        });
    }
    rows
}

#[test]
fn policy_md_table_matches_the_code() {
    let rows = policy_md_rows();
    assert_eq!(
        rows.len(),
        Tlp::ALL.len() * Path::ALL.len(),
        "one row per TLP × path"
    );
    for tlp in Tlp::ALL {
        for path in Path::ALL {
            let matching: Vec<&Row> = rows
                .iter()
                .filter(|r| r.tlp == tlp && r.path == path)
                .collect();
            assert_eq!(
                matching.len(),
                1,
                "{tlp} {}: exactly one row",
                path.as_str()
            );
            let row = matching[0];
            assert_eq!(
                row.audience,
                rule(tlp, path),
                "{tlp} {}: POLICY.md says {}, the code says {}",
                path.as_str(),
                row.audience.as_str(),
                rule(tlp, path).as_str()
            );
            assert_eq!(
                row.destinations,
                path.destinations(),
                "{tlp} {}",
                path.as_str()
            );
        }
    }
}

/// What a destination is, in POLICY.md's words.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    User,
    Anonymous,
    Peer,
    Collection,
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::User => "user",
        Kind::Anonymous => "anonymous",
        Kind::Peer => "peer",
        Kind::Collection => "collection",
    }
}

/// POLICY.md's audiences, written from its prose, independently of the crate's code.
fn audience_admits(
    audience: Audience,
    kind: Kind,
    principal: Option<&Principal>,
    target: Option<&CollectionPolicy>,
    source: &CollectionPolicy,
    labels: &ObjectLabels,
) -> bool {
    let covers = |g: &Grantee, p: &Principal| match g {
        Grantee::Community => true,
        Grantee::Nation(n) => *n == p.nation,
        Grantee::Organization(o) => p.org.map(|x| x.id) == Some(o.id),
        Grantee::SharingGroup(gr) => p.groups.iter().any(|x| x.id == gr.id),
    };
    let named = |id| labels.creator == Some(id) || labels.recipients.contains(&id);
    let recipient = |p: &Principal| {
        p.org.is_some_and(|o| named(o.identity)) || p.groups.iter().any(|g| named(g.identity))
    };
    let grantee_recipient = |g: &Grantee| match g {
        Grantee::Organization(o) => named(o.identity),
        Grantee::SharingGroup(gr) => named(gr.identity),
        _ => false,
    };
    let in_channel = |g: &Grantee| {
        grantee_recipient(g)
            || source
                .grants
                .iter()
                .any(|s| s.read && (s.to == *g || s.to == Grantee::Community))
    };
    match (audience, kind) {
        (Audience::Anyone, _) => true,
        (Audience::Nobody, _) => false,
        (_, Kind::Anonymous) => audience == Audience::Channel && source.anonymous_read,
        (Audience::Community, Kind::User | Kind::Peer) => true,
        (Audience::Channel | Audience::MemberChannel, Kind::User | Kind::Peer) => {
            let p = principal.unwrap();
            source.grants.iter().any(|g| g.read && covers(&g.to, p)) || recipient(p)
        }
        (Audience::Recipients, Kind::User | Kind::Peer) => recipient(principal.unwrap()),
        (Audience::Community, Kind::Collection) => !target.unwrap().anonymous_read,
        (Audience::Channel, Kind::Collection) => {
            let t = target.unwrap();
            (!t.anonymous_read || source.anonymous_read)
                && t.grants
                    .iter()
                    .filter(|g| g.read)
                    .all(|g| in_channel(&g.to))
        }
        (Audience::MemberChannel, Kind::Collection) => {
            let t = target.unwrap();
            !t.anonymous_read
                && t.grants
                    .iter()
                    .filter(|g| g.read)
                    .all(|g| in_channel(&g.to))
        }
        (Audience::Recipients, Kind::Collection) => {
            let t = target.unwrap();
            !t.anonymous_read
                && t.grants
                    .iter()
                    .filter(|g| g.read)
                    .all(|g| grantee_recipient(&g.to))
        }
    }
}

#[test]
fn decide_does_what_policy_md_says() {
    let nw = NamedWorld::load();
    let sources = nw.collections(&json!({
        "community": { "grants": [ { "to": "community", "read": true } ] },
        "france": { "grants": [ { "to": { "nation": "FR" }, "read": true } ] },
        "taskforce": { "grants": [ { "to": { "group": "ransomware-tf" }, "read": true } ] },
        "cert-ee": { "grants": [ { "to": { "organization": "cert-ee" }, "read": true } ] },
        "public": { "default_tlp": "clear", "anonymous_read": true, "grants": [ { "to": { "organization": "cert-fr" }, "read": true } ] },
        "write-only": { "grants": [ { "to": { "organization": "cert-fr" }, "write": true } ] }
    }));
    let targets = sources.clone();
    let identity = |org: &str| nw.org_ref(org).identity;
    let group = |g: &str| nw.group_ref(g).identity;
    let label_sets = vec![
        ObjectLabels::default(),
        ObjectLabels {
            creator: Some(identity("cert-fr")),
            ..Default::default()
        },
        ObjectLabels {
            creator: Some(identity("cert-fr")),
            recipients: vec![identity("cert-de")],
            ..Default::default()
        },
        ObjectLabels {
            creator: Some(identity("bank-ee")),
            recipients: vec![group("ransomware-tf")],
            ..Default::default()
        },
        ObjectLabels {
            recipients: vec![group("baltic-finance"), identity("bka-de")],
            ..Default::default()
        },
    ];
    let mut principals: Vec<(Kind, Principal)> = Vec::new();
    for u in nw.world.users.values() {
        principals.push((Kind::User, nw.world.user_principal(u.id).unwrap()));
    }
    for o in nw.world.organizations.values() {
        principals.push((Kind::Peer, nw.world.peer_for_org(o.id).unwrap()));
    }
    for n in &nw.world.nations {
        principals.push((Kind::Peer, nw.world.peer_for_nation(*n).unwrap()));
    }
    let rows = policy_md_rows();
    let mut checked = 0usize;
    for row in &rows {
        let kinds_allowed: Vec<&str> = row.destinations.split(", ").collect();
        for source in sources.values() {
            for base in &label_sets {
                let labels = ObjectLabels {
                    tlp: Some(row.tlp),
                    ..base.clone()
                };
                let mut check = |kind: Kind,
                                 to: Destination<'_>,
                                 p: Option<&Principal>,
                                 t: Option<&CollectionPolicy>| {
                    let expected = kinds_allowed.contains(&kind_name(kind))
                        && audience_admits(row.audience, kind, p, t, source, &labels);
                    let access = Access {
                        path: row.path,
                        to,
                        source,
                    };
                    assert_eq!(
                        decide(&labels, &access).allowed,
                        expected,
                        "{} {} to a {}: {:?} {:?} {:?}",
                        row.tlp,
                        row.path.as_str(),
                        kind_name(kind),
                        p,
                        t.map(|t| t.id),
                        labels
                    );
                    checked += 1;
                };
                check(Kind::Anonymous, Destination::Anonymous, None, None);
                for (kind, p) in &principals {
                    let to = if *kind == Kind::User {
                        Destination::User(p)
                    } else {
                        Destination::Peer(p)
                    };
                    check(*kind, to, Some(p), None);
                }
                for t in targets.values() {
                    check(Kind::Collection, Destination::Collection(t), None, Some(t));
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}
