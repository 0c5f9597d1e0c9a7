//! DirectoryService: the region tree, organizations, staff listing, and who
//! may do what.

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::pb;
use petition_sdk::tonic::Code;
use petition_tests::*;

use crate::support::{expect_error, expect_invalid};

fn region(code: &str, name: &str, level: pb::RegionLevel, parent: &str) -> pb::CreateRegionRequest {
    pb::CreateRegionRequest { code: code.into(), name: name.into(), level: level.into(), parent_code: parent.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_build_the_region_tree_with_codes_that_fit_it() -> Result<()> {
    use pb::RegionLevel::*;
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let d = admin.directory();
    d.create_region(region("360700", "赣州市", City, "")).await?;
    d.create_region(region("360702", "章贡区", County, "360700")).await?;
    let township = d.create_region(region("360702001", "解放街道", Township, "360702")).await?;
    assert_eq!(township.parent_code, "360702");
    let village = d.create_region(region("360702001001", "厚德路社区", Village, "360702001")).await?;
    assert_eq!(d.get_region("360702001001").await?, village);

    expect_error(
        d.create_region(region("360702", "again", County, "360700")).await,
        Code::AlreadyExists,
        Some("REGION_EXISTS"),
    );
    expect_invalid(d.create_region(region("360800", "wrong city", County, "360700")).await, &["code"]);
    expect_invalid(d.create_region(region("360703001", "skips a level", Village, "360702")).await, &["code"]);
    expect_invalid(d.create_region(region("360703001", "not under its county", Township, "360702")).await, &["code"]);
    expect_invalid(d.create_region(region("360705", "orphan", County, "369900")).await, &["parent_code"]);
    expect_invalid(d.create_region(region("360705", "", Unspecified, "")).await, &["level", "name"]);
    expect_error(d.get_region("999999").await, Code::NotFound, None);
    expect_invalid(d.get_region("").await, &["code"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_regions_pages_with_signed_tokens() -> Result<()> {
    use pb::RegionLevel::*;
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let d = admin.directory();
    d.create_region(region("360700", "赣州市", City, "")).await?;
    for i in 1..=7 {
        d.create_region(region(&format!("36070{i}"), &format!("区{i}"), County, "360700")).await?;
    }
    let filter = pb::ListRegionsRequest { parent_code: "360700".into(), page_size: 3, ..Default::default() };
    let first = d.list_regions(filter.clone()).await?;
    assert_eq!(first.regions.len(), 3);
    assert!(!first.next_page_token.is_empty());
    let all: Vec<pb::Region> = d.regions(filter.clone()).try_collect().await?;
    let codes: Vec<&str> = all.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["360701", "360702", "360703", "360704", "360705", "360706", "360707"]);
    let cities: Vec<pb::Region> =
        d.regions(pb::ListRegionsRequest { level: City.into(), ..Default::default() }).try_collect().await?;
    assert_eq!(cities.len(), 1);

    expect_invalid(
        d.list_regions(pb::ListRegionsRequest { page_size: -1, ..Default::default() }).await,
        &["page_size"],
    );
    let tampered = format!("{}x", first.next_page_token);
    expect_invalid(
        d.list_regions(pb::ListRegionsRequest { page_token: tampered, ..filter.clone() }).await,
        &["page_token"],
    );
    // A token is bound to its filter.
    let other_filter =
        pb::ListRegionsRequest { parent_code: String::new(), page_token: first.next_page_token, ..filter };
    expect_invalid(d.list_regions(other_filter).await, &["page_token"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_are_placed_in_regions_and_updated_with_etags() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let dir = Directory::create(&admin).await?;
    let d = admin.directory();
    assert_eq!(dir.bureau_a.parent_organization_id, dir.city_bureau.id);
    assert_eq!(d.get_organization(&dir.unit_a.id).await?, dir.unit_a);

    let in_county_a: Vec<pb::Organization> = d
        .organizations(pb::ListOrganizationsRequest { region_code: dir.county_a.code.clone(), ..Default::default() })
        .try_collect()
        .await?;
    let names: Vec<&str> = in_county_a.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["章贡区信访局", "章贡区住建局"]);
    let bureaus: Vec<pb::Organization> = d
        .organizations(pb::ListOrganizationsRequest {
            kind: pb::OrganizationKind::PetitionBureau.into(),
            page_size: 1,
            ..Default::default()
        })
        .try_collect()
        .await?;
    assert_eq!(bureaus.len(), 3);

    // A county body cannot sit above the city's.
    expect_invalid(
        organization(&admin, "错位", pb::OrganizationKind::ResponsibleUnit, &dir.city, Some(&dir.bureau_a))
            .await
            .map_err(to_sdk),
        &["parent_organization_id"],
    );
    expect_invalid(
        d.create_organization(pb::CreateOrganizationRequest {
            name: String::new(),
            kind: 42,
            region_code: String::new(),
            parent_organization_id: "x".into(),
        })
        .await,
        &["kind", "name", "parent_organization_id", "region_code"],
    );

    let renamed = d
        .update_organization(pb::UpdateOrganizationRequest {
            id: dir.unit_a.id.clone(),
            update_mask: Some(prost_types_mask(&["name"])),
            name: "章贡区住房和城乡建设局".into(),
            etag: dir.unit_a.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(renamed.name, "章贡区住房和城乡建设局");
    assert_ne!(renamed.etag, dir.unit_a.etag);
    // The etag read before the rename is stale now.
    let stale = pb::UpdateOrganizationRequest {
        id: dir.unit_a.id.clone(),
        update_mask: Some(prost_types_mask(&["name"])),
        name: "x".into(),
        etag: dir.unit_a.etag.clone(),
        ..Default::default()
    };
    expect_error(d.update_organization(stale.clone()).await, Code::Aborted, Some("ETAG_MISMATCH"));
    expect_invalid(
        d.update_organization(pb::UpdateOrganizationRequest { update_mask: None, ..stale.clone() }).await,
        &["update_mask"],
    );
    expect_invalid(
        d.update_organization(pb::UpdateOrganizationRequest {
            update_mask: Some(prost_types_mask(&["kind"])),
            ..stale.clone()
        })
        .await,
        &["update_mask"],
    );
    // No cycles: the city bureau cannot move under its own child.
    let city = d.get_organization(&dir.city_bureau.id).await?;
    let cycle = pb::UpdateOrganizationRequest {
        id: city.id.clone(),
        update_mask: Some(prost_types_mask(&["parent_organization_id"])),
        parent_organization_id: dir.bureau_a.id.clone(),
        etag: city.etag.clone(),
        ..Default::default()
    };
    expect_invalid(d.update_organization(cycle).await, &["parent_organization_id"]);
    Ok(())
}

fn prost_types_mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }
}

fn to_sdk(error: anyhow::Error) -> petition_sdk::Error {
    match error.downcast::<petition_sdk::Error>() {
        Ok(e) => e,
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_write_the_directory_and_everyone_signed_in_reads_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let dir = Directory::create(&admin).await?;
    let (clerk, _) = signed_in_staff(&admin, "clerk.a", &dir.bureau_a, &[pb::Role::Clerk]).await?;
    let (citizen, _) = signed_in_citizen(&server.client().await?, "读者").await?;
    let anonymous = server.client().await?;
    for reader in [&clerk, &citizen] {
        reader.directory().get_region("360700").await?;
        reader.directory().get_organization(&dir.unit_b.id).await?;
        reader.directory().list_regions(pb::ListRegionsRequest::default()).await?;
        reader.directory().list_organizations(pb::ListOrganizationsRequest::default()).await?;
        expect_error(
            reader.directory().create_region(region("360703", "x", pb::RegionLevel::County, "360700")).await,
            Code::PermissionDenied,
            None,
        );
        expect_error(
            reader.directory().create_organization(pb::CreateOrganizationRequest::default()).await,
            Code::PermissionDenied,
            None,
        );
        expect_error(
            reader.directory().update_organization(pb::UpdateOrganizationRequest::default()).await,
            Code::PermissionDenied,
            None,
        );
    }
    expect_error(anonymous.directory().get_region("360700").await, Code::Unauthenticated, None);
    expect_error(
        anonymous.directory().list_organizations(pb::ListOrganizationsRequest::default()).await,
        Code::Unauthenticated,
        None,
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_listing_is_limited_to_the_jurisdiction() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let dir = Directory::create(&admin).await?;
    let (clerk_a, clerk_a_account) = signed_in_staff(&admin, "clerk.a", &dir.bureau_a, &[pb::Role::Clerk]).await?;
    let (_, handler_a) = signed_in_staff(&admin, "handler.a", &dir.unit_a, &[pb::Role::Handler]).await?;
    let (_, handler_b) = signed_in_staff(&admin, "handler.b", &dir.unit_b, &[pb::Role::Handler]).await?;
    let (leader, _) = signed_in_staff(&admin, "city.leader", &dir.city_bureau, &[pb::Role::Leader]).await?;
    let (citizen, _) = signed_in_citizen(&server.client().await?, "旁人").await?;

    let ids = |staff: Vec<pb::StaffMember>| {
        let mut ids: Vec<String> = staff.into_iter().map(|s| s.account_id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let seen_by_a: Vec<pb::StaffMember> =
        clerk_a.directory().staff(pb::ListStaffRequest::default()).try_collect().await?;
    assert_eq!(ids(seen_by_a), sorted(vec![clerk_a_account.id.clone(), handler_a.id.clone()]));
    let handlers_a: Vec<pb::StaffMember> = clerk_a
        .directory()
        .staff(pb::ListStaffRequest { role: pb::Role::Handler.into(), ..Default::default() })
        .try_collect()
        .await?;
    assert_eq!(ids(handlers_a), vec![handler_a.id.clone()]);
    // County B is outside county A's jurisdiction: it does not exist for them.
    expect_error(
        clerk_a
            .directory()
            .list_staff(pb::ListStaffRequest { organization_id: dir.unit_b.id.clone(), ..Default::default() })
            .await,
        Code::NotFound,
        None,
    );
    let seen_by_leader: Vec<pb::StaffMember> =
        leader.directory().staff(pb::ListStaffRequest { page_size: 1, ..Default::default() }).try_collect().await?;
    assert_eq!(seen_by_leader.len(), 4, "the city leader sees both counties and the city");
    let unit_b_staff: Vec<pb::StaffMember> = leader
        .directory()
        .staff(pb::ListStaffRequest { organization_id: dir.unit_b.id.clone(), ..Default::default() })
        .try_collect()
        .await?;
    assert_eq!(ids(unit_b_staff), vec![handler_b.id.clone()]);
    let everyone: Vec<pb::StaffMember> = admin.directory().staff(pb::ListStaffRequest::default()).try_collect().await?;
    assert_eq!(everyone.len(), 4, "admins see the staff of every organization");
    expect_error(citizen.directory().list_staff(pb::ListStaffRequest::default()).await, Code::PermissionDenied, None);
    expect_invalid(
        admin.directory().list_staff(pb::ListStaffRequest { role: 77, ..Default::default() }).await,
        &["role"],
    );
    expect_invalid(
        admin.directory().list_staff(pb::ListStaffRequest { organization_id: "x".into(), ..Default::default() }).await,
        &["organization_id"],
    );
    Ok(())
}
