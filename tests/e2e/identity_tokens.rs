//! Access tokens end with their sign-in: revocation by Logout, by reuse of
//! a rotated refresh token and by disabling the account, on this server
//! and on another sharing the database; and tokens the server did not
//! issue as they are (forged with its own key) are refused.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use futures::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_server::config::Secret;
use petition_server::crypto::SecretKey;
use petition_tests::*;

use crate::support::expect_error;

/// How long a revocation may take to reach every server.
const REVOCATION_LATENCY: Duration = Duration::from_secs(5);

/// Two servers over one database, with the same keys.
async fn two_servers() -> Result<(TestServer, TestServer)> {
    let (jwt, data) = (format!("test={}", SecretKey::generate().to_base64()), SecretKey::generate().to_base64());
    let (jwt_a, data_a) = (jwt.clone(), data.clone());
    let a = TestServer::spawn_with(move |c| {
        c.auth.jwt_keys = Some(Secret::new(jwt_a));
        c.auth.data_key = Some(Secret::new(data_a));
    })
    .await?;
    let url = a.database.as_ref().map(|d| d.url().to_owned()).context("server a has its database")?;
    let data_dir = std::env::temp_dir().join(format!("petition-test-{}", uuid::Uuid::now_v7().simple()));
    let mut config = petition_tests::server::test_config(&url, &data_dir);
    config.auth.jwt_keys = Some(Secret::new(jwt));
    config.auth.data_key = Some(Secret::new(data));
    let b = TestServer::start(config, None, data_dir).await?;
    Ok((a, b))
}

/// One call of each kind a citizen makes: reads and writes of every
/// service, and the change feed's watch (a stream).
async fn every_call(client: &Client, case_id: &str) -> Vec<(&'static str, Result<(), petition_sdk::Error>)> {
    let submit = pb::SubmitCaseRequest { draft: Some(claim("路灯不亮")), request_id: String::new() };
    let watch = async {
        let mut watch = client.feed().watch(0);
        match tokio::time::timeout(Duration::from_secs(5), watch.next()).await {
            Ok(Some(item)) => item.map(drop),
            // Open and quiet, or ended without an item: it was accepted.
            Ok(None) | Err(_) => Ok(()),
        }
    };
    vec![
        ("GetMe", client.identity().get_me().await.map(drop)),
        ("ListCases", client.cases().list_cases(pb::ListCasesRequest::default()).await.map(drop)),
        ("GetCase", client.cases().get_case(case_id).await.map(drop)),
        ("SubmitCase", client.cases().submit_case(submit).await.map(drop)),
        ("GetRegion", client.directory().get_region("360702").await.map(drop)),
        ("ListCategories", client.taxonomy().list_categories(false).await.map(drop)),
        ("ListCalendarDays", client.calendar().list_calendar_days(2026).await.map(drop)),
        ("ListChanges", client.feed().list_changes(pb::ListChangesRequest::default()).await.map(drop)),
        ("WatchChanges", watch.await),
    ]
}

/// Asserts every call of `clients` works.
async fn all_work(clients: &[&Client], case_id: &str) -> Result<()> {
    for client in clients {
        for (call, result) in every_call(client, case_id).await {
            result.with_context(|| format!("{call} before revocation"))?;
        }
    }
    Ok(())
}

