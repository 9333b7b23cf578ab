//! [`ObjectLabels`]: everything the decision needs about one object version, computed once at
//! ingest time.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::IdentityRef;
use crate::marking::{MarkingMeaning, MarkingRegistry, Tlp, standard_tlp};

/// Properties an object cannot lose to redaction (it would no longer be a meaningful STIX
/// object, or would lose its markings).
pub const REQUIRED_PROPERTIES: [&str; 7] = [
    "type",
    "id",
    "spec_version",
    "created",
    "modified",
    "object_marking_refs",
    "granular_markings",
];

/// A granular marking that carries a TLP level, with the selectors it applies to (STIX 2.1
/// granular-marking selector syntax: `description`, `external_references.[0].url`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GranularLabel {
    pub tlp: Tlp,
    pub selectors: Vec<String>,
}

/// The policy-relevant facts of one object version.
///
/// A store persists them as a few columns next to the version:
/// `tlp` (nullable small integer, `Tlp as u8`; NULL means "the collection's default"),
/// `floor` (nullable small integer), `creator` (nullable identity id), `recipients` (a child
/// table of identity ids, or an array column), and `granular` (JSON, only read when redacting; [`ObjectLabels::max_granular_tlp`]
/// as a nullable small integer tells whether redaction can be skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectLabels {
    /// The most restrictive TLP among `object_marking_refs`; `None` when there is none (the
    /// collection's default applies).
    pub tlp: Option<Tlp>,
    /// `created_by_ref`, when it is a well-formed identity id.
    pub creator: Option<IdentityRef>,
    /// Organizations and sharing groups named by recipients markings in `object_marking_refs`
    /// (deduplicated, in order of first appearance).
    pub recipients: Vec<IdentityRef>,
    /// Granular markings that carry a TLP level.
    pub granular: Vec<GranularLabel>,
    /// The most restrictive granular level on a property the object cannot lose (`id`, `type`,
    /// `spec_version`, `created`, `modified`, its markings): the object as a whole is at least
    /// at this level, so redaction never has to withhold an object the filter admitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<Tlp>,
    /// Statement markings (ids) among `object_marking_refs`; they never restrict release.
    pub statements: Vec<String>,
    /// Marking ids (object-level or granular) this node could not resolve. They do not widen
    /// anything: an unresolved recipients marking releases to nobody.
    pub unresolved: Vec<String>,
}

impl ObjectLabels {
    /// Labels from the object alone, knowing only the standard TLP markings (TLP 2.0 and the
    /// STIX 2.1 TLP 1.0 ids).
    pub fn from_object(object: &Value) -> ObjectLabels {
        ObjectLabels::from_object_in(object, &MarkingRegistry::standard())
    }

    /// Labels resolving custom marking ids (statements, recipients, TLP definitions under
    /// other ids) through `registry`.
    pub fn from_object_in(object: &Value, registry: &MarkingRegistry) -> ObjectLabels {
        let mut labels = ObjectLabels {
            creator: object
                .get("created_by_ref")
                .and_then(Value::as_str)
                .and_then(|s| IdentityRef::parse(s).ok()),
            ..ObjectLabels::default()
        };
        if let Some(refs) = object.get("object_marking_refs").and_then(Value::as_array) {
            for id in refs.iter().filter_map(Value::as_str) {
                if let Some(tlp) = standard_tlp(id) {
                    labels.tlp = labels.tlp.max(Some(tlp));
                    continue;
                }
                match registry.resolve_ref(id) {
                    Some(MarkingMeaning::Tlp { tlp }) => labels.tlp = labels.tlp.max(Some(*tlp)),
                    Some(MarkingMeaning::Recipients { recipients }) => {
                        for r in recipients {
                            if !labels.recipients.contains(r) {
                                labels.recipients.push(*r);
                            }
                        }
                    }
                    Some(MarkingMeaning::Statement { .. }) => labels.statements.push(id.into()),
                    Some(MarkingMeaning::Other) => {}
                    None => labels.unresolved.push(id.into()),
                }
            }
        }
        if let Some(gms) = object.get("granular_markings").and_then(Value::as_array) {
            for gm in gms {
                let Some(id) = gm.get("marking_ref").and_then(Value::as_str) else {
                    continue; // a `lang` granular marking
                };
                let tlp = match standard_tlp(id) {
                    Some(t) => t,
                    None => match registry.resolve_ref(id) {
                        Some(MarkingMeaning::Tlp { tlp }) => *tlp,
                        Some(_) => continue,
                        None => {
                            labels.unresolved.push(id.into());
                            continue;
                        }
                    },
                };
                let selectors: Vec<String> = gm
                    .get("selectors")
                    .and_then(Value::as_array)
                    .map(|s| {
                        s.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if selectors.is_empty() {
                    continue;
                }
                match labels.granular.iter_mut().find(|g| g.tlp == tlp) {
                    Some(g) => g.selectors.extend(selectors),
                    None => labels.granular.push(GranularLabel { tlp, selectors }),
                }
            }
        }
        labels.floor = labels
            .granular
            .iter()
            .filter(|g| {
                g.selectors.iter().any(|s| {
                    let first = s.split('.').next().unwrap_or_default();
                    REQUIRED_PROPERTIES.contains(&first)
                })
            })
            .map(|g| g.tlp)
            .max();
        labels
    }

    /// The object-level TLP that applies in a collection whose default is `default`:
    /// `max(COALESCE(tlp, default), COALESCE(floor, CLEAR))`.
    #[inline]
    pub fn effective_tlp(&self, default: Tlp) -> Tlp {
        match self.floor {
            Some(f) => self.tlp.unwrap_or(default).max(f),
            None => self.tlp.unwrap_or(default),
        }
    }

    /// The most restrictive granular TLP, if any; a reader allowed that level (or an object
    /// whose object-level TLP is at least that) needs no redaction.
    pub fn max_granular_tlp(&self) -> Option<Tlp> {
        self.granular.iter().map(|g| g.tlp).max()
    }

    /// Is `identity` the creator or one of the recipients?
    #[inline]
    pub fn names(&self, identity: IdentityRef) -> bool {
        self.creator == Some(identity) || self.recipients.contains(&identity)
    }
}
