//! cairn-policy's integration tests: data-driven decision fixtures, POLICY.md against the code,
//! markings against the published definitions, identities, and property tests on random worlds.

mod alloc;
mod fixtures;
mod identity;
mod markings;
mod props;
mod table;
mod world;
