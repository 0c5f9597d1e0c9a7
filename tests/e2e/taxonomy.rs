//! TaxonomyService through the SDK: admins write categories and routing
//! rules, every signed-in caller reads them, nobody without a token does;
//! bad input is named field by field; new cases follow the nearest rule;
//! retired categories take no new rules and no new cases.

use anyhow::Result;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::*;

use crate::support::{expect_error, expect_invalid};

/// A server with the small directory, an admin, a citizen, a clerk of
/// county A and an anonymous client.
struct Lab {
    admin: Client,
    dir: Directory,
    citizen: Client,
    clerk: Client,
    citizen_id: String,
    anonymous: Client,
    _server: TestServer,
}

impl Lab {
    async fn new() -> Result<Lab> {
        let server = TestServer::spawn().await?;
        let admin = server.admin().await?;
        let dir = Directory::create(&admin).await?;
        let anonymous = server.client().await?;
        let (citizen, _) = signed_in_citizen(&anonymous, "分类测试").await?;
        let citizen_id = citizen.identity().get_me().await?.id;
        let (clerk, _) = signed_in_staff(&admin, "clerk.taxonomy", &dir.bureau_a, &[pb::Role::Clerk]).await?;
        Ok(Lab { admin, dir, citizen, clerk, citizen_id, anonymous, _server: server })
    }

    /// Signed-in callers who may read but not write.
    fn readers(&self) -> [&Client; 2] {
        [&self.citizen, &self.clerk]
    }

    /// The citizen files a claim of `category` arising in `region`.
    async fn file(&self, category: &str, region: &str) -> petition_sdk::Result<pb::Case> {
        self.citizen
            .cases()
            .submit_case(pb::SubmitCaseRequest {
                draft: Some(pb::CaseDraft {
                    category_code: category.into(),
                    region_code: region.into(),
                    ..claim("分类与交办")
                }),
                request_id: String::new(),
            })
            .await
    }
}

fn category(code: &str, name: &str) -> pb::Category {
    pb::Category { code: code.into(), name: name.into(), retired: false }
}

/// Sets `retired`, and the name too when one is given.
fn update(code: &str, name: &str, retired: bool) -> pb::UpdateCategoryRequest {
    let mut paths = vec!["retired".to_owned()];
    if !name.is_empty() {
        paths.push("name".into());
    }
    pb::UpdateCategoryRequest {
        code: code.into(),
        update_mask: Some(prost_types::FieldMask { paths }),
        name: name.into(),
        retired,
    }
}

fn rule(category: &str, region: &str, organization: &str, mode: pb::RoutingMode) -> pb::RoutingRule {
    pb::RoutingRule {
        category_code: category.into(),
        region_code: region.into(),
        organization_id: organization.into(),
        mode: mode.into(),
        ..Default::default()
    }
}

fn codes(categories: &[pb::Category]) -> Vec<&str> {
    categories.iter().map(|c| c.code.as_str()).collect()
}

