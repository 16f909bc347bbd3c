//! Sortable positions for kanban cards (fractional indexing): a key can always be made between two others, so moving a
//! card writes one row and never renumbers its neighbours. Keys compare bytewise (the column uses `collate "C"`).
//!
//! A key is an integer part (a head letter saying how many digits follow: `a`–`z` for 1–26 digits upwards, `A`–`Z`
//! downwards) and an optional fraction without trailing zeros. Appending at either end steps the integer, so keys stay
//! short for the common case; inserting between two neighbours extends the fraction. Ported from the algorithm of
//! rocicorp/fractional-indexing (CC0).

use std::fmt;

use serde::{Deserialize, Serialize};

const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: usize = DIGITS.len();
/// Keys longer than this are refused: only a pathological sequence of inserts into one gap would reach it.
pub const MAX_LEN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Position(String);

fn digit(d: u8) -> Option<usize> {
    DIGITS.iter().position(|x| *x == d)
}

fn integer_len(head: u8) -> Option<usize> {
    match head {
        b'a'..=b'z' => Some(usize::from(head - b'a') + 2),
        b'A'..=b'Z' => Some(usize::from(b'Z' - head) + 2),
        _ => None,
    }
}

/// The smallest integer part, which has nothing below it.
fn smallest_integer() -> Vec<u8> {
    let mut v = vec![b'A'];
    v.extend(std::iter::repeat_n(b'0', 26));
    v
}

fn split(key: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let bad = || "is not a valid position".to_string();
    let len = integer_len(*key.first().ok_or_else(bad)?).ok_or_else(bad)?;
    if key.len() < len || key.len() > MAX_LEN || !key.iter().all(|b| digit(*b).is_some()) {
        return Err(bad());
    }
    let (int, frac) = key.split_at(len);
    if !int[1..].iter().all(|b| digit(*b).is_some()) || frac.last() == Some(&b'0') {
        return Err(bad());
    }
    if int == smallest_integer().as_slice() {
        return Err(bad());
    }
    Ok((int, frac))
}

/// A fraction strictly between `a` and `b` (`None` meaning one), both without trailing zeros.
fn midpoint(a: &[u8], b: Option<&[u8]>) -> Vec<u8> {
    if let Some(b) = b {
        let mut n = 0;
        while n < b.len() && a.get(n).copied().unwrap_or(b'0') == b[n] {
            n += 1;
        }
        if n > 0 {
            let mut out = b[..n].to_vec();
            out.extend(midpoint(a.get(n..).unwrap_or(&[]), Some(&b[n..])));
            return out;
        }
    }
    let da = a.first().and_then(|d| digit(*d)).unwrap_or(0);
    let db = b
        .and_then(|b| b.first())
        .and_then(|d| digit(*d))
        .unwrap_or(BASE);
    if db - da > 1 {
        vec![DIGITS[(da + db).div_ceil(2)]]
    } else if let Some(b) = b.filter(|b| b.len() > 1) {
        vec![b[0]]
    } else {
        let mut out = vec![DIGITS[da]];
        out.extend(midpoint(a.get(1..).unwrap_or(&[]), None));
        out
    }
}

fn increment(int: &[u8]) -> Option<Vec<u8>> {
    let (head, digits) = (int[0], &int[1..]);
    let mut digs = digits.to_vec();
    let mut carry = true;
    for d in digs.iter_mut().rev() {
        let next = digit(*d)? + 1;
        if next == BASE {
            *d = DIGITS[0];
        } else {
            *d = DIGITS[next];
            carry = false;
            break;
        }
    }
    if !carry {
        let mut out = vec![head];
        out.extend(digs);
        return Some(out);
    }
    match head {
        b'Z' => Some(vec![b'a', DIGITS[0]]),
        b'z' => None,
        _ => {
            let h = head + 1;
            if h > b'a' {
                digs.push(DIGITS[0]);
            } else {
                digs.pop();
            }
            let mut out = vec![h];
            out.extend(digs);
            Some(out)
        }
    }
}

fn decrement(int: &[u8]) -> Option<Vec<u8>> {
    let (head, digits) = (int[0], &int[1..]);
    let mut digs = digits.to_vec();
    let mut borrow = true;
    for d in digs.iter_mut().rev() {
        let value = digit(*d)?;
        if value == 0 {
            *d = DIGITS[BASE - 1];
        } else {
            *d = DIGITS[value - 1];
            borrow = false;
            break;
        }
    }
    if !borrow {
        let mut out = vec![head];
        out.extend(digs);
        return Some(out);
    }
    match head {
        b'a' => Some(vec![b'Z', DIGITS[BASE - 1]]),
        b'A' => None,
        _ => {
            let h = head - 1;
            if h < b'Z' {
                digs.push(DIGITS[BASE - 1]);
            } else {
                digs.pop();
            }
            let mut out = vec![h];
            out.extend(digs);
            Some(out)
        }
    }
}

