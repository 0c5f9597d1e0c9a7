//! `petition.v1.TaxonomyService`: categories and routing rules.

use std::sync::Arc;

use chrono::Utc;
use petition_proto::v1 as pb;
use petition_proto::v1::taxonomy_service_server::TaxonomyService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::model::{CategoryRow, RoutingRuleRow};
use super::rules::{RoutingMode, check_category_code};
use super::store;
use crate::auth::policy::{self, Action, Resource};
use crate::auth::require_principal;
use crate::convert::{parse_id, timestamp};
use crate::directory::rules::{OrganizationKind, validate_name};
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::state::AppState;

pub struct TaxonomyApi {
    state: Arc<AppState>,
}

impl TaxonomyApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

impl From<CategoryRow> for pb::Category {
    fn from(row: CategoryRow) -> Self {
        pb::Category { code: row.code, name: row.name, retired: row.retired }
    }
}

impl From<RoutingRuleRow> for pb::RoutingRule {
    fn from(row: RoutingRuleRow) -> Self {
        pb::RoutingRule {
            id: row.id.to_string(),
            category_code: row.category_code,
            region_code: row.region_code,
            organization_id: row.organization_id.to_string(),
            mode: i32::from(row.mode),
            update_time: Some(timestamp(row.updated_at)),
        }
    }
}

