//! 亮身份 over HTTP. Public, without an account: a cadre's card as a page
//! (`/c/{card_id}`) and as JSON (`/api/v1/cards/{card_id}`), its photo,
//! and a unit's cards (`/p/{unit}/cards`). For the cadre's phone: their
//! own card's address and settings (`/api/v1/me/card`).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::publications::PageError;
use super::ApiJson;
use crate::auth::Caller;
use crate::cards::{self, CardSettings, CardView};
use crate::error::ApiError;
use crate::publications::{qr, render};
use crate::state::AppState;

/// The public address of a card, for its QR code and the phone.
fn card_url(state: &AppState, headers: &HeaderMap, card_id: &str) -> Option<String> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    qr::origin(state.config.public_url.as_deref(), host).map(|o| format!("{o}/c/{card_id}"))
}

fn page(html: String) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, no-cache"),
        )],
        axum::response::Html(html),
    )
        .into_response()
}

/// `GET /c/{card_id}`: the card as a page.
pub async fn card_page(
    State(state): State<AppState>,
    Path(card_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let card = cards::public_card(&state.store, &card_id, crate::storage::now_ms())
        .await?
        .ok_or(ApiError::NotFound)?;
    let url = card_url(&state, &headers, &card.card_id);
    Ok(page(render::card(&card, url.as_deref())?))
}

/// `GET /api/v1/cards/{card_id}`: the card as JSON.
pub async fn card_json(
    State(state): State<AppState>,
    Path(card_id): Path<String>,
) -> Result<Json<CardView>, ApiError> {
    cards::public_card(&state.store, &card_id, crate::storage::now_ms())
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// `GET /c/{card_id}/photo`: the card's photo (the stripped thumbnail).
pub async fn card_photo(
    State(state): State<AppState>,
    Path(card_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let card = cards::public_card(&state.store, &card_id, 0)
        .await?
        .ok_or(ApiError::NotFound)?;
    let row = state
        .store
        .card_by_id(&card.card_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let sha = row.photo_sha.ok_or(ApiError::NotFound)?;
    super::publications::public_thumbnail(&state, &sha, "c", &headers).await
}

/// `GET /p/{unit}/cards`: the cards of a unit's people (and its units');
/// not of a county as a whole (404).
pub async fn unit_cards_page(
    State(state): State<AppState>,
    Path(unit_id): Path<String>,
) -> Result<Response, PageError> {
    let unit = state
        .store
        .unit(&unit_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let list = cards::unit_cards(&state.store, &unit, crate::storage::now_ms())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(page(render::unit_cards(&unit.name, &unit.id, &list)?))
}

#[derive(Debug, Deserialize)]
pub struct PrintQuery {
    /// The door plates' paper: `a4` (default) or `a5`.
    size: Option<String>,
}

/// `GET /p/{unit}/cards/print[?size=a5]`: 一牌一卡 of a unit's people,
/// ready to print: a door plate each, then contact cards ten to a sheet.
pub async fn print_page(
    State(state): State<AppState>,
    Path(unit_id): Path<String>,
    Query(q): Query<PrintQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let size = cards::print::PlateSize::parse(q.size.as_deref())
        .ok_or_else(|| ApiError::bad_request("bad_size", "the plates are printed on a4 or a5"))?;
    let unit = state
        .store
        .unit(&unit_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let list = cards::unit_cards(&state.store, &unit, crate::storage::now_ms())
        .await?
        .ok_or(ApiError::NotFound)?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = qr::origin(state.config.public_url.as_deref(), host);
    let people = cards::print::printed(&list, origin.as_deref());
    let html = cards::print::render(&unit.name, &people, size).map_err(ApiError::internal)?;
    Ok(page(html))
}

/// The caller's card, as their phone shows and shares it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyCard {
    pub card_id: String,
    /// Where the public reads it (the QR code's address); null when the
    /// server's public address is not known.
    pub url: Option<String>,
    /// The work phone published ('' none).
    pub phone: String,
    /// The photo shown (hex SHA-256 of an upload), if any.
    pub photo: Option<String>,
}

/// What the caller publishes on their card.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CardInput {
    /// The work phone to publish; empty publishes none.
    #[serde(default)]
    pub phone: String,
    /// A photo the caller uploaded (hex SHA-256), or null for none.
    #[serde(default)]
    pub photo: Option<String>,
}

fn my_card(state: &AppState, headers: &HeaderMap, row: crate::storage::CardRow) -> MyCard {
    MyCard {
        url: card_url(state, headers, &row.card_id),
        card_id: row.card_id,
        phone: row.phone,
        photo: row.photo_sha,
    }
}

/// `GET /api/v1/me/card`: the caller's card (made now if they have none).
#[utoipa::path(get, path = "/api/v1/me/card",
    responses((status = 200, body = MyCard), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_mine(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<MyCard>, ApiError> {
    if !cards::is_public(&caller.user) {
        return Err(cards::CardError::NoCard.into());
    }
    let row = state.store.card_of(&caller.user.id).await?;
    Ok(Json(my_card(&state, &headers, row)))
}

/// `PUT /api/v1/me/card`: set the phone and photo the caller's card shows.
#[utoipa::path(put, path = "/api/v1/me/card", request_body = CardInput,
    responses((status = 200, body = MyCard), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_mine(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CardInput>,
) -> Result<Json<MyCard>, ApiError> {
    let photo = match input.photo.as_deref() {
        Some(s) => Some(
            sync_core::validate::PhotoHash::parse(s)
                .map_err(|_| cards::CardError::NotYourPhoto(s.chars().take(80).collect()))?
                .to_string(),
        ),
        None => None,
    };
    let row = cards::set_mine(
        &state.store,
        &caller.user,
        CardSettings {
            phone: &input.phone,
            photo: photo.as_deref(),
        },
    )
    .await?;
    Ok(Json(my_card(&state, &headers, row)))
}
