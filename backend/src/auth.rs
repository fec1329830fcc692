//! Authentication: argon2id passwords, short-lived access JWTs, rotating
//! refresh tokens, and the `Caller` extractor every protected route takes.
//!
//! Access tokens are HS256 JWTs validated strictly: one algorithm, `exp`,
//! `iss`, `aud` and `sub` required. An API access token also names its
//! session (`sid`: the family of refresh tokens it was issued with). Each
//! request checks the user, the device and the session in one statement, so
//! a revoked device, a disabled user, a logout or a revoked family loses
//! access at once, not when the token expires. Refresh tokens are random,
//! stored hashed, rotate on every use; presenting a used one again after the
//! grace period revokes the whole family (someone copied it).
//!
//! Everything here answers [`AuthError`]; the edges make their own answers
//! from it (`routes::caller` holds the API's extractors).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::limits::login::{self as login_limits, LoginLimitError, LoginLimits};
use crate::login_name::LoginName;
use crate::problem::{IntoProblem, Problem};
use crate::state::AppState;
use crate::storage::{now_ms, RefreshToken, Store, StoreError, User};

/// Why a caller is not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Who the caller is cannot be established: a wrong login or password,
    /// a bad or expired token, a revoked session, device or account.
    #[error("{0}")]
    Unauthorized(String),
    /// Too many login attempts.
    #[error(transparent)]
    Limited(#[from] LoginLimitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing or signing failed.
    #[error("{0}")]
    Internal(anyhow::Error),
}

impl AuthError {
    fn internal(e: impl Into<anyhow::Error>) -> Self {
        AuthError::Internal(e.into())
    }
}

impl IntoProblem for AuthError {
    fn into_problem(self) -> Problem {
        match self {
            AuthError::Unauthorized(m) => Problem::Unauthorized(m),
            AuthError::Limited(e) => e.into_problem(),
            AuthError::Store(e) => e.into_problem(),
            AuthError::Internal(e) => Problem::Internal(e),
        }
    }
}

crate::edge_error!(AuthError);

pub const ISSUER: &str = "jishi";
pub const AUDIENCE: &str = "jishi-api";
/// The audience of the web pages' session cookie: it is not an API token.
pub const WEB_AUDIENCE: &str = "jishi-web";

/// Bounds the argon2 work at once to the number of cores: each check holds
/// about 19 MiB, and a burst of logins must not pile them up.
async fn hashing_slot() -> Result<tokio::sync::SemaphorePermit<'static>, AuthError> {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
    });
    slots.acquire().await.map_err(AuthError::internal)
}

/// Hash a password with argon2id, off the async threads.
pub async fn hash_password(password: String) -> Result<String, AuthError> {
    let _slot = hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::internal(anyhow::anyhow!("hashing: {e}")))
    })
    .await
    .map_err(AuthError::internal)?
}

/// Check a password against a stored hash, off the async threads.
pub async fn verify_password(password: String, hash: String) -> Result<bool, AuthError> {
    let _slot = hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(AuthError::internal)
}

