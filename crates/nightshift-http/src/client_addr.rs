//! Which address a secret attempt comes from, per platform, for the throttle
//! (`nightshift_core::throttle`). Only what the platform itself vouches for
//! is trusted; a header the caller can write is never read where a proxy
//! does not overwrite it. See docs/decisions.md, "[sec] Throttled secret
//! attempts".
//!
//! - Vercel (`VERCEL` set in the function's environment by the platform):
//!   `X-Forwarded-For`, which Vercel's edge overwrites with the address it
//!   saw, dropping whatever the client sent. The runtime's own listener is
//!   on 127.0.0.1, so the peer address says nothing there.
//! - AWS Lambda: the request context's `sourceIp` (Function URLs, API
//!   Gateway HTTP and REST APIs), written by AWS from the connection; their
//!   `X-Forwarded-For` keeps what the client sent. Behind an ALB there is no
//!   `sourceIp`; the ALB appends the peer it saw as the last entry of
//!   `X-Forwarded-For`, the only entry it vouches for.
//! - `nightshift serve`: the TCP peer (axum's `ConnectInfo`), read by core.
//! - Anything else (the runtime's local dev server): none, so every such
//!   caller shares one "unknown" scope.

use std::net::IpAddr;

use http::HeaderMap;
use nightshift_core::throttle::ClientAddr;

/// Marks a request the Vercel runtime hands over with its client address.
pub fn vercel<B>(mut req: http::Request<B>) -> http::Request<B> {
    if std::env::var_os("VERCEL").is_some()
        && let Some(ip) = forwarded(req.headers(), First)
    {
        req.extensions_mut().insert(ClientAddr(ip));
    }
    req
}

/// The client address of a Lambda event, from its request context.
pub fn lambda(req: &lambda_http::Request) -> Option<IpAddr> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let source = match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
        RequestContext::Alb(_) => return forwarded(req.headers(), Last),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    source?.trim().parse().ok()
}

#[derive(Clone, Copy)]
enum Entry {
    First,
    Last,
}
use Entry::*;

fn forwarded(headers: &HeaderMap, which: Entry) -> Option<IpAddr> {
    let value = headers.get("x-forwarded-for")?.to_str().ok()?;
    let mut entries = value.split(',').map(str::trim);
    let entry = match which {
        First => entries.next(),
        Last => entries.next_back(),
    }?;
    entry.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_entry_the_proxy_vouches_for() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.7".parse().unwrap(),
        );
        assert_eq!(forwarded(&h, First), "198.51.100.9".parse().ok());
        assert_eq!(forwarded(&h, Last), "203.0.113.7".parse().ok());
        h.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(forwarded(&h, First), None);
        assert_eq!(forwarded(&HeaderMap::new(), Last), None);
    }
}
