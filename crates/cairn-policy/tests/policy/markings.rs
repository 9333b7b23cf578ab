//! The marking definitions against the published ones and the sample bundle.

use cairn_policy::marking::{
    RECIPIENTS_EXTENSION_ID, TLP1_MAPPING, TLP2_EXTENSION_ID, recipients_extension_definition,
    recipients_marking_definition, standard_tlp,
};
use cairn_policy::{IdentityRef, MarkingMeaning, MarkingRegistry, ObjectLabels, Tlp};
use serde_json::{Value, json};

use crate::world::{fixtures_dir, read_json};

fn objects(file: &str) -> Vec<Value> {
    read_json(&fixtures_dir().join("markings").join(file))["objects"]
        .as_array()
        .expect("bundle objects")
        .clone()
}

#[test]
fn tlp2_definitions_are_the_published_ones() {
    let published = objects("tlp2.json");
    assert_eq!(published.len(), 5);
    for (tlp, def) in Tlp::ALL.into_iter().zip(&published) {
        assert_eq!(tlp.marking_definition(), *def, "{tlp}");
        assert_eq!(standard_tlp(tlp.marking_id()), Some(tlp));
        assert_eq!(
            MarkingMeaning::from_definition(def).unwrap(),
            MarkingMeaning::Tlp { tlp }
        );
    }
}

#[test]
fn tlp2_definitions_match_the_sample_bundle() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cairn/sample/sample-bundle.json");
    let bundle = read_json(&path);
    let mut seen = 0;
    for obj in bundle["objects"].as_array().unwrap() {
        if obj
            .pointer(&format!("/extensions/{TLP2_EXTENSION_ID}"))
            .is_some()
        {
            let tlp = standard_tlp(obj["id"].as_str().unwrap()).expect("a standard TLP 2.0 id");
            assert_eq!(tlp.marking_definition(), *obj, "{tlp}");
            seen += 1;
        }
    }
    assert_eq!(
        seen, 5,
        "the sample bundle carries the five TLP 2.0 definitions"
    );
}

#[test]
fn tlp1_ids_map_onto_tlp2() {
    let defs = objects("tlp1.json");
    assert_eq!(defs.len(), TLP1_MAPPING.len());
    for ((id, tlp), def) in TLP1_MAPPING.iter().zip(&defs) {
        assert_eq!(def["id"], *id);
        assert_eq!(standard_tlp(id), Some(*tlp));
        // The definition itself says the same thing.
        let as_custom = {
            let mut d = def.clone();
            d["id"] = json!("marking-definition--11111111-1111-4111-8111-111111111111");
            d
        };
        assert_eq!(
            MarkingMeaning::from_definition(&as_custom).unwrap(),
            MarkingMeaning::Tlp { tlp: *tlp }
        );
    }
}

#[test]
fn recipients_extension_definition_fixture_is_the_constant() {
    let fixture = read_json(&fixtures_dir().join("markings/recipients-extension-definition.json"));
    assert_eq!(fixture, recipients_extension_definition());
    assert_eq!(fixture["id"], RECIPIENTS_EXTENSION_ID);
    let example = objects("recipients-example.json");
    assert_eq!(example[1], fixture);
    let marking = &example[2];
    let org = IdentityRef::parse("identity--a1000000-0000-4000-8000-000000000004").unwrap();
    let group = IdentityRef::parse("identity--b2000000-0000-4000-8000-000000000002").unwrap();
    assert_eq!(
        recipients_marking_definition(
            marking["id"].as_str().unwrap(),
            marking["created"].as_str().unwrap(),
            &[org],
            &[group]
        ),
        *marking
    );
    let mut registry = MarkingRegistry::standard();
    assert_eq!(
        registry.learn(marking).unwrap(),
        MarkingMeaning::Recipients {
            recipients: vec![org, group]
        }
    );
    let obj = json!({
        "type": "note", "id": "note--00000000-0000-4000-8000-000000000001",
        "object_marking_refs": [marking["id"], Tlp::Red.marking_id()]
    });
    let labels = ObjectLabels::from_object_in(&obj, &registry);
    assert_eq!(labels.recipients, vec![org, group]);
    assert_eq!(labels.tlp, Some(Tlp::Red));
    // Without the registry the recipients marking is unresolved, and releases to nobody.
    let bare = ObjectLabels::from_object(&obj);
    assert!(bare.recipients.is_empty());
    assert_eq!(
        bare.unresolved,
        vec![marking["id"].as_str().unwrap().to_string()]
    );
}

