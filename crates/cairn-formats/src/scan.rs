//! [`Scan`]: a strict, allocation-free JSON scanner for the hot path of the log readers.
//!
//! It reads a line the way `serde_json` would read it into a typed struct, but only as far as it
//! is sure to agree with `serde_json`: whenever it meets something it does not handle (an escape
//! in a key or in a string it has to return, `null`, a number that is not a small integer where
//! an integer is wanted, a duplicate field, a value of an unexpected type, deep nesting, anything
//! that is not valid JSON) it gives up (`None`), and the caller parses the line again with
//! `serde_json`, which decides. So the scanner only ever accepts lines that `serde_json` accepts,
//! with the same values, and is never the one to reject a line.

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

impl<'a> Scan<'a> {
    pub(crate) fn new(s: &'a str) -> Scan<'a> {
        Scan { s, i: 0, depth: 0 }
    }

    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    #[inline(always)]
    fn ws(&mut self) {
        let b = self.bytes();
        // Fast path: compact JSON has no whitespace between tokens.
        while let Some(&c) = b.get(self.i) {
            if c > b' ' || !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return;
            }
            self.i += 1;
        }
    }

    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.i).copied()
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
        self.ws();
        self.i == self.s.len()
    }

    /// Advance to the first `"`, `\` or control character at or after the cursor.
    #[inline(always)]
    fn skip_plain(&mut self) {
        let b = self.bytes();
        while self.i + 8 <= b.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[self.i..self.i + 8]);
            let w = u64::from_le_bytes(w);
            let q = w ^ (LO * u64::from(b'"'));
            let bs = w ^ (LO * u64::from(b'\\'));
            let m = (q.wrapping_sub(LO) & !q)
                | (bs.wrapping_sub(LO) & !bs)
                | (w.wrapping_sub(LO * 0x20) & !w);
            let m = m & HI;
            if m != 0 {
                // The lowest flagged byte is a true hit (false ones only appear above it).
                self.i += (m.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
        while self.i < b.len() && !matches!(b[self.i], b'"' | b'\\' | 0..0x20) {
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
        let s = self.s.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    /// A string whose content is not needed: escapes are checked as `serde_json` checks them
    /// in values it ignores.
    #[inline(always)]
    fn skip_str(&mut self) -> Option<()> {
        self.eat(b'"')?;
        let b = self.bytes();
        loop {
            self.skip_plain();
            match b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => match b.get(self.i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                    b'u' => {
                        let hex = b.get(self.i + 2..self.i + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.i += 6;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// An integer that fits an `i64` for sure (at most 18 digits, no fraction or exponent, not
    /// `-0`).
    #[inline(always)]
    pub(crate) fn int(&mut self) -> Option<i64> {
        self.ws();
        let b = self.bytes();
        let neg = b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(c @ b'0'..=b'9') = b.get(self.i) {
            // Wrapping: a value of more than 18 digits is refused below, whatever it wrapped to.
            v = v.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
            self.i += 1;
        }
        let n = self.i - start;
        // serde_json reads `-0` as a float (to keep the sign), which is no integer.
        if n == 0 || n > 18 || (n > 1 && b[start] == b'0') || (neg && v == 0) {
            return None;
        }
        if matches!(b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(if neg { -v } else { v })
    }

    fn digits(&mut self) -> usize {
        let b = self.bytes();
        let start = self.i;
        while self.i < b.len() && b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        self.i - start
    }

    /// A number whose value is not needed (JSON grammar; no exponent, to stay on the safe side).
    fn skip_number(&mut self) -> Option<()> {
        let b = self.bytes();
        if b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let start = self.i;
        let n = self.digits();
        if n == 0 || (n > 1 && b[start] == b'0') {
            return None;
        }
        if b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            return None;
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes().get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Any JSON value, not kept.
    pub(crate) fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_str(),
            b'{' => self.object(|s, _| s.skip()),
            b'[' => self.array(|s| s.skip()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    /// True when the next value is an object (without consuming it).
    #[inline(always)]
    pub(crate) fn at_object(&mut self) -> bool {
        self.peek() == Some(b'{')
    }

    /// An object: `field` is called with each key (keys with escapes give up) and must consume
    /// the value.
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == b'}' {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            let key = self.str()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array: `elem` is called for each element and must consume it.
    pub(crate) fn array(&mut self, mut elem: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == b']' {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            elem(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}
