//! Marking definitions: TLP 2.0 (and the STIX 2.1 TLP 1.0 ids mapped onto it), statements, and
//! Cairn's recipients marking; [`MarkingRegistry`] resolves `marking-definition--` ids.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::PolicyError;
use crate::identity::IdentityRef;

/// A TLP 2.0 level. Ordered from least to most restrictive, so `max` is "most restrictive
/// wins". `as u8` is the small integer a store persists (0 = CLEAR ... 4 = RED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Tlp {
    #[serde(rename = "clear")]
    Clear = 0,
    #[serde(rename = "green")]
    Green = 1,
    #[serde(rename = "amber")]
    Amber = 2,
    #[serde(rename = "amber+strict")]
    AmberStrict = 3,
    #[serde(rename = "red")]
    Red = 4,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The `tlp_2_0` value of the TLP 2.0 extension (`clear`, `amber+strict`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The marking's `name`, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// Accepts `clear`, `TLP:CLEAR`, `amber+strict`, ... (case-insensitive).
    pub fn parse(s: &str) -> Result<Tlp, PolicyError> {
        let t = s.trim();
        let t = t
            .strip_prefix("TLP:")
            .or_else(|| t.strip_prefix("tlp:"))
            .unwrap_or(t);
        Tlp::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| PolicyError::InvalidTlp(s.to_string()))
    }

    /// The inverse of `as u8`.
    pub fn from_u8(v: u8) -> Option<Tlp> {
        Tlp::ALL.get(usize::from(v)).copied()
    }

    /// The standard STIX id of this level's TLP 2.0 marking definition.
    pub fn marking_id(self) -> &'static str {
        TLP2_MARKING_IDS[self as usize]
    }

    /// The standard TLP 2.0 marking-definition object (as published with the extension).
    pub fn marking_definition(self) -> Value {
        json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": self.marking_id(),
            "created": TLP2_CREATED,
            "name": self.label(),
            "extensions": {
                TLP2_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "tlp_2_0": self.as_str(),
                }
            }
        })
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The id of the OASIS extension-definition that TLP 2.0 marking definitions carry.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
/// The `created` timestamp of the five standard TLP 2.0 marking definitions.
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

pub const TLP2_CLEAR_ID: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
pub const TLP2_GREEN_ID: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
pub const TLP2_AMBER_ID: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
pub const TLP2_AMBER_STRICT_ID: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
pub const TLP2_RED_ID: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

/// Indexed by `Tlp as usize`.
pub const TLP2_MARKING_IDS: [&str; 5] = [
    TLP2_CLEAR_ID,
    TLP2_GREEN_ID,
    TLP2_AMBER_ID,
    TLP2_AMBER_STRICT_ID,
    TLP2_RED_ID,
];

/// The STIX 2.1 specification's TLP 1.0 marking definitions (`definition_type: tlp`).
pub const TLP1_WHITE_ID: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
pub const TLP1_GREEN_ID: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
pub const TLP1_AMBER_ID: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
pub const TLP1_RED_ID: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

/// TLP 1.0 ids and the TLP 2.0 level each maps onto (WHITE becomes CLEAR; TLP 1.0 AMBER is
/// TLP 2.0 AMBER).
pub const TLP1_MAPPING: [(&str, Tlp); 4] = [
    (TLP1_WHITE_ID, Tlp::Clear),
    (TLP1_GREEN_ID, Tlp::Green),
    (TLP1_AMBER_ID, Tlp::Amber),
    (TLP1_RED_ID, Tlp::Red),
];

/// The TLP level of a standard (TLP 2.0 or TLP 1.0) marking-definition id; no allocation.
pub fn standard_tlp(marking_id: &str) -> Option<Tlp> {
    if let Some(i) = TLP2_MARKING_IDS.iter().position(|id| *id == marking_id) {
        return Tlp::from_u8(i as u8);
    }
    TLP1_MAPPING
        .iter()
        .find(|(id, _)| *id == marking_id)
        .map(|(_, t)| *t)
}

