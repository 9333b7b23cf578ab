//! A pulled page with invalid objects and objects outside the subscription's filter
//! (`fixtures/filtered_pull.json`): invalid ones are rejected without stopping the page,
//! filtered ones skipped, unwanted types never asked for.

use std::collections::BTreeSet;

use cairn_store::{Direction, SubscriptionFilter};
use serde_json::Value;

use crate::local::{Local, config, fixture};
use crate::remote::Remote;

#[tokio::test]
async fn invalid_objects_are_rejected_and_filtered_ones_skipped() {
    let spec = fixture("filtered_pull.json");
    let filter: SubscriptionFilter = serde_json::from_value(spec["filter"].clone()).unwrap();
    let cases = spec["objects"].as_array().unwrap();
    let remote = Remote::with_objects(
        &cases
            .iter()
            .map(|c| c["object"].clone())
            .collect::<Vec<Value>>(),
    )
    .await;
    let count = |what: &str| cases.iter().filter(|c| c["expect"] == what).count() as u64;
    let (stored, rejected, skipped) = (count("stored"), count("rejected"), count("skipped"));
    let received = cases.len() as u64 - count("absent");
    let local = Local::new(&remote, true).await;
    let sub = local.subscribe(&remote, Direction::Pull, filter).await;

    let page = 3;
    let report = local.engine(config(page)).run_round(&sub).await.unwrap();
    assert_eq!(report.pages, received.div_ceil(page as u64));
    assert_eq!(
        (report.transferred, report.rejected, report.skipped),
        (stored, rejected, skipped)
    );
    let st = local.state(&sub).await;
    assert_eq!(
        (st.transferred, st.rejected, st.skipped, st.failures),
        (stored, rejected, skipped, 0)
    );
    // Exactly the valid objects that pass the filter, byte for byte.
    let want: BTreeSet<String> = cases
        .iter()
        .filter(|c| c["expect"] == "stored")
        .map(|c| serde_json::to_string(&c["object"]).unwrap())
        .collect();
    let got: BTreeSet<String> = local.contents().await.into_iter().map(|c| c.2).collect();
    assert_eq!(got, want);
    // The types went on the wire, in every request.
    let gets = remote.script().requests("objects");
    assert_eq!(gets.len() as u64, report.pages);
    assert!(
        gets.iter()
            .all(|g| g.query.get("match[type]").map(String::as_str) == Some("indicator,malware")),
        "{gets:?}"
    );
}
