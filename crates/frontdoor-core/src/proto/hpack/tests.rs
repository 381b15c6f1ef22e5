use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Decodes all of `block`, as `name: value` lines.
fn fields(decoder: &mut Decoder, block: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let used = decoder
        .decode(block, |n, v| {
            out.push(format!(
                "{}: {}",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(v)
            ));
        })
        .unwrap();
    assert_eq!(used, block.len(), "the whole block decodes");
    out
}

/// RFC 7541 C.3 (literals) and C.4 (the same requests, Huffman-coded): three requests
/// on one connection, each using the dynamic table the last one filled.
#[test]
fn rfc_7541_requests() {
    for blocks in [
        [
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ],
        [
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ],
    ] {
        let mut d = Decoder::new(4096);
        assert_eq!(
            fields(&mut d, &hex(blocks[0])),
            [
                ":method: GET",
                ":scheme: http",
                ":path: /",
                ":authority: www.example.com"
            ]
        );
        assert_eq!(
            fields(&mut d, &hex(blocks[1])),
            [
                ":method: GET",
                ":scheme: http",
                ":path: /",
                ":authority: www.example.com",
                "cache-control: no-cache"
            ]
        );
        assert_eq!(
            fields(&mut d, &hex(blocks[2])),
            [
                ":method: GET",
                ":scheme: https",
                ":path: /index.html",
                ":authority: www.example.com",
                "custom-key: custom-value"
            ]
        );
        assert_eq!(d.table.size(), 164);
    }
}

/// RFC 7541 C.5: responses with a 256-byte table, entries evicted as new ones come.
#[test]
fn rfc_7541_responses_evict() {
    let mut d = Decoder::new(256);
    fields(
        &mut d,
        &hex("4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
    );
    assert_eq!(d.table.size(), 222);
    assert_eq!(
        fields(&mut d, &hex("4803 3330 37c1 c0bf")),
        [
            ":status: 307",
            "cache-control: private",
            "date: Mon, 21 Oct 2013 20:13:21 GMT",
            "location: https://www.example.com"
        ]
    );
    assert_eq!(d.table.size(), 222);
    assert_eq!(
        fields(
            &mut d,
            &hex("88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31")
        ),
        [
            ":status: 200",
            "cache-control: private",
            "date: Mon, 21 Oct 2013 20:13:22 GMT",
            "location: https://www.example.com",
            "content-encoding: gzip",
            "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
        ]
    );
    assert_eq!(d.table.size(), 215);
    // Only the three newest entries are left.
    assert!(d.table.get(64).is_ok());
    assert_eq!(d.table.get(65), Err(HpackError("index outside the tables")));
}

#[test]
fn a_block_decodes_piece_by_piece() {
    // C.4.2 fed one byte at a time, keeping what was not used, as a block split over
    // HEADERS and CONTINUATION frames is.
    let mut whole = Decoder::new(4096);
    let first = hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff");
    fields(&mut whole, &first);
    let block = hex("8286 84be 5886 a8eb 1064 9cbf");
    let want = fields(&mut whole, &block);

    let mut d = Decoder::new(4096);
    fields(&mut d, &first);
    let (mut pending, mut got) = (Vec::new(), Vec::new());
    for &b in &block {
        pending.push(b);
        let used = d
            .decode(&pending, |n, v| {
                got.push(format!(
                    "{}: {}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                ));
            })
            .unwrap();
        pending.drain(..used);
    }
    assert!(pending.is_empty());
    assert_eq!(got, want);
}

#[test]
fn size_updates() {
    let mut d = Decoder::new(4096);
    // To 64 bytes, then two 34-byte entries: the first is evicted.
    fields(&mut d, &hex("3f21 4001 6101 62 4001 6301 64"));
    assert_eq!(d.table.get(62), Ok((&b"c"[..], &b"d"[..])));
    assert!(d.table.get(63).is_err());
    // To zero: the table empties.
    assert!(fields(&mut d, &hex("20")).is_empty());
    assert!(d.table.get(62).is_err());
    // Over the maximum, or after a field: errors.
    assert_eq!(
        d.decode(&hex("3fe2 1f"), |_, _| {}),
        Err(HpackError("dynamic table size update over the maximum"))
    );
    assert_eq!(
        d.decode(&hex("82 3f21"), |_, _| {}),
        Err(HpackError("dynamic table size update after a field"))
    );
    // Up to the maximum is fine.
    assert_eq!(d.decode(&hex("3fe1 1f 82"), |_, _| {}), Ok(4));
}

#[test]
fn an_entry_larger_than_the_table_empties_it() {
    let mut d = Decoder::new(4096);
    // To 40 bytes; `a: b` (34) fits; `aaaaaaaa: b` (41) does not, and empties it.
    fields(&mut d, &hex("3f09 4001 6101 62"));
    assert!(d.table.get(62).is_ok());
    fields(&mut d, &hex("4008 6161 6161 6161 6161 0162"));
    assert!(d.table.get(62).is_err());
    assert_eq!(d.table.size(), 0);
}

#[test]
fn errors() {
    let err = |block: &str| {
        Decoder::new(4096)
            .decode(&hex(block), |_, _| {})
            .unwrap_err()
    };
    assert_eq!(err("80"), HpackError("index outside the tables"));
    assert_eq!(err("be"), HpackError("index outside the tables"));
    assert_eq!(err("7e 01 61"), HpackError("index outside the tables"));
    assert_eq!(
        err("ff ff ff ff ff 7f"),
        HpackError("integer over five octets")
    );
    assert_eq!(err("00 81 ff 01 61"), HpackError("invalid Huffman padding"));
    assert_eq!(
        err("00 84 ff ff ff fc 01 61"),
        HpackError("EOS in a Huffman string")
    );
    // The largest integer `h2` takes, in five octets, is an index (out of range).
    assert_eq!(
        err("ff ff ff ff 0f"),
        HpackError("index outside the tables")
    );
}

#[test]
fn an_unfinished_field_is_left_for_later() {
    let mut d = Decoder::new(4096);
    for partial in ["", "ff", "ff ff", "44", "44 05 2f 61"] {
        assert_eq!(d.decode(&hex(partial), |_, _| {}), Ok(0), "{partial:?}");
    }
    // A complete field then part of the next: the first is used.
    assert_eq!(d.decode(&hex("82 44 05 2f"), |_, _| {}), Ok(1));
}

#[test]
fn never_indexed_and_without_indexing_leave_the_table_alone() {
    let mut d = Decoder::new(4096);
    assert_eq!(
        fields(&mut d, &hex("0001 6101 62 1001 6301 64 0401 2f")),
        ["a: b", "c: d", ":path: /"]
    );
    assert!(d.table.get(62).is_err());
}
