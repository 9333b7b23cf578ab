//! The cost of the policy on the read path: `decide` over precomputed labels (per object
//! version, per request), `ReadFilter::admits`, and `ObjectLabels::from_object` (once per
//! version, at ingest).

use std::hint::black_box;

use cairn_policy::{
    Access, CollectionPolicy, Destination, Grant, Grantee, GroupRef, IdentityRef, Nation,
    ObjectLabels, OrgRef, Path, Principal, ReadFilter, Role, Tlp, decide, redact,
};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use uuid::Uuid;

fn identity(n: u128) -> IdentityRef {
    IdentityRef(Uuid::from_u128(n))
}

fn bench(c: &mut Criterion) {
    let fr = Nation::parse("FR").unwrap();
    let reader = Principal {
        org: Some(OrgRef {
            id: Uuid::from_u128(1),
            identity: identity(0xA1),
        }),
        nation: fr,
        groups: vec![
            GroupRef {
                id: Uuid::from_u128(10),
                identity: identity(0xB1),
            },
            GroupRef {
                id: Uuid::from_u128(11),
                identity: identity(0xB2),
            },
        ],
        role: Some(Role::Analyst),
    };
    let collection = CollectionPolicy {
        id: Uuid::from_u128(100),
        default_tlp: Tlp::Amber,
        anonymous_read: false,
        grants: vec![
            Grant {
                to: Grantee::Organization(OrgRef {
                    id: Uuid::from_u128(2),
                    identity: identity(0xA2),
                }),
                read: true,
                write: true,
            },
            Grant {
                to: Grantee::Nation(Nation::parse("DE").unwrap()),
                read: true,
                write: false,
            },
            Grant {
                to: Grantee::SharingGroup(GroupRef {
                    id: Uuid::from_u128(11),
                    identity: identity(0xB2),
                }),
                read: true,
                write: false,
            },
        ],
    };
    let red_named = ObjectLabels {
        tlp: Some(Tlp::Red),
        creator: Some(identity(0xA3)),
        recipients: vec![identity(0xA4), identity(0xA5), identity(0xB2)],
        ..ObjectLabels::default()
    };
    let amber_default = ObjectLabels {
        creator: Some(identity(0xA3)),
        ..ObjectLabels::default()
    };
    let read = Access {
        path: Path::TaxiiRead,
        to: Destination::User(&reader),
        source: &collection,
    };
    let push = Access {
        path: Path::FederationPush,
        to: Destination::Peer(&reader),
        source: &collection,
    };

    c.bench_function("decide/taxii-read RED named via group", |b| {
        b.iter(|| decide(black_box(&red_named), black_box(&read)))
    });
    c.bench_function("decide/taxii-read AMBER by default via channel", |b| {
        b.iter(|| decide(black_box(&amber_default), black_box(&read)))
    });
    c.bench_function("decide/federation-push AMBER", |b| {
        b.iter(|| decide(black_box(&amber_default), black_box(&push)))
    });
    let filter = ReadFilter::new(Path::TaxiiRead, Destination::User(&reader), &collection).unwrap();
    c.bench_function("read-filter/admits RED named", |b| {
        b.iter(|| black_box(&filter).admits(black_box(&red_named)))
    });
    let object = json!({
        "type": "indicator", "spec_version": "2.1", "id": "indicator--d0000000-0000-4000-8000-000000000007",
        "created": "2026-11-06T10:00:00.000Z", "modified": "2026-11-06T10:00:00.000Z",
        "created_by_ref": "identity--a1000000-0000-4000-8000-000000000001",
        "name": "loader", "description": "secret", "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix", "valid_from": "2026-11-06T10:00:00Z",
        "object_marking_refs": [Tlp::Amber.marking_id(), Tlp::Green.marking_id()],
        "granular_markings": [{"marking_ref": Tlp::Red.marking_id(), "selectors": ["description"]}]
    });
    c.bench_function("labels/from_object", |b| {
        b.iter(|| ObjectLabels::from_object(black_box(&object)))
    });
    let labels = ObjectLabels::from_object(&object);
    c.bench_function("redact/one RED property", |b| {
        b.iter(|| redact(black_box(&object), black_box(&labels), black_box(&read)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
