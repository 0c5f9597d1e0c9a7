//! Reading a server's metrics endpoint (`TestServer::metrics_url`) as a
//! scraper would: a plain HTTP/1.1 GET, and the samples of the text.

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET` of `url` (`http://host:port/path`): (status line, content type, body).
pub async fn get(url: &str) -> Result<(String, String, String)> {
    let rest = url.strip_prefix("http://").context("an http URL")?;
    let (address, path) = rest.split_once('/').context("a path")?;
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").context("a response head")?;
    let status = head.lines().next().unwrap_or_default().to_owned();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: ").or_else(|| l.strip_prefix("Content-Type: ")))
        .unwrap_or_default()
        .to_owned();
    Ok((status, content_type, body.to_owned()))
}

/// The value of the sample `name` whose labels include every one of
/// `labels` (`key="value"`).
pub fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        (metric == name && labels.iter().all(|l| rest.contains(l))).then(|| value.parse().ok())?
    })
}