#[tonic::async_trait]
impl TaxonomyService for TaxonomyApi {
    async fn create_category(
        &self,
        request: Request<pb::CreateCategoryRequest>,
    ) -> Result<Response<pb::CreateCategoryResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteTaxonomy, Resource::System)?;
        let category = request.into_inner().category.unwrap_or_default();
        let mut violations = Vec::new();
        check_category_code("category.code", &category.code, &mut violations);
        let name = validate_name("category.name", &category.name, 64, &mut violations);
        require_valid(violations)?;
        let now = Utc::now();
        let parent = category.code.rsplit_once('.').map(|(parent, _)| parent.to_owned());
        let row =
            CategoryRow { code: category.code, name, retired: category.retired, created_at: now, updated_at: now };
        let row = self
            .state
            .db
            .run(move |conn| {
                if let Some(parent) = parent
                    && store::find_category(conn, &parent)?.is_none()
                {
                    return Err(AppError::invalid(
                        "category.code",
                        format!("create the parent category {parent:?} first"),
                    ));
                }
                store::insert_category(conn, &row)
            })
            .await?;
        Ok(Response::new(pb::CreateCategoryResponse { category: Some(row.into()) }))
    }

    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadTaxonomy, Resource::System)?;
        let include_retired = request.into_inner().include_retired;
        let rows = self.state.db.read(move |conn| store::list_categories(conn, include_retired)).await?;
        Ok(Response::new(pb::ListCategoriesResponse { categories: rows.into_iter().map(Into::into).collect() }))
    }

    async fn update_category(
        &self,
        request: Request<pb::UpdateCategoryRequest>,
    ) -> Result<Response<pb::UpdateCategoryResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteTaxonomy, Resource::System)?;
        let req = request.into_inner();
        let paths = req.update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(AppError::invalid("update_mask", "name at least one field to change").into());
        }
        if let Some(unknown) = paths.iter().find(|p| !matches!(p.as_str(), "name" | "retired")) {
            return Err(AppError::invalid("update_mask", format!("{unknown:?} cannot be changed")).into());
        }
        let mut violations = Vec::new();
        let name = paths.iter().any(|p| p == "name").then(|| validate_name("name", &req.name, 64, &mut violations));
        let retired = paths.iter().any(|p| p == "retired").then_some(req.retired);
        require_valid(violations)?;
        let row = self
            .state
            .db
            .run(move |conn| {
                store::update_category(conn, &req.code, name.as_deref(), retired)?
                    .ok_or(AppError::NotFound { resource: "category" })
            })
            .await?;
        Ok(Response::new(pb::UpdateCategoryResponse { category: Some(row.into()) }))
    }

    async fn set_routing_rule(
        &self,
        request: Request<pb::SetRoutingRuleRequest>,
    ) -> Result<Response<pb::SetRoutingRuleResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteTaxonomy, Resource::System)?;
        let rule = request.into_inner().rule.unwrap_or_default();
        let mut violations = Vec::new();
        let mode = RoutingMode::from_i32(rule.mode)
            .ok_or_else(|| violations.push(FieldViolation::new("rule.mode", "must be FORWARD or ASSIGN")))
            .ok();
        let organization_id = parse_id("rule.organization_id", &rule.organization_id)
            .map_err(|_| violations.push(FieldViolation::new("rule.organization_id", "must be an organization id")))
            .ok();
        if rule.category_code.is_empty() {
            violations.push(FieldViolation::new("rule.category_code", "is required"));
        }
        if rule.region_code.is_empty() {
            violations.push(FieldViolation::new("rule.region_code", "is required"));
        }
        let (Some(mode), Some(organization_id), true) = (mode, organization_id, violations.is_empty()) else {
            return Err(AppError::InvalidArgument(violations).into());
        };
        let row = self
            .state
            .db
            .run(move |conn| {
                store::find_category(conn, &rule.category_code)?
                    .filter(|c| !c.retired)
                    .ok_or_else(|| AppError::invalid("rule.category_code", "no such active category"))?;
                let region = directory_store::find_region(conn, &rule.region_code)?
                    .ok_or_else(|| AppError::invalid("rule.region_code", "no such region"))?;
                let unit = directory_store::find_organization(conn, organization_id)?
                    .ok_or_else(|| AppError::invalid("rule.organization_id", "no such organization"))?;
                // The competence check of a clerk's forwarding: the unit's
                // jurisdiction must cover every region the rule matches.
                if !crate::auth::policy::path_within(&region.path, &unit.region_path) {
                    return Err(AppError::invalid(
                        "rule.organization_id",
                        "the organization's jurisdiction does not cover the rule's region",
                    ));
                }
                // A rule routes claims and accusations alike (filing skips
                // it for the kind its target does not handle), so its
                // target must handle one of them: not a bureau, a court, a
                // legal-aid centre or a mediation committee.
                let kind = OrganizationKind::from_i32(i32::from(unit.organization.kind));
                if !kind.is_some_and(|k| k.handles(false) || k.handles(true)) {
                    return Err(AppError::invalid(
                        "rule.organization_id",
                        "route to an organization that handles cases (a unit, a government or the discipline \
                         channel), not a bureau or a partner",
                    ));
                }
                store::upsert_routing_rule(
                    conn,
                    &RoutingRuleRow {
                        id: Uuid::now_v7(),
                        category_code: rule.category_code,
                        region_code: rule.region_code,
                        organization_id,
                        mode: mode.as_i16(),
                        updated_at: Utc::now(),
                    },
                )
            })
            .await?;
        Ok(Response::new(pb::SetRoutingRuleResponse { rule: Some(row.into()) }))
    }

    async fn list_routing_rules(
        &self,
        request: Request<pb::ListRoutingRulesRequest>,
    ) -> Result<Response<pb::ListRoutingRulesResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadTaxonomy, Resource::System)?;
        let category = request.into_inner().category_code;
        let rows = self
            .state
            .db
            .read(move |conn| store::list_routing_rules(conn, (!category.is_empty()).then_some(category.as_str())))
            .await?;
        Ok(Response::new(pb::ListRoutingRulesResponse { rules: rows.into_iter().map(Into::into).collect() }))
    }

    async fn delete_routing_rule(
        &self,
        request: Request<pb::DeleteRoutingRuleRequest>,
    ) -> Result<Response<pb::DeleteRoutingRuleResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteTaxonomy, Resource::System)?;
        let id = parse_id("id", &request.into_inner().id)?;
        let deleted = self.state.db.run(move |conn| store::delete_routing_rule(conn, id)).await?;
        if !deleted {
            return Err(AppError::NotFound { resource: "routing rule" }.into());
        }
        Ok(Response::new(pb::DeleteRoutingRuleResponse {}))
    }
}
