//! [`ClientBuilder`]: how a [`Client`] reaches the server (TLS roots, a
//! private CA, a client certificate, the connect timeout) and how it
//! retries.

use std::fmt;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::client::{CONNECT_TIMEOUT, Client, USER_AGENT};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// Options for connecting a [`Client`]; [`Client::connect`] is
/// `ClientBuilder::new(url).connect()`.
///
/// An `https://` URL connects over TLS (rustls). The server's certificate is
/// checked against the operating system's trusted roots unless CAs are
/// given with [`ca_certificate`](ClientBuilder::ca_certificate), which then
/// are the only ones trusted (a city's private CA, say).
/// [`client_identity`](ClientBuilder::client_identity) presents a client
/// certificate to servers that require one (mutual TLS, as for partner
/// agencies).
///
/// ```no_run
/// use std::time::Duration;
/// use petition_sdk::{ClientBuilder, RetryPolicy};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ClientBuilder::new("https://petition.example.gov.cn")
///     .ca_certificate(std::fs::read("city-ca.pem")?)
///     .client_identity(std::fs::read("court.crt")?, std::fs::read("court.key")?)
///     .retry_policy(RetryPolicy::default().with_max_elapsed(Duration::from_secs(30)))
///     .connect()
///     .await?;
/// client.login_with_client_credentials("court-1", "…", []).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until connect is called"]
pub struct ClientBuilder {
    url: String,
    connect_timeout: Duration,
    retry: RetryPolicy,
    /// PEM, as given.
    ca_certificates: Vec<Vec<u8>>,
    /// Certificate chain and private key, PEM.
    identity: Option<(Vec<u8>, Vec<u8>)>,
    domain_name: Option<String>,
    #[cfg(feature = "webpki-roots")]
    webpki_roots: bool,
}

impl ClientBuilder {
    /// Options for the server at `url`, such as `https://petition.example.gov.cn`
    /// or `http://127.0.0.1:50051`; a URL without a scheme is taken as
    /// `http://`.
    pub fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            url: url.into(),
            connect_timeout: CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            ca_certificates: Vec::new(),
            identity: None,
            domain_name: None,
            #[cfg(feature = "webpki-roots")]
            webpki_roots: false,
        }
    }

    /// How long to wait for the connection (TCP and the TLS handshake each);
    /// [`CONNECT_TIMEOUT`] by default.
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        ClientBuilder { connect_timeout: timeout, ..self }
    }

    /// How calls are retried ([`RetryPolicy::default`] unless set).
    pub fn retry_policy(self, policy: RetryPolicy) -> Self {
        ClientBuilder { retry: policy, ..self }
    }

    /// Trusts the CA certificate(s) in `pem` for the server's certificate,
    /// instead of the system's roots. May be called more than once.
    pub fn ca_certificate(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.ca_certificates.push(pem.as_ref().to_vec());
        self
    }

    /// Presents this certificate chain and private key (both PEM) to
    /// servers that ask for a client certificate.
    pub fn client_identity(self, certificate_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Self {
        ClientBuilder { identity: Some((certificate_pem.as_ref().to_vec(), key_pem.as_ref().to_vec())), ..self }
    }

    /// Checks the server's certificate for this name instead of the URL's
    /// host (when connecting by address to a server known by name).
    pub fn domain_name(self, name: impl Into<String>) -> Self {
        ClientBuilder { domain_name: Some(name.into()), ..self }
    }

    /// Trusts the Mozilla roots compiled into the SDK instead of the
    /// system's, for hosts without a trust store (minimal containers).
    #[cfg(feature = "webpki-roots")]
    pub fn webpki_roots(self) -> Self {
        ClientBuilder { webpki_roots: true, ..self }
    }

    /// Connects now, waiting at most the connect timeout; a connection that
    /// drops later is made again on the next call.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`](crate::ErrorKind::Connect) if the URL is
    /// invalid, or the server cannot be reached or fails the TLS handshake;
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if a PEM
    /// given holds no certificate (or key), or TLS options are given with a
    /// plain `http://` URL (they would be silently ignored).
    pub async fn connect(self) -> Result<Client> {
        let retry = self.retry;
        let url = self.url_with_scheme();
        let endpoint = self.endpoint()?;
        let channel = endpoint.connect().await.map_err(|error| Error::connect(&url, error))?;
        Ok(Client::from_channel(channel).with_retry_policy(retry))
    }

    fn url_with_scheme(&self) -> String {
        if self.url.contains("://") { self.url.clone() } else { format!("http://{}", self.url) }
    }

    fn endpoint(self) -> Result<Endpoint> {
        let url = self.url_with_scheme();
        let endpoint = Endpoint::from_shared(url.clone())
            .and_then(|endpoint| endpoint.user_agent(USER_AGENT))
            .map_err(|error| Error::connect(&url, error))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true);
        if endpoint.uri().scheme_str() != Some("https") {
            if self.has_tls_options() {
                return Err(Error::invalid_input(format!("{url}: TLS options need an https:// URL")));
            }
            return Ok(endpoint);
        }
        let tls = self.tls_config()?;
        endpoint.tls_config(tls).map_err(|error| Error::connect(&url, error))
    }

    fn has_tls_options(&self) -> bool {
        #[cfg(feature = "webpki-roots")]
        if self.webpki_roots {
            return true;
        }
        !self.ca_certificates.is_empty() || self.identity.is_some() || self.domain_name.is_some()
    }

    fn tls_config(self) -> Result<ClientTlsConfig> {
        let mut tls = ClientTlsConfig::new().timeout(self.connect_timeout);
        if !self.ca_certificates.is_empty() {
            for pem in &self.ca_certificates {
                check_certificates(pem, "a CA certificate")?;
            }
            tls = tls.ca_certificates(self.ca_certificates.iter().map(Certificate::from_pem));
        } else {
            #[cfg(feature = "webpki-roots")]
            if self.webpki_roots {
                tls = tls.with_webpki_roots();
            } else {
                tls = tls.with_native_roots();
            }
            #[cfg(not(feature = "webpki-roots"))]
            {
                tls = tls.with_native_roots();
            }
        }
        if let Some((certificate, key)) = self.identity {
            check_certificates(&certificate, "the client certificate")?;
            // The parser's error is left out: it may quote a line of the key.
            PrivateKeyDer::from_pem_slice(&key)
                .map_err(|_| Error::invalid_input("the client key PEM holds no usable private key"))?;
            tls = tls.identity(Identity::from_pem(certificate, key));
        }
        if let Some(name) = self.domain_name {
            tls = tls.domain_name(name);
        }
        Ok(tls)
    }
}

