//! [`Authorization`]: credentials the exporter sends with every request.
#![forbid(unsafe_code)]

use std::fmt;

/// The `Authorization` header the exporter sends with every request (events
/// and remote write): a bearer token or HTTP basic credentials. `Debug`
/// never shows the secret.
///
/// ```
/// use hotmetrics::telemetry::Authorization;
///
/// let basic = Authorization::basic("Aladdin", "open sesame");
/// assert_eq!(basic.header_value(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// let bearer = Authorization::bearer("abc.def");
/// assert_eq!(bearer.header_value(), "Bearer abc.def");
/// assert!(!format!("{bearer:?}").contains("abc"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization(String);

impl Authorization {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: &str) -> Authorization {
        Authorization(format!("Bearer {token}"))
    }

    /// `Authorization: Basic <base64 of user:password>` (RFC 7617, padded).
    pub fn basic(user: &str, password: &str) -> Authorization {
        Authorization(format!(
            "Basic {}",
            base64(format!("{user}:{password}").as_bytes())
        ))
    }

    /// The header's value.
    pub fn header_value(&self) -> &str {
        &self.0
    }

    /// Whether the value can be sent as a header: visible ASCII and spaces
    /// only (no line breaks or other control characters).
    pub(crate) fn is_valid(&self) -> bool {
        self.0.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.0.split(' ').next().unwrap_or("");
        write!(f, "Authorization({scheme} <redacted>)")
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn header_values_with_control_characters_are_invalid() {
        assert!(Authorization::bearer("a.b-c_d~e+f/g=").is_valid());
        assert!(Authorization::basic("user", "pässword\n").is_valid());
        assert!(!Authorization::bearer("a\r\nX-Evil: 1").is_valid());
        assert!(!Authorization::bearer("é").is_valid());
    }
}
