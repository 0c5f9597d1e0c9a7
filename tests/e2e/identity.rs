//! IdentityService: registration, sign-in, tokens, throttling, accounts.

use std::time::{Duration, Instant};

use anyhow::Result;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::*;

use crate::support::{expect_error, expect_invalid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_registers_signs_in_and_sees_own_account_masked() -> Result<()> {
    let server = TestServer::spawn().await?;
    let anonymous = server.client().await?;
    let request = citizen_request("张三");
    let account = anonymous.identity().register_citizen(request.clone()).await?;
    assert_eq!(account.kind, pb::AccountKind::Citizen as i32);
    assert_eq!(account.display_name, "张三");
    assert_eq!(account.roles, vec![pb::Role::Citizen as i32]);
    let masked = format!("{}********{}", &request.resident_id[..6], &request.resident_id[14..]);
    assert_eq!(account.resident_id, masked, "the birth date is never shown");
    assert_eq!(account.phone, request.phone, "the owner sees their own phone");

    let client = anonymous.new_session();
    let signed_in = client.login(&request.phone, PASSWORD).await?;
    assert_eq!(signed_in.id, account.id);
    let me = client.identity().get_me().await?;
    assert_eq!(me.id, account.id);
    assert_eq!(me.resident_id, masked);
    let tokens = client.tokens().ok_or_else(|| anyhow::anyhow!("no tokens"))?;
    assert!(!tokens.access_token.is_empty() && !tokens.refresh_token.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_rejects_each_class_of_bad_input_without_echoing_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let client = server.client().await?;
    let good = citizen_request("李四");
    let mut bad_checksum = good.resident_id.clone();
    let last = bad_checksum.pop().unwrap_or('0');
    bad_checksum.push(if last == '0' { '1' } else { '0' });
    let lowercase_x = {
        // Find a valid number whose check character is X, then lower it.
        let base = "36070219900101";
        (0..1000)
            .map(|seq| format!("{base}{seq:03}"))
            .find(|first17| resident_id_check_char(first17) == 'X')
            .map(|first17| format!("{first17}x"))
            .unwrap_or_default()
    };
    let cases: Vec<(&str, pb::RegisterCitizenRequest, Vec<&str>)> = vec![
        ("bad checksum", pb::RegisterCitizenRequest { resident_id: bad_checksum, ..good.clone() }, vec!["resident_id"]),
        ("lowercase x", pb::RegisterCitizenRequest { resident_id: lowercase_x, ..good.clone() }, vec!["resident_id"]),
        (
            "15-digit legacy",
            pb::RegisterCitizenRequest { resident_id: "360702900101123".into(), ..good.clone() },
            vec!["resident_id"],
        ),
        (
            "30 February",
            pb::RegisterCitizenRequest { resident_id: "360702199902301232".into(), ..good.clone() },
            vec!["resident_id"],
        ),
        ("empty id", pb::RegisterCitizenRequest { resident_id: String::new(), ..good.clone() }, vec!["resident_id"]),
        (
            "full-width digits",
            pb::RegisterCitizenRequest {
                resident_id: "３６０７０２１９９００１０１１２３４".into(), ..good.clone()
            },
            vec!["resident_id"],
        ),
        (
            "phone with +86",
            pb::RegisterCitizenRequest { phone: format!("+86{}", good.phone), ..good.clone() },
            vec!["phone"],
        ),
        ("landline", pb::RegisterCitizenRequest { phone: "07978888888".into(), ..good.clone() }, vec!["phone"]),
        ("short password", pb::RegisterCitizenRequest { password: "short".into(), ..good.clone() }, vec!["password"]),
        ("no name", pb::RegisterCitizenRequest { real_name: " ".into(), ..good.clone() }, vec!["real_name"]),
        ("name with digits", pb::RegisterCitizenRequest { real_name: "张3".into(), ..good.clone() }, vec!["real_name"]),
        (
            "everything wrong",
            pb::RegisterCitizenRequest {
                real_name: String::new(),
                resident_id: "x".into(),
                phone: "1".into(),
                password: String::new(),
            },
            vec!["password", "phone", "real_name", "resident_id"],
        ),
    ];
    for (name, request, fields) in cases {
        let secret_parts = [request.resident_id.clone(), request.phone.clone()];
        let error = expect_invalid(client.identity().register_citizen(request).await, &fields);
        let text = format!("{} {:?}", error.message(), error.field_violations());
        for secret in secret_parts.iter().filter(|s| s.len() > 3) {
            assert!(!text.contains(secret.as_str()), "{name}: the response echoes personal data: {text}");
        }
    }
    // Nothing was written by any rejected request.
    client.identity().register_citizen(good).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_per_person_and_per_phone() -> Result<()> {
    let server = TestServer::spawn().await?;
    let client = server.client().await?;
    let first = citizen_request("王五");
    client.identity().register_citizen(first.clone()).await?;
    let same_person = pb::RegisterCitizenRequest { phone: phone(), ..first.clone() };
    expect_error(
        client.identity().register_citizen(same_person).await,
        Code::AlreadyExists,
        Some("RESIDENT_ID_REGISTERED"),
    );
    let same_phone = pb::RegisterCitizenRequest { resident_id: resident_id(), ..first };
    expect_error(client.identity().register_citizen(same_phone).await, Code::AlreadyExists, Some("PHONE_REGISTERED"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_account_are_indistinguishable() -> Result<()> {
    let server = TestServer::spawn().await?;
    let anonymous = server.client().await?;
    let (_, citizen) = signed_in_citizen(&anonymous, "赵六").await?;
    let wrong = expect_error(
        anonymous.new_session().login(&citizen.phone, "not-the-password").await,
        Code::Unauthenticated,
        Some("INVALID_CREDENTIALS"),
    );
    let unknown = expect_error(
        anonymous.new_session().login(phone(), "not-the-password").await,
        Code::Unauthenticated,
        Some("INVALID_CREDENTIALS"),
    );
    let unknown_name = expect_error(
        anonymous.new_session().login("nobody.here", "not-the-password").await,
        Code::Unauthenticated,
        Some("INVALID_CREDENTIALS"),
    );
    assert_eq!(wrong.message(), unknown.message());
    assert_eq!(wrong.message(), unknown_name.message());
    expect_invalid(anonymous.new_session().login("", "").await, &["login_name", "password"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_with_retry_info() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.auth.login_max_failures = 3;
        c.auth.login_lockout_secs = 120;
    })
    .await?;
    let anonymous = server.client().await?;
    let (_, citizen) = signed_in_citizen(&anonymous, "钱七").await?;
    for _ in 0..3 {
        expect_error(
            anonymous.new_session().login(&citizen.phone, "wrong-password!").await,
            Code::Unauthenticated,
            None,
        );
    }
    let error = expect_error(
        anonymous.new_session().login(&citizen.phone, PASSWORD).await,
        Code::ResourceExhausted,
        Some("LOGIN_THROTTLED"),
    );
    let retry = error.retry_after().ok_or_else(|| anyhow::anyhow!("no RetryInfo"))?;
    assert!(retry > Duration::from_secs(100) && retry <= Duration::from_secs(120), "{retry:?}");
    // An unknown account is throttled the same way: no enumeration.
    let stranger = phone();
    for _ in 0..3 {
        expect_error(anonymous.new_session().login(&stranger, "wrong-password!").await, Code::Unauthenticated, None);
    }
    expect_error(
        anonymous.new_session().login(&stranger, "wrong-password!").await,
        Code::ResourceExhausted,
        Some("LOGIN_THROTTLED"),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_per_address_stops_spraying_many_accounts() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.auth.login_max_failures = 100;
        c.auth.login_max_failures_per_address = 4;
    })
    .await?;
    let anonymous = server.client().await?;
    for _ in 0..4 {
        expect_error(anonymous.new_session().login(phone(), "wrong-password!").await, Code::Unauthenticated, None);
    }
    expect_error(
        anonymous.new_session().login(phone(), "wrong-password!").await,
        Code::ResourceExhausted,
        Some("LOGIN_THROTTLED"),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() -> Result<()> {
    let server = TestServer::spawn().await?;
    let anonymous = server.client().await?;
    let (_, citizen) = signed_in_citizen(&anonymous, "孙八").await?;
    let login = anonymous
        .identity()
        .login(pb::LoginRequest { login_name: citizen.phone.clone(), password: PASSWORD.into() })
        .await?;
    let first = login.tokens.ok_or_else(|| anyhow::anyhow!("no tokens"))?;
    let second = anonymous.identity().refresh_token(&first.refresh_token).await?;
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    // The old token again: theft detected, the whole sign-in ends.
    expect_error(
        anonymous.identity().refresh_token(&first.refresh_token).await,
        Code::Unauthenticated,
        Some("INVALID_REFRESH_TOKEN"),
    );
    expect_error(
        anonymous.identity().refresh_token(&second.refresh_token).await,
        Code::Unauthenticated,
        Some("INVALID_REFRESH_TOKEN"),
    );
    // Another sign-in of the same person is unaffected.
    let other =
        anonymous.identity().login(pb::LoginRequest { login_name: citizen.phone, password: PASSWORD.into() }).await?;
    let other = other.tokens.ok_or_else(|| anyhow::anyhow!("no tokens"))?;
    anonymous.identity().refresh_token(&other.refresh_token).await?;
    expect_error(
        anonymous.identity().refresh_token("not-a-token").await,
        Code::Unauthenticated,
        Some("INVALID_REFRESH_TOKEN"),
    );
    expect_invalid(anonymous.identity().refresh_token("").await, &["refresh_token"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_sign_in() -> Result<()> {
    let server = TestServer::spawn().await?;
    let anonymous = server.client().await?;
    let (client, _) = signed_in_citizen(&anonymous, "周九").await?;
    let tokens = client.tokens().ok_or_else(|| anyhow::anyhow!("no tokens"))?;
    client.logout().await?;
    assert!(client.tokens().is_none());
    expect_error(
        anonymous.identity().refresh_token(&tokens.refresh_token).await,
        Code::Unauthenticated,
        Some("INVALID_REFRESH_TOKEN"),
    );
    // Logging out again, or with an unknown token, is not an error.
    anonymous.identity().logout(&tokens.refresh_token).await?;
    anonymous.identity().logout("never-issued").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_a_valid_access_token_are_unauthenticated() -> Result<()> {
    let server = TestServer::spawn().await?;
    let anonymous = server.client().await?;
    expect_error(anonymous.identity().get_me().await, Code::Unauthenticated, Some("MISSING_CREDENTIALS"));
    let (citizen, _) = signed_in_citizen(&anonymous, "吴十").await?;
    let refresh = citizen.tokens().map(|t| t.refresh_token).unwrap_or_default();
    for token in ["garbage", "a.b.c", refresh.as_str()] {
        let forged = anonymous.with_access_token(token)?;
        expect_error(forged.identity().get_me().await, Code::Unauthenticated, Some("INVALID_TOKEN"));
    }
    // A token from another deployment (another key) is rejected too.
    let other = TestServer::spawn().await?;
    let foreign = other.admin().await?;
    let foreign_token = foreign.access_token().unwrap_or_default();
    let replayed = anonymous.with_access_token(foreign_token)?;
    expect_error(replayed.identity().get_me().await, Code::Unauthenticated, Some("INVALID_TOKEN"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_refreshes_short_lived_tokens_transparently() -> Result<()> {
    let server = TestServer::spawn_with(|c| c.auth.access_token_ttl_secs = 2).await?;
    let anonymous = server.client().await?;
    let (client, _) = signed_in_citizen(&anonymous, "郑一").await?;
    let before = client.tokens().ok_or_else(|| anyhow::anyhow!("no tokens"))?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client.identity().get_me().await?;
    let after = client.tokens().ok_or_else(|| anyhow::anyhow!("no tokens"))?;
    assert_ne!(before.access_token, after.access_token, "renewed before expiry");
    assert_ne!(before.refresh_token, after.refresh_token, "refresh token rotated");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_staff_accounts_and_nobody_else_can() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let directory = Directory::create(&admin).await?;
    let (clerk, clerk_account) = signed_in_staff(&admin, "clerk.a", &directory.bureau_a, &[pb::Role::Clerk]).await?;
    assert_eq!(clerk_account.organization_id, directory.bureau_a.id);
    assert_eq!(clerk.identity().get_me().await?.roles, vec![pb::Role::Clerk as i32]);
    let (citizen, _) = signed_in_citizen(&server.client().await?, "王一").await?;

    let request = pb::CreateStaffAccountRequest {
        login_name: "handler.a".into(),
        display_name: "承办人".into(),
        password: PASSWORD.into(),
        roles: vec![pb::Role::Handler as i32, pb::Role::UnitLead as i32],
        organization_id: directory.unit_a.id.clone(),
        phone: phone(),
    };
    for denied in [&clerk, &citizen] {
        expect_error(denied.identity().create_staff_account(request.clone()).await, Code::PermissionDenied, None);
    }
    let created = admin.identity().create_staff_account(request.clone()).await?;
    assert_eq!(created.phone, request.phone, "admins see staff phones");
    expect_error(
        admin.identity().create_staff_account(request.clone()).await,
        Code::AlreadyExists,
        Some("LOGIN_NAME_TAKEN"),
    );

    let bad = |f: fn(&mut pb::CreateStaffAccountRequest)| {
        let mut r = request.clone();
        r.login_name = "fresh.name".into();
        f(&mut r);
        r
    };
    expect_invalid(
        admin.identity().create_staff_account(bad(|r| r.login_name = "Bad Name".into())).await,
        &["login_name"],
    );
    expect_invalid(admin.identity().create_staff_account(bad(|r| r.roles = vec![])).await, &["roles"]);
    expect_invalid(
        admin.identity().create_staff_account(bad(|r| r.roles = vec![pb::Role::Citizen as i32])).await,
        &["roles[0]"],
    );
    expect_invalid(admin.identity().create_staff_account(bad(|r| r.roles = vec![2, 99])).await, &["roles[1]"]);
    expect_invalid(
        admin.identity().create_staff_account(bad(|r| r.organization_id = "nope".into())).await,
        &["organization_id"],
    );
    expect_invalid(
        admin
            .identity()
            .create_staff_account(bad(|r| r.organization_id = "018f0000-0000-7000-8000-000000000000".into()))
            .await,
        &["organization_id"],
    );
    expect_invalid(admin.identity().create_staff_account(bad(|r| r.password = "short".into())).await, &["password"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_exchange_client_credentials_for_scoped_tokens() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let directory = Directory::create(&admin).await?;
    let court = organization(&admin, "章贡区人民法院", pb::OrganizationKind::Court, &directory.county_a, None).await?;
    let created = admin
        .identity()
        .create_service_account(pb::CreateServiceAccountRequest {
            display_name: "法院对接".into(),
            organization_id: court.id.clone(),
            scopes: vec![pb::Scope::CasesRead as i32, pb::Scope::DirectoryRead as i32],
        })
        .await?;
    assert!(created.client_id.starts_with("svc-") && created.client_secret.len() >= 32);
    let account = created.account.ok_or_else(|| anyhow::anyhow!("no account"))?;
    assert_eq!(account.roles, vec![pb::Role::Partner as i32]);

    let partner = server.client().await?;
    let granted = partner
        .login_with_client_credentials(&created.client_id, &created.client_secret, [pb::Scope::DirectoryRead])
        .await?;
    assert_eq!(granted.scopes, vec![pb::Scope::DirectoryRead as i32]);
    partner.directory().get_region("360702").await?;
    expect_error(
        partner.directory().list_staff(pb::ListStaffRequest::default()).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );

    // A token without the directory scope cannot read the directory.
    let narrow = server.client().await?;
    narrow.login_with_client_credentials(&created.client_id, &created.client_secret, [pb::Scope::CasesRead]).await?;
    expect_error(narrow.directory().get_region("360702").await, Code::PermissionDenied, None);

    let anonymous = server.client().await?;
    expect_error(
        anonymous.login_with_client_credentials(&created.client_id, "wrong-secret", []).await,
        Code::Unauthenticated,
        Some("INVALID_CREDENTIALS"),
    );
    expect_error(
        anonymous
            .new_session()
            .login_with_client_credentials(&created.client_id, &created.client_secret, [pb::Scope::CasesWrite])
            .await,
        Code::PermissionDenied,
        Some("SCOPE_NOT_GRANTED"),
    );
    // The client secret is not a password for Login.
    expect_error(
        anonymous.new_session().login(&created.client_id, &created.client_secret).await,
        Code::Unauthenticated,
        None,
    );
    // Only admins create service accounts.
    expect_error(
        partner.identity().create_service_account(pb::CreateServiceAccountRequest::default()).await,
        Code::PermissionDenied,
        None,
    );
    expect_invalid(
        admin.identity().create_service_account(pb::CreateServiceAccountRequest::default()).await,
        &["display_name", "organization_id", "scopes"],
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_see_full_personal_data_and_disable_accounts() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let directory = Directory::create(&admin).await?;
    let anonymous = server.client().await?;
    let (citizen, request) = signed_in_citizen(&anonymous, "冯二").await?;
    let citizen_id = citizen.identity().get_me().await?.id;
    let (clerk, _) = signed_in_staff(&admin, "clerk.b", &directory.bureau_b, &[pb::Role::Clerk]).await?;

    let full = admin.identity().get_account(&citizen_id).await?;
    assert_eq!(full.resident_id, request.resident_id);
    assert_eq!(full.phone, request.phone);
    for denied in [&citizen, &clerk] {
        expect_error(denied.identity().get_account(&citizen_id).await, Code::PermissionDenied, None);
        expect_error(denied.identity().set_account_disabled(&citizen_id, true).await, Code::PermissionDenied, None);
    }
    expect_error(admin.identity().get_account("018f0000-0000-7000-8000-000000000000").await, Code::NotFound, None);
    expect_invalid(admin.identity().get_account("not-a-uuid").await, &["id"]);

    let disabled = admin.identity().set_account_disabled(&citizen_id, true).await?;
    assert!(disabled.disabled);
    let refresh = citizen.tokens().map(|t| t.refresh_token).unwrap_or_default();
    expect_error(
        anonymous.identity().refresh_token(&refresh).await,
        Code::Unauthenticated,
        Some("INVALID_REFRESH_TOKEN"),
    );
    expect_error(
        anonymous.new_session().login(&request.phone, PASSWORD).await,
        Code::Unauthenticated,
        Some("INVALID_CREDENTIALS"),
    );
    admin.identity().set_account_disabled(&citizen_id, false).await?;
    anonymous.new_session().login(&request.phone, PASSWORD).await?;

    let admin_id = admin.identity().get_me().await?.id;
    expect_error(
        admin.identity().set_account_disabled(&admin_id, true).await,
        Code::FailedPrecondition,
        Some("CANNOT_DISABLE_SELF"),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_is_bounded_and_sign_ins_proceed_concurrently() -> Result<()> {
    let server = TestServer::spawn().await?;
    let anonymous = server.client().await?;
    let (_, citizen) = signed_in_citizen(&anonymous, "陈三").await?;
    let started = Instant::now();
    let logins = (0..8).map(|_| {
        let client: Client = anonymous.new_session();
        let phone = citizen.phone.clone();
        async move { client.login(phone, PASSWORD).await }
    });
    for result in futures::future::join_all(logins).await {
        result?;
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    Ok(())
}