/// Fails unless `pem` holds at least one certificate and nothing unreadable
/// (tonic would take an empty file as no CA at all).
fn check_certificates(pem: &[u8], what: &str) -> Result<()> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|error| Error::invalid_input(format!("{what} PEM is unreadable: {error}")))?;
    if certificates.is_empty() {
        return Err(Error::invalid_input(format!("{what} PEM holds no certificate")));
    }
    Ok(())
}

/// Shows the options, never the client's private key.
impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("ca_certificates", &self.ca_certificates.len())
            .field("client_identity", &self.identity.is_some())
            .field("domain_name", &self.domain_name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn debug_never_shows_the_private_key() {
        let builder = ClientBuilder::new("https://example.com").client_identity("CERT", "PRIVATE-KEY-BYTES");
        let printed = format!("{builder:?}");
        assert!(printed.contains("client_identity: true"), "{printed}");
        assert!(!printed.contains("PRIVATE-KEY-BYTES"), "{printed}");
    }

    #[test]
    fn tls_options_need_https() {
        let error = ClientBuilder::new("127.0.0.1:50051").ca_certificate("PEM").endpoint().err();
        assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        assert!(ClientBuilder::new("http://127.0.0.1:50051").endpoint().is_ok());
    }

    #[test]
    fn unusable_pem_fails_before_connecting() {
        let kind = |builder: ClientBuilder| builder.endpoint().err().map(|e| e.kind());
        let https = || ClientBuilder::new("https://127.0.0.1:1");
        assert_eq!(kind(https().ca_certificate("not a certificate")), Some(ErrorKind::InvalidInput));
        assert_eq!(kind(https().client_identity("", "")), Some(ErrorKind::InvalidInput));
        // Without options, the system's roots (none may be installed here).
        assert!(matches!(kind(https()), None | Some(ErrorKind::Connect)));
    }
}