impl Position {
    pub fn parse(s: &str) -> Result<Self, String> {
        split(s.as_bytes())?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first key of an empty column.
    pub fn first() -> Self {
        Self("a0".into())
    }

    /// A key strictly between `before` and `after` (either may be open). `Err` when `before >= after` or a key would
    /// grow past [`MAX_LEN`].
    pub fn between(before: Option<&Position>, after: Option<&Position>) -> Result<Self, String> {
        let out = Self::between_bytes(
            before.map(|p| p.0.as_bytes()),
            after.map(|p| p.0.as_bytes()),
        )?;
        let s = String::from_utf8(out).map_err(|_| "is not a valid position".to_string())?;
        Self::parse(&s)
    }

    fn between_bytes(a: Option<&[u8]>, b: Option<&[u8]>) -> Result<Vec<u8>, String> {
        let full = || "there is no room left at that end of the column".to_string();
        if let (Some(a), Some(b)) = (a, b)
            && a >= b
        {
            return Err("the positions are not in order".into());
        }
        match (a, b) {
            (None, None) => Ok(b"a0".to_vec()),
            (None, Some(b)) => {
                let (ib, fb) = split(b)?;
                if ib == smallest_integer().as_slice() {
                    let mut out = ib.to_vec();
                    out.extend(midpoint(&[], Some(fb)));
                    return Ok(out);
                }
                if ib.len() < b.len() {
                    return Ok(ib.to_vec());
                }
                decrement(ib).ok_or_else(full)
            }
            (Some(a), None) => {
                let (ia, fa) = split(a)?;
                Ok(match increment(ia) {
                    Some(i) => i,
                    None => {
                        let mut out = ia.to_vec();
                        out.extend(midpoint(fa, None));
                        out
                    }
                })
            }
            (Some(a), Some(b)) => {
                let (ia, fa) = split(a)?;
                let (ib, fb) = split(b)?;
                let mut out = ia.to_vec();
                if ia == ib {
                    out.extend(midpoint(fa, Some(fb)));
                    return Ok(out);
                }
                let i = increment(ia).ok_or_else(full)?;
                if i.as_slice() < b {
                    return Ok(i);
                }
                out.extend(midpoint(fa, None));
                Ok(out)
            }
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Position {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Position> for String {
    fn from(p: Position) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(s: &str) -> Position {
        Position::parse(s).unwrap()
    }

    #[test]
    fn known_keys() {
        assert_eq!(Position::between(None, None).unwrap().as_str(), "a0");
        assert_eq!(
            Position::between(Some(&key("a0")), None).unwrap().as_str(),
            "a1"
        );
        assert_eq!(
            Position::between(Some(&key("az")), None).unwrap().as_str(),
            "b00"
        );
        assert_eq!(
            Position::between(None, Some(&key("a0"))).unwrap().as_str(),
            "Zz"
        );
        assert_eq!(
            Position::between(Some(&key("a0")), Some(&key("a1")))
                .unwrap()
                .as_str(),
            "a0V"
        );
        assert!(Position::between(Some(&key("a1")), Some(&key("a0"))).is_err());
        assert!(Position::between(Some(&key("a1")), Some(&key("a1"))).is_err());
        for bad in ["", "a", "a00", "!0", "a0 ", "b0"] {
            assert!(Position::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn appending_keeps_keys_short() {
        let mut last = Position::first();
        for _ in 0..10_000 {
            let next = Position::between(Some(&last), None).unwrap();
            assert!(next > last);
            last = next;
        }
        assert!(last.as_str().len() <= 4, "{last}");
    }

    proptest! {
        /// Any sequence of inserts (at a random gap of the current order) keeps every key valid and the order strict.
        #[test]
        fn inserts_keep_a_strict_order(gaps in proptest::collection::vec(0usize..1000, 1..300)) {
            let mut keys: Vec<Position> = Vec::new();
            for g in gaps {
                let at = g % (keys.len() + 1);
                let before = at.checked_sub(1).map(|i| &keys[i]);
                let after = keys.get(at);
                let k = Position::between(before, after).unwrap();
                prop_assert!(Position::parse(k.as_str()).is_ok());
                if let Some(b) = before { prop_assert!(*b < k); }
                if let Some(a) = after { prop_assert!(k < *a); }
                keys.insert(at, k);
            }
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
