//! Integration tests of the TAXII 2.1 server: a real router on 127.0.0.1 over a real SQLite store,
//! driven over HTTP. `checklist` is the data-driven table (tests/fixtures/checklist.json);
//! `flows` holds the multi-request scenarios (paging, tokens, restarts, writes, auth caching);
//! `policy` checks sharing-policy enforcement against tests/fixtures/policy.json; `api` drives the
//! REST administration API under /api/v1 and checks docs/openapi.json is current; `transport`
//! covers HTTPS, security headers and body limits on body-less methods; `cache` checks that the
//! users, tokens and channels kept between requests never outlive a change; `federation` checks
//! what a `peer` account reads and posts (federation-push rules, no read-back of its own
//! versions, provenance) and `/metrics`.

mod api;
mod cache;
mod checklist;
mod federation;
mod flows;
mod harness;
mod policy;
mod transport;
