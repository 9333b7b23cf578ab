//! Who is who: nations, organizations, roles, users, sharing groups, and the [`Principal`] a
//! decision is made for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::PolicyError;

/// A nation, by its ISO 3166-1 alpha-2 code (upper case, e.g. `FR`, `GB`). Only officially
/// assigned codes are accepted: `UK`, `EU`, the user-assigned `XK` and lower case are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nation([u8; 2]);

impl Nation {
    /// The nation of an organization whose nation has not been set yet (`ZZ`, which ISO 3166-1
    /// leaves to users and [`Nation::parse`] refuses): no grant, peer or member list can name it.
    pub const UNASSIGNED: Nation = Nation(*b"ZZ");

    /// Parses an alpha-2 code, checking it against the ISO 3166-1 list.
    pub fn parse(code: &str) -> Result<Nation, PolicyError> {
        let bytes = code.as_bytes();
        let invalid = || PolicyError::InvalidNation(code.to_string());
        // XK is a user-assigned code (ISO 3166-1 reserves X* for users), not an assigned one.
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_uppercase) || code == "XK" {
            return Err(invalid());
        }
        let country = celes::Country::from_alpha2(code).map_err(|_| invalid())?;
        if !country.alpha2.eq_ignore_ascii_case(code) {
            return Err(invalid());
        }
        Ok(Nation([bytes[0], bytes[1]]))
    }

    /// The alpha-2 code.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters (checked in `parse`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The English short name (e.g. `France`).
    pub fn name(&self) -> &'static str {
        celes::Country::from_alpha2(self.as_str())
            .map(|c| c.long_name)
            .unwrap_or("")
    }
}

impl fmt::Display for Nation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Nation {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nation::parse(s)
    }
}

impl Serialize for Nation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Nation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Nation::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What an organization is. Kebab-case names (`cert`, `foreign-affairs`, ...) on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgKind {
    /// A CERT or CSIRT.
    Cert,
    Police,
    Prosecutor,
    Defence,
    ForeignAffairs,
    IctMinistry,
    Commerce,
    Intelligence,
    PrivateSector,
    Other,
}

impl OrgKind {
    pub const ALL: [OrgKind; 10] = [
        OrgKind::Cert,
        OrgKind::Police,
        OrgKind::Prosecutor,
        OrgKind::Defence,
        OrgKind::ForeignAffairs,
        OrgKind::IctMinistry,
        OrgKind::Commerce,
        OrgKind::Intelligence,
        OrgKind::PrivateSector,
        OrgKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Cert => "cert",
            OrgKind::Police => "police",
            OrgKind::Prosecutor => "prosecutor",
            OrgKind::Defence => "defence",
            OrgKind::ForeignAffairs => "foreign-affairs",
            OrgKind::IctMinistry => "ict-ministry",
            OrgKind::Commerce => "commerce",
            OrgKind::Intelligence => "intelligence",
            OrgKind::PrivateSector => "private-sector",
            OrgKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<OrgKind, PolicyError> {
        OrgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| PolicyError::InvalidOrgKind(s.to_string()))
    }
}

/// User roles, least to most privileged. The same names and order as `cairn_store::Role`
/// (`reader`, `analyst`, `org-admin`, `admin`); defined here because the store depends on this
/// crate, not the other way round. Roles govern what a user may *do* (write, administer); they
/// never widen what a user may *see*: an `admin` sees objects exactly as any member of its
/// organization does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Reader,
    Analyst,
    OrgAdmin,
    Admin,
    /// The account a partner node syncs with: reads what may be pushed to its node (TAXII read
    /// ∩ `federation-push`), writes where a write grant allows, administers nothing.
    Peer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Reader,
        Role::Analyst,
        Role::OrgAdmin,
        Role::Admin,
        Role::Peer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Analyst => "analyst",
            Role::OrgAdmin => "org-admin",
            Role::Admin => "admin",
            Role::Peer => "peer",
        }
    }

    pub fn parse(s: &str) -> Result<Role, PolicyError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| PolicyError::InvalidRole(s.to_string()))
    }

    /// May create and change objects (given a write grant on the collection).
    pub fn may_write(self) -> bool {
        matches!(
            self,
            Role::Analyst | Role::OrgAdmin | Role::Admin | Role::Peer
        )
    }
}

