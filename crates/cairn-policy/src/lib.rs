//! Cairn's sharing policy: who may see what, and what may leave through which path. Pure
//! functions over plain data: no IO, not async.
//!
//! - [`identity`]: [`Nation`] (ISO 3166-1 alpha-2), [`OrgKind`], [`Organization`], [`Role`],
//!   [`User`], [`SharingGroup`], the [`World`] of one node, and the [`Principal`] a decision is
//!   made for (a user, or a peer node standing for an organization or a nation).
//! - [`marking`]: [`Tlp`] (TLP 2.0, ordered least to most restrictive) with the standard STIX
//!   marking-definition ids, the STIX 2.1 TLP 1.0 ids mapped onto it, statement markings, Cairn's
//!   recipients marking, and the [`MarkingRegistry`] that resolves marking ids.
//! - [`labels`]: [`ObjectLabels`], computed once per object version at ingest
//!   ([`ObjectLabels::from_object`]): effective TLP, creator, recipients, granular markings.
//! - [`decision`]: [`CollectionPolicy`] (grants, default TLP, anonymous read), [`Path`],
//!   [`Destination`], the rule table [`RULES`] of [`Audience`]s (the same table as POLICY.md),
//!   [`decide`], and [`ReadFilter`], the same decision in the shape of an SQL filter.
//! - [`redact`](mod@redact): [`redact()`], removing properties under granular markings the
//!   destination may not see.
//!
//! Invariants: the most restrictive marking wins; TLP:RED never leaves the node; anonymous
//! destinations receive TLP:CLEAR only; roles never widen what is seen; [`decide`] allocates
//! nothing.

pub mod decision;
pub mod identity;
pub mod labels;
pub mod marking;
pub mod redact;

pub use decision::{
    Access, Audience, CollectionPolicy, Decision, Destination, Grant, Grantee, Path, RULES,
    ReadFilter, decide, decide_at, may_see, rule,
};
pub use identity::{
    GroupId, GroupRef, IdentityRef, Nation, OrgId, OrgKind, OrgRef, Organization, Principal, Role,
    SharingGroup, User, UserId, World,
};
pub use labels::{GranularLabel, ObjectLabels};
pub use marking::{MarkingMeaning, MarkingRegistry, Tlp};
pub use redact::redact;

use uuid::Uuid;

/// Everything that can be wrong with policy data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. FR)")]
    InvalidNation(String),
    #[error("nation {0} is not a member of this community")]
    UnknownNation(String),
    #[error(
        "{0:?} is not an organization kind (cert, police, prosecutor, defence, foreign-affairs, ict-ministry, commerce, intelligence, private-sector, other)"
    )]
    InvalidOrgKind(String),
    #[error("{0:?} is not a role (reader, analyst, org-admin, admin)")]
    InvalidRole(String),
    #[error("{0:?} is not a TLP level (clear, green, amber, amber+strict, red)")]
    InvalidTlp(String),
    #[error(
        "{0:?} is not a path (taxii-read, rest-read, export, federation-push, copy, public-feed)"
    )]
    InvalidPath(String),
    #[error(
        "{0:?} is not an audience (anyone, community, channel, member-channel, recipients, nobody)"
    )]
    InvalidAudience(String),
    #[error("{0:?} is not a STIX identity id (identity--<uuid>)")]
    InvalidIdentityRef(String),
    #[error("marking definition {id:?}: {reason}")]
    InvalidMarking { id: String, reason: String },
    #[error("unknown organization {0}")]
    UnknownOrganization(Uuid),
    #[error("unknown user {0}")]
    UnknownUser(Uuid),
    #[error("duplicate {0}")]
    Duplicate(String),
    #[error("inconsistent policy data: {0}")]
    Inconsistent(String),
    #[error(
        "collection {collection}: anonymous read is for TLP:CLEAR publishing only, but its default TLP is {default_tlp}"
    )]
    AnonymousNotClear { collection: Uuid, default_tlp: Tlp },
    #[error("a grant to {0} gives neither read nor write")]
    EmptyGrant(String),
    #[error("a copy to a collection has no row filter: decide per object")]
    NoFilterForCollection,
}
