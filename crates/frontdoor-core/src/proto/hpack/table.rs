//! The static table (RFC 7541 Appendix A) and the dynamic table (section 4).

use std::collections::VecDeque;

use super::error::HpackError;

/// The static table, indices 1 to 61.
const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The overhead an entry counts for beyond its octets (section 4.1).
const ENTRY_OVERHEAD: usize = 32;

/// A dynamic table entry: name and value in one allocation.
#[derive(Debug)]
pub(super) struct Entry {
    octets: Box<[u8]>,
    name_len: usize,
}

impl Entry {
    pub(super) fn new(name: &[u8], value: &[u8]) -> Self {
        let mut octets = Vec::with_capacity(name.len() + value.len());
        octets.extend_from_slice(name);
        octets.extend_from_slice(value);
        Self {
            octets: octets.into_boxed_slice(),
            name_len: name.len(),
        }
    }

    fn size(&self) -> usize {
        self.octets.len() + ENTRY_OVERHEAD
    }

    fn split(&self) -> (&[u8], &[u8]) {
        self.octets.split_at(self.name_len.min(self.octets.len()))
    }
}

/// The static table followed by the dynamic one, newest entry first.
#[derive(Debug)]
pub(super) struct Table {
    entries: VecDeque<Entry>,
    /// The entries' total size.
    size: usize,
    /// The size the encoder last chose.
    max_size: usize,
}

impl Table {
    pub(super) const fn new(max_size: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// The entries' total size (section 4.1).
    #[cfg(test)]
    pub(super) const fn size(&self) -> usize {
        self.size
    }

    /// The name and value at `index` (from 1).
    pub(super) fn get(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        let found = match index.checked_sub(1) {
            Some(i) if i < STATIC.len() => STATIC.get(i).copied(),
            Some(i) => self.entries.get(i - STATIC.len()).map(Entry::split),
            None => None,
        };
        found.ok_or(HpackError("index outside the tables"))
    }

    /// Adds `entry`, evicting the oldest entries to make room; an entry larger than
    /// the table empties it and is not added (section 4.4).
    pub(super) fn insert(&mut self, entry: Entry) {
        let size = entry.size();
        self.evict(self.max_size.saturating_sub(size));
        if size <= self.max_size {
            self.size += size;
            self.entries.push_front(entry);
        }
    }

    /// Takes the encoder's new table size, evicting what no longer fits (section 4.3).
    pub(super) fn resize(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict(max_size);
    }

    /// Evicts the oldest entries until the table holds at most `size` bytes.
    fn evict(&mut self, size: usize) {
        while self.size > size {
            match self.entries.pop_back() {
                Some(old) => self.size -= old.size(),
                None => {
                    self.size = 0;
                    return;
                }
            }
        }
    }
}
