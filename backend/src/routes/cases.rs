//! Cases the public brings, over HTTP.
//!
//! Without an account: the form (`/f?card=…` or `/f?unit=…`) and its
//! answer, the page that follows a case with its tracking code (`/q`),
//! and the same as JSON for clients written from our documents
//! (`/api/v1/public/cases…`). With one: a clerk taking a hotline call
//! (`POST /api/v1/cases`) and the filer's contact for the handling chain
//! (`GET /api/v1/cases/{item_id}/filer`). The case itself is an item:
//! `/api/v1/items/{item_id}` reads it and takes its steps.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::auth::Caller;
use crate::cases::pages::{self, FormView};
use crate::cases::public::{self, PublicError};
use crate::cases::{self, CaseError, Filed, Filer, Filing, PublicCase};
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::problem::IntoProblem;
use crate::state::AppState;

/// A page never kept by a cache: it holds a challenge, or a case.
fn page(status: StatusCode, html: String) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(html),
    )
        .into_response()
}

fn internal(e: askama::Error) -> ApiError {
    ApiError::Internal(e.into())
}

/// The status an answer to the public carries.
fn status_of(e: PublicError) -> StatusCode {
    ApiError::from(e.into_problem()).into_response().status()
}

/// A challenge for the form (`GET /api/v1/public/cases/challenge`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Challenge {
    /// Find a decimal `answer` such that SHA-256 of `{challenge}:{answer}`
    /// starts with `bits` zero bits; it answers one filing within 20
    /// minutes.
    pub challenge: String,
    pub bits: u32,
}

#[utoipa::path(get, path = "/api/v1/public/cases/challenge",
    responses((status = 200, body = Challenge)))]
pub async fn challenge(State(state): State<AppState>) -> Response {
    let (challenge, bits) = public::challenge(&state);
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(Challenge { challenge, bits }),
    )
        .into_response()
}

/// A filing from the public, with its proof of work.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PublicFiling {
    #[serde(flatten)]
    pub filing: Filing,
    pub challenge: String,
    pub answer: String,
}