/// The id of Cairn's extension-definition for the recipients marking.
pub const RECIPIENTS_EXTENSION_ID: &str =
    "extension-definition--32868028-92fb-46ee-90ea-dbb11106bc9f";
/// The identity that publishes Cairn's extension definitions.
pub const CAIRN_IDENTITY_ID: &str = "identity--094d15bd-8d44-46eb-9051-668b8fdd4785";

/// The extension-definition object of the recipients marking (also kept, byte for byte the
/// same value, in `tests/fixtures/markings/recipients-extension-definition.json`).
pub fn recipients_extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": RECIPIENTS_EXTENSION_ID,
        "created_by_ref": CAIRN_IDENTITY_ID,
        "created": "2026-11-30T00:00:00.000Z",
        "modified": "2026-11-30T00:00:00.000Z",
        "name": "Cairn recipients marking",
        "description": "A marking-definition carrying this property-extension releases the objects it marks to the organizations and sharing groups it names, in addition to the creator organization. organization_refs: identity ids of organizations (identity_class organization). sharing_group_refs: identity ids of sharing groups (identity_class group). At least one of the two lists is present and not empty.",
        "schema": "{\"type\":\"object\",\"properties\":{\"extension_type\":{\"const\":\"property-extension\"},\"organization_refs\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"pattern\":\"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$\"}},\"sharing_group_refs\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"pattern\":\"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$\"}}},\"required\":[\"extension_type\"],\"additionalProperties\":false}",
        "version": "1.0.0",
        "extension_types": ["property-extension"]
    })
}

/// A recipients marking-definition naming `organizations` and `groups` (their STIX identities).
pub fn recipients_marking_definition(
    id: &str,
    created: &str,
    organizations: &[IdentityRef],
    groups: &[IdentityRef],
) -> Value {
    let mut ext = serde_json::Map::new();
    ext.insert("extension_type".into(), json!("property-extension"));
    if !organizations.is_empty() {
        ext.insert(
            "organization_refs".into(),
            organizations.iter().map(|i| json!(i.stix_id())).collect(),
        );
    }
    if !groups.is_empty() {
        ext.insert(
            "sharing_group_refs".into(),
            groups.iter().map(|i| json!(i.stix_id())).collect(),
        );
    }
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": id,
        "created": created,
        "name": "Cairn recipients",
        "extensions": { RECIPIENTS_EXTENSION_ID: Value::Object(ext) }
    })
}

/// What a marking definition means to the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MarkingMeaning {
    /// A TLP level (TLP 2.0 extension, or a TLP 1.0 `definition_type: tlp`).
    Tlp { tlp: Tlp },
    /// A statement (copyright, terms of use): carried along, never restricts release.
    Statement { statement: String },
    /// Released to these organizations and sharing groups (by STIX identity).
    Recipients { recipients: Vec<IdentityRef> },
    /// Some other marking this node does not interpret; it does not restrict release.
    Other,
}

