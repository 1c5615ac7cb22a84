//! Bodies stitched from pieces: what is the same for every learner is compressed once, at
//! load, and a request only adds its own few hundred bytes.
//!
//! A gzip member is a header, raw DEFLATE blocks, and a trailer holding the CRC-32 and length
//! of the whole text. Each fixed [`Piece`] is compressed on its own and ends on a byte
//! boundary (a sync flush), so compressed pieces can follow each other in any order; the
//! per-request parts travel as stored (uncompressed) blocks, and the CRC-32 of the whole is
//! combined from the pieces' CRCs with zlib's `crc32_combine` arithmetic, without reading
//! the fixed bytes again.

use std::io::Write as _;

use bytes::{BufMut, Bytes, BytesMut};
use flate2::Compression;
use flate2::write::DeflateEncoder;

/// Bytes that many responses share, with their compressed form made once.
#[derive(Debug, Clone)]
pub struct Piece {
    raw: Bytes,
    deflated: Bytes,
    crc: u32,
    /// x^(8·len) modulo the CRC polynomial: what appending this piece does to a running CRC.
    shift: u32,
}

impl Piece {
    /// Compresses `raw` (best compression: it is paid once).
    pub fn new(raw: impl Into<Bytes>) -> Piece {
        let raw = raw.into();
        Piece {
            deflated: deflate_flushed(&raw),
            crc: crc32fast::hash(&raw),
            shift: shift_for(raw.len() as u64),
            raw,
        }
    }

    /// The uncompressed bytes.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
}

/// One part of a stitched body.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// Shared bytes, precompressed.
    Fixed(&'a Piece),
    /// This response's own bytes.
    Own(&'a [u8]),
}

impl Part<'_> {
    fn len(&self) -> usize {
        match self {
            Part::Fixed(piece) => piece.raw.len(),
            Part::Own(bytes) => bytes.len(),
        }
    }
}

