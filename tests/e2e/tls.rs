//! TLS on the server, driven through the SDK: a private CA, mutual TLS for
//! partner agencies, gRPC-Web over TLS, and a renewed certificate served to
//! new connections without a restart. The CAs and certificates are made
//! here with rcgen.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use petition_sdk::{Client, ClientBuilder, RetryPolicy};
use petition_tests::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A certificate authority of the test's own.
struct Ca(CertifiedIssuer<'static, KeyPair>);

/// A certificate and its private key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Result<Ca> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ok(Ca(CertifiedIssuer::self_signed(params, KeyPair::generate()?)?))
    }

    fn pem(&self) -> String {
        self.0.pem()
    }

    /// A certificate for `localhost` and `127.0.0.1`, for a server or a
    /// client (`purpose`).
    fn issue(&self, name: &str, purpose: ExtendedKeyUsagePurpose) -> Result<Leaf> {
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.0)?;
        Ok(Leaf { cert: cert.pem(), key: key.serialize_pem() })
    }

    fn server(&self) -> Result<Leaf> {
        self.issue("petition server", ExtendedKeyUsagePurpose::ServerAuth)
    }
}

/// A folder for the test's PEM files, removed when dropped.
struct Files(PathBuf);

impl Files {
    fn new() -> Result<Files> {
        let dir = std::env::temp_dir().join(format!("petition-tls-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        Ok(Files(dir))
    }

    fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.0.join(name);
        std::fs::write(&path, contents)?;
        Ok(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server serving `leaf` (written to `server.crt`/`server.key`), with
/// settings changed by `adjust`.
async fn tls_server(
    files: &Files,
    leaf: &Leaf,
    adjust: impl FnOnce(&mut petition_server::config::Config),
) -> Result<TestServer> {
    let cert = files.write("server.crt", &leaf.cert)?;
    let key = files.write("server.key", &leaf.key)?;
    TestServer::spawn_with(|c| {
        c.tls.cert = Some(cert);
        c.tls.key = Some(key);
        adjust(c);
    })
    .await
}

/// A client trusting `ca` only, making each call once (a refusal is the
/// answer here, not a reason to try again).
fn trusting(server: &TestServer, ca: &Ca) -> ClientBuilder {
    ClientBuilder::new(server.url.clone()).ca_certificate(ca.pem()).retry_policy(RetryPolicy::none())
}

/// Connects and signs in as the admin: the first call that needs the
/// server, so any TLS refusal shows here.
async fn sign_in(builder: ClientBuilder) -> Result<Client> {
    let client = builder.connect().await?;
    client.login("admin", ADMIN_PASSWORD).await?;
    Ok(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_connects_over_tls_with_a_private_ca() -> Result<()> {
    let files = Files::new()?;
    let ca = Ca::new("petition test CA")?;
    let server = tls_server(&files, &ca.server()?, |_| {}).await?;
    assert!(server.url.starts_with("https://"), "{}", server.url);

    let client = sign_in(trusting(&server, &ca)).await?;
    assert_eq!(client.identity().get_me().await?.login_name, "admin");

    // Plain HTTP/2 to the TLS port gets nowhere.
    let plain = ClientBuilder::new(server.url.replacen("https://", "http://", 1)).retry_policy(RetryPolicy::none());
    assert!(sign_in(plain).await.is_err(), "plain text to a TLS port");
    // Nor does a client that does not trust the CA.
    let stranger = Ca::new("another CA")?;
    assert!(sign_in(trusting(&server, &stranger)).await.is_err(), "an untrusted certificate");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_works_over_tls() -> Result<()> {
    let files = Files::new()?;
    let ca = Ca::new("petition test CA")?;
    let server = tls_server(&files, &ca.server()?, |_| {}).await?;

    // A browser's gRPC-Web call over HTTP/1.1 and TLS: the health check
    // with an empty request (one uncompressed, zero-length frame).
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca.pem().as_bytes())?)?;
    let mut config = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let address = server.url.trim_start_matches("https://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&address).await?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost")?.to_owned(), tcp)
        .await?;
    let request = "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nhost: localhost\r\n\
                   content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\ncontent-length: 5\r\n\
                   connection: close\r\n\r\n";
    tls.write_all(request.as_bytes()).await?;
    tls.write_all(&[0, 0, 0, 0, 0]).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut response)).await.context("no answer")??;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("application/grpc-web"), "{response}");
    assert!(response.contains("grpc-status:0"), "the trailer frame says OK: {response}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_admits_only_certificates_from_the_client_ca() -> Result<()> {
    let files = Files::new()?;
    let ca = Ca::new("petition test CA")?;
    let partners = Ca::new("partner agencies CA")?;
    let client_ca = files.write("partners.crt", &partners.pem())?;
    let server = tls_server(&files, &ca.server()?, |c| c.tls.client_ca = Some(client_ca)).await?;

    let court = partners.issue("court", ExtendedKeyUsagePurpose::ClientAuth)?;
    let client = sign_in(trusting(&server, &ca).client_identity(&court.cert, &court.key)).await?;
    assert_eq!(client.identity().get_me().await?.login_name, "admin");

    assert!(sign_in(trusting(&server, &ca)).await.is_err(), "no client certificate");
    let impostor = ca.issue("impostor", ExtendedKeyUsagePurpose::ClientAuth)?;
    let refused = sign_in(trusting(&server, &ca).client_identity(&impostor.cert, &impostor.key)).await;
    assert!(refused.is_err(), "a client certificate from another CA");
    Ok(())
}

/// Connects with `builder` until `done` says the outcome is the awaited
/// one, for at most 10 s.
async fn poll_connect(builder: &ClientBuilder, done: impl Fn(&Result<Client>) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let outcome = sign_in(builder.clone()).await;
        if done(&outcome) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "still {:?} after 10 s", outcome.map(|_| "connected"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Replaces a file at once (as renewal tools do), so that no poll reads it
/// half-written.
fn replace(path: &Path, contents: &str) -> Result<()> {
    let staged = path.with_extension("new");
    std::fs::write(&staged, contents)?;
    std::fs::rename(staged, path)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_without_a_restart() -> Result<()> {
    let files = Files::new()?;
    let old_ca = Ca::new("CA of the first certificate")?;
    let new_ca = Ca::new("CA of the renewal")?;
    let server = tls_server(&files, &old_ca.server()?, |c| c.tls.reload_interval_ms = 50).await?;
    let (old_clients, new_clients) = (trusting(&server, &old_ca), trusting(&server, &new_ca));
    let connected_before = sign_in(old_clients.clone()).await?;
    assert!(sign_in(new_clients.clone()).await.is_err(), "the renewal is not served yet");

    // The renewal (from a CA only the new clients trust) lands key first:
    // in between the pair does not fit, and the old certificate stays.
    let renewal = new_ca.server()?;
    replace(&files.path("server.key"), &renewal.key)?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    sign_in(old_clients.clone()).await.context("a half-written renewal keeps the old certificate")?;
    replace(&files.path("server.crt"), &renewal.cert)?;
    poll_connect(&new_clients, Result::is_ok).await.context("the renewed certificate is served")?;
    assert!(sign_in(old_clients.clone()).await.is_err(), "new connections see only the renewal");
    // A connection made before goes on.
    connected_before.identity().get_me().await?;

    // A file that does not parse leaves the renewal in place.
    replace(&files.path("server.crt"), "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    sign_in(new_clients.clone()).await.context("a broken file keeps the current certificate")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_certificate_files_stop_the_start() -> Result<()> {
    let files = Files::new()?;
    let ca = Ca::new("petition test CA")?;
    let mismatched = Leaf { cert: ca.server()?.cert, key: ca.server()?.key };
    let error = tls_server(&files, &mismatched, |_| {}).await.err().context("started with a foreign key")?;
    assert!(format!("{error:#}").contains("does not fit"), "{error:#}");
    let missing = TestServer::spawn_with(|c| {
        c.tls.cert = Some(files.path("absent.crt"));
        c.tls.key = Some(files.path("absent.key"));
    })
    .await;
    let error = missing.err().context("started without its certificate")?;
    assert!(format!("{error:#}").contains("absent.crt"), "{error:#}");
    Ok(())
}