fn keys(rules: &[pb::RoutingRule]) -> Vec<(&str, &str, i32)> {
    rules.iter().map(|r| (r.category_code.as_str(), r.region_code.as_str(), r.mode)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_write_categories_and_everyone_signed_in_reads_them() -> Result<()> {
    let lab = Lab::new().await?;
    let tax = lab.admin.taxonomy();
    assert_eq!(tax.create_category(category("housing", "住房城乡建设")).await?, category("housing", "住房城乡建设"));
    let demolition = tax.create_category(category("housing.demolition", "  房屋征收  ")).await?;
    assert_eq!(demolition, category("housing.demolition", "房屋征收"), "names are trimmed");
    tax.create_category(category("labor", "劳动保障")).await?;
    let all = ["housing", "housing.demolition", "labor"];
    assert_eq!(codes(&tax.list_categories(false).await?), all);
    for reader in lab.readers() {
        assert_eq!(codes(&reader.taxonomy().list_categories(false).await?), all);
        assert_eq!(codes(&reader.taxonomy().list_categories(true).await?), all);
    }

    // Writes are the admin's; everything needs a token.
    for client in lab.readers() {
        let denied = |r| expect_error(r, Code::PermissionDenied, Some("PERMISSION_DENIED"));
        denied(client.taxonomy().create_category(category("transport", "交通运输")).await.map(drop));
        denied(client.taxonomy().update_category(update("housing", "改名", true)).await.map(drop));
    }
    let unauthenticated = |r| expect_error(r, Code::Unauthenticated, Some("MISSING_CREDENTIALS"));
    let anonymous = lab.anonymous.taxonomy();
    unauthenticated(anonymous.create_category(category("transport", "交通运输")).await.map(drop));
    unauthenticated(anonymous.update_category(update("housing", "改名", true)).await.map(drop));
    unauthenticated(anonymous.list_categories(false).await.map(drop));

    // Bad input, field by field.
    let long_code = "a".repeat(65);
    for bad in ["", "a", "Housing", ".housing", "-housing", "住房", "has space", "a/b", long_code.as_str()] {
        expect_invalid(tax.create_category(category(bad, "名称")).await, &["category.code"]);
    }
    let long_name = "名".repeat(65);
    for bad in ["", "   ", long_name.as_str(), "控制\u{7}字符"] {
        expect_invalid(tax.create_category(category("transport", bad)).await, &["category.name"]);
    }
    expect_invalid(tax.create_category(category("X", "")).await, &["category.code", "category.name"]);
    expect_invalid(tax.create_category(pb::Category::default()).await, &["category.code", "category.name"]);
    let taken = expect_error(
        tax.create_category(category("housing", "另一个名字")).await,
        Code::AlreadyExists,
        Some("CATEGORY_EXISTS"),
    );
    assert!(!taken.message().is_empty());
    // 64 characters is still a valid code and name.
    let longest = "z".repeat(64);
    tax.create_category(category(&longest, &"名".repeat(64))).await?;
    assert_eq!(codes(&tax.list_categories(true).await?), ["housing", "housing.demolition", "labor", longest.as_str()]);

    // Rename; retire keeping the name; retired ones only on request.
    let renamed = tax.update_category(update("housing.demolition", "房屋征收补偿", false)).await?;
    assert_eq!(renamed, category("housing.demolition", "房屋征收补偿"));
    let retired = tax.update_category(update("housing.demolition", "", true)).await?;
    assert_eq!(retired, pb::Category { retired: true, ..renamed.clone() });
    for client in [&lab.admin, &lab.citizen, &lab.clerk] {
        let active = client.taxonomy().list_categories(false).await?;
        assert_eq!(codes(&active), ["housing", "labor", longest.as_str()]);
        let every = client.taxonomy().list_categories(true).await?;
        assert_eq!(every.iter().find(|c| c.code == "housing.demolition"), Some(&retired));
    }
    expect_invalid(tax.update_category(update("housing", &long_name, false)).await, &["name"]);
    expect_error(tax.update_category(update("nosuch", "无", true)).await, Code::NotFound, Some("NOT_FOUND"));
    expect_error(tax.update_category(update("", "无", true)).await, Code::NotFound, Some("NOT_FOUND"));
    // A rename alone keeps the retired flag; an empty or unknown mask is refused.
    let rename_only = pb::UpdateCategoryRequest {
        code: "housing.demolition".into(),
        update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
        name: "房屋征收补偿".into(),
        retired: false,
    };
    assert!(tax.update_category(rename_only.clone()).await?.retired, "retired stays retired");
    expect_invalid(
        tax.update_category(pb::UpdateCategoryRequest { update_mask: None, ..rename_only.clone() }).await,
        &["update_mask"],
    );
    expect_invalid(
        tax.update_category(pb::UpdateCategoryRequest {
            update_mask: Some(prost_types::FieldMask { paths: vec!["code".into()] }),
            ..rename_only
        })
        .await,
        &["update_mask"],
    );
    // A child needs its parent.
    expect_invalid(tax.create_category(category("orphan.child", "孤儿")).await, &["category.code"]);
    // Un-retired, it is offered again.
    assert_eq!(tax.update_category(update("housing.demolition", "", false)).await?, renamed);
    assert!(codes(&tax.list_categories(false).await?).contains(&"housing.demolition"));
    // A category may be created retired.
    let archived = tax.create_category(pb::Category { retired: true, ..category("archived", "旧分类") }).await?;
    assert!(archived.retired);
    assert!(!codes(&lab.citizen.taxonomy().list_categories(false).await?).contains(&"archived"));
    assert!(codes(&lab.citizen.taxonomy().list_categories(true).await?).contains(&"archived"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_set_routing_rules_and_new_cases_follow_the_nearest() -> Result<()> {
    use pb::RoutingMode::{Assign, Forward};
    let lab = Lab::new().await?;
    let dir = &lab.dir;
    let tax = lab.admin.taxonomy();
    for (code, name) in [("housing", "住房城乡建设"), ("labor", "劳动保障"), ("discipline", "党纪政纪")] {
        tax.create_category(category(code, name)).await?;
    }
    let (county, township, unit) = (dir.county_a.code.as_str(), dir.township_a.code.as_str(), dir.unit_a.id.as_str());

    let first = tax.set_routing_rule(rule("housing", county, unit, Forward)).await?;
    assert!(uuid::Uuid::parse_str(&first.id).is_ok(), "{first:?}");
    assert_eq!(keys(std::slice::from_ref(&first)), [("housing", county, Forward as i32)]);
    assert_eq!(first.organization_id, dir.unit_a.id);
    assert!(first.update_time.is_some());
    // The id sent is ignored; (category, region) names the rule, and setting
    // it again replaces it in place.
    let county_rule = tax
        .set_routing_rule(pb::RoutingRule {
            id: uuid::Uuid::now_v7().to_string(),
            ..rule("housing", county, unit, Assign)
        })
        .await?;
    assert_eq!((county_rule.id.as_str(), county_rule.mode), (first.id.as_str(), Assign as i32));
    let township_rule = tax.set_routing_rule(rule("housing", township, unit, Forward)).await?;
    assert_ne!(township_rule.id, county_rule.id);
    let both = [("housing", county, Assign as i32), ("housing", township, Forward as i32)];
    for client in [&lab.admin, &lab.citizen, &lab.clerk] {
        assert_eq!(keys(&client.taxonomy().list_routing_rules("housing").await?), both);
        assert_eq!(keys(&client.taxonomy().list_routing_rules("").await?), both);
        assert!(client.taxonomy().list_routing_rules("labor").await?.is_empty());
        assert!(client.taxonomy().list_routing_rules("nosuch").await?.is_empty());
    }

    // New cases follow the nearest rule (即时交办); other categories wait
    // for the clerk.
    let in_township = lab.file("housing", township).await?;
    assert_eq!(in_township.state, pb::CaseState::Routed as i32);
    assert!(in_township.routed_on_registration);
    assert_eq!((in_township.handling_organization_id.as_str(), in_township.routing_mode), (unit, Forward as i32));
    let in_county = lab.file("housing", county).await?;
    assert_eq!((in_county.handling_organization_id.as_str(), in_county.routing_mode), (unit, Assign as i32));
    assert!(!in_county.deadlines.as_ref().map(|d| d.report_by.as_str()).unwrap_or_default().is_empty());
    let elsewhere = lab.file("housing", &dir.county_b.code).await?;
    assert_eq!(elsewhere.state, pb::CaseState::Registered as i32, "no rule covers county B");
    let labor = lab.file("labor", township).await?;
    assert_eq!(labor.state, pb::CaseState::Registered as i32);
    assert!(!labor.routed_on_registration);
    // A rule routes an accusation only to the discipline channel (Art.30).
    tax.set_routing_rule(rule("discipline", county, unit, Forward)).await?;
    let accusation = lab
        .citizen
        .cases()
        .submit_case(pb::SubmitCaseRequest {
            draft: Some(pb::CaseDraft {
                kind: pb::CaseKind::Accusation.into(),
                category_code: "discipline".into(),
                ..claim("检举")
            }),
            request_id: String::new(),
        })
        .await?;
    assert_eq!(accusation.state, pb::CaseState::Registered as i32, "not routed to a responsible unit");
    assert!(accusation.handling_organization_id.is_empty());
    assert_eq!(lab.file("discipline", township).await?.state, pb::CaseState::Routed as i32, "a claim is routed");

    // Writes are the admin's; everything needs a token.
    for client in lab.readers() {
        let denied = |r| expect_error(r, Code::PermissionDenied, Some("PERMISSION_DENIED"));
        denied(client.taxonomy().set_routing_rule(rule("labor", county, unit, Forward)).await.map(drop));
        denied(client.taxonomy().delete_routing_rule(&county_rule.id).await);
    }
    let anonymous = lab.anonymous.taxonomy();
    let unauthenticated = |r| expect_error(r, Code::Unauthenticated, Some("MISSING_CREDENTIALS"));
    unauthenticated(anonymous.set_routing_rule(rule("labor", county, unit, Forward)).await.map(drop));
    unauthenticated(anonymous.delete_routing_rule(&county_rule.id).await);
    unauthenticated(anonymous.list_routing_rules("").await.map(drop));

    // Bad input, field by field.
    expect_invalid(
        tax.set_routing_rule(pb::RoutingRule::default()).await,
        &["rule.mode", "rule.organization_id", "rule.category_code", "rule.region_code"],
    );
    let bad_mode = pb::RoutingRule { mode: 7, ..rule("labor", county, unit, Forward) };
    expect_invalid(tax.set_routing_rule(bad_mode).await, &["rule.mode"]);
    expect_invalid(
        tax.set_routing_rule(rule("labor", county, unit, pb::RoutingMode::Unspecified)).await,
        &["rule.mode"],
    );
    expect_invalid(tax.set_routing_rule(rule("labor", county, "not-an-id", Forward)).await, &["rule.organization_id"]);
    let nowhere = uuid::Uuid::now_v7().to_string();
    expect_invalid(tax.set_routing_rule(rule("labor", county, &nowhere, Forward)).await, &["rule.organization_id"]);
    // A bureau routes; it is not routed to. Partners are reached by
    // referral (GrantCaseAccess), never by routing.
    let mut partners = Vec::new();
    for (name, kind) in [
        ("章贡区人民法院", pb::OrganizationKind::Court),
        ("章贡区法律援助中心", pb::OrganizationKind::LegalAidCentre),
        ("章贡区人民调解委员会", pb::OrganizationKind::MediationCommittee),
    ] {
        partners.push(organization(&lab.admin, name, kind, &dir.county_a, None).await?);
    }
    for target in [&dir.bureau_a, &dir.city_bureau].into_iter().chain(&partners) {
        expect_invalid(
            tax.set_routing_rule(rule("labor", county, &target.id, Forward)).await,
            &["rule.organization_id"],
        );
    }
    expect_invalid(tax.set_routing_rule(rule("labor", "999999", unit, Forward)).await, &["rule.region_code"]);
    expect_invalid(tax.set_routing_rule(rule("nosuch", county, unit, Forward)).await, &["rule.category_code"]);
    let all_rules = tax.list_routing_rules("").await?;
    assert_eq!(all_rules.len(), 3, "failed writes changed nothing: {all_rules:?}");

    // Deleting the township rule leaves the county's to route.
    tax.delete_routing_rule(&township_rule.id).await?;
    assert_eq!(
        keys(&lab.citizen.taxonomy().list_routing_rules("housing").await?),
        [("housing", county, Assign as i32)]
    );
    assert_eq!(lab.file("housing", township).await?.routing_mode, Assign as i32);
    expect_error(tax.delete_routing_rule(&township_rule.id).await, Code::NotFound, Some("NOT_FOUND"));
    expect_error(tax.delete_routing_rule(nowhere).await, Code::NotFound, Some("NOT_FOUND"));
    expect_invalid(tax.delete_routing_rule("nope").await, &["id"]);
    tax.delete_routing_rule(&county_rule.id).await?;
    assert_eq!(lab.file("housing", township).await?.state, pb::CaseState::Registered as i32, "no rule left");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retired_categories_take_no_new_rules_or_cases() -> Result<()> {
    let lab = Lab::new().await?;
    let dir = &lab.dir;
    let tax = lab.admin.taxonomy();
    tax.create_category(category("labor", "劳动保障")).await?;
    let (county, township, unit) = (dir.county_a.code.as_str(), dir.township_a.code.as_str(), dir.unit_a.id.as_str());
    let old = lab.file("labor", township).await?;

    tax.update_category(update("labor", "", true)).await?;
    expect_invalid(
        tax.set_routing_rule(rule("labor", county, unit, pb::RoutingMode::Forward)).await,
        &["rule.category_code"],
    );
    expect_invalid(lab.file("labor", township).await, &["draft.category_code"]);
    expect_invalid(lab.file("nosuch", township).await, &["draft.category_code"]);
    expect_invalid(
        lab.clerk
            .cases()
            .register_case(pb::RegisterCaseRequest {
                draft: Some(pb::CaseDraft { category_code: "labor".into(), ..claim("来信") }),
                channel: pb::CaseChannel::Letter.into(),
                petitioner_account_id: lab.citizen_id.clone(),
                group_visit: None,
                request_id: String::new(),
            })
            .await,
        &["draft.category_code"],
    );
    // Old cases keep their category.
    assert_eq!(lab.citizen.cases().get_case(&old.id).await?.category_code, "labor");

    // Back in use once un-retired.
    tax.update_category(update("labor", "", false)).await?;
    assert_eq!(lab.file("labor", township).await?.category_code, "labor");
    tax.set_routing_rule(rule("labor", county, unit, pb::RoutingMode::Forward)).await?;
    Ok(())
}

/// ForwardCase refuses a unit whose jurisdiction does not cover the case's
/// region; a routing rule must not do at registration what a clerk may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_routes_only_to_a_unit_whose_jurisdiction_covers_its_region() -> Result<()> {
    let lab = Lab::new().await?;
    let dir = &lab.dir;
    let tax = lab.admin.taxonomy();
    tax.create_category(category("housing", "住房城乡建设")).await?;
    expect_invalid(
        tax.set_routing_rule(rule("housing", &dir.county_b.code, &dir.unit_a.id, pb::RoutingMode::Forward)).await,
        &["rule.organization_id"],
    );
    // Nor a rule for the whole city: the unit covers only county A of it.
    expect_invalid(
        tax.set_routing_rule(rule("housing", &dir.city.code, &dir.unit_a.id, pb::RoutingMode::Forward)).await,
        &["rule.organization_id"],
    );
    assert!(tax.list_routing_rules("").await?.is_empty());
    let case = lab.file("housing", &dir.county_b.code).await?;
    assert_eq!(case.state, pb::CaseState::Registered as i32, "not routed out of the unit's jurisdiction");
    Ok(())
}