/// The UUID part of a STIX `identity--<uuid>` id. Organizations and sharing groups are named by
/// their STIX identity in markings (`created_by_ref`, the recipients marking), so the decision
/// compares these 16-byte values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityRef(pub Uuid);

impl IdentityRef {
    /// Parses `identity--<uuid>`.
    pub fn parse(id: &str) -> Result<IdentityRef, PolicyError> {
        id.strip_prefix("identity--")
            .and_then(|u| Uuid::parse_str(u).ok())
            .map(IdentityRef)
            .ok_or_else(|| PolicyError::InvalidIdentityRef(id.to_string()))
    }

    /// The STIX id, `identity--<uuid>`.
    pub fn stix_id(&self) -> String {
        format!("identity--{}", self.0)
    }
}

impl fmt::Display for IdentityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "identity--{}", self.0)
    }
}

impl Serialize for IdentityRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IdentityRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IdentityRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Cairn's id of an organization.
pub type OrgId = Uuid;
/// Cairn's id of a sharing group.
pub type GroupId = Uuid;
/// Cairn's id of a user.
pub type UserId = Uuid;

/// An organization: belongs to one nation, has a kind, and is represented in STIX by an
/// `identity` object (`identity_class: organization`) that becomes the `created_by_ref` of what
/// its users create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub nation: Nation,
    pub kind: OrgKind,
    pub identity: IdentityRef,
}

/// A named set of organizations, possibly across nations, with an owner organization (which
/// manages membership). Recipients markings name a group by its STIX identity
/// (`identity_class: group`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingGroup {
    pub id: GroupId,
    pub name: String,
    pub owner: OrgId,
    pub identity: IdentityRef,
    pub members: BTreeSet<OrgId>,
}

/// A user of one organization with one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub org: OrgId,
    pub role: Role,
}

/// A sharing group as a principal holds it: its id (for grants) and its identity (for markings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: GroupId,
    pub identity: IdentityRef,
}

/// An organization as a principal holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRef {
    pub id: OrgId,
    pub identity: IdentityRef,
}

/// Whoever an object version would be released to, resolved once per request so the decision
/// itself only compares small values: a user (org, nation, groups, role), or a peer node that
/// stands for an organization (`org` set, `role` empty) or for a whole nation (`org` empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub org: Option<OrgRef>,
    pub nation: Nation,
    pub groups: Vec<GroupRef>,
    pub role: Option<Role>,
}

impl Principal {
    /// Is `identity` this principal's organization or one of its sharing groups?
    #[inline]
    pub fn is_named(&self, identity: IdentityRef) -> bool {
        self.org.is_some_and(|o| o.identity == identity)
            || self.groups.iter().any(|g| g.identity == identity)
    }

    /// Is this principal's organization the one identified by `identity`?
    #[inline]
    pub fn is_org(&self, identity: IdentityRef) -> bool {
        self.org.is_some_and(|o| o.identity == identity)
    }

    /// The identities a recipients marking may name this principal by (its organization's and
    /// its groups'), for a store's `IN (...)` filter.
    pub fn identities(&self) -> Vec<IdentityRef> {
        self.org
            .iter()
            .map(|o| o.identity)
            .chain(self.groups.iter().map(|g| g.identity))
            .collect()
    }
}

/// The community of one node: every nation, organization, sharing group and user it knows.
/// Built from the store and checked with [`World::validate`]; it resolves users and peers into
/// [`Principal`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct World {
    pub nations: BTreeSet<Nation>,
    pub organizations: BTreeMap<OrgId, Organization>,
    pub groups: BTreeMap<GroupId, SharingGroup>,
    pub users: BTreeMap<UserId, User>,
}