#[test]
fn malformed_marking_definitions_are_refused_precisely() {
    let cases = [
        (
            json!({"type": "indicator", "id": "marking-definition--x"}),
            "not a marking-definition",
        ),
        (
            json!({"type": "marking-definition", "id": "marking-definition--x",
                   "extensions": {TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "purple"}}}),
            "unknown tlp_2_0 value",
        ),
        (
            json!({"type": "marking-definition", "id": "marking-definition--x",
                   "extensions": {RECIPIENTS_EXTENSION_ID: {"extension_type": "property-extension"}}}),
            "names no organization or group",
        ),
        (
            json!({"type": "marking-definition", "id": "marking-definition--x",
                   "extensions": {RECIPIENTS_EXTENSION_ID: {"extension_type": "property-extension", "organization_refs": ["organization--1"]}}}),
            "organization_refs holds \"organization--1\"",
        ),
        (
            json!({"type": "marking-definition", "id": "marking-definition--x", "definition_type": "statement", "definition": {}}),
            "without definition.statement",
        ),
    ];
    for (def, why) in cases {
        let err = MarkingMeaning::from_definition(&def)
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{def}: {err}");
    }
}

#[test]
fn tlp_names_levels_and_order() {
    for (i, tlp) in Tlp::ALL.into_iter().enumerate() {
        assert_eq!(tlp as usize, i);
        assert_eq!(Tlp::from_u8(i as u8), Some(tlp));
        assert_eq!(Tlp::parse(tlp.as_str()).unwrap(), tlp);
        assert_eq!(Tlp::parse(tlp.label()).unwrap(), tlp);
        assert_eq!(serde_json::to_value(tlp).unwrap(), json!(tlp.as_str()));
    }
    assert!(Tlp::Clear < Tlp::Green && Tlp::Green < Tlp::Amber);
    assert!(Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red);
    assert_eq!(Tlp::from_u8(5), None);
    assert!(
        Tlp::parse("white").is_err(),
        "WHITE is TLP 1.0; only its STIX id is mapped"
    );
}

#[test]
fn labels_read_granular_markings_and_the_creator() {
    let obj = json!({
        "type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000002",
        "created_by_ref": "identity--a1000000-0000-4000-8000-000000000001",
        "granular_markings": [
            {"marking_ref": Tlp::Red.marking_id(), "selectors": ["description"]},
            {"lang": "fr", "selectors": ["name"]},
            {"marking_ref": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "selectors": ["labels.[1]"]},
            {"marking_ref": "marking-definition--99999999-9999-4999-8999-999999999999", "selectors": ["name"]}
        ]
    });
    let labels = ObjectLabels::from_object(&obj);
    assert_eq!(labels.tlp, None);
    assert_eq!(labels.effective_tlp(Tlp::Amber), Tlp::Amber);
    assert_eq!(
        labels.creator.map(|c| c.stix_id()),
        Some("identity--a1000000-0000-4000-8000-000000000001".into())
    );
    assert_eq!(
        labels.granular.len(),
        1,
        "both RED markings (TLP 2.0 and 1.0) are one level"
    );
    assert_eq!(
        labels.granular[0].selectors,
        vec!["description", "labels.[1]"]
    );
    assert_eq!(labels.max_granular_tlp(), Some(Tlp::Red));
    assert_eq!(labels.floor, None);
    assert_eq!(
        labels.unresolved,
        vec!["marking-definition--99999999-9999-4999-8999-999999999999"]
    );
    // Labels persist as JSON and come back equal.
    let back: ObjectLabels =
        serde_json::from_value(serde_json::to_value(&labels).unwrap()).unwrap();
    assert_eq!(back, labels);
}
