//! What a request accepts and already holds: `Accept-Encoding` (gzip, brotli) and
//! `If-None-Match` (a cached copy still valid), read without allocating.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_ENCODING, IF_NONE_MATCH};

/// Whether the client takes a gzip body.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    accepts(headers, "gzip")
}

/// Whether the client takes a brotli body (browsers offer it over HTTPS only).
pub fn accepts_br(headers: &HeaderMap) -> bool {
    accepts(headers, "br")
}

/// Whether `coding` (or `*`) is listed in `Accept-Encoding` with a non-zero quality.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let listed = parts.next().unwrap_or("").trim();
            if !(listed.eq_ignore_ascii_case(coding) || listed == "*") {
                return false;
            }
            // `q=0` means "not this one"; anything else (or no q) is acceptable.
            parts.all(|param| {
                let param = param.trim();
                match param.split_once('=') {
                    Some((name, value)) if name.trim().eq_ignore_ascii_case("q") => value
                        .trim()
                        .parse::<f32>()
                        .map(|q| q > 0.0)
                        .unwrap_or(false),
                    _ => true,
                }
            })
        })
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for GET) or `*`.
pub fn still_fresh(headers: &HeaderMap, etag: &str) -> bool {
    let ours = etag.strip_prefix("W/").unwrap_or(etag);
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip(&with(ACCEPT_ENCODING, "gzip, deflate, br")));
        assert!(accepts_gzip(&with(ACCEPT_ENCODING, "br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with(ACCEPT_ENCODING, "*")));
        assert!(!accepts_gzip(&with(ACCEPT_ENCODING, "gzip;q=0")));
        assert!(!accepts_gzip(&with(ACCEPT_ENCODING, "gzip; q=0.000")));
        assert!(!accepts_gzip(&with(ACCEPT_ENCODING, "identity, br")));
        assert!(!accepts_gzip(&with(ACCEPT_ENCODING, "x-gzip-not")));
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(accepts_br(&with(
            ACCEPT_ENCODING,
            "gzip, deflate, br, zstd"
        )));
        assert!(!accepts_br(&with(ACCEPT_ENCODING, "gzip, deflate")));
        assert!(!accepts_br(&with(ACCEPT_ENCODING, "brotli")));
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        assert!(still_fresh(&with(IF_NONE_MATCH, "\"a\""), "\"a\""));
        assert!(still_fresh(&with(IF_NONE_MATCH, "\"x\", W/\"a\""), "\"a\""));
        assert!(still_fresh(&with(IF_NONE_MATCH, "*"), "\"a\""));
        assert!(!still_fresh(&with(IF_NONE_MATCH, "\"ab\""), "\"a\""));
        assert!(!still_fresh(&HeaderMap::new(), "\"a\""));
    }
}
