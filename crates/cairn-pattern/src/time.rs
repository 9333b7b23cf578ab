//! RFC 3339 UTC timestamps as used by STIX (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`).

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian). The reading of the
/// tests; [`days_since_epoch`] is the one used.
#[cfg(test)]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days of the year before the first of each month (index 1 to 12), in a common year.
const DAYS_BEFORE: [u32; 13] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/// Days in each month (index 1 to 12), February of a common year.
const MONTH_DAYS: [u32; 13] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Days from 0000-01-01 to 1970-01-01.
const EPOCH_DAYS: i64 = 719_528;

/// Days from 1970-01-01 to a date of a four-digit year (`m` 1 to 12, `d` valid for it).
#[inline(always)]
fn days_since_epoch(y: u32, m: u32, d: u32, leap: bool) -> i64 {
    // Leap days of the years before `y` (year 0 is a leap year): ceil(y/4) - ceil(y/100) +
    // ceil(y/400), written out (`div_ceil` costs a remainder more each).
    #[allow(clippy::manual_div_ceil)]
    let leaps = (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
    let day_of_year = DAYS_BEFORE[m as usize] + u32::from(leap && m > 2) + d - 1;
    i64::from(365 * y + leaps + day_of_year) - EPOCH_DAYS
}

/// Parse a STIX timestamp to nanoseconds since the Unix epoch. Fractions past nine digits
/// are truncated; a leap second (`:60`) counts as the first instant of the next minute.
/// Returns `None` for anything else, including dates that do not exist (`2023-02-30`).
pub fn parse_timestamp(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if !framed(b) {
        return None;
    }
    Some(instant(date_days(b)?, time_nanos(b)?))
}

/// Both timestamps of an observed-data (`first_observed`, `last_observed`), each as
/// [`parse_timestamp`] reads it; when they share the date (`YYYY-MM-DDT`), it is read once.
pub(crate) fn parse_timestamp_pair(a: &str, b: &str) -> (Option<i128>, Option<i128>) {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let days_a = if framed(a) { date_days(a) } else { None };
    let first = days_a.and_then(|d| Some(instant(d, time_nanos(a)?)));
    if !framed(b) {
        return (first, None);
    }
    let days_b = match days_a {
        Some(d) if a[..11] == b[..11] => Some(d),
        _ => date_days(b),
    };
    (first, days_b.and_then(|d| Some(instant(d, time_nanos(b)?))))
}

/// At least `YYYY-MM-DDTHH:MM:SSZ` long, ending with `Z`.
#[inline(always)]
fn framed(b: &[u8]) -> bool {
    b.len() >= 20 && b[b.len() - 1] == b'Z'
}

#[inline(always)]
fn instant(days: i64, nanos_of_day: i64) -> i128 {
    i128::from(days) * 86_400_000_000_000 + i128::from(nanos_of_day)
}

/// Each byte ten times itself plus the next byte: a pair of digit values becomes its number
/// in the pair's first byte (at most 99, so no byte carries into the next).
#[inline(always)]
fn pairs(x: u64) -> u64 {
    x.wrapping_mul(10).wrapping_add(x >> 8)
}

/// A byte is a digit when, XOR '0', it is at most 9: neither it nor it plus 6 reaches 0x10.
/// (A carry out of a byte needs that byte at 0xFA or more, which is flagged itself.) `x` is
/// the word XOR '0's with the bytes that are not digits cleared.
#[inline(always)]
fn not_digits(x: u64) -> bool {
    (x | x.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0 != 0
}

#[inline(always)]
fn byte_at(x: u64, k: u32) -> u32 {
    ((x >> (8 * k)) & 0xFF) as u32
}

/// `YYYY-MM-DDT` (the first 11 bytes of a framed timestamp) as days since the epoch.
#[inline(always)]
fn date_days(b: &[u8]) -> Option<i64> {
    // `YYYY-MM-` and `-MM-DDT` as little-endian words.
    let w0 = u64::from_le_bytes(b[0..8].try_into().ok()?);
    let w1 = u64::from(u32::from_le_bytes(b[7..11].try_into().ok()?));
    if w0 & 0xFF00_00FF_0000_0000 != 0x2D00_002D_0000_0000 || w1 & 0xFF00_0000 != 0x5400_0000 {
        return None;
    }
    let x0 = (w0 ^ 0x3030_3030_3030_3030) & 0x00FF_FF00_FFFF_FFFF;
    let x1 = (w1 ^ 0x3030_3030) & 0x00FF_FF00;
    if not_digits(x0) || not_digits(x1) {
        return None;
    }
    let (p0, p1) = (pairs(x0), pairs(x1));
    let y = byte_at(p0, 0) * 100 + byte_at(p0, 2);
    let mo = byte_at(p0, 5);
    let dd = byte_at(p1, 1);
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    if !(1..=12).contains(&mo)
        || dd < 1
        || dd > MONTH_DAYS[mo as usize] + u32::from(leap && mo == 2)
    {
        return None;
    }
    Some(days_since_epoch(y, mo, dd, leap))
}

/// `HH:MM:SS[.fraction]` (from byte 11 of a framed timestamp to its `Z`) in nanoseconds.
#[inline(always)]
fn time_nanos(b: &[u8]) -> Option<i64> {
    let w = u64::from_le_bytes(b[11..19].try_into().ok()?);
    if w & 0x0000_FF00_00FF_0000 != 0x0000_3A00_003A_0000 {
        return None;
    }
    let x = (w ^ 0x3030_3030_3030_3030) & 0xFFFF_00FF_FF00_FFFF;
    if not_digits(x) {
        return None;
    }
    let p = pairs(x);
    let (h, mi, se) = (byte_at(p, 0), byte_at(p, 3), byte_at(p, 6));
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let rest = &b[19..b.len() - 1];
    let mut frac: i64 = 0;
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 {
            return None;
        }
        // The first nine digits are read, the others only checked.
        let digits = &rest[1..];
        let used = digits.len().min(9);
        for &c in &digits[..used] {
            let v = c.wrapping_sub(b'0');
            if v > 9 {
                return None;
            }
            frac = frac * 10 + i64::from(v);
        }
        if !digits[used..].iter().all(u8::is_ascii_digit) {
            return None;
        }
        frac *= POW10[9 - used];
    }
    Some(i64::from(h * 3600 + mi * 60 + se) * 1_000_000_000 + frac)
}

const POW10: [i64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    /// The plain byte-by-byte reading of the same format.
    fn reference(s: &str) -> Option<i128> {
        let b = s.as_bytes();
        if b.len() < 20 || b[b.len() - 1] != b'Z' {
            return None;
        }
        for (i, c) in b[..19].iter().enumerate() {
            let ok = match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            };
            if !ok {
                return None;
            }
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
        let (y, mo, d, h, mi, se) = (
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        );
        if !(1..=12).contains(&mo)
            || d < 1
            || d > super::days_in_month(y, mo)
            || h > 23
            || mi > 59
            || se > 60
        {
            return None;
        }
        let rest = &s[19..s.len() - 1];
        let mut frac = 0i64;
        if !rest.is_empty() {
            let digits = rest.strip_prefix('.')?;
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let nine: String = digits
                .chars()
                .chain(std::iter::repeat('0'))
                .take(9)
                .collect();
            frac = nine.parse().ok()?;
        }
        let secs = super::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
        Some(i128::from(secs) * 1_000_000_000 + i128::from(frac))
    }

    /// Every single-byte change of some timestamps is read as the plain reading reads it.
    #[test]
    fn word_reading_agrees_with_byte_reading() {
        let bases = [
            "2017-08-16T20:58:08.856000Z",
            "2024-02-29T23:59:60Z",
            "1999-12-31T00:00:00.1234567891Z",
            "0000-01-01T00:00:00Z",
        ];
        let mut checked = 0;
        for base in bases {
            assert_eq!(parse_timestamp(base), reference(base), "{base}");
            for at in 0..base.len() {
                for c in 0u8..=255 {
                    let mut b = base.as_bytes().to_vec();
                    b[at] = c;
                    if let Ok(s) = String::from_utf8(b) {
                        assert_eq!(parse_timestamp(&s), reference(&s), "{s:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000);
    }

    /// The day count of every date of every four-digit year is the civil-calendar one.
    #[test]
    fn day_table_agrees_with_civil_days() {
        for y in 0..=9999u32 {
            let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
            for m in 1..=12u32 {
                let len = super::MONTH_DAYS[m as usize] + u32::from(leap && m == 2);
                assert_eq!(len as i64, super::days_in_month(i64::from(y), i64::from(m)));
                for d in 1..=len {
                    assert_eq!(
                        super::days_since_epoch(y, m, d, leap),
                        super::days_from_civil(i64::from(y), i64::from(m), i64::from(d)),
                        "{y}-{m}-{d}"
                    );
                }
            }
        }
    }

    /// The pair reading agrees with two single readings, sharing a date or not.
    #[test]
    fn pair_reading_agrees_with_single_readings() {
        use super::parse_timestamp_pair;
        let bases = [
            "2017-08-16T20:58:08.856000Z",
            "2017-08-16T23:59:60Z",
            "2017-08-17T00:00:00Z",
            "2024-02-29T00:00:00.1Z",
            "2023-02-29T00:00:00Z",
            "2017-08-16T20:58:0xZ",
            "2017-08-16",
            "",
        ];
        let mut variants: Vec<String> = bases.iter().map(|s| s.to_string()).collect();
        for base in &bases[..2] {
            for at in 0..base.len() {
                for c in [b'0', b'9', b'T', b'-', b':', b'Z', b'.', b'x'] {
                    let mut b = base.as_bytes().to_vec();
                    b[at] = c;
                    variants.push(String::from_utf8(b).unwrap_or_default());
                }
            }
        }
        for a in &variants {
            for b in &variants {
                assert_eq!(
                    parse_timestamp_pair(a, b),
                    (parse_timestamp(a), parse_timestamp(b)),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn epoch_and_fraction() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:01.5Z"),
            Some(1_500_000_000)
        );
        assert_eq!(
            parse_timestamp("2020-01-01T00:00:00.000Z"),
            parse_timestamp("2020-01-01T00:00:00Z")
        );
        assert_eq!(parse_timestamp("2023-02-30T00:00:00Z"), None);
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_some());
        assert_eq!(parse_timestamp("2024-02-29t00:00:00Z"), None);
        assert_eq!(parse_timestamp("2024-02-29T00:00:00.Z"), None);
        assert_eq!(parse_timestamp("2024-02-29T00:00:0xZ"), None);
        assert_eq!(parse_timestamp("+024-02-29T00:00:00Z"), None);
        assert_eq!(
            parse_timestamp("2016-12-31T23:59:60.1234567891Z"),
            Some(1_483_228_800_123_456_789)
        );
        assert_eq!(
            parse_timestamp("1969-12-31T23:59:59.5Z"),
            Some(-500_000_000)
        );
    }
}
