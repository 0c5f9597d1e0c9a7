//! TLS on the listener: the certificate chain and key come from PEM files
//! and are reloaded when the files change, so a renewed certificate needs no
//! restart; client certificates from a given CA may be required (mutual
//! TLS for partner agencies).
//!
//! tonic's own `ServerTlsConfig` is fixed at start, so the handshake is done
//! here with tokio-rustls and the TLS streams are handed to tonic as its
//! incoming connections.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::TcpIncoming;

use crate::config::TlsConfig;

/// A client that has not finished its handshake by then is dropped, so that
/// idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 64;

/// The server's TLS: how to accept connections and which certificate to
/// present.
pub struct Tls {
    acceptor: TlsAcceptor,
    certificate: Arc<ReloadingCertificate>,
    reload_every: Duration,
    client_certificates_required: bool,
}

impl Tls {
    /// Loads the files `config` names; `None` when no certificate is
    /// configured (plain HTTP/2, as behind a TLS-terminating proxy).
    pub fn load(config: &TlsConfig) -> Result<Option<Tls>, String> {
        let (Some(cert), Some(key)) = (&config.cert, &config.key) else {
            return Ok(None);
        };
        let provider = Arc::new(ring_provider());
        let certificate = Arc::new(ReloadingCertificate::load(cert, key, Arc::clone(&provider))?);
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let builder = match &config.client_ca {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for certificate in read_certificates(path)? {
                    roots.add(certificate).map_err(|e| format!("TLS: the client CA {}: {e}", path.display()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| format!("TLS: the client CA {}: {e}", path.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut server_config = builder.with_cert_resolver(Arc::clone(&certificate) as Arc<dyn ResolvesServerCert>);
        // gRPC over HTTP/2; gRPC-Web from browsers may come over HTTP/1.1.
        server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Some(Tls {
            acceptor: TlsAcceptor::from(Arc::new(server_config)),
            certificate,
            reload_every: Duration::from_millis(config.reload_interval_ms.max(1)),
            client_certificates_required: config.client_ca.is_some(),
        }))
    }

    /// Whether clients must present a certificate from the client CA.
    pub fn requires_client_certificates(&self) -> bool {
        self.client_certificates_required
    }

    /// Watches the certificate and key files, and swaps in the new pair once
    /// both load and fit together; until then the previous one is served.
    pub fn spawn_reloader(&self) -> JoinHandle<()> {
        let certificate = Arc::clone(&self.certificate);
        let every = self.reload_every;
        tokio::spawn(async move { certificate.follow(every).await })
    }

    /// The TLS connections made on `tcp`. Handshakes run concurrently (a
    /// slow client holds up no one) and failed ones are dropped; listener
    /// errors are passed on for tonic to judge, as without TLS. Accepting
    /// stops when the server drops the stream.
    pub fn incoming(&self, mut tcp: TcpIncoming) -> ReceiverStream<io::Result<TlsStream<TcpStream>>> {
        let (accepted, stream) = mpsc::channel(ACCEPTED_BACKLOG);
        let acceptor = self.acceptor.clone();
        tokio::spawn(async move {
            loop {
                let connection = tokio::select! {
                    () = accepted.closed() => return,
                    next = tcp.next() => match next {
                        Some(Ok(connection)) => connection,
                        Some(Err(error)) => {
                            if accepted.send(Err(error)).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        None => return,
                    },
                };
                let acceptor = acceptor.clone();
                let accepted = accepted.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(connection)).await {
                        Ok(Ok(tls)) => {
                            let _ = accepted.send(Ok(tls)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        ReceiverStream::new(stream)
    }
}

/// rustls on *ring*, as the SDK's tonic (`tls-ring`): aws-lc-rs would add a
/// second crypto library and a cmake build. rustls 0.23.48 deprecated the
/// *ring* provider for its lack of post-quantum key exchange; revisit
/// when tonic moves on.
#[allow(deprecated, reason = "ring is the provider tonic's tls-ring uses too")]
fn ring_provider() -> CryptoProvider {
    ring::default_provider()
}

/// The certificate presented to every handshake, replaced when its files
/// change.
struct ReloadingCertificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' state when `current` was read from them.
    loaded: RwLock<Option<Stamp>>,
}

/// What tells that a file changed: its modification time and length.
type FileStamp = (SystemTime, u64);

/// The stamps of the certificate file and the key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp(FileStamp, FileStamp);

impl ReloadingCertificate {
    fn load(cert_path: &Path, key_path: &Path, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        // Stamped before reading, so a change made meanwhile is seen later.
        let stamp = stamp(cert_path, key_path).ok();
        let key = read_certified_key(cert_path, key_path, &provider)?;
        Ok(ReloadingCertificate {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider,
            current: RwLock::new(Arc::new(key)),
            loaded: RwLock::new(stamp),
        })
    }

    fn current(&self) -> Arc<CertifiedKey> {
        // Replaced wholesale, so consistent even if a writer panicked.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Polls the files every `every`; reloads when their stamp changes.
    /// A pair that does not load is tried again at every poll (a renewal may
    /// be halfway written) and reported once per change.
    async fn follow(self: Arc<Self>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut reported: Option<(Option<Stamp>, String)> = None;
        loop {
            ticker.tick().await;
            let this = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || this.reload_if_changed()).await {
                Ok(Reload::Unchanged) => {}
                Ok(Reload::Reloaded) => {
                    tracing::info!(certificate = %self.cert_path.display(), "TLS certificate reloaded");
                    reported = None;
                }
                Ok(Reload::Failed { stamp, error }) => {
                    let failure = Some((stamp, error));
                    if reported != failure {
                        if let Some((_, error)) = &failure {
                            tracing::warn!(%error, "TLS: kept the previous certificate");
                        }
                        reported = failure;
                    }
                }
                Err(error) => tracing::warn!(%error, "TLS: the certificate reload task failed"),
            }
        }
    }

    /// Reloads if the files changed since the last load.
    fn reload_if_changed(&self) -> Reload {
        let stamp = match stamp(&self.cert_path, &self.key_path) {
            Ok(stamp) => stamp,
            Err(error) => return Reload::Failed { stamp: None, error },
        };
        if *self.loaded.read().unwrap_or_else(PoisonError::into_inner) == Some(stamp) {
            return Reload::Unchanged;
        }
        match read_certified_key(&self.cert_path, &self.key_path, &self.provider) {
            Ok(key) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
                *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = Some(stamp);
                Reload::Reloaded
            }
            Err(error) => Reload::Failed { stamp: Some(stamp), error },
        }
    }
}

/// What a look at the files did.
enum Reload {
    Unchanged,
    Reloaded,
    /// The files (as of `stamp`, when it could be read) do not load.
    Failed {
        stamp: Option<Stamp>,
        error: String,
    },
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Names the files only: never key material.
impl fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

fn stamp(cert_path: &Path, key_path: &Path) -> Result<Stamp, String> {
    let file = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| Ok((meta.modified()?, meta.len())))
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    Ok(Stamp(file(cert_path)?, file(key_path)?))
}

/// The certificates in a PEM file (at least one).
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("TLS: cannot read certificates from {}: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("TLS: {} holds no certificate", path.display()));
    }
    Ok(certificates)
}

/// The chain and its private key, checked to belong together.
fn read_certified_key(cert_path: &Path, key_path: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let chain = read_certificates(cert_path)?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        // The parser's own message may quote a line of the file.
        let why = match e {
            pem::Error::Io(error) => error.to_string(),
            pem::Error::NoItemsFound => "no private key in it".to_owned(),
            _ => "malformed PEM".to_owned(),
        };
        format!("TLS: cannot read the private key from {}: {why}", key_path.display())
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        format!("TLS: the key {} does not fit the certificate {}: {e}", key_path.display(), cert_path.display())
    })
}
