//! [`IdentityClient`]: typed calls to `petition.v1.IdentityService`.

use petition_proto::v1::identity_service_client::IdentityServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::pb;

/// The calls of `IdentityService`: accounts, sign-in and tokens. Get one
/// from [`Client::identity`].
///
/// Methods return the resource inside the response message. For signing in
/// and out with token management use [`Client::login`],
/// [`Client::login_with_client_credentials`] and [`Client::logout`]; the raw
/// [`login`](IdentityClient::login), [`refresh_token`](IdentityClient::refresh_token),
/// [`logout`](IdentityClient::logout) and
/// [`exchange_client_credentials`](IdentityClient::exchange_client_credentials)
/// here neither use nor change the client's tokens.
#[derive(Clone, Debug)]
pub struct IdentityClient {
    client: Client,
}

impl IdentityClient {
    pub(crate) fn new(client: Client) -> Self {
        IdentityClient { client }
    }

    /// Creates a citizen's own real-name account (实名注册). Needs no
    /// sign-in; the phone number becomes the login name.
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` with [`field_violations`](crate::Error::field_violations)
    /// for malformed fields; `ALREADY_EXISTS` if the resident ID number is
    /// already registered.
    pub async fn register_citizen(&self, request: pb::RegisterCitizenRequest) -> Result<pb::Account> {
        let response = self.client.call_anonymous(request, rpc!(IdentityServiceClient::register_citizen)).await?;
        required(response.account, "RegisterCitizenResponse.account")
    }

    /// The raw `Login` call: returns the tokens and the account without
    /// storing the tokens. Prefer [`Client::login`].
    pub async fn login(&self, request: pb::LoginRequest) -> Result<pb::LoginResponse> {
        self.client.call_anonymous(request, rpc!(IdentityServiceClient::login)).await
    }

    /// The raw `RefreshToken` call: exchanges `refresh_token` for a new pair
    /// without storing it. Each refresh token works once; presenting a used
    /// one again revokes its whole sign-in. The client renews its own tokens
    /// automatically.
    pub async fn refresh_token(&self, refresh_token: impl Into<String>) -> Result<pb::TokenPair> {
        let request = pb::RefreshTokenRequest { refresh_token: refresh_token.into() };
        let response = self.client.call_anonymous(request, rpc!(IdentityServiceClient::refresh_token)).await?;
        required(response.tokens, "RefreshTokenResponse.tokens")
    }

    /// The raw `Logout` call: revokes the sign-in `refresh_token` belongs to
    /// without touching the client's tokens. Prefer [`Client::logout`].
    pub async fn logout(&self, refresh_token: impl Into<String>) -> Result<()> {
        let request = pb::LogoutRequest { refresh_token: refresh_token.into() };
        self.client.call_anonymous(request, rpc!(IdentityServiceClient::logout)).await?;
        Ok(())
    }

    /// The raw `ExchangeClientCredentials` call: returns an access token
    /// without storing it. Prefer [`Client::login_with_client_credentials`].
    pub async fn exchange_client_credentials(
        &self,
        request: pb::ExchangeClientCredentialsRequest,
    ) -> Result<pb::ExchangeClientCredentialsResponse> {
        self.client.call_anonymous(request, rpc!(IdentityServiceClient::exchange_client_credentials)).await
    }

    /// The signed-in caller's own account.
    pub async fn get_me(&self) -> Result<pb::Account> {
        let response = self.client.call(pb::GetMeRequest {}, rpc!(IdentityServiceClient::get_me)).await?;
        required(response.account, "GetMeResponse.account")
    }

    /// Admin only: creates a staff account in an organization with the
    /// given staff roles.
    pub async fn create_staff_account(&self, request: pb::CreateStaffAccountRequest) -> Result<pb::Account> {
        let response = self.client.call(request, rpc!(IdentityServiceClient::create_staff_account)).await?;
        required(response.account, "CreateStaffAccountResponse.account")
    }

    /// Admin only: creates a partner service account. The response carries
    /// the client id and the client secret, which is shown only this once.
    pub async fn create_service_account(
        &self,
        request: pb::CreateServiceAccountRequest,
    ) -> Result<pb::CreateServiceAccountResponse> {
        self.client.call(request, rpc!(IdentityServiceClient::create_service_account)).await
    }

    /// Admin only: any account by id, with unmasked personal data.
    pub async fn get_account(&self, id: impl Into<String>) -> Result<pb::Account> {
        let request = pb::GetAccountRequest { id: id.into() };
        let response = self.client.call(request, rpc!(IdentityServiceClient::get_account)).await?;
        required(response.account, "GetAccountResponse.account")
    }

    /// Admin only: disables (`true`) or re-enables (`false`) an account and
    /// returns it. Disabling revokes its refresh tokens; access tokens
    /// already issued stay valid until they expire.
    pub async fn set_account_disabled(&self, id: impl Into<String>, disabled: bool) -> Result<pb::Account> {
        let request = pb::SetAccountDisabledRequest { id: id.into(), disabled };
        let response = self.client.call(request, rpc!(IdentityServiceClient::set_account_disabled)).await?;
        required(response.account, "SetAccountDisabledResponse.account")
    }
}
