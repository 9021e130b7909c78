//! Outgoing HTTP for guests (`wasi:http/outgoing-handler`), behind the `http` grant.
//!
//! Every request — a redirect is a new request the guest makes — is checked here before any
//! connection: the origin (`scheme://host:port`, default ports filled in) must be granted;
//! the host name is resolved once and, unless `extensions.http.allow_private`, every address
//! it resolves to must be public (no loopback, private, link-local — which covers the
//! 169.254.169.254 metadata service —, CGNAT, unique-local, multicast or reserved ranges), and
//! the connection goes to that vetted address, so the name cannot re-resolve elsewhere (DNS
//! rebinding). Requests per call and response bytes are capped; the call's deadline bounds
//! the time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Limits of outgoing HTTP, from `extensions.http.*`.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub allow_private: bool,
    pub max_requests: u32,
    pub max_response_bytes: u64,
}

/// The per-call gate: which origins, how many requests are left.
pub struct HttpGate {
    origins: Arc<Vec<String>>,
    limits: HttpLimits,
    sent: u32,
}

impl HttpGate {
    pub fn new(origins: Arc<Vec<String>>, limits: HttpLimits) -> Self {
        Self {
            origins,
            limits,
            sent: 0,
        }
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
)>;

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let checked = self.check(request.uri());
        let limits = self.limits;
        Box::new(async move {
            let target = checked?;
            let addr = resolve(&target, limits.allow_private).await?;
            send(request, target, addr, options, limits.max_response_bytes).await
        })
    }
}

/// What a request is allowed to reach.
struct Target {
    https: bool,
    host: String,
    port: u16,
}

impl HttpGate {
    fn check(&mut self, uri: &http::Uri) -> Result<Target, Error> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(denied(uri, "only http and https")),
        };
        let host = uri
            .host()
            .ok_or(Error::HttpRequestUriInvalid)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if !self
            .origins
            .iter()
            .any(|granted| grants(granted, https, &host, port))
        {
            return Err(denied(uri, "origin not granted"));
        }
        if self.sent >= self.limits.max_requests {
            return Err(denied(uri, "too many requests in one call"));
        }
        self.sent += 1;
        Ok(Target { https, host, port })
    }
}

fn denied(uri: &http::Uri, why: &str) -> Error {
    tracing::info!(%uri, why, "outgoing request refused");
    Error::HttpRequestDenied
}

fn origin_of(https: bool, host: &str, port: u16) -> String {
    let scheme = if https { "https" } else { "http" };
    if host.contains(':') {
        format!("{scheme}://[{host}]:{port}")
    } else {
        format!("{scheme}://{host}:{port}")
    }
}

/// Does the granted origin cover this request? An exact origin (default ports filled in), or a
/// wildcard host: `https://*` (any host, port 443) or `https://*.example.com` (its subdomains).
fn grants(granted: &str, https: bool, host: &str, port: u16) -> bool {
    let scheme = if https { "https://" } else { "http://" };
    if let Some(pattern) = granted.strip_prefix(scheme)
        && pattern.starts_with('*')
    {
        let default = if https { 443 } else { 80 };
        let (pattern, want_port) = match pattern.rsplit_once(':') {
            Some((p, port)) => (p, port.parse().ok()),
            None => (pattern, Some(default)),
        };
        let host_ok = match pattern.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => pattern == "*",
        };
        return host_ok && want_port == Some(port);
    }
    normalize(granted).as_deref() == Some(origin_of(https, host, port).as_str())
}

/// A granted origin with its default port spelled out (`https://a.com` → `https://a.com:443`).
fn normalize(granted: &str) -> Option<String> {
    let uri: http::Uri = granted.parse().ok()?;
    let https = match uri.scheme_str()? {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    let host = uri
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    Some(origin_of(
        https,
        &host,
        uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
    ))
}

/// Resolves once and vets every address; returns the one to connect to.
async fn resolve(target: &Target, allow_private: bool) -> Result<SocketAddr, Error> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|_| Error::DnsError {
            rcode: None,
            info_code: None,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::DestinationNotFound);
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        tracing::info!(host = %target.host, address = %bad.ip(), "outgoing request to a non-public address refused");
        return Err(Error::DestinationIpProhibited);
    }
    Ok(addrs[0])
}

