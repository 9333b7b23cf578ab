//! RFC 3339 UTC timestamps as used by STIX (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`).

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parse a STIX timestamp to nanoseconds since the Unix epoch. Fractions past nine digits
/// are truncated; a leap second (`:60`) counts as the first instant of the next minute.
/// Returns `None` for anything else, including dates that do not exist (`2023-02-30`).
pub fn parse_timestamp(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return None;
    }
    // Two ASCII digits at `i` (the length check above keeps every index below in range).
    let d2 = |i: usize| -> Option<i64> {
        let (h, l) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
        (h <= 9 && l <= 9).then(|| i64::from(h) * 10 + i64::from(l))
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        d2(0)? * 100 + d2(2)?,
        d2(5)?,
        d2(8)?,
        d2(11)?,
        d2(14)?,
        d2(17)?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60
    {
        return None;
    }
    let rest = &b[19..b.len() - 1];
    let mut frac: i64 = 0;
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || !rest[1..].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut scale = 100_000_000i64;
        for c in rest[1..].iter().take(9) {
            frac += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(frac))
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

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