/// Asserts that every call of `clients` is refused UNAUTHENTICATED
/// `TOKEN_REVOKED` within [`REVOCATION_LATENCY`] of `since`.
async fn all_refused(clients: &[&Client], case_id: &str, since: Instant) -> Result<()> {
    for client in clients {
        loop {
            let results = every_call(client, case_id).await;
            let working: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).map(|(call, _)| *call).collect();
            if working.is_empty() {
                for (call, result) in results {
                    let error = result.err().context("refused")?;
                    assert_eq!(error.code(), Code::Unauthenticated, "{call}: {error}");
                    assert_eq!(error.reason(), Some("TOKEN_REVOKED"), "{call}: {error}");
                }
                break;
            }
            assert!(since.elapsed() < REVOCATION_LATENCY, "still working after {:?}: {working:?}", since.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// A citizen signed in on `anonymous`'s server, with a case of their own:
/// (their SDK client, a client holding only their access token, the case).
async fn citizen_with_case(anonymous: &Client, name: &str) -> Result<(Client, String, String)> {
    let (client, _) = signed_in_citizen(anonymous, name).await?;
    let case = client
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(claim("楼道积水")), request_id: String::new() })
        .await?;
    let token = client.access_token().context("signed in")?;
    Ok((client, token, case.id))
}

/// Asserts an open watch ends with `TOKEN_REVOKED` within
/// [`REVOCATION_LATENCY`] of `since` (the items before that don't matter).
async fn ends_revoked(
    mut watch: futures::stream::BoxStream<'static, petition_sdk::Result<petition_sdk::FeedItem>>,
    since: Instant,
) -> Result<()> {
    loop {
        let left = REVOCATION_LATENCY.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, watch.next()).await {
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => {
                assert_eq!((e.code(), e.reason()), (Code::Unauthenticated, Some("TOKEN_REVOKED")), "{e}");
                return Ok(());
            }
            Ok(None) => anyhow::bail!("the watch ended without saying why"),
            Err(_) => anyhow::bail!("the watch still runs {:?} after its token was revoked", since.elapsed()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_an_account_and_logging_out_end_fresh_access_tokens_on_every_server() -> Result<()> {
    let (a, b) = two_servers().await?;
    let admin = a.admin().await?;
    Directory::create(&admin).await?;
    admin
        .taxonomy()
        .create_category(pb::Category { code: "housing".into(), name: "住房".into(), retired: false })
        .await?;
    let (anonymous_a, anonymous_b) = (a.client().await?, b.client().await?);
    let (disabled, disabled_token, disabled_case) = citizen_with_case(&anonymous_a, "禁用者").await?;
    let (leaving, leaving_token, leaving_case) = citizen_with_case(&anonymous_a, "退出者").await?;
    let (bystander, bystander_token, bystander_case) = citizen_with_case(&anonymous_a, "旁观者").await?;
    let on_a = |token: &str| anonymous_a.with_access_token(token);
    let on_b = |token: &str| anonymous_b.with_access_token(token);
    let (disabled_a, disabled_b) = (on_a(&disabled_token)?, on_b(&disabled_token)?);
    let (leaving_a, leaving_b) = (on_a(&leaving_token)?, on_b(&leaving_token)?);
    let (bystander_a, bystander_b) = (on_a(&bystander_token)?, on_b(&bystander_token)?);
    all_work(&[&disabled_a, &disabled_b], &disabled_case).await?;
    all_work(&[&leaving_a, &leaving_b], &leaving_case).await?;

    // Watches opened before the revocation, on either server.
    let mut watches = [disabled_a.feed().watch(0), disabled_b.feed().watch(0), leaving_a.feed().watch(0)];
    let mut bystander_watch = bystander_b.feed().watch(0);
    for watch in watches.iter_mut().chain([&mut bystander_watch]) {
        // The first item: the watch is open (a stream calls when first read).
        let first = tokio::time::timeout(Duration::from_secs(10), watch.next()).await?;
        anyhow::ensure!(matches!(first, Some(Ok(_))), "{first:?}");
    }

    let disabled_id = disabled.identity().get_me().await?.id;
    let revoked = Instant::now();
    admin.identity().set_account_disabled(&disabled_id, true).await?;
    leaving.logout().await?;
    // On the server that wrote them at once, on the other within the poll.
    all_refused(&[&disabled_a, &leaving_a], &disabled_case, revoked).await?;
    all_refused(&[&disabled_b], &disabled_case, revoked).await?;
    all_refused(&[&leaving_b], &leaving_case, revoked).await?;
    for watch in watches {
        ends_revoked(watch, revoked).await?;
    }
    let still = tokio::time::timeout(REVOCATION_LATENCY, bystander_watch.take(1).collect::<Vec<_>>()).await;
    assert!(matches!(still.as_deref(), Ok([Ok(_)])), "the bystander's watch goes on: {still:?}");

    // Nobody else's sign-in ended.
    all_work(&[&bystander_a, &bystander_b, &bystander], &bystander_case).await?;
    admin.identity().get_me().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_a_rotated_refresh_token_ends_the_access_tokens_of_its_sign_in() -> Result<()> {
    let (a, b) = two_servers().await?;
    let anonymous = a.client().await?;
    let (_, citizen) = signed_in_citizen(&anonymous, "孙八").await?;
    let login = |anonymous: Client| {
        let phone = citizen.phone.clone();
        async move {
            let response =
                anonymous.identity().login(pb::LoginRequest { login_name: phone, password: PASSWORD.into() }).await?;
            response.tokens.context("tokens")
        }
    };
    let first = login(anonymous.clone()).await?;
    let other_sign_in = login(anonymous.clone()).await?;
    let second = anonymous.identity().refresh_token(&first.refresh_token).await?;
    let rotated = anonymous.with_access_token(&second.access_token)?;
    rotated.identity().get_me().await?;

    // A thief replays the rotated token on the other server: the sign-in ends.
    let revoked = Instant::now();
    expect_error(
        b.client().await?.identity().refresh_token(&first.refresh_token).await,
        Code::Unauthenticated,
        Some("INVALID_REFRESH_TOKEN"),
    );
    for token in [&first.access_token, &second.access_token] {
        for server in [&a, &b] {
            let client = server.client().await?.with_access_token(token)?;
            loop {
                match client.identity().get_me().await {
                    Ok(_) => assert!(revoked.elapsed() < REVOCATION_LATENCY, "still working at {}", server.url),
                    Err(e) => {
                        assert_eq!((e.code(), e.reason()), (Code::Unauthenticated, Some("TOKEN_REVOKED")), "{e}");
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // The person's other sign-in goes on.
    anonymous.with_access_token(&other_sign_in.access_token)?.identity().get_me().await?;
    anonymous.identity().refresh_token(&other_sign_in.refresh_token).await?;
    Ok(())
}

/// The key tests configure the server with, so that they can sign tokens
/// as the server would.
const TEST_KEY: [u8; 32] = *b"a test key known to the e2e test";

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A token as the server signs one, changed by `claims` and `header`.
fn forge(
    account_id: &str,
    claims: impl FnOnce(&mut serde_json::Value),
    header: impl FnOnce(&mut Header),
) -> Result<String> {
    let now = unix_now();
    let mut body = serde_json::json!({
        "iss": "petition", "aud": "petition-api", "sub": account_id, "exp": now + 600, "iat": now,
        "jti": uuid::Uuid::now_v7().to_string(), "typ": "access",
        "kind": pb::AccountKind::Staff as i32, "roles": [pb::Role::Admin as i32],
    });
    claims(&mut body);
    let mut head = Header::new(Algorithm::HS256);
    head.kid = Some("test".into());
    header(&mut head);
    Ok(jsonwebtoken::encode(&head, &body, &EncodingKey::from_secret(&TEST_KEY))?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validly_signed_tokens_that_are_not_yet_valid_critical_or_for_nobody_are_refused() -> Result<()> {
    let key = format!("test={}", SecretKey::from_bytes(TEST_KEY).to_base64());
    let server = TestServer::spawn_with(move |c| c.auth.jwt_keys = Some(Secret::new(key))).await?;
    let admin = server.admin().await?;
    let admin_id = admin.identity().get_me().await?.id;
    let anonymous = server.client().await?;
    let call = |token: String| {
        let client = anonymous.with_access_token(token);
        async move {
            let client = client?;
            client.identity().get_me().await?;
            client.cases().list_cases(pb::ListCasesRequest::default()).await?;
            Ok::<_, petition_sdk::Error>(())
        }
    };
    // Control: the forger signs exactly as the server does.
    call(forge(&admin_id, |_| {}, |_| {})?).await?;
    call(forge(&admin_id, |c| c["nbf"] = (unix_now() - 5).into(), |_| {})?).await?;

    let refused = [
        ("nbf an hour ahead", forge(&admin_id, |c| c["nbf"] = (unix_now() + 3600).into(), |_| {})?),
        ("an unknown critical extension", forge(&admin_id, |_| {}, |h| h.crit = Some(vec!["petition-x".into()]))?),
        ("no such account", forge(&uuid::Uuid::now_v7().to_string(), |_| {}, |_| {})?),
        ("issued an hour ahead", forge(&admin_id, |c| c["iat"] = (unix_now() + 3600).into(), |_| {})?),
    ];
    for (name, token) in refused {
        let error = call(token).await.err().with_context(|| format!("{name}: accepted"))?;
        assert_eq!((error.code(), error.reason()), (Code::Unauthenticated, Some("INVALID_TOKEN")), "{name}: {error}");
    }
    Ok(())
}
