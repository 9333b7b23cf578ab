//! The decision: may this object version go through this [`Path`] to this [`Destination`]?
//!
//! The rules are one table, [`RULES`], indexed by TLP level and path; each cell is an
//! [`Audience`]. POLICY.md carries the same table, and a test parses it and checks it against
//! this one and against [`decide`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::PolicyError;
use crate::identity::{GroupRef, IdentityRef, Nation, OrgRef, Principal};
use crate::labels::ObjectLabels;
use crate::marking::Tlp;

/// Who a collection grant is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grantee {
    Organization(OrgRef),
    SharingGroup(GroupRef),
    Nation(Nation),
    /// Every organization of the community (every authenticated member and peer; never an
    /// anonymous reader).
    Community,
}

impl Grantee {
    /// Does this grant cover `p`?
    #[inline]
    pub fn covers(&self, p: &Principal) -> bool {
        match self {
            Grantee::Organization(o) => p.org.is_some_and(|po| po.id == o.id),
            Grantee::SharingGroup(g) => p.groups.iter().any(|pg| pg.id == g.id),
            Grantee::Nation(n) => p.nation == *n,
            Grantee::Community => true,
        }
    }
}

/// Read and/or write rights on a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub to: Grantee,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
}

fn default_tlp() -> Tlp {
    Tlp::Amber
}

/// A collection as a channel: its grants, its default TLP for unmarked objects (AMBER unless
/// configured), and whether anonymous readers may read it (for TLP:CLEAR publishing only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionPolicy {
    pub id: Uuid,
    #[serde(default = "default_tlp")]
    pub default_tlp: Tlp,
    #[serde(default)]
    pub anonymous_read: bool,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

impl CollectionPolicy {
    /// A collection with no grants and the AMBER default.
    pub fn new(id: Uuid) -> CollectionPolicy {
        CollectionPolicy {
            id,
            default_tlp: Tlp::Amber,
            anonymous_read: false,
            grants: Vec::new(),
        }
    }

    /// An anonymously readable collection is a TLP:CLEAR publishing channel: its default TLP
    /// must be CLEAR. A grant must give at least one right.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.anonymous_read && self.default_tlp != Tlp::Clear {
            return Err(PolicyError::AnonymousNotClear {
                collection: self.id,
                default_tlp: self.default_tlp,
            });
        }
        if let Some(g) = self.grants.iter().find(|g| !g.read && !g.write) {
            return Err(PolicyError::EmptyGrant(format!("{:?}", g.to)));
        }
        Ok(())
    }

    /// Does a read grant cover `p`? (TAXII `can_read`.)
    #[inline]
    pub fn can_read(&self, p: &Principal) -> bool {
        self.grants.iter().any(|g| g.read && g.to.covers(p))
    }

    /// Does a write grant cover `p`, and may its role write? (TAXII `can_write`.)
    /// May `p` read through a grant other than the community's (an organization, a sharing
    /// group or a nation grant)?
    pub fn can_read_outside_community(&self, p: &Principal) -> bool {
        self.grants
            .iter()
            .any(|g| g.read && g.to != Grantee::Community && g.to.covers(p))
    }

    pub fn can_write(&self, p: &Principal) -> bool {
        p.role.is_some_and(|r| r.may_write())
            && self.grants.iter().any(|g| g.write && g.to.covers(p))
    }
}

/// The ways an object version is read or leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// TAXII 2.1 objects/object/manifest/versions to a user or an anonymous reader.
    TaxiiRead,
    /// The REST API and the UI, to a user or an anonymous reader.
    RestRead,
    /// An export (STIX, MISP, CSV, rules, lists) handed to a user.
    Export,
    /// Pushed (or served) to a peer node.
    FederationPush,
    /// Copied into another collection of this node.
    CopyToCollection,
    /// A public feed, read by anyone.
    PublicFeed,
}

