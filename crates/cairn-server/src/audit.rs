//! Writing the audit log from the server. Writes and deletes carry their entry into their own
//! store transaction; everything else (authentications, reads of TLP:AMBER and above) goes
//! through [`AuditSink`], a queue drained by one background task that appends in batches, so
//! a read never waits for a write transaction.

use std::sync::Arc;

use cairn_store::{NewAuditEntry, Store};
use tokio::sync::mpsc;

/// Entries appended per store transaction, at most.
const BATCH: usize = 1000;

#[derive(Clone)]
pub(crate) struct AuditSink {
    tx: mpsc::UnboundedSender<NewAuditEntry>,
}

impl AuditSink {
    /// Start the background writer; it stops when every sink is dropped, after writing what
    /// was queued.
    pub fn start(store: Arc<dyn Store>) -> AuditSink {
        let (tx, mut rx) = mpsc::unbounded_channel::<NewAuditEntry>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(e) => batch.push(e),
                        Err(_) => break,
                    }
                }
                if let Err(e) = store.append_audit(&batch).await {
                    tracing::error!(error = %e, entries = batch.len(), "writing the audit log failed");
                }
            }
        });
        AuditSink { tx }
    }

    pub fn log(&self, e: NewAuditEntry) {
        if self.tx.send(e).is_err() {
            tracing::error!("the audit log writer has stopped");
        }
    }
}
