//! `cairn nation|org|user|group|grant ...`: the community of a node and who may use which
//! collection. Organizations and groups are named by name or id, users by name.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use cairn_policy::{Nation, OrgKind, Role, Tlp};
use cairn_store::{Grant, Grantee, Organization, SharingGroup, Store, User};
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::node;

#[derive(Subcommand, Debug)]
pub enum NationCmd {
    /// Register member nations (ISO 3166-1 alpha-2 codes, e.g. KR US FR).
    Add {
        #[arg(required = true)]
        codes: Vec<String>,
    },
    /// List the member nations.
    List,
}

#[derive(Subcommand, Debug)]
pub enum OrgCmd {
    /// Create an organization; prints its id last.
    Create {
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2 code of a member nation.
        #[arg(long)]
        nation: String,
        /// cert, police, prosecutor, defence, foreign-affairs, ict-ministry, commerce,
        /// intelligence, private-sector, other.
        #[arg(long, default_value = "other")]
        kind: String,
        /// The STIX identity id that stands for it (default: a new one).
        #[arg(long)]
        identity: Option<String>,
    },
    /// Change an organization's name, nation or kind.
    Set {
        org: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        nation: Option<String>,
        #[arg(long)]
        kind: Option<String>,
    },
    /// List organizations.
    List,
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Create a user. The password is read from stdin with --password-stdin, else generated
    /// and printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        org: String,
        /// reader, analyst, peer (the account of a partner node), org-admin, admin.
        #[arg(long, default_value = "reader")]
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role (cached credentials are dropped).
    SetRole { name: String, role: String },
    /// Disable a user: every credential stops working on the next request.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a user's password from stdin.
    Password { name: String },
    /// List users.
    List,
}

#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// Create a sharing group owned by an organization (a member); prints its id last.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner: String,
        /// Further member organizations.
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// Add an organization to a group.
    AddMember { group: String, org: String },
    /// Remove an organization from a group (not its owner).
    RemoveMember { group: String, org: String },
    /// List groups and their members.
    List,
}

/// Who a grant is to: exactly one of the options.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct GranteeArgs {
    #[arg(long)]
    org: Option<String>,
    #[arg(long)]
    group: Option<String>,
    #[arg(long)]
    nation: Option<String>,
    /// Every organization of the community.
    #[arg(long)]
    community: bool,
}

#[derive(Subcommand, Debug)]
pub enum GrantCmd {
    /// Give read and/or write rights on a collection (replaces the grantee's previous grant).
    Add {
        #[arg(long)]
        collection: String,
        #[command(flatten)]
        to: GranteeArgs,
        #[arg(long)]
        read: bool,
        #[arg(long)]
        write: bool,
    },
    /// Remove a grantee's rights on a collection.
    Remove {
        #[arg(long)]
        collection: String,
        #[command(flatten)]
        to: GranteeArgs,
    },
    /// List a collection's grants.
    List {
        #[arg(long)]
        collection: String,
    },
}

