//! The embedded SQLite backend of [`cairn_store::Store`].
