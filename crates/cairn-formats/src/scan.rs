//! [`Scan`]: a strict, allocation-free JSON scanner for the hot path of the log readers.
//!
//! It reads a line the way `serde_json` would read it into a typed struct, but only as far as it
//! is sure to agree with `serde_json`: whenever it meets something it does not handle (an escape
//! in a key or in a string it has to return, `null`, a number that is not a small integer where
//! an integer is wanted, a duplicate field, a value of an unexpected type, deep nesting, anything
//! that is not valid JSON) it gives up (`None`), and the caller parses the line again with
//! `serde_json`, which decides. So the scanner only ever accepts lines that `serde_json` accepts,
//! with the same values, and is never the one to reject a line.
//!
//! Compact JSON (no whitespace between tokens, as Suricata writes it) takes the fast path of
//! every step: the byte a step expects is checked first, and whitespace is skipped only when it
//! is not there.

/// Deepest nesting the scanner follows before leaving the line to `serde_json`.
const MAX_DEPTH: u32 = 64;

/// A cursor over one line of JSON text. Every method returns `None` to give up.
pub(crate) struct Scan<'a> {
    s: &'a str,
    i: usize,
    depth: u32,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// JSON whitespace.
#[inline(always)]
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index of the first byte at or after `i` that is not whitespace.
#[inline(never)]
fn after_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

/// The index after the escape at `i` (a `\`), checked as `serde_json` checks escapes in
/// values it ignores.
#[inline(never)]
fn after_escape(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 2),
        b'u' => {
            let hex = b.get(i + 2..i + 6)?;
            hex.iter().all(u8::is_ascii_hexdigit).then_some(i + 6)
        }
        _ => None,
    }
}

