//! Behaviour every [`crate::Store`] backend must show.
//!
//! - [`run_all`]: every single-store check. A backend's integration test builds a store and calls
//!   it. The checks name everything they create with a fresh random tag, so the store need not be
//!   empty (a PostgreSQL database shared by several test runs works).
//! - [`run_shared`]: two stores open on the same database (two processes, or several stateless
//!   servers in front of one PostgreSQL): what one writes the other reads, and concurrent writers
//!   keep `date_added` strictly increasing per collection.
//! - [`populate_durable`] / [`verify_durable`]: write through one store, drop it, open a new one
//!   on the same database and check that everything is still there.
//!
//! Object data comes from `tests/fixtures/conformance-objects.json` (the TAXII checklist's
//! indicator with three versions, a malware with a STIX 2.0 and a 2.1 version, a marking
//! definition with only `created`, an SCO with no timestamps, a custom object).
//!
//! Each check panics with a message that starts with its name.

mod federation;

use std::collections::{BTreeMap, HashSet};

use cairn_stix::Timestamp;
use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::{
    ALREADY_PRESENT, AddRequest, ApiRoot, ApiToken, Collection, Cursor, DeleteSpec, Grant, Grantee,
    NewVersion, ObjectQuery, Organization, Record, Role, SharingGroup, Status, StatusDetail, Store,
    StoreError, User, VersionFilter,
};

const FIXTURES: &str = include_str!("../tests/fixtures/conformance-objects.json");

/// Test objects by fixture name, as [`NewVersion`]s whose body is the exact fixture text.
pub fn fixture_objects() -> BTreeMap<String, NewVersion> {
    let raw: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(FIXTURES).expect("conformance fixtures are JSON");
    raw.into_iter()
        .map(|(name, body)| (name, new_version(body.get())))
        .collect()
}

/// Build a [`NewVersion`] from the JSON text of an object without validating it: `version` is
/// `modified`, else `created`; a missing `spec_version` is "2.1" for an object without
/// timestamps and "2.0" otherwise.
pub fn new_version(body: &str) -> NewVersion {
    let v: Value = serde_json::from_str(body).expect("object JSON");
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let version = s("modified").or_else(|| s("created"));
    let spec_version = s("spec_version").unwrap_or_else(|| {
        if version.is_some() {
            "2.0".to_string()
        } else {
            "2.1".to_string()
        }
    });
    NewVersion {
        id: s("id").expect("object id"),
        type_: s("type").expect("object type"),
        spec_version,
        version_key: version.as_deref().map(key),
        version,
        body: body.to_string(),
        labels: cairn_policy::ObjectLabels::from_object(&v),
        marking: (v.get("type").and_then(Value::as_str) == Some("marking-definition")).then(|| {
            cairn_policy::MarkingMeaning::from_definition(&v)
                .unwrap_or(cairn_policy::MarkingMeaning::Other)
        }),
    }
}

/// The sort key of a timestamp text.
pub fn key(ts: &str) -> String {
    Timestamp::parse(ts).expect("timestamp").sort_key()
}

fn now_micros() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_micros()).expect("micros fit")
}

fn tag() -> String {
    Uuid::new_v4().simple().to_string()[..10].to_string()
}

/// A synthetic indicator version, for bulk checks.
pub fn indicator(n: usize, modified: &str) -> NewVersion {
    let id = format!(
        "indicator--{}",
        Uuid::new_v5(&Uuid::NAMESPACE_OID, &n.to_le_bytes())
    );
    new_version(&format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"2020-01-01T00:00:00.000Z","modified":"{modified}","pattern":"[ipv4-addr:value = '10.0.{}.{}']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}}"#,
        (n / 256) % 256,
        n % 256
    ))
}

/// An API root and a collection in it, named with a fresh tag.
pub struct Fixture {
    pub root: String,
    pub collection: Uuid,
}

