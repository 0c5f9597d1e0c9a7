//! `petition.v1.DirectoryService`: regions, organizations and staff.

use std::sync::Arc;

use chrono::Utc;
use petition_proto::v1 as pb;
use petition_proto::v1::directory_service_server::DirectoryService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::model::{OrganizationRow, RegionRow, StaffRow};
use super::rules::{self, OrganizationKind, RegionLevel};
use super::store;
use crate::auth::policy::{self, Action, Resource};
use crate::auth::{Role, require_principal};
use crate::convert::{optional_id, parse_id, timestamp};
use crate::error::Reason;
use crate::error::{AppError, FieldViolation};
use crate::pagination::{finish_page, page_size};
use crate::state::AppState;

/// Deepest organization nesting followed when checking for cycles.
const MAX_ORGANIZATION_DEPTH: usize = 32;

pub struct DirectoryApi {
    state: Arc<AppState>,
}

impl DirectoryApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

impl From<RegionRow> for pb::Region {
    fn from(row: RegionRow) -> Self {
        pb::Region {
            code: row.code,
            name: row.name,
            level: i32::from(row.level),
            parent_code: row.parent_code.unwrap_or_default(),
        }
    }
}

impl From<OrganizationRow> for pb::Organization {
    fn from(row: OrganizationRow) -> Self {
        pb::Organization {
            id: row.id.to_string(),
            name: row.name,
            kind: i32::from(row.kind),
            region_code: row.region_code,
            parent_organization_id: row.parent_id.map(|id| id.to_string()).unwrap_or_default(),
            etag: row.version.to_string(),
            create_time: Some(timestamp(row.created_at)),
            update_time: Some(timestamp(row.updated_at)),
        }
    }
}

impl From<StaffRow> for pb::StaffMember {
    fn from(row: StaffRow) -> Self {
        pb::StaffMember {
            account_id: row.account_id.to_string(),
            display_name: row.display_name,
            organization_id: row.organization_id.map(|id| id.to_string()).unwrap_or_default(),
            roles: row.roles.into_iter().flatten().map(i32::from).collect(),
            disabled: row.disabled,
        }
    }
}

fn organization_kind(raw: i32) -> Result<OrganizationKind, AppError> {
    OrganizationKind::from_i32(raw).ok_or_else(|| AppError::invalid("kind", "must be a known organization kind"))
}

