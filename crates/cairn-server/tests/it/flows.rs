//! Multi-request scenarios: pagination walks, `next` token replay/tamper/binding, restart
//! survival, writes and their effects, DELETE, size limits on chunked bodies, bad input that must
//! change nothing, and the Basic credential cache.

use std::collections::HashSet;

use cairn_server::ServerConfig;
use cairn_store::Store;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::harness::{
    MAX_CONTENT_LENGTH, ROOT, Server, T, World, add, client, get, get_json, post, world, world_with,
};

fn indicator(n: usize, modified: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{}", Uuid::from_u128(0x1000_0000_0000_4000_8000_0000_0000_0000 + n as u128)),
        "created": "2020-01-01T00:00:00.000Z",
        "modified": modified,
        "pattern": format!("[ipv4-addr:value = '10.0.{}.{}']", n / 256, n % 256),
        "pattern_type": "stix",
        "valid_from": "2020-01-01T00:00:00Z"
    })
}

fn key(v: &Value) -> String {
    let ver = ["version", "modified", "created"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    format!("{}@{}", v["id"].as_str().unwrap_or(""), ver)
}

/// A world whose scratch collection holds 23 objects: 10 added in one request, then 13 singles,
/// some with several versions.
async fn paging_world() -> World {
    let w = world_with(ServerConfig {
        default_page_size: 3,
        max_page_size: 1000,
        ..ServerConfig::default()
    })
    .await;
    let c: Uuid = w.vars["C_SCRATCH"].parse().unwrap();
    let bulk: Vec<Value> = (0..10)
        .map(|n| indicator(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    add(w.server.store.as_ref(), c, &bulk.iter().collect::<Vec<_>>()).await;
    for n in 10..23 {
        add(
            w.server.store.as_ref(),
            c,
            &[&indicator(n, "2020-01-01T00:00:00.000Z")],
        )
        .await;
        if n % 4 == 0 {
            add(
                w.server.store.as_ref(),
                c,
                &[&indicator(n, "2021-01-01T00:00:00.000Z")],
            )
            .await;
        }
    }
    w
}

/// Walk every page following `next`, returning item keys and the number of pages.
async fn walk(w: &World, base: &str, list_key: &str, limit: Option<usize>) -> (Vec<String>, usize) {
    let sep = if base.contains('?') { '&' } else { '?' };
    let first = match limit {
        Some(l) => format!("{base}{sep}limit={l}"),
        None => base.to_string(),
    };
    let (s, _, mut body) = get_json(w, &first).await;
    assert_eq!(s, 200, "{first}: {body}");
    let mut out = Vec::new();
    let mut pages = 1;
    loop {
        for item in body[list_key].as_array().into_iter().flatten() {
            out.push(if item.is_string() {
                item.as_str().unwrap().to_string()
            } else {
                key(item)
            });
        }
        if body["more"] != json!(true) {
            assert!(body.get("next").is_none(), "next without more: {body}");
            break;
        }
        let next = body["next"]
            .as_str()
            .expect("more:true comes with next")
            .to_string();
        let url = format!(
            "{first}{}next={next}",
            if first.contains('?') { '&' } else { '?' }
        );
        let (s, _, b) = get_json(w, &url).await;
        assert_eq!(s, 200, "{url}: {b}");
        body = b;
        pages += 1;
        assert!(pages < 100, "page walk does not end");
    }
    (out, pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_concatenates_to_the_unpaged_result() {
    let w = paging_world().await;
    let objects = format!("{ROOT}/collections/{{C_SCRATCH}}/objects/");
    let manifest = format!("{ROOT}/collections/{{C_SCRATCH}}/manifest/");
    for (base, list) in [
        (objects.clone(), "objects"),
        (format!("{objects}?match[version]=all"), "objects"),
        (format!("{manifest}?match[version]=all"), "objects"),
        (manifest.clone(), "objects"),
    ] {
        let (all, pages) = walk(&w, &base, list, Some(1000)).await;
        assert_eq!(pages, 1, "{base}");
        assert!(!all.is_empty());
        for limit in [1usize, 2, 3, 7] {
            let (paged, pages) = walk(&w, &base, list, Some(limit)).await;
            assert_eq!(
                paged, all,
                "{base} limit={limit}: concatenated pages differ from one page"
            );
            assert_eq!(pages, all.len().div_ceil(limit), "{base} limit={limit}");
            let unique: HashSet<_> = paged.iter().collect();
            assert_eq!(unique.len(), paged.len(), "duplicates in {base}");
        }
        // Without limit: the default page size (3) applies, and next keeps working.
        let (paged, pages) = walk(&w, &base, list, None).await;
        assert_eq!(paged, all);
        assert_eq!(pages, all.len().div_ceil(3));
    }
    // versions/ of an object with 2 versions, one per page.
    let oid = indicator(12, "x")["id"].as_str().unwrap().to_string();
    let (v, pages) = walk(
        &w,
        &format!("{ROOT}/collections/{{C_SCRATCH}}/objects/{oid}/versions/"),
        "versions",
        Some(1),
    )
    .await;
    assert_eq!(
        v,
        vec!["2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z"]
    );
    assert_eq!(pages, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_by_added_after_reaches_the_end() {
    // Check 53: clients that page with added_after = X-TAXII-Date-Added-Last.
    let w = paging_world().await;
    let base = format!("{ROOT}/collections/{{C_SCRATCH}}/objects/?match[version]=all&limit=4");
    let (all, _) = walk(&w, &base, "objects", None).await;
    let mut got = Vec::new();
    let mut url = base.clone();
    for _ in 0..100 {
        let (s, h, body) = get_json(&w, &url).await;
        assert_eq!(s, 200);
        got.extend(body["objects"].as_array().into_iter().flatten().map(key));
        if body["more"] != json!(true) {
            break;
        }
        let last = h["x-taxii-date-added-last"].to_str().unwrap().to_string();
        url = format!("{base}&added_after={last}");
    }
    assert_eq!(got, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_tokens_replay_and_resist_tampering() {
    let w = paging_world().await;
    let base = format!("{ROOT}/collections/{{C_SCRATCH}}/objects/?match[type]=indicator");
    let (_, _, p1) = get_json(&w, &format!("{base}&limit=5")).await;
    let next = p1["next"].as_str().unwrap().to_string();
    // Check 51: replayable, with or without limit.
    let page = |url: String| {
        let w = &w;
        async move { get_json(w, &url).await }
    };
    let (s1, h1, a) = page(format!("{base}&limit=5&next={next}")).await;
    let (s2, h2, b) = page(format!("{base}&limit=5&next={next}")).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(a, b, "replaying a token gives the same page");
    assert_eq!(
        h1["x-taxii-date-added-first"],
        h2["x-taxii-date-added-first"]
    );
    let (s, _, c) = page(format!("{base}&next={next}")).await;
    assert_eq!(s, 200);
    assert_eq!(
        c["objects"].as_array().unwrap().len(),
        3,
        "default page size applies"
    );
    assert_eq!(c["objects"][0], a["objects"][0]);
    // Check 52: changed filters, tampered or foreign tokens → 400.
    for url in [
        format!("{ROOT}/collections/{{C_SCRATCH}}/objects/?next={next}"),
        format!("{base}&match[version]=all&next={next}"),
        format!("{base}&added_after=2000-01-01T00:00:00Z&next={next}"),
        format!("{ROOT}/collections/{{C_SCRATCH}}/manifest/?match[type]=indicator&next={next}"),
        format!("{ROOT}/collections/{{C_RW}}/objects/?match[type]=indicator&next={next}"),
        format!("{base}&next={}", next.replacen('.', "x.", 1)),
        format!("{base}&next={}A", next),
        format!("{base}&next=%00"),
    ] {
        let (s, h, body) = get_json(&w, &url).await;
        assert_eq!(s, 400, "{url}: {body}");
        assert_eq!(h["content-type"], T);
        assert!(body["title"].is_string());
    }
    // Check 22: a token cannot open a collection the client may not read.
    let (s, _, _) = get_json(
        &w,
        &format!("{ROOT}/collections/{{C_WO}}/objects/?match[type]=indicator&next={next}"),
    )
    .await;
    assert_eq!(s, 403);
    // Tampering with the payload (a different cursor) breaks the signature.
    let (payload, sig) = next.split_once('.').unwrap();
    let mut bytes = payload.as_bytes().to_vec();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    let forged = format!("{}.{sig}", String::from_utf8(bytes).unwrap());
    let (s, _, _) = get_json(&w, &format!("{base}&next={forged}")).await;
    assert_eq!(s, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_token_survives_a_restart() {
    let w = paging_world().await;
    let url = format!("{ROOT}/collections/{{C_SCRATCH}}/manifest/?limit=4");
    let (_, _, p1) = get_json(&w, &url).await;
    let next = p1["next"].as_str().unwrap().to_string();
    let (_, _, p2) = get_json(&w, &format!("{url}&next={next}")).await;
    let World {
        server,
        vars,
        alice,
        _dir,
    } = w;
    let db = server.db_path.clone();
    server.stop().await;
    let server = Server::start(&db, ServerConfig::default()).await;
    let w = World {
        server,
        vars,
        alice,
        _dir,
    };
    let (s, _, again) = get_json(&w, &format!("{url}&next={next}")).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again, p2, "the same page after a restart");
}

async fn raw_http(w: &World, head: &str, chunks: &[&[u8]]) -> (u16, String, String) {
    let addr = w.server.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    for c in chunks {
        // The server may answer (and close) before the whole body is sent.
        if s.write_all(c).await.is_err() {
            break;
        }
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, headers.to_ascii_lowercase(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_size_is_enforced_on_bytes_received() {
    let w = world().await;
    let c = &w.vars["C_SCRATCH"];
    let path = format!("{ROOT}/collections/{c}/objects/");
    let auth = "YWxpY2U6YWxpY2UtcHc="; // alice:alice-pw
    let before = w
        .server
        .store
        .count_versions(c.parse().unwrap())
        .await
        .unwrap();
    // Chunked, no Content-Length, more than max_content_length in total.
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nAccept: {T}\r\nContent-Type: {T}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let chunk = format!("{:x}\r\n{}\r\n", 16_384, " ".repeat(16_384));
    let mut chunks: Vec<&[u8]> = vec![chunk.as_bytes(); 5];
    chunks.push(b"0\r\n\r\n");
    let (status, headers, body) = raw_http(&w, &head, &chunks).await;
    assert_eq!(status, 413, "{headers}\n{body}");
    assert!(headers.contains(&format!("content-type: {T}")), "{headers}");
    assert!(body.contains("\"http_status\":\"413\""), "{body}");
    // A chunked body within the limit is read.
    let obj = indicator(900, "2020-01-01T00:00:00.000Z");
    let env = json!({"objects": [obj]}).to_string();
    let small = format!("{:x}\r\n{env}\r\n0\r\n\r\n", env.len());
    let (status, _, body) = raw_http(&w, &head, &[small.as_bytes()]).await;
    assert_eq!(status, 202, "{body}");
    // Exactly max_content_length bytes (padded with whitespace) is accepted; one more is not.
    let obj = indicator(901, "2020-01-01T00:00:00.000Z");
    let env = json!({"objects": [obj]}).to_string();
    let exact = format!(
        "{env}{}",
        " ".repeat(MAX_CONTENT_LENGTH as usize - env.len())
    );
    assert_eq!(exact.len() as u64, MAX_CONTENT_LENGTH);
    let (s, body) = post(&w, &path, exact.clone()).await;
    assert_eq!(s, 202, "{body}");
    let (s, _) = post(&w, &path, format!("{exact} ")).await;
    assert_eq!(s, 413);
    let after = w
        .server
        .store
        .count_versions(c.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(after, before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_never_500_and_changes_nothing() {
    let w = world().await;
    let c: Uuid = w.vars["C_RW"].parse().unwrap();
    let before = w.server.store.count_versions(c).await.unwrap();
    let objects = format!("{ROOT}/collections/{c}/objects/");
    let bodies = [
        "".to_string(),
        "null".into(),
        "[]".into(),
        "{\"objects\": null}".into(),
        "{\"objects\": {}}".into(),
        "{\"objects\": []}".into(),
        "{\"objects\": [".into(),
        "\u{0}\u{1}".into(),
        "{\"objects\": \"x\"}".into(),
        String::from_utf8_lossy(&[0xff, 0xfe, b'{']).to_string(),
    ];
    for b in &bodies {
        let (s, body) = post(&w, &objects, b.clone()).await;
        assert!((400..500).contains(&s), "POST {b:?} → {s} {body}");
    }
    // Invalid UTF-8 bytes.
    let r = client()
        .post(w.server.url(&objects))
        .header("Accept", T)
        .header("Content-Type", T)
        .basic_auth("alice", Some("alice-pw"))
        .body(vec![0xffu8, 0xfe, b'{'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let base = format!("{ROOT}/collections/{c}");
    for q in [
        "objects/?limit=99999999999999999999999",
        "objects/?added_after=2024-13-01T00:00:00Z",
        "objects/?added_after=2024-01-01T00:00:00.1234567890Z",
        "objects/?added_after=",
        "objects/?match[version]=",
        "objects/?match[version]=2024-02-30T00:00:00Z",
        "objects/?match[spec_version]=x.y",
        "objects/?next=",
        "objects/?next=..",
        "manifest/?match[id]=,",
    ] {
        let (s, _, body) = get_json(&w, &format!("{base}/{q}")).await;
        assert_eq!(s, 400, "{q}: {body}");
    }
    for q in ["objects/%ff/", "objects/x/versions/?limit=0"] {
        let r = get(&w, &format!("{base}/{q}")).await;
        let s = r.status().as_u16();
        assert!((400..500).contains(&s), "{q} → {s}");
        assert_eq!(r.headers()["content-type"], T);
    }
    for q in ["?match[version]=bad", "?match[version]=all,last"] {
        let r = client()
            .delete(
                w.server
                    .url(&w.expand(&format!("{base}/objects/{{I}}/{q}"))),
            )
            .header("Accept", T)
            .basic_auth("alice", Some("alice-pw"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "DELETE {q}");
    }
    assert_eq!(w.server.store.count_versions(c).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_objects_appear_everywhere_and_reposts_are_idempotent() {
    let w = world().await;
    let c = w.vars["C_SCRATCH"].clone();
    let objects = format!("{ROOT}/collections/{c}/objects/");
    // Check 63: custom properties and formatting inside the object are kept byte for byte.
    let raw_obj = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--7a1e7b9e-4c9b-4a4e-9d1c-1f0f6b8e2a01","created":"2022-03-04T05:06:07.123Z","modified":"2022-03-04T05:06:07.123Z","pattern":"[url:value = 'http://example.com/x']","pattern_type":"stix","valid_from":"2022-03-04T05:06:07Z","x_acme_score":  97.50,"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"property-extension","rank":[3, 1,2]}}}"#;
    let (s, st) = post(&w, &objects, format!("{{\"objects\":[{raw_obj}]}}")).await;
    assert_eq!(s, 202, "{st}");
    assert_eq!(st["status"], "complete");
    // Check 31: counts add up and lists match counts.
    let total = st["total_count"].as_u64().unwrap();
    assert_eq!(
        total,
        st["success_count"].as_u64().unwrap()
            + st["failure_count"].as_u64().unwrap()
            + st["pending_count"].as_u64().unwrap()
    );
    assert_eq!(
        st["successes"].as_array().unwrap().len() as u64,
        st["success_count"].as_u64().unwrap()
    );
    assert_eq!(st["successes"][0]["version"], "2022-03-04T05:06:07.123Z");
    // The status is retrievable and the same.
    let (s, _, st2) = get_json(
        &w,
        &format!("{ROOT}/status/{}/", st["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(st2, st);
    // Check 56: visible in objects, manifest and versions.
    let oid = "indicator--7a1e7b9e-4c9b-4a4e-9d1c-1f0f6b8e2a01";
    let r = get(&w, &format!("{objects}{oid}/")).await;
    let text = r.text().await.unwrap();
    assert!(
        text.contains(raw_obj),
        "stored text not served verbatim: {text}"
    );
    let (_, _, man) = get_json(
        &w,
        &format!("{ROOT}/collections/{c}/manifest/?match[id]={oid}"),
    )
    .await;
    assert_eq!(man["objects"][0]["version"], "2022-03-04T05:06:07.123Z");
    let date_added = man["objects"][0]["date_added"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(date_added.len(), "2022-03-04T05:06:07.123456Z".len());
    let (_, _, ver) = get_json(&w, &format!("{objects}{oid}/versions/")).await;
    assert_eq!(ver["versions"], json!(["2022-03-04T05:06:07.123Z"]));
    // Check 57: an identical re-post is a success with a message and keeps date_added.
    let (s, st) = post(&w, &objects, format!("{{\"objects\":[{raw_obj}]}}")).await;
    assert_eq!(s, 202);
    assert_eq!(st["success_count"], 1);
    assert_eq!(st["failure_count"], 0);
    assert!(st["successes"][0]["message"].is_string(), "{st}");
    let (_, _, man) = get_json(
        &w,
        &format!("{ROOT}/collections/{c}/manifest/?match[id]={oid}"),
    )
    .await;
    assert_eq!(man["objects"][0]["date_added"], date_added.as_str());
    // Check 58: a new version is a success and versions/ lists both.
    let v2 = raw_obj.replacen(
        "\"modified\":\"2022-03-04T05:06:07.123Z\"",
        "\"modified\":\"2022-05-01T00:00:00.000Z\"",
        1,
    );
    let (s, st) = post(&w, &objects, format!("{{\"objects\":[{v2}]}}")).await;
    assert_eq!(s, 202);
    assert!(st["successes"][0].get("message").is_none(), "{st}");
    let (_, _, ver) = get_json(&w, &format!("{objects}{oid}/versions/")).await;
    assert_eq!(
        ver["versions"],
        json!(["2022-03-04T05:06:07.123Z", "2022-05-01T00:00:00.000Z"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_selected_versions() {
    let w = world().await;
    let del = |path: String| {
        let w = &w;
        async move {
            let r = client()
                .delete(w.server.url(&w.expand(&path)))
                .header("Accept", T)
                .basic_auth("alice", Some("alice-pw"))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            (s, ct, r.text().await.unwrap())
        }
    };
    let obj = format!("{ROOT}/collections/{{C_RW}}/objects/{{I}}/");
    // Check 66.
    let (s, ct, body) = del(format!("{obj}?match[version]={{v_I2}}")).await;
    assert_eq!((s, ct.as_deref(), body.as_str()), (200, Some(T), ""));
    let (s, _, _) = get_json(&w, &format!("{obj}?match[version]={{v_I2}}")).await;
    assert_eq!(s, 404);
    let (_, _, v) = get_json(&w, &format!("{obj}versions/")).await;
    assert_eq!(v["versions"], json!([w.vars["v_I1"], w.vars["v_I3"]]));
    let (_, _, m) = get_json(
        &w,
        &format!("{ROOT}/collections/{{C_RW}}/manifest/?match[id]={{I}}&match[version]=all"),
    )
    .await;
    assert_eq!(m["objects"].as_array().unwrap().len(), 2);
    // Deleting it again: that version is gone.
    let (s, _, _) = del(format!("{obj}?match[version]={{v_I2}}")).await;
    assert_eq!(s, 404);
    // Check 67: spec_version selects.
    let m_obj = format!("{ROOT}/collections/{{C_RW}}/objects/{{M}}/");
    let (s, _, _) = del(format!("{m_obj}?match[spec_version]=2.0")).await;
    assert_eq!(s, 200);
    let (_, _, v) = get_json(&w, &format!("{m_obj}versions/?match[spec_version]=2.0,2.1")).await;
    assert_eq!(v["versions"], json!([w.vars["v_M21"]]));
    // No filter: every version goes.
    let (s, _, _) = del(obj.clone()).await;
    assert_eq!(s, 200);
    let (s, _, _) = get_json(&w, &obj).await;
    assert_eq!(s, 404);
    let (s, _, _) = get_json(&w, &format!("{obj}versions/")).await;
    assert_eq!(s, 404);
    let (s, _, _) = del(obj).await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_endpoint_pages_with_next() {
    // Check 64.
    let w = world().await;
    let url = format!("{ROOT}/collections/{{C_RW}}/objects/{{I}}/?match[version]=all&limit=2");
    let (_, _, p1) = get_json(&w, &url).await;
    assert_eq!(p1["objects"].as_array().unwrap().len(), 2);
    assert_eq!(p1["more"], true);
    let (_, h, p2) = get_json(&w, &format!("{url}&next={}", p1["next"].as_str().unwrap())).await;
    assert_eq!(p2["objects"].as_array().unwrap().len(), 1);
    assert_eq!(p2["more"], false);
    assert_eq!(p2["objects"][0]["modified"], w.vars["v_I3"].as_str());
    assert_eq!(
        h["x-taxii-date-added-first"].to_str().unwrap(),
        w.vars["d_I3"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_are_listed_in_id_order() {
    // Check 34.
    let w = world().await;
    let ids = || async {
        let r = client()
            .get(w.server.url(&format!("{ROOT}/collections/")))
            .basic_auth("alice", Some("alice-pw"))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let a = ids().await;
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(a, sorted);
    assert_eq!(ids().await, a);
}

async fn status_with(w: &World, user: &str, pw: &str) -> u16 {
    client()
        .get(w.server.url(&format!("{ROOT}/")))
        .basic_auth(user, Some(pw))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_and_token_revocation_take_effect_at_once() {
    let w = world().await;
    let store = w.server.store.clone();
    // Verified once, then served from the cache.
    assert_eq!(status_with(&w, "alice", "alice-pw").await, 200);
    assert_eq!(status_with(&w, "alice", "alice-pw").await, 200);
    assert_eq!(status_with(&w, "alice", "wrong").await, 401);
    store
        .set_password(w.alice, &cairn_server::auth::hash_password("new-secret"))
        .await
        .unwrap();
    assert_eq!(
        status_with(&w, "alice", "alice-pw").await,
        401,
        "old password still accepted"
    );
    assert_eq!(status_with(&w, "alice", "new-secret").await, 200);
    assert_eq!(status_with(&w, "alice", "new-secret").await, 200);
    // Tokens: revocation is seen by the next request.
    let token = w.vars["TOKEN"].clone();
    let with_token = || async {
        client()
            .get(w.server.url(&format!("{ROOT}/")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(with_token().await, 200);
    let t = store
        .list_tokens(w.alice)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.secret_hash == cairn_server::auth::hash_token(&token))
        .unwrap();
    store.revoke_token(t.id).await.unwrap();
    assert_eq!(with_token().await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_not_allowed_is_a_taxii_error_with_allow() {
    // Check 9, for every path with a restricted method set.
    let w = world().await;
    for (method, path) in [
        ("PUT", "/taxii2/"),
        ("DELETE", "{ROOT}/"),
        ("PATCH", "{ROOT}/collections/"),
        ("POST", "{ROOT}/collections/{C_RW}/manifest/"),
        ("POST", "{ROOT}/collections/{C_RW}/objects/{I}/"),
        ("DELETE", "{ROOT}/collections/{C_RW}/objects/{I}/versions/"),
        ("POST", "{ROOT}/status/{STATUS}/"),
    ] {
        let r = client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                w.server.url(&w.expand(path)),
            )
            .basic_auth("alice", Some("alice-pw"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        assert!(r.headers().contains_key("allow"), "{method} {path}");
        assert_eq!(r.headers()["content-type"], T);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["http_status"], "405");
    }
}
