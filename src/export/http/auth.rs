//! The endpoint's optional authentication: bearer tokens and HTTP basic
//! credentials, compared in constant time.
#![forbid(unsafe_code)]

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use std::fmt;

/// The credentials a request may present; none configured means no
/// authentication.
#[derive(Clone, Default)]
pub(super) struct Auth {
    /// Accepted `Bearer` tokens.
    bearer: Vec<Vec<u8>>,
    /// Accepted `Basic` credentials, base64 of `user:password` (as sent).
    basic: Vec<Vec<u8>>,
}

impl fmt::Debug for Auth {
    // Never prints a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("bearer_tokens", &self.bearer.len())
            .field("basic_credentials", &self.basic.len())
            .finish()
    }
}

impl Auth {
    pub(super) fn add_bearer(&mut self, token: &str) {
        self.bearer.push(token.as_bytes().to_vec());
    }

    pub(super) fn add_basic(&mut self, user: &str, password: &str) {
        self.basic
            .push(basic_credentials(user, password).into_bytes());
    }

    /// `None` if `req` may be answered, else the 401 response to send.
    pub(super) fn check<B>(&self, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
        if self.bearer.is_empty() && self.basic.is_empty() {
            return None;
        }
        let presented = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
        if presented.is_some_and(|p| self.accepts(p)) {
            return None;
        }
        Some(self.unauthorized())
    }

    /// Whether the `Authorization` value `value` carries accepted
    /// credentials. Every configured credential is compared, each in
    /// constant time, whatever matches.
    fn accepts(&self, value: &[u8]) -> bool {
        let (scheme, credentials) = split_scheme(value);
        let candidates = if scheme.eq_ignore_ascii_case(b"bearer") {
            &self.bearer
        } else if scheme.eq_ignore_ascii_case(b"basic") {
            &self.basic
        } else {
            return false;
        };
        candidates
            .iter()
            .fold(false, |ok, c| ok | constant_time_eq(c, credentials))
    }

    fn unauthorized(&self) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(Bytes::from_static(b"unauthorized\n")));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        let h = r.headers_mut();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if !self.bearer.is_empty() {
            h.append(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
        }
        if !self.basic.is_empty() {
            h.append(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"metrics\", charset=\"UTF-8\""),
            );
        }
        r
    }
}

/// The credentials of HTTP basic authentication (RFC 7617): base64 of
/// `user:password`, padded.
pub(super) fn basic_credentials(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// `(scheme, credentials)` of an `Authorization` value, white space
/// around the credentials trimmed.
fn split_scheme(value: &[u8]) -> (&[u8], &[u8]) {
    let value = value.trim_ascii();
    match value.iter().position(|&b| b == b' ') {
        Some(i) => (&value[..i], value[i + 1..].trim_ascii()),
        None => (value, &[]),
    }
}

/// Whether `a == b`, in time that depends on their lengths only (the
/// length of a secret is not hidden; the bytes are).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(authorization: Option<&str>) -> Request<()> {
        let mut b = Request::builder().uri("/metrics");
        if let Some(a) = authorization {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn credentials_are_checked_per_scheme() {
        let mut auth = Auth::default();
        assert!(
            auth.check(&req(None)).is_none(),
            "no credentials configured"
        );
        auth.add_bearer("s3cret-token");
        auth.add_basic("prom", "pa:ss");
        // RFC 7617's example shape: base64("prom:pa:ss").
        assert_eq!(basic_credentials("prom", "pa:ss"), "cHJvbTpwYTpzcw==");
        for ok in [
            "Bearer s3cret-token",
            "bearer   s3cret-token ",
            "Basic cHJvbTpwYTpzcw==",
        ] {
            assert!(auth.check(&req(Some(ok))).is_none(), "{ok}");
        }
        for wrong in [
            "Bearer s3cret-tokeN",
            "Bearer s3cret-token2",
            "Bearer",
            "s3cret-token",
            "Basic s3cret-token",
            "Bearer cHJvbTpwYTpzcw==",
            "Digest cHJvbTpwYTpzcw==",
        ] {
            let r = auth.check(&req(Some(wrong))).expect(wrong);
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let r = auth.check(&req(None)).unwrap();
        let challenges: Vec<_> = r.headers().get_all(WWW_AUTHENTICATE).iter().collect();
        assert_eq!(challenges.len(), 2, "{challenges:?}");
        assert!(!format!("{auth:?}").contains("s3cret"));
    }

    #[test]
    fn equality_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
