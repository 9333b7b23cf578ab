//! Nations, kinds, roles, identities, world validation, collection grants.

use cairn_policy::{
    CollectionPolicy, Grant, Grantee, IdentityRef, Nation, OrgKind, PolicyError, Role, Tlp,
};
use uuid::Uuid;

use crate::world::{NamedWorld, id_of};

#[test]
fn nations_are_iso_3166_alpha2_codes() {
    for ok in ["FR", "DE", "EE", "GB", "KR", "US", "UA", "NO", "SS", "CW"] {
        let n = Nation::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(n.as_str(), ok);
        assert!(!n.name().is_empty());
    }
    assert_eq!(Nation::parse("FR").unwrap().name(), "France");
    for bad in [
        "UK", "EU", "XX", "fr", "F", "FRA", "", "ZZ", "AN", "F1", "XK",
    ] {
        assert_eq!(
            Nation::parse(bad),
            Err(PolicyError::InvalidNation(bad.to_string())),
            "{bad}"
        );
    }
    let n: Nation = serde_json::from_str("\"EE\"").unwrap();
    assert_eq!(serde_json::to_string(&n).unwrap(), "\"EE\"");
    assert!(serde_json::from_str::<Nation>("\"UK\"").is_err());
}

#[test]
fn kinds_and_roles_round_trip() {
    assert_eq!(OrgKind::ALL.len(), 10);
    for k in OrgKind::ALL {
        assert_eq!(OrgKind::parse(k.as_str()).unwrap(), k);
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
    }
    assert!(OrgKind::parse("cert-csirt").is_err());
    for r in Role::ALL {
        assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
    }
    assert!(
        Role::Reader < Role::Analyst
            && Role::Analyst < Role::OrgAdmin
            && Role::OrgAdmin < Role::Admin
    );
    assert!(!Role::Reader.may_write() && Role::Analyst.may_write() && Role::Admin.may_write());
    assert!(IdentityRef::parse("identity--a1000000-0000-4000-8000-000000000001").is_ok());
    assert!(IdentityRef::parse("indicator--a1000000-0000-4000-8000-000000000001").is_err());
    assert!(IdentityRef::parse("identity--nope").is_err());
}

#[test]
fn world_validation_names_what_is_wrong() {
    let nw = NamedWorld::load();
    let base = nw.world.clone();
    let fr_cert = id_of("cert-fr");
    let tf = id_of("ransomware-tf");

    let mut w = base.clone();
    w.nations.remove(&Nation::parse("EE").unwrap());
    assert_eq!(w.validate(), Err(PolicyError::UnknownNation("EE".into())));

    let mut w = base.clone();
    w.organizations.get_mut(&id_of("cert-de")).unwrap().name = "cert-fr".into();
    assert_eq!(
        w.validate(),
        Err(PolicyError::Duplicate(
            "organization name \"cert-fr\"".into()
        ))
    );

    let mut w = base.clone();
    let fr_identity = w.organizations[&fr_cert].identity;
    w.groups.get_mut(&tf).unwrap().identity = fr_identity;
    assert_eq!(
        w.validate(),
        Err(PolicyError::Duplicate(format!("identity {fr_identity}")))
    );

    let mut w = base.clone();
    w.groups.get_mut(&tf).unwrap().members.remove(&fr_cert);
    assert!(
        matches!(w.validate(), Err(PolicyError::Inconsistent(m)) if m.contains("owner is not a member"))
    );

    let mut w = base.clone();
    let ghost = Uuid::from_u128(7);
    w.groups.get_mut(&tf).unwrap().members.insert(ghost);
    assert_eq!(w.validate(), Err(PolicyError::UnknownOrganization(ghost)));

    let mut w = base.clone();
    w.users.get_mut(&id_of("alice")).unwrap().org = ghost;
    assert_eq!(w.validate(), Err(PolicyError::UnknownOrganization(ghost)));

    assert!(base.user_principal(ghost).is_err());
    assert!(base.peer_for_nation(Nation::parse("US").unwrap()).is_err());
}

#[test]
fn principals_carry_org_nation_groups_and_role() {
    let nw = NamedWorld::load();
    let dieter = nw.user("dieter");
    assert_eq!(dieter.nation.as_str(), "DE");
    assert_eq!(dieter.role, Some(Role::Analyst));
    assert_eq!(dieter.groups, vec![nw.group_ref("ransomware-tf")]);
    assert_eq!(
        dieter.identities(),
        vec![
            nw.org_ref("cert-de").identity,
            nw.group_ref("ransomware-tf").identity
        ]
    );
    let de = nw.peer_nation("DE");
    assert!(de.org.is_none() && de.groups.is_empty() && de.role.is_none());
    let peer = nw.peer_org("bank-ee");
    assert_eq!(peer.role, None);
    assert_eq!(peer.groups, vec![nw.group_ref("baltic-finance")]);
}

#[test]
fn administration_rights() {
    let nw = NamedWorld::load();
    let w = &nw.world;
    assert!(
        w.may_administer(id_of("dora"), id_of("cert-ee")).unwrap(),
        "admin: any org"
    );
    assert!(
        w.may_administer(id_of("eve"), id_of("cert-ee")).unwrap(),
        "org-admin: own org"
    );
    assert!(!w.may_administer(id_of("eve"), id_of("bank-ee")).unwrap());
    assert!(!w.may_administer(id_of("alice"), id_of("cert-fr")).unwrap());
}

#[test]
fn collection_grants_and_their_validation() {
    let nw = NamedWorld::load();
    let mut c = CollectionPolicy::new(Uuid::from_u128(1));
    assert_eq!(c.default_tlp, Tlp::Amber);
    c.grants.push(Grant {
        to: Grantee::Nation(Nation::parse("FR").unwrap()),
        read: true,
        write: true,
    });
    c.validate().unwrap();
    assert!(c.can_read(&nw.user("paul")));
    assert!(!c.can_write(&nw.user("paul")), "a reader cannot write");
    assert!(c.can_write(&nw.user("alice")));
    assert!(!c.can_read(&nw.user("dieter")));
    assert!(!c.can_write(&nw.peer_nation("FR")), "a peer has no role");

    c.anonymous_read = true;
    assert_eq!(
        c.validate(),
        Err(PolicyError::AnonymousNotClear {
            collection: c.id,
            default_tlp: Tlp::Amber
        })
    );
    c.default_tlp = Tlp::Clear;
    c.validate().unwrap();
    c.grants.push(Grant {
        to: Grantee::Community,
        read: false,
        write: false,
    });
    assert!(matches!(c.validate(), Err(PolicyError::EmptyGrant(_))));
}

#[test]
fn exactly_the_249_assigned_codes_are_nations() {
    let mut accepted = 0;
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            let code = String::from_utf8(vec![a, b]).unwrap();
            if Nation::parse(&code).is_ok() {
                accepted += 1;
            }
        }
    }
    assert_eq!(accepted, 249, "ISO 3166-1 assigns 249 alpha-2 codes");
}