/// The parts one after another, uncompressed.
pub fn identity(parts: &[Part<'_>]) -> Bytes {
    let mut out = BytesMut::with_capacity(parts.iter().map(Part::len).sum());
    for part in parts {
        match part {
            Part::Fixed(piece) => out.put_slice(&piece.raw),
            Part::Own(bytes) => out.put_slice(bytes),
        }
    }
    out.freeze()
}

/// The CRC-32 (as gzip and zlib compute it) of the parts' concatenation.
pub fn crc32(parts: &[Part<'_>]) -> u32 {
    parts.iter().fold(0, |crc, part| match part {
        Part::Fixed(piece) => multmodp(piece.shift, crc) ^ piece.crc,
        Part::Own(bytes) => multmodp(shift_for(bytes.len() as u64), crc) ^ crc32fast::hash(bytes),
    })
}

/// The parts as one gzip member.
pub fn gzip(parts: &[Part<'_>]) -> Bytes {
    // Stored blocks carry at most 65,535 bytes, with a 5-byte header each.
    const STORED_MAX: usize = u16::MAX as usize;
    let size = 10
        + 8
        + 2
        + parts
            .iter()
            .map(|part| match part {
                Part::Fixed(piece) => piece.deflated.len(),
                Part::Own(bytes) => bytes.len() + 5 * (bytes.len() / STORED_MAX + 1),
            })
            .sum::<usize>();
    let mut out = BytesMut::with_capacity(size);
    // Magic, DEFLATE, no flags, no mtime, no extra flags, OS unknown.
    out.put_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut total: u64 = 0;
    for part in parts {
        match part {
            Part::Fixed(piece) => out.put_slice(&piece.deflated),
            Part::Own(bytes) => {
                for block in bytes.chunks(STORED_MAX) {
                    // BFINAL=0, BTYPE=00 (stored); the stream is byte-aligned here.
                    let len = block.len() as u16;
                    out.put_u8(0);
                    out.put_u16_le(len);
                    out.put_u16_le(!len);
                    out.put_slice(block);
                }
            }
        }
        total += part.len() as u64;
    }
    // A final, empty block with fixed codes: BFINAL=1, BTYPE=01, end-of-block.
    out.put_slice(&[0x03, 0x00]);
    out.put_u32_le(crc32(parts));
    out.put_u32_le(total as u32);
    out.freeze()
}

/// Raw DEFLATE of `raw`, ended by a sync flush (byte-aligned, not final); empty for no bytes.
fn deflate_flushed(raw: &[u8]) -> Bytes {
    if raw.is_empty() {
        return Bytes::new();
    }
    let mut encoder =
        DeflateEncoder::new(Vec::with_capacity(raw.len() / 3 + 64), Compression::best());
    // Writing into a Vec cannot fail; a failure would only lose compression, so fall back to
    // stored blocks rather than panic.
    if encoder
        .write_all(raw)
        .and_then(|()| encoder.flush())
        .is_err()
    {
        return stored(raw);
    }
    Bytes::from(std::mem::take(encoder.get_mut()))
}

fn stored(raw: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(raw.len() + 5 * (raw.len() / 65_535 + 1));
    for block in raw.chunks(u16::MAX as usize) {
        let len = block.len() as u16;
        out.put_u8(0);
        out.put_u16_le(len);
        out.put_u16_le(!len);
        out.put_slice(block);
    }
    out.freeze()
}

/// The reflected CRC-32 polynomial.
const POLY: u32 = 0xedb8_8320;

/// a·b modulo the polynomial (zlib's `multmodp`; bit 31 is x^0).
const fn multmodp(a: u32, mut b: u32) -> u32 {
    let mut m: u32 = 1 << 31;
    let mut p: u32 = 0;
    loop {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                break;
            }
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    p
}

/// x^(2^k) modulo the polynomial, k = 0..32.
const X2N: [u32; 32] = {
    let mut table = [0u32; 32];
    let mut p: u32 = 1 << 30; // x^1
    table[0] = p;
    let mut k = 1;
    while k < 32 {
        p = multmodp(p, p);
        table[k] = p;
        k += 1;
    }
    table
};

/// x^(8·len) modulo the polynomial: the factor a CRC is multiplied by when `len` bytes follow.
fn shift_for(len: u64) -> u32 {
    let mut p: u32 = 1 << 31; // x^0
    let mut n = len;
    let mut k = 3; // 8·len = len · 2^3
    while n != 0 {
        if n & 1 != 0 {
            p = multmodp(X2N[k & 31], p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("a valid gzip member");
        out
    }

    fn text(seed: u64, len: usize) -> Vec<u8> {
        // Compressible but varied: words drawn by a small LCG.
        let words: [&[u8]; 6] = [
            b"<p>pod ",
            b"network ",
            b"flannel ",
            b"&amp; ",
            b"\n",
            b"\xe2\x9c\x93 ",
        ];
        let mut state = seed;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            out.extend_from_slice(words[(state >> 33) as usize % words.len()]);
        }
        out.truncate(len);
        out
    }

    #[test]
    fn stitched_gzip_inflates_to_the_concatenation() {
        let fixed: Vec<Piece> = [0, 1, 5000, 70_000, 12]
            .iter()
            .enumerate()
            .map(|(i, len)| Piece::new(text(i as u64, *len)))
            .collect();
        let own = [text(9, 0), text(10, 3), text(11, 140_000)];
        let parts = [
            Part::Own(&own[1]),
            Part::Fixed(&fixed[2]),
            Part::Fixed(&fixed[0]),
            Part::Own(&own[0]),
            Part::Fixed(&fixed[3]),
            Part::Own(&own[2]),
            Part::Fixed(&fixed[1]),
            Part::Fixed(&fixed[4]),
            Part::Fixed(&fixed[2]),
        ];
        let plain = identity(&parts);
        assert_eq!(plain.len(), parts.iter().map(Part::len).sum::<usize>());
        assert_eq!(crc32(&parts), crc32fast::hash(&plain));
        let zipped = gzip(&parts);
        assert_eq!(gunzip(&zipped), plain.to_vec());
        assert!(
            zipped.len() < plain.len(),
            "the fixed pieces are compressed"
        );
    }

    #[test]
    fn empty_and_only_own_bodies_are_valid_gzip() {
        assert_eq!(gunzip(&gzip(&[])), Vec::<u8>::new());
        assert_eq!(
            gunzip(&gzip(&[Part::Own(b"<b>hi</b>")])),
            b"<b>hi</b>".to_vec()
        );
        let piece = Piece::new(Vec::new());
        assert_eq!(gunzip(&gzip(&[Part::Fixed(&piece)])), Vec::<u8>::new());
    }

    #[test]
    fn crc_combination_matches_zlib_for_any_split() {
        let data = text(3, 3000);
        for split in [0, 1, 7, 1500, 2999, 3000] {
            let (a, b) = data.split_at(split);
            let (a, b) = (Piece::new(a.to_vec()), Piece::new(b.to_vec()));
            assert_eq!(
                crc32(&[Part::Fixed(&a), Part::Fixed(&b)]),
                crc32fast::hash(&data)
            );
        }
    }
}