impl Path {
    pub const ALL: [Path; 6] = [
        Path::TaxiiRead,
        Path::RestRead,
        Path::Export,
        Path::FederationPush,
        Path::CopyToCollection,
        Path::PublicFeed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Path::TaxiiRead => "taxii-read",
            Path::RestRead => "rest-read",
            Path::Export => "export",
            Path::FederationPush => "federation-push",
            Path::CopyToCollection => "copy",
            Path::PublicFeed => "public-feed",
        }
    }

    pub fn parse(s: &str) -> Result<Path, PolicyError> {
        Path::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| PolicyError::InvalidPath(s.to_string()))
    }

    /// Does the object leave this node's control on this path? (Everything but reads.)
    pub fn leaves_node(self) -> bool {
        !matches!(self, Path::TaxiiRead | Path::RestRead)
    }

    /// The destination kinds this path delivers to, as POLICY.md names them.
    pub fn destinations(self) -> &'static str {
        match self {
            Path::TaxiiRead | Path::RestRead => "user, anonymous",
            Path::Export => "user",
            Path::FederationPush => "peer",
            Path::CopyToCollection => "collection",
            Path::PublicFeed => "anonymous",
        }
    }

    fn accepts(self, to: &Destination<'_>) -> bool {
        matches!(
            (self, to),
            (
                Path::TaxiiRead | Path::RestRead,
                Destination::User(_) | Destination::Anonymous
            ) | (Path::Export, Destination::User(_))
                | (
                    Path::FederationPush,
                    Destination::Peer(_) | Destination::ExternalPeer(_)
                )
                | (Path::CopyToCollection, Destination::Collection(_))
                | (Path::PublicFeed, Destination::Anonymous)
        )
    }
}

/// Where the object version would go.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    /// Nobody authenticated.
    Anonymous,
    /// A user (its organization, nation, groups, role).
    User(&'a Principal),
    /// A peer node standing for an organization (`org` set) or a whole nation (`org` empty).
    Peer(&'a Principal),
    /// A peer node outside the community (a partner reached through one channel only): it
    /// receives TLP:GREEN only where a read grant other than the community's covers it, as
    /// for TLP:AMBER, and community grants never make it a reader.
    ExternalPeer(&'a Principal),
    /// Another collection of this node (its readers become the audience).
    Collection(&'a CollectionPolicy),
}

/// Who a rule lets an object version reach. Each is a predicate over the destination; for a
/// collection destination, over every reader its grants admit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// Any destination the path delivers to, anonymous included.
    Anyone,
    /// Any member of the community: any user or peer; a collection that is not anonymously
    /// readable. Never anonymous.
    Community,
    /// A reader of the source collection (anonymous only where that collection is anonymously
    /// readable), the creator, or a named recipient. For a collection destination: each of its
    /// read grants is one the source collection also has (or a community read grant of the
    /// source), or names a recipient.
    Channel,
    /// [`Audience::Channel`], never anonymous (nor an anonymously readable collection).
    MemberChannel,
    /// Only the creator organization and the named recipients (organizations, or members of
    /// named sharing groups). For a collection destination: every read grant is to the creator
    /// or a named recipient, and it is not anonymously readable.
    Recipients,
    /// Nobody.
    Nobody,
}

impl Audience {
    pub const ALL: [Audience; 6] = [
        Audience::Anyone,
        Audience::Community,
        Audience::Channel,
        Audience::MemberChannel,
        Audience::Recipients,
        Audience::Nobody,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Anyone => "anyone",
            Audience::Community => "community",
            Audience::Channel => "channel",
            Audience::MemberChannel => "member-channel",
            Audience::Recipients => "recipients",
            Audience::Nobody => "nobody",
        }
    }

    pub fn parse(s: &str) -> Result<Audience, PolicyError> {
        Audience::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| PolicyError::InvalidAudience(s.to_string()))
    }
}

use Audience::{Anyone, Channel, Community, MemberChannel, Nobody, Recipients};

/// The policy: `RULES[tlp as usize][path index in Path::ALL]`.
pub const RULES: [[Audience; 6]; 5] = [
    // taxii-read,  rest-read,     export,        federation-push, copy,          public-feed
    [Channel, Channel, Channel, Anyone, Anyone, Anyone], // CLEAR
    [
        MemberChannel,
        MemberChannel,
        MemberChannel,
        Community,
        Community,
        Nobody,
    ], // GREEN
    [
        MemberChannel,
        MemberChannel,
        MemberChannel,
        MemberChannel,
        MemberChannel,
        Nobody,
    ], // AMBER
    [
        MemberChannel,
        MemberChannel,
        MemberChannel,
        Nobody,
        Recipients,
        Nobody,
    ], // AMBER+STRICT
    [Recipients, Recipients, Nobody, Nobody, Nobody, Nobody], // RED
];