/// Verify against a real hash of nothing, so an unknown login costs as much
/// as a wrong password and logins cannot be probed by timing.
pub async fn spend_a_password_check(password: String) {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = DUMMY
        .get_or_init(|| async { hash_password(random_token()).await.unwrap_or_default() })
        .await
        .clone();
    let _ = verify_password(password, hash).await;
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    /// Device id.
    pub dev: String,
    pub role: String,
    /// The session (refresh family) of an API access token; web session
    /// tokens have none (their device is their session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Signing and verification keys with the one validation we accept.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    web_validation: Validation,
    /// Signs the public case form's challenges (`cases::pow`): derived
    /// from the signing secret, so every instance shares it.
    challenge: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let validation_for = |audience: &str| {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_issuer(&[ISSUER]);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
            validation.validate_exp = true;
            validation.validate_nbf = true;
            validation.leeway = 5;
            validation
        };
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation: validation_for(AUDIENCE),
            web_validation: validation_for(WEB_AUDIENCE),
            challenge: {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                h.update(b"jishi case challenge v1:");
                h.update(secret);
                h.finalize().into()
            },
        }
    }

    /// The key of the public case form's challenges.
    pub fn challenge_key(&self) -> &[u8] {
        &self.challenge
    }

    /// An API access token of the session `session_id`.
    pub fn issue(
        &self,
        user: &User,
        device_id: &str,
        session_id: &str,
        ttl_secs: u64,
    ) -> Result<String, AuthError> {
        self.issue_for(user, device_id, Some(session_id), ttl_secs, AUDIENCE)
    }

    /// A web session (cookie) token; the API refuses it.
    pub fn issue_web(
        &self,
        user: &User,
        device_id: &str,
        ttl_secs: u64,
    ) -> Result<String, AuthError> {
        self.issue_for(user, device_id, None, ttl_secs, WEB_AUDIENCE)
    }

    pub fn verify_web(&self, token: &str) -> Result<Claims, AuthError> {
        decode::<Claims>(token, &self.decoding, &self.web_validation)
            .map(|d| d.claims)
            .map_err(|e| AuthError::Unauthorized(format!("invalid web session: {e}")))
    }

    fn issue_for(
        &self,
        user: &User,
        device_id: &str,
        session_id: Option<&str>,
        ttl_secs: u64,
        audience: &str,
    ) -> Result<String, AuthError> {
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: user.id.clone(),
            dev: device_id.to_owned(),
            role: user.role.as_str().to_owned(),
            sid: session_id.map(str::to_owned),
            iss: ISSUER.to_owned(),
            aud: audience.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AuthError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| AuthError::Unauthorized(format!("invalid access token: {e}")))
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Check a login and password: the login is normalized as it was when the
/// account was made (`LoginName`); attempts are limited per account and
/// client address, per address, and slowed per account (`login_limits`);
/// an unknown or malformed login costs as much as a wrong password.
pub async fn check_password(
    state: &AppState,
    login: &str,
    password: String,
    client: std::net::IpAddr,
) -> Result<User, AuthError> {
    let name = LoginName::parse(login);
    let key = match &name {
        Ok(name) => name.as_str().to_owned(),
        Err(_) => login.trim().chars().take(128).collect(),
    };
    let attempt = login_limits::admit(
        &state.store,
        LoginLimits::new(state.config.login_per_minute),
        &key,
        client,
    )
    .await?;
    let wrong = || AuthError::Unauthorized("wrong login or password".into());
    let Ok(name) = name else {
        spend_a_password_check(password).await;
        state.metrics.login_failures.inc();
        return Err(wrong());
    };
    let (user, hash) = match state.store.user_by_login(name.as_str()).await? {
        Some(found) => found,
        None => {
            spend_a_password_check(password).await;
            state.metrics.login_failures.inc();
            return Err(wrong());
        }
    };
    if !verify_password(password, hash).await? || user.disabled {
        state.metrics.login_failures.inc();
        return Err(wrong());
    }
    attempt.succeeded(&state.store).await?;
    Ok(user)
}

/// A fresh access and refresh token pair.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the refresh token expires: a client offline longer
    /// than this must log in again (each refresh starts the time anew).
    pub refresh_expires_in: u64,
    pub user_id: String,
    pub device_id: String,
    pub role: String,
    /// The value the phone presents as `device_check` at its next login or
    /// refresh: it tells the phone from an older copy of its folder (one
    /// restored from a backup). Keep only the last one received.
    pub device_check: String,
}

/// Check what a phone presents as its `device_check` (see
/// `Store::check_device`) and return the next value to hand it. Done before
/// anything else of a refresh: an older copy of the phone is turned away
/// without touching the session the phone itself goes on with.
pub async fn check_device(
    state: &AppState,
    user_id: &str,
    device_id: &str,
    presented: Option<&str>,
) -> Result<String, AuthError> {
    let next = random_token();
    match state
        .store
        .check_device(
            device_id,
            presented.map(token_hash).as_deref(),
            &token_hash(&next),
        )
        .await
    {
        Ok(()) => Ok(next),
        Err(e) => {
            if matches!(e, StoreError::Refused { .. }) {
                state
                    .store
                    .security_event(
                        "device_copied",
                        Some(user_id),
                        Some(device_id),
                        "an older copy of the device presented its check",
                    )
                    .await?;
            }
            Err(e.into())
        }
    }
}

/// Issue a pair; `family` continues a refresh family (rotation) or starts
/// one: a new session, which the access tokens of the family name.
pub async fn issue_pair(
    state: &AppState,
    user: &User,
    device_id: &str,
    family: Option<String>,
    device_check: String,
) -> Result<TokenPair, AuthError> {
    let new_session = family.is_none();
    let family = family.unwrap_or_else(random_token);
    let access = state
        .keys
        .issue(user, device_id, &family, state.config.access_ttl_secs)?;
    let refresh = random_token();
    let now = now_ms();
    state
        .store
        .insert_refresh(
            &RefreshToken {
                token_hash: token_hash(&refresh),
                family_id: family,
                device_id: device_id.to_owned(),
                user_id: user.id.clone(),
                issued_at: now,
                expires_at: now + state.config.refresh_ttl_secs as i64 * 1000,
                used_at: None,
                revoked_at: None,
            },
            new_session,
        )
        .await?;
    Ok(TokenPair {
        access_token: access,
        refresh_token: refresh,
        expires_in: state.config.access_ttl_secs,
        refresh_expires_in: state.config.refresh_ttl_secs,
        user_id: user.id.clone(),
        device_id: device_id.to_owned(),
        role: user.role.as_str().to_owned(),
        device_check,
    })
}

