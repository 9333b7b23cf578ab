//! Cairn's HTTP surface: the TAXII 2.1 server.
