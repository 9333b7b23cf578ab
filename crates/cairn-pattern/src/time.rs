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
    let n = b.len();
    if n < 20
        || b[n - 1] != b'Z'
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    // The length check above keeps every index below in range.
    let d = |i: usize| i64::from(b[i].wrapping_sub(b'0'));
    let ds = [
        d(0),
        d(1),
        d(2),
        d(3),
        d(5),
        d(6),
        d(8),
        d(9),
        d(11),
        d(12),
        d(14),
        d(15),
        d(17),
        d(18),
    ];
    if ds.iter().any(|x| *x > 9) {
        return None;
    }
    let y = ds[0] * 1000 + ds[1] * 100 + ds[2] * 10 + ds[3];
    let (mo, dd, h, mi, se) = (
        ds[4] * 10 + ds[5],
        ds[6] * 10 + ds[7],
        ds[8] * 10 + ds[9],
        ds[10] * 10 + ds[11],
        ds[12] * 10 + ds[13],
    );
    if !(1..=12).contains(&mo)
        || dd < 1
        || dd > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || se > 60
    {
        return None;
    }
    let rest = &b[19..n - 1];
    let mut frac: i64 = 0;
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 {
            return None;
        }
        let mut used = 0;
        for &c in &rest[1..] {
            let v = c.wrapping_sub(b'0');
            if v > 9 {
                return None;
            }
            if used < 9 {
                frac = frac * 10 + i64::from(v);
                used += 1;
            }
        }
        frac *= POW10[9 - used];
    }
    let days = days_from_civil(y, mo, dd);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(frac))
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
