//! A pull interrupted by each fault of `fixtures/faults.json`: the round fails and says so in
//! the sync state, the lease is given back, the local collection holds exactly the pages
//! committed before the fault and the cursor points after the last of them; once the fault is
//! gone the next round resumes there and ends with the remote's set, each version once.

use cairn_stix::Timestamp;
use std::time::{Duration, Instant};

use cairn_store::{Direction, SubscriptionFilter};
use cairn_sync::SyncError;
use cairn_sync::client::ClientError;
use cairn_sync::engine::Engine;
use cairn_sync::pull::PullCursor;
use serde_json::Value;

use crate::local::{Local, MAX_BODY, TIMEOUT, config, fixture, remote_objects};
use crate::pull::{assert_provenance, contents};
use crate::remote::{Fault, Remote};

const PAGE: usize = 2;

fn check_error(case: &str, err: &SyncError, expect: &Value, engine: &Engine, failures: u64) {
    let SyncError::Client(c) = err else {
        panic!("{case}: not a client error: {err:?}");
    };
    let status = expect.get("status").and_then(Value::as_u64);
    match expect["error"].as_str().unwrap() {
        "http" => match c {
            ClientError::Http { status: s, .. } => assert_eq!(Some(u64::from(*s)), status),
            other => panic!("{case}: {other:?}"),
        },
        "retry-after" => {
            let ClientError::RetryAfter { status: s, .. } = c else {
                panic!("{case}: {c:?}");
            };
            assert_eq!(Some(u64::from(*s)), status, "{case}");
            let secs = Duration::from_secs(expect["retry_after_secs"].as_u64().unwrap());
            assert_eq!(c.retry_after(), Some(secs), "{case}");
            // The loop waits at least as long as the remote asked, though min/max back-off
            // are far shorter.
            assert!(engine.backoff(failures, Some(secs)) >= secs, "{case}");
        }
        "transport" => assert!(matches!(c, ClientError::Transport { .. }), "{case}: {c:?}"),
        "malformed" => assert!(matches!(c, ClientError::Malformed { .. }), "{case}: {c:?}"),
        "too-large" => assert!(
            matches!(c, ClientError::TooLarge { limit, .. } if *limit == MAX_BODY),
            "{case}: {c:?}"
        ),
        other => panic!("{case}: unknown expectation {other}"),
    }
    if expect["error"] != "retry-after" {
        assert_eq!(c.retry_after(), None, "{case}");
    }
}

async fn fault_case(case: &str) {
    let cases = fixture("faults.json");
    let spec = &cases[case];
    let at_page = spec["at_page"].as_u64().unwrap() as usize;
    let fault: Fault = serde_json::from_value(spec["fault"].clone()).unwrap();
    let expect = &spec["expect"];

    let remote = Remote::with_objects(&remote_objects()).await;
    let local = Local::new(&remote, true).await;
    let sub = local
        .subscribe(&remote, Direction::Pull, SubscriptionFilter::default())
        .await;
    let engine = local.engine(config(PAGE));
    let objects = remote.script().objects.clone();
    let committed = (at_page - 1) * PAGE;
    let last = (committed > 0).then(|| Timestamp::format_micros(objects[committed - 1].date_added));
    let cursor = PullCursor {
        added_after: None,
        next: (committed > 0).then(|| format!("p{committed}")),
        last: last.clone(),
    };
    remote.script().fail_from(at_page, fault);

    // Twice: the second round starts from the cursor and meets the fault at once.
    for failures in 1..=2u64 {
        let started = Instant::now();
        let err = engine
            .run_round(&sub)
            .await
            .expect_err("the round must fail");
        assert!(
            started.elapsed() < TIMEOUT + Duration::from_millis(1500),
            "{case}: the round took {:?}",
            started.elapsed()
        );
        check_error(case, &err, expect, &engine, failures);
        let st = local.state(&sub).await;
        assert_eq!(st.failures, failures, "{case}");
        assert_eq!(
            st.last_error.as_deref(),
            Some(err.to_string().as_str()),
            "{case}"
        );
        assert!(
            st.last_error_at.is_some() && st.last_success.is_none(),
            "{case}"
        );
        assert_eq!((st.lease_holder, st.lease_until), (None, None), "{case}");
        // Exactly the pages before the fault, nothing of the failing one.
        assert_eq!(
            local.contents().await,
            contents(&objects[..committed]),
            "{case}"
        );
        assert_eq!(
            local.store.count_versions(local.coll).await.unwrap(),
            committed as u64
        );
        assert_eq!(st.transferred, committed as u64, "{case}");
        assert_eq!(PullCursor::parse(st.cursor.as_deref()), cursor, "{case}");
    }

    remote.script().clear_fault();
    let gets_before = remote.script().requests("objects").len();
    let report = engine.run_round(&sub).await.unwrap();
    // It resumed after the last committed page, by date, not by re-sending a stored token
    // (a server may serve a token's page only once, or forget it).
    let resumed = &remote.script().requests("objects")[gets_before];
    assert_eq!(resumed.query.get("next"), None, "{case}");
    assert_eq!(resumed.query.get("added_after"), last.as_ref(), "{case}");
    assert_eq!(
        report.transferred,
        (objects.len() - committed) as u64,
        "{case}"
    );
    assert_eq!(report.duplicates, 0, "{case}");
    let st = local.state(&sub).await;
    assert_eq!(st.failures, 0, "{case}");
    assert!(st.last_success.is_some(), "{case}");
    assert_eq!((st.lease_holder, st.lease_until), (None, None), "{case}");
    assert_eq!(local.contents().await, contents(&objects), "{case}");
    assert_eq!(
        local.store.count_versions(local.coll).await.unwrap(),
        objects.len() as u64,
        "{case}: a version stored twice"
    );
    assert_eq!(
        (st.transferred, st.duplicates),
        (objects.len() as u64, 0),
        "{case}"
    );
    assert_provenance(&local, &objects, true).await;
}

#[tokio::test]
async fn http_500_on_page_3() {
    fault_case("http-500").await;
}

#[tokio::test]
async fn too_many_requests_with_retry_after() {
    fault_case("429-retry-after").await;
}

#[tokio::test]
async fn service_unavailable() {
    fault_case("503-no-retry-after").await;
}

#[tokio::test]
async fn service_unavailable_with_a_body_larger_than_max_body() {
    fault_case("503-body-larger-than-max-body").await;
}

#[tokio::test]
async fn a_response_slower_than_the_timeout() {
    fault_case("slower-than-timeout").await;
}

#[tokio::test]
async fn a_body_that_stalls_past_the_timeout() {
    fault_case("stalls-mid-body").await;
}

#[tokio::test]
async fn malformed_json() {
    fault_case("malformed-json").await;
}

#[tokio::test]
async fn a_page_larger_than_max_body() {
    fault_case("oversized-page").await;
}

#[tokio::test]
async fn a_chunked_page_larger_than_max_body() {
    fault_case("oversized-page-chunked").await;
}

#[tokio::test]
async fn a_connection_dropped_midway() {
    fault_case("dropped-connection").await;
}

#[tokio::test]
async fn the_first_page_fails() {
    fault_case("first-page-404").await;
}

/// Every case of the fixture has its test.
#[test]
fn every_fixture_case_is_run() {
    let src = include_str!("faults.rs");
    let cases = fixture("faults.json");
    for name in cases.as_object().unwrap().keys() {
        if name.starts_with('_') {
            continue;
        }
        assert!(
            src.contains(&format!("fault_case(\"{name}\")")),
            "faults.json case {name} has no test"
        );
    }
}
