//! [`DirectoryClient`]: typed calls to `petition.v1.DirectoryService`.

use futures::stream::BoxStream;
use petition_proto::v1::directory_service_client::DirectoryServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `DirectoryService`: regions, organizations and staff. Get one
/// from [`Client::directory`].
///
/// Reads are open to every signed-in caller (staff listings are limited to
/// the caller's jurisdiction); writes are admin-only. `list_*` methods return
/// one page; the matching stream methods ([`regions`](DirectoryClient::regions),
/// [`organizations`](DirectoryClient::organizations),
/// [`staff`](DirectoryClient::staff)) walk every page.
#[derive(Clone, Debug)]
pub struct DirectoryClient {
    client: Client,
}

impl DirectoryClient {
    pub(crate) fn new(client: Client) -> Self {
        DirectoryClient { client }
    }

    /// Admin only: creates a region. Its code must match its level and
    /// extend its parent's.
    pub async fn create_region(&self, request: pb::CreateRegionRequest) -> Result<pb::Region> {
        let response = self.client.call(request, rpc!(DirectoryServiceClient::create_region)).await?;
        required(response.region, "CreateRegionResponse.region")
    }

    /// The region with the given code.
    pub async fn get_region(&self, code: impl Into<String>) -> Result<pb::Region> {
        let request = pb::GetRegionRequest { code: code.into() };
        let response = self.client.call(request, rpc!(DirectoryServiceClient::get_region)).await?;
        required(response.region, "GetRegionResponse.region")
    }

    /// One page of regions, ordered by code. Pass the response's
    /// `next_page_token` as the next request's `page_token`; it is empty
    /// after the last page.
    pub async fn list_regions(&self, request: pb::ListRegionsRequest) -> Result<pb::ListRegionsResponse> {
        self.client.call(request, rpc!(DirectoryServiceClient::list_regions)).await
    }

    /// Every region matching `filter`, page after page. The filter's
    /// `page_size` sets the page size; its `page_token`, if set, is where
    /// the walk starts.
    ///
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn regions(&self, filter: pb::ListRegionsRequest) -> BoxStream<'static, Result<pb::Region>> {
        let directory = self.clone();
        paginate(filter, move |request| {
            let directory = directory.clone();
            async move {
                let page = directory.list_regions(request).await?;
                Ok((page.regions, page.next_page_token))
            }
        })
    }

    /// Admin only: creates an organization in a region, optionally under a
    /// parent organization.
    pub async fn create_organization(&self, request: pb::CreateOrganizationRequest) -> Result<pb::Organization> {
        let response = self.client.call(request, rpc!(DirectoryServiceClient::create_organization)).await?;
        required(response.organization, "CreateOrganizationResponse.organization")
    }

    /// The organization with the given id.
    pub async fn get_organization(&self, id: impl Into<String>) -> Result<pb::Organization> {
        let request = pb::GetOrganizationRequest { id: id.into() };
        let response = self.client.call(request, rpc!(DirectoryServiceClient::get_organization)).await?;
        required(response.organization, "GetOrganizationResponse.organization")
    }

    /// One page of organizations. See [`list_regions`](DirectoryClient::list_regions)
    /// for paging.
    pub async fn list_organizations(
        &self,
        request: pb::ListOrganizationsRequest,
    ) -> Result<pb::ListOrganizationsResponse> {
        self.client.call(request, rpc!(DirectoryServiceClient::list_organizations)).await
    }

    /// Every organization matching `filter`, page after page (see
    /// [`regions`](DirectoryClient::regions)).
    #[must_use = "streams do nothing unless polled"]
    pub fn organizations(&self, filter: pb::ListOrganizationsRequest) -> BoxStream<'static, Result<pb::Organization>> {
        let directory = self.clone();
        paginate(filter, move |request| {
            let directory = directory.clone();
            async move {
                let page = directory.list_organizations(request).await?;
                Ok((page.organizations, page.next_page_token))
            }
        })
    }

    /// Admin only: changes the fields named in `update_mask` (`name`,
    /// `parent_organization_id`). `etag` must be the one last read.
    ///
    /// # Errors
    ///
    /// `ABORTED` if the organization changed since `etag` was read (see
    /// [`precondition_violations`](crate::Error::precondition_violations)).
    pub async fn update_organization(&self, request: pb::UpdateOrganizationRequest) -> Result<pb::Organization> {
        let response = self.client.call(request, rpc!(DirectoryServiceClient::update_organization)).await?;
        required(response.organization, "UpdateOrganizationResponse.organization")
    }

    /// One page of staff in organizations within the caller's jurisdiction
    /// (all for admins). See [`list_regions`](DirectoryClient::list_regions)
    /// for paging.
    pub async fn list_staff(&self, request: pb::ListStaffRequest) -> Result<pb::ListStaffResponse> {
        self.client.call(request, rpc!(DirectoryServiceClient::list_staff)).await
    }

    /// Every staff member matching `filter`, page after page (see
    /// [`regions`](DirectoryClient::regions)).
    #[must_use = "streams do nothing unless polled"]
    pub fn staff(&self, filter: pb::ListStaffRequest) -> BoxStream<'static, Result<pb::StaffMember>> {
        let directory = self.clone();
        paginate(filter, move |request| {
            let directory = directory.clone();
            async move {
                let page = directory.list_staff(request).await?;
                Ok((page.staff, page.next_page_token))
            }
        })
    }
}