fn nation(code: &str) -> anyhow::Result<Nation> {
    Nation::parse(code).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn member_nation(store: &dyn Store, code: &str) -> anyhow::Result<String> {
    let n = nation(code)?;
    if !store.list_nations().await?.iter().any(|c| c == n.as_str()) {
        bail!(
            "nation {} is not a member of this community: add it first with `cairn nation add {}`",
            n,
            n
        );
    }
    Ok(n.as_str().to_string())
}

fn kind(k: &str) -> anyhow::Result<String> {
    Ok(OrgKind::parse(k)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .as_str()
        .to_string())
}

fn role(r: &str) -> anyhow::Result<Role> {
    Role::parse(r).map_err(|e| anyhow::anyhow!("{e}"))
}

/// An organization by id or name.
pub async fn find_org(store: &dyn Store, key: &str) -> anyhow::Result<Organization> {
    if let Ok(id) = Uuid::parse_str(key)
        && let Some(o) = store.get_org(id).await?
    {
        return Ok(o);
    }
    store
        .list_orgs()
        .await?
        .into_iter()
        .find(|o| o.name == key)
        .with_context(|| format!("no organization {key:?}"))
}

async fn find_group(store: &dyn Store, key: &str) -> anyhow::Result<SharingGroup> {
    if let Ok(id) = Uuid::parse_str(key)
        && let Some(g) = store.get_group(id).await?
    {
        return Ok(g);
    }
    store
        .list_groups()
        .await?
        .into_iter()
        .find(|g| g.name == key)
        .with_context(|| format!("no sharing group {key:?}"))
}

async fn find_user(store: &dyn Store, name: &str) -> anyhow::Result<User> {
    store
        .get_user_by_name(name)
        .await?
        .with_context(|| format!("no user named {name:?}"))
}

fn read_password() -> anyhow::Result<String> {
    let mut pw = String::new();
    std::io::stdin()
        .read_to_string(&mut pw)
        .context("reading the password from stdin")?;
    let pw = pw.trim_end_matches(['\n', '\r']).to_string();
    if pw.len() < 12 {
        bail!("the password must have at least 12 characters");
    }
    Ok(pw)
}

/// Record an administrative change in the audit log (actor `cli`: the node operator).
pub async fn audit(
    store: &dyn Store,
    action: &str,
    object: impl Into<String>,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .append_audit(&[cairn_store::NewAuditEntry::new(
            "cli",
            action,
            Some(object.into()),
            detail,
        )])
        .await?;
    Ok(())
}

async fn open(data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let store = node::open(data_dir).await?;
    node::admin_org(store.as_ref()).await?;
    Ok(store)
}

pub async fn nation_cmd(data_dir: &Path, cmd: NationCmd) -> anyhow::Result<ExitCode> {
    let store = open(data_dir).await?;
    match cmd {
        NationCmd::Add { codes } => {
            let parsed: Vec<Nation> = codes.iter().map(|c| nation(c)).collect::<Result<_, _>>()?;
            for n in parsed {
                store.add_nation(n.as_str()).await?;
                audit(
                    store.as_ref(),
                    "nation.add",
                    n.as_str(),
                    serde_json::json!({}),
                )
                .await?;
                println!("{}  {}", n, n.name());
            }
        }
        NationCmd::List => {
            for code in store.list_nations().await? {
                let name = Nation::parse(&code).map(|n| n.name()).unwrap_or("");
                println!("{code}  {name}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn org_cmd(data_dir: &Path, cmd: OrgCmd) -> anyhow::Result<ExitCode> {
    let store = open(data_dir).await?;
    match cmd {
        OrgCmd::Create {
            name,
            nation,
            kind: k,
            identity,
        } => {
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let identity_id = match identity {
                Some(i) => {
                    cairn_policy::IdentityRef::parse(&i).map_err(|e| anyhow::anyhow!("{e}"))?;
                    i
                }
                None => format!("identity--{}", Uuid::new_v4()),
            };
            let org = Organization {
                id: Uuid::new_v4(),
                name,
                identity_id,
                nation: Some(member_nation(store.as_ref(), &nation).await?),
                kind: kind(&k)?,
            };
            store.create_org(&org).await?;
            audit(
                store.as_ref(),
                "org.create",
                org.id.to_string(),
                serde_json::to_value(&org)?,
            )
            .await?;
            eprintln!("created organization {:?} ({})", org.name, org.identity_id);
            println!("{}", org.id);
        }
        OrgCmd::Set {
            org,
            name,
            nation,
            kind: k,
        } => {
            let mut o = find_org(store.as_ref(), &org).await?;
            if let Some(n) = name {
                o.name = n;
            }
            if let Some(n) = nation {
                o.nation = Some(member_nation(store.as_ref(), &n).await?);
            }
            if let Some(k) = k {
                o.kind = kind(&k)?;
            }
            store.update_org(&o).await?;
            audit(
                store.as_ref(),
                "org.update",
                o.id.to_string(),
                serde_json::to_value(&o)?,
            )
            .await?;
            println!("{}", o.id);
        }
        OrgCmd::List => {
            for o in store.list_orgs().await? {
                println!(
                    "{}  {:<28}  {}  {:<15}  {}",
                    o.id,
                    o.name,
                    o.nation.as_deref().unwrap_or("--"),
                    o.kind,
                    o.identity_id
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn user_cmd(data_dir: &Path, cmd: UserCmd) -> anyhow::Result<ExitCode> {
    let store = open(data_dir).await?;
    match cmd {
        UserCmd::Create {
            name,
            org,
            role: r,
            password_stdin,
        } => {
            if name.trim().is_empty() || name.contains(':') {
                bail!("--name must not be empty nor contain ':'");
            }
            let org = find_org(store.as_ref(), &org).await?;
            let role = role(&r)?;
            let (password, generated) = if password_stdin {
                (read_password()?, false)
            } else {
                (cairn_server::auth::generate_password(), true)
            };
            let user = User {
                id: Uuid::new_v4(),
                name,
                org_id: org.id,
                role,
                password_hash: Some(cairn_server::auth::hash_password(&password)),
                disabled: false,
                credential_epoch: 0,
            };
            store.create_user(&user).await?;
            audit(
                store.as_ref(),
                "user.create",
                user.name.clone(),
                serde_json::json!({"org": org.id.to_string(), "role": role.as_str()}),
            )
            .await?;
            eprintln!(
                "created user {:?} ({}) in {:?}",
                user.name,
                role.as_str(),
                org.name
            );
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::SetRole { name, role: r } => {
            let u = find_user(store.as_ref(), &name).await?;
            store.update_user(u.id, role(&r)?, u.disabled).await?;
            audit(
                store.as_ref(),
                "user.role",
                name.clone(),
                serde_json::json!({"from": u.role.as_str(), "to": r}),
            )
            .await?;
            println!("{name}: {r}");
        }
        UserCmd::Disable { name } => {
            let u = find_user(store.as_ref(), &name).await?;
            store.update_user(u.id, u.role, true).await?;
            audit(
                store.as_ref(),
                "user.disable",
                name.clone(),
                serde_json::json!({}),
            )
            .await?;
            println!("{name}: disabled");
        }
        UserCmd::Enable { name } => {
            let u = find_user(store.as_ref(), &name).await?;
            store.update_user(u.id, u.role, false).await?;
            audit(
                store.as_ref(),
                "user.enable",
                name.clone(),
                serde_json::json!({}),
            )
            .await?;
            println!("{name}: enabled");
        }
        UserCmd::Password { name } => {
            let u = find_user(store.as_ref(), &name).await?;
            let pw = read_password()?;
            store
                .set_password(u.id, &cairn_server::auth::hash_password(&pw))
                .await?;
            audit(
                store.as_ref(),
                "user.password",
                name.clone(),
                serde_json::json!({}),
            )
            .await?;
            println!("{name}: password changed");
        }
        UserCmd::List => {
            let orgs = store.list_orgs().await?;
            for u in store.list_users().await? {
                let org = orgs
                    .iter()
                    .find(|o| o.id == u.org_id)
                    .map_or("?", |o| o.name.as_str());
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{}  {:<20}  {:<9}  {state:<8}  {org}",
                    u.id,
                    u.name,
                    u.role.as_str()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn group_cmd(data_dir: &Path, cmd: GroupCmd) -> anyhow::Result<ExitCode> {
    let store = open(data_dir).await?;
    match cmd {
        GroupCmd::Create {
            name,
            owner,
            members,
        } => {
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let owner = find_org(store.as_ref(), &owner).await?;
            let mut ids = Vec::new();
            for m in &members {
                ids.push(find_org(store.as_ref(), m).await?.id);
            }
            let g = SharingGroup {
                id: Uuid::new_v4(),
                name,
                identity_id: format!("identity--{}", Uuid::new_v4()),
                owner: owner.id,
                members: ids,
            };
            store.create_group(&g).await?;
            audit(
                store.as_ref(),
                "group.create",
                g.id.to_string(),
                serde_json::to_value(&g)?,
            )
            .await?;
            eprintln!("created sharing group {:?} ({})", g.name, g.identity_id);
            println!("{}", g.id);
        }
        GroupCmd::AddMember { group, org } => {
            let g = find_group(store.as_ref(), &group).await?;
            let o = find_org(store.as_ref(), &org).await?;
            store.set_group_member(g.id, o.id, true).await?;
            audit(
                store.as_ref(),
                "group.add-member",
                g.id.to_string(),
                serde_json::json!({"org": o.id.to_string()}),
            )
            .await?;
            println!("{:?} is a member of {:?}", o.name, g.name);
        }
        GroupCmd::RemoveMember { group, org } => {
            let g = find_group(store.as_ref(), &group).await?;
            let o = find_org(store.as_ref(), &org).await?;
            store.set_group_member(g.id, o.id, false).await?;
            audit(
                store.as_ref(),
                "group.remove-member",
                g.id.to_string(),
                serde_json::json!({"org": o.id.to_string()}),
            )
            .await?;
            println!("{:?} left {:?}", o.name, g.name);
        }
        GroupCmd::List => {
            let orgs = store.list_orgs().await?;
            let name = |id: Uuid| {
                orgs.iter()
                    .find(|o| o.id == id)
                    .map_or_else(|| id.to_string(), |o| o.name.clone())
            };
            for g in store.list_groups().await? {
                let members: Vec<String> = g.members.iter().map(|m| name(*m)).collect();
                println!(
                    "{}  {:<28}  owner {}  members {}  {}",
                    g.id,
                    g.name,
                    name(g.owner),
                    members.join(", "),
                    g.identity_id
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn grantee(store: &dyn Store, to: &GranteeArgs) -> anyhow::Result<Grantee> {
    Ok(if let Some(o) = &to.org {
        Grantee::Organization(find_org(store, o).await?.id)
    } else if let Some(g) = &to.group {
        Grantee::SharingGroup(find_group(store, g).await?.id)
    } else if let Some(n) = &to.nation {
        Grantee::Nation(member_nation(store, n).await?)
    } else {
        Grantee::Community
    })
}

pub async fn grant_cmd(data_dir: &Path, cmd: GrantCmd) -> anyhow::Result<ExitCode> {
    let store = open(data_dir).await?;
    match cmd {
        GrantCmd::Add {
            collection,
            to,
            read,
            write,
        } => {
            if !read && !write {
                bail!("give --read, --write or both");
            }
            let c = node::resolve_collection(store.as_ref(), Some(&collection)).await?;
            let grantee = grantee(store.as_ref(), &to).await?;
            store
                .set_grant(&Grant {
                    collection: c.id,
                    grantee: grantee.clone(),
                    can_read: read,
                    can_write: write,
                })
                .await?;
            audit(
                store.as_ref(),
                "grant.set",
                c.id.to_string(),
                serde_json::json!({"to": grantee.key(), "read": read, "write": write}),
            )
            .await?;
            println!("{}  {}  read={read} write={write}", c.id, grantee.key());
        }
        GrantCmd::Remove { collection, to } => {
            let c = node::resolve_collection(store.as_ref(), Some(&collection)).await?;
            let grantee = grantee(store.as_ref(), &to).await?;
            if store.get_grant(c.id, &grantee).await?.is_none() {
                bail!("{} has no grant on collection {}", grantee.key(), c.id);
            }
            store
                .set_grant(&Grant {
                    collection: c.id,
                    grantee: grantee.clone(),
                    can_read: false,
                    can_write: false,
                })
                .await?;
            audit(
                store.as_ref(),
                "grant.remove",
                c.id.to_string(),
                serde_json::json!({"to": grantee.key()}),
            )
            .await?;
            println!("{}  {}  removed", c.id, grantee.key());
        }
        GrantCmd::List { collection } => {
            let c = node::resolve_collection(store.as_ref(), Some(&collection)).await?;
            println!(
                "collection {}  default {}  anonymous read {}",
                c.id,
                c.default_tlp.label(),
                c.anonymous_read
            );
            for g in store.list_grants(c.id).await? {
                if g.can_read || g.can_write {
                    println!(
                        "{}  read={} write={}",
                        g.grantee.key(),
                        g.can_read,
                        g.can_write
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cairn collection set`: default TLP and anonymous readability.
pub async fn set_collection_policy(
    store: &dyn Store,
    collection: &str,
    default_tlp: Option<&str>,
    anonymous_read: Option<bool>,
) -> anyhow::Result<()> {
    let c = node::resolve_collection(store, Some(collection)).await?;
    let tlp = match default_tlp {
        Some(t) => Tlp::parse(t).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => c.default_tlp,
    };
    let anon = anonymous_read.unwrap_or(c.anonymous_read);
    let mut policy = cairn_policy::CollectionPolicy::new(c.id);
    policy.default_tlp = tlp;
    policy.anonymous_read = anon;
    policy.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    store.set_collection_policy(c.id, tlp, anon).await?;
    audit(
        store,
        "collection.policy",
        c.id.to_string(),
        serde_json::json!({"default_tlp": tlp.as_str(), "anonymous_read": anon}),
    )
    .await?;
    println!("{}  default {}  anonymous read {anon}", c.id, tlp.label());
    Ok(())
}
