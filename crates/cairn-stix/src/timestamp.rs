//! STIX timestamps: RFC 3339, UTC (`Z`), any sub-second precision, kept as given.

use std::cmp::Ordering;
use std::fmt;

/// A STIX timestamp. Keeps the original text; equality and order are by instant,
/// so `2020-01-01T00:00:00Z` equals `2020-01-01T00:00:00.000Z`.
#[derive(Debug, Clone)]
pub struct Timestamp {
    text: String,
    /// Seconds since the Unix epoch.
    secs: i64,
    /// Nanoseconds within the second (fraction digits past 9 are truncated for ordering).
    nanos: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid STIX timestamp {text:?}: {reason}")]
pub struct TimestampError {
    pub text: String,
    pub reason: String,
}

impl Timestamp {
    /// Parse a STIX timestamp: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let err = |reason: &str| TimestampError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(err("too short; expected YYYY-MM-DDTHH:MM:SS[.s+]Z"));
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let s = text.get(r)?;
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        };
        let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
        ) else {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS[.s+]Z"));
        };
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS[.s+]Z"));
        }
        let rest = &text[19..];
        let frac = if let Some(f) = rest.strip_prefix('.') {
            let Some(f) = f.strip_suffix('Z') else {
                return Err(err("must end in 'Z' (UTC)"));
            };
            if f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err("fraction of a second must be one or more digits"));
            }
            f
        } else if rest == "Z" {
            ""
        } else {
            return Err(err("must end in 'Z' (UTC)"));
        };
        if !(1..=12).contains(&month) || hour > 23 || min > 59 || sec > 60 {
            return Err(err("field out of range"));
        }
        let date = jiff::civil::Date::new(year as i16, month as i8, day as i8)
            .map_err(|_| err("no such calendar date"))?;
        // A leap second (60) is accepted and ordered as the last instant of its minute.
        let sec_c = sec.min(59);
        let dt = date.at(hour as i8, min as i8, sec_c as i8, 0);
        let ts = dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| err("out of range"))?
            .timestamp();
        let mut nanos: u32 = 0;
        for (i, c) in frac.bytes().take(9).enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
        if sec == 60 {
            nanos = 999_999_999;
        }
        Ok(Timestamp {
            text: text.to_string(),
            secs: ts.as_second(),
            nanos,
        })
    }

    /// The timestamp exactly as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Microseconds since the Unix epoch (truncated).
    pub fn unix_micros(&self) -> i64 {
        self.secs * 1_000_000 + i64::from(self.nanos / 1000)
    }

    /// A fixed-width text key whose byte order is the instant order:
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (9 fraction digits, UTC).
    pub fn sort_key(&self) -> String {
        let ts = jiff::Timestamp::from_second(self.secs).expect("validated at parse");
        let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            self.nanos
        )
    }

    /// Format microseconds since the epoch as a TAXII timestamp (exactly 6 fraction digits, `Z`).
    pub fn format_micros(micros: i64) -> String {
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let ts = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            frac
        )
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        (self.secs, self.nanos) == (other.secs, other.nanos)
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