/// Rotate a refresh token.
pub async fn refresh(
    state: &AppState,
    presented: &str,
    device_check: Option<&str>,
) -> Result<TokenPair, AuthError> {
    let store: &Store = &state.store;
    let hash = token_hash(presented);
    let invalid = || AuthError::Unauthorized("refresh token is not valid; log in again".into());
    let token = store.refresh_token(&hash).await?.ok_or_else(invalid)?;
    let now = now_ms();
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Err(invalid());
    }
    let next_check = check_device(state, &token.user_id, &token.device_id, device_check).await?;
    if !store.use_refresh(&hash, now).await? {
        // Used before. Within the grace period this is a retry after a lost
        // reply: hand out a new pair and retire the one we sent. Later, it is
        // a copy in someone else's hands: revoke the family.
        let used_at = store
            .refresh_token(&hash)
            .await?
            .and_then(|t| t.used_at)
            .unwrap_or(0);
        if now - used_at >= state.config.refresh_grace_secs as i64 * 1000 {
            store.revoke_family(&token.family_id, None).await?;
            store
                .security_event(
                    "refresh_reuse",
                    Some(&token.user_id),
                    Some(&token.device_id),
                    "family revoked",
                )
                .await?;
            return Err(invalid());
        }
        store.revoke_family(&token.family_id, Some(&hash)).await?;
    }
    let user = store.user(&token.user_id).await?.ok_or_else(invalid)?;
    let device = store.device(&token.device_id).await?.ok_or_else(invalid)?;
    if user.disabled || device.revoked_at.is_some() {
        return Err(invalid());
    }
    issue_pair(
        state,
        &user,
        &token.device_id,
        Some(token.family_id),
        next_check,
    )
    .await
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub device_id: String,
    /// The session an API token names (web sessions: none, their device
    /// is their session).
    pub session_id: Option<String>,
    /// When the token the caller presented expires (seconds since the
    /// epoch): a long-lived response (an event stream) ends then.
    pub expires_at: i64,
}

/// A request's bearer token, verified (signature, issuer, audience, expiry)
/// but not yet checked against the database: what a route that must turn
/// callers away cheaply (the sync endpoint's busy answer) extracts, before
/// `Caller::from_claims` (the extractors are in `routes::caller`).
#[derive(Debug, Clone)]
pub struct Bearer(pub Claims);

impl Caller {
    /// The caller a verified token names, if its user, device and (API
    /// tokens) session still have access: checked on every request, in one
    /// statement, so revocation and logout are immediate.
    pub async fn from_claims(state: &AppState, claims: Claims) -> Result<Caller, AuthError> {
        let revoked = || {
            AuthError::Unauthorized(
                "this session, device or account no longer has access; log in again".into(),
            )
        };
        let session_id = match (claims.sid, claims.aud.as_str()) {
            (Some(session), AUDIENCE) => Some(session),
            // A web session is its device: logging out revokes it.
            (None, WEB_AUDIENCE) => None,
            // An API token of no session (issued before sessions existed).
            _ => return Err(revoked()),
        };
        let user = live_user(state, &claims.sub, &claims.dev, session_id.as_deref())
            .await?
            .ok_or_else(revoked)?;
        Ok(Caller {
            user,
            device_id: claims.dev,
            session_id,
            expires_at: claims.exp,
        })
    }

    /// Whether the caller's user, device and session still have access
    /// (a long-lived response asks again from time to time).
    pub async fn still_allowed(&self, state: &AppState) -> Result<bool, StoreError> {
        Ok(live_user(
            state,
            &self.user.id,
            &self.device_id,
            self.session_id.as_deref(),
        )
        .await?
        .is_some())
    }
}

/// The user, if enabled, on this device (not revoked) and in this session
/// (live), in one statement.
async fn live_user(
    state: &AppState,
    user: &str,
    device: &str,
    session: Option<&str>,
) -> Result<Option<User>, StoreError> {
    let found = match session {
        Some(session) => state.store.user_on_session(user, device, session).await?,
        None => state.store.user_on_device(user, device).await?,
    };
    Ok(found.filter(|u| !u.disabled))
}

impl Caller {
    /// Seconds until the caller's token expires (0 if it has).
    pub fn seconds_left(&self) -> u64 {
        u64::try_from(self.expires_at.saturating_sub(now_ms() / 1000)).unwrap_or(0)
    }
}