/// The rule for `tlp` on `path`.
#[inline]
pub fn rule(tlp: Tlp, path: Path) -> Audience {
    RULES[tlp as usize][path as usize]
}

/// One question: this object version, through `path`, to `to`, out of the `source` collection.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub path: Path,
    pub to: Destination<'a>,
    pub source: &'a CollectionPolicy,
}

impl<'a> Access<'a> {
    /// A TAXII read by `reader` (`None`: anonymous) of `source`.
    pub fn taxii_read(reader: Option<&'a Principal>, source: &'a CollectionPolicy) -> Self {
        Access {
            path: Path::TaxiiRead,
            to: reader.map_or(Destination::Anonymous, Destination::User),
            source,
        }
    }
}

/// Why the answer is what it is, for the audit log. No allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// The TLP that decided (object-level, or a granular level when redacting).
    pub tlp: Tlp,
    pub path: Path,
    /// The rule that applied; `None` when the destination is not one the path delivers to.
    pub rule: Option<Audience>,
}

impl Decision {
    #[inline]
    pub fn allowed(&self) -> bool {
        self.allowed
    }
}

/// May this object version go through `access.path` to `access.to`? The object-level TLP is
/// the labels' (most restrictive of its markings) or the source collection's default.
///
/// Leaving paths (export, push, copy) presuppose that whoever triggers them may see the object;
/// check that first with a read decision.
#[inline]
pub fn decide(labels: &ObjectLabels, access: &Access<'_>) -> Decision {
    decide_at(
        labels.effective_tlp(access.source.default_tlp),
        labels,
        access,
    )
}

/// [`decide`] as if the TLP were `tlp` (used for granular markings: the level of a property is
/// the more restrictive of the object's and the granular marking's).
pub fn decide_at(tlp: Tlp, labels: &ObjectLabels, access: &Access<'_>) -> Decision {
    if !access.path.accepts(&access.to) {
        return Decision {
            allowed: false,
            tlp,
            path: access.path,
            rule: None,
        };
    }
    let audience = rule(tlp, access.path);
    Decision {
        allowed: admits(audience, labels, access),
        tlp,
        path: access.path,
        rule: Some(audience),
    }
}

/// Is the principal the creator or a named recipient (through its organization or a group)?
#[inline]
fn is_recipient(p: &Principal, labels: &ObjectLabels) -> bool {
    p.org.is_some_and(|o| labels.names(o.identity))
        || p.groups.iter().any(|g| labels.names(g.identity))
}

/// Does the grantee stand for the creator or a named recipient?
#[inline]
fn grantee_is_recipient(g: &Grantee, labels: &ObjectLabels) -> bool {
    match g {
        Grantee::Organization(o) => labels.names(o.identity),
        Grantee::SharingGroup(gr) => labels.names(gr.identity),
        Grantee::Nation(_) | Grantee::Community => false,
    }
}

/// Is every reader the target's read grant `g` admits also admitted by the source collection?
#[inline]
fn grantee_in_channel(g: &Grantee, source: &CollectionPolicy, labels: &ObjectLabels) -> bool {
    grantee_is_recipient(g, labels)
        || source
            .grants
            .iter()
            .any(|s| s.read && (s.to == *g || s.to == Grantee::Community))
}

fn admits(audience: Audience, labels: &ObjectLabels, access: &Access<'_>) -> bool {
    let source = access.source;
    match access.to {
        Destination::Anonymous => match audience {
            Anyone => true,
            Channel => source.anonymous_read,
            Community | MemberChannel | Recipients | Nobody => false,
        },
        Destination::User(p) | Destination::Peer(p) => match audience {
            Anyone | Community => true,
            Channel | MemberChannel => source.can_read(p) || is_recipient(p, labels),
            Recipients => is_recipient(p, labels),
            Nobody => false,
        },
        Destination::ExternalPeer(p) => match audience {
            Anyone => true,
            Community | Channel | MemberChannel => {
                source.can_read_outside_community(p) || is_recipient(p, labels)
            }
            Recipients => is_recipient(p, labels),
            Nobody => false,
        },
        Destination::Collection(target) => {
            let reads = || target.grants.iter().filter(|g| g.read);
            match audience {
                Anyone => true,
                Community => !target.anonymous_read,
                Channel => {
                    (!target.anonymous_read || source.anonymous_read)
                        && reads().all(|g| grantee_in_channel(&g.to, source, labels))
                }
                MemberChannel => {
                    !target.anonymous_read
                        && reads().all(|g| grantee_in_channel(&g.to, source, labels))
                }
                Recipients => {
                    !target.anonymous_read && reads().all(|g| grantee_is_recipient(&g.to, labels))
                }
                Nobody => false,
            }
        }
    }
}