#[tonic::async_trait]
impl DirectoryService for DirectoryApi {
    async fn create_region(
        &self,
        request: Request<pb::CreateRegionRequest>,
    ) -> Result<Response<pb::CreateRegionResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteDirectory, Resource::System)?;
        let req = request.into_inner();
        let region = rules::validate_new_region(&req.code, &req.name, req.level, &req.parent_code)?;
        let row = self
            .state
            .db
            .run(move |conn| {
                let parent_path = match &region.parent_code {
                    None => None,
                    Some(code) => {
                        let parent = store::find_region(conn, code)?
                            .ok_or_else(|| AppError::invalid("parent_code", "no such region"))?;
                        let level = RegionLevel::from_i32(i32::from(parent.level))
                            .ok_or_else(|| AppError::internal("stored region has an unknown level"))?;
                        rules::check_region_parent(&region, level, &parent.code)?;
                        Some(parent.path)
                    }
                };
                store::insert_region(
                    conn,
                    &RegionRow {
                        path: rules::child_path(parent_path.as_deref(), &region.code),
                        code: region.code,
                        name: region.name,
                        level: region.level as i16,
                        parent_code: region.parent_code,
                        created_at: Utc::now(),
                    },
                )
            })
            .await?;
        Ok(Response::new(pb::CreateRegionResponse { region: Some(row.into()) }))
    }

    async fn get_region(
        &self,
        request: Request<pb::GetRegionRequest>,
    ) -> Result<Response<pb::GetRegionResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadDirectory, Resource::System)?;
        let code = request.into_inner().code;
        if code.is_empty() {
            return Err(AppError::invalid("code", "is required").into());
        }
        let row = self
            .state
            .db
            .read(move |conn| store::find_region(conn, &code)?.ok_or(AppError::NotFound { resource: "region" }))
            .await?;
        Ok(Response::new(pb::GetRegionResponse { region: Some(row.into()) }))
    }

    async fn list_regions(
        &self,
        request: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadDirectory, Resource::System)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let level = match req.level {
            0 => None,
            raw => {
                Some(RegionLevel::from_i32(raw).ok_or_else(|| AppError::invalid("level", "must be a known level"))?
                    as i16)
            }
        };
        let scope = format!("regions:{}:{}", req.parent_code, req.level);
        let after: Option<String> = self.state.pages.decode(&scope, &req.page_token)?;
        let parent = (!req.parent_code.is_empty()).then_some(req.parent_code);
        let rows = self
            .state
            .db
            .read(move |conn| store::list_regions(conn, parent.as_deref(), level, after.as_deref(), limit + 1))
            .await?;
        let (rows, next) = finish_page(rows, limit, |row| row.code.clone());
        let next_page_token = self.state.pages.next_token(&scope, next)?;
        Ok(Response::new(pb::ListRegionsResponse {
            regions: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteDirectory, Resource::System)?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let name = rules::validate_name("name", &req.name, 100, &mut violations);
        let kind = organization_kind(req.kind)
            .map_err(|_| violations.push(FieldViolation::new("kind", "must be a known organization kind")));
        if req.region_code.is_empty() {
            violations.push(FieldViolation::new("region_code", "is required"));
        }
        let parent_id = optional_id("parent_organization_id", &req.parent_organization_id)
            .map_err(|_| violations.push(FieldViolation::new("parent_organization_id", "must be an organization id")));
        let (Ok(kind), Ok(parent_id), true) = (kind, parent_id, violations.is_empty()) else {
            return Err(AppError::InvalidArgument(violations).into());
        };
        let region_code = req.region_code;
        let row = self
            .state
            .db
            .run(move |conn| {
                let region = store::find_region(conn, &region_code)?
                    .ok_or_else(|| AppError::invalid("region_code", "no such region"))?;
                if let Some(parent_id) = parent_id {
                    let parent = store::find_organization(conn, parent_id)?
                        .ok_or_else(|| AppError::invalid("parent_organization_id", "no such organization"))?;
                    rules::check_parent_placement(&region.path, &parent.region_path)?;
                }
                let now = Utc::now();
                store::insert_organization(
                    conn,
                    &OrganizationRow {
                        id: Uuid::now_v7(),
                        name,
                        kind: kind as i16,
                        region_code: region.code,
                        parent_id,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    },
                )
            })
            .await?;
        Ok(Response::new(pb::CreateOrganizationResponse { organization: Some(row.into()) }))
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadDirectory, Resource::System)?;
        let id = parse_id("id", &request.into_inner().id)?;
        let placed = self
            .state
            .db
            .read(move |conn| {
                store::find_organization(conn, id)?.ok_or(AppError::NotFound { resource: "organization" })
            })
            .await?;
        Ok(Response::new(pb::GetOrganizationResponse { organization: Some(placed.organization.into()) }))
    }

    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadDirectory, Resource::System)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let kind = match req.kind {
            0 => None,
            raw => Some(organization_kind(raw)? as i16),
        };
        let scope = format!("organizations:{}:{}", req.region_code, req.kind);
        let after: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let region_code = req.region_code;
        let rows = self
            .state
            .db
            .read_snapshot(move |conn| {
                let root = if region_code.is_empty() {
                    None
                } else {
                    let region = store::find_region(conn, &region_code)?
                        .ok_or_else(|| AppError::invalid("region_code", "no such region"))?;
                    Some(region.path)
                };
                store::list_organizations(conn, root.as_deref(), kind, after, limit + 1)
            })
            .await?;
        let (rows, next) = finish_page(rows, limit, |row| row.id);
        let next_page_token = self.state.pages.next_token(&scope, next)?;
        Ok(Response::new(pb::ListOrganizationsResponse {
            organizations: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteDirectory, Resource::System)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let paths = req.update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(AppError::invalid("update_mask", "name at least one field to change").into());
        }
        if let Some(unknown) = paths.iter().find(|p| !matches!(p.as_str(), "name" | "parent_organization_id")) {
            return Err(AppError::invalid("update_mask", format!("{unknown:?} cannot be changed")).into());
        }
        let version: i32 =
            req.etag.parse().map_err(|_| AppError::invalid("etag", "send the etag of the organization you read"))?;
        let mut violations = Vec::new();
        let new_name =
            paths.iter().any(|p| p == "name").then(|| rules::validate_name("name", &req.name, 100, &mut violations));
        let new_parent = if paths.iter().any(|p| p == "parent_organization_id") {
            Some(optional_id("parent_organization_id", &req.parent_organization_id)?)
        } else {
            None
        };
        if !violations.is_empty() {
            return Err(AppError::InvalidArgument(violations).into());
        }
        let row = self
            .state
            .db
            .run(move |conn| {
                let current =
                    store::find_organization(conn, id)?.ok_or(AppError::NotFound { resource: "organization" })?;
                if current.organization.version != version {
                    return Err(AppError::Aborted { resource: "organization" });
                }
                let parent_id = match new_parent {
                    None => current.organization.parent_id,
                    Some(None) => None,
                    Some(Some(parent_id)) => {
                        let parent = store::find_organization(conn, parent_id)?
                            .ok_or_else(|| AppError::invalid("parent_organization_id", "no such organization"))?;
                        rules::check_parent_placement(&current.region_path, &parent.region_path)?;
                        let above = store::ancestor_ids(conn, parent_id, MAX_ORGANIZATION_DEPTH)?;
                        if parent_id == id || above.contains(&id) {
                            return Err(AppError::invalid(
                                "parent_organization_id",
                                "would make the organization its own ancestor",
                            ));
                        }
                        Some(parent_id)
                    }
                };
                let name = new_name.unwrap_or(current.organization.name);
                store::update_organization(conn, id, version, &name, parent_id)?
                    .ok_or(AppError::Aborted { resource: "organization" })
            })
            .await?;
        Ok(Response::new(pb::UpdateOrganizationResponse { organization: Some(row.into()) }))
    }

    async fn list_staff(
        &self,
        request: Request<pb::ListStaffRequest>,
    ) -> Result<Response<pb::ListStaffResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let organization_id = optional_id("organization_id", &req.organization_id)?;
        let role = match req.role {
            0 => None,
            raw => Some(Role::from_i32(raw).ok_or_else(|| AppError::invalid("role", "must be a known role"))? as i16),
        };
        let scope = format!("staff:{}:{}", req.organization_id, req.role);
        let after: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let rows = self
            .state
            .db
            .read_snapshot(move |conn| {
                // The subtree searched: the named organization's region if
                // the caller may see it, else the caller's whole jurisdiction.
                let root = match organization_id {
                    Some(org) => {
                        let placed = store::find_organization(conn, org)?
                            .ok_or(AppError::NotFound { resource: "organization" })?;
                        policy::authorize(
                            &principal,
                            Action::ListStaff,
                            Resource::InRegion { path: &placed.region_path },
                        )?;
                        None
                    }
                    None if principal.is_admin() => None,
                    None => {
                        let root = principal.jurisdiction.clone().ok_or_else(|| {
                            AppError::permission_denied(
                                Reason::NoJurisdiction,
                                "your account belongs to no organization",
                            )
                        })?;
                        policy::authorize(&principal, Action::ListStaff, Resource::InRegion { path: &root })?;
                        Some(root)
                    }
                };
                store::list_staff(conn, root.as_deref(), organization_id, role, after, limit + 1)
            })
            .await?;
        let (rows, next) = finish_page(rows, limit, |row| row.account_id);
        let next_page_token = self.state.pages.next_token(&scope, next)?;
        Ok(Response::new(pb::ListStaffResponse { staff: rows.into_iter().map(Into::into).collect(), next_page_token }))
    }
}
