//! Log readers that turn security logs into STIX 2.1 observations.
//!
//! Main types:
//! - [`Record`]: one log record — its position (line number), time, and SCOs — kept in reusable
//!   flat buffers. It gives two views of the same content: [`Record::observation`] (STIX 2.1
//!   objects with deterministic ids, for exact evaluation) and [`Record::for_each_fact`] (a flat
//!   list of [`Fact`]s, (SCO type, property path, value) triples, for the bulk matcher).
//! - [`Format`]: `eve` (Suricata eve.json), `zeek` (Zeek JSON logs), `jsonl` (JSON Lines through a
//!   user [`FieldMap`]); [`stix::read_observed_data`] reads STIX observed-data.
//! - [`LogReader`]: streams any [`BufRead`] line by line into one reused [`Record`]; a malformed
//!   line is counted in [`ReadStats`] and skipped, never ends the stream.
//!
//! The field-to-SCO mapping of every format is documented in `MAPPING.md` beside this crate.
//! No async; the only IO is reading the `BufRead` the caller hands in.

pub mod eve;
pub mod jsonl;
pub mod record;
pub mod stix;
pub mod zeek;

use std::io::BufRead;

pub use jsonl::{FieldMap, FieldMapError};
pub use record::{Fact, FactValue, Observation, Record, ScoIdx, format_micros, parse_time};

/// Why one line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not valid UTF-8")]
    Utf8,
    #[error("not a JSON record: {0}")]
    Json(String),
    #[error("field {0}: {1}")]
    Field(&'static str, String),
}

/// Turns one line of text into a record.
pub trait LineParser {
    /// Fill `rec` (already cleared, `position` set) from `line`.
    fn parse_line(&mut self, line: &str, rec: &mut Record) -> Result<(), ParseError>;
}

/// A supported log format.
#[derive(Debug, Clone)]
pub enum Format {
    Eve,
    Zeek,
    Jsonl(FieldMap),
}

impl Format {
    /// The parser for this format.
    pub fn parser(&self) -> Box<dyn LineParser + Send> {
        match self {
            Format::Eve => Box::new(eve::EveParser),
            Format::Zeek => Box::new(zeek::ZeekParser),
            Format::Jsonl(m) => Box::new(jsonl::JsonlParser::new(m.clone())),
        }
    }
}

/// How many errors [`ReadStats::errors`] keeps.
pub const KEPT_ERRORS: usize = 10;

/// Counters of a stream.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReadStats {
    /// Lines read (blank lines included).
    pub lines: u64,
    /// Records returned.
    pub records: u64,
    /// Lines that were not records of the format (skipped).
    pub malformed: u64,
    /// Well-formed lines that carried no observable (e.g. eve `stats` events; skipped).
    pub empty: u64,
    /// The first [`KEPT_ERRORS`] errors: (line number, error).
    pub errors: Vec<(u64, ParseError)>,
}

/// Streams records out of a [`BufRead`], one line at a time, into a caller-owned [`Record`].
pub struct LogReader<R> {
    input: R,
    parser: Box<dyn LineParser + Send>,
    buf: Vec<u8>,
    stats: ReadStats,
}

impl<R: BufRead> LogReader<R> {
    pub fn new(input: R, format: &Format) -> LogReader<R> {
        LogReader::with_parser(input, format.parser())
    }

    pub fn with_parser(input: R, parser: Box<dyn LineParser + Send>) -> LogReader<R> {
        LogReader {
            input,
            parser,
            buf: Vec::with_capacity(4096),
            stats: ReadStats::default(),
        }
    }

    /// Read the next record into `rec`. Returns `Ok(false)` at the end of the input; an `Err` is
    /// an IO error of the input (malformed lines are not errors: they are counted and skipped).
    pub fn next_record(&mut self, rec: &mut Record) -> std::io::Result<bool> {
        loop {
            self.buf.clear();
            if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(false);
            }
            self.stats.lines += 1;
            let line_no = self.stats.lines;
            let Ok(line) = std::str::from_utf8(&self.buf) else {
                self.malformed(line_no, ParseError::Utf8);
                continue;
            };
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            rec.clear();
            rec.position = line_no;
            match self.parser.parse_line(line, rec) {
                Ok(()) if rec.is_empty() => self.stats.empty += 1,
                Ok(()) => {
                    self.stats.records += 1;
                    return Ok(true);
                }
                Err(e) => self.malformed(line_no, e),
            }
        }
    }

    fn malformed(&mut self, line: u64, e: ParseError) {
        self.stats.malformed += 1;
        if self.stats.errors.len() < KEPT_ERRORS {
            self.stats.errors.push((line, e));
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The final counters.
    pub fn into_stats(self) -> ReadStats {
        self.stats
    }
}
