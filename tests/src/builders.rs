//! Small builders for test data, made through the API as a user would.

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Result;
use petition_sdk::{Client, pb};

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A number unique within this process, mixed with the process id so that
/// parallel test processes do not collide.
fn unique() -> u32 {
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    (std::process::id().wrapping_mul(7919).wrapping_add(n.wrapping_mul(104_729))) % 100_000_000
}

/// The GB 11643 check character of 17 digits.
pub fn resident_id_check_char(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// A valid, unique resident ID number born in Ganzhou (章贡区).
pub fn resident_id() -> String {
    let n = unique();
    let year = 1950 + n % 50;
    let month = 1 + (n / 50) % 12;
    let day = 1 + (n / 600) % 28;
    let sequence = (n / 16_800) % 1000;
    let first17 = format!("360702{year:04}{month:02}{day:02}{sequence:03}");
    let mut id = first17.clone();
    id.push(resident_id_check_char(&first17));
    id
}

/// A unique mainland mobile number.
pub fn phone() -> String {
    format!("139{:08}", unique())
}

pub const PASSWORD: &str = "a-long-enough-password";

/// A citizen registration with fresh identity data.
pub fn citizen_request(name: &str) -> pb::RegisterCitizenRequest {
    pb::RegisterCitizenRequest {
        real_name: name.into(),
        resident_id: resident_id(),
        phone: phone(),
        password: PASSWORD.into(),
    }
}

/// Registers a citizen and returns a client signed in as them.
pub async fn signed_in_citizen(anonymous: &Client, name: &str) -> Result<(Client, pb::RegisterCitizenRequest)> {
    let request = citizen_request(name);
    anonymous.identity().register_citizen(request.clone()).await?;
    let client = anonymous.new_session();
    client.login(&request.phone, PASSWORD).await?;
    Ok((client, request))
}

/// A small directory: a city with two counties, each with a township, a
/// petition bureau in the city and each county, and a responsible unit in
/// each county.
pub struct Directory {
    pub city: pb::Region,
    pub county_a: pb::Region,
    pub county_b: pb::Region,
    pub township_a: pb::Region,
    pub city_bureau: pb::Organization,
    pub bureau_a: pb::Organization,
    pub bureau_b: pb::Organization,
    pub unit_a: pb::Organization,
    pub unit_b: pb::Organization,
}

async fn region(admin: &Client, code: &str, name: &str, level: pb::RegionLevel, parent: &str) -> Result<pb::Region> {
    Ok(admin
        .directory()
        .create_region(pb::CreateRegionRequest {
            code: code.into(),
            name: name.into(),
            level: level.into(),
            parent_code: parent.into(),
        })
        .await?)
}

pub async fn organization(
    admin: &Client,
    name: &str,
    kind: pb::OrganizationKind,
    region: &pb::Region,
    parent: Option<&pb::Organization>,
) -> Result<pb::Organization> {
    Ok(admin
        .directory()
        .create_organization(pb::CreateOrganizationRequest {
            name: name.into(),
            kind: kind.into(),
            region_code: region.code.clone(),
            parent_organization_id: parent.map(|p| p.id.clone()).unwrap_or_default(),
        })
        .await?)
}

impl Directory {
    pub async fn create(admin: &Client) -> Result<Directory> {
        use pb::OrganizationKind as Kind;
        use pb::RegionLevel as Level;
        let city = region(admin, "360700", "赣州市", Level::City, "").await?;
        let county_a = region(admin, "360702", "章贡区", Level::County, "360700").await?;
        let county_b = region(admin, "360731", "于都县", Level::County, "360700").await?;
        let township_a = region(admin, "360702001", "解放街道", Level::Township, "360702").await?;
        let city_bureau = organization(admin, "赣州市信访局", Kind::PetitionBureau, &city, None).await?;
        let bureau_a = organization(admin, "章贡区信访局", Kind::PetitionBureau, &county_a, Some(&city_bureau)).await?;
        let bureau_b = organization(admin, "于都县信访局", Kind::PetitionBureau, &county_b, Some(&city_bureau)).await?;
        let unit_a = organization(admin, "章贡区住建局", Kind::ResponsibleUnit, &county_a, None).await?;
        let unit_b = organization(admin, "于都县人社局", Kind::ResponsibleUnit, &county_b, None).await?;
        Ok(Directory { city, county_a, county_b, township_a, city_bureau, bureau_a, bureau_b, unit_a, unit_b })
    }
}

/// Creates a staff account and returns a client signed in as them.
pub async fn signed_in_staff(
    admin: &Client,
    login_name: &str,
    organization: &pb::Organization,
    roles: &[pb::Role],
) -> Result<(Client, pb::Account)> {
    let account = admin
        .identity()
        .create_staff_account(pb::CreateStaffAccountRequest {
            login_name: login_name.into(),
            display_name: format!("Staff {login_name}"),
            password: PASSWORD.into(),
            roles: roles.iter().map(|r| *r as i32).collect(),
            organization_id: organization.id.clone(),
            phone: String::new(),
        })
        .await?;
    let client = admin.new_session();
    client.login(login_name, PASSWORD).await?;
    Ok((client, account))
}
