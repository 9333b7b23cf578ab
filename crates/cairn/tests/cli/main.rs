//! Integration tests of the `cairn` binary, one module per subcommand.

mod federation;
mod match_cmd;
mod serve_cmd;
