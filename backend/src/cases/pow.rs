//! A cheap proof of work on the public case form, in place of a captcha
//! (no third party: counties run on closed networks). The server hands out
//! a challenge it signed and need not remember — `v1.{expires}.{nonce}.
//! {bits}.{mac}` — and the page's script finds a counter `n` such that
//! SHA-256 of `{challenge}:{n}` starts with `bits` zero bits (about
//! 2^bits hashes: a second on a cheap phone at 16 bits, an hour's worth
//! for a flood). A solved challenge answers one filing: the database
//! remembers it until it expires, so every instance refuses it again.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How long a challenge may be solved and used.
pub const TTL_MS: i64 = 20 * 60_000;
/// The most bits a challenge may ask (a setting beyond is clamped).
pub const MAX_BITS: u32 = 28;

/// Why a proof is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PowError {
    #[error("the challenge is not one this server gave")]
    Forged,
    #[error("the challenge has expired; ask for a new one")]
    Expired,
    #[error("the challenge asks fewer bits than the server wants now")]
    TooEasy,
    #[error("the answer does not solve the challenge")]
    Unsolved,
}

/// The MAC of `body` under `key` (HMAC takes a key of any length).
fn signer(key: &[u8], body: &str) -> Option<Hmac<Sha256>> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).ok()?;
    m.update(body.as_bytes());
    Some(m)
}

/// The first 16 bytes of the MAC, hex.
fn mac(key: &[u8], body: &str) -> String {
    signer(key, body)
        .map(|m| hex::encode(&m.finalize().into_bytes()[..16]))
        .unwrap_or_default()
}

/// Is `sig` the MAC of `body`, compared in constant time?
fn signed(key: &[u8], body: &str, sig: &str) -> bool {
    let Ok(tag) = hex::decode(sig) else {
        return false;
    };
    tag.len() == 16 && signer(key, body).is_some_and(|m| m.verify_truncated_left(&tag).is_ok())
}

/// A fresh challenge asking `bits` zero bits, signed with `key`.
pub fn challenge(key: &[u8], bits: u32, now_ms: i64) -> String {
    let mut nonce = [0u8; 8];
    rand::fill(&mut nonce);
    let body = format!(
        "v1.{}.{}.{}",
        now_ms + TTL_MS,
        hex::encode(nonce),
        bits.min(MAX_BITS)
    );
    let mac = mac(key, &body);
    format!("{body}.{mac}")
}

/// When `challenge` expires, if it is well formed and signed with `key`.
fn expiry(key: &[u8], challenge: &str) -> Result<(i64, u32), PowError> {
    let (body, sig) = challenge.rsplit_once('.').ok_or(PowError::Forged)?;
    if challenge.len() > 120 || !signed(key, body, sig) {
        return Err(PowError::Forged);
    }
    let mut parts = body.split('.');
    let (Some("v1"), Some(expires), Some(_nonce), Some(bits), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(PowError::Forged);
    };
    let expires = expires.parse().map_err(|_| PowError::Forged)?;
    let bits = bits.parse().map_err(|_| PowError::Forged)?;
    Ok((expires, bits))
}

fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut n = 0;
    for b in hash {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

fn solves(challenge: &str, answer: &str, bits: u32) -> bool {
    answer.len() <= 20
        && answer.bytes().all(|b| b.is_ascii_digit())
        && leading_zero_bits(&Sha256::digest(format!("{challenge}:{answer}").as_bytes())) >= bits
}

/// Check `answer` to `challenge`: signed with `key`, not expired, asking
/// at least `want_bits`, and solved. Gives when it expires (how long to
/// remember it as spent).
pub fn verify(
    key: &[u8],
    challenge: &str,
    answer: &str,
    want_bits: u32,
    now_ms: i64,
) -> Result<i64, PowError> {
    let (expires, bits) = expiry(key, challenge)?;
    if now_ms > expires {
        return Err(PowError::Expired);
    }
    if bits < want_bits.min(MAX_BITS) {
        return Err(PowError::TooEasy);
    }
    if !solves(challenge, answer, bits) {
        return Err(PowError::Unsolved);
    }
    Ok(expires)
}

/// Solve `challenge` (as the page's script does): for clients written
/// from our documents, the tests and the demo.
pub fn solve(challenge: &str) -> Option<String> {
    let bits = challenge
        .rsplit('.')
        .nth(1)
        .and_then(|b| b.parse::<u32>().ok())?
        .min(MAX_BITS);
    (0u64..(1u64 << (bits + 8)))
        .map(|n| n.to_string())
        .find(|n| solves(challenge, n, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solved_challenge_verifies_and_tampering_does_not() {
        let key = b"secret";
        let c = challenge(key, 10, 1_000);
        let a = solve(&c).unwrap();
        assert!(verify(key, &c, &a, 10, 2_000).is_ok());
        assert_eq!(verify(key, &c, &a, 12, 2_000), Err(PowError::TooEasy));
        assert_eq!(
            verify(key, &c, &a, 10, 1_000 + TTL_MS + 1),
            Err(PowError::Expired)
        );
        assert_eq!(verify(b"other", &c, &a, 10, 2_000), Err(PowError::Forged));
        let easier = c.replacen(".10.", ".1.", 1);
        assert_eq!(verify(key, &easier, &a, 1, 2_000), Err(PowError::Forged));
        let wrong = (0u64..)
            .map(|n| n.to_string())
            .find(|n| !solves(&c, n, 10))
            .unwrap();
        assert_eq!(verify(key, &c, &wrong, 10, 2_000), Err(PowError::Unsolved));
        assert_eq!(
            verify(key, &c, "12345678901234567890123", 10, 2_000),
            Err(PowError::Unsolved)
        );
    }

    #[test]
    fn zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x10, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }
}
