//! The object types STIX 2.1 defines, by category.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The category of a STIX object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A STIX Domain Object.
    Sdo,
    /// A STIX Relationship Object (relationship, sighting).
    Sro,
    /// A STIX Cyber-observable Object.
    Sco,
    /// A STIX Meta Object (marking-definition, language-content, extension-definition).
    Meta,
    /// The bundle envelope.
    Bundle,
    /// A type the specification does not define (custom object or extension-defined type).
    Custom,
}

/// Every SDO type of STIX 2.1.
pub const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

/// Every SRO type of STIX 2.1.
pub const SRO_TYPES: &[&str] = &["relationship", "sighting"];

/// Every SCO type of STIX 2.1.
pub const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// The meta object types of STIX 2.1.
pub const META_TYPES: &[&str] = &[
    "marking-definition",
    "language-content",
    "extension-definition",
];

static CATEGORIES: LazyLock<HashMap<&'static str, Category>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for t in SDO_TYPES {
        m.insert(*t, Category::Sdo);
    }
    for t in SRO_TYPES {
        m.insert(*t, Category::Sro);
    }
    for t in SCO_TYPES {
        m.insert(*t, Category::Sco);
    }
    for t in META_TYPES {
        m.insert(*t, Category::Meta);
    }
    m.insert("bundle", Category::Bundle);
    m
});

/// The category of a type name; [`Category::Custom`] for types the specification does not define.
pub fn category(type_: &str) -> Category {
    CATEGORIES.get(type_).copied().unwrap_or(Category::Custom)
}
