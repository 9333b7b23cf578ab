//! Integration tests of the federation client: scripted TAXII servers on loopback.
//!
//! - [`remote`]: the scripted TAXII 2.1 server (paging modes, injected faults, POST outcomes).
//! - [`local`]: the local node (a real SQLite store) and its engine.
//! - [`pull`]: paging (`next`, `more` without `next`, `limit` ignored), versions, provenance.
//! - [`faults`]: a pull interrupted by each fault of `fixtures/faults.json`, then resumed.
//! - [`filter`]: invalid objects (rejected) and the subscription's filter (skipped).
//! - [`push`]: the release policy, envelopes, retries of failed objects, 413, the origin rule.
//! - [`lease`]: a round never runs twice at once; a dead holder's lease is taken over.

mod faults;
mod filter;
mod lease;
mod local;
mod pull;
mod push;
mod remote;
