//! Access tokens: short-lived HS256 JWTs with the algorithm pinned and
//! `iss`, `aud`, `sub`, `exp`, `nbf` (when present), `typ` and `kid` checked
//! on every call; a header naming critical extensions (`crit`) is refused,
//! since this server understands none (RFC 7515 §4.1.11). Keys are named by
//! `kid` so they can rotate: the first key signs, every configured key
//! verifies. Each token carries its issue time and sign-in (`sid`) so that
//! revocation (`super::revocation`) can refuse it before it expires.
//! Refresh tokens are opaque (see `identity::store`), so one presented as an
//! access token fails to decode.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::principal::{AccountKind, Principal, Role, Scope};
use crate::error::AppError;
use crate::error::Reason;

/// The only `typ` claim accepted on calls.
const ACCESS_TYPE: &str = "access";
/// Clock skew tolerated between replicas, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// One named signing key.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey {{ kid: {:?}, secret: <redacted> }}", self.kid)
    }
}

/// Parses `kid=base64,kid2=base64`; every key must be at least 32 bytes.
pub fn parse_keys(spec: &str) -> Result<Vec<SigningKey>, String> {
    let mut keys = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kid, encoded) = part.split_once('=').ok_or("each JWT key must be written kid=base64")?;
        let kid = kid.trim();
        if kid.is_empty() || kid.len() > 64 {
            return Err("a JWT key id must be 1–64 characters".into());
        }
        let secret = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim()))
            .map_err(|_| format!("JWT key {kid:?} is not valid base64"))?;
        if secret.len() < 32 {
            return Err(format!("JWT key {kid:?} must be at least 32 bytes"));
        }
        if keys.iter().any(|k: &SigningKey| k.kid == kid) {
            return Err(format!("JWT key id {kid:?} is given twice"));
        }
        keys.push(SigningKey { kid: kid.to_owned(), secret });
    }
    if keys.is_empty() {
        return Err("at least one JWT key is required".into());
    }
    Ok(keys)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: u64,
    iat: u64,
    jti: String,
    /// The sign-in (refresh-token family) the token belongs to; none for
    /// client-credential tokens, which have no sign-in to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    typ: String,
    /// petition.v1.AccountKind.
    kind: i16,
    roles: Vec<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jur: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<i16>,
}

/// Issues and verifies access tokens.
pub struct TokenIssuer {
    signing: (String, EncodingKey),
    verifying: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
    ttl: Duration,
}

/// What a verified access token says beyond the principal: what
/// revocation is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub principal: Principal,
    /// `iat`, in seconds since the epoch.
    pub issued_at: u64,
    /// `sid`: the sign-in, when the token belongs to one.
    pub session_id: Option<Uuid>,
}

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: SystemTime,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn rejected(message: &str) -> AppError {
    AppError::unauthenticated(Reason::InvalidToken, message)
}