/// `POST /api/v1/public/cases`: file a complaint or a request without an
/// account. 201 with the tracking code (shown once); 400 with a Chinese
/// `message` the filer can read; 429 with `Retry-After` past the limits
/// per address and per phone.
#[utoipa::path(post, path = "/api/v1/public/cases", request_body = PublicFiling,
    responses((status = 201, body = Filed), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn file_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<PublicFiling>,
) -> Result<(StatusCode, Json<Filed>), ApiError> {
    let filed = public::file(&state, addr, &input.filing, &input.challenge, &input.answer)
        .await
        .map_err(|e| {
            let zh = e.zh();
            match e.into_problem() {
                crate::problem::Problem::Invalid { code, .. } => {
                    ApiError::BadRequest { code, message: zh }
                }
                crate::problem::Problem::Limited {
                    code,
                    retry_after_secs,
                    ..
                } => ApiError::Limited {
                    code,
                    message: zh,
                    retry_after_secs,
                },
                other => other.into(),
            }
        })?;
    Ok((StatusCode::CREATED, Json(filed)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeInput {
    /// The tracking code (查询码), as typed.
    pub code: String,
}

/// `POST /api/v1/public/cases/lookup` with `{code}`: the case as its filer
/// sees it (the answer once confirmed); 404 for a code that is none.
#[utoipa::path(post, path = "/api/v1/public/cases/lookup", request_body = CodeInput,
    responses((status = 200, body = PublicCase), (status = 404, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn lookup_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<Json<PublicCase>, ApiError> {
    Ok(Json(public::lookup(&state, addr, &input.code).await?))
}

/// Whom the form is for.
#[derive(Debug, Default, Deserialize)]
pub struct FormTarget {
    #[serde(default)]
    card: Option<String>,
    #[serde(default)]
    unit: Option<String>,
}

fn form_view(state: &AppState, target: String, f: &Filing, message: Option<String>) -> FormView {
    let (challenge, bits) = public::challenge(state);
    FormView {
        target,
        card: f.card.clone().unwrap_or_default(),
        unit: f.unit.clone().unwrap_or_default(),
        kind: f.kind.clone(),
        content: f.content.clone(),
        name: f.name.clone(),
        phone: f.phone.clone(),
        message,
        challenge,
        bits,
    }
}

/// A page saying the link leads nowhere.
fn no_target() -> Result<Response, ApiError> {
    let html = crate::publications::render::public_error(
        "找不到反映对象",
        "链接可能有误，或者这位干部已不在岗。请重新扫描卡片或公示上的二维码，也可以拨打监督电话反映。",
    )?;
    Ok(page(StatusCode::NOT_FOUND, html))
}

/// `GET /f?card={card}` or `/f?unit={unit}`: the form.
pub async fn form_page(
    State(state): State<AppState>,
    Query(t): Query<FormTarget>,
) -> Result<Response, ApiError> {
    let f = Filing {
        card: t.card,
        unit: t.unit,
        ..Default::default()
    };
    let target = match cases::target_name(&state, &f).await {
        Ok(t) => t,
        Err(CaseError::NoTarget) => return no_target(),
        Err(e) => return Err(e.into()),
    };
    let html = pages::form(&form_view(&state, target, &f, None)).map_err(internal)?;
    Ok(page(StatusCode::OK, html))
}

/// `POST /f`: file from the form; the tracking code, or the form again as
/// filled with what to change.
pub async fn form_post(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    form: Result<Form<PublicFiling>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(input)) = form else {
        return no_target();
    };
    let f = &input.filing;
    let target = match cases::target_name(&state, f).await {
        Ok(t) => t,
        Err(CaseError::NoTarget) => return no_target(),
        Err(e) => return Err(e.into()),
    };
    match public::file(&state, addr, f, &input.challenge, &input.answer).await {
        Ok(filed) => {
            let kind = if f.kind == "complaint" {
                "投诉举报"
            } else {
                "便民诉求"
            };
            let html = pages::filed(kind, &filed.code, &filed.due).map_err(internal)?;
            Ok(page(StatusCode::CREATED, html))
        }
        // What was written is shown again, whatever went wrong (a failure
        // of ours is logged as the API's answer is).
        Err(e) => {
            let message = e.zh();
            let status = status_of(e);
            let html =
                pages::form(&form_view(&state, target, f, Some(message))).map_err(internal)?;
            Ok(page(status, html))
        }
    }
}

/// `GET /q`: the page that follows a case.
pub async fn lookup_page() -> Result<Response, ApiError> {
    Ok(page(
        StatusCode::OK,
        pages::lookup(None, None).map_err(internal)?,
    ))
}

/// `POST /q` with the code: the case, or why not.
pub async fn lookup_post(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    form: Result<Form<CodeInput>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    let code = form.map(|Form(c)| c.code).unwrap_or_default();
    match public::lookup(&state, addr, &code).await {
        Ok(case) => Ok(page(
            StatusCode::OK,
            pages::lookup(Some(&case), None).map_err(internal)?,
        )),
        Err(PublicError::Case(e @ (CaseError::Store(_) | CaseError::Internal(_)))) => Err(e.into()),
        Err(e) => {
            let message = e.zh();
            let status = status_of(e);
            Ok(page(
                status,
                pages::lookup(None, Some(&message)).map_err(internal)?,
            ))
        }
    }
}

/// `POST /api/v1/cases`: a clerk takes a call to the 便民热线 (a leader,
/// supervisor or admin; the unit or card within their scope, else 404).
#[utoipa::path(post, path = "/api/v1/cases", request_body = Filing,
    responses((status = 201, body = Filed), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn take_call(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<Filing>,
) -> Result<(StatusCode, Json<Filed>), ApiError> {
    let filed = cases::take_call(&state, &caller.user, &input).await?;
    Ok((StatusCode::CREATED, Json(filed)))
}

/// `GET /api/v1/cases/{item_id}/filer`: who filed a case and their phone,
/// for the people handling it; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/cases/{item_id}/filer", params(("item_id" = String, Path)),
    responses((status = 200, body = Filer), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn filer(
    State(state): State<AppState>,
    caller: Caller,
    Path(item_id): Path<String>,
) -> Result<Json<Filer>, ApiError> {
    cases::filer_for(&state, &caller.user, &item_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
