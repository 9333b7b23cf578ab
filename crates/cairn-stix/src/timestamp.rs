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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_kept_as_given() {
        for text in [
            "2024-03-01T09:15:00Z",
            "2024-03-01T09:15:00.1Z",
            "2024-03-01T09:15:00.100Z",
            "2024-03-01T09:15:00.123456789012Z",
        ] {
            let t = Timestamp::parse(text).unwrap();
            assert_eq!(t.as_str(), text);
            assert_eq!(t.to_string(), text);
        }
    }

    #[test]
    fn equality_and_order_are_by_instant() {
        let a = Timestamp::parse("2024-03-01T09:15:00Z").unwrap();
        let b = Timestamp::parse("2024-03-01T09:15:00.000Z").unwrap();
        let c = Timestamp::parse("2024-03-01T09:15:00.0001Z").unwrap();
        let d = Timestamp::parse("2024-03-01T09:14:59.999999999Z").unwrap();
        assert_eq!(a, b);
        assert!(c > b);
        assert!(d < a);
        assert_eq!(a.sort_key(), b.sort_key());
        assert!(d.sort_key() < a.sort_key() && a.sort_key() < c.sort_key());
        // Digits past nanoseconds do not change the instant.
        let e = Timestamp::parse("2024-03-01T09:15:00.0000000001Z").unwrap();
        assert_eq!(e, a);
    }

    #[test]
    fn leap_second_is_the_last_instant_of_its_minute() {
        let leap = Timestamp::parse("2016-12-31T23:59:60Z").unwrap();
        let before = Timestamp::parse("2016-12-31T23:59:59.999Z").unwrap();
        let after = Timestamp::parse("2017-01-01T00:00:00Z").unwrap();
        assert!(before < leap && leap < after);
        assert_eq!(leap.as_str(), "2016-12-31T23:59:60Z");
    }

    #[test]
    fn bad_forms_are_rejected() {
        for text in [
            "2024-03-01T09:15:00.000+00:00",
            "2024-03-01T09:15:00+00:00",
            "2024-03-01T09:15:00",
            "2024-03-01 09:15:00Z",
            "2024-03-01t09:15:00Z",
            "2024-03-01T09:15:00z",
            "2024-03-01T09:15:00.Z",
            "2024-13-01T09:15:00Z",
            "2023-02-29T09:15:00Z",
            "2024-03-01T24:00:00Z",
            "2024-03-01T09:60:00Z",
            "2024-03-01T09:15:61Z",
            "24-03-01T09:15:00Z",
            "",
        ] {
            assert!(Timestamp::parse(text).is_err(), "{text:?} must be rejected");
        }
        let e = Timestamp::parse("2024-03-01T09:15:00+00:00").unwrap_err();
        assert!(e.reason.contains('Z'), "{}", e.reason);
    }

    #[test]
    fn micros_round_trip() {
        let t = Timestamp::parse("2024-03-01T09:15:00.123456Z").unwrap();
        assert_eq!(
            Timestamp::format_micros(t.unix_micros()),
            "2024-03-01T09:15:00.123456Z"
        );
    }
}