impl World {
    /// Checks references and uniqueness: every organization's nation is a member nation, every
    /// group's owner and members exist and the owner is a member, every user's organization
    /// exists, names and identities are unique.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let mut identities = BTreeSet::new();
        let mut org_names = BTreeSet::new();
        for (id, org) in &self.organizations {
            if *id != org.id {
                return Err(PolicyError::Inconsistent(format!(
                    "organization {} is filed under id {id}",
                    org.id
                )));
            }
            if !self.nations.contains(&org.nation) {
                return Err(PolicyError::UnknownNation(org.nation.to_string()));
            }
            if !org_names.insert(org.name.as_str()) {
                return Err(PolicyError::Duplicate(format!(
                    "organization name {:?}",
                    org.name
                )));
            }
            if !identities.insert(org.identity) {
                return Err(PolicyError::Duplicate(format!("identity {}", org.identity)));
            }
        }
        let mut group_names = BTreeSet::new();
        for (id, group) in &self.groups {
            if *id != group.id {
                return Err(PolicyError::Inconsistent(format!(
                    "sharing group {} is filed under id {id}",
                    group.id
                )));
            }
            if !group_names.insert(group.name.as_str()) {
                return Err(PolicyError::Duplicate(format!(
                    "sharing group name {:?}",
                    group.name
                )));
            }
            if !identities.insert(group.identity) {
                return Err(PolicyError::Duplicate(format!(
                    "identity {}",
                    group.identity
                )));
            }
            self.org(group.owner)?;
            if !group.members.contains(&group.owner) {
                return Err(PolicyError::Inconsistent(format!(
                    "sharing group {:?}: its owner is not a member",
                    group.name
                )));
            }
            for m in &group.members {
                self.org(*m)?;
            }
        }
        for (id, user) in &self.users {
            if *id != user.id {
                return Err(PolicyError::Inconsistent(format!(
                    "user {} is filed under id {id}",
                    user.id
                )));
            }
            self.org(user.org)?;
        }
        Ok(())
    }

    pub fn org(&self, id: OrgId) -> Result<&Organization, PolicyError> {
        self.organizations
            .get(&id)
            .ok_or(PolicyError::UnknownOrganization(id))
    }

    /// The organization whose STIX identity is `identity`.
    pub fn org_by_identity(&self, identity: IdentityRef) -> Option<&Organization> {
        self.organizations.values().find(|o| o.identity == identity)
    }

    /// The sharing groups `org` is a member of.
    pub fn groups_of(&self, org: OrgId) -> impl Iterator<Item = &SharingGroup> {
        self.groups
            .values()
            .filter(move |g| g.members.contains(&org))
    }

    fn org_principal(&self, org: &Organization, role: Option<Role>) -> Principal {
        Principal {
            org: Some(OrgRef {
                id: org.id,
                identity: org.identity,
            }),
            nation: org.nation,
            groups: self
                .groups_of(org.id)
                .map(|g| GroupRef {
                    id: g.id,
                    identity: g.identity,
                })
                .collect(),
            role,
        }
    }

    /// The principal for a user: its organization, nation, groups and role.
    pub fn user_principal(&self, user: UserId) -> Result<Principal, PolicyError> {
        let user = self
            .users
            .get(&user)
            .ok_or(PolicyError::UnknownUser(user))?;
        let org = self.org(user.org)?;
        Ok(self.org_principal(org, Some(user.role)))
    }

    /// The principal for a peer node standing for one organization.
    pub fn peer_for_org(&self, org: OrgId) -> Result<Principal, PolicyError> {
        let org = self.org(org)?;
        Ok(self.org_principal(org, None))
    }

    /// The principal for a peer node standing for a whole nation (no organization, no group).
    pub fn peer_for_nation(&self, nation: Nation) -> Result<Principal, PolicyError> {
        if !self.nations.contains(&nation) {
            return Err(PolicyError::UnknownNation(nation.to_string()));
        }
        Ok(Principal {
            org: None,
            nation,
            groups: Vec::new(),
            role: None,
        })
    }

    /// May `actor` manage the users, tokens and groups of `org`? Admins manage every
    /// organization; org-admins their own.
    pub fn may_administer(&self, actor: UserId, org: OrgId) -> Result<bool, PolicyError> {
        let user = self
            .users
            .get(&actor)
            .ok_or(PolicyError::UnknownUser(actor))?;
        self.org(org)?;
        Ok(match user.role {
            Role::Admin => true,
            Role::OrgAdmin => user.org == org,
            Role::Reader | Role::Analyst | Role::Peer => false,
        })
    }
}
