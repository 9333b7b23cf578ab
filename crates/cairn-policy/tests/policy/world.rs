//! Loading `tests/fixtures/world.json` (names instead of ids) into a `World`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cairn_policy::{
    CollectionPolicy, Grant, Grantee, GroupRef, IdentityRef, Nation, OrgKind, OrgRef, Organization,
    Principal, Role, SharingGroup, Tlp, User, World,
};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A stable id for a fixture name.
pub fn id_of(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

#[derive(Deserialize)]
struct OrgSpec {
    name: String,
    nation: Nation,
    kind: OrgKind,
    identity: IdentityRef,
}

#[derive(Deserialize)]
struct GroupSpec {
    name: String,
    owner: String,
    identity: IdentityRef,
    members: Vec<String>,
}

#[derive(Deserialize)]
struct UserSpec {
    name: String,
    org: String,
    role: Role,
}

#[derive(Deserialize)]
struct WorldSpec {
    nations: Vec<Nation>,
    organizations: Vec<OrgSpec>,
    groups: Vec<GroupSpec>,
    users: Vec<UserSpec>,
}

pub struct NamedWorld {
    pub world: World,
}

impl NamedWorld {
    pub fn load() -> NamedWorld {
        let spec: WorldSpec = serde_json::from_value(read_json(&fixtures_dir().join("world.json")))
            .expect("world.json");
        let mut world = World {
            nations: spec.nations.into_iter().collect(),
            ..World::default()
        };
        for o in spec.organizations {
            let id = id_of(&o.name);
            world.organizations.insert(
                id,
                Organization {
                    id,
                    name: o.name,
                    nation: o.nation,
                    kind: o.kind,
                    identity: o.identity,
                },
            );
        }
        for g in spec.groups {
            let id = id_of(&g.name);
            world.groups.insert(
                id,
                SharingGroup {
                    id,
                    name: g.name,
                    owner: id_of(&g.owner),
                    identity: g.identity,
                    members: g.members.iter().map(|m| id_of(m)).collect(),
                },
            );
        }
        for u in spec.users {
            let id = id_of(&u.name);
            world.users.insert(
                id,
                User {
                    id,
                    name: u.name,
                    org: id_of(&u.org),
                    role: u.role,
                },
            );
        }
        world.validate().expect("world.json is consistent");
        NamedWorld { world }
    }

    pub fn org_ref(&self, name: &str) -> OrgRef {
        let o = self
            .world
            .org(id_of(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        OrgRef {
            id: o.id,
            identity: o.identity,
        }
    }

    pub fn group_ref(&self, name: &str) -> GroupRef {
        let g = &self.world.groups[&id_of(name)];
        GroupRef {
            id: g.id,
            identity: g.identity,
        }
    }

    pub fn user(&self, name: &str) -> Principal {
        self.world.user_principal(id_of(name)).expect("user")
    }

    pub fn peer_org(&self, name: &str) -> Principal {
        self.world.peer_for_org(id_of(name)).expect("org")
    }

    pub fn peer_nation(&self, code: &str) -> Principal {
        self.world
            .peer_for_nation(Nation::parse(code).expect("nation"))
            .expect("member nation")
    }

    /// A collection from a fixture: `{default_tlp, anonymous_read, grants: [{to, read, write}]}`
    /// where `to` is `"community"`, `{"organization": name}`, `{"group": name}` or
    /// `{"nation": code}`.
    pub fn collection(&self, name: &str, spec: &Value) -> CollectionPolicy {
        let default_tlp = spec
            .get("default_tlp")
            .and_then(Value::as_str)
            .map(|t| Tlp::parse(t).expect("tlp"))
            .unwrap_or(Tlp::Amber);
        let grants = spec
            .get("grants")
            .and_then(Value::as_array)
            .map(|gs| {
                gs.iter()
                    .map(|g| Grant {
                        to: self.grantee(&g["to"]),
                        read: g.get("read").and_then(Value::as_bool).unwrap_or(false),
                        write: g.get("write").and_then(Value::as_bool).unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let c = CollectionPolicy {
            id: id_of(name),
            default_tlp,
            anonymous_read: spec
                .get("anonymous_read")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            grants,
        };
        c.validate()
            .unwrap_or_else(|e| panic!("collection {name}: {e}"));
        c
    }

    fn grantee(&self, to: &Value) -> Grantee {
        if to == "community" {
            return Grantee::Community;
        }
        let obj = to.as_object().expect("grantee object");
        let (kind, name) = obj.iter().next().expect("one key");
        let name = name.as_str().expect("name");
        match kind.as_str() {
            "organization" => Grantee::Organization(self.org_ref(name)),
            "group" => Grantee::SharingGroup(self.group_ref(name)),
            "nation" => Grantee::Nation(Nation::parse(name).expect("nation")),
            other => panic!("unknown grantee kind {other}"),
        }
    }

    pub fn collections(&self, spec: &Value) -> BTreeMap<String, CollectionPolicy> {
        spec.as_object()
            .expect("collections")
            .iter()
            .map(|(name, c)| (name.clone(), self.collection(name, c)))
            .collect()
    }
}
