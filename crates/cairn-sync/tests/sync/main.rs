//! Integration tests of the federation client: scripted TAXII servers on loopback.