impl Fixture {
    pub async fn new(s: &dyn Store, what: &str) -> Fixture {
        let root = format!("conf-{what}-{}", tag());
        s.create_api_root(&ApiRoot {
            name: root.clone(),
            title: format!("conformance {what}"),
            description: None,
            max_content_length: 10_485_760,
            is_default: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{what}: create_api_root: {e}"));
        let collection = Uuid::new_v4();
        s.create_collection(&Collection {
            id: collection,
            api_root: root.clone(),
            title: format!("conformance {what}"),
            description: None,
            alias: None,
            created: now_micros(),
            default_tlp: crate::Tlp::Amber,
            anonymous_read: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{what}: create_collection: {e}"));
        Fixture { root, collection }
    }

    pub fn request(&self, versions: Vec<NewVersion>) -> AddRequest {
        AddRequest {
            api_root: self.root.clone(),
            collection: self.collection,
            status_id: Uuid::new_v4(),
            request_timestamp: now_micros(),
            versions,
            rejected: Vec::new(),
            owner: None,
            audit: None,
            origin: None,
            sync: None,
        }
    }

    pub async fn add(&self, s: &dyn Store, versions: Vec<NewVersion>) -> Status {
        s.add_objects(self.request(versions))
            .await
            .unwrap_or_else(|e| panic!("add_objects to {}: {e}", self.collection))
    }

    /// A query over this collection with no filters, bodies loaded, a large limit.
    pub fn query(&self) -> ObjectQuery {
        ObjectQuery {
            collection: self.collection,
            limit: 100_000,
            with_bodies: true,
            ..ObjectQuery::default()
        }
    }
}

/// Every record of `q`, fetched in one page (asserting there is no more).
pub async fn fetch(s: &dyn Store, q: &ObjectQuery) -> Vec<Record> {
    let page = s
        .query(q)
        .await
        .unwrap_or_else(|e| panic!("query {q:?}: {e}"));
    assert!(!page.more, "query {q:?} with a large limit reported more");
    page.records
}

/// Walk `q` page by page with `limit`, following cursors; checks `more` on every page.
pub async fn walk(s: &dyn Store, q: &ObjectQuery, limit: usize) -> Vec<Record> {
    let mut q = q.clone();
    q.limit = limit;
    q.after = None;
    let mut out = Vec::new();
    for _ in 0..1_000_000 {
        let page = s
            .query(&q)
            .await
            .unwrap_or_else(|e| panic!("query {q:?}: {e}"));
        assert!(
            page.records.len() <= limit,
            "page longer than limit {limit}"
        );
        out.extend(page.records.iter().cloned());
        if !page.more {
            return out;
        }
        let last = page
            .records
            .last()
            .unwrap_or_else(|| panic!("more=true with an empty page for {q:?}"));
        q.after = Some(last.cursor());
    }
    panic!("pagination did not end");
}

fn ids_versions(recs: &[Record]) -> Vec<(String, String)> {
    recs.iter()
        .map(|r| (r.id.clone(), r.version.clone()))
        .collect()
}

fn vf(first: bool, last: bool, all: bool, exact: &[&str]) -> VersionFilter {
    VersionFilter {
        first,
        last,
        all,
        exact: exact.iter().map(|t| key(t)).collect(),
    }
}

fn assert_sorted(what: &str, recs: &[Record]) {
    for w in recs.windows(2) {
        let a = (w[0].date_added, &w[0].id, &w[0].version_key);
        let b = (w[1].date_added, &w[1].id, &w[1].version_key);
        assert!(
            a < b,
            "{what}: records not strictly ascending: {a:?} then {b:?}"
        );
    }
}

/// Run every single-store conformance check.
pub async fn run_all(store: &dyn Store) {
    settings(store).await;
    api_roots_and_collections(store).await;
    add_and_status(store).await;
    duplicates_keep_date_added(store).await;
    date_added_strictly_increasing(store).await;
    objects_without_timestamps(store).await;
    default_selection(store).await;
    version_filters(store).await;
    spec_version_filters(store).await;
    id_and_type_filters(store).await;
    similar_ids_stay_apart(store).await;
    added_after(store).await;
    pagination(store).await;
    bodies_and_metadata(store).await;
    collections_are_isolated(store).await;
    delete(store).await;
    sharing_entities(store).await;
    read_filter(store).await;
    audit_log(store).await;
    statuses_per_api_root(store).await;
    unknown_references(store).await;
    orgs_users_tokens_grants(store).await;
    policy_epoch(store).await;
    federation::federation(store).await;
}

async fn settings(s: &dyn Store) {
    let k = format!("conf-setting-{}", tag());
    assert_eq!(
        s.get_setting(&k).await.unwrap(),
        None,
        "settings: unset key"
    );
    s.set_setting(&k, "one").await.unwrap();
    assert_eq!(
        s.get_setting(&k).await.unwrap().as_deref(),
        Some("one"),
        "settings"
    );
    s.set_setting(&k, "two").await.unwrap();
    assert_eq!(
        s.get_setting(&k).await.unwrap().as_deref(),
        Some("two"),
        "settings: overwrite"
    );
}

async fn api_roots_and_collections(s: &dyn Store) {
    const C: &str = "api_roots_and_collections";
    let t = tag();
    let root = ApiRoot {
        name: format!("conf-roots-{t}"),
        title: "Roots".into(),
        description: Some("d".into()),
        max_content_length: 1234,
        is_default: false,
    };
    s.create_api_root(&root).await.unwrap();
    assert_eq!(
        s.get_api_root(&root.name).await.unwrap(),
        Some(root.clone()),
        "{C}"
    );
    assert!(
        s.list_api_roots().await.unwrap().contains(&root),
        "{C}: listed"
    );
    assert!(
        s.get_api_root("conf-no-such-root").await.unwrap().is_none(),
        "{C}"
    );
    assert!(
        matches!(s.create_api_root(&root).await, Err(StoreError::Conflict(_))),
        "{C}: a second API root with the same name is a Conflict"
    );
    let other = ApiRoot {
        name: format!("conf-roots2-{t}"),
        ..root.clone()
    };
    s.create_api_root(&other).await.unwrap();

    let mut made = Vec::new();
    for i in 0..3 {
        let c = Collection {
            id: Uuid::new_v4(),
            api_root: root.name.clone(),
            title: format!("c{i}"),
            description: (i == 0).then(|| "first".to_string()),
            alias: (i == 1).then(|| format!("alias-{t}")),
            created: 1_600_000_000_000_000 + i,
            default_tlp: if i == 2 {
                crate::Tlp::Clear
            } else {
                crate::Tlp::Amber
            },
            anonymous_read: i == 2,
        };
        s.create_collection(&c).await.unwrap();
        made.push(c);
    }
    let mut by_id = made.clone();
    by_id.sort_by_key(|c| c.id);
    assert_eq!(
        s.list_collections(&root.name).await.unwrap(),
        by_id,
        "{C}: ordered by id"
    );
    assert!(
        s.list_collections(&other.name).await.unwrap().is_empty(),
        "{C}"
    );
    for c in &made {
        assert_eq!(
            s.get_collection(&root.name, &c.id.to_string())
                .await
                .unwrap()
                .as_ref(),
            Some(c),
            "{C}: by id"
        );
        assert!(
            s.get_collection(&other.name, &c.id.to_string())
                .await
                .unwrap()
                .is_none(),
            "{C}: a collection is found only in its own API root"
        );
    }
    assert_eq!(
        s.get_collection(&root.name, &format!("alias-{t}"))
            .await
            .unwrap()
            .as_ref(),
        Some(&made[1]),
        "{C}: by alias"
    );
    assert!(
        s.get_collection(&root.name, "no-such-alias")
            .await
            .unwrap()
            .is_none(),
        "{C}"
    );
    assert!(
        matches!(
            s.create_collection(&made[0]).await,
            Err(StoreError::Conflict(_))
        ),
        "{C}: same collection id twice is a Conflict"
    );
    let same_alias = Collection {
        id: Uuid::new_v4(),
        ..made[1].clone()
    };
    assert!(
        matches!(
            s.create_collection(&same_alias).await,
            Err(StoreError::Conflict(_))
        ),
        "{C}: an alias is unique within its API root"
    );
    // The same alias in another API root is fine.
    s.create_collection(&Collection {
        api_root: other.name.clone(),
        ..same_alias.clone()
    })
    .await
    .unwrap();
    let orphan = Collection {
        id: Uuid::new_v4(),
        api_root: format!("conf-missing-{t}"),
        ..made[0].clone()
    };
    assert!(
        matches!(
            s.create_collection(&orphan).await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: a collection in an unknown API root is NotFound"
    );
}

async fn add_and_status(s: &dyn Store) {
    const C: &str = "add_and_status";
    let f = Fixture::new(s, "add").await;
    let fx = fixture_objects();
    let before = now_micros();
    let mut req = f.request(vec![fx["indicator_m1"].clone(), fx["malware_21"].clone()]);
    req.rejected = vec![StatusDetail {
        id: "indicator--bad".into(),
        version: String::new(),
        message: Some("property 'pattern' is required".into()),
    }];
    let st = s.add_objects(req.clone()).await.unwrap();
    assert_eq!(st.id, req.status_id, "{C}");
    assert_eq!(st.api_root, f.root, "{C}");
    assert!(st.complete, "{C}: complete");
    assert_eq!(st.request_timestamp, req.request_timestamp, "{C}");
    assert_eq!(
        st.total_count, 3,
        "{C}: total_count counts rejected objects"
    );
    assert_eq!(
        st.failures, req.rejected,
        "{C}: rejected objects are failures"
    );
    assert!(st.pendings.is_empty(), "{C}");
    let succ: Vec<_> = st
        .successes
        .iter()
        .map(|d| (d.id.as_str(), d.version.as_str(), d.message.as_deref()))
        .collect();
    assert_eq!(
        succ,
        vec![
            (
                fx["indicator_m1"].id.as_str(),
                "2016-11-03T12:30:59.000Z",
                None
            ),
            (
                fx["malware_21"].id.as_str(),
                "2018-02-27T13:49:53.997Z",
                None
            )
        ],
        "{C}: successes in request order with the version as written"
    );
    assert_eq!(
        s.get_status(&f.root, st.id).await.unwrap(),
        Some(st.clone()),
        "{C}: get_status returns the stored status"
    );
    assert_eq!(s.count_versions(f.collection).await.unwrap(), 2, "{C}");
    assert!(
        s.object_exists(f.collection, &fx["malware_21"].id)
            .await
            .unwrap()
    );
    assert!(
        !s.object_exists(
            f.collection,
            "malware--00000000-0000-4000-8000-000000000000"
        )
        .await
        .unwrap()
    );

    let recs = fetch(s, &f.query()).await;
    assert_eq!(recs.len(), 2, "{C}");
    let after = now_micros();
    for r in &recs {
        assert!(
            r.date_added >= before - 5_000_000 && r.date_added <= after + 5_000_000,
            "{C}: date_added {} is microseconds since the epoch near now ({before}..{after})",
            r.date_added
        );
    }
    // A status id is used once.
    assert!(
        matches!(s.add_objects(req).await, Err(StoreError::Conflict(_))),
        "{C}: reusing a status id is a Conflict"
    );
    assert_eq!(
        s.count_versions(f.collection).await.unwrap(),
        2,
        "{C}: nothing added"
    );
}

async fn duplicates_keep_date_added(s: &dyn Store) {
    const C: &str = "duplicates_keep_date_added";
    let f = Fixture::new(s, "dup").await;
    let fx = fixture_objects();
    let m1 = fx["indicator_m1"].clone();
    f.add(s, vec![m1.clone()]).await;
    let first = fetch(s, &f.query()).await;
    assert_eq!(first.len(), 1, "{C}");

    // Same id and version, written with another precision, different body: still a duplicate.
    let mut again = m1.clone();
    again.version = Some("2016-11-03T12:30:59Z".into());
    again.version_key = Some(key("2016-11-03T12:30:59Z"));
    again.body = again.body.replace("Malicious", "Changed");
    let st = f
        .add(
            s,
            vec![m1.clone(), again, fx["indicator_m2"].clone(), m1.clone()],
        )
        .await;
    let msgs: Vec<_> = st.successes.iter().map(|d| d.message.as_deref()).collect();
    assert_eq!(
        msgs,
        vec![
            Some(ALREADY_PRESENT),
            Some(ALREADY_PRESENT),
            None,
            Some(ALREADY_PRESENT)
        ],
        "{C}: re-posts are successes with the message {ALREADY_PRESENT:?}"
    );
    assert!(st.failures.is_empty(), "{C}");
    assert_eq!(st.total_count, 4, "{C}");
    assert_eq!(s.count_versions(f.collection).await.unwrap(), 2, "{C}");
    let q = ObjectQuery {
        versions: vf(false, false, true, &[]),
        ..f.query()
    };
    let all = fetch(s, &q).await;
    assert_eq!(all.len(), 2, "{C}");
    assert_eq!(
        all[0], first[0],
        "{C}: the first version keeps its date_added and body"
    );
}

async fn date_added_strictly_increasing(s: &dyn Store) {
    const C: &str = "date_added_strictly_increasing";
    let f = Fixture::new(s, "clock").await;
    // Many small calls in quick succession (several in the same microsecond), then one big one.
    let mut expected = Vec::new();
    for i in 0..40 {
        let v = indicator(i, "2021-01-01T00:00:00.000Z");
        expected.push(v.id.clone());
        f.add(s, vec![v]).await;
    }
    let batch: Vec<_> = (40..540)
        .map(|i| indicator(i, "2021-01-01T00:00:00.000Z"))
        .collect();
    expected.extend(batch.iter().map(|v| v.id.clone()));
    f.add(s, batch).await;
    let recs = fetch(s, &f.query()).await;
    assert_eq!(recs.len(), 540, "{C}");
    let got: Vec<_> = recs.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, expected, "{C}: date_added order is insertion order");
    for w in recs.windows(2) {
        assert!(
            w[0].date_added < w[1].date_added,
            "{C}: {} then {}",
            w[0].date_added,
            w[1].date_added
        );
    }
}

async fn objects_without_timestamps(s: &dyn Store) {
    const C: &str = "objects_without_timestamps";
    let f = Fixture::new(s, "sco").await;
    let fx = fixture_objects();
    let sco = fx["sco"].clone();
    assert!(
        sco.version.is_none() && sco.version_key.is_none(),
        "{C}: fixture"
    );
    let st = f.add(s, vec![sco.clone()]).await;
    let recs = fetch(s, &f.query()).await;
    assert_eq!(recs.len(), 1, "{C}");
    let r = &recs[0];
    assert_eq!(
        r.version,
        Timestamp::format_micros(r.date_added),
        "{C}: the version is the first date_added with 6 fraction digits"
    );
    assert_eq!(r.version_key, key(&r.version), "{C}: version_key");
    assert_eq!(st.successes[0].version, r.version, "{C}: status version");
    assert_eq!(r.spec_version, "2.1", "{C}");

    let st2 = f.add(s, vec![sco.clone()]).await;
    assert_eq!(
        st2.successes,
        vec![StatusDetail {
            id: sco.id.clone(),
            version: r.version.clone(),
            message: Some(ALREADY_PRESENT.into())
        }],
        "{C}: a re-post of the same id is a duplicate"
    );
    assert_eq!(s.count_versions(f.collection).await.unwrap(), 1, "{C}");
    for filter in [
        vf(true, false, false, &[]),
        vf(false, true, false, &[]),
        vf(false, false, true, &[]),
        vf(true, true, true, &[]),
    ] {
        let q = ObjectQuery {
            versions: filter.clone(),
            ..f.query()
        };
        assert_eq!(
            fetch(s, &q).await,
            recs,
            "{C}: {filter:?} gives exactly one record"
        );
    }
    let q = ObjectQuery {
        versions: VersionFilter {
            exact: vec![r.version_key.clone()],
            ..VersionFilter::default()
        },
        ..f.query()
    };
    assert_eq!(
        fetch(s, &q).await,
        recs,
        "{C}: exact match on the assigned version"
    );

    // The marking definition has only `created`: that is its version.
    f.add(s, vec![fx["marking"].clone()]).await;
    let q = ObjectQuery {
        ids: vec![fx["marking"].id.clone()],
        ..f.query()
    };
    let m = fetch(s, &q).await;
    assert_eq!(m.len(), 1, "{C}");
    assert_eq!(
        m[0].version, "2017-01-20T00:00:00.000Z",
        "{C}: created is the version"
    );
}

/// A collection holding every fixture version, indicator versions posted in order m1, m3, m2.
async fn full_fixture(s: &dyn Store, what: &str) -> (Fixture, BTreeMap<String, NewVersion>) {
    let f = Fixture::new(s, what).await;
    let fx = fixture_objects();
    for names in [
        &["indicator_m1", "malware_20"][..],
        &["indicator_m3", "tool_21_earlier", "marking"][..],
        &["indicator_m2", "malware_21", "tool_20_later"][..],
        &["sco", "custom"][..],
    ] {
        f.add(s, names.iter().map(|n| fx[*n].clone()).collect())
            .await;
    }
    (f, fx)
}

fn pairs(fx: &BTreeMap<String, NewVersion>, names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| {
            let v = &fx[*n];
            (v.id.clone(), v.version.clone().unwrap_or_default())
        })
        .collect()
}

/// (id, version) of the records, with the SCO's server-assigned version blanked.
fn pv(recs: &[Record], sco_id: &str) -> Vec<(String, String)> {
    let mut out = ids_versions(recs);
    for (id, v) in &mut out {
        if id == sco_id {
            v.clear();
        }
    }
    out
}

async fn default_selection(s: &dyn Store) {
    const C: &str = "default_selection";
    let (f, fx) = full_fixture(s, "default").await;
    assert_eq!(s.count_versions(f.collection).await.unwrap(), 10, "{C}");
    let recs = fetch(s, &f.query()).await;
    assert_sorted(C, &recs);
    // Order is by date_added: m3 came in the 2nd request, malware 2.1 and tool 2.0 in the 3rd.
    assert_eq!(
        pv(&recs, &fx["sco"].id),
        pairs(
            &fx,
            &[
                "indicator_m3",
                "tool_21_earlier",
                "marking",
                "malware_21",
                "sco",
                "custom"
            ]
        ),
        "{C}: one record per object: the last version among its highest spec_version"
    );
    // Explicit `last` is the default.
    let q = ObjectQuery {
        versions: vf(false, true, false, &[]),
        ..f.query()
    };
    assert_eq!(
        fetch(s, &q).await,
        recs,
        "{C}: match[version]=last is the default"
    );
}

async fn version_filters(s: &dyn Store) {
    const C: &str = "version_filters";
    let (f, fx) = full_fixture(s, "versions").await;
    let ind = fx["indicator_m1"].id.clone();
    let run = |filter: VersionFilter| {
        let q = ObjectQuery {
            ids: vec![ind.clone()],
            versions: filter,
            ..f.query()
        };
        async move { ids_versions(&fetch(s, &q).await) }
    };
    let p = |names: &[&str]| pairs(&fx, names);
    assert_eq!(
        run(vf(true, false, false, &[])).await,
        p(&["indicator_m1"]),
        "{C}: first"
    );
    assert_eq!(
        run(vf(false, true, false, &[])).await,
        p(&["indicator_m3"]),
        "{C}: last"
    );
    assert_eq!(
        run(vf(false, false, true, &[])).await,
        p(&["indicator_m1", "indicator_m3", "indicator_m2"]),
        "{C}: all, in date_added order"
    );
    assert_eq!(
        run(vf(false, false, false, &["2016-12-25T12:30:59.444Z"])).await,
        p(&["indicator_m2"]),
        "{C}: exact"
    );
    assert_eq!(
        run(vf(false, false, false, &["2016-12-25T12:30:59.444000Z"])).await,
        p(&["indicator_m2"]),
        "{C}: exact versions compare as instants"
    );
    assert_eq!(
        run(vf(false, false, false, &["2016-11-03T12:30:59Z"])).await,
        p(&["indicator_m1"]),
        "{C}: exact, no fraction"
    );
    assert_eq!(
        run(vf(true, true, false, &[])).await,
        p(&["indicator_m1", "indicator_m3"]),
        "{C}: first,last"
    );
    assert_eq!(
        run(vf(true, true, false, &["2016-11-03T12:30:59.000Z"])).await,
        p(&["indicator_m1", "indicator_m3"]),
        "{C}: first,last,m1 without duplicates"
    );
    assert_eq!(
        run(vf(true, true, true, &["2016-11-03T12:30:59.000Z"])).await,
        p(&["indicator_m1", "indicator_m3", "indicator_m2"]),
        "{C}: all with others"
    );
    assert!(
        run(vf(false, false, false, &["2000-01-01T00:00:00Z"]))
            .await
            .is_empty(),
        "{C}: an absent version matches nothing"
    );
    assert_eq!(
        run(vf(
            false,
            false,
            false,
            &["2000-01-01T00:00:00Z", "2017-01-27T13:49:59.997Z"]
        ))
        .await,
        p(&["indicator_m3"]),
        "{C}: exact versions are ORed"
    );
    // With the default spec_version selection, version filters see only the latest spec version.
    let q = ObjectQuery {
        ids: vec![fx["malware_20"].id.clone()],
        versions: vf(false, false, true, &[]),
        ..f.query()
    };
    assert_eq!(
        ids_versions(&fetch(s, &q).await),
        p(&["malware_21"]),
        "{C}: all versions of the latest spec version only"
    );
    let q = ObjectQuery {
        ids: vec![fx["malware_20"].id.clone()],
        versions: vf(false, false, false, &["2017-01-27T13:49:53.997Z"]),
        ..f.query()
    };
    assert!(
        fetch(s, &q).await.is_empty(),
        "{C}: a 2.0 version is not eligible without match[spec_version]"
    );
    // The object_id restriction (objects/{id}/ and versions/ endpoints) behaves like ids.
    let q = ObjectQuery {
        object_id: Some(ind.clone()),
        versions: vf(false, false, true, &[]),
        with_bodies: false,
        ..f.query()
    };
    let recs = fetch(s, &q).await;
    assert_eq!(
        ids_versions(&recs),
        p(&["indicator_m1", "indicator_m3", "indicator_m2"]),
        "{C}: object_id"
    );
    assert!(recs.iter().all(|r| r.body.is_none()), "{C}: metadata only");
}

async fn spec_version_filters(s: &dyn Store) {
    const C: &str = "spec_version_filters";
    let (f, fx) = full_fixture(s, "spec").await;
    let p = |names: &[&str]| pairs(&fx, names);
    let run = |ids: Vec<String>, specs: &[&str], filter: VersionFilter| {
        let q = ObjectQuery {
            ids,
            spec_versions: specs.iter().map(|x| x.to_string()).collect(),
            versions: filter,
            ..f.query()
        };
        async move { ids_versions(&fetch(s, &q).await) }
    };
    let mal = vec![fx["malware_20"].id.clone()];
    let tool = vec![fx["tool_20_later"].id.clone()];
    let both = vec![mal[0].clone(), tool[0].clone()];
    let dflt = VersionFilter::default();
    assert_eq!(
        run(mal.clone(), &[], dflt.clone()).await,
        p(&["malware_21"]),
        "{C}: default"
    );
    assert_eq!(
        run(mal.clone(), &["2.0"], dflt.clone()).await,
        p(&["malware_20"]),
        "{C}: 2.0"
    );
    assert_eq!(
        run(mal.clone(), &["2.1"], dflt.clone()).await,
        p(&["malware_21"]),
        "{C}: 2.1"
    );
    assert_eq!(
        run(mal.clone(), &["2.0", "2.1"], dflt.clone()).await,
        p(&["malware_21"]),
        "{C}: 2.0,2.1 then last"
    );
    // The tool's 2.0 version is the later one: with both spec versions eligible it is `last`,
    // while the default selection keeps to the highest spec version.
    assert_eq!(
        run(tool.clone(), &[], dflt.clone()).await,
        p(&["tool_21_earlier"]),
        "{C}: default picks the highest spec version first"
    );
    assert_eq!(
        run(tool.clone(), &["2.0", "2.1"], dflt.clone()).await,
        p(&["tool_20_later"]),
        "{C}: 2.0,2.1: last across both spec versions"
    );
    assert_eq!(
        run(tool.clone(), &["2.1", "2.0"], vf(true, false, false, &[])).await,
        p(&["tool_21_earlier"]),
        "{C}: 2.0,2.1: first across both spec versions"
    );
    assert_eq!(
        run(both.clone(), &["2.0", "2.1"], vf(false, false, true, &[])).await,
        p(&[
            "malware_20",
            "tool_21_earlier",
            "malware_21",
            "tool_20_later"
        ]),
        "{C}: all of both spec versions"
    );
    assert_eq!(
        run(
            both.clone(),
            &["2.0"],
            vf(false, false, false, &["2019-04-06T20:03:48Z"])
        )
        .await,
        p(&["tool_20_later"]),
        "{C}: exact within 2.0"
    );
    assert!(
        run(
            both.clone(),
            &["2.0"],
            vf(false, false, false, &["2018-04-06T20:03:48Z"])
        )
        .await
        .is_empty(),
        "{C}: exact version of another spec version"
    );
    assert!(
        run(both.clone(), &["1.0"], dflt.clone()).await.is_empty(),
        "{C}: an absent spec version"
    );
    // Over the whole collection: spec 2.1 only (objects that have a 2.1 version).
    let q = ObjectQuery {
        spec_versions: vec!["2.1".into()],
        ..f.query()
    };
    let recs = fetch(s, &q).await;
    assert!(recs.iter().all(|r| r.spec_version == "2.1"), "{C}");
    assert_eq!(recs.len(), 6, "{C}: every object has a 2.1 version");
    let q = ObjectQuery {
        spec_versions: vec!["2.0".into()],
        ..f.query()
    };
    assert_eq!(
        ids_versions(&fetch(s, &q).await),
        p(&["malware_20", "tool_20_later"]),
        "{C}: spec 2.0 over the collection"
    );
}

async fn id_and_type_filters(s: &dyn Store) {
    const C: &str = "id_and_type_filters";
    let (f, fx) = full_fixture(s, "ids").await;
    let p = |names: &[&str]| pairs(&fx, names);
    let q = ObjectQuery {
        ids: vec![fx["indicator_m1"].id.clone(), fx["malware_20"].id.clone()],
        ..f.query()
    };
    assert_eq!(
        ids_versions(&fetch(s, &q).await),
        p(&["indicator_m3", "malware_21"]),
        "{C}: ids are ORed"
    );
    let q = ObjectQuery {
        types: vec!["indicator".into(), "malware".into()],
        ..f.query()
    };
    assert_eq!(
        ids_versions(&fetch(s, &q).await),
        p(&["indicator_m3", "malware_21"]),
        "{C}: types are ORed"
    );
    let q = ObjectQuery {
        types: vec!["indicator".into()],
        versions: vf(false, false, false, &["2016-12-25T12:30:59.444Z"]),
        ..f.query()
    };
    assert_eq!(
        ids_versions(&fetch(s, &q).await),
        p(&["indicator_m2"]),
        "{C}: fields are ANDed"
    );
    let q = ObjectQuery {
        ids: vec![fx["indicator_m1"].id.clone()],
        types: vec!["malware".into()],
        ..f.query()
    };
    assert!(fetch(s, &q).await.is_empty(), "{C}: id AND type");
    for t in ["campaign", "no-such-type"] {
        let q = ObjectQuery {
            types: vec![t.into()],
            ..f.query()
        };
        assert!(
            fetch(s, &q).await.is_empty(),
            "{C}: type {t} matches nothing"
        );
    }
    let q = ObjectQuery {
        ids: vec!["indicator--00000000-0000-4000-8000-000000000000".into()],
        ..f.query()
    };
    assert!(fetch(s, &q).await.is_empty(), "{C}: unknown id");
    // Long value lists (a backend may bind them differently) behave the same.
    let mut many: Vec<String> = (0..200)
        .map(|i| format!("indicator--{}", Uuid::new_v5(&Uuid::NAMESPACE_URL, &[i])))
        .collect();
    many.push(fx["malware_20"].id.clone());
    many.insert(17, fx["indicator_m1"].id.clone());
    let mut versions: Vec<String> = (0..100)
        .map(|i| format!("2001-01-01T00:00:{:02}.{i:03}Z", i % 60))
        .collect();
    versions.push("2016-12-25T12:30:59.444Z".into());
    let q = ObjectQuery {
        ids: many.clone(),
        ..f.query()
    };
    assert_eq!(
        ids_versions(&fetch(s, &q).await),
        p(&["indicator_m3", "malware_21"]),
        "{C}: 202 ids"
    );
    let q = ObjectQuery {
        ids: many,
        types: (0..50)
            .map(|i| format!("x-type-{i}"))
            .chain(["indicator".into()])
            .collect(),
        versions: vf(
            false,
            false,
            false,
            &versions.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        spec_versions: (0..40)
            .map(|i| format!("1.{i}"))
            .chain(["2.1".into()])
            .collect(),
        ..f.query()
    };
    assert_eq!(
        ids_versions(&fetch(s, &q).await),
        p(&["indicator_m2"]),
        "{C}: long lists of ids, types, versions and spec versions"
    );
}

/// Ids that differ only in their type or leading characters are different objects everywhere:
/// duplicates, filters, selection flags, deletes.
async fn similar_ids_stay_apart(s: &dyn Store) {
    const C: &str = "similar_ids_stay_apart";
    let f = Fixture::new(s, "similar").await;
    let tail = "-4aaa-8aaa-123456789012";
    let ids = [
        format!("indicator--aaaaaaaa-aaaa{tail}"),
        format!("malware--aaaaaaaa-aaaa{tail}"),
        format!("indicator--bbbbbbbb-bbbb{tail}"),
    ];
    let mk = |id: &str, modified: &str| {
        let (type_, _) = id.split_once("--").unwrap();
        new_version(&format!(
            r#"{{"type":"{type_}","spec_version":"2.1","id":"{id}","created":"2020-01-01T00:00:00Z","modified":"{modified}"}}"#
        ))
    };
    let t1 = "2020-01-01T00:00:00Z";
    let t2 = "2021-01-01T00:00:00Z";
    let st = f.add(s, ids.iter().map(|id| mk(id, t1)).collect()).await;
    assert!(
        st.successes.iter().all(|d| d.message.is_none()),
        "{C}: three distinct objects, no duplicates"
    );
    f.add(s, vec![mk(&ids[0], t2)]).await;
    for (i, id) in ids.iter().enumerate() {
        let q = ObjectQuery {
            ids: vec![id.clone()],
            versions: vf(false, false, true, &[]),
            ..f.query()
        };
        let recs = fetch(s, &q).await;
        assert!(recs.iter().all(|r| &r.id == id), "{C}: ids=[{id}]");
        assert_eq!(
            recs.len(),
            if i == 0 { 2 } else { 1 },
            "{C}: versions of {id}"
        );
        let q = ObjectQuery {
            object_id: Some(id.clone()),
            ..f.query()
        };
        let last = fetch(s, &q).await;
        assert_eq!(last.len(), 1, "{C}: one default record for {id}");
        assert_eq!(
            last[0].version,
            if i == 0 { t2 } else { t1 },
            "{C}: last of {id}"
        );
    }
    let removed = s
        .delete_versions(&DeleteSpec {
            collection: f.collection,
            object_id: ids[1].clone(),
            ..DeleteSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(removed, 1, "{C}: delete one object");
    assert!(
        !s.object_exists(f.collection, &ids[1]).await.unwrap(),
        "{C}"
    );
    assert!(s.object_exists(f.collection, &ids[0]).await.unwrap(), "{C}");
    assert!(s.object_exists(f.collection, &ids[2]).await.unwrap(), "{C}");
    assert_eq!(s.count_versions(f.collection).await.unwrap(), 3, "{C}");
}

async fn added_after(s: &dyn Store) {
    const C: &str = "added_after";
    let (f, _fx) = full_fixture(s, "after").await;
    let q = ObjectQuery {
        versions: vf(false, false, true, &[]),
        spec_versions: vec!["2.0".into(), "2.1".into()],
        ..f.query()
    };
    let all = fetch(s, &q).await;
    assert_eq!(all.len(), 10, "{C}");
    for (i, r) in all.iter().enumerate() {
        let q2 = ObjectQuery {
            added_after: Some(r.date_added),
            ..q.clone()
        };
        assert_eq!(
            fetch(s, &q2).await,
            all[i + 1..].to_vec(),
            "{C}: strictly after #{i}"
        );
        let q3 = ObjectQuery {
            added_after: Some(r.date_added - 1),
            ..q.clone()
        };
        assert_eq!(
            fetch(s, &q3).await,
            all[i..].to_vec(),
            "{C}: 1 µs earlier includes #{i}"
        );
    }
    // With the default selection, added_after filters the selected versions (it does not pick an
    // older version of an object whose latest version was added earlier).
    let dflt = fetch(s, &f.query()).await;
    let cut = all[4].date_added;
    let q4 = ObjectQuery {
        added_after: Some(cut),
        ..f.query()
    };
    let want: Vec<_> = dflt
        .iter()
        .filter(|r| r.date_added > cut)
        .cloned()
        .collect();
    assert_eq!(
        fetch(s, &q4).await,
        want,
        "{C}: default selection, then added_after"
    );
}

async fn pagination(s: &dyn Store) {
    const C: &str = "pagination";
    let (f, fx) = full_fixture(s, "pages").await;
    // More versions: 60 objects with 2 versions each, added in interleaved requests.
    let mut newer = Vec::new();
    for i in 0..60 {
        newer.push(indicator(10_000 + i, "2021-01-01T00:00:00.000Z"));
    }
    for chunk in (0..60).collect::<Vec<usize>>().chunks(7) {
        f.add(s, chunk.iter().map(|i| newer[*i].clone()).collect())
            .await;
        let later = chunk
            .iter()
            .map(|i| indicator(10_000 + i, "2022-06-01T00:00:00.123Z"))
            .collect();
        f.add(s, later).await;
    }
    let queries = [
        ("default", f.query()),
        (
            "all versions",
            ObjectQuery {
                versions: vf(false, false, true, &[]),
                ..f.query()
            },
        ),
        (
            "first",
            ObjectQuery {
                versions: vf(true, false, false, &[]),
                ..f.query()
            },
        ),
        (
            "type indicator, all spec versions",
            ObjectQuery {
                types: vec!["indicator".into()],
                spec_versions: vec!["2.0".into(), "2.1".into()],
                versions: vf(true, true, false, &[]),
                ..f.query()
            },
        ),
        (
            "ids",
            ObjectQuery {
                ids: vec![
                    fx["indicator_m1"].id.clone(),
                    newer[3].id.clone(),
                    newer[40].id.clone(),
                ],
                versions: vf(false, false, true, &[]),
                ..f.query()
            },
        ),
        (
            "metadata only",
            ObjectQuery {
                with_bodies: false,
                ..f.query()
            },
        ),
    ];
    for (name, q) in queries {
        let whole = fetch(s, &q).await;
        assert!(!whole.is_empty(), "{C}: {name}");
        assert_sorted(C, &whole);
        for limit in [1, 2, 3, 7, whole.len() - 1, whole.len(), whole.len() + 1] {
            if limit == 0 {
                continue;
            }
            let paged = walk(s, &q, limit).await;
            assert_eq!(
                paged, whole,
                "{C}: {name}: pages of {limit} concatenate to the unpaged result"
            );
        }
        // `more` is exact: a page that ends at the last record says there is no more.
        let q2 = ObjectQuery {
            limit: whole.len(),
            ..q.clone()
        };
        let page = s.query(&q2).await.unwrap();
        assert!(!page.more, "{C}: {name}: limit = count gives more=false");
        let q3 = ObjectQuery {
            limit: whole.len() - 1,
            ..q.clone()
        };
        if whole.len() > 1 {
            assert!(
                s.query(&q3).await.unwrap().more,
                "{C}: {name}: limit = count-1"
            );
        }
        // A cursor replays: the same cursor gives the same page.
        if whole.len() > 2 {
            let q4 = ObjectQuery {
                limit: 2,
                after: Some(whole[0].cursor()),
                ..q.clone()
            };
            let a = s.query(&q4).await.unwrap();
            let b = s.query(&q4).await.unwrap();
            assert_eq!(a, b, "{C}: {name}: replay");
            assert_eq!(
                a.records,
                whole[1..3].to_vec(),
                "{C}: {name}: after a cursor"
            );
        }
        // A cursor at the last record gives an empty page without more.
        let q5 = ObjectQuery {
            after: Some(whole.last().unwrap().cursor()),
            ..q.clone()
        };
        let end = s.query(&q5).await.unwrap();
        assert!(
            end.records.is_empty() && !end.more,
            "{C}: {name}: after the last record"
        );
    }
    // A cursor whose record was deleted still positions the walk.
    let q = ObjectQuery {
        versions: vf(false, false, true, &[]),
        ..f.query()
    };
    let whole = fetch(s, &q).await;
    let victim = &whole[5];
    let removed = s
        .delete_versions(&DeleteSpec {
            collection: f.collection,
            object_id: victim.id.clone(),
            versions: VersionFilter {
                exact: vec![victim.version_key.clone()],
                ..VersionFilter::default()
            },
            spec_versions: Vec::new(),
            audit: None,
        })
        .await
        .unwrap();
    assert_eq!(removed, 1, "{C}");
    let q6 = ObjectQuery {
        after: Some(Cursor {
            date_added: victim.date_added,
            id: victim.id.clone(),
            version_key: victim.version_key.clone(),
        }),
        ..q.clone()
    };
    assert_eq!(
        fetch(s, &q6).await,
        whole[6..].to_vec(),
        "{C}: a cursor at a deleted record"
    );
}

async fn bodies_and_metadata(s: &dyn Store) {
    const C: &str = "bodies_and_metadata";
    let (f, fx) = full_fixture(s, "bodies").await;
    let q = ObjectQuery {
        versions: vf(false, false, true, &[]),
        spec_versions: vec!["2.0".into(), "2.1".into()],
        ..f.query()
    };
    let recs = fetch(s, &q).await;
    for r in &recs {
        let src = fx
            .values()
            .find(|v| {
                v.id == r.id && (v.version.as_deref() == Some(&r.version) || v.version.is_none())
            })
            .unwrap_or_else(|| panic!("{C}: record {} {} has no source", r.id, r.version));
        assert_eq!(
            r.body.as_deref(),
            Some(src.body.as_str()),
            "{C}: body byte-exact"
        );
        assert_eq!(r.type_, src.type_, "{C}: type");
        assert_eq!(r.spec_version, src.spec_version, "{C}: spec_version");
        if let Some(v) = &src.version {
            assert_eq!(&r.version, v, "{C}: version as written (not reformatted)");
            assert_eq!(
                Some(&r.version_key),
                src.version_key.as_ref(),
                "{C}: version_key"
            );
        }
        assert_eq!(
            r.media_type(),
            format!("application/stix+json;version={}", src.spec_version),
            "{C}"
        );
    }
    let custom = recs
        .iter()
        .find(|r| r.id == fx["custom"].id)
        .expect("custom");
    assert_eq!(
        custom.version, "2020-01-01T00:00:00.1Z",
        "{C}: version text kept"
    );
    let q2 = ObjectQuery {
        with_bodies: false,
        ..q
    };
    let meta = fetch(s, &q2).await;
    assert!(
        meta.iter().all(|r| r.body.is_none()),
        "{C}: with_bodies=false"
    );
    let stripped: Vec<_> = recs
        .iter()
        .cloned()
        .map(|mut r| {
            r.body = None;
            r
        })
        .collect();
    assert_eq!(
        meta, stripped,
        "{C}: metadata equals the full records without bodies"
    );
}

async fn collections_are_isolated(s: &dyn Store) {
    const C: &str = "collections_are_isolated";
    let a = Fixture::new(s, "iso-a").await;
    let b = Fixture::new(s, "iso-b").await;
    let fx = fixture_objects();
    a.add(s, vec![fx["indicator_m1"].clone(), fx["sco"].clone()])
        .await;
    let st = b
        .add(s, vec![fx["indicator_m1"].clone(), fx["sco"].clone()])
        .await;
    assert!(
        st.successes.iter().all(|d| d.message.is_none()),
        "{C}: the same version in another collection is new there"
    );
    a.add(s, vec![fx["indicator_m2"].clone()]).await;
    assert_eq!(s.count_versions(a.collection).await.unwrap(), 3, "{C}");
    assert_eq!(s.count_versions(b.collection).await.unwrap(), 2, "{C}");
    let rb = fetch(s, &b.query()).await;
    assert_eq!(
        rb.iter().map(|r| r.version.as_str()).next(),
        Some("2016-11-03T12:30:59.000Z"),
        "{C}: b's last version is m1"
    );
    s.delete_versions(&DeleteSpec {
        collection: a.collection,
        object_id: fx["indicator_m1"].id.clone(),
        ..DeleteSpec::default()
    })
    .await
    .unwrap();
    assert!(
        !s.object_exists(a.collection, &fx["indicator_m1"].id)
            .await
            .unwrap(),
        "{C}"
    );
    assert!(
        s.object_exists(b.collection, &fx["indicator_m1"].id)
            .await
            .unwrap(),
        "{C}"
    );
}

async fn delete(s: &dyn Store) {
    const C: &str = "delete";
    let (f, fx) = full_fixture(s, "delete").await;
    let p = |names: &[&str]| pairs(&fx, names);
    let ind = fx["indicator_m1"].id.clone();
    let spec = |versions: VersionFilter, specs: &[&str], id: &str| DeleteSpec {
        collection: f.collection,
        object_id: id.to_string(),
        versions,
        spec_versions: specs.iter().map(|x| x.to_string()).collect(),
        audit: None,
    };
    let of = |id: &str, versions: VersionFilter| ObjectQuery {
        object_id: Some(id.to_string()),
        versions,
        ..f.query()
    };
    // Delete m3 (the last): m2 becomes the last version.
    let n = s
        .delete_versions(&spec(
            vf(false, false, false, &["2017-01-27T13:49:59.997Z"]),
            &[],
            &ind,
        ))
        .await
        .unwrap();
    assert_eq!(n, 1, "{C}: one version removed");
    assert_eq!(
        ids_versions(&fetch(s, &of(&ind, VersionFilter::default())).await),
        p(&["indicator_m2"]),
        "{C}: the previous version becomes the last"
    );
    assert_eq!(
        ids_versions(&fetch(s, &of(&ind, vf(false, false, true, &[]))).await),
        p(&["indicator_m1", "indicator_m2"]),
        "{C}: m1 and m2 remain"
    );
    // Delete first: m1 goes, m2 is first and last.
    assert_eq!(
        s.delete_versions(&spec(vf(true, false, false, &[]), &[], &ind))
            .await
            .unwrap(),
        1,
        "{C}: first"
    );
    assert_eq!(
        ids_versions(&fetch(s, &of(&ind, vf(true, false, false, &[]))).await),
        p(&["indicator_m2"]),
        "{C}: new first"
    );
    // Nothing matches: nothing removed.
    assert_eq!(
        s.delete_versions(&spec(
            vf(false, false, false, &["2000-01-01T00:00:00Z"]),
            &[],
            &ind
        ))
        .await
        .unwrap(),
        0,
        "{C}: absent version"
    );
    // By spec version: the malware's 2.0 version only.
    let mal = fx["malware_20"].id.clone();
    assert_eq!(
        s.delete_versions(&spec(VersionFilter::default(), &["2.0"], &mal))
            .await
            .unwrap(),
        1,
        "{C}: spec 2.0"
    );
    assert_eq!(
        ids_versions(
            &fetch(
                s,
                &ObjectQuery {
                    spec_versions: vec!["2.0".into(), "2.1".into()],
                    ..of(&mal, vf(false, false, true, &[]))
                }
            )
            .await
        ),
        p(&["malware_21"]),
        "{C}: the 2.1 version remains"
    );
    // Deleting the tool's 2.1 version makes its 2.0 version the default one.
    let tool = fx["tool_20_later"].id.clone();
    assert_eq!(
        s.delete_versions(&spec(VersionFilter::default(), &["2.1"], &tool))
            .await
            .unwrap(),
        1,
        "{C}: spec 2.1"
    );
    assert_eq!(
        ids_versions(&fetch(s, &of(&tool, VersionFilter::default())).await),
        p(&["tool_20_later"]),
        "{C}: the remaining spec version becomes the default"
    );
    // Delete everything of an object.
    let before = s.count_versions(f.collection).await.unwrap();
    assert_eq!(
        s.delete_versions(&spec(VersionFilter::default(), &[], &ind))
            .await
            .unwrap(),
        1,
        "{C}: all"
    );
    assert!(
        !s.object_exists(f.collection, &ind).await.unwrap(),
        "{C}: gone"
    );
    assert!(
        fetch(s, &of(&ind, vf(false, false, true, &[])))
            .await
            .is_empty(),
        "{C}"
    );
    assert_eq!(
        s.count_versions(f.collection).await.unwrap(),
        before - 1,
        "{C}"
    );
    assert_eq!(
        s.delete_versions(&spec(VersionFilter::default(), &[], "indicator--nope"))
            .await
            .unwrap(),
        0,
        "{C}: unknown object"
    );
    // The default listing reflects every delete.
    assert_eq!(
        pv(&fetch(s, &f.query()).await, &fx["sco"].id),
        p(&["marking", "malware_21", "tool_20_later", "sco", "custom"]),
        "{C}: default listing after deletes"
    );
    // Re-adding a deleted version stores it again (with a new date_added).
    let st = f.add(s, vec![fx["indicator_m1"].clone()]).await;
    assert_eq!(st.successes[0].message, None, "{C}: re-added after delete");
    assert!(s.object_exists(f.collection, &ind).await.unwrap(), "{C}");
}

async fn statuses_per_api_root(s: &dyn Store) {
    const C: &str = "statuses_per_api_root";
    let a = Fixture::new(s, "status-a").await;
    let b = Fixture::new(s, "status-b").await;
    let st = a.add(s, vec![fixture_objects()["custom"].clone()]).await;
    assert_eq!(
        s.get_status(&a.root, st.id).await.unwrap(),
        Some(st.clone()),
        "{C}"
    );
    assert_eq!(
        s.get_status(&b.root, st.id).await.unwrap(),
        None,
        "{C}: other API root"
    );
    assert_eq!(
        s.get_status(&a.root, Uuid::new_v4()).await.unwrap(),
        None,
        "{C}: unknown id"
    );
    // A request in which every object was refused is still a status.
    let mut req = b.request(Vec::new());
    req.rejected = vec![StatusDetail {
        id: "x".into(),
        version: "".into(),
        message: Some("not STIX".into()),
    }];
    let st2 = s.add_objects(req).await.unwrap();
    assert_eq!(st2.total_count, 1, "{C}");
    assert!(st2.successes.is_empty(), "{C}");
    assert_eq!(
        s.get_status(&b.root, st2.id).await.unwrap(),
        Some(st2),
        "{C}"
    );
}

async fn unknown_references(s: &dyn Store) {
    const C: &str = "unknown_references";
    let f = Fixture::new(s, "unknown").await;
    let mut req = f.request(vec![fixture_objects()["custom"].clone()]);
    req.collection = Uuid::new_v4();
    assert!(
        matches!(
            s.add_objects(req.clone()).await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: add to an unknown collection"
    );
    req.collection = f.collection;
    req.api_root = format!("{}-other", f.root);
    assert!(
        matches!(s.add_objects(req).await, Err(StoreError::NotFound(_))),
        "{C}: add through the wrong API root"
    );
    assert_eq!(s.count_versions(f.collection).await.unwrap(), 0, "{C}");
    let q = ObjectQuery {
        collection: Uuid::new_v4(),
        ..f.query()
    };
    assert!(
        matches!(s.query(&q).await, Err(StoreError::NotFound(_))),
        "{C}: query an unknown collection"
    );
    let nowhere = Uuid::new_v4();
    assert!(
        matches!(
            s.count_versions(nowhere).await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: count_versions of an unknown collection"
    );
    assert!(
        matches!(
            s.object_exists(nowhere, "x--y").await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: object_exists in an unknown collection"
    );
    let d = DeleteSpec {
        collection: nowhere,
        object_id: "x--y".into(),
        ..DeleteSpec::default()
    };
    assert!(
        matches!(s.delete_versions(&d).await, Err(StoreError::NotFound(_))),
        "{C}: delete_versions in an unknown collection"
    );
}

async fn orgs_users_tokens_grants(s: &dyn Store) {
    const C: &str = "orgs_users_tokens_grants";
    let t = tag();
    let org = Organization {
        id: Uuid::new_v4(),
        name: format!("CERT {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("FR".into()),
        kind: "cert".into(),
    };
    s.create_org(&org).await.unwrap();
    assert_eq!(s.get_org(org.id).await.unwrap(), Some(org.clone()), "{C}");
    assert!(s.get_org(Uuid::new_v4()).await.unwrap().is_none(), "{C}");
    assert!(s.list_orgs().await.unwrap().contains(&org), "{C}: listed");
    assert!(
        matches!(s.create_org(&org).await, Err(StoreError::Conflict(_))),
        "{C}: same org id"
    );
    assert!(
        matches!(
            s.create_org(&Organization {
                id: Uuid::new_v4(),
                identity_id: format!("identity--{}", Uuid::new_v4()),
                ..org.clone()
            })
            .await,
            Err(StoreError::Conflict(_))
        ),
        "{C}: same org name"
    );

    let user = User {
        id: Uuid::new_v4(),
        name: format!("alice-{t}"),
        org_id: org.id,
        role: Role::Analyst,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        disabled: false,
        credential_epoch: 0,
    };
    s.create_user(&user).await.unwrap();
    let admin = User {
        id: Uuid::new_v4(),
        name: format!("root-{t}"),
        role: Role::Admin,
        password_hash: None,
        disabled: true,
        credential_epoch: 7,
        ..user.clone()
    };
    s.create_user(&admin).await.unwrap();
    assert_eq!(
        s.get_user(user.id).await.unwrap(),
        Some(user.clone()),
        "{C}"
    );
    assert_eq!(
        s.get_user_by_name(&admin.name).await.unwrap(),
        Some(admin.clone()),
        "{C}"
    );
    assert!(
        s.get_user_by_name("nobody-at-all").await.unwrap().is_none(),
        "{C}"
    );
    let users = s.list_users().await.unwrap();
    assert!(
        users.contains(&user) && users.contains(&admin),
        "{C}: listed"
    );
    assert!(
        matches!(s.create_user(&user).await, Err(StoreError::Conflict(_))),
        "{C}: same user id"
    );
    assert!(
        matches!(
            s.create_user(&User {
                id: Uuid::new_v4(),
                ..user.clone()
            })
            .await,
            Err(StoreError::Conflict(_))
        ),
        "{C}: same user name"
    );
    assert!(
        matches!(
            s.create_user(&User {
                id: Uuid::new_v4(),
                name: format!("bob-{t}"),
                org_id: Uuid::new_v4(),
                ..user.clone()
            })
            .await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: user of an unknown org"
    );

    s.set_password(user.id, "$argon2id$new").await.unwrap();
    let u2 = s.get_user(user.id).await.unwrap().unwrap();
    assert_eq!(
        u2.password_hash.as_deref(),
        Some("$argon2id$new"),
        "{C}: password"
    );
    assert!(
        u2.credential_epoch > user.credential_epoch,
        "{C}: set_password bumps the epoch"
    );
    assert!(
        matches!(
            s.set_password(Uuid::new_v4(), "x").await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: set_password of an unknown user"
    );

    let tok = ApiToken {
        id: Uuid::new_v4(),
        user_id: user.id,
        secret_hash: format!("{:0>64}", t),
        created: 1_700_000_000_000_000,
        expires: Some(1_800_000_000_000_000),
        revoked: false,
        read_only: true,
        collection: None,
    };
    let tok2 = ApiToken {
        id: Uuid::new_v4(),
        secret_hash: format!("{:f>64}", t),
        created: 1_700_000_000_000_001,
        expires: None,
        read_only: false,
        ..tok.clone()
    };
    s.create_token(&tok).await.unwrap();
    s.create_token(&tok2).await.unwrap();
    assert_eq!(
        s.get_token_by_hash(&tok.secret_hash).await.unwrap(),
        Some(tok.clone()),
        "{C}"
    );
    assert!(s.get_token_by_hash("00").await.unwrap().is_none(), "{C}");
    let mut listed = s.list_tokens(user.id).await.unwrap();
    listed.sort_by_key(|x| x.created);
    assert_eq!(listed, vec![tok.clone(), tok2.clone()], "{C}: list_tokens");
    assert!(s.list_tokens(admin.id).await.unwrap().is_empty(), "{C}");
    assert!(
        matches!(s.create_token(&tok).await, Err(StoreError::Conflict(_))),
        "{C}: same token id"
    );
    assert!(
        matches!(
            s.create_token(&ApiToken {
                id: Uuid::new_v4(),
                ..tok.clone()
            })
            .await,
            Err(StoreError::Conflict(_))
        ),
        "{C}: same secret hash"
    );
    assert!(
        matches!(
            s.create_token(&ApiToken {
                id: Uuid::new_v4(),
                user_id: Uuid::new_v4(),
                secret_hash: format!("{:e>64}", t),
                ..tok.clone()
            })
            .await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: token of an unknown user"
    );
    let epoch = s.get_user(user.id).await.unwrap().unwrap().credential_epoch;
    s.revoke_token(tok.id).await.unwrap();
    let revoked = s
        .get_token_by_hash(&tok.secret_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(revoked.revoked, "{C}: revoked");
    assert!(
        !s.get_token_by_hash(&tok2.secret_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked,
        "{C}: only that token"
    );
    assert!(
        s.get_user(user.id).await.unwrap().unwrap().credential_epoch > epoch,
        "{C}: revoking a token bumps its user's epoch"
    );
    assert!(
        matches!(
            s.revoke_token(Uuid::new_v4()).await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: revoke an unknown token"
    );

    let f = Fixture::new(s, "grants").await;
    let org2 = Organization {
        id: Uuid::new_v4(),
        name: format!("Police {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("FR".into()),
        kind: "cert".into(),
    };
    s.create_org(&org2).await.unwrap();
    assert!(
        s.get_grant(f.collection, &Grantee::Organization(org.id))
            .await
            .unwrap()
            .is_none(),
        "{C}"
    );
    let g = Grant {
        collection: f.collection,
        grantee: Grantee::Organization(org.id),
        can_read: true,
        can_write: false,
    };
    s.set_grant(&g).await.unwrap();
    assert_eq!(
        s.get_grant(f.collection, &g.grantee).await.unwrap(),
        Some(g.clone()),
        "{C}"
    );
    let g2 = Grant {
        can_write: true,
        ..g.clone()
    };
    s.set_grant(&g2).await.unwrap();
    assert_eq!(
        s.get_grant(f.collection, &g.grantee).await.unwrap(),
        Some(g2.clone()),
        "{C}: set_grant replaces"
    );
    let g3 = Grant {
        grantee: Grantee::Organization(org2.id),
        can_read: false,
        can_write: true,
        ..g.clone()
    };
    s.set_grant(&g3).await.unwrap();
    let mut grants = s.list_grants(f.collection).await.unwrap();
    grants.sort_by_key(|x| x.grantee.key());
    let mut want = vec![g2.clone(), g3.clone()];
    want.sort_by_key(|x| x.grantee.key());
    assert_eq!(grants, want, "{C}: list_grants");
    assert!(
        matches!(
            s.set_grant(&Grant {
                collection: Uuid::new_v4(),
                ..g.clone()
            })
            .await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: grant on an unknown collection"
    );
    assert!(
        matches!(
            s.set_grant(&Grant {
                grantee: Grantee::Organization(Uuid::new_v4()),
                ..g.clone()
            })
            .await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: grant to an unknown org"
    );
}

/// Two stores on the same database: writes through one are read through the other, and writers
/// running at the same time through both keep `date_added` strictly increasing.
pub async fn run_shared(a: &dyn Store, b: &dyn Store) {
    const C: &str = "run_shared";
    let f = Fixture::new(a, "shared").await;
    assert!(
        b.get_collection(&f.root, &f.collection.to_string())
            .await
            .unwrap()
            .is_some(),
        "{C}: b sees a's collection"
    );
    join2(
        write_many(a, &f, 50_000, "a"),
        write_many(b, &f, 60_000, "b"),
    )
    .await;
    let ra = fetch(a, &f.query()).await;
    let rb = fetch(b, &f.query()).await;
    assert_eq!(ra, rb, "{C}: both stores read the same");
    assert_eq!(ra.len(), 2 * SHARED_WRITES, "{C}");
    let distinct: HashSet<i64> = ra.iter().map(|r| r.date_added).collect();
    assert_eq!(
        distinct.len(),
        ra.len(),
        "{C}: date_added values are distinct"
    );
    assert_sorted(C, &ra);
    let st = a
        .add_objects(f.request(vec![indicator(50_000, "2023-03-03T03:03:03.333Z")]))
        .await;
    assert_eq!(
        st.unwrap().successes[0].message.as_deref(),
        Some(ALREADY_PRESENT),
        "{C}: b's writes are duplicates for a"
    );
    // A change through one store moves the epoch the other reads.
    if let Some(before) = a.policy_epoch().await.unwrap() {
        b.set_grant(&Grant {
            collection: f.collection,
            grantee: Grantee::Community,
            can_read: true,
            can_write: false,
        })
        .await
        .unwrap();
        assert_ne!(
            a.policy_epoch().await.unwrap(),
            Some(before),
            "{C}: a sees b's grant in the policy epoch"
        );
    }
}

const SHARED_WRITES: usize = 30;

async fn write_many(store: &dyn Store, f: &Fixture, base: usize, who: &str) {
    for i in 0..SHARED_WRITES {
        let v = indicator(base + i, "2023-03-03T03:03:03.333Z");
        if let Err(e) = store.add_objects(f.request(vec![v])).await {
            panic!("run_shared: writer {who}: {e}");
        }
    }
}

/// Poll two futures to completion concurrently (no runtime dependency).
async fn join2<A: std::future::Future<Output = ()>, B: std::future::Future<Output = ()>>(
    a: A,
    b: B,
) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut da, mut db) = (false, false);
    std::future::poll_fn(|cx| {
        if !da {
            da = a.as_mut().poll(cx).is_ready();
        }
        if !db {
            db = b.as_mut().poll(cx).is_ready();
        }
        if da && db {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// What [`populate_durable`] wrote, for [`verify_durable`].
#[derive(Debug, Clone)]
pub struct DurableSnapshot {
    pub fixture_root: String,
    pub collection: Uuid,
    pub records: Vec<Record>,
    pub status: Status,
    pub setting: (String, String),
    pub user: User,
    pub token: ApiToken,
    pub grant: Grant,
}

/// Write a little of everything through `s`; the store may then be dropped and reopened.
pub async fn populate_durable(s: &dyn Store) -> DurableSnapshot {
    let (f, fx) = full_fixture(s, "durable").await;
    let status = f.add(s, vec![fx["indicator_m1"].clone()]).await;
    let q = ObjectQuery {
        versions: vf(false, false, true, &[]),
        spec_versions: vec!["2.0".into(), "2.1".into()],
        ..f.query()
    };
    let records = fetch(s, &q).await;
    let t = tag();
    let setting = (format!("conf-durable-{t}"), "kept".to_string());
    s.set_setting(&setting.0, &setting.1).await.unwrap();
    let org = Organization {
        id: Uuid::new_v4(),
        name: format!("durable {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("FR".into()),
        kind: "cert".into(),
    };
    s.create_org(&org).await.unwrap();
    let user = User {
        id: Uuid::new_v4(),
        name: format!("durable-{t}"),
        org_id: org.id,
        role: Role::OrgAdmin,
        password_hash: Some("h".into()),
        disabled: false,
        credential_epoch: 0,
    };
    s.create_user(&user).await.unwrap();
    s.set_password(user.id, "h2").await.unwrap();
    let token = ApiToken {
        id: Uuid::new_v4(),
        user_id: user.id,
        secret_hash: format!("{:a>64}", t),
        created: 1,
        expires: None,
        revoked: false,
        read_only: false,
        collection: Some(f.collection),
    };
    s.create_token(&token).await.unwrap();
    let grant = Grant {
        collection: f.collection,
        grantee: Grantee::Organization(org.id),
        can_read: true,
        can_write: true,
    };
    s.set_grant(&grant).await.unwrap();
    let user = s.get_user(user.id).await.unwrap().unwrap();
    DurableSnapshot {
        fixture_root: f.root,
        collection: f.collection,
        records,
        status,
        setting,
        user,
        token,
        grant,
    }
}

/// Check that a store opened anew on the same database holds everything in `snap`, and that
/// new writes continue the collection's `date_added` order.
pub async fn verify_durable(s: &dyn Store, snap: &DurableSnapshot) {
    const C: &str = "verify_durable";
    let f = Fixture {
        root: snap.fixture_root.clone(),
        collection: snap.collection,
    };
    let q = ObjectQuery {
        versions: vf(false, false, true, &[]),
        spec_versions: vec!["2.0".into(), "2.1".into()],
        ..f.query()
    };
    assert_eq!(fetch(s, &q).await, snap.records, "{C}: objects");
    assert_eq!(
        s.get_status(&snap.fixture_root, snap.status.id)
            .await
            .unwrap()
            .as_ref(),
        Some(&snap.status),
        "{C}: status"
    );
    assert_eq!(
        s.get_setting(&snap.setting.0).await.unwrap().as_deref(),
        Some(snap.setting.1.as_str()),
        "{C}: setting"
    );
    assert_eq!(
        s.get_user(snap.user.id).await.unwrap().as_ref(),
        Some(&snap.user),
        "{C}: user"
    );
    assert_eq!(
        s.get_token_by_hash(&snap.token.secret_hash)
            .await
            .unwrap()
            .as_ref(),
        Some(&snap.token),
        "{C}: token"
    );
    assert_eq!(
        s.get_grant(snap.grant.collection, &snap.grant.grantee)
            .await
            .unwrap()
            .as_ref(),
        Some(&snap.grant),
        "{C}: grant"
    );
    // The default selection flags survived too.
    let dflt = fetch(s, &f.query()).await;
    assert_eq!(dflt.len(), 6, "{C}: default selection");
    let st = f
        .add(s, vec![indicator(77_777, "2024-01-01T00:00:00Z")])
        .await;
    assert!(st.successes[0].message.is_none(), "{C}");
    let after = fetch(s, &q).await;
    let last = after.last().unwrap();
    assert_eq!(last.id, indicator(77_777, "2024-01-01T00:00:00Z").id, "{C}");
    assert!(
        last.date_added > snap.records.iter().map(|r| r.date_added).max().unwrap(),
        "{C}: date_added continues after reopening"
    );
}

/// Nations, organizations' nation and kind, sharing groups, grants to every kind of grantee,
/// collection policy, user updates, and stored marking meanings.
async fn sharing_entities(s: &dyn Store) {
    const C: &str = "sharing_entities";
    let t = tag();
    s.add_nation("KR").await.unwrap();
    s.add_nation("KR").await.unwrap();
    s.add_nation("US").await.unwrap();
    let nations = s.list_nations().await.unwrap();
    assert!(
        nations.contains(&"KR".to_string()) && nations.contains(&"US".to_string()),
        "{C}: nations {nations:?}"
    );
    let mut sorted = nations.clone();
    sorted.sort();
    assert_eq!(nations, sorted, "{C}: nations ordered");

    let org = |name: &str, nation: &str| Organization {
        id: Uuid::new_v4(),
        name: format!("{name} {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some(nation.into()),
        kind: "cert".into(),
    };
    let a = org("KrCERT", "KR");
    let mut b = org("CISA", "US");
    s.create_org(&a).await.unwrap();
    s.create_org(&b).await.unwrap();
    b.kind = "defence".into();
    b.nation = None;
    s.update_org(&b).await.unwrap();
    assert_eq!(s.get_org(b.id).await.unwrap(), Some(b.clone()), "{C}");
    b.nation = Some("US".into());
    s.update_org(&b).await.unwrap();
    assert!(
        matches!(
            s.update_org(&org("ghost", "US")).await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: update of an unknown organization"
    );

    let g = SharingGroup {
        id: Uuid::new_v4(),
        name: format!("ransomware task force {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        owner: a.id,
        members: vec![],
    };
    s.create_group(&g).await.unwrap();
    let got = s.get_group(g.id).await.unwrap().expect("group");
    assert_eq!(got.members, vec![a.id], "{C}: the owner is a member");
    assert!(
        matches!(s.create_group(&g).await, Err(StoreError::Conflict(_))),
        "{C}: same group"
    );
    assert!(
        matches!(
            s.create_group(&SharingGroup {
                id: Uuid::new_v4(),
                name: format!("orphan {t}"),
                identity_id: format!("identity--{}", Uuid::new_v4()),
                owner: Uuid::new_v4(),
                members: vec![],
            })
            .await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: group of an unknown owner"
    );
    s.set_group_member(g.id, b.id, true).await.unwrap();
    s.set_group_member(g.id, b.id, true).await.unwrap();
    let got = s.get_group(g.id).await.unwrap().expect("group");
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(got.members, want, "{C}: members ordered by id");
    assert_eq!(
        s.groups_of_org(b.id).await.unwrap(),
        vec![got.clone()],
        "{C}: groups_of_org"
    );
    assert!(s.list_groups().await.unwrap().contains(&got), "{C}");
    assert!(
        matches!(
            s.set_group_member(g.id, a.id, false).await,
            Err(StoreError::Invalid(_))
        ),
        "{C}: the owner cannot leave"
    );
    assert!(
        matches!(
            s.set_group_member(Uuid::new_v4(), a.id, true).await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: unknown group"
    );
    s.set_group_member(g.id, b.id, false).await.unwrap();
    assert!(s.groups_of_org(b.id).await.unwrap().is_empty(), "{C}");

    let f = Fixture::new(s, "sharing").await;
    let grants = [
        Grant {
            collection: f.collection,
            grantee: Grantee::SharingGroup(g.id),
            can_read: true,
            can_write: true,
        },
        Grant {
            collection: f.collection,
            grantee: Grantee::Nation("KR".into()),
            can_read: true,
            can_write: false,
        },
        Grant {
            collection: f.collection,
            grantee: Grantee::Community,
            can_read: true,
            can_write: false,
        },
    ];
    for gr in &grants {
        s.set_grant(gr).await.unwrap();
        assert_eq!(
            s.get_grant(f.collection, &gr.grantee)
                .await
                .unwrap()
                .as_ref(),
            Some(gr),
            "{C}: grant to {:?}",
            gr.grantee
        );
    }
    let mut want: Vec<Grant> = grants.to_vec();
    want.sort_by_key(|x| x.grantee.key());
    assert_eq!(s.list_grants(f.collection).await.unwrap(), want, "{C}");
    for bad in [
        Grantee::SharingGroup(Uuid::new_v4()),
        Grantee::Nation("QQ".into()),
    ] {
        assert!(
            matches!(
                s.set_grant(&Grant {
                    grantee: bad.clone(),
                    ..grants[0].clone()
                })
                .await,
                Err(StoreError::NotFound(_))
            ),
            "{C}: grant to unknown {bad:?}"
        );
    }

    s.set_collection_policy(f.collection, crate::Tlp::Clear, true)
        .await
        .unwrap();
    let c = s
        .get_collection(&f.root, &f.collection.to_string())
        .await
        .unwrap()
        .expect("collection");
    assert_eq!(
        (c.default_tlp, c.anonymous_read),
        (crate::Tlp::Clear, true),
        "{C}: collection policy"
    );
    assert!(
        matches!(
            s.set_collection_policy(Uuid::new_v4(), crate::Tlp::Amber, false)
                .await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: policy of an unknown collection"
    );

    let user = User {
        id: Uuid::new_v4(),
        name: format!("u-{t}"),
        org_id: a.id,
        role: Role::Reader,
        password_hash: None,
        disabled: false,
        credential_epoch: 0,
    };
    s.create_user(&user).await.unwrap();
    s.update_user(user.id, Role::Analyst, true).await.unwrap();
    let u = s.get_user(user.id).await.unwrap().unwrap();
    assert_eq!((u.role, u.disabled), (Role::Analyst, true), "{C}");
    assert!(
        u.credential_epoch > user.credential_epoch,
        "{C}: epoch bumped"
    );
    assert!(
        matches!(
            s.update_user(Uuid::new_v4(), Role::Reader, false).await,
            Err(StoreError::NotFound(_))
        ),
        "{C}: unknown user"
    );

    // A recipients marking stored in one collection resolves everywhere.
    let marking_id = format!("marking-definition--{}", Uuid::new_v4());
    let def = cairn_policy::marking::recipients_marking_definition(
        &marking_id,
        "2024-01-01T00:00:00.000Z",
        &[cairn_policy::IdentityRef::parse(&b.identity_id).unwrap()],
        &[],
    );
    f.add(s, vec![new_version(&def.to_string())]).await;
    let unknown = format!("marking-definition--{}", Uuid::new_v4());
    let got = s.markings(&[marking_id.clone(), unknown]).await.unwrap();
    assert_eq!(got.len(), 1, "{C}: only the stored marking");
    assert_eq!(got[0].0, marking_id, "{C}");
    assert!(
        matches!(&got[0].1, crate::MarkingMeaning::Recipients { recipients } if recipients.len() == 1),
        "{C}: meaning {:?}",
        got[0].1
    );
}

/// A query under a read filter returns exactly the versions the policy's own predicate admits,
/// page by page, with `more` and cursors that never reveal hidden versions.
async fn read_filter(s: &dyn Store) {
    use cairn_policy::{
        CollectionPolicy, Destination, GroupRef, IdentityRef, Nation, OrgRef, Path, Principal,
        ReadFilter, Tlp,
    };
    const C: &str = "read_filter";
    let f = Fixture::new(s, "read-filter").await;
    let ident = || IdentityRef(Uuid::new_v4());
    let (org_a, org_b, group) = (ident(), ident(), ident());
    let tlps = [
        None,
        Some(Tlp::Clear),
        Some(Tlp::Green),
        Some(Tlp::Amber),
        Some(Tlp::AmberStrict),
        Some(Tlp::Red),
    ];
    let mut versions = Vec::new();
    let mut n = 0;
    for tlp in tlps {
        for creator in [None, Some(org_a), Some(org_b)] {
            for recipients in [vec![], vec![org_b], vec![group]] {
                n += 1;
                let mut labels = cairn_policy::ObjectLabels {
                    tlp,
                    creator,
                    recipients,
                    ..Default::default()
                };
                if n % 7 == 0 {
                    labels.granular = vec![cairn_policy::GranularLabel {
                        tlp: Tlp::Red,
                        selectors: vec!["description".into()],
                    }];
                }
                if n % 11 == 0 {
                    labels.floor = Some(Tlp::Red);
                }
                let mut v = indicator(50_000 + n, "2024-03-01T00:00:00Z");
                v.labels = labels;
                versions.push(v);
            }
        }
    }
    f.add(s, versions.clone()).await;
    let by_id: BTreeMap<String, cairn_policy::ObjectLabels> = versions
        .iter()
        .map(|v| (v.id.clone(), v.labels.clone()))
        .collect();

    let member = |org: IdentityRef, groups: Vec<IdentityRef>| Principal {
        org: Some(OrgRef {
            id: Uuid::new_v4(),
            identity: org,
        }),
        nation: Nation::parse("KR").unwrap(),
        groups: groups
            .into_iter()
            .map(|identity| GroupRef {
                id: Uuid::new_v4(),
                identity,
            })
            .collect(),
        role: Some(cairn_policy::Role::Reader),
    };
    let outsider = member(ident(), vec![]);
    let a = member(org_a, vec![]);
    let b = member(org_b, vec![group]);
    let mut channel = CollectionPolicy::new(f.collection);
    channel.grants.push(cairn_policy::Grant {
        to: cairn_policy::Grantee::Community,
        read: true,
        write: false,
    });
    let mut closed = CollectionPolicy::new(f.collection);
    closed.default_tlp = Tlp::Green;
    let mut public = CollectionPolicy::new(f.collection);
    public.default_tlp = Tlp::Clear;
    public.anonymous_read = true;
    let cases = [
        (
            "outsider in the channel",
            Destination::User(&outsider),
            &channel,
        ),
        ("creator A", Destination::User(&a), &channel),
        ("recipient B", Destination::User(&b), &channel),
        ("B without a grant", Destination::User(&b), &closed),
        ("anonymous", Destination::Anonymous, &public),
    ];
    for (name, to, policy) in cases {
        let filter = ReadFilter::new(Path::TaxiiRead, to, policy).unwrap();
        let want: Vec<String> = versions
            .iter()
            .filter(|v| filter.admits(&by_id[&v.id]))
            .map(|v| v.id.clone())
            .collect();
        assert!(
            !want.is_empty() && want.len() < versions.len(),
            "{C}/{name}: the case must show some and hide some"
        );
        let q = ObjectQuery {
            read: crate::ReadAccess::Filter(filter.clone()),
            ..f.query()
        };
        let got = fetch(s, &q).await;
        let ids: Vec<String> = got.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, want, "{C}/{name}: visible versions");
        for r in &got {
            let l = &by_id[&r.id];
            assert_eq!((r.tlp, r.floor), (l.tlp, l.floor), "{C}/{name}: levels");
            if l.granular.is_empty() {
                assert!(r.labels.is_none(), "{C}/{name}: no labels without granular");
            } else {
                assert_eq!(
                    r.labels.as_ref(),
                    Some(l),
                    "{C}/{name}: labels for redaction"
                );
            }
        }
        let paged = walk(s, &q, 2).await;
        assert_eq!(paged, got, "{C}/{name}: pages of 2");
        let meta = fetch(
            s,
            &ObjectQuery {
                with_bodies: false,
                ..q.clone()
            },
        )
        .await;
        assert_eq!(meta.len(), want.len(), "{C}/{name}: manifest");
    }
}

/// The audit log is a hash chain: appends continue it, writes carry their entry in the same
/// transaction, queries filter by time, actor and object, and the whole log verifies.
async fn audit_log(s: &dyn Store) {
    use crate::audit::{AuditQuery, GENESIS, NewAuditEntry, verify};
    const C: &str = "audit_log";
    let t = tag();
    let actor = format!("auditor-{t}");
    let e = |action: &str, object: &str, time: i64| NewAuditEntry {
        time,
        actor: actor.clone(),
        action: action.into(),
        object: Some(object.into()),
        detail: serde_json::json!({"n": time, "note": "détail"}),
    };
    s.append_audit(&[e("auth.failure", "x", 10), e("grant.set", "coll-a", 20)])
        .await
        .unwrap();
    let f = Fixture::new(s, "audit").await;
    let mut req = f.request(vec![indicator(90_001, "2024-01-01T00:00:00Z")]);
    req.audit = Some(e("objects.add", &f.collection.to_string(), 30));
    s.add_objects(req).await.unwrap();
    s.delete_versions(&DeleteSpec {
        collection: f.collection,
        object_id: indicator(90_001, "2024-01-01T00:00:00Z").id,
        audit: Some(e("objects.delete", "indicator--x", 40)),
        ..DeleteSpec::default()
    })
    .await
    .unwrap();
    let mine = s
        .audit_entries(&AuditQuery {
            actor: Some(actor.clone()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = mine.iter().map(|x| x.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["auth.failure", "grant.set", "objects.add", "objects.delete"],
        "{C}: entries in order, writes included"
    );
    assert_eq!(
        mine[0].entry,
        e("auth.failure", "x", 10),
        "{C}: content kept"
    );
    let windows = s
        .audit_entries(&AuditQuery {
            actor: Some(actor.clone()),
            since: Some(20),
            until: Some(40),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(windows.len(), 2, "{C}: since/until");
    let by_object = s
        .audit_entries(&AuditQuery {
            object: Some("coll-a".into()),
            actor: Some(actor.clone()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_object.len(), 1, "{C}: by object");
    let limited = s
        .audit_entries(&AuditQuery {
            actor: Some(actor.clone()),
            limit: 1,
            after_seq: mine[0].seq,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(limited, vec![mine[1].clone()], "{C}: after_seq and limit");
    let all = s.audit_entries(&AuditQuery::default()).await.unwrap();
    verify(0, GENESIS, &all).unwrap_or_else(|b| panic!("{C}: the whole log verifies: {b}"));
}

/// An object version of a [`PolicyCase`]: (tlp, creator index 0–5, recipients bitmask over
/// indexes 0–5, floor).
pub type CaseObject = (Option<u8>, Option<u8>, u8, Option<u8>);

/// One random sharing world for [`policy_case`]: four organizations (nations KR, KR, US, JP),
/// two sharing groups, one collection and its grants, and object versions with random labels.
/// Indexes name organizations 0–3 and groups 4–5.
#[derive(Debug, Clone)]
pub struct PolicyCase {
    /// (kind 0 = organization, 1 = group, 2 = nation, 3 = community; index; read; write)
    pub grants: Vec<(u8, u8, bool, bool)>,
    pub default_tlp: u8,
    pub anonymous_read: bool,
    /// Members of groups 4 and 5 as bitmasks over organizations 0–3 (each group also has its
    /// owner, organization 0 and 2).
    pub group_members: [u8; 2],
    pub objects: Vec<CaseObject>,
    pub page: usize,
}

/// Every reader (each organization's user and an anonymous one) gets, through the store's read
/// filter and page by page, exactly the versions the reference decision (`cairn_policy::may_see`)
/// allows, in order, with `more` true exactly while some follow.
pub async fn policy_case(s: &dyn Store, case: &PolicyCase) {
    use cairn_policy::{
        CollectionPolicy, Destination, GranularLabel, GroupRef, IdentityRef, Nation, OrgRef, Path,
        Principal, ReadFilter, Tlp, may_see,
    };
    const C: &str = "policy_case";
    let f = Fixture::new(s, "policy-case").await;
    let ids: Vec<IdentityRef> = (0..6).map(|_| IdentityRef(Uuid::new_v4())).collect();
    let org_ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let group_ids: Vec<Uuid> = (0..2).map(|_| Uuid::new_v4()).collect();
    let nations = ["KR", "KR", "US", "JP"].map(|n| Nation::parse(n).unwrap());
    let owners = [0usize, 2];
    let member = |g: usize, o: usize| owners[g] == o || case.group_members[g] & (1 << o) != 0;
    let principal = |o: usize| Principal {
        org: Some(OrgRef {
            id: org_ids[o],
            identity: ids[o],
        }),
        nation: nations[o],
        groups: (0..2)
            .filter(|g| member(*g, o))
            .map(|g| GroupRef {
                id: group_ids[g],
                identity: ids[4 + g],
            })
            .collect(),
        role: Some(cairn_policy::Role::Reader),
    };
    let mut policy = CollectionPolicy::new(f.collection);
    policy.default_tlp = Tlp::from_u8(case.default_tlp % 5).unwrap();
    policy.anonymous_read = case.anonymous_read;
    for (kind, idx, read, write) in &case.grants {
        let i = usize::from(*idx % 4);
        let to = match kind % 4 {
            0 => cairn_policy::Grantee::Organization(OrgRef {
                id: org_ids[i],
                identity: ids[i],
            }),
            1 => cairn_policy::Grantee::SharingGroup(GroupRef {
                id: group_ids[i % 2],
                identity: ids[4 + i % 2],
            }),
            2 => cairn_policy::Grantee::Nation(nations[i]),
            _ => cairn_policy::Grantee::Community,
        };
        policy.grants.push(cairn_policy::Grant {
            to,
            read: *read,
            write: *write,
        });
    }
    let mut versions = Vec::new();
    for (n, (tlp, creator, recipients, floor)) in case.objects.iter().enumerate() {
        let mut v = indicator(70_000 + n, "2024-05-01T00:00:00Z");
        v.labels = cairn_policy::ObjectLabels {
            tlp: tlp.and_then(|t| Tlp::from_u8(t % 5)),
            creator: creator.map(|c| ids[usize::from(c % 6)]),
            recipients: (0..6)
                .filter(|i| recipients & (1 << i) != 0)
                .map(|i| ids[i])
                .collect(),
            floor: floor.and_then(|t| Tlp::from_u8(t % 5)),
            granular: if n % 5 == 0 {
                vec![GranularLabel {
                    tlp: Tlp::Red,
                    selectors: vec!["description".into()],
                }]
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        versions.push(v);
    }
    f.add(s, versions.clone()).await;
    let principals: Vec<Principal> = (0..4).map(principal).collect();
    let mut readers: Vec<(String, Option<&Principal>)> = principals
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("org{i}"), Some(p)))
        .collect();
    readers.push(("anonymous".into(), None));
    for (name, reader) in readers {
        let want: Vec<&str> = versions
            .iter()
            .filter(|v| may_see(reader, &v.labels, &policy))
            .map(|v| v.id.as_str())
            .collect();
        let to = reader.map_or(Destination::Anonymous, Destination::User);
        let filter = ReadFilter::new(Path::TaxiiRead, to, &policy).unwrap();
        let q = ObjectQuery {
            read: crate::ReadAccess::Filter(filter),
            ..f.query()
        };
        let got = walk(s, &q, case.page.max(1)).await;
        let got_ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            got_ids, want,
            "{C}: {name} sees exactly what may_see allows ({case:?})"
        );
        let manifest = walk(
            s,
            &ObjectQuery {
                with_bodies: false,
                ..q.clone()
            },
            case.page.max(1) + 1,
        )
        .await;
        assert_eq!(manifest.len(), want.len(), "{C}: {name} manifest count");
    }
}

/// [`Store::policy_epoch`]: every change to what authentication and the policy read moves it on
/// (a change of each kind, one at a time); writing and deleting objects, settings and the audit
/// log does not. Nothing to check for a backend without an epoch.
async fn policy_epoch(s: &dyn Store) {
    const C: &str = "policy_epoch";
    let epoch = || async { s.policy_epoch().await.unwrap() };
    let Some(mut last) = epoch().await else {
        return;
    };
    fn moved(last: &mut i64, what: &str, now: Option<i64>) {
        let now = now.expect("an epoch once there is one");
        assert!(now != *last, "{C}: {what} leaves the epoch at {now}");
        *last = now;
    }
    let t = tag();
    let f = Fixture::new(s, "policy-epoch").await;
    moved(&mut last, "an API root and a collection", epoch().await);
    let mut org = Organization {
        id: Uuid::new_v4(),
        name: format!("epoch org {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("FR".into()),
        kind: "cert".into(),
    };
    s.create_org(&org).await.unwrap();
    moved(&mut last, "create_org", epoch().await);
    org.nation = Some("DE".into());
    s.update_org(&org).await.unwrap();
    moved(&mut last, "update_org (nation)", epoch().await);
    let other = Organization {
        id: Uuid::new_v4(),
        name: format!("epoch org 2 {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: None,
        kind: "other".into(),
    };
    s.create_org(&other).await.unwrap();
    moved(&mut last, "create_org", epoch().await);
    let user = User {
        id: Uuid::new_v4(),
        name: format!("epoch user {t}"),
        org_id: org.id,
        role: Role::Analyst,
        password_hash: Some("x".into()),
        disabled: false,
        credential_epoch: 0,
    };
    s.create_user(&user).await.unwrap();
    moved(&mut last, "create_user", epoch().await);
    s.update_user(user.id, Role::Reader, false).await.unwrap();
    moved(&mut last, "update_user (role)", epoch().await);
    s.update_user(user.id, Role::Reader, true).await.unwrap();
    moved(&mut last, "update_user (disabled)", epoch().await);
    s.set_password(user.id, "y").await.unwrap();
    moved(&mut last, "set_password", epoch().await);
    let token = ApiToken {
        id: Uuid::new_v4(),
        user_id: user.id,
        secret_hash: format!("{t}-hash"),
        created: now_micros(),
        expires: None,
        revoked: false,
        read_only: true,
        collection: None,
    };
    s.create_token(&token).await.unwrap();
    moved(&mut last, "create_token", epoch().await);
    s.revoke_token(token.id).await.unwrap();
    moved(&mut last, "revoke_token", epoch().await);
    let group = SharingGroup {
        id: Uuid::new_v4(),
        name: format!("epoch group {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        owner: org.id,
        members: vec![],
    };
    s.create_group(&group).await.unwrap();
    moved(&mut last, "create_group", epoch().await);
    s.set_group_member(group.id, other.id, true).await.unwrap();
    moved(&mut last, "set_group_member (add)", epoch().await);
    s.set_group_member(group.id, other.id, false).await.unwrap();
    moved(&mut last, "set_group_member (remove)", epoch().await);
    // (Registering a nation the store may already know need not move it.)
    s.add_nation("FR").await.unwrap();
    last = epoch().await.expect("an epoch");
    for (grantee, read, what) in [
        (Grantee::Organization(org.id), true, "set_grant (org)"),
        (Grantee::SharingGroup(group.id), true, "set_grant (group)"),
        (Grantee::Nation("FR".into()), true, "set_grant (nation)"),
        (Grantee::Community, true, "set_grant (community)"),
        (Grantee::Community, false, "set_grant (community withdrawn)"),
    ] {
        s.set_grant(&Grant {
            collection: f.collection,
            grantee,
            can_read: read,
            can_write: false,
        })
        .await
        .unwrap();
        moved(&mut last, what, epoch().await);
    }
    s.set_collection_policy(f.collection, crate::Tlp::Clear, true)
        .await
        .unwrap();
    moved(&mut last, "set_collection_policy", epoch().await);

    // Data, statuses, settings and the audit log are not what the epoch covers.
    f.add(s, vec![indicator(70_000, "2024-01-01T00:00:00.000Z")])
        .await;
    let mut doomed = indicator(70_001, "2024-01-01T00:00:00.000Z");
    doomed.id = format!("indicator--{}", Uuid::new_v4());
    f.add(s, vec![doomed.clone()]).await;
    s.delete_versions(&DeleteSpec {
        collection: f.collection,
        object_id: doomed.id.clone(),
        versions: VersionFilter::default(),
        spec_versions: Vec::new(),
        audit: None,
    })
    .await
    .unwrap();
    s.set_setting(&format!("conf-epoch-{t}"), "1")
        .await
        .unwrap();
    s.append_audit(&[crate::NewAuditEntry::new(
        "conformance",
        "epoch.check",
        None,
        serde_json::json!({}),
    )])
    .await
    .unwrap();
    assert_eq!(
        epoch().await,
        Some(last),
        "{C}: objects, settings and the audit log moved the epoch"
    );
}
