//! The decision allocates nothing: this test binary counts every allocation (the
//! allocation-counter dev-dependency replaces its global allocator, per thread).

use cairn_policy::{Access, Destination, ObjectLabels, Path, ReadFilter, Tlp, decide};
use serde_json::json;

use crate::world::NamedWorld;

#[test]
fn decide_and_the_read_filter_allocate_nothing() {
    let nw = NamedWorld::load();
    let collections = nw.collections(&json!({
        "taskforce": { "grants": [ { "to": { "group": "ransomware-tf" }, "read": true }, { "to": { "nation": "EE" }, "read": true } ] },
        "public": { "default_tlp": "clear", "anonymous_read": true, "grants": [ { "to": "community", "read": true } ] }
    }));
    let principals: Vec<_> = ["alice", "paul", "dieter", "bernd", "bob"]
        .iter()
        .map(|u| nw.user(u))
        .chain(["cert-de", "bank-ee"].iter().map(|o| nw.peer_org(o)))
        .chain([nw.peer_nation("FR")])
        .collect();
    let named = ObjectLabels {
        creator: Some(nw.org_ref("cert-ee").identity),
        recipients: vec![
            nw.org_ref("bka-de").identity,
            nw.group_ref("ransomware-tf").identity,
        ],
        ..ObjectLabels::default()
    };
    let labels: Vec<ObjectLabels> = Tlp::ALL
        .into_iter()
        .flat_map(|t| {
            [
                ObjectLabels {
                    tlp: Some(t),
                    ..ObjectLabels::default()
                },
                ObjectLabels {
                    tlp: Some(t),
                    ..named.clone()
                },
            ]
        })
        .chain([ObjectLabels::default()])
        .collect();
    let filters: Vec<ReadFilter> = collections
        .values()
        .flat_map(|c| {
            principals
                .iter()
                .map(move |p| ReadFilter::new(Path::TaxiiRead, Destination::User(p), c).unwrap())
        })
        .collect();
    let mut allowed = 0usize;
    let mut decisions = 0usize;
    let info = allocation_counter::measure(|| {
        for source in collections.values() {
            for l in &labels {
                for path in Path::ALL {
                    for p in &principals {
                        for to in [Destination::User(p), Destination::Peer(p)] {
                            let d = decide(l, &Access { path, to, source });
                            allowed += usize::from(d.allowed);
                            decisions += 1;
                        }
                    }
                    for target in collections.values() {
                        let to = Destination::Collection(target);
                        allowed += usize::from(decide(l, &Access { path, to, source }).allowed);
                        decisions += 1;
                    }
                    let to = Destination::Anonymous;
                    allowed += usize::from(decide(l, &Access { path, to, source }).allowed);
                    decisions += 1;
                }
                for f in &filters {
                    allowed += usize::from(f.admits(l));
                    decisions += 1;
                }
            }
        }
    });
    assert!(decisions > 1000 && allowed > 0 && allowed < decisions);
    assert_eq!(
        info.count_total, 0,
        "{decisions} decisions allocated: {info:?}"
    );
}
