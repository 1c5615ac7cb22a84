//! The two encodings kubelab sends: gzip (every client) and brotli (browsers over HTTPS),
//! each at the level its caller can afford.

use std::io::Write as _;

use bytes::Bytes;

/// A gzip member of `bytes` at `level` (1 fastest, 9 smallest); none if compression fails,
/// so the caller sends the plain bytes.
pub fn gzip(bytes: &[u8], level: u32) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3 + 64),
        flate2::Compression::new(level),
    );
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .ok()
        .map(Bytes::from)
}

/// A brotli stream of `bytes` at `quality` (0-11); none if compression fails.
pub fn brotli(bytes: &[u8], quality: i32) -> Option<Bytes> {
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 22,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 4 + 64);
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)
        .ok()
        .map(|_| Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn both_encodings_round_trip() {
        let text = "<p>Pods talk to Pods without NAT.</p>\n".repeat(200);
        let zipped = gzip(text.as_bytes(), 9).unwrap();
        let mut back = String::new();
        flate2::read::GzDecoder::new(&zipped[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);
        let brotli = brotli(text.as_bytes(), 5).unwrap();
        let mut back = String::new();
        brotli::Decompressor::new(&brotli[..], 4096)
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);
        assert!(brotli.len() < text.len() / 10);
    }
}