/// May `reader` (`None`: anonymous) see this object version in `source` (TAXII or REST read)?
#[inline]
pub fn may_see(
    reader: Option<&Principal>,
    labels: &ObjectLabels,
    source: &CollectionPolicy,
) -> bool {
    decide(labels, &Access::taxii_read(reader, source)).allowed
}

/// [`decide`] for a user or anonymous reader, in the form a store turns into SQL:
///
/// ```text
/// allowed = if creator ∈ identities or recipients ∩ identities ≠ ∅
///           then tlp ∈ named_levels else tlp ∈ channel_levels
/// where tlp = COALESCE(labels.tlp, default_tlp)
/// ```
///
/// Built by evaluating [`decide`] itself, so the two cannot disagree (a property test checks
/// [`ReadFilter::admits`] against [`decide`] on random worlds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadFilter {
    /// The principal's organization and group identities (empty for anonymous).
    pub identities: Vec<IdentityRef>,
    /// Bit `t` set: an object at TLP `t` is shown when the principal is its creator or a
    /// named recipient.
    pub named_levels: u8,
    /// Bit `t` set: an object at TLP `t` is shown otherwise.
    pub channel_levels: u8,
    /// The source collection's default TLP, for objects without one.
    pub default_tlp: Tlp,
}

impl ReadFilter {
    /// The filter for `path` to a user or anonymous destination. A collection destination
    /// depends on the whole recipients list and has no such filter.
    pub fn new(
        path: Path,
        to: Destination<'_>,
        source: &CollectionPolicy,
    ) -> Result<ReadFilter, PolicyError> {
        let principal = match to {
            Destination::Anonymous => None,
            Destination::User(p) | Destination::Peer(p) | Destination::ExternalPeer(p) => Some(p),
            Destination::Collection(_) => return Err(PolicyError::NoFilterForCollection),
        };
        let identities = principal.map(Principal::identities).unwrap_or_default();
        let access = Access { path, to, source };
        let mut named_levels = 0u8;
        let mut channel_levels = 0u8;
        for tlp in Tlp::ALL {
            let plain = ObjectLabels {
                tlp: Some(tlp),
                ..ObjectLabels::default()
            };
            if decide(&plain, &access).allowed {
                channel_levels |= 1 << tlp as u8;
            }
            if let Some(id) = identities.first() {
                let named = ObjectLabels {
                    tlp: Some(tlp),
                    recipients: vec![*id],
                    ..ObjectLabels::default()
                };
                if decide(&named, &access).allowed {
                    named_levels |= 1 << tlp as u8;
                }
            }
        }
        Ok(ReadFilter {
            identities,
            named_levels,
            channel_levels,
            default_tlp: source.default_tlp,
        })
    }

    /// The filter that admits what both `self` and `other` admit. Both must be for the same
    /// principal and source collection (a peer account's read is its TAXII read filter
    /// intersected with what may be pushed to its node).
    pub fn intersect(&self, other: &ReadFilter) -> ReadFilter {
        debug_assert_eq!(self.identities, other.identities);
        debug_assert_eq!(self.default_tlp, other.default_tlp);
        ReadFilter {
            identities: self.identities.clone(),
            named_levels: self.named_levels & other.named_levels,
            channel_levels: self.channel_levels & other.channel_levels,
            default_tlp: self.default_tlp,
        }
    }

    /// The levels (as `Tlp as u8`) in `bits`, for an SQL `IN (...)` list.
    pub fn levels(bits: u8) -> impl Iterator<Item = u8> {
        (0u8..5).filter(move |t| bits & (1 << t) != 0)
    }

    /// The same predicate the SQL filter computes.
    #[inline]
    pub fn admits(&self, labels: &ObjectLabels) -> bool {
        let tlp = labels.effective_tlp(self.default_tlp) as u8;
        let named = self.identities.iter().any(|i| labels.names(*i));
        let bits = if named {
            self.named_levels
        } else {
            self.channel_levels
        };
        bits & (1 << tlp) != 0
    }
}
