//! The posts' 权力清单 and 责任清单 of a unit over the API, for other
//! systems and the phone: the current lists in force (read-only; admins
//! keep them on the web pages and with `jishi admin post-list`).

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::post_lists::{self, PostList, PostName};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PostListsQuery {
    /// Only this post (职务).
    pub post: Option<String>,
}

/// A unit's current lists.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitPostLists {
    pub unit_id: String,
    pub unit_name: String,
    /// The lists in force, by post then kind (`power` before `duty`); a
    /// withdrawn list is not here.
    pub lists: Vec<PostList>,
}

/// `GET /api/v1/units/{unit_id}/post-lists[?post=]`: the current 权力清单
/// and 责任清单 of the unit's posts, for those who oversee the unit and
/// its own members (up to their township); 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/units/{unit_id}/post-lists",
    params(("unit_id" = String, Path), PostListsQuery),
    responses((status = 200, body = UnitPostLists), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn unit_lists(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit_id): Path<String>,
    Query(q): Query<PostListsQuery>,
) -> Result<Json<UnitPostLists>, ApiError> {
    let unit = post_lists::readable_unit(&state.store, &caller.user, &unit_id).await?;
    let mut lists = post_lists::unit_lists(&state.store, &unit.id).await?;
    if let Some(post) = &q.post {
        let post = PostName::parse(post)?;
        lists.retain(|l| l.post == post.as_str());
    }
    Ok(Json(UnitPostLists {
        unit_id: unit.id,
        unit_name: unit.name,
        lists,
    }))
}
