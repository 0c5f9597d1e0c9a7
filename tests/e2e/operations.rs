//! Operations: health, reflection, gRPC-Web with CORS, graceful shutdown,
//! oversized headers.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use petition_sdk::Client;
use petition_sdk::tonic::Code;
use petition_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

async fn health(client: &Client, service: &str) -> Result<i32> {
    let mut health = HealthClient::new(client.channel().clone());
    Ok(health.check(HealthCheckRequest { service: service.into() }).await?.into_inner().status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_serving_and_reflection_lists_every_service() -> Result<()> {
    let server = TestServer::spawn().await?;
    let client = server.client().await?;
    for service in ["", "petition.v1.IdentityService", "petition.v1.DirectoryService"] {
        assert_eq!(health(&client, service).await?, ServingStatus::Serving as i32, "{service:?}");
    }
    let mut reflection = ServerReflectionClient::new(client.channel().clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection.server_reflection_info(tokio_stream::iter([request])).await?.into_inner();
    let response = responses.next().await.context("no reflection response")??;
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        anyhow::bail!("unexpected reflection response");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["petition.v1.IdentityService", "petition.v1.DirectoryService", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    Ok(())
}

/// Sends one raw HTTP/1.1 request and returns the whole response.
async fn http1(url: &str, request: &[u8]) -> Result<Vec<u8>> {
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.write_all(request).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await??;
    Ok(response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_call_through_grpc_web_from_allowed_origins() -> Result<()> {
    let server = TestServer::spawn_with(|c| c.cors_allowed_origins = vec!["https://app.example".into()]).await?;
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type,x-grpc-web,authorization\r\n\
             Connection: close\r\n\r\n"
        )
    };
    let allowed =
        String::from_utf8_lossy(&http1(&server.url, preflight("https://app.example").as_bytes()).await?).to_lowercase();
    assert!(allowed.contains("access-control-allow-origin: https://app.example"), "{allowed}");
    assert!(allowed.contains("authorization"), "{allowed}");
    let refused = String::from_utf8_lossy(&http1(&server.url, preflight("https://evil.example").as_bytes()).await?)
        .to_lowercase();
    assert!(!refused.contains("access-control-allow-origin"), "{refused}");

    // A gRPC-Web unary call: one uncompressed frame holding an empty
    // HealthCheckRequest; the reply holds a message frame and a trailer frame.
    let body = [0u8, 0, 0, 0, 0];
    let mut request = format!(
        "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let response = http1(&server.url, &request).await?;
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.to_lowercase().contains("access-control-allow-origin: https://app.example"), "{text}");
    assert!(text.contains("grpc-status:0"), "trailer frame with OK: {text}");
    let frame_start = response.windows(5).position(|w| w == [0, 0, 0, 0, 2]).context("no message frame")?;
    let message = &response[frame_start + 5..frame_start + 7];
    let decoded = <HealthCheckResponse as prost::Message>::decode(message)?;
    assert_eq!(decoded.status, ServingStatus::Serving as i32);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reports_not_serving_and_drains_in_flight_calls() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.auth.hashing_concurrency = 1;
        c.limits.shutdown_grace_secs = 3;
    })
    .await?;
    let client = server.client().await?;
    let mut health = HealthClient::new(client.channel().clone());
    let mut watch = health.watch(HealthCheckRequest { service: String::new() }).await?.into_inner();
    let first = watch.next().await.context("no health status")??;
    assert_eq!(first.status, ServingStatus::Serving as i32);

    // Sign-ins queue behind one hasher, so some are still running when the
    // stop arrives; each must complete.
    let logins: Vec<_> = (0..6)
        .map(|_| {
            let session = client.new_session();
            tokio::spawn(async move { session.login("admin", ADMIN_PASSWORD).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let started = Instant::now();
    let url = server.url.clone();
    let stopping = tokio::spawn(server.stop());
    let next = tokio::time::timeout(Duration::from_secs(5), watch.next()).await?.context("watch ended")??;
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    for login in logins {
        login.await??;
    }
    stopping.await??;
    assert!(started.elapsed() < Duration::from_secs(6), "stopped within the grace period: {:?}", started.elapsed());
    assert!(Client::connect(url).await.is_err(), "no longer accepting connections");
    Ok(())
}

/// A reflection stream on `channel`: each request sent gets an answer
/// while the stream (and so its HTTP/2 connection) lives.
struct Reflection {
    requests: tokio::sync::mpsc::Sender<ServerReflectionRequest>,
    responses: tonic::Streaming<tonic_reflection::pb::v1::ServerReflectionResponse>,
}

impl Reflection {
    async fn open(channel: tonic::transport::Channel) -> Result<Reflection> {
        let (requests, receiver) = tokio::sync::mpsc::channel(4);
        let mut client = ServerReflectionClient::new(channel);
        let responses =
            client.server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(receiver)).await?.into_inner();
        let mut reflection = Reflection { requests, responses };
        reflection.ping().await?;
        Ok(reflection)
    }

    /// One request and its answer, within a few seconds.
    async fn ping(&mut self) -> Result<()> {
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        self.requests.send(request).await.map_err(|_| anyhow::anyhow!("the stream is closed"))?;
        let response = tokio::time::timeout(Duration::from_secs(5), self.responses.next())
            .await
            .context("no answer on the open stream")?
            .context("the open stream ended")??;
        anyhow::ensure!(response.message_response.is_some(), "an empty answer");
        Ok(())
    }
}

/// A health check whose `authorization` header is about `size` bytes.
fn check_with_header_of(size: usize) -> Result<tonic::Request<HealthCheckRequest>> {
    let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    request.metadata_mut().insert("authorization", format!("Bearer {}", "x".repeat(size)).parse()?);
    Ok(request)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_header_fails_only_its_own_call() -> Result<()> {
    let server = TestServer::spawn().await?;
    // One HTTP/2 connection carries every call below; tonic reconnects a
    // channel for new calls, so the open stream is what shows whether the
    // connection survived.
    let channel = tonic::transport::Endpoint::from_shared(server.url.clone())?.connect().await?;
    let mut open = Reflection::open(channel.clone()).await?;
    let mut health = HealthClient::new(channel.clone());
    for size in [20 * 1024, 100 * 1024, 600 * 1024] {
        let status = health.check(check_with_header_of(size)?).await.err().context("served")?;
        assert_eq!(status.code(), Code::ResourceExhausted, "{size} bytes: {status:?}");
        let error = petition_sdk::Error::from(status);
        assert_eq!(error.reason(), Some("HEADERS_TOO_LARGE"), "{error}");
        open.ping().await.with_context(|| format!("the other call after a {size}-byte header"))?;
        let ok = health.check(HealthCheckRequest { service: String::new() }).await?;
        assert_eq!(ok.into_inner().status, ServingStatus::Serving as i32);
    }
    // Past HTTP/2's own limit the stream is refused; the connection stays.
    let refused = health.check(check_with_header_of(1_100_000)?).await;
    assert!(refused.is_err(), "{refused:?}");
    open.ping().await.context("the other call after a header past HTTP/2's limit")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_health_watch_does_not_hold_up_a_graceful_stop() -> Result<()> {
    let server = TestServer::spawn_with(|c| c.limits.shutdown_grace_secs = 20).await?;
    let channel = tonic::transport::Endpoint::from_shared(server.url.clone())?.connect().await?;
    let mut health = HealthClient::new(channel);
    let mut watch = health.watch(HealthCheckRequest { service: String::new() }).await?.into_inner();
    let first = watch.next().await.context("no health status")??;
    assert_eq!(first.status, ServingStatus::Serving as i32);

    let started = Instant::now();
    let stopping = tokio::spawn(server.stop());
    let next = tokio::time::timeout(Duration::from_secs(5), watch.next()).await?.context("watch ended")??;
    assert_eq!(next.status, ServingStatus::NotServing as i32, "NOT_SERVING first");
    let end = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.context("the watch did not end")?;
    assert!(end.as_ref().is_none_or(|item| item.is_err()), "the watch ends after NOT_SERVING: {end:?}");
    tokio::time::timeout(Duration::from_secs(25), stopping).await???;
    assert!(started.elapsed() < Duration::from_secs(3), "stopped without the grace period: {:?}", started.elapsed());
    Ok(())
}
