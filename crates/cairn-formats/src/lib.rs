//! Log readers that turn security logs into STIX 2.1 observations.
//!
//! Main types:
//! - [`Record`]: one log record — its position (line number), time, and SCOs — kept in reusable
//!   flat buffers. It gives two views of the same content: [`Record::observation`] (STIX 2.1
//!   objects with deterministic ids, for exact evaluation) and [`Record::for_each_fact`] (a flat
//!   list of [`Fact`]s, (SCO type, property path, value) triples, for the bulk matcher;
//!   [`Record::for_each_fact_where`] skips the SCO types a consumer does not look at, and
//!   [`Fact::static_names`] tells when the names are built-in strings a consumer may memoize by
//!   address).
//! - [`Format`]: `eve` (Suricata eve.json), `zeek` (Zeek JSON logs), `jsonl` (JSON Lines through a
//!   user [`FieldMap`]); [`stix::read_observed_data`] reads STIX observed-data.
//! - [`LogReader`]: streams any [`BufRead`] line by line into one reused [`Record`]; a malformed
//!   line is counted in [`ReadStats`] and skipped, never ends the stream. A line that lies whole
//!   in the input's buffer is parsed in place (no copy).
//! - eve lines are read first by a strict, allocation-free scanner (`scan`) straight into the
//!   typed event; any line it is not sure about (escapes in needed strings, `null`, unusual
//!   numbers, duplicate fields, invalid JSON) is parsed again by `serde_json`, which decides, so
//!   results and error messages are those of `serde_json`.
//! - [`LogReader::next_record_filtered`] reads through a [`FactFilter`]: each line is first
//!   *probed* ([`LineParser::probe_line`]), i.e. run through the same mapping code into a sink
//!   that hands the facts of the SCO types the filter wants straight to it and stores nothing;
//!   the [`Record`] is built only when the filter needs it. Lines are counted, and malformed or
//!   empty ones skipped, exactly as by [`LogReader::next_record`] (eve probes; other formats
//!   build every record).
//!
//! The field-to-SCO mapping of every format is documented in `MAPPING.md` beside this crate.
//! No async; the only IO is reading the `BufRead` the caller hands in.

pub mod eve;
pub mod jsonl;
pub mod probe;
pub mod record;
mod scan;
pub mod stix;
pub mod zeek;

use std::io::BufRead;

pub use jsonl::{FieldMap, FieldMapError};
pub use probe::{FactFilter, Probed, RecordInfo};
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

    /// Read `line` as [`LineParser::parse_line`] would, with the same errors, but instead of
    /// filling a record tell `filter` the facts of the SCO types it wants. `Ok(None)` when this
    /// parser cannot (the default), or cannot for this line: then the record is built.
    fn probe_line(
        &mut self,
        line: &str,
        filter: &mut dyn FactFilter,
    ) -> Result<Option<Probed>, ParseError> {
        let _ = (line, filter);
        Ok(None)
    }

    /// Whether [`LineParser::probe_line`] can probe lines at all (false: the default, which
    /// builds every record).
    fn probes(&self) -> bool {
        false
    }
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
            Format::Eve => Box::new(eve::EveParser::default()),
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
    ///
    /// A line that lies whole in the input's buffer is parsed in place; only a line that spans
    /// two fills of the buffer is copied.
    // Never inlined (nor `next_record_filtered`): a fixed point to measure reading at (the
    // callgrind runs of BENCHMARKS.md toggle on these names).
    #[inline(never)]
    pub fn next_record(&mut self, rec: &mut Record) -> std::io::Result<bool> {
        self.next_line_with(rec, take_line)
    }

    /// Like [`LogReader::next_record`], but a line is first probed for its facts
    /// ([`LineParser::probe_line`]) and `rec` is built and returned only when `filter` needs the
    /// record; a record it passes over is counted in [`ReadStats::records`] all the same. Lines
    /// that are malformed or without observables are counted exactly as by `next_record`.
    #[inline(never)]
    pub fn next_record_filtered(
        &mut self,
        rec: &mut Record,
        filter: &mut dyn FactFilter,
    ) -> std::io::Result<bool> {
        if !self.parser.probes() {
            return self.next_record(rec);
        }
        self.next_line_with(rec, |parser, stats, bytes, rec| {
            take_line_filtered(parser, stats, bytes, rec, filter)
        })
    }

    /// Hand lines to `take` until it gives a record (true) or the input ends.
    #[inline(always)]
    fn next_line_with(
        &mut self,
        rec: &mut Record,
        mut take: impl FnMut(&mut dyn LineParser, &mut ReadStats, &[u8], &mut Record) -> bool,
    ) -> std::io::Result<bool> {
        loop {
            let avail = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                return Ok(false);
            }
            if let Some(n) = memchr::memchr(b'\n', avail) {
                let got = take(&mut *self.parser, &mut self.stats, &avail[..n], rec);
                self.input.consume(n + 1);
                if got {
                    return Ok(true);
                }
                continue;
            }
            self.buf.clear();
            if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(false);
            }
            if take(&mut *self.parser, &mut self.stats, &self.buf, rec) {
                return Ok(true);
            }
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

/// Count one line (its bytes, with or without the newline) and parse it into `rec`; true when
/// it gave a record.
fn take_line(
    parser: &mut dyn LineParser,
    stats: &mut ReadStats,
    bytes: &[u8],
    rec: &mut Record,
) -> bool {
    stats.lines += 1;
    let line_no = stats.lines;
    let Ok(line) = simdutf8::basic::from_utf8(bytes) else {
        malformed(stats, line_no, ParseError::Utf8);
        return false;
    };
    let line = line.trim_ascii();
    if line.is_empty() {
        return false;
    }
    rec.clear();
    rec.position = line_no;
    match parser.parse_line(line, rec) {
        Ok(()) if rec.is_empty() => stats.empty += 1,
        Ok(()) => {
            stats.records += 1;
            return true;
        }
        Err(e) => malformed(stats, line_no, e),
    }
    false
}

/// [`take_line`] through a filter: the line is probed first and built only when the filter
/// needs it (or the parser cannot probe it).
fn take_line_filtered(
    parser: &mut dyn LineParser,
    stats: &mut ReadStats,
    bytes: &[u8],
    rec: &mut Record,
    filter: &mut dyn FactFilter,
) -> bool {
    let Ok(line) = simdutf8::basic::from_utf8(bytes) else {
        return take_line(parser, stats, bytes, rec);
    };
    let line = line.trim_ascii();
    if line.is_empty() {
        stats.lines += 1;
        return false;
    }
    match parser.probe_line(line, filter) {
        Ok(Some(p)) if p.empty => {
            filter.discard();
            stats.lines += 1;
            stats.empty += 1;
            return false;
        }
        Ok(Some(p)) => {
            let info = RecordInfo {
                position: stats.lines + 1,
                time: p.time,
                time_end: p.time_end,
            };
            if !filter.needs_record(info) {
                stats.lines += 1;
                stats.records += 1;
                return false;
            }
        }
        Ok(None) => filter.discard(),
        Err(e) => {
            filter.discard();
            stats.lines += 1;
            malformed(stats, stats.lines, e);
            return false;
        }
    }
    take_line(parser, stats, bytes, rec)
}

fn malformed(stats: &mut ReadStats, line: u64, e: ParseError) {
    stats.malformed += 1;
    if stats.errors.len() < KEPT_ERRORS {
        stats.errors.push((line, e));
    }
}
