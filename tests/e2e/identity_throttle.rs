//! Throttling that stops guessing and enumeration without letting a
//! stranger lock a citizen out: sign-in lockouts per login name and client
//! address first, per name only at a far higher count, sessions untouched;
//! registration per address; a disabled account indistinguishable from a
//! wrong password. Clients look like other machines by connecting from
//! other loopback addresses (127.0.0.2, …).

use std::time::Duration;

use anyhow::{Context, Result};
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::*;

use crate::support::expect_error;

async fn wrong_passwords(client: &Client, login: &str, n: usize) {
    for _ in 0..n {
        expect_error(
            client.new_session().login(login, "wrong-password!").await,
            Code::Unauthenticated,
            Some("INVALID_CREDENTIALS"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_from_one_address_neither_locks_other_addresses_out_nor_ends_sessions() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.auth.login_max_failures_per_name_and_address = 5;
        c.auth.login_max_failures = 50;
        c.auth.login_lockout_secs = 300;
    })
    .await?;
    let (attacker, owner_device) = (server.client_from("127.0.0.2").await?, server.client_from("127.0.0.3").await?);
    let (session, citizen) = signed_in_citizen(&owner_device, "钱七").await?;
    let tokens = session.tokens().context("signed in")?;

    // A stranger who knows the phone number guesses from their address.
    wrong_passwords(&attacker, &citizen.phone, 5).await;
    let error = expect_error(
        attacker.new_session().login(&citizen.phone, PASSWORD).await,
        Code::ResourceExhausted,
        Some("LOGIN_THROTTLED"),
    );
    let retry = error.retry_after().context("RetryInfo")?;
    assert!(retry > Duration::from_secs(280) && retry <= Duration::from_secs(300), "{retry:?}");

    // The owner's signed-in session goes on, refreshes included…
    session.identity().get_me().await?;
    let renewed = owner_device.identity().refresh_token(&tokens.refresh_token).await?;
    owner_device.with_access_token(&renewed.access_token)?.identity().get_me().await?;
    // …and the owner signs in from their own address.
    owner_device.new_session().login(&citizen.phone, PASSWORD).await?;

    // Locked out again, the attacker waits twice as long (back-off).
    let locked_again = server.state.db.run({
        let key_prefix = "account-address:".to_owned();
        move |conn| {
            use diesel::prelude::*;
            use petition_server::schema::login_throttle;
            // End the first lockout as if its time had passed.
            diesel::update(login_throttle::table.filter(login_throttle::key.like(format!("{key_prefix}%"))))
                .set(login_throttle::blocked_until.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
                .execute(conn)?;
            Ok(())
        }
    });
    locked_again.await?;
    wrong_passwords(&attacker, &citizen.phone, 5).await;
    let error = expect_error(
        attacker.new_session().login(&citizen.phone, PASSWORD).await,
        Code::ResourceExhausted,
        Some("LOGIN_THROTTLED"),
    );
    let retry = error.retry_after().context("RetryInfo")?;
    assert!(retry > Duration::from_secs(580) && retry <= Duration::from_secs(600), "{retry:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_name_locks_for_everyone_only_at_the_much_higher_count() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.auth.login_max_failures_per_name_and_address = 3;
        c.auth.login_max_failures = 8;
    })
    .await?;
    let (session, citizen) = signed_in_citizen(&server.client().await?, "李四").await?;
    // Guesses spread over addresses, each below its own lockout…
    for (ip, n) in [("127.0.0.2", 2), ("127.0.0.3", 2), ("127.0.0.4", 2)] {
        wrong_passwords(&server.client_from(ip).await?, &citizen.phone, n).await;
    }
    server.client_from("127.0.0.5").await?.login(&citizen.phone, PASSWORD).await?;
    // …until the name's own count, across addresses, is reached.
    for (ip, n) in [("127.0.0.6", 2), ("127.0.0.7", 2), ("127.0.0.8", 2), ("127.0.0.9", 2)] {
        wrong_passwords(&server.client_from(ip).await?, &citizen.phone, n).await;
    }
    expect_error(
        server.client_from("127.0.0.10").await?.login(&citizen.phone, PASSWORD).await,
        Code::ResourceExhausted,
        Some("LOGIN_THROTTLED"),
    );
    // Signed-in sessions are never ended by a lockout.
    session.identity().get_me().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_throttled_per_client_address() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.auth.registration_max_per_address = 3;
        c.auth.registration_window_secs = 600;
    })
    .await?;
    let prober = server.client_from("127.0.0.2").await?;
    let known = citizen_request("张三");
    server.client().await?.identity().register_citizen(known.clone()).await?;
    // Invalid requests reveal nothing and are not counted.
    for _ in 0..5 {
        let invalid = pb::RegisterCitizenRequest { resident_id: "x".into(), ..citizen_request("王五") };
        expect_error(prober.identity().register_citizen(invalid).await, Code::InvalidArgument, None);
    }
    // Three answers, registered or not, from one address…
    let probe = |resident_id: String| pb::RegisterCitizenRequest { resident_id, ..citizen_request("王五") };
    expect_error(
        prober.identity().register_citizen(probe(known.resident_id.clone())).await,
        Code::AlreadyExists,
        Some("RESIDENT_ID_REGISTERED"),
    );
    prober.identity().register_citizen(probe(resident_id())).await?;
    expect_error(
        prober
            .identity()
            .register_citizen(pb::RegisterCitizenRequest { phone: known.phone.clone(), ..probe(resident_id()) })
            .await,
        Code::AlreadyExists,
        Some("PHONE_REGISTERED"),
    );
    // …then none, whatever is asked.
    for request in [probe(known.resident_id.clone()), probe(resident_id())] {
        let error = expect_error(
            prober.identity().register_citizen(request).await,
            Code::ResourceExhausted,
            Some("REGISTRATION_THROTTLED"),
        );
        let retry = error.retry_after().context("RetryInfo")?;
        assert!(retry > Duration::from_secs(580) && retry <= Duration::from_secs(600), "{retry:?}");
    }
    // Other addresses register as before.
    server.client_from("127.0.0.3").await?.identity().register_citizen(citizen_request("赵六")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_answers_the_right_password_as_a_wrong_one() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let anonymous = server.client().await?;
    let (citizen, request) = signed_in_citizen(&anonymous, "冯二").await?;
    let id = citizen.identity().get_me().await?.id;
    admin.identity().set_account_disabled(&id, true).await?;
    let right = expect_error(
        anonymous.new_session().login(&request.phone, PASSWORD).await,
        Code::Unauthenticated,
        Some("INVALID_CREDENTIALS"),
    );
    let wrong = expect_error(
        anonymous.new_session().login(&request.phone, "wrong-password!").await,
        Code::Unauthenticated,
        Some("INVALID_CREDENTIALS"),
    );
    assert_eq!(right.message(), wrong.message());
    assert_eq!(
        format!("{:?}", right.status().map(|s| s.details())),
        format!("{:?}", wrong.status().map(|s| s.details()))
    );
    // Enabled again, the password works.
    admin.identity().set_account_disabled(&id, false).await?;
    anonymous.new_session().login(&request.phone, PASSWORD).await?;
    Ok(())
}