impl<'a> Scan<'a> {
    pub(crate) fn new(s: &'a str) -> Scan<'a> {
        Scan { s, i: 0, depth: 0 }
    }

    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        let c = *self.bytes().get(self.i)?;
        // Every byte above the space is a token byte; only the rare whitespace takes the loop.
        if c > b' ' {
            Some(c)
        } else {
            // A free function of (bytes, index): the scanner's fields stay in registers.
            self.i = after_ws(self.bytes(), self.i);
            self.bytes().get(self.i).copied()
        }
    }

    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// True when only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Advance to the first `"`, `\` or control character at or after the cursor (8 bytes at a
    /// time).
    #[inline(always)]
    fn skip_plain(&mut self) {
        let b = self.bytes();
        let Some(rest) = b.get(self.i..) else {
            return;
        };
        let mut words = rest.chunks_exact(8);
        for (n, chunk) in words.by_ref().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let w = u64::from_le_bytes(w);
            let q = w ^ (LO * u64::from(b'"'));
            let bs = w ^ (LO * u64::from(b'\\'));
            let m = (q.wrapping_sub(LO) & !q)
                | (bs.wrapping_sub(LO) & !bs)
                | (w.wrapping_sub(LO * 0x20) & !w);
            let m = m & HI;
            if m != 0 {
                // The lowest flagged byte is a true hit (false ones only appear above it).
                self.i += n * 8 + (m.trailing_zeros() / 8) as usize;
                return;
            }
        }
        let tail = words.remainder();
        self.i += rest.len() - tail.len();
        for &c in tail {
            if matches!(c, b'"' | b'\\' | 0..0x20) {
                return;
            }
            self.i += 1;
        }
    }

    /// A string without escapes, borrowed from the line.
    #[inline(always)]
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        self.skip_plain();
        if self.bytes().get(self.i) != Some(&b'"') {
            return None;
        }
        // Both ends are next to a `"`, so on character boundaries: `get` cannot fail.
        let s = self.s.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    /// An object key (a string without escapes, as bytes: keys are only compared) and the `:`
    /// after it.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        self.skip_plain();
        let b = self.bytes();
        if b.get(self.i) != Some(&b'"') {
            return None;
        }
        let k = &b[start..self.i];
        self.i += 1;
        self.eat(b':')?;
        Some(k)
    }

    /// A string whose content is not needed: escapes are checked as `serde_json` checks them
    /// in values it ignores.
    #[inline(always)]
    fn skip_str(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.skip_plain();
            let b = self.bytes();
            match b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => self.i = after_escape(b, self.i)?,
                _ => return None,
            }
        }
    }

    /// Digits from the cursor: their count and their value (wrapping; only trusted for at most
    /// 18 digits).
    #[inline(always)]
    fn digits(&mut self) -> (usize, u64) {
        let b = self.bytes();
        let start = self.i;
        let mut i = start;
        let mut v: u64 = 0;
        while let Some(&c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        self.i = i;
        (i - start, v)
    }

    /// An integer that fits an `i64` for sure (at most 18 digits, no fraction or exponent, not
    /// `-0`).
    #[inline(always)]
    pub(crate) fn int(&mut self) -> Option<i64> {
        let neg = self.peek()? == b'-';
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let (n, v) = self.digits();
        let b = self.bytes();
        // serde_json reads `-0` as a float (to keep the sign), which is no integer.
        if n == 0 || n > 18 || (n > 1 && b[start] == b'0') || (neg && v == 0) {
            return None;
        }
        if matches!(b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let v = v as i64;
        Some(if neg { -v } else { v })
    }

    /// A number whose value is not needed (JSON grammar; no exponent, to stay on the safe side).
    #[inline(always)]
    fn skip_number(&mut self) -> Option<()> {
        let b = self.bytes();
        if b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let start = self.i;
        let (n, _) = self.digits();
        if n == 0 || (n > 1 && b[start] == b'0') {
            return None;
        }
        match b.get(self.i) {
            Some(b'.') => {
                self.i += 1;
                if self.digits().0 == 0 {
                    return None;
                }
                if matches!(b.get(self.i), Some(b'e' | b'E')) {
                    return None;
                }
            }
            Some(b'e' | b'E') => return None,
            _ => {}
        }
        Some(())
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes().get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Any JSON value, not kept. One loop with a bit stack of the open containers (no
    /// recursion): objects and arrays are checked member by member as
    /// [`Scan::object_keyed`] and [`Scan::array`] check them, keys with escapes giving up as
    /// there.
    #[inline(always)]
    pub(crate) fn skip(&mut self) -> Option<()> {
        let base = self.depth;
        // Bit k set: the container opened k levels up (from the innermost) is an object.
        let mut objects: u64 = 0;
        'value: loop {
            match self.peek()? {
                b'"' => self.skip_str()?,
                c @ (b'{' | b'[') => {
                    self.open(c)?;
                    objects = (objects << 1) | u64::from(c == b'{');
                    let close = if c == b'{' { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.i += 1;
                        self.depth -= 1;
                        objects >>= 1;
                    } else {
                        if c == b'{' {
                            self.key()?;
                        }
                        continue 'value;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.skip_number()?,
                _ => return None,
            }
            // After a value: close what is complete, then go on with the next member.
            while self.depth > base {
                let in_object = objects & 1 == 1;
                if self.next_member(if in_object { b'}' } else { b']' })? {
                    objects >>= 1;
                    continue;
                }
                if in_object {
                    self.key()?;
                }
                continue 'value;
            }
            return Some(());
        }
    }

    /// True when the next value is an object (without consuming it).
    #[inline(always)]
    pub(crate) fn at_object(&mut self) -> bool {
        self.peek() == Some(b'{')
    }

    #[inline(always)]
    fn open(&mut self, c: u8) -> Option<()> {
        self.eat(c)?;
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// After a member of an object (`close` = `}`) or array (`]`): true at the end (consumed),
    /// false after a `,`.
    #[inline(always)]
    fn next_member(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(false)
            }
            c if c == close => {
                self.i += 1;
                self.depth -= 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// The first byte of the key at the cursor, when a key's `"` is right there.
    #[inline(always)]
    pub(crate) fn key_start(&self) -> Option<u8> {
        let b = self.bytes();
        if b.get(self.i) == Some(&b'"') {
            b.get(self.i + 1).copied()
        } else {
            None
        }
    }

    /// When the bytes at the cursor are exactly `member` (a key as `"key":`), consume them.
    #[inline(always)]
    pub(crate) fn eat_member(&mut self, member: &[u8]) -> bool {
        if self.bytes().get(self.i..self.i + member.len()) == Some(member) {
            self.i += member.len();
            true
        } else {
            false
        }
    }

    /// An object whose known keys `field` recognizes in place: `field(sc, None)` either
    /// consumes a `"key":` written plainly and the value (`Some` of the result), or consumes
    /// nothing (`None`); then the key is scanned and `field(sc,
    /// Some(key))` must consume the value (keys with escapes give up). The same keys are accepted
    /// either way.
    #[inline(always)]
    pub(crate) fn object_keyed(
        &mut self,
        mut field: impl FnMut(&mut Self, Option<&'a [u8]>) -> Option<Option<()>>,
    ) -> Option<()> {
        self.open(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            match field(self, None) {
                Some(r) => r?,
                None => {
                    let key = self.key()?;
                    field(self, Some(key))??;
                }
            }
            if self.next_member(b'}')? {
                return Some(());
            }
        }
    }

    /// An array: `elem` is called for each element and must consume it.
    #[inline(always)]
    pub(crate) fn array(&mut self, mut elem: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.open(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            elem(self)?;
            if self.next_member(b']')? {
                return Some(());
            }
        }
    }
}
