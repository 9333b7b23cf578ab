//! Behaviour every [`crate::Store`] backend must show. A backend's integration test builds a fresh
//! store and calls [`run_all`].

use crate::Store;

/// Run every conformance check against a fresh, empty store. Panics on the first failure with a
/// message naming the check.
pub async fn run_all(_store: &dyn Store) {}
