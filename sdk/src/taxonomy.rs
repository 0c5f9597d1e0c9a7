//! [`TaxonomyClient`]: typed calls to `petition.v1.TaxonomyService`.

use petition_proto::v1::taxonomy_service_client::TaxonomyServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::pb;

/// The calls of `TaxonomyService`: the case categories and the routing rules
/// that route a new case at once (即时交办) by category and region. Get one
/// from [`Client::taxonomy`].
///
/// Reads are open to every signed-in caller; writes are admin-only. The
/// lists are short and come whole, without paging.
#[derive(Clone, Debug)]
pub struct TaxonomyClient {
    client: Client,
}

impl TaxonomyClient {
    pub(crate) fn new(client: Client) -> Self {
        TaxonomyClient { client }
    }

    /// Admin only: creates a category and returns it as stored.
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` naming `category.code` or `category.name` (see
    /// [`field_violations`](crate::Error::field_violations)) for a malformed
    /// field; `ALREADY_EXISTS` if the code is taken.
    pub async fn create_category(&self, category: pb::Category) -> Result<pb::Category> {
        let request = pb::CreateCategoryRequest { category: Some(category) };
        let response = self.client.call(request, rpc!(TaxonomyServiceClient::create_category)).await?;
        required(response.category, "CreateCategoryResponse.category")
    }

    /// Every category, ordered by code; retired ones only if
    /// `include_retired`.
    pub async fn list_categories(&self, include_retired: bool) -> Result<Vec<pb::Category>> {
        let request = pb::ListCategoriesRequest { include_retired };
        let response = self.client.call(request, rpc!(TaxonomyServiceClient::list_categories)).await?;
        Ok(response.categories)
    }

    /// Admin only: renames (a non-empty `name`) and sets the retired flag of
    /// the category `code`, and returns it. Retired categories stay on old
    /// cases but cannot be chosen for new ones.
    ///
    /// # Errors
    ///
    /// `NOT_FOUND` if there is no such category.
    pub async fn update_category(&self, request: pb::UpdateCategoryRequest) -> Result<pb::Category> {
        let response = self.client.call(request, rpc!(TaxonomyServiceClient::update_category)).await?;
        required(response.category, "UpdateCategoryResponse.category")
    }

    /// Admin only: creates or replaces the rule for the rule's
    /// (`category_code`, `region_code`) and returns it as stored, with its
    /// id. The `id` sent is ignored.
    pub async fn set_routing_rule(&self, rule: pb::RoutingRule) -> Result<pb::RoutingRule> {
        let request = pb::SetRoutingRuleRequest { rule: Some(rule) };
        let response = self.client.call(request, rpc!(TaxonomyServiceClient::set_routing_rule)).await?;
        required(response.rule, "SetRoutingRuleResponse.rule")
    }

    /// The routing rules of the category `category_code`, or every rule if
    /// it is empty.
    pub async fn list_routing_rules(&self, category_code: impl Into<String>) -> Result<Vec<pb::RoutingRule>> {
        let request = pb::ListRoutingRulesRequest { category_code: category_code.into() };
        let response = self.client.call(request, rpc!(TaxonomyServiceClient::list_routing_rules)).await?;
        Ok(response.rules)
    }

    /// Admin only: deletes the routing rule with the given id.
    ///
    /// # Errors
    ///
    /// `NOT_FOUND` if there is no such rule.
    pub async fn delete_routing_rule(&self, id: impl Into<String>) -> Result<()> {
        let request = pb::DeleteRoutingRuleRequest { id: id.into() };
        self.client.call(request, rpc!(TaxonomyServiceClient::delete_routing_rule)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use petition_proto::v1::taxonomy_service_server::{TaxonomyService, TaxonomyServiceServer};
    use tonic::{Code, Request, Response, Status};

    use super::*;

    type Reply<T> = std::result::Result<Response<T>, Status>;

    /// An in-memory taxonomy.
    #[derive(Clone, Default)]
    struct Fake {
        categories: Arc<Mutex<Vec<pb::Category>>>,
        rules: Arc<Mutex<Vec<pb::RoutingRule>>>,
    }

    #[tonic::async_trait]
    impl TaxonomyService for Fake {
        async fn create_category(
            &self,
            request: Request<pb::CreateCategoryRequest>,
        ) -> Reply<pb::CreateCategoryResponse> {
            let category = request.into_inner().category.unwrap_or_default();
            let mut categories = self.categories.lock().expect("lock");
            if categories.iter().any(|c| c.code == category.code) {
                return Err(Status::already_exists("a category with this code exists"));
            }
            categories.push(category.clone());
            Ok(Response::new(pb::CreateCategoryResponse { category: Some(category) }))
        }

        async fn list_categories(
            &self,
            request: Request<pb::ListCategoriesRequest>,
        ) -> Reply<pb::ListCategoriesResponse> {
            let include_retired = request.into_inner().include_retired;
            let categories = self
                .categories
                .lock()
                .expect("lock")
                .iter()
                .filter(|c| include_retired || !c.retired)
                .cloned()
                .collect();
            Ok(Response::new(pb::ListCategoriesResponse { categories }))
        }

        async fn update_category(
            &self,
            request: Request<pb::UpdateCategoryRequest>,
        ) -> Reply<pb::UpdateCategoryResponse> {
            let request = request.into_inner();
            let mut categories = self.categories.lock().expect("lock");
            let category = categories
                .iter_mut()
                .find(|c| c.code == request.code)
                .ok_or_else(|| Status::not_found("no such category"))?;
            if !request.name.is_empty() {
                category.name = request.name;
            }
            category.retired = request.retired;
            Ok(Response::new(pb::UpdateCategoryResponse { category: Some(category.clone()) }))
        }

        async fn set_routing_rule(
            &self,
            request: Request<pb::SetRoutingRuleRequest>,
        ) -> Reply<pb::SetRoutingRuleResponse> {
            let mut rule = request.into_inner().rule.unwrap_or_default();
            rule.id = format!("rule-{}", rule.region_code);
            self.rules.lock().expect("lock").push(rule.clone());
            Ok(Response::new(pb::SetRoutingRuleResponse { rule: Some(rule) }))
        }

        async fn list_routing_rules(
            &self,
            request: Request<pb::ListRoutingRulesRequest>,
        ) -> Reply<pb::ListRoutingRulesResponse> {
            let code = request.into_inner().category_code;
            let rules = self.rules.lock().expect("lock");
            let rules = rules.iter().filter(|r| code.is_empty() || r.category_code == code).cloned().collect();
            Ok(Response::new(pb::ListRoutingRulesResponse { rules }))
        }

        async fn delete_routing_rule(
            &self,
            request: Request<pb::DeleteRoutingRuleRequest>,
        ) -> Reply<pb::DeleteRoutingRuleResponse> {
            let id = request.into_inner().id;
            let mut rules = self.rules.lock().expect("lock");
            let before = rules.len();
            rules.retain(|r| r.id != id);
            if rules.len() == before {
                return Err(Status::not_found("no such routing rule"));
            }
            Ok(Response::new(pb::DeleteRoutingRuleResponse {}))
        }
    }

    #[tokio::test]
    async fn categories_and_routing_rules() -> Result<()> {
        let incoming = tonic::transport::server::TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a loopback port");
        let addr = incoming.local_addr().expect("local address");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TaxonomyServiceServer::new(Fake::default()))
                .serve_with_incoming(incoming),
        );
        let taxonomy = Client::connect(format!("http://{addr}")).await?.taxonomy();

        let housing = pb::Category { code: "housing".into(), name: "住房".into(), retired: false };
        assert_eq!(taxonomy.create_category(housing.clone()).await?, housing);
        let taken = taxonomy.create_category(housing.clone()).await.map(|_| ()).expect_err("duplicate code");
        assert_eq!(taken.code(), Code::AlreadyExists);
        let request = pb::UpdateCategoryRequest {
            code: "housing".into(),
            update_mask: Some(prost_types::FieldMask { paths: vec!["retired".into()] }),
            name: String::new(),
            retired: true,
        };
        let retired = taxonomy.update_category(request).await?;
        assert_eq!((retired.name.as_str(), retired.retired), ("住房", true));
        assert!(taxonomy.list_categories(false).await?.is_empty());
        assert_eq!(taxonomy.list_categories(true).await?, vec![retired]);

        let rule = pb::RoutingRule {
            category_code: "housing".into(),
            region_code: "360702".into(),
            mode: pb::RoutingMode::Assign.into(),
            ..Default::default()
        };
        let stored = taxonomy.set_routing_rule(rule).await?;
        assert_eq!(stored.id, "rule-360702");
        assert_eq!(taxonomy.list_routing_rules("housing").await?, vec![stored.clone()]);
        assert!(taxonomy.list_routing_rules("transport").await?.is_empty());
        taxonomy.delete_routing_rule(&stored.id).await?;
        assert!(taxonomy.list_routing_rules("").await?.is_empty());
        let gone = taxonomy.delete_routing_rule(stored.id).await.expect_err("already deleted");
        assert_eq!(gone.code(), Code::NotFound);
        Ok(())
    }
}