impl TokenIssuer {
    pub fn new(keys: &[SigningKey], issuer: String, audience: String, ttl: Duration) -> Result<Self, String> {
        let first = keys.first().ok_or("at least one JWT key is required")?;
        Ok(Self {
            signing: (first.kid.clone(), EncodingKey::from_secret(&first.secret)),
            verifying: keys.iter().map(|k| (k.kid.clone(), DecodingKey::from_secret(&k.secret))).collect(),
            issuer,
            audience,
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs an access token for `principal`, part of sign-in `session`
    /// when it has one.
    pub fn issue(&self, principal: &Principal, session: Option<Uuid>) -> Result<IssuedToken, AppError> {
        self.issue_at(principal, session, unix_now())
    }

    fn issue_at(&self, principal: &Principal, session: Option<Uuid>, now: u64) -> Result<IssuedToken, AppError> {
        let exp = now + self.ttl.as_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: principal.account_id.to_string(),
            exp,
            iat: now,
            jti: Uuid::now_v7().to_string(),
            sid: session.map(|id| id.to_string()),
            typ: ACCESS_TYPE.into(),
            kind: principal.kind as i16,
            roles: principal.roles.iter().map(|r| *r as i16).collect(),
            org: principal.organization_id.map(|id| id.to_string()),
            jur: principal.jurisdiction.clone(),
            scopes: principal.scopes.iter().map(|s| *s as i16).collect(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing.0.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing.1)
            .map_err(|e| AppError::internal(format!("signing failed: {e}")))?;
        Ok(IssuedToken { token, expires_at: UNIX_EPOCH + Duration::from_secs(exp) })
    }

    /// Verifies an access token's signature and claims, or answers
    /// UNAUTHENTICATED saying (without detail useful to a forger) why not.
    /// Revocation and the account's existence are the caller's to check.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, AppError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("malformed access token"))?;
        if header.alg != Algorithm::HS256 {
            return Err(rejected("unsupported token algorithm"));
        }
        // jsonwebtoken parses `crit` but does not act on it: a token whose
        // issuer marked an extension critical must not be accepted by a
        // verifier that ignores it. An empty list is malformed (RFC 7515).
        if header.crit.is_some() {
            return Err(rejected("token requires an unsupported critical extension"));
        }
        let kid = header.kid.ok_or_else(|| rejected("token has no key id"))?;
        let key = self.verifying.get(&kid).ok_or_else(|| rejected("token signed with an unknown key"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        // Not checked by default: a token not valid yet is refused.
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => {
                    AppError::unauthenticated(Reason::TokenExpired, "access token expired; refresh it")
                }
                ErrorKind::ImmatureSignature => rejected("access token not valid yet"),
                _ => rejected("invalid access token"),
            }
        })?;
        // A token from the future would slip past every revocation cut-off.
        if data.claims.iat > unix_now().saturating_add(LEEWAY_SECS) {
            return Err(rejected("access token issued in the future"));
        }
        verified_from_claims(data.claims)
    }
}

fn verified_from_claims(claims: Claims) -> Result<VerifiedToken, AppError> {
    if claims.typ != ACCESS_TYPE {
        return Err(rejected("not an access token"));
    }
    let account_id = Uuid::parse_str(&claims.sub).map_err(|_| rejected("invalid token subject"))?;
    let kind = AccountKind::from_i32(i32::from(claims.kind)).ok_or_else(|| rejected("invalid token account kind"))?;
    let roles = claims
        .roles
        .iter()
        .map(|r| Role::from_i32(i32::from(*r)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| rejected("invalid token role"))?;
    let scopes = claims
        .scopes
        .iter()
        .map(|s| Scope::from_i32(i32::from(*s)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| rejected("invalid token scope"))?;
    let organization_id =
        claims.org.map(|org| Uuid::parse_str(&org)).transpose().map_err(|_| rejected("invalid token organization"))?;
    let session_id =
        claims.sid.map(|sid| Uuid::parse_str(&sid)).transpose().map_err(|_| rejected("invalid token session"))?;
    Ok(VerifiedToken {
        principal: Principal { account_id, kind, roles, organization_id, jurisdiction: claims.jur, scopes },
        issued_at: claims.iat,
        session_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, byte: u8) -> SigningKey {
        SigningKey { kid: kid.into(), secret: vec![byte; 32] }
    }

    fn issuer_with(keys: &[SigningKey]) -> TokenIssuer {
        TokenIssuer::new(keys, "petition".into(), "petition-api".into(), Duration::from_secs(900))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn clerk() -> Principal {
        Principal {
            account_id: Uuid::now_v7(),
            kind: AccountKind::Staff,
            roles: vec![Role::Clerk, Role::Handler],
            organization_id: Some(Uuid::now_v7()),
            jurisdiction: Some("360700/360702".into()),
            scopes: vec![],
        }
    }

    fn sign_raw(claims: &serde_json::Value, header: &Header, secret: &[u8]) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn valid_claims() -> serde_json::Value {
        let now = unix_now();
        serde_json::json!({
            "iss": "petition", "aud": "petition-api", "sub": Uuid::now_v7().to_string(),
            "exp": now + 600, "iat": now, "jti": "j", "typ": "access", "kind": 2, "roles": [2]
        })
    }

    fn header_with_kid(kid: &str) -> Header {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.into());
        header
    }

    fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
    }

    #[test]
    fn round_trip_keeps_the_principal() {
        let issuer = issuer_with(&[key("k1", 1)]);
        let principal = clerk();
        let session = Uuid::now_v7();
        let token = issuer.issue(&principal, Some(session)).unwrap_or_else(|e| panic!("{e}"));
        let verified = issuer.verify(&token.token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verified.principal, principal);
        assert_eq!(verified.session_id, Some(session));
        assert!(verified.issued_at.abs_diff(unix_now()) <= 1);
        let without = issuer.issue(&principal, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(issuer.verify(&without.token).map(|v| v.session_id).ok(), Some(None));
    }

    #[test]
    fn rotation_verifies_old_keys_and_signs_with_the_first() {
        let old = issuer_with(&[key("old", 1)]);
        let rotated = issuer_with(&[key("new", 2), key("old", 1)]);
        let old_token = old.issue(&clerk(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(rotated.verify(&old_token.token).is_ok());
        let new_token = rotated.issue(&clerk(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(old.verify(&new_token.token).is_err(), "old servers do not know the new kid");
        let header = jsonwebtoken::decode_header(&new_token.token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header.kid.as_deref(), Some("new"));
    }

    /// Every way a forged, stale or misdirected token must be turned away.
    #[test]
    fn rejection_table() {
        let issuer = issuer_with(&[key("k1", 1)]);
        let good_secret = vec![1u8; 32];
        let now = unix_now();
        let with = |field: &str, value: serde_json::Value| {
            let mut claims = valid_claims();
            claims[field] = value;
            sign_raw(&claims, &header_with_kid("k1"), &good_secret)
        };
        let without = |field: &str| {
            let mut claims = valid_claims();
            claims.as_object_mut().map(|o| o.remove(field));
            sign_raw(&claims, &header_with_kid("k1"), &good_secret)
        };
        let alg_none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
            b64(valid_claims().to_string().as_bytes())
        );
        let hs512 = {
            let mut header = Header::new(Algorithm::HS512);
            header.kid = Some("k1".into());
            sign_raw(&valid_claims(), &header, &good_secret)
        };
        let valid = sign_raw(&valid_claims(), &header_with_kid("k1"), &good_secret);
        let tampered_payload = {
            let parts: Vec<&str> = valid.split('.').collect();
            let mut claims = valid_claims();
            claims["roles"] = serde_json::json!([10]);
            format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2])
        };
        let critical = {
            let mut header = header_with_kid("k1");
            header.crit = Some(vec!["exp".into()]);
            sign_raw(&valid_claims(), &header, &good_secret)
        };
        let empty_critical = {
            let mut header = header_with_kid("k1");
            header.crit = Some(vec![]);
            sign_raw(&valid_claims(), &header, &good_secret)
        };
        let cases: Vec<(&str, String, Reason)> = vec![
            ("unknown critical header extension", critical, Reason::InvalidToken),
            ("empty crit list", empty_critical, Reason::InvalidToken),
            ("not valid before a future time", with("nbf", serde_json::json!(now + 3600)), Reason::InvalidToken),
            ("nbf not a number", with("nbf", serde_json::json!("soon")), Reason::InvalidToken),
            ("issued in the future", with("iat", serde_json::json!(now + 3600)), Reason::InvalidToken),
            ("missing iat", without("iat"), Reason::InvalidToken),
            ("session not a uuid", with("sid", serde_json::json!("s1")), Reason::InvalidToken),
            ("alg none", alg_none, Reason::InvalidToken),
            ("HS512 instead of the pinned HS256", hs512, Reason::InvalidToken),
            (
                "signed with another key under a known kid",
                sign_raw(&valid_claims(), &header_with_kid("k1"), &[9u8; 32]),
                Reason::InvalidToken,
            ),
            ("unknown kid", sign_raw(&valid_claims(), &header_with_kid("k9"), &good_secret), Reason::InvalidToken),
            ("no kid", sign_raw(&valid_claims(), &Header::new(Algorithm::HS256), &good_secret), Reason::InvalidToken),
            ("expired", with("exp", serde_json::json!(now - 3600)), Reason::TokenExpired),
            ("wrong audience", with("aud", serde_json::json!("someone-else")), Reason::InvalidToken),
            ("wrong issuer", with("iss", serde_json::json!("evil")), Reason::InvalidToken),
            ("typ refresh", with("typ", serde_json::json!("refresh")), Reason::InvalidToken),
            ("missing typ", without("typ"), Reason::InvalidToken),
            ("missing exp", without("exp"), Reason::InvalidToken),
            ("missing sub", without("sub"), Reason::InvalidToken),
            ("subject not a uuid", with("sub", serde_json::json!("admin")), Reason::InvalidToken),
            ("unknown role", with("roles", serde_json::json!([77])), Reason::InvalidToken),
            ("tampered payload", tampered_payload, Reason::InvalidToken),
            ("opaque refresh token used as access token", crate::crypto::random_token(32), Reason::InvalidToken),
            ("empty", String::new(), Reason::InvalidToken),
            ("garbage", "a.b.c".into(), Reason::InvalidToken),
        ];
        assert!(cases.len() >= 10);
        for (name, token, reason) in cases {
            match issuer.verify(&token) {
                Ok(p) => panic!("{name}: accepted as {p:?}"),
                Err(e) => assert_eq!(e.reason(), reason, "{name}"),
            }
        }
        assert!(issuer.verify(&valid).is_ok(), "control: the untampered token is valid");
        let past_nbf = with("nbf", serde_json::json!(now - 10));
        assert!(issuer.verify(&past_nbf).is_ok(), "control: a token already valid is accepted");
    }

    #[test]
    fn key_spec_parsing() {
        let k = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(parse_keys(&format!("a={k}, b={k}")).map(|v| v.len()), Ok(2));
        assert!(parse_keys("").is_err());
        assert!(parse_keys("nokid").is_err());
        assert!(parse_keys(&format!("a={}", base64::engine::general_purpose::STANDARD.encode([7u8; 16]))).is_err());
        assert!(parse_keys(&format!("a={k},a={k}")).is_err());
        assert!(parse_keys("a=!!!").is_err());
        let printed = format!("{:?}", parse_keys(&format!("a={k}")));
        assert!(!printed.contains(&k));
    }
}
