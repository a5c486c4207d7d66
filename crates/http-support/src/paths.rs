//! Paths built from values that come from outside the program's code (a configuration file's
//! template values, a discovered device's id, a link in an upstream API's answer): one
//! percent-encoder for a value that must stay one path segment, and the dot-segment check
//! (`.` and `..`, plain or percent-encoded, however many times), which the URL parsers of the
//! client, of a proxy on the way and of the API itself each resolve their own way.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a value for one path segment: everything but RFC 3986's unreserved
/// characters, so that a value cannot add a segment (`/`), a query (`?`) or a fragment. A value
/// `.` or `..` stays as it is (dots are unreserved): [`has_dot_segment`] refuses the path.
pub fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Whether a path segment means `.` or `..` once percent-decoded, once or several times
/// (`..`, `%2e%2E`, `%252e%252e`...).
pub fn is_dot_segment(segment: &str) -> bool {
    let mut s = segment.to_string();
    for _ in 0..4 {
        if s == "." || s == ".." {
            return true;
        }
        let decoded = percent_decode_str(&s).decode_utf8_lossy().into_owned();
        if decoded == s {
            return false;
        }
        s = decoded;
    }
    s == "." || s == ".."
}

/// Whether the path part of `path` (before any `?` or `#`) has a dot segment
/// ([`is_dot_segment`]).
pub fn has_dot_segment(path: &str) -> bool {
    path.split(['?', '#'])
        .next()
        .unwrap_or_default()
        .split('/')
        .any(is_dot_segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_plain_and_encoded() {
        for dot in [".", "..", "%2e", "%2E%2e", ".%2E", "%252e%252E", "%25252e"] {
            assert!(is_dot_segment(dot), "{dot}");
        }
        for not in ["", "...", "a..", ".x", "%2e%2e%2e", "%2f", "x%2e"] {
            assert!(!is_dot_segment(not), "{not}");
        }
        assert!(has_dot_segment("/a/../b"));
        assert!(has_dot_segment("/a/%2e%2E"));
        assert!(has_dot_segment("/a/."));
        assert!(!has_dot_segment("/a/b?x=../.."));
        assert!(!has_dot_segment("/a/b.c/d..e"));
    }

    #[test]
    fn a_value_stays_one_segment() {
        assert_eq!(path_segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(path_segment("%2e%2e"), "%252e%252e");
        assert!(has_dot_segment(&format!("/x/{}", path_segment("%2e%2e"))));
        assert!(has_dot_segment(&format!("/x/{}", path_segment(".."))));
    }
}
