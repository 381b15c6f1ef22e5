//! HPACK header block decoding (RFC 7541), for code that must read an HTTP/2
//! connection's header blocks beside the HTTP/2 implementation that serves it (the
//! strict wire checks of `frontdoor::serve` read every request's `:path` as sent).
//!
//! A [`Decoder`] keeps one direction's dynamic table; feed it every header block of
//! that direction in order, and its table stays in step with the peer's encoder. It
//! decodes as much of a block as has arrived and says how many bytes it used, so a
//! block split over HEADERS and CONTINUATION frames (or over reads) is decoded piece
//! by piece, keeping only the unfinished field. It decodes exactly as the `h2` crate
//! (hyper's) does: the same integer limit (five octets), the same Huffman rules
//! (no EOS, at most seven bits of all-ones padding), a dynamic table size update
//! accepted only before the first field a call decodes and only up to the table size
//! the decoder was created with (the `SETTINGS_HEADER_TABLE_SIZE` it advertises).
//! It treats names and values as octets: whether they make a valid HTTP field is
//! for the caller.
//!
//! ```
//! use frontdoor_core::proto::hpack::Decoder;
//!
//! // RFC 7541 C.4.1: `:method GET`, `:scheme http`, `:path /`, and `:authority`
//! // Huffman-coded and added to the dynamic table.
//! let block = [
//!     0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab,
//!     0x90, 0xf4, 0xff,
//! ];
//! let mut decoder = Decoder::new(4096);
//! let mut fields = Vec::new();
//! let used = decoder.decode(&block, |name, value| fields.push((name.to_vec(), value.to_vec())))?;
//! assert_eq!(used, block.len());
//! assert_eq!(fields[3], (b":authority".to_vec(), b"www.example.com".to_vec()));
//! // The next block refers to it by index (62, the newest dynamic entry).
//! let mut authority = Vec::new();
//! decoder.decode(&[0xbe], |_, value| authority = value.to_vec())?;
//! assert_eq!(authority, b"www.example.com");
//! # Ok::<(), frontdoor_core::proto::hpack::HpackError>(())
//! ```

mod error;
mod huffman;
mod table;

pub use self::error::HpackError;
use self::{huffman::HuffmanError, table::Table};

impl From<HuffmanError> for HpackError {
    fn from(e: HuffmanError) -> Self {
        match e {
            HuffmanError::Eos => Self("EOS in a Huffman string"),
            HuffmanError::Padding => Self("invalid Huffman padding"),
        }
    }
}

/// The longest integer, in octets (prefix included), as `h2` decodes them: enough for
/// any value below 2^28.
const MAX_INTEGER_OCTETS: usize = 5;

/// One direction's HPACK decoding state: the dynamic table. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Decoder {
    table: Table,
    /// The largest dynamic table size the encoder may choose.
    max_size: usize,
    /// Huffman-decoded name and value of the field being decoded.
    name: Vec<u8>,
    value: Vec<u8>,
}

/// A decoded string: where its octets are.
#[derive(Clone, Copy)]
enum Str {
    /// In the block, at this range.
    Raw(usize, usize),
    /// In the decoder's scratch buffer.
    Decoded,
}

