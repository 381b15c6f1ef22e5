//! The mirror id and the per-layer pseudo-random source behind ids and sampling.

use std::{
    fmt,
    hash::{BuildHasher, RandomState},
    str::FromStr,
    sync::atomic::{AtomicU64, Ordering},
};

// === MirrorId ===

/// The id that keys every hook of one mirrored request: twelve pseudo-random bytes
/// shown as 24 lowercase hex characters, the shape of GoReplay's request ids.
///
/// Inserted into the primary request's extensions, so logging layers further in can
/// print it.
///
/// ```
/// use frontdoor_mirror::MirrorId;
///
/// let id: MirrorId = "8e091765ae902fef8a2b7d9d".parse()?;
/// assert_eq!(id.to_string(), "8e091765ae902fef8a2b7d9d");
/// assert_eq!(id.as_bytes()[0], 0x8e);
/// # Ok::<(), frontdoor_mirror::ParseMirrorIdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MirrorId([u8; 12]);

impl MirrorId {
    /// An id with these bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 12]) -> Self {
        Self(bytes)
    }

    /// The id's bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

impl fmt::Display for MirrorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MirrorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MirrorId({self})")
    }
}

/// The error of parsing a [`MirrorId`]: not 24 hex characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseMirrorIdError(());

impl fmt::Display for ParseMirrorIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mirror id is not 24 hex characters")
    }
}

impl std::error::Error for ParseMirrorIdError {}

impl FromStr for MirrorId {
    type Err = ParseMirrorIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.as_bytes();
        if s.len() != 24 {
            return Err(ParseMirrorIdError(()));
        }
        let mut out = [0u8; 12];
        for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            let hi = hex_value(pair[0]).ok_or(ParseMirrorIdError(()))?;
            let lo = hex_value(pair[1]).ok_or(ParseMirrorIdError(()))?;
            *o = hi << 4 | lo;
        }
        Ok(Self(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

// === Entropy ===

/// A small pseudo-random source: std's randomly keyed SipHash over a counter. Good
/// enough for ids and sampling decisions (not for secrets), lock-free, no dependency.
#[derive(Debug)]
pub(crate) struct Entropy {
    keys: RandomState,
    counter: AtomicU64,
}

impl Entropy {
    pub(crate) fn new() -> Self {
        Self {
            keys: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// The next pseudo-random 64-bit value.
    pub(crate) fn next_u64(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.keys.hash_one(n)
    }

    /// A fresh id.
    pub(crate) fn id(&self) -> MirrorId {
        let a = self.next_u64().to_le_bytes();
        let b = self.next_u64().to_le_bytes();
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&a);
        out[8..].copy_from_slice(&b[..4]);
        MirrorId(out)
    }
}

// === Sample ===

/// A sampling fraction, checked to lie in `0.0..=1.0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sample {
    fraction: f64,
    /// Mirror when a uniform `u64` is below this (`None`: always).
    threshold: Option<u64>,
}

impl Sample {
    pub(crate) const ALL: Self = Self {
        fraction: 1.0,
        threshold: None,
    };

    /// `None` when `fraction` is not a number in `0.0..=1.0`.
    pub(crate) fn new(fraction: f64) -> Option<Self> {
        if !(0.0..=1.0).contains(&fraction) {
            return None;
        }
        if fraction >= 1.0 {
            return Some(Self::ALL);
        }
        // Exact enough: 2^64 * fraction, saturating; 0.0 gives 0 (never).
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "fraction is in [0, 1): the product fits in u64"
        )]
        let threshold = (fraction * 18_446_744_073_709_551_616.0) as u64;
        Some(Self {
            fraction,
            threshold: Some(threshold),
        })
    }

    pub(crate) const fn fraction(self) -> f64 {
        self.fraction
    }

    /// Whether this request is in the sample.
    pub(crate) fn pick(self, entropy: &Entropy) -> bool {
        match self.threshold {
            None => true,
            Some(0) => false,
            Some(t) => entropy.next_u64() < t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_round_trip() {
        let e = Entropy::new();
        let a = e.id();
        let b = e.id();
        assert_ne!(a, b);
        assert_eq!(a.to_string().len(), 24);
        assert_eq!(a.to_string().parse::<MirrorId>().unwrap(), a);
        assert!("xyz".parse::<MirrorId>().is_err());
        assert!("8e091765ae902fef8a2b7d9g".parse::<MirrorId>().is_err());
    }

    #[test]
    fn sample_bounds() {
        assert!(Sample::new(-0.1).is_none());
        assert!(Sample::new(1.5).is_none());
        assert!(Sample::new(f64::NAN).is_none());
        let e = Entropy::new();
        let none = Sample::new(0.0).unwrap();
        let all = Sample::new(1.0).unwrap();
        assert!((0..1000).all(|_| !none.pick(&e)));
        assert!((0..1000).all(|_| all.pick(&e)));
    }

    /// 20 000 draws at p = 0.1: mean 2000, sigma 42.4; the band is ±6 sigma (a false
    /// failure about once in 10^9 runs).
    #[test]
    fn sample_fraction_within_statistical_bounds() {
        let e = Entropy::new();
        for p in [0.1, 0.5, 0.01] {
            let s = Sample::new(p).unwrap();
            let n = 20_000.0;
            let hits = (0..20_000).filter(|_| s.pick(&e)).count() as f64;
            let sigma = (n * p * (1.0 - p)).sqrt();
            assert!((hits - n * p).abs() < 6.0 * sigma, "p={p}: {hits}");
        }
    }
}
