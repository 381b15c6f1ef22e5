//! The HPACK Huffman code (RFC 7541 section 5.2 and Appendix B), decoded as the
//! canonical code it is: every symbol's code follows from its length alone (codes of
//! one length are consecutive, in symbol order, after the shorter ones), so the table
//! is the 257 code lengths, and decoding walks one bit at a time with two small
//! arrays built at compile time.

/// The code length of every symbol, 0 to 255 and EOS (256), from Appendix B.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0x00
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 0x10
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // ' ' to '/'
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // '0' to '?'
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // '@' to 'O'
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 'P' to '_'
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // '`' to 'o'
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 'p' to 0x7f
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 0x80
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 0x90
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 0xa0
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 0xb0
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 0xc0
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 0xd0
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 0xe0
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 0xf0
    30, // EOS
];

/// The longest code.
const MAX_LEN: usize = 30;
/// The end-of-string symbol, which must never be decoded (section 5.2).
const EOS: u16 = 256;

/// How many codes have each length.
const COUNTS: [u16; MAX_LEN + 1] = counts();
/// The symbols in code order: by length, then by symbol.
const SYMBOLS: [u16; 257] = symbols();

const fn counts() -> [u16; MAX_LEN + 1] {
    let mut counts = [0; MAX_LEN + 1];
    let mut sym = 0;
    while sym < LENGTHS.len() {
        counts[LENGTHS[sym] as usize] += 1;
        sym += 1;
    }
    counts
}

const fn symbols() -> [u16; 257] {
    let mut symbols = [0; 257];
    let mut next = 0;
    let mut len = 1;
    while len <= MAX_LEN {
        let mut sym = 0;
        while sym < LENGTHS.len() {
            if LENGTHS[sym] as usize == len {
                symbols[next] = sym as u16;
                next += 1;
            }
            sym += 1;
        }
        len += 1;
    }
    symbols
}

/// Why a Huffman string does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HuffmanError {
    /// The string contains the EOS symbol.
    Eos,
    /// The string ends in more than 7 bits, or in bits other than a prefix of EOS.
    Padding,
}

/// Decodes the Huffman-coded `src`, appending the octets to `out`.
pub(super) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    // The canonical decoding of zlib's `puff`: `code` is the bits read of the current
    // symbol; codes of length `len` are `first..first + count`, their symbols at
    // `index..` of SYMBOLS.
    out.reserve(src.len() * 8 / 5);
    let (mut code, mut first, mut index, mut len) = (0u32, 0u32, 0usize, 0usize);
    for &byte in src {
        for shift in (0..8).rev() {
            code |= u32::from(byte >> shift) & 1;
            len += 1;
            let count = u32::from(COUNTS.get(len).copied().unwrap_or(0));
            if code.wrapping_sub(first) < count {
                let at = index + (code - first) as usize;
                match SYMBOLS.get(at).copied() {
                    Some(sym) if sym < EOS => out.push(sym as u8),
                    _ => return Err(HuffmanError::Eos),
                }
                (code, first, index, len) = (0, 0, 0, 0);
            } else if len >= MAX_LEN {
                // Unreachable with a complete code (every 30-bit string decodes);
                // kept so that no input can walk off the tables.
                return Err(HuffmanError::Eos);
            } else {
                index += count as usize;
                first = (first + count) << 1;
                code <<= 1;
            }
        }
    }
    // What is left is padding: fewer than 8 bits, all ones (the start of EOS).
    // `code` holds them shifted left once.
    if len >= 8 || code >> 1 != (1 << len) - 1 {
        return Err(HuffmanError::Padding);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical code of `sym`, and its length.
    fn code_of(sym: usize) -> (u32, u8) {
        let len = LENGTHS[sym];
        let (mut code, mut first, mut index) = (0u32, 0u32, 0usize);
        for (l, &count) in COUNTS.iter().enumerate().take(usize::from(len) + 1).skip(1) {
            let count = u32::from(count);
            if l == usize::from(len) {
                let pos = SYMBOLS[index..index + count as usize]
                    .iter()
                    .position(|&s| usize::from(s) == sym)
                    .unwrap();
                code = first + pos as u32;
            }
            index += count as usize;
            first = (first + count) << 1;
        }
        (code, len)
    }

    #[test]
    fn the_code_is_complete() {
        // Kraft's sum is exactly one: every bit string decodes (or is padding).
        let sum: u64 = LENGTHS.iter().map(|&l| 1u64 << (30 - l)).sum();
        assert_eq!(sum, 1 << 30);
    }

    #[test]
    fn codes_are_appendix_b() {
        for (sym, want) in [
            (0, (0x1ff8, 13)),
            (b' ' as usize, (0x14, 6)),
            (b'#' as usize, (0xffa, 12)),
            (b'/' as usize, (0x18, 6)),
            (b'0' as usize, (0x0, 5)),
            (b'a' as usize, (0x3, 5)),
            (b'z' as usize, (0x7b, 7)),
            (b'~' as usize, (0x1ffd, 13)),
            (127, (0xffffffc, 28)),
            (200, (0x3ffffe2, 26)),
            (255, (0x3ffffee, 26)),
            (256, (0x3fffffff, 30)),
        ] {
            assert_eq!(code_of(sym), want, "symbol {sym}");
        }
    }

    /// Encodes `src` with the canonical codes (the test's own encoder).
    fn encode(src: &[u8]) -> Vec<u8> {
        let (mut acc, mut bits, mut out) = (0u64, 0u32, Vec::new());
        for &b in src {
            let (code, len) = code_of(usize::from(b));
            acc = (acc << len) | u64::from(code);
            bits += u32::from(len);
            while bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        if bits > 0 {
            out.push(((acc << (8 - bits)) as u8) | (0xff >> bits));
        }
        out
    }

    #[test]
    fn every_octet_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        decode(&encode(&all), &mut out).unwrap();
        assert_eq!(out, all);
    }

    #[test]
    fn rfc_7541_examples() {
        // Appendix C.4.1 and C.4.2.
        let mut out = Vec::new();
        decode(
            &[
                0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"www.example.com");
        out.clear();
        decode(&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf], &mut out).unwrap();
        assert_eq!(out, b"no-cache");
    }

    #[test]
    fn eos_and_bad_padding_are_errors() {
        let mut out = Vec::new();
        // EOS: 30 one bits.
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xfc], &mut out),
            Err(HuffmanError::Eos)
        );
        // Eight bits of padding.
        assert_eq!(decode(&[0xff], &mut out), Err(HuffmanError::Padding));
        // 'a' (00011) padded with zeros.
        assert_eq!(decode(&[0b0001_1000], &mut out), Err(HuffmanError::Padding));
        // 'a' padded with ones, and nothing at all, are fine.
        out.clear();
        assert_eq!(decode(&[0b0001_1111], &mut out), Ok(()));
        assert_eq!(out, b"a");
        out.clear();
        assert_eq!(decode(&[], &mut out), Ok(()));
        assert!(out.is_empty());
    }
}