impl Decoder {
    /// A decoder whose dynamic table may grow to `max_table_size` bytes (the
    /// `SETTINGS_HEADER_TABLE_SIZE` advertised to the encoder; 4,096 by default), the
    /// table's starting size.
    #[must_use]
    pub fn new(max_table_size: usize) -> Self {
        Self {
            table: Table::new(max_table_size),
            max_size: max_table_size,
            name: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Decodes the header fields at the start of `block`, calling `field` with each
    /// name and value in order, and returns how many bytes it used: all of them, or
    /// fewer when `block` ends inside a field, which is left for the next call (with
    /// the rest of the block appended). A dynamic table size update is accepted only
    /// before the first field of the call.
    ///
    /// # Errors
    ///
    /// The block does not decode (an index outside the tables, an integer over five
    /// octets, a bad Huffman string, a size update out of place or over the
    /// maximum). The fields before the error were reported and the table changed:
    /// the decoder is not to be used again.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<usize, HpackError> {
        let mut at = 0;
        let mut can_resize = true;
        while let Some(&first) = block.get(at) {
            let rest = &block[at..];
            let used = if first & 0x80 != 0 {
                self.indexed(rest, &mut field)?
            } else if first & 0x40 != 0 {
                self.literal(rest, 6, true, &mut field)?
            } else if first & 0x20 != 0 {
                if !can_resize {
                    return Err(HpackError("dynamic table size update after a field"));
                }
                self.size_update(rest)?
            } else {
                // Without indexing (0000) and never indexed (0001) decode alike.
                self.literal(rest, 4, false, &mut field)?
            };
            let Some(used) = used else { break };
            if first & 0xe0 != 0x20 {
                can_resize = false;
            }
            at += used;
        }
        Ok(at)
    }

    /// An indexed field (section 6.1).
    fn indexed(
        &self,
        src: &[u8],
        field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<Option<usize>, HpackError> {
        let Some((index, used)) = integer(src, 7)? else {
            return Ok(None);
        };
        let (name, value) = self.table.get(index)?;
        field(name, value);
        Ok(Some(used))
    }

    /// A literal field (section 6.2), added to the table when `indexing`.
    fn literal(
        &mut self,
        src: &[u8],
        prefix: u8,
        indexing: bool,
        field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<Option<usize>, HpackError> {
        let Some((index, mut used)) = integer(src, prefix)? else {
            return Ok(None);
        };
        let name = if index == 0 {
            let Some((name, n)) = string(src, used, &mut self.name)? else {
                return Ok(None);
            };
            used += n;
            Some(name)
        } else {
            // Checked now, as `h2` does, though the value may not have arrived.
            self.table.get(index)?;
            None
        };
        let Some((value, n)) = string(src, used, &mut self.value)? else {
            return Ok(None);
        };
        used += n;
        let value = resolve(src, value, &self.value);
        let name = match name {
            Some(name) => resolve(src, name, &self.name),
            None => self.table.get(index)?.0,
        };
        field(name, value);
        if indexing {
            let entry = table::Entry::new(name, value);
            self.table.insert(entry);
        }
        Ok(Some(used))
    }

    /// A dynamic table size update (section 6.3).
    fn size_update(&mut self, src: &[u8]) -> Result<Option<usize>, HpackError> {
        let Some((size, used)) = integer(src, 5)? else {
            return Ok(None);
        };
        if size > self.max_size {
            return Err(HpackError("dynamic table size update over the maximum"));
        }
        self.table.resize(size);
        Ok(Some(used))
    }
}

/// The octets of a decoded string.
fn resolve<'a>(src: &'a [u8], s: Str, scratch: &'a [u8]) -> &'a [u8] {
    match s {
        Str::Raw(from, to) => src.get(from..to).unwrap_or_default(),
        Str::Decoded => scratch,
    }
}

/// An integer with a `prefix`-bit prefix at the start of `src` (section 5.1), and its
/// length; `None` when `src` ends first.
fn integer(src: &[u8], prefix: u8) -> Result<Option<(usize, usize)>, HpackError> {
    let Some(&first) = src.first() else {
        return Ok(None);
    };
    let mask = u8::MAX >> (8 - prefix);
    let mut value = usize::from(first & mask);
    if value < usize::from(mask) {
        return Ok(Some((value, 1)));
    }
    let mut shift = 0;
    for (i, &b) in src.iter().enumerate().skip(1) {
        value += usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
        if i + 1 == MAX_INTEGER_OCTETS {
            return Err(HpackError("integer over five octets"));
        }
    }
    Ok(None)
}

/// A string literal starting at `src[at..]` (section 5.2) and its length; a Huffman
/// string is decoded into `scratch`. `None` when `src` ends first.
fn string(
    src: &[u8],
    at: usize,
    scratch: &mut Vec<u8>,
) -> Result<Option<(Str, usize)>, HpackError> {
    let rest = src.get(at..).unwrap_or_default();
    let Some(&first) = rest.first() else {
        return Ok(None);
    };
    let Some((len, n)) = integer(rest, 7)? else {
        return Ok(None);
    };
    let Some(octets) = rest.get(n..).and_then(|r| r.get(..len)) else {
        return Ok(None);
    };
    if first & 0x80 == 0 {
        return Ok(Some((Str::Raw(at + n, at + n + len), n + len)));
    }
    scratch.clear();
    huffman::decode(octets, scratch)?;
    Ok(Some((Str::Decoded, n + len)))
}

#[cfg(test)]
mod tests;