impl MarkingMeaning {
    /// Reads a `marking-definition` object.
    pub fn from_definition(def: &Value) -> Result<MarkingMeaning, PolicyError> {
        let id = def.get("id").and_then(Value::as_str).unwrap_or("");
        let bad = |why: &str| PolicyError::InvalidMarking {
            id: id.to_string(),
            reason: why.to_string(),
        };
        if def.get("type").and_then(Value::as_str) != Some("marking-definition") {
            return Err(bad("not a marking-definition"));
        }
        if let Some(tlp) = standard_tlp(id) {
            return Ok(MarkingMeaning::Tlp { tlp });
        }
        let exts = def.get("extensions").and_then(Value::as_object);
        if let Some(ext) = exts.and_then(|e| e.get(TLP2_EXTENSION_ID)) {
            let level = ext
                .get("tlp_2_0")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("TLP 2.0 extension without tlp_2_0"))?;
            let tlp = Tlp::parse(level).map_err(|_| bad("unknown tlp_2_0 value"))?;
            return Ok(MarkingMeaning::Tlp { tlp });
        }
        if let Some(ext) = exts.and_then(|e| e.get(RECIPIENTS_EXTENSION_ID)) {
            let mut recipients = Vec::new();
            for key in ["organization_refs", "sharing_group_refs"] {
                match ext.get(key) {
                    None => {}
                    Some(Value::Array(items)) => {
                        for item in items {
                            let s = item
                                .as_str()
                                .ok_or_else(|| bad(&format!("{key} holds a non-string")))?;
                            let r = IdentityRef::parse(s)
                                .map_err(|_| bad(&format!("{key} holds {s:?}")))?;
                            if !recipients.contains(&r) {
                                recipients.push(r);
                            }
                        }
                    }
                    Some(_) => return Err(bad(&format!("{key} is not a list"))),
                }
            }
            if recipients.is_empty() {
                return Err(bad("recipients marking names no organization or group"));
            }
            return Ok(MarkingMeaning::Recipients { recipients });
        }
        match def.get("definition_type").and_then(Value::as_str) {
            Some("tlp") => {
                let level = def
                    .pointer("/definition/tlp")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("TLP definition without definition.tlp"))?;
                let tlp = match level.to_ascii_lowercase().as_str() {
                    "white" => Tlp::Clear,
                    other => Tlp::parse(other).map_err(|_| bad("unknown TLP value"))?,
                };
                Ok(MarkingMeaning::Tlp { tlp })
            }
            Some("statement") => {
                let statement = def
                    .pointer("/definition/statement")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("statement definition without definition.statement"))?;
                Ok(MarkingMeaning::Statement {
                    statement: statement.to_string(),
                })
            }
            _ => Ok(MarkingMeaning::Other),
        }
    }
}

/// Resolves marking-definition ids. Always knows the standard TLP ids; learns others from the
/// marking-definition objects a store holds (or a bundle carries) via [`MarkingRegistry::learn`].
#[derive(Debug, Clone, Default)]
pub struct MarkingRegistry {
    known: HashMap<String, MarkingMeaning>,
}

impl MarkingRegistry {
    /// Only the standard TLP 2.0 and TLP 1.0 markings.
    pub fn standard() -> MarkingRegistry {
        MarkingRegistry::default()
    }

    /// Learns one marking-definition object. A definition that reuses a standard TLP id keeps
    /// the standard meaning.
    pub fn learn(&mut self, def: &Value) -> Result<MarkingMeaning, PolicyError> {
        let meaning = MarkingMeaning::from_definition(def)?;
        let id = def.get("id").and_then(Value::as_str).unwrap_or_default();
        if standard_tlp(id).is_none() {
            self.known.insert(id.to_string(), meaning.clone());
        }
        Ok(meaning)
    }

    /// What `marking_id` means, if known.
    pub fn resolve(&self, marking_id: &str) -> Option<MarkingMeaning> {
        if let Some(tlp) = standard_tlp(marking_id) {
            return Some(MarkingMeaning::Tlp { tlp });
        }
        self.known.get(marking_id).cloned()
    }

    /// Records what a custom marking id means (e.g. as a store kept it). Standard TLP ids keep
    /// their standard meaning.
    pub fn insert(&mut self, marking_id: &str, meaning: MarkingMeaning) {
        if standard_tlp(marking_id).is_none() {
            self.known.insert(marking_id.to_string(), meaning);
        }
    }

    /// Is `marking_id` known (standard or learned)?
    pub fn knows(&self, marking_id: &str) -> bool {
        standard_tlp(marking_id).is_some() || self.known.contains_key(marking_id)
    }

    pub(crate) fn resolve_ref(&self, marking_id: &str) -> Option<&MarkingMeaning> {
        self.known.get(marking_id)
    }
}
