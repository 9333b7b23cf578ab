//! The per-subscription lease: a round never runs while another live holder has it; a holder
//! of this host whose process is gone, or a lease past its time, is taken over.

use cairn_store::{Direction, Subscription, SubscriptionFilter};
use cairn_sync::{SyncError, now_micros};

use crate::local::{Local, config, remote_objects};
use crate::remote::Remote;

/// This host's name as the engine writes it in `host:pid`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// A pid no process of this host has.
fn dead_pid() -> u32 {
    (999_999..)
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        .unwrap()
}

async fn hold(local: &Local, sub: &Subscription, holder: &str, for_micros: i64) {
    let now = now_micros();
    let current = local.state(sub).await.lease_holder;
    assert!(
        local
            .store
            .acquire_lease(sub.id, holder, now + for_micros, now, current.as_deref())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_held_lease_makes_the_round_busy_and_a_dead_holder_is_taken_over() {
    let remote = Remote::with_objects(&remote_objects()).await;
    let local = Local::new(&remote, true).await;
    let sub = local
        .subscribe(&remote, Direction::Pull, SubscriptionFilter::default())
        .await;
    let engine = local.engine(config(4));

    // Another host, and a live process of this host (pid 1): busy, nothing done.
    for holder in ["otherhost:1".to_string(), format!("{}:1", hostname())] {
        hold(&local, &sub, &holder, 60_000_000).await;
        let err = engine.run_round(&sub).await.unwrap_err();
        assert!(
            matches!(err, SyncError::Busy(id) if id == sub.id),
            "{err:?}"
        );
        assert!(
            remote.script().log.is_empty(),
            "{holder}: the remote was asked"
        );
        let st = local.state(&sub).await;
        assert_eq!(st.lease_holder.as_deref(), Some(holder.as_str()));
        assert_eq!((st.failures, st.transferred), (0, 0));
        assert!(st.last_attempt.is_none() && st.last_error.is_none());
        assert_eq!(local.store.count_versions(local.coll).await.unwrap(), 0);
    }

    // A process of this host that is gone: its lease is taken over at once.
    let dead = format!("{}:{}", hostname(), dead_pid());
    hold(&local, &sub, &dead, 60_000_000).await;
    let report = engine.run_round(&sub).await.unwrap();
    assert_eq!(report.transferred, 9);
    let st = local.state(&sub).await;
    assert_eq!((st.lease_holder, st.lease_until), (None, None));
    assert_eq!((st.transferred, st.failures), (9, 0));
    assert_eq!(local.store.count_versions(local.coll).await.unwrap(), 9);
}

#[tokio::test]
async fn an_expired_lease_of_another_host_is_taken() {
    let remote = Remote::with_objects(&remote_objects()).await;
    let local = Local::new(&remote, true).await;
    let sub = local
        .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
        .await;
    hold(&local, &sub, "otherhost:1", -1).await;
    let engine = local.engine(config(4));
    engine.run_round(&sub).await.unwrap();
    let st = local.state(&sub).await;
    assert_eq!((st.lease_holder, st.failures), (None, 0));
    assert!(st.last_success.is_some());
    // Busy while another host holds it, for a push too.
    hold(&local, &sub, "otherhost:1", 60_000_000).await;
    assert!(matches!(
        engine.run_round(&sub).await,
        Err(SyncError::Busy(_))
    ));
}
