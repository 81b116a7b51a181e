//! The controller's health endpoints, for the kubelet's probes
//! (`sync --watch --health-probe-bind-address`, as controller-runtime's
//! flag): `GET /healthz` answers `200 ok` while the process serves, `GET
//! /readyz` `200 ok` once the controller has started (holding the Lease
//! or waiting for it), `503` before; anything else is `404`. HTTP/1.1 on
//! plain TCP (hyper's server), no TLS: the probes come from the node.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

use crate::error::Error;

/// Parses `--health-probe-bind-address`: `0` (off), `:PORT` (every
/// address), `HOST:PORT` (an IP address; IPv6 in brackets). `None` when
/// off.
pub fn parse_address(text: &str) -> Result<Option<SocketAddr>, Error> {
    if text == "0" {
        return Ok(None);
    }
    let full = match text.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => text.to_string(),
    };
    full.parse::<SocketAddr>().map(Some).map_err(|_| {
        Error::Usage(format!(
            "invalid value {text:?} for --health-probe-bind-address: :PORT, HOST:PORT (an IP address), or 0 to serve none"
        ))
    })
}

fn answer(path: &str, ready: bool) -> Response<Full<Bytes>> {
    let (status, body) = match path {
        "/healthz" | "/livez" => (StatusCode::OK, "ok\n"),
        "/readyz" if ready => (StatusCode::OK, "ok\n"),
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, "not started yet\n"),
        _ => (StatusCode::NOT_FOUND, "404 page not found\n"),
    };
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Binds `address` now (an error names it when it cannot) and serves the
/// endpoints on a task until the runtime ends; `ready` is read at each
/// request. Returns the address bound (for `:0`).
pub async fn serve(address: SocketAddr, ready: Arc<AtomicBool>) -> Result<SocketAddr, Error> {
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        Error::Config(format!(
            "cannot serve the health endpoints on {address} (--health-probe-bind-address): {e}"
        ))
    })?;
    let bound = listener.local_addr().unwrap_or(address);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let ready = ready.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let r = answer(req.uri().path(), ready.load(Ordering::Relaxed));
                        async move { Ok::<_, std::convert::Infallible>(r) }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_controller_runtime_takes_them() {
        assert_eq!(parse_address("0").unwrap(), None);
        assert_eq!(
            parse_address(":8081").unwrap(),
            Some("0.0.0.0:8081".parse().unwrap())
        );
        assert_eq!(
            parse_address("127.0.0.1:9").unwrap(),
            Some("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(
            parse_address("[::1]:9").unwrap(),
            Some("[::1]:9".parse().unwrap())
        );
        for bad in ["", "8081", "localhost:8081", ":x", "1.2.3.4"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ready_only_once_started() {
        assert_eq!(answer("/healthz", false).status(), StatusCode::OK);
        assert_eq!(
            answer("/readyz", false).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(answer("/readyz", true).status(), StatusCode::OK);
        assert_eq!(answer("/metrics", true).status(), StatusCode::NOT_FOUND);
    }
}
