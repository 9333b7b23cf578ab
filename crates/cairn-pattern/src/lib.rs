//! STIX 2.1 Patterning: parser, validator, evaluator and compiled bulk matcher.
//!
//! No IO and no async.
