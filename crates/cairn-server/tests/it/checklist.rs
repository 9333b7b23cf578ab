//! The data-driven checklist: tests/fixtures/checklist.json holds one row per request, tagged with
//! the checklist check it covers (reference/taxii21-checklist.md), and the expected status,
//! headers and body predicates. Rows run in file order against one seeded server.

use serde_json::Value;

use crate::harness::{T, World, client, fixture, world};

fn describe(row: &Value) -> String {
    format!(
        "check {} ({}): {} {}",
        row["check"].as_str().unwrap_or("?"),
        row["what"].as_str().unwrap_or(""),
        row["method"].as_str().unwrap_or("GET"),
        row["path"].as_str().unwrap_or("")
    )
}

fn item_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let id = o.get("id").and_then(Value::as_str).unwrap_or("");
            let ver = ["version", "modified", "created"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .unwrap_or("");
            format!("{id}@{ver}")
        }
        other => other.to_string(),
    }
}

fn expand_value(w: &World, v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(w.expand(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| expand_value(w, x)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), expand_value(w, x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn run_row(w: &World, row: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let method = row["method"].as_str().unwrap_or("GET");
    let path = w.expand(row["path"].as_str().expect("path"));
    let mut req = client().request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        w.server.url(&path),
    );
    let mut headers: Vec<(String, Option<String>)> = vec![("Accept".into(), Some(T.into()))];
    if method == "POST" {
        headers.push(("Content-Type".into(), Some(T.into())));
    }
    if let Some(h) = row.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
            headers.push((k.clone(), v.as_str().map(|s| w.expand(s).replace("{T}", T))));
        }
    }
    for (k, v) in &headers {
        if let Some(v) = v {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    req = match row["auth"].as_str().unwrap_or("alice") {
        "none" => req,
        "bad_password" => req.basic_auth("alice", Some("not-the-password")),
        "unknown_user" => req.basic_auth("mallory", Some("mallory-pw")),
        "garbage" => req.header("Authorization", "Basic !!!not-base64"),
        "token" => req.bearer_auth(&w.vars["TOKEN"]),
        "token_scheme" => req.header("Authorization", format!("Token {}", w.vars["TOKEN"])),
        "token_ro" => req.bearer_auth(&w.vars["TOKEN_RO"]),
        "token_revoked" => req.bearer_auth(&w.vars["TOKEN_REVOKED"]),
        "token_expired" => req.bearer_auth(&w.vars["TOKEN_EXPIRED"]),
        user => req.basic_auth(user, Some(format!("{user}-pw"))),
    };
    if let Some(j) = row.get("json") {
        req = req.body(expand_value(w, j).to_string());
    } else if let Some(r) = row.get("raw").and_then(Value::as_str) {
        req = req.body(r.to_string());
    } else if let Some(rep) = row.get("raw_repeat") {
        let text = rep["text"]
            .as_str()
            .unwrap()
            .repeat(rep["times"].as_u64().unwrap() as usize);
        req = req.body(text);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return vec![format!("request failed: {e}")],
    };
    let status = resp.status().as_u16();
    let resp_headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let want = row["status"].as_u64().expect("status") as u16;
    if status != want {
        errs.push(format!("status {status}, expected {want}; body {text}"));
    }
    let ct = resp_headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if status != 308 && ct != T {
        errs.push(format!("Content-Type {ct:?}, expected {T:?}"));
    }
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!("body is not JSON ({e}): {text}"));
                Value::Null
            }
        }
    };
    if status >= 400 {
        if !body["title"].is_string() {
            errs.push(format!("error body without a string title: {text}"));
        }
        if body["http_status"] != Value::String(status.to_string()) {
            errs.push(format!(
                "error body http_status is not \"{status}\": {text}"
            ));
        }
    }
    if let Some(h) = row.get("expect_headers").and_then(Value::as_object) {
        for (name, exp) in h {
            let got = resp_headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok());
            match (exp, got) {
                (Value::Null, None) => {}
                (Value::Null, Some(g)) => {
                    errs.push(format!("header {name} should be absent, got {g:?}"))
                }
                (Value::String(e), got) => {
                    let e = w.expand(e).replace("{T}", T);
                    let ok = match (e.strip_prefix('~'), got) {
                        (Some(re), Some(g)) => regex::Regex::new(re).expect("regex").is_match(g),
                        (None, Some(g)) => g == e,
                        (_, None) => false,
                    };
                    if !ok {
                        errs.push(format!("header {name} = {got:?}, expected {e:?}"));
                    }
                }
                _ => panic!("bad expect_headers entry {name}"),
            }
        }
    }
    for pred in row
        .get("body")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if pred.get("empty").is_some() {
            if !text.is_empty() {
                errs.push(format!("body should be empty, got {text}"));
            }
            continue;
        }
        let ptr = pred["ptr"].as_str().expect("ptr");
        let got = body.pointer(ptr);
        if let Some(e) = pred.get("eq") {
            let e = expand_value(w, e);
            if got != Some(&e) {
                errs.push(format!("{ptr} = {got:?}, expected {e}"));
            }
        }
        if let (Some(_), Some(g)) = (pred.get("absent"), got) {
            errs.push(format!("{ptr} should be absent, got {g}"));
        }
        if pred.get("exists").is_some() && got.is_none() {
            errs.push(format!("{ptr} should be present in {text}"));
        }
        if let Some(n) = pred.get("len").and_then(Value::as_u64) {
            let len = got.and_then(Value::as_array).map(Vec::len);
            if len != Some(n as usize) {
                errs.push(format!("{ptr} length {len:?}, expected {n}"));
            }
        }
        if let Some(re) = pred.get("re").and_then(Value::as_str) {
            let ok = got
                .and_then(Value::as_str)
                .is_some_and(|g| regex::Regex::new(re).expect("regex").is_match(g));
            if !ok {
                errs.push(format!("{ptr} = {got:?} does not match {re}"));
            }
        }
        if let Some(list) = pred.get("items").and_then(Value::as_array) {
            let want: Vec<String> = list.iter().map(|x| w.expand(x.as_str().unwrap())).collect();
            let have: Vec<String> = got
                .and_then(Value::as_array)
                .map(|a| a.iter().map(item_key).collect())
                .unwrap_or_default();
            if have != want {
                errs.push(format!("{ptr} items {have:?}, expected {want:?}"));
            }
        }
    }
    errs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_table() {
    let table: Value = serde_json::from_str(&fixture("checklist.json")).expect("checklist.json");
    let w = world().await;
    let mut failures = Vec::new();
    let rows = table["rows"].as_array().expect("rows");
    for row in rows {
        let errs = run_row(&w, row).await;
        if !errs.is_empty() {
            failures.push(format!("{}:\n    {}", describe(row), errs.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} checklist rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
