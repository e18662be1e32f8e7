//! Lowercase RFC 4648 base32 without padding: the body of the secret formats, and (upper
//! cased) of nkeys. Only canonical encodings decode.

use zeroize::Zeroize;

const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Encodes `data`, lowercase, unpadded.
pub(super) fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() * 8).div_ceil(5));
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    acc.zeroize();
    out
}

/// Decodes lowercase, unpadded base32; `None` for another alphabet or a non-canonical end.
pub(super) fn decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // Canonical encodings only: the unused low bits of the last character must be zero,
    // or two different texts would decode to the same secret (a typo there would pass).
    let canonical = acc & ((1u32 << bits) - 1) == 0;
    acc.zeroize();
    canonical.then_some(out)
}