/// Globally routable unicast, as far as a guest is concerned.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            let o = v6.octets();
            let v4_at = |i: usize| Ipv4Addr::new(o[i], o[i + 1], o[i + 2], o[i + 3]);
            // Forms that carry an IPv4 address, which a gateway or the kernel may unwrap:
            // IPv4-compatible (::/96, deprecated), NAT64 (64:ff9b::/96), 6to4 (2002::/16,
            // the IPv4 in bits 16–47) and Teredo (2001::/32: the server's IPv4 in bits
            // 32–63, the client's inverted in the last 32). Each is public only if what it
            // embeds is.
            if s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_unspecified() && !v6.is_loopback() {
                return is_public_v4(v4_at(12));
            }
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public_v4(v4_at(12));
            }
            // NAT64 for local use (64:ff9b:1::/48, RFC 8215) is never global; the IPv4 it
            // carries sits where its operator's prefix length puts it, so refuse it whole.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 0x0001 {
                return false;
            }
            if s[0] == 0x2002 {
                return is_public_v4(v4_at(2));
            }
            if s[0] == 0x2001 && s[1] == 0 {
                let client = Ipv4Addr::from(!u32::from(v4_at(12)));
                return is_public_v4(v4_at(4)) && is_public_v4(client);
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local (incl. fd00:ec2::254 metadata)
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, the metadata service among them
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240) // reserved
}

async fn send(
    mut request: http::Request<WasiBody>,
    target: Target,
    addr: SocketAddr,
    options: Option<RequestOptions>,
    max_bytes: u64,
) -> SendResult {
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(std::time::Duration::from_secs(30));
    let tcp = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(|_| Error::ConnectionRefused)?;
    // Origin-form on the wire: hyper's client connection sends the URI as given.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    let (response, connection) = if target.https {
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        let tls = tokio_rustls::TlsConnector::from(tls_config())
            .connect(name, tcp)
            .await
            .map_err(|_| Error::TlsProtocolError)?;
        exchange(hyper_util::rt::TokioIo::new(tls), request).await?
    } else {
        exchange(hyper_util::rt::TokioIo::new(tcp), request).await?
    };
    let response = response.map(|body| {
        Capped {
            inner: body,
            left: max_bytes,
        }
        .boxed_unsync()
    });
    Ok((response, Box::new(connection)))
}

type Exchanged = (
    http::Response<hyper::body::Incoming>,
    Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>,
);

async fn exchange<I>(io: I, request: http::Request<WasiBody>) -> Result<Exchanged, Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|_| Error::ConnectionTerminated)?;
    let mut connection: Pin<Box<dyn Future<Output = Result<(), Error>> + Send>> =
        Box::pin(async move { connection.await.map_err(Error::from) });
    // Drive the connection while waiting for the response head. A connection that ends
    // cleanly first (the origin closed after a short response) has delivered the response.
    let send = sender.send_request(request);
    tokio::pin!(send);
    let response = tokio::select! {
        biased;
        response = &mut send => response.map_err(Error::from)?,
        done = &mut connection => {
            done?;
            connection = Box::pin(async { Ok(()) });
            send.await.map_err(Error::from)?
        }
    };
    Ok((response, connection))
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            Arc::new(
                rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

/// A response body that fails once it passes the byte cap.
struct Capped {
    inner: hyper::body::Incoming,
    left: u64,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > self.left {
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(None))));
                    }
                    self.left -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(Error::from(err)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            // IPv4-compatible, NAT64 (well-known and local-use), 6to4 and Teredo forms of
            // refused IPv4 addresses.
            "::127.0.0.1",
            "::a9fe:a9fe",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::10.1.2.3",
            "64:ff9b:1::a9fe:a9fe",
            "64:ff9b:1:fffe::1.1.1.1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2002:c0a8:101::1",
            "2001:0:7f00:1::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
        ] {
            assert!(
                !is_public(ip.parse().expect("ip")),
                "{ip} must not be public"
            );
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::1.1.1.1",
            "64:ff9b::1.1.1.1",
            "2002:101:101::1",
            // Teredo: server 65.54.227.120, client 192.0.2.45 inverted is refused (documentation
            // range); this one carries client 1.1.1.1 (inverted: fefe:fefe).
            "2001:0:4136:e378:8000:63bf:fefe:fefe",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip} is public");
        }
    }

    #[test]
    fn origins_compare_with_default_ports() {
        assert_eq!(
            normalize("https://A.com").as_deref(),
            Some("https://a.com:443")
        );
        assert_eq!(
            normalize("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of(false, "::1", 80), "http://[::1]:80");
        assert!(grants("https://*", true, "example.org", 443));
        assert!(!grants("https://*", false, "example.org", 80));
        assert!(!grants("https://*", true, "example.org", 8443));
        assert!(grants(
            "https://*.example.org",
            true,
            "api.example.org",
            443
        ));
        assert!(!grants(
            "https://*.example.org",
            true,
            "example.org.evil.com",
            443
        ));
        assert!(!grants(
            "https://*.example.org",
            true,
            "evilexample.org",
            443
        ));
        assert!(grants(
            "https://api.example.org",
            true,
            "api.example.org",
            443
        ));
    }
}
