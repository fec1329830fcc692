//! The authorization matrix (issue 8, item 7): every route of the server —
//! API, sync, photos, publications, reviews, web pages and web forms — for
//! every kind of caller — cadre, leader, supervisor, admin, anonymous, a
//! revoked device, a disabled user — on what is inside the caller's scope,
//! on every unit above and beside the caller's own (issue 23, item 7: the
//! county's monthly results answered any of its members), outside the
//! scope, and what does not exist.
//!
//! The expected answer of every cell is in `MATRIX`, from the rules of
//! README.md and DESIGN.md: outside the scope a read answers like what does
//! not exist (404, the same body: existence does not leak); forbidden
//! writes are refused and store nothing; without valid credentials the API
//! answers 401 and the web pages send to the login page; publications are
//! public. Every answer is also searched for the records, names and units
//! the caller may not see, and every refused write is looked for in the
//! database. Then callers enumerate document ids and timelines of people
//! outside their scope, and of no one: the answers must be identical. The
//! routes in the router's source and in the OpenAPI document are compared
//! with the table, so a new route cannot be left out of it.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::ReadDoc;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sync_core::document::Record;
use sync_core::memory::MemoryReplica;
use sync_core::session::{ClientSession, ClientStore};
use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, UserId};

use crate::photos::entry_with_photo;
use backend::post_lists::{self, Entry, ListKind, PostName, SaveRequest, Saver};
use backend::publications::{publish_week, week::IsoWeek};
use jishi_tests::photo::{jpeg, sha};
use jishi_tests::roster::multipart;
use jishi_tests::{on_both_databases, Db, Session, TestApp, UserBuilder, PASSWORD};

/// One route and its expected answers. `table` has a line per case: the
/// case, then one answer per role in `ROLES` order:
///
/// | answer | means |
/// |---|---|
/// | `200` … `409` | that status; a 401, 403 or 404 must be byte for byte the answer of the `guessed` case when that is the same status: what exists looks like what does not |
/// | `login` | 303 to the login page |
/// | `303` | 303 anywhere else (a web form went through) |
/// | `ok` | sync: the document was accepted |
/// | `nf` | sync: refused as `not_found`, with the message of an id nobody has, nothing stored |
/// | `fc` | sync: refused as `forbidden_change`, nothing stored |
/// | `-` | not applicable: the role has no such resource |
struct Row {
    route: &'static str,
    table: &'static str,
}

/// Cases: `mine` inside the caller's scope (their own, or their reviewee);
/// `notmine` inside the scope but not theirs to write (a review of someone
/// they do not review); `foreign` outside the scope (another township or
/// county); `absent` an id of someone outside the scope for a day with no
/// record; `guessed` an id that does not exist; sync only: `forged` a
/// change by an actor not registered to the device, `asother` a comment
/// whose author is someone else, `pull` what a fresh replica is sent.
///
/// The caller's own unit (a cadre's village, a leader's township, the
/// county of a supervisor or an admin) and every unit above it and beside
/// it: `parent` the unit right above it, `grandparent` the one above that,
/// `sibling` a unit under the same parent (or another county). A route that
/// names a unit is asked for that unit; one that names a person, a record
/// or a photo, for a person of that unit (`UNIT_PERSON`). `-` where the
/// caller's unit has no such unit.
#[rustfmt::skip]
const MATRIX: &[Row] = &[
    // ---- accounts ------------------------- cadre leader super admin anon  revoked disabled
    Row { route: "POST /api/v1/auth/login", table: "
        mine                                    200   200   200   200   -     409   401
        foreign                                 401   401   401   401   401   401   401
        guessed                                 401   401   401   401   401   401   401" },
    Row { route: "POST /api/v1/auth/refresh", table: "
        mine                                    200   200   200   200   -     401   401
        guessed                                 401   401   401   401   401   401   401" },
    Row { route: "POST /api/v1/auth/logout", table: "
        mine                                    204   204   204   204   -     204   204
        guessed                                 401   401   401   401   401   401   401" },
    Row { route: "GET /api/v1/me", table: "
        mine                                    200   200   200   200   401   401   401" },
    Row { route: "GET /api/v1/people", table: "
        mine                                    200   200   200   200   401   401   401" },
    Row { route: "GET /api/v1/events", table: "
        mine                                    200   200   200   200   401   401   401" },
    // ---- records ----------------------------------------------------------
    Row { route: "GET /api/v1/documents/{doc_id}", table: API_DOCUMENT },
    Row { route: "GET /api/v1/documents/{doc_id}/changes", table: API_DOCUMENT },
    Row { route: "GET /api/v1/users/{user_id}/days", table: API_READ },
    Row { route: "GET /api/v1/units/{unit_id}/filing", table: API_OVERSEEN },
    // ---- posts' 权力清单 and 责任清单: read by those over the unit and,
    // like the month's results, by its members up to their township.
    Row { route: "GET /api/v1/units/{unit_id}/post-lists", table: API_RESULTS },
    // ---- 督办 items: named on it, or over its responsible person ---------
    Row { route: "GET /api/v1/items", table: "
        mine                                    200   200   200   200   401   401   401" },
    Row { route: "POST /api/v1/items", table: "
        mine                                    403   201   201   201   401   401   401
        parent                                  403   400   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   400   400   400   401   401   401
        foreign                                 403   400   400   400   401   401   401
        guessed                                 403   400   400   400   401   401   401" },
    Row { route: "GET /api/v1/items/{item_id}", table: API_READ },
    Row { route: "POST /api/v1/items/{item_id}/steps", table: "
        mine                                    201   201   201   201   401   401   401
        parent                                  404   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   404   404   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401" },
    Row { route: "POST /api/v1/sync", table: "
        mine                                    ok    ok    ok    ok    401   401   401
        parent                                  nf    nf    -     -     -     -     -
        grandparent                             nf    -     -     -     -     -     -
        sibling                                 nf    nf    nf    nf    401   401   401
        foreign                                 nf    nf    nf    nf    401   401   401
        absent                                  nf    nf    nf    nf    401   401   401
        guessed                                 nf    nf    nf    nf    401   401   401
        forged                                  fc    fc    fc    fc    401   401   401
        asother                                 fc    fc    fc    fc    401   401   401
        pull                                    ok    ok    ok    ok    401   401   401" },
    // ---- reviews: a unit's members see its results after the deadline ------
    Row { route: "GET /api/v1/units/{unit_id}/reviews/{month}", table: API_RESULTS },
    Row { route: "GET /api/v1/units/{unit_id}/reviews/{month}/export.xlsx", table: API_RESULTS },
    Row { route: "PUT /api/v1/reviews/{month}/{user_id}", table: "
        mine                                    -     200   200   200   401   401   401
        notmine                                 403   403   403   -     401   401   401
        parent                                  404   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   404   404   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401" },
    Row { route: "PUT /api/v1/reviews/{month}/{user_id}/statement", table: "
        mine                                    409   409   409   409   401   401   401
        parent                                  404   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   404   404   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401" },
    // ---- photos: HEAD and PATCH never send bytes, and since issue 23
    // (item 6) tell an account nothing of what others uploaded: another
    // account's hash starts an upload of its own (204), as one nobody has.
    Row { route: "GET /api/v1/blobs/{sha}", table: API_READ },
    Row { route: "HEAD /api/v1/blobs/{sha}", table: "
        mine                                    200   200   200   200   401   401   401
        foreign                                 200   200   200   200   401   401   401
        guessed                                 200   200   200   200   401   401   401" },
    Row { route: "PATCH /api/v1/blobs/{sha}", table: "
        mine                                    201   201   201   201   401   401   401
        foreign                                 204   204   204   204   401   401   401
        guessed                                 204   204   204   204   401   401   401" },
    Row { route: "GET /api/v1/blobs/{sha}/thumbnail", table: API_READ },
    Row { route: "HEAD /api/v1/blobs/{sha}/thumbnail", table: API_READ },
    // ---- publications: public; `foreign` is another county's ---------------
    Row { route: "GET /api/v1/publications/{unit}/{week}", table: PUBLIC_PAGE },
    Row { route: "GET /p/{unit}/{week}", table: PUBLIC_PAGE },
    Row { route: "GET /api/v1/publications/{unit}/{week}/versions/{version}", table: PUBLIC_PAGE },
    Row { route: "GET /p/{unit}/{week}/v/{version}", table: PUBLIC_PAGE },
    // A unit's notice board; a village's is its township's (the cadre's
    // `sibling` v2 is under t1): the JSON answers it, the page leads there.
    Row { route: "GET /api/v1/publications/{unit}", table: "
        mine                                    200   200   200   200   200   200   200
        parent                                  200   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 200   200   404   404   404   404   404
        foreign                                 200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404" },
    Row { route: "GET /p/{unit}", table: "
        mine                                    200   200   200   200   200   200   200
        parent                                  200   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 303   200   404   404   404   404   404
        foreign                                 200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404" },
    Row { route: "GET /api/v1/publications/{unit}/{week}/amendments", table: API_OVERSEEN },
    Row { route: "GET /p/{unit}/{week}/photos/{sha}", table: PUBLIC_PHOTO },
    Row { route: "HEAD /p/{unit}/{week}/photos/{sha}", table: PUBLIC_PHOTO },
    // ---- operations -------------------------------------------------------
    Row { route: "GET /healthz", table: OPEN },
    // Off unless `metrics_token` is set (tests/it/hardening.rs), as here.
    Row { route: "GET /metrics", table: "
        mine                                    404   404   404   404   404   404   404" },
    Row { route: "GET /api/openapi.json", table: OPEN },
    // ---- web pages: a cadre holding a session cookie (the login form
    // refuses cadres) is refused everywhere
    //                                       cadre leader super admin anon  revoked disabled
    Row { route: "GET /web", table: "
        mine                                    303   303   303   303   303   303   303" },
    Row { route: "GET /web/", table: "
        mine                                    403   200   200   200   login login login" },
    Row { route: "GET /web/login", table: OPEN },
    Row { route: "POST /web/login", table: "
        mine                                    403   303   303   303   -     303   401
        foreign                                 401   401   401   401   401   401   401
        guessed                                 401   401   401   401   401   401   401" },
    Row { route: "POST /web/logout", table: "
        mine                                    403   303   303   303   login login login" },
    Row { route: "GET /web/events", table: "
        mine                                    403   200   200   200   login login login" },
    Row { route: "GET /web/units/{unit}", table: WEB_READ },
    Row { route: "GET /web/users/{user}", table: WEB_READ },
    Row { route: "POST /web/documents/{doc}/comments", table: "
        mine                                    403   303   303   303   login login login
        parent                                  403   404   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   404   404   404   login login login
        foreign                                 403   404   404   404   login login login
        absent                                  403   404   404   404   login login login
        guessed                                 403   404   404   404   login login login
        asother                                 403   303   303   303   login login login" },
    Row { route: "GET /web/photos/{sha}", table: WEB_READ },
    Row { route: "GET /web/photos/{sha}/full", table: WEB_READ },
    Row { route: "GET /web/units/{unit}/reviews/{month}", table: WEB_READ },
    Row { route: "GET /web/units/{unit}/reviews/{month}/export.xlsx", table: WEB_READ },
    // 表态: nobody here is 末位 (409 `not_bottom`, nothing stored); the
    // person must be in the caller's scope (their own, for a cadre).
    Row { route: "POST /web/reviews/{month}/{user}/statement", table: "
        mine                                    403   400   400   400   login login login
        parent                                  403   404   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   404   404   404   login login login
        foreign                                 403   404   404   404   login login login
        guessed                                 403   404   404   404   login login login" },
    Row { route: "POST /web/reviews/{month}/{user}", table: "
        mine                                    -     303   303   303   login login login
        notmine                                 403   403   403   -     login login login
        parent                                  403   404   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   404   404   404   login login login
        foreign                                 403   404   404   404   login login login
        guessed                                 403   404   404   404   login login login" },
    Row { route: "GET /web/units/{unit}/weeks/{week}", table: WEB_READ },
    Row { route: "POST /web/units/{unit}/weeks/{week}", table: "
        mine                                    403   403   303   303   login login login
        parent                                  403   404   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   404   404   404   login login login
        foreign                                 403   404   404   404   login login login
        guessed                                 403   404   404   404   login login login" },
    Row { route: "GET /web/units/{unit}/weeks/{week}/amendments", table: WEB_READ },
    // A correction (更正) by leaders and supervisors over the unit.
    Row { route: "POST /web/units/{unit}/weeks/{week}/versions", table: "
        mine                                    403   303   303   303   login login login
        parent                                  403   404   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   404   404   404   login login login
        foreign                                 403   404   404   404   login login login
        guessed                                 403   404   404   404   login login login" },
    // ---- the roster import (issue 26, point 6): admins only, and only
    // within their scope (`foreign`: a unit under another county's
    // township, refused as unknown); a refused import stores nothing.
    Row { route: "GET /web/admin/import", table: WEB_ADMIN },
    Row { route: "GET /web/admin/import/template.xlsx", table: WEB_ADMIN },
    Row { route: "POST /web/admin/import/preview", table: WEB_IMPORT },
    Row { route: "POST /web/admin/import/apply", table: WEB_IMPORT },
    // ---- posts' 权力清单 and 责任清单 (issue 26, point 3): read by those
    // over the unit, saved only by an admin over it; a refused save stores
    // nothing.
    Row { route: "GET /web/units/{unit}/posts", table: WEB_READ },
    Row { route: "GET /web/units/{unit}/posts/history", table: WEB_READ },
    Row { route: "GET /web/units/{unit}/posts/edit", table: WEB_LIST_ADMIN },
    Row { route: "POST /web/units/{unit}/posts", table: WEB_LIST_SAVE },
    // 督办 pages.
    Row { route: "GET /web/items", table: "
        mine                                    403   200   200   200   login login login" },
    Row { route: "GET /web/items/new", table: "
        mine                                    403   200   200   200   login login login" },
    Row { route: "POST /web/items", table: "
        mine                                    403   303   303   303   login login login
        parent                                  403   400   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   400   400   400   login login login
        foreign                                 403   400   400   400   login login login
        guessed                                 403   400   400   400   login login login" },
    Row { route: "GET /web/items/{item}", table: WEB_READ },
    Row { route: "POST /web/items/{item}/steps", table: "
        mine                                    403   303   303   303   login login login
        parent                                  403   404   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   404   404   404   login login login
        foreign                                 403   404   404   404   login login login
        guessed                                 403   404   404   404   login login login" },
    Row { route: "GET /web/units/{unit}/items/{month}", table: WEB_READ },
    Row { route: "GET /web/units/{unit}/items/{month}/export.xlsx", table: WEB_READ },
    Row { route: "GET /web/units/{unit}/cases/{month}", table: WEB_READ },
    Row { route: "GET /web/units/{unit}/cases/{month}/export.xlsx", table: WEB_READ },
    // ---- 亮身份 (issue 27, point 1): every cadre's card is public;
    // `foreign` is another county's cadre's, `guessed` no card's id.
    Row { route: "GET /c/{card}", table: PUBLIC_CARD },
    Row { route: "GET /api/v1/cards/{card}", table: PUBLIC_CARD },
    Row { route: "GET /c/{card}/photo", table: "
        mine                                    200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404" },
    Row { route: "GET /p/{unit}/cards/print", table: "
        mine                                    200   200   200   200   200   200   200
        foreign                                 200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404" },
    Row { route: "GET /p/{unit}/cards", table: "
        mine                                    200   200   200   200   200   200   200
        foreign                                 200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404" },
    // ---- cases the public brings (issue 27, points 3 to 5): filed and
    // followed without an account; `mine` from u1's card, `foreign` from
    // another county's cadre's, `guessed` from no card.
    Row { route: "GET /api/v1/public/cases/challenge", table: "
        mine                                    200   200   200   200   200   200   200" },
    Row { route: "POST /api/v1/public/cases", table: PUBLIC_FILING },
    Row { route: "POST /api/v1/public/cases/lookup", table: PUBLIC_LOOKUP },
    Row { route: "GET /f", table: PUBLIC_CARD },
    Row { route: "POST /f", table: PUBLIC_FILING },
    Row { route: "GET /q", table: "
        mine                                    200   200   200   200   200   200   200" },
    Row { route: "POST /q", table: PUBLIC_LOOKUP },
    // A hotline call about a unit in the clerk's scope (`mine` the village
    // v1), not by a cadre.
    Row { route: "POST /api/v1/cases", table: "
        mine                                    403   201   201   201   401   401   401
        foreign                                 403   404   404   404   401   401   401
        guessed                                 403   404   404   404   401   401   401" },
    // Who filed a complaint about u1: its handler (l1) and the 效能办 over
    // it; never the cadre it concerns, nor an admin.
    Row { route: "GET /api/v1/cases/{item_id}/filer", table: "
        mine                                    404   200   200   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401" },
    // Only those who have a card (cadres and leaders) read and set theirs.
    Row { route: "GET /api/v1/me/card", table: "
        mine                                    200   200   403   403   401   401   401" },
    Row { route: "PUT /api/v1/me/card", table: "
        mine                                    200   200   403   403   401   401   401" },
    // ---- the county calendar (issue 27, point 4): read by everyone on
    // the web pages, changed only by an admin of a top unit; a refused
    // change stores nothing.
    Row { route: "GET /web/calendar", table: "
        mine                                    403   200   200   200   login login login" },
    Row { route: "POST /web/calendar", table: "
        mine                                    403   403   403   303   login login login" },
    Row { route: "GET /web/{*rest}", table: "
        mine                                    404   404   404   404   404   404   404" },
];

// The tables several routes share; columns as above:
//                                          cadre leader super admin anon  revoked disabled
/// A scoped read of the API.
#[rustfmt::skip]
const API_READ: &str = "
        mine                                    200   200   200   200   401   401   401
        parent                                  404   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   404   404   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401";
/// A unit's monthly results: after the deadline its members read their own
/// unit up to their township (a cadre of village v1 reads t1, never the
/// county c1 nor the village v2 beside theirs); leaders and supervisors
/// read their scope.
#[rustfmt::skip]
const API_RESULTS: &str = "
        mine                                    200   200   200   200   401   401   401
        parent                                  200   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   404   404   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401";
/// A document: also someone else's day with no record.
#[rustfmt::skip]
const API_DOCUMENT: &str = "
        mine                                    200   200   200   200   401   401   401
        parent                                  404   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   404   404   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        absent                                  404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401";
/// What only leaders and supervisors over a unit see.
#[rustfmt::skip]
const API_OVERSEEN: &str = "
        mine                                    404   200   200   200   401   401   401
        parent                                  404   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   404   404   404   401   401   401
        foreign                                 404   404   404   404   401   401   401
        guessed                                 404   404   404   404   401   401   401";
/// A scoped web page.
#[rustfmt::skip]
const WEB_READ: &str = "
        mine                                    403   200   200   200   login login login
        parent                                  403   404   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   404   404   404   login login login
        foreign                                 403   404   404   404   login login login
        guessed                                 403   404   404   404   login login login";
/// A publication (`foreign`: another county's, public too). Only townships
/// publish: above and beside the caller's unit there is one where it is a
/// township (the cadre's t1, the leader's t2).
#[rustfmt::skip]
const PUBLIC_PAGE: &str = "
        mine                                    200   200   200   200   200   200   200
        parent                                  200   404   -     -     -     -     -
        grandparent                             404   -     -     -     -     -     -
        sibling                                 404   200   404   404   404   404   404
        foreign                                 200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404";
/// A publication's photo: `foreign`, shown by another township's
/// publication; `absent`, a photo of this township's cadre that the
/// publication does not show.
#[rustfmt::skip]
const PUBLIC_PHOTO: &str = "
        mine                                    200   200   200   200   200   200   200
        foreign                                 404   404   404   404   404   404   404
        absent                                  404   404   404   404   404   404   404
        guessed                                 404   404   404   404   404   404   404";
/// An admin's page.
#[rustfmt::skip]
const WEB_ADMIN: &str = "
        mine                                    403   403   403   200   login login login";
/// An admin's roster import: into the scope, and outside it.
#[rustfmt::skip]
const WEB_IMPORT: &str = "
        mine                                    403   403   403   200   login login login
        foreign                                 403   403   403   400   login login login";
/// An admin's page of a unit: only admins, and only over the unit.
#[rustfmt::skip]
const WEB_LIST_ADMIN: &str = "
        mine                                    403   403   403   200   login login login
        parent                                  403   403   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   403   403   404   login login login
        foreign                                 403   403   403   404   login login login
        guessed                                 403   403   403   404   login login login";
/// An admin's form of a unit: saved (303) only by an admin over it.
#[rustfmt::skip]
const WEB_LIST_SAVE: &str = "
        mine                                    403   403   403   303   login login login
        parent                                  403   403   -     -     -     -     -
        grandparent                             403   -     -     -     -     -     -
        sibling                                 403   403   403   404   login login login
        foreign                                 403   403   403   404   login login login
        guessed                                 403   403   403   404   login login login";
/// Open to everyone.
#[rustfmt::skip]
const OPEN: &str = "
        mine                                    200   200   200   200   200   200   200";

/// A public card.
#[rustfmt::skip]
const PUBLIC_CARD: &str = "
        mine                                    200   200   200   200   200   200   200
        foreign                                 200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404";

const PUBLIC_FILING: &str = "
        mine                                    201   201   201   201   201   201   201
        foreign                                 201   201   201   201   201   201   201
        guessed                                 404   404   404   404   404   404   404";

const PUBLIC_LOOKUP: &str = "
        mine                                    200   200   200   200   200   200   200
        guessed                                 404   404   404   404   404   404   404";

/// Rows a GET route answers for HEAD too (axum does): not in the router's
/// source under their own name.
const IMPLICIT_HEAD: &[&str] = &[
    "HEAD /api/v1/blobs/{sha}/thumbnail",
    "HEAD /p/{unit}/{week}/photos/{sha}",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Cadre,
    Leader,
    Supervisor,
    Admin,
    Anonymous,
    /// The supervisor s1 on a device (and a web session) an admin revoked.
    Revoked,
    /// The supervisor s2, disabled after logging in.
    Disabled,
}

const ROLES: [Role; 7] = [
    Role::Cadre,
    Role::Leader,
    Role::Supervisor,
    Role::Admin,
    Role::Anonymous,
    Role::Revoked,
    Role::Disabled,
];

impl Role {
    fn user(self) -> &'static str {
        match self {
            Role::Cadre => "u1",
            Role::Leader => "l1",
            Role::Supervisor | Role::Revoked => "s1",
            Role::Admin => "a1",
            Role::Disabled => "s2",
            Role::Anonymous => "",
        }
    }

    fn key(self) -> String {
        format!("{self:?}").to_lowercase()
    }

    /// Whose records and which units the role may see.
    fn scope(self) -> Scope {
        match self {
            Role::Cadre => Scope::Own("u1"),
            Role::Leader => Scope::Under("t1"),
            Role::Supervisor | Role::Admin => Scope::Under("c1"),
            Role::Anonymous | Role::Revoked | Role::Disabled => Scope::Nothing,
        }
    }

    fn doc_role(self) -> sync_core::Role {
        match self {
            Role::Cadre => sync_core::Role::Cadre,
            Role::Leader => sync_core::Role::Leader,
            Role::Admin => sync_core::Role::Admin,
            _ => sync_core::Role::Supervisor,
        }
    }

    /// Holds credentials that still work.
    fn signed_in(self) -> bool {
        matches!(
            self,
            Role::Cadre | Role::Leader | Role::Supervisor | Role::Admin
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Mine,
    NotMine,
    Parent,
    Grandparent,
    Sibling,
    Foreign,
    Absent,
    Guessed,
    Forged,
    AsOther,
    Pull,
}

impl Case {
    fn parse(s: &str) -> Case {
        match s {
            "mine" => Case::Mine,
            "notmine" => Case::NotMine,
            "parent" => Case::Parent,
            "grandparent" => Case::Grandparent,
            "sibling" => Case::Sibling,
            "foreign" => Case::Foreign,
            "absent" => Case::Absent,
            "guessed" => Case::Guessed,
            "forged" => Case::Forged,
            "asother" => Case::AsOther,
            "pull" => Case::Pull,
            other => panic!("no case {other:?} in the matrix"),
        }
    }
}

// ---- the organisation and what each part may see ---------------------------

/// The harness's county c1 (township t1 with village v1, township t2), a
/// village v2 beside v1, and a second county c2 with township t3: (id,
/// name, parent).
const UNITS: [(&str, &str, Option<&str>); 7] = [
    ("c1", "青山县", None),
    ("t1", "石门镇", Some("c1")),
    ("v1", "青山村", Some("t1")),
    ("v2", "柳溪村", Some("t1")),
    ("t2", "白沙镇", Some("c1")),
    ("c2", "红河县", None),
    ("t3", "红河镇", Some("c2")),
];
/// Everyone and their unit.
const PEOPLE: [(&str, &str); 8] = [
    ("u1", "v1"),
    ("u2", "t2"),
    ("u3", "t3"),
    ("u4", "v2"),
    ("l1", "t1"),
    ("s1", "c1"),
    ("a1", "c1"),
    ("s2", "c1"),
];
/// Those who keep records (the cadres, and the leader of t1).
const CADRES: [&str; 5] = ["u1", "u2", "u3", "u4", "l1"];
/// The person of a unit the parent, grandparent and sibling cases ask for
/// (a leader and a supervisor above, cadres beside).
const UNIT_PERSON: [(&str, &str); 5] = [
    ("t1", "l1"),
    ("c1", "s1"),
    ("v2", "u4"),
    ("t2", "u2"),
    ("c2", "u3"),
];

const WEEK: &str = "2026-W47";
/// A published day (in `WEEK`), a day after it, a day without records.
const PUBLIC_DAY: &str = "2026-11-19";
const PRIVATE_DAY: &str = "2026-11-25";
const EMPTY_DAY: &str = "2026-01-05";
/// A month whose review deadline has passed.
const PAST: &str = "2020-01";
const RANGE: &str = "from=2026-11-16&to=2026-11-30";
/// Ids that do not exist.
const NOBODY: &str = "u9";
const NO_UNIT: &str = "t9";
const NO_WEEK: &str = "2026-W40";
const WRONG_PASSWORD: &str = "not-the-password-0";

fn parent(unit: &str) -> Option<&'static str> {
    UNITS.iter().find(|u| u.0 == unit).and_then(|u| u.2)
}

fn unit_name(unit: &str) -> &'static str {
    UNITS.iter().find(|u| u.0 == unit).map_or("", |u| u.1)
}

fn unit_of(user: &str) -> Option<&'static str> {
    PEOPLE.iter().find(|p| p.0 == user).map(|p| p.1)
}

/// Is `unit` inside the subtree of `top`?
fn within(unit: &str, top: &str) -> bool {
    let mut at = Some(unit);
    while let Some(u) = at {
        if u == top {
            return true;
        }
        at = parent(u);
    }
    false
}

#[derive(Clone, Copy, Debug)]
enum Scope {
    Own(&'static str),
    Under(&'static str),
    Nothing,
}

impl Scope {
    fn sees_user(self, user: &str) -> bool {
        match self {
            Scope::Own(u) => u == user,
            Scope::Under(top) => unit_of(user).is_some_and(|u| within(u, top)),
            Scope::Nothing => false,
        }
    }

    /// A unit in the subtree, or above it (its name heads the pages).
    fn sees_unit(self, unit: &str) -> bool {
        match self {
            Scope::Own(u) => unit_of(u).is_some_and(|home| within(home, unit)),
            Scope::Under(top) => within(unit, top) || within(top, unit),
            Scope::Nothing => false,
        }
    }
}

fn name(user: &str) -> String {
    format!("用户{user}")
}
fn public_text(cadre: &str) -> String {
    format!("{cadre}公示记录")
}
fn private_text(cadre: &str) -> String {
    format!("{cadre}内部记录")
}

/// What an answer must not show to a caller seeing `scope` (of a
/// publication, `public_only`: its records of the week alone; of a unit's
/// monthly results, `results_of`: the names of its people and units, not
/// their records; of the people list, `readers_of`: the names of those in
/// the units above the caller's, who read and review the caller's records).
fn unseen(
    scope: Scope,
    public_only: bool,
    results_of: Option<&str>,
    readers_of: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    for c in CADRES {
        let above =
            readers_of.is_some_and(|mine| unit_of(c).is_some_and(|u| u != mine && within(mine, u)));
        let named =
            above || results_of.is_some_and(|top| unit_of(c).is_some_and(|u| within(u, top)));
        if !scope.sees_user(c) {
            out.extend([public_text(c), private_text(c)]);
            if !named {
                out.push(name(c));
            }
        } else if public_only {
            out.push(private_text(c));
        }
    }
    for (id, name, _) in UNITS {
        let named = results_of.is_some_and(|top| within(id, top));
        if !scope.sees_unit(id) && !named {
            out.push(name.to_owned());
        }
    }
    out
}

fn doc_id(owner: &str, day: &str) -> String {
    format!("diary:{owner}:{day}")
}

/// What the cases of a role point at.
#[derive(Clone, Copy, Debug)]
struct Targets {
    user: &'static str,
    foreign_user: &'static str,
    unit: &'static str,
    foreign_unit: &'static str,
    /// Someone the role reviews, and someone in its scope it does not.
    reviewee: Option<&'static str>,
    not_reviewee: Option<&'static str>,
    /// Someone else, as the author a forged comment claims: (user, role).
    other: (&'static str, &'static str),
    /// The units right above, two above, and beside the caller's own.
    parent: Option<&'static str>,
    grandparent: Option<&'static str>,
    sibling: &'static str,
}

fn targets(role: Role) -> Targets {
    let township = Targets {
        user: "u1",
        foreign_user: "u2",
        unit: "t1",
        foreign_unit: "t2",
        reviewee: Some("u1"),
        not_reviewee: Some("l1"),
        other: ("s1", "supervisor"),
        parent: Some("c1"),
        grandparent: None,
        sibling: "t2",
    };
    let county = Targets {
        user: "u2",
        foreign_user: "u3",
        unit: "t2",
        foreign_unit: "t3",
        reviewee: Some("u2"),
        not_reviewee: Some("u1"),
        other: ("l1", "leader"),
        parent: None,
        grandparent: None,
        sibling: "c2",
    };
    match role {
        // A cadre of village v1.
        Role::Cadre => Targets {
            reviewee: None,
            not_reviewee: Some("u1"),
            other: ("l1", "leader"),
            parent: Some("t1"),
            grandparent: Some("c1"),
            sibling: "v2",
            ..township
        },
        Role::Leader => township,
        Role::Admin => Targets {
            not_reviewee: None,
            other: ("s1", "supervisor"),
            ..county
        },
        // The supervisor's, and the same for those without access: only
        // the missing credentials keep them out.
        _ => county,
    }
}

/// The person the cases of a unit ask for.
fn person_of(unit: &str) -> &'static str {
    UNIT_PERSON
        .iter()
        .find(|p| p.0 == unit)
        .map(|p| p.1)
        .expect("a person for the unit")
}

impl Targets {
    /// The unit above or beside the caller's that a case asks for.
    fn relative(&self, case: Case) -> Option<&'static str> {
        let missing = || panic!("{case:?} has no unit here: the table should say `-`");
        match case {
            Case::Parent => Some(self.parent.unwrap_or_else(missing)),
            Case::Grandparent => Some(self.grandparent.unwrap_or_else(missing)),
            Case::Sibling => Some(self.sibling),
            _ => None,
        }
    }

    fn doc(&self, case: Case) -> String {
        if let Some(unit) = self.relative(case) {
            return doc_id(person_of(unit), PRIVATE_DAY);
        }
        match case {
            Case::Foreign => doc_id(self.foreign_user, PRIVATE_DAY),
            Case::Absent => doc_id(self.foreign_user, EMPTY_DAY),
            Case::Guessed => doc_id(NOBODY, PRIVATE_DAY),
            _ => doc_id(self.user, PRIVATE_DAY),
        }
    }

    fn person(&self, case: Case) -> &'static str {
        if let Some(unit) = self.relative(case) {
            return person_of(unit);
        }
        match case {
            Case::Foreign => self.foreign_user,
            Case::Guessed => NOBODY,
            _ => self.user,
        }
    }

    fn unit(&self, case: Case) -> &'static str {
        if let Some(unit) = self.relative(case) {
            return unit;
        }
        match case {
            Case::Foreign => self.foreign_unit,
            Case::Guessed => NO_UNIT,
            _ => self.unit,
        }
    }

    fn reviewed(&self, case: Case) -> Option<&'static str> {
        if let Some(unit) = self.relative(case) {
            return Some(person_of(unit));
        }
        match case {
            Case::Mine => self.reviewee,
            Case::NotMine => self.not_reviewee,
            Case::Foreign => Some(self.foreign_user),
            _ => Some(NOBODY),
        }
    }
}

// ---- the callers -----------------------------------------------------------

struct Who {
    role: Role,
    user: &'static str,
    session: Option<Session>,
    device: String,
    /// `jishi_web=…`
    cookie: Option<String>,
    t: Targets,
}

struct World {
    app: TestApp,
    http: reqwest::Client,
    people: Vec<Who>,
    no_photo: String,
    /// (responsible person, item id): an item issued to each person a
    /// case asks for.
    items: Vec<(&'static str, String)>,
    /// The public card ids of u1 (with a photo) and of u3 (another
    /// county's).
    cards: [String; 2],
    /// A complaint about u1 and a request to u3, filed by the public.
    cases: [String; 2],
    /// The complaint's tracking code.
    case_code: String,
}

/// Who issues the item of each person the cases ask for: someone over
/// them (l3, a leader of the other county, only for this).
const ITEM_ISSUERS: [(&str, &str); 6] = [
    ("u1", "l1"),
    ("u4", "l1"),
    ("u2", "s1"),
    ("l1", "s1"),
    ("s1", "a1"),
    ("u3", "l3"),
];

/// The post whose 权力清单 each unit has, and that list's query.
const LIST_POST: &str = "党委书记";
const LIST_QUERY: &str = "post=%E5%85%9A%E5%A7%94%E4%B9%A6%E8%AE%B0&kind=power";

/// The one entry of a unit's seeded list: it names the unit, so a list
/// shown outside the scope is a unit name shown there.
fn list_title(unit: &str) -> String {
    format!("{}党委书记职权", unit_name(unit))
}

/// An id of an item nobody issued.
const NO_ITEM: &str = "item:00000000000000000000000000000009";

fn item_title(person: &str) -> String {
    format!("{person}督办事项")
}

fn ctx(user: &str, role: sync_core::Role) -> EditContext {
    EditContext {
        user: UserId::parse(user).unwrap(),
        role,
        now_ms: 1_763_870_400_000,
    }
}

/// The photo of a cadre's published day (`public`) or of the day after.
fn photo(cadre: &str, public: bool) -> Vec<u8> {
    let n = CADRES.iter().position(|c| *c == cadre).unwrap() as u32;
    jpeg(160, 120, 700 + 2 * n + u32::from(public))
}

fn private_photo(cadre: &str) -> String {
    sha(&photo(cadre, false))
}

/// The device a web session cookie is bound to.
fn session_device(cookie: &str) -> String {
    let token = cookie.split_once('=').unwrap().1;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["dev"].as_str().unwrap().to_owned()
}

/// A comment map written by hand, as a hostile client could.
fn raw_comment(doc: &mut Document, author: &str, role: &str, text: &str) {
    let am = doc.automerge_mut();
    let comments = am.get(automerge::ROOT, "comments").unwrap().unwrap().1;
    let c = am
        .put_object(
            &comments,
            ItemId::random().as_str(),
            automerge::ObjType::Map,
        )
        .unwrap();
    am.put(&c, "author", author).unwrap();
    am.put(&c, "role", role).unwrap();
    am.put(&c, "at", 0i64).unwrap();
    let t = am.put_object(&c, "text", automerge::ObjType::Text).unwrap();
    am.splice_text(&t, 0, 0, text).unwrap();
    am.commit();
}

impl World {
    async fn build(db: Db) -> World {
        // Every role files cases from one address: no limit between them.
        let app = TestApp::spawn_with(db, |c| {
            c.case_pow_bits = 8;
            c.case_filings_per_address_hour = 10_000;
            c.case_filings_per_phone_day = 10_000;
            c.case_lookups_per_address_minute = 10_000;
        })
        .await;
        app.seed().await;
        let store = &app.state.store;
        app.seed_other_county().await;
        backend::admin::create_unit(store, "v2", Some("t1"), "柳溪村", "village")
            .await
            .unwrap();
        app.add_user(UserBuilder::cadre("u4").unit("v2").build())
            .await;
        app.add_user(
            UserBuilder::new("a1", "admin")
                .unit("c1")
                .scope("c1")
                .build(),
        )
        .await;
        app.add_user(UserBuilder::supervisor("s2").unit("c1").scope("c1").build())
            .await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        // Each record keeper's phone: a day of the published week and a day
        // after it, each with an entry and a photo.
        let mut phones = Vec::new();
        for c in CADRES {
            let role = if c == "l1" {
                sync_core::Role::Leader
            } else {
                sync_core::Role::Cadre
            };
            let mut phone = MemoryReplica::new(Actor::random());
            let s = app
                .login(c, &format!("phone-{c}"), &[phone.actor().to_hex()])
                .await;
            for (day, text, public) in [
                (PUBLIC_DAY, public_text(c), true),
                (PRIVATE_DAY, private_text(c), false),
            ] {
                let bytes = photo(c, public);
                let (_, _, mut edits) = entry_with_photo(c, &sha(&bytes));
                if let Edit::AddEntry { fields, .. } = &mut edits[0] {
                    fields.text = text;
                }
                let id = DocId::parse(&doc_id(c, day)).unwrap();
                for e in &edits {
                    phone.edit(&id, e, &ctx(c, role)).unwrap();
                }
                assert_eq!(app.upload(&s.access, &bytes).await.0, StatusCode::CREATED);
            }
            let (_, problems) = app.sync(&mut phone, &s.access).await;
            assert!(problems.is_empty(), "{problems:?}");
            phones.push(s);
        }
        let week = IsoWeek::parse(WEEK).unwrap();
        for unit in ["t1", "t2", "t3"] {
            assert!(
                publish_week(store, unit, week, &backend::calendar::Calendar::weekdays())
                    .await
                    .unwrap()
                    .1
            );
        }
        assert!(store
            .photo_in_publication("t1", WEEK, &sha(&photo("u1", true)))
            .await
            .unwrap());

        // An item issued to each person the cases ask for.
        app.add_user(UserBuilder::leader("l3").unit("t3").scope("t3").build())
            .await;
        let mut items = Vec::new();
        for (person, issuer) in ITEM_ISSUERS {
            let s = app
                .login(
                    issuer,
                    &format!("authz-issue-{issuer}"),
                    &[Actor::random().to_hex()],
                )
                .await;
            let r = http
                .post(app.url("/api/v1/items"))
                .bearer_auth(&s.access)
                .json(&json!({
                    "list": "supervision", "source": "superior", "title": item_title(person),
                    "content": "授权矩阵", "due_workdays": 5, "responsible": person,
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED, "issue to {person}");
            let body: Value = r.json().await.unwrap();
            items.push((person, body["id"].as_str().unwrap().to_owned()));
        }

        // A 权力清单 of each unit's 党委书记, naming the unit.
        let post = PostName::parse(LIST_POST).unwrap();
        for (unit, _, _) in UNITS {
            let entries = vec![Entry {
                title: list_title(unit),
                basis: String::new(),
                detail: String::new(),
            }];
            let req = SaveRequest {
                unit_id: unit,
                post: &post,
                kind: ListKind::Power,
                entries: &entries,
                note: "",
                based_on: None,
            };
            post_lists::save(store, &req, Saver::Cli(None))
                .await
                .unwrap();
        }

        // 亮身份 cards: u1's with a photo of theirs, u3's.
        let u1_card = store
            .set_card("u1", "0736-1234567", Some(&sha(&photo("u1", true))))
            .await
            .unwrap();
        let u3_card = store.card_of("u3").await.unwrap();
        let filing = |kind: &str, card: &str| backend::cases::Filing {
            kind: kind.into(),
            card: Some(card.into()),
            content: "授权矩阵群众反映".into(),
            phone: "13900000000".into(),
            ..Default::default()
        };
        let complaint = backend::cases::file(
            &app.state,
            &filing("complaint", &u1_card.card_id),
            backend::cases::Via::Public,
            None,
        )
        .await
        .unwrap();
        let request = backend::cases::file(
            &app.state,
            &filing("request", &u3_card.card_id),
            backend::cases::Via::Public,
            None,
        )
        .await
        .unwrap();

        let mut world = World {
            app,
            http,
            people: Vec::new(),
            no_photo: sha(b"authz: a photo nobody took"),
            items,
            cards: [u1_card.card_id, u3_card.card_id],
            cases: [complaint.id, request.id],
            case_code: complaint.code,
        };
        for role in ROLES {
            let user = role.user();
            let (session, device, cookie) = match role {
                Role::Anonymous => (None, String::new(), None),
                // A cadre's web session can only be forged with the
                // server's key: the login form refuses cadres.
                Role::Cadre => {
                    let u = world.app.state.store.user(user).await.unwrap().unwrap();
                    let token = world
                        .app
                        .state
                        .keys
                        .issue_web(&u, "phone-u1", 3600)
                        .unwrap();
                    (
                        Some(phones[0].clone()),
                        "phone-u1".to_owned(),
                        Some(format!("jishi_web={token}")),
                    )
                }
                _ => {
                    let device = format!("authz-{}", role.key());
                    let s = world.app.login(user, &device, &[]).await;
                    let cookie = world.web_login(user).await;
                    (Some(s), device, Some(cookie))
                }
            };
            world.people.push(Who {
                role,
                user,
                session,
                device,
                cookie,
                t: targets(role),
            });
        }
        // An admin revokes a phone and a web session of s1, and disables s2.
        let store = &world.app.state.store;
        let revoked = world.who(Role::Revoked);
        store.revoke_device(&revoked.device).await.unwrap();
        let web_device = session_device(revoked.cookie.as_deref().unwrap());
        store.revoke_device(&web_device).await.unwrap();
        store.disable_user("s2").await.unwrap();
        // Every `foreign` case points at what exists, every `guessed` one
        // at what does not.
        for t in world.people.iter().map(|w| w.t) {
            assert!(world.stored(&t.doc(Case::Foreign)).await.is_some());
            assert!(world.stored(&t.doc(Case::Guessed)).await.is_none());
            assert!(store.user(t.foreign_user).await.unwrap().is_some());
            assert!(store.unit(t.foreign_unit).await.unwrap().is_some());
            let foreign_photo = private_photo(t.foreign_user);
            assert!(store.blob(&foreign_photo).await.unwrap().is_some());
        }
        assert!(store.user(NOBODY).await.unwrap().is_none());
        assert!(store.unit(NO_UNIT).await.unwrap().is_none());
        assert!(store.blob(&world.no_photo).await.unwrap().is_none());
        world
    }

    fn who(&self, role: Role) -> &Who {
        self.people.iter().find(|w| w.role == role).unwrap()
    }

    /// Log in on the web pages: the session cookie.
    async fn web_login(&self, login: &str) -> String {
        let r = self
            .http
            .post(self.app.url("/web/login"))
            .form(&[("login", login), ("password", PASSWORD), ("next", "/web/")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "web login {login}");
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }

    /// The record a document holds on the server.
    async fn stored(&self, doc: &str) -> Option<Record> {
        let docs = self
            .app
            .state
            .store
            .load_documents(&[doc.to_owned()])
            .await
            .unwrap();
        docs.get(doc).map(|b| {
            Document::load(DocId::parse(doc).unwrap(), &b.bytes, &Actor::random())
                .unwrap()
                .read()
        })
    }

    async fn send(&self, who: &Who, route: &str, req: Req) -> Outcome {
        let path = route.split_once(' ').unwrap().1;
        let web = path.starts_with("/web");
        let mut r = self
            .http
            .request(req.method.clone(), self.app.url(&req.path));
        if let (false, Some(s)) = (web, &who.session) {
            r = r.bearer_auth(&s.access);
        }
        if let (true, Some(c)) = (web, req.cookie.as_ref().or(who.cookie.as_ref())) {
            r = r.header("cookie", c);
        }
        for (name, value) in &req.headers {
            r = r.header(*name, value);
        }
        if let Some(j) = &req.json {
            r = r.json(j);
        }
        if let Some(f) = &req.form {
            r = r.form(f);
        }
        if let Some(b) = req.bytes {
            r = r.body(b);
        }
        let resp = r.send().await.unwrap();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let status = resp.status().as_u16();
        // An event stream does not end: its status is the answer.
        let streaming = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = if streaming {
            Vec::new()
        } else {
            resp.bytes().await.unwrap().to_vec()
        };
        Outcome {
            status,
            location,
            body,
            shows: req.shows,
            echo: req.echo,
            publication_of: req.publication_of,
            results_of: req.results_of,
            readers_of: req.readers_of,
            ..Outcome::default()
        }
    }

    /// Try one cell.
    async fn run(&self, who: &Who, route: &str, case: Case) -> Outcome {
        match route {
            "POST /api/v1/sync" => return self.sync_cell(who, case).await,
            "POST /web/documents/{doc}/comments" => {
                return self.comment_cell(who, route, case).await
            }
            "POST /web/admin/import/preview" | "POST /web/admin/import/apply" => {
                return self.import_cell(who, route, case).await
            }
            "POST /web/units/{unit}/posts" => return self.post_list_cell(who, route, case).await,
            "POST /web/calendar" => return self.calendar_cell(who, route).await,
            _ => {}
        }
        let req = self.request(who, route, case).await;
        let cookie = req.cookie.clone();
        let mut o = self.send(who, route, req).await;
        // Logging out ends the session at once.
        if let (Some(cookie), 303) = (cookie, o.status) {
            let r = self
                .http
                .get(self.app.url("/web/"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            if r.status() != StatusCode::SEE_OTHER {
                o.leak = Some(format!("the session works after logout: {}", r.status()));
            }
        }
        o
    }

    /// The request of a cell.
    async fn request(&self, who: &Who, route: &str, case: Case) -> Req {
        let t = &who.t;
        let (method, template) = route.split_once(' ').unwrap();
        let mut req = Req::new(method.parse().unwrap(), template.to_owned());
        let unit = t.unit(case);
        let person = t.person(case);
        let blob = match case {
            Case::Mine => private_photo(t.user),
            Case::Foreign => private_photo(t.foreign_user),
            Case::Parent | Case::Grandparent | Case::Sibling if CADRES.contains(&person) => {
                private_photo(person)
            }
            _ => self.no_photo.clone(),
        };
        // A publication: ours, another county's, a week never published,
        // the unit above or beside the caller's.
        let (p_unit, p_week) = match case {
            Case::Foreign => ("t3", WEEK),
            Case::Guessed => ("t1", NO_WEEK),
            Case::Parent | Case::Grandparent | Case::Sibling => (unit, WEEK),
            _ => ("t1", WEEK),
        };
        let p_cadre = match p_unit {
            "t3" => "u3",
            "t2" => "u2",
            _ => "u1",
        };
        match template {
            "/api/v1/auth/login" | "/web/login" if method == "POST" => {
                let (login, password) = match case {
                    Case::Mine => (who.user, PASSWORD),
                    Case::Foreign => (t.foreign_user, WRONG_PASSWORD),
                    _ => (NOBODY, WRONG_PASSWORD),
                };
                let device = match (case, who.role) {
                    (Case::Mine, Role::Revoked) => who.device.clone(),
                    (Case::Mine, _) => format!("authz-login-{}", who.role.key()),
                    _ => "authz-login-nobody".to_owned(),
                };
                if template == "/web/login" {
                    req.form = Some(vec![
                        ("login", login.to_owned()),
                        ("password", password.to_owned()),
                        ("next", "/web/".to_owned()),
                    ]);
                } else {
                    req.json = Some(json!({
                        "login": login, "password": password, "device_id": device,
                        "device_name": "授权矩阵", "actors": [],
                    }));
                }
                req.echo = Some(login.to_owned());
            }
            "/api/v1/auth/refresh" | "/api/v1/auth/logout" => {
                let token = match case {
                    Case::Guessed => "no-such-refresh-token".to_owned(),
                    // Logging out a session of its own, not the one the
                    // other cells use.
                    _ if who.role.signed_in() && template.ends_with("logout") => {
                        let device = format!("authz-logout-{}", who.role.key());
                        self.app.login(who.user, &device, &[]).await.refresh
                    }
                    _ => who.session.as_ref().unwrap().refresh.clone(),
                };
                req.json = Some(json!({ "refresh_token": token }));
            }
            "/api/v1/me" => req.shows = shows(format!("\"{}\"", who.user)),
            "/api/v1/people" => {
                req.shows = shows(format!("\"{}\"", who.user));
                req.readers_of = unit_of(who.user);
            }
            "/api/v1/documents/{doc_id}" | "/api/v1/documents/{doc_id}/changes" => {
                req.path = template.replace("{doc_id}", &t.doc(case));
                req.shows = shows(if template.ends_with("changes") {
                    format!("phone-{}", t.user)
                } else {
                    private_text(t.user)
                });
            }
            "/api/v1/items" | "/web/items" if method == "GET" => {
                req.shows = shows(item_title(t.user));
                req.readers_of = unit_of(who.user);
            }
            "/web/items/new" => req.shows = shows("交办督办事项"),
            "/web/calendar" => req.shows = shows("工作日历"),
            "/api/v1/items" | "/web/items" => {
                // Issued to the case's person: only someone in scope.
                let title = format!("授权矩阵 {}", who.role.key());
                if template.starts_with("/web") {
                    req.form = Some(vec![
                        ("list", "problem".to_owned()),
                        ("source", "self_check".to_owned()),
                        ("title", title),
                        ("content", "授权矩阵".to_owned()),
                        ("workdays", "5".to_owned()),
                        ("responsible", person.to_owned()),
                    ]);
                } else {
                    req.json = Some(json!({
                        "list": "problem", "source": "self_check", "title": title,
                        "content": "授权矩阵", "due_workdays": 5, "responsible": person,
                    }));
                }
            }
            "/web/units/{unit}/items/{month}"
            | "/web/units/{unit}/items/{month}/export.xlsx"
            | "/web/units/{unit}/cases/{month}"
            | "/web/units/{unit}/cases/{month}/export.xlsx" => {
                let month = sync_core::china::today().format("%Y-%m").to_string();
                req.path = template.replace("{unit}", unit).replace("{month}", &month);
                req.shows = shows(if template.ends_with("xlsx") {
                    "PK"
                } else if template.contains("/cases/") {
                    "群众反映办理统计"
                } else {
                    "督办事项台账"
                });
                req.readers_of = unit_of(who.user);
            }
            "/api/v1/items/{item_id}"
            | "/api/v1/items/{item_id}/steps"
            | "/web/items/{item}"
            | "/web/items/{item}/steps" => {
                let item = match case {
                    Case::Guessed => NO_ITEM.to_owned(),
                    _ => self
                        .items
                        .iter()
                        .find(|i| i.0 == person)
                        .map(|i| i.1.clone())
                        .unwrap_or_else(|| panic!("no item of {person}")),
                };
                req.path = template
                    .replace("{item_id}", &item)
                    .replace("{item}", &item);
                req.readers_of = unit_of(who.user);
                let text = format!("授权矩阵 {}", who.role.key());
                if method == "POST" && template.starts_with("/web") {
                    req.form = Some(vec![("action", "progress".to_owned()), ("text", text)]);
                } else if method == "POST" {
                    req.json = Some(json!({"action": "progress", "text": text}));
                }
                req.shows = shows(if method == "POST" && template.starts_with("/web") {
                    "done=progress".to_owned()
                } else {
                    item_title(person)
                });
            }
            "/api/v1/users/{user_id}/days" => {
                req.path = format!("/api/v1/users/{person}/days?{RANGE}");
                req.shows = shows(private_text(person));
            }
            "/api/v1/units/{unit_id}/filing" => {
                req.path = format!("/api/v1/units/{unit}/filing?{RANGE}");
                req.shows = shows(format!("\"{}\"", t.user));
            }
            "/api/v1/units/{unit_id}/reviews/{month}" | "/web/units/{unit}/reviews/{month}" => {
                req.path = template
                    .replace("{unit_id}", unit)
                    .replace("{unit}", unit)
                    .replace("{month}", PAST);
                req.shows = shows(name(t.user));
                req.results_of = Some(unit);
            }
            "/api/v1/units/{unit_id}/reviews/{month}/export.xlsx"
            | "/web/units/{unit}/reviews/{month}/export.xlsx" => {
                req.path = template
                    .replace("{unit_id}", unit)
                    .replace("{unit}", unit)
                    .replace("{month}", PAST);
                req.shows = shows("PK");
            }
            "/api/v1/reviews/{month}/{user_id}/statement"
            | "/web/reviews/{month}/{user}/statement" => {
                let person = t.person(case);
                let prefix = &template[..template.find("/{month}").unwrap()];
                req.path = format!("{prefix}/{PAST}/{person}/statement");
                let text = format!("授权矩阵表态 {}", who.role.key());
                if method == "PUT" {
                    req.json = Some(json!({ "text": text }));
                } else {
                    req.form = Some(vec![("text", text), ("unit", t.unit.to_owned())]);
                }
            }
            "/api/v1/reviews/{month}/{user_id}" | "/web/reviews/{month}/{user}" => {
                let reviewed = t.reviewed(case).expect("a case the table marks `-`");
                req.path = format!(
                    "{}/{PAST}/{reviewed}",
                    &template[..template.find("/{month}").unwrap()]
                );
                let comment = format!("授权矩阵 {}", who.role.key());
                if method == "PUT" {
                    req.json = Some(json!({"targets": 70, "conduct": 15, "comment": comment}));
                    req.shows = shows(format!("\"reviewer_id\":\"{}\"", who.user));
                } else {
                    req.form = Some(vec![
                        ("targets", "70".to_owned()),
                        ("conduct", "15".to_owned()),
                        ("comment", comment),
                        ("unit", t.unit.to_owned()),
                    ]);
                    req.shows = shows("saved=");
                }
            }
            "/api/v1/blobs/{sha}" if method == "PATCH" => {
                // A photo of one's own sent whole; the first bytes of
                // someone else's; the start of one nobody has.
                let (hash, total, chunk) = match case {
                    Case::Mine => {
                        let n = ROLES.iter().position(|r| *r == who.role).unwrap() as u32;
                        let bytes = jpeg(160, 120, 800 + n);
                        (sha(&bytes), bytes.len(), bytes)
                    }
                    Case::Foreign => {
                        let bytes = photo(t.foreign_user, false);
                        (sha(&bytes), bytes.len(), bytes[..16].to_vec())
                    }
                    _ => (self.no_photo.clone(), 1000, vec![0; 16]),
                };
                req.path = format!("/api/v1/blobs/{hash}");
                req.headers = vec![
                    ("upload-offset", "0".to_owned()),
                    ("upload-length", total.to_string()),
                ];
                req.bytes = Some(chunk);
            }
            "/api/v1/blobs/{sha}"
            | "/api/v1/blobs/{sha}/thumbnail"
            | "/web/photos/{sha}"
            | "/web/photos/{sha}/full" => {
                req.path = template.replace("{sha}", &blob);
                let full = template.ends_with("full") || template == "/api/v1/blobs/{sha}";
                req.shows = match (method, full) {
                    ("GET", true) => Some(photo(t.user, false)),
                    ("GET", false) => Some(JPEG.to_vec()),
                    _ => None,
                };
            }
            "/api/v1/publications/{unit}/{week}"
            | "/p/{unit}/{week}"
            | "/api/v1/publications/{unit}/{week}/versions/{version}"
            | "/p/{unit}/{week}/v/{version}" => {
                req.path = template
                    .replace("{unit}", p_unit)
                    .replace("{week}", p_week)
                    .replace("{version}", "1");
                req.shows = shows(public_text(p_cadre));
                req.publication_of = Some(p_unit);
            }
            "/api/v1/publications/{unit}" | "/p/{unit}" => {
                // A unit's notice board: what it published; a village's is
                // its township's.
                let asked = if case == Case::Guessed {
                    NO_UNIT
                } else {
                    p_unit
                };
                let board = match UNITS.iter().find(|u| u.0 == asked) {
                    Some((id, _, parent)) if id.starts_with('v') => parent.unwrap_or(id),
                    _ => asked,
                };
                req.path = template.replace("{unit}", asked);
                req.shows = shows(format!("/p/{board}"));
                req.publication_of = Some(board);
            }
            "/web/units/{unit}/weeks/{week}/versions" => {
                req.path = template.replace("{unit}", unit).replace("{week}", WEEK);
                req.form = Some(vec![
                    ("action", "correct".to_owned()),
                    ("reason", "授权矩阵测试的更正".to_owned()),
                ]);
                req.shows = shows(format!("/web/units/{unit}/weeks/{WEEK}"));
            }
            "/api/v1/publications/{unit}/{week}/amendments"
            | "/web/units/{unit}/weeks/{week}"
            | "/web/units/{unit}/weeks/{week}/amendments" => {
                req.path = template.replace("{unit}", unit).replace("{week}", WEEK);
                if template == "/web/units/{unit}/weeks/{week}" {
                    req.shows = shows(if method == "GET" {
                        public_text(t.user)
                    } else {
                        format!("/web/units/{unit}/weeks/{WEEK}")
                    });
                    if method == "POST" {
                        req.form = Some(Vec::new());
                    }
                }
            }
            "/p/{unit}/{week}/photos/{sha}" => {
                let shown = match case {
                    Case::Mine => sha(&photo("u1", true)),
                    // Shown by t2's publication, not by t1's.
                    Case::Foreign => sha(&photo("u2", true)),
                    // t1's cadre's photo of a day the publication does not cover.
                    Case::Absent => private_photo("u1"),
                    _ => self.no_photo.clone(),
                };
                req.path = format!("/p/t1/{WEEK}/photos/{shown}");
                req.publication_of = Some("t1");
            }
            "/c/{card}" | "/api/v1/cards/{card}" | "/c/{card}/photo" => {
                let (card, board) = match case {
                    Case::Mine => (self.cards[0].as_str(), "t1"),
                    Case::Foreign => (self.cards[1].as_str(), "t3"),
                    _ => ("00000000deadbeef", "t1"),
                };
                req.path = template.replace("{card}", card);
                if template != "/c/{card}/photo" {
                    req.shows = shows(name(if case == Case::Foreign { "u3" } else { "u1" }));
                }
                req.publication_of = Some(board);
            }
            "/p/{unit}/cards" | "/p/{unit}/cards/print" => {
                let unit = match case {
                    Case::Mine => "t1",
                    Case::Foreign => "t3",
                    _ => NO_UNIT,
                };
                req.path = template.replace("{unit}", unit);
                req.shows = shows(name(if case == Case::Foreign { "u3" } else { "u1" }));
                req.publication_of = Some(unit);
            }
            "/api/v1/public/cases/challenge" => req.shows = shows("challenge"),
            "/api/v1/public/cases" | "/f" => {
                let (card, board) = match case {
                    Case::Mine => (self.cards[0].as_str(), "t1"),
                    Case::Foreign => (self.cards[1].as_str(), "t3"),
                    _ => ("00000000deadbeef", "t1"),
                };
                req.publication_of = Some(board);
                if method == "GET" {
                    req.path = format!("/f?card={card}");
                    req.shows = shows(name(if case == Case::Foreign { "u3" } else { "u1" }));
                } else {
                    let r: Value = self
                        .http
                        .get(self.app.url("/api/v1/public/cases/challenge"))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let challenge = r["challenge"].as_str().unwrap().to_owned();
                    let answer = backend::cases::pow::solve(&challenge).unwrap();
                    let fields = [
                        ("kind", "request".to_owned()),
                        ("card", card.to_owned()),
                        ("content", format!("授权矩阵 {}", who.role.key())),
                        ("phone", "13700000000".to_owned()),
                        ("challenge", challenge),
                        ("answer", answer),
                    ];
                    if template == "/f" {
                        req.form = Some(fields.to_vec());
                        req.shows = shows("case-code");
                    } else {
                        req.json = Some(Value::Object(
                            fields
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), Value::String(v)))
                                .collect(),
                        ));
                        req.shows = shows("\"code\"");
                    }
                }
            }
            "/api/v1/public/cases/lookup" | "/q" => {
                if method == "POST" {
                    let code = match case {
                        Case::Mine => self.case_code.clone(),
                        _ => "0000-0000-0000".to_owned(),
                    };
                    if template == "/q" {
                        req.form = Some(vec![("code", code)]);
                    } else {
                        req.json = Some(json!({ "code": code }));
                    }
                    req.shows = shows("授权矩阵群众反映");
                    req.publication_of = Some("t1");
                }
            }
            "/api/v1/cases" => {
                let unit = match case {
                    Case::Mine => "v1",
                    Case::Foreign => "t3",
                    _ => NO_UNIT,
                };
                req.json = Some(json!({
                    "kind": "request", "unit": unit, "content": "授权矩阵热线来电",
                    "name": "来电人", "phone": "13600000000",
                }));
                req.shows = shows("\"code\"");
            }
            "/api/v1/cases/{item_id}/filer" => {
                let item = match case {
                    Case::Mine => self.cases[0].as_str(),
                    Case::Foreign => self.cases[1].as_str(),
                    _ => NO_ITEM,
                };
                req.path = template.replace("{item_id}", item);
                req.shows = shows("13900000000");
            }
            "/api/v1/me/card" => {
                if method == "PUT" {
                    req.json = Some(json!({ "phone": "0736-7654321" }));
                    req.shows = shows("0736-7654321");
                } else {
                    req.shows = shows("card_id");
                }
            }
            "/healthz" => req.shows = shows("ok"),
            "/metrics" => {}
            "/api/openapi.json" => req.shows = shows("openapi"),
            "/web/" | "/web/units/{unit}" => {
                req.path = template.replace("{unit}", unit);
                req.shows = shows(unit_name(t.unit));
            }
            "/web" | "/web/login" => {}
            // The stream's status is the cell (its events: tests/it/events.rs).
            "/api/v1/events" | "/web/events" => {}
            "/web/logout" => {
                req.form = Some(Vec::new());
                if matches!(who.role, Role::Leader | Role::Supervisor | Role::Admin) {
                    req.cookie = Some(self.web_login(who.user).await);
                }
            }
            "/web/users/{user}" => {
                req.path = format!("/web/users/{person}?{RANGE}");
                req.shows = shows(private_text(person));
            }
            "/web/admin/import" => req.shows = shows("下载名册模板"),
            "/web/admin/import/template.xlsx" => req.shows = shows("PK"),
            "/web/admin/import/preview" | "/web/admin/import/apply" => {
                let (unit, bytes) = import_file(who.role, case);
                if template.ends_with("preview") {
                    let (content_type, body) = multipart("roster", "名册.xlsx", &bytes);
                    req.headers = vec![("content-type", content_type)];
                    req.bytes = Some(body);
                    req.shows = shows(format!("<td>{unit}</td>"));
                } else {
                    // The confirmation of the admin's preview.
                    let file = backend::roster::read(&bytes).unwrap();
                    let store = &self.app.state.store;
                    let digest = backend::roster::plan_against(store, &file, Some("c1"))
                        .await
                        .map(|p| p.digest())
                        .unwrap_or_default();
                    req.form = Some(vec![
                        ("roster", serde_json::to_string(&file).unwrap()),
                        ("digest", digest),
                    ]);
                    req.shows = shows("名册导入完成");
                }
            }
            "/api/v1/units/{unit_id}/post-lists" | "/web/units/{unit}/posts" => {
                req.path = template.replace("{unit_id}", unit).replace("{unit}", unit);
                req.shows = shows(list_title(unit));
            }
            "/web/units/{unit}/posts/history" | "/web/units/{unit}/posts/edit" => {
                req.path = format!("{}?{LIST_QUERY}", template.replace("{unit}", unit));
                req.shows = shows(list_title(unit));
            }
            "/web/{*rest}" => req.path = "/web/no/such/page".to_owned(),
            other => panic!("the matrix has {route} but no request for it ({other})"),
        }
        req
    }
}

fn shows(s: impl Into<Vec<u8>>) -> Option<Vec<u8>> {
    Some(s.into())
}

/// The first bytes of a JPEG.
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF];

#[derive(Debug)]
struct Req {
    method: Method,
    path: String,
    json: Option<Value>,
    form: Option<Vec<(&'static str, String)>>,
    bytes: Option<Vec<u8>>,
    headers: Vec<(&'static str, String)>,
    /// A session other than the role's (logging out one of its own).
    cookie: Option<String>,
    /// What a granted answer must show (else it proves nothing).
    shows: Option<Vec<u8>>,
    /// The login a form echoes back, blanked before answers are compared.
    echo: Option<String>,
    /// A publication: what it may show is what its unit published.
    publication_of: Option<&'static str>,
    /// A unit's monthly results: they name its people and units.
    results_of: Option<&'static str>,
    /// The people list of a caller of this unit: it names those above.
    readers_of: Option<&'static str>,
}

impl Req {
    fn new(method: Method, path: String) -> Req {
        Req {
            method,
            path,
            json: None,
            form: None,
            bytes: None,
            headers: Vec::new(),
            cookie: None,
            shows: None,
            echo: None,
            publication_of: None,
            results_of: None,
            readers_of: None,
        }
    }
}

#[derive(Debug, Default)]
struct Outcome {
    status: u16,
    location: String,
    body: Vec<u8>,
    /// Sync: the refusal of the cell's document (none: accepted).
    refusal: Option<(String, String)>,
    /// What the cell itself saw go wrong.
    leak: Option<String>,
    shows: Option<Vec<u8>>,
    echo: Option<String>,
    publication_of: Option<&'static str>,
    results_of: Option<&'static str>,
    readers_of: Option<&'static str>,
}

/// An entry of `owner`'s diary with this text.
fn entry(owner: &str, text: &str) -> Edit {
    let (_, _, mut edits) = entry_with_photo(owner, &sha(b""));
    let mut e = edits.remove(0);
    if let Edit::AddEntry { fields, .. } = &mut e {
        fields.text = text.to_owned();
    }
    e
}

impl World {
    /// A sync cell: a client of the role changes a document as the case
    /// says and syncs; how the server answered for that document, and
    /// what it stored of it.
    async fn sync_cell(&self, who: &Who, case: Case) -> Outcome {
        let t = &who.t;
        let target = t.doc(case);
        let id = DocId::parse(&target).unwrap();
        let text = format!("授权矩阵同步 {} {case:?}", who.role.key());
        let role = who.role.doc_role();
        let mut client = MemoryReplica::new(Actor::random());
        if !who.role.signed_in() {
            // A real batch, with whatever credentials the role holds.
            let mut doc = Document::create(id, &client.actor());
            raw_comment(&mut doc, t.user, "cadre", &text);
            client.insert_raw(doc);
            let batch = ClientSession::new(&mut client)
                .unwrap()
                .next_request(&mut client)
                .unwrap()
                .unwrap();
            let mut r = self
                .http
                .post(self.app.url("/api/v1/sync"))
                .header("content-type", "application/vnd.jishi.sync-batch")
                .body(batch.encode());
            if let Some(s) = &who.session {
                r = r.bearer_auth(&s.access);
            }
            let resp = r.send().await.unwrap();
            return Outcome {
                status: resp.status().as_u16(),
                body: resp.bytes().await.unwrap().to_vec(),
                ..Outcome::default()
            };
        }
        // Its own device; a forger's writes with an actor it never registered.
        let device = format!("authz-sync-{}-{case:?}", who.role.key()).to_lowercase();
        let actors = match case {
            Case::Forged => Vec::new(),
            _ => vec![client.actor().to_hex()],
        };
        let s = self.app.login(who.user, &device, &actors).await;
        let mut o = Outcome {
            status: 200,
            ..Outcome::default()
        };
        match case {
            Case::Foreign
            | Case::Absent
            | Case::Guessed
            | Case::Parent
            | Case::Grandparent
            | Case::Sibling => {
                // Never sent to this client: it starts from the genesis.
                let mut doc = Document::create(id.clone(), &client.actor());
                raw_comment(&mut doc, who.user, role.as_str(), &text);
                client.insert_raw(doc);
            }
            _ => {
                let (_, problems) = self.app.sync(&mut client, &s.access).await;
                assert!(
                    problems.is_empty(),
                    "{who:?} pull: {problems:?}",
                    who = who.role
                );
                if case == Case::Pull {
                    let ids = client.doc_ids();
                    let mut outside: Vec<String> = Vec::new();
                    for d in &ids {
                        let seen = match d.owner() {
                            Some(owner) => who.role.scope().sees_user(owner.as_str()),
                            // An item: to those named on it, and to whoever
                            // sees its responsible person.
                            None => match self.stored(&d.to_string()).await {
                                Some(Record::Item(item)) => item.brief.is_some_and(|b| {
                                    who.role.scope().sees_user(&b.responsible)
                                        || b.issuer == who.user
                                        || b.collaborators.iter().any(|c| c == who.user)
                                }),
                                _ => false,
                            },
                        };
                        if !seen {
                            outside.push(d.to_string());
                        }
                    }
                    if !outside.is_empty() {
                        o.leak = Some(format!("sent documents outside the scope: {outside:?}"));
                    }
                    o.body = ids
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                        .into_bytes();
                    o.shows = shows(target);
                    return o;
                }
                if case == Case::AsOther {
                    let mut doc = client.document(&id).unwrap().expect("pulled");
                    raw_comment(&mut doc, t.other.0, t.other.1, &text);
                    client.insert_raw(doc);
                } else if who.role == Role::Cadre {
                    client
                        .edit(&id, &entry(who.user, &text), &ctx(who.user, role))
                        .unwrap();
                } else {
                    let comment = Edit::AddComment {
                        id: ItemId::random(),
                        on: None,
                        text: text.clone(),
                    };
                    client.edit(&id, &comment, &ctx(who.user, role)).unwrap();
                }
            }
        }
        let (_, problems) = self.app.sync(&mut client, &s.access).await;
        o.refusal = problems
            .iter()
            .find(|p| p.doc == id)
            .map(|p| (p.code.clone(), p.message.clone()));
        let stored = match self.stored(&target).await {
            Some(r) => serde_json::to_string(&r).unwrap(),
            None => String::new(),
        };
        match (&o.refusal, stored.contains(&text)) {
            (Some(_), true) => o.leak = Some("the refused change is stored".to_owned()),
            (Some(_), false) => {}
            (None, _) => {
                o.body = stored.into_bytes();
                o.shows = shows(text);
            }
        }
        o
    }

    /// A web comment cell: the comment must be stored as the caller's,
    /// whatever the form claims, or not at all.
    async fn comment_cell(&self, who: &Who, route: &str, case: Case) -> Outcome {
        let doc = who.t.doc(case);
        let text = format!("授权矩阵评论 {} {case:?}", who.role.key());
        let mut req = Req::new(Method::POST, format!("/web/documents/{doc}/comments"));
        let mut form = vec![("text", text.clone())];
        if case == Case::AsOther {
            form.push(("author", who.t.other.0.to_owned()));
            form.push(("role", who.t.other.1.to_owned()));
        }
        req.form = Some(form);
        let mut o = self.send(who, route, req).await;
        let stored: Vec<(String, String)> = match self.stored(&doc).await {
            Some(r) => r
                .comments()
                .iter()
                .filter(|c| c.text == text)
                .map(|c| (c.author.clone(), c.role.clone()))
                .collect(),
            None => Vec::new(),
        };
        let as_caller = vec![(who.user.to_owned(), who.role.doc_role().as_str().to_owned())];
        if o.status == 303 && !to_login(&o) {
            if stored != as_caller {
                o.leak = Some(format!("the comment is stored as {stored:?}"));
            }
        } else if !stored.is_empty() {
            o.leak = Some(format!("a refused comment is stored: {stored:?}"));
        }
        o
    }
}

/// The roster a role's import cell sends: one new village of its own
/// (`imp-{role}-{case}`), under t2 (the admin's county) or, `foreign`,
/// under t3 (another county).
fn import_file(role: Role, case: Case) -> (String, Vec<u8>) {
    let unit = format!("imp-{}-{case:?}", role.key()).to_lowercase();
    let name = format!("导入{}", role.key());
    let parent = if case == Case::Foreign { "t3" } else { "t2" };
    let bytes = jishi_tests::roster::roster(&[[&unit, &name, "村", parent]], &[]);
    (unit, bytes)
}

impl World {
    /// An import cell: the unit is stored exactly when an admin's
    /// confirmed import was answered 200.
    async fn import_cell(&self, who: &Who, route: &str, case: Case) -> Outcome {
        let req = self.request(who, route, case).await;
        let mut o = self.send(who, route, req).await;
        let (unit, _) = import_file(who.role, case);
        let stored = self.app.state.store.unit(&unit).await.unwrap().is_some();
        let applied = route.ends_with("apply") && o.status == 200;
        if stored && !applied {
            o.leak = Some(format!("a refused import stored unit {unit}"));
        } else if applied && !stored {
            o.leak = Some(format!("the import answered 200 without storing {unit}"));
        }
        o
    }
}

impl World {
    /// A save of a unit's 权力清单 on the edit form (from its current
    /// version): stored exactly when it was answered 303 to the unit's
    /// posts.
    async fn post_list_cell(&self, who: &Who, route: &str, case: Case) -> Outcome {
        let unit = who.t.unit(case);
        let store = &self.app.state.store;
        let post = PostName::parse(LIST_POST).unwrap();
        let versions = || post_lists::history(store, unit, &post, ListKind::Power);
        let current = versions().await.unwrap().first().map_or(0, |l| l.version);
        let note = format!("授权矩阵 {} {case:?}", who.role.key());
        let mut req = Req::new(Method::POST, format!("/web/units/{unit}/posts"));
        req.form = Some(vec![
            ("post", LIST_POST.to_owned()),
            ("kind", "power".to_owned()),
            ("entries", format!("{}\n{note}", list_title(unit))),
            ("note", note.clone()),
            ("based_on", current.to_string()),
        ]);
        req.shows = shows(format!("/web/units/{unit}/posts?saved={}", current + 1));
        let mut o = self.send(who, route, req).await;
        let stored = versions().await.unwrap().iter().any(|l| l.note == note);
        let saved = o.status == 303 && !to_login(&o);
        if stored && !saved {
            o.leak = Some(format!("a refused save stored a list of {unit}"));
        } else if saved && !stored {
            o.leak = Some(format!(
                "the save answered 303 without storing a list of {unit}"
            ));
        }
        o
    }
}

impl World {
    /// A change of the calendar: a day of its own per role, looked for in
    /// the calendar afterwards.
    async fn calendar_cell(&self, who: &Who, route: &str) -> Outcome {
        let store = &self.app.state.store;
        let name = format!("授权矩阵{}", who.role.key());
        let mut req = Req::new(Method::POST, "/web/calendar".to_owned());
        req.form = Some(vec![
            ("from", "2031-05-06".to_owned()),
            ("kind", "holiday".to_owned()),
            ("name", name.clone()),
        ]);
        req.shows = shows("/web/calendar?year=2031");
        let mut o = self.send(who, route, req).await;
        let stored = store
            .calendar_changes("c1", 1000)
            .await
            .unwrap()
            .iter()
            .any(|c| c.name == name);
        let saved = o.status == 303 && !to_login(&o);
        if stored && !saved {
            o.leak = Some("a refused change stored a calendar day".into());
        } else if saved && !stored {
            o.leak = Some("the change answered 303 without storing the day".into());
        }
        o
    }
}

// ---- judging ---------------------------------------------------------------

#[derive(Default)]
struct Tally {
    cells: usize,
    probes: usize,
    /// Access given, data shown, existence told, or a forged write stored.
    leaks: Vec<String>,
    /// Any other answer than the table's.
    wrong: Vec<String>,
}

fn to_login(o: &Outcome) -> bool {
    o.status == 303 && o.location.starts_with("/web/login?")
}

/// The caller got what it asked for.
fn granted(o: &Outcome) -> bool {
    o.refusal.is_none() && ((200..300).contains(&o.status) || (o.status == 303 && !to_login(o)))
}

fn refusal(answer: &str) -> bool {
    !matches!(answer, "200" | "201" | "204" | "303" | "ok")
}

fn meets(answer: &str, o: &Outcome) -> bool {
    let refused_as =
        |code: &str| o.status == 200 && o.refusal.as_ref().is_some_and(|r| r.0 == code);
    match answer {
        "ok" => o.status == 200 && o.refusal.is_none(),
        "nf" => refused_as("not_found"),
        "fc" => refused_as("forbidden_change"),
        "login" => to_login(o),
        "303" => o.status == 303 && !to_login(o),
        n => o.status.to_string() == n,
    }
}

/// The answer as its caller sees it (a login the form echoes blanked).
fn seen(o: &Outcome) -> (u16, String, Option<(String, String)>) {
    let mut body = String::from_utf8_lossy(&o.body).into_owned();
    if let Some(login) = &o.echo {
        body = body.replace(login.as_str(), "{login}");
    }
    (o.status, body, o.refusal.clone())
}

/// Status and the start of the body, for a message.
fn brief(o: &Outcome) -> String {
    let body = String::from_utf8_lossy(&o.body);
    let start: String = body.chars().take(160).collect();
    format!("{} {start:?}", o.status)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

impl Tally {
    fn judge(&mut self, cell: &str, role: Role, answer: &str, o: &Outcome) {
        let got = format!(
            "{} {}{}",
            o.status,
            o.location,
            o.refusal
                .as_ref()
                .map(|r| format!(" {} {}", r.0, r.1))
                .unwrap_or_default()
        );
        if !meets(answer, o) {
            if refusal(answer) && granted(o) {
                self.leaks
                    .push(format!("{cell}: let in, expected {answer}, got {got}"));
            } else {
                self.wrong.push(format!(
                    "{cell}: expected {answer}, got {got}; {}",
                    brief(o)
                ));
            }
        } else if let (false, Some(needle)) = (refusal(answer), &o.shows) {
            let all = [o.body.as_slice(), o.location.as_bytes()].concat();
            if !contains(&all, needle) {
                self.wrong.push(format!(
                    "{cell}: granted but without {:?}",
                    String::from_utf8_lossy(needle)
                ));
            }
        }
        let (scope, public_only) = match o.publication_of {
            Some(unit) => (Scope::Under(unit), true),
            None => (role.scope(), false),
        };
        let all = [o.body.as_slice(), o.location.as_bytes()].concat();
        for marker in unseen(scope, public_only, o.results_of, o.readers_of) {
            if contains(&all, marker.as_bytes()) {
                self.leaks.push(format!("{cell}: shows {marker:?}"));
            }
        }
        if let Some(leak) = &o.leak {
            self.leaks.push(format!("{cell}: {leak}"));
        }
    }
}

/// `(case, answers by role)` of a row.
fn lines(row: &Row) -> Vec<(Case, Vec<&'static str>)> {
    row.table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(words.len(), 1 + ROLES.len(), "{}: {l:?}", row.route);
            (Case::parse(words[0]), words[1..].to_vec())
        })
        .collect()
}

/// `METHOD /path` of every `.route(…)` in the router's source.
fn router_routes() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for source in [
        include_str!("../../../backend/src/app.rs"),
        include_str!("../../../backend/src/web/mod.rs"),
    ] {
        for (at, _) in source.match_indices(".route(") {
            let call = &source[at + ".route(".len()..];
            let mut depth = 1;
            let end = call
                .char_indices()
                .find_map(|(i, ch)| {
                    match ch {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(i)
                })
                .expect("a closed .route( call");
            let call = &call[..end];
            let path = call.split('"').nth(1).expect("a route path");
            for method in ["get", "head", "post", "put", "patch", "delete"] {
                let called = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    call[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !c.is_alphanumeric() && c != '_')
                });
                if called {
                    out.insert(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
    }
    out
}

/// `METHOD /path` of every operation in the OpenAPI document.
fn documented_routes(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            out.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    out
}

/// A caller iterating ids: `diary|night|plan:{person}:{period}` of every
/// person outside its scope, and of people who do not exist, and their
/// timelines on the web. Each answer must be byte for byte that of an id
/// nobody has: existence does not leak.
async fn enumerate(w: &World, tally: &mut Tally) {
    let people: Vec<&str> = PEOPLE.iter().map(|p| p.0).chain([NOBODY, "x-0"]).collect();
    for role in [Role::Cadre, Role::Leader, Role::Supervisor, Role::Admin] {
        let who = w.who(role);
        let token = &who.session.as_ref().unwrap().access;
        for suffix in ["", "/changes"] {
            let nobody = format!("/api/v1/documents/diary:nobody-at-all:{EMPTY_DAY}{suffix}");
            let baseline = w.app.get(&nobody, token).await;
            assert_eq!(baseline.0, 404, "{baseline:?}");
            for person in people.iter().filter(|p| !role.scope().sees_user(p)) {
                for id in [
                    doc_id(person, PUBLIC_DAY),
                    doc_id(person, PRIVATE_DAY),
                    doc_id(person, EMPTY_DAY),
                    format!("night:{person}:{PUBLIC_DAY}"),
                    format!("plan:{person}:2026-11"),
                ] {
                    let path = format!("/api/v1/documents/{id}{suffix}");
                    let got = w.app.get(&path, token).await;
                    tally.probes += 1;
                    if got != baseline {
                        tally.leaks.push(format!(
                            "{role:?} GET {path}: {got:?}, nobody's: {baseline:?}"
                        ));
                    }
                }
            }
        }
        if role == Role::Cadre {
            continue;
        }
        let page = |user: &str| {
            let r = w
                .http
                .get(w.app.url(&format!("/web/users/{user}?{RANGE}")))
                .header("cookie", who.cookie.as_deref().unwrap());
            async move {
                let r = r.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let baseline = page("nobody-at-all").await;
        assert_eq!(baseline.0, 404);
        for person in people.iter().filter(|p| !role.scope().sees_user(p)) {
            tally.probes += 1;
            if page(person).await != baseline {
                tally
                    .leaks
                    .push(format!("{role:?} /web/users/{person} is not like nobody's"));
            }
        }
    }
}

async fn matrix(db: Db) {
    let started = std::time::Instant::now();
    let listed: BTreeSet<String> = MATRIX.iter().map(|r| r.route.to_owned()).collect();
    assert_eq!(listed.len(), MATRIX.len(), "a route is in the matrix twice");
    let routed = router_routes();
    let missing: Vec<&String> = routed.difference(&listed).collect();
    let stale: Vec<&String> = listed
        .difference(&routed)
        .filter(|r| !IMPLICIT_HEAD.contains(&r.as_str()))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes missing from the matrix: {missing:?}; rows of no route: {stale:?}"
    );

    let w = World::build(db).await;
    let (_, doc) = w.app.get("/api/openapi.json", "").await;
    let undocumented: Vec<String> = documented_routes(&doc)
        .difference(&listed)
        .cloned()
        .collect();
    assert!(
        undocumented.is_empty(),
        "OpenAPI routes missing from the matrix: {undocumented:?}"
    );

    let mut tally = Tally::default();
    let mut most_cases = 0;
    for row in MATRIX {
        let lines = lines(row);
        most_cases = most_cases.max(lines.len());
        for (i, who) in w.people.iter().enumerate() {
            let mut answers: Vec<(Case, &str, Outcome)> = Vec::new();
            for (case, answer) in lines.iter().map(|(c, a)| (*c, a[i])) {
                if answer == "-" {
                    continue;
                }
                let o = w.run(who, row.route, case).await;
                tally.cells += 1;
                let cell = format!("{} × {:?} × {case:?}", row.route, who.role);
                tally.judge(&cell, who.role, answer, &o);
                answers.push((case, answer, o));
            }
            // What exists outside the scope answers like what does not.
            let Some((_, guessed_answer, guessed)) = answers.iter().find(|a| a.0 == Case::Guessed)
            else {
                continue;
            };
            for (case, answer, o) in &answers {
                let hidden = matches!(*answer, "401" | "403" | "404" | "nf");
                if *case != Case::Guessed
                    && hidden
                    && answer == guessed_answer
                    && seen(o) != seen(guessed)
                {
                    tally.leaks.push(format!(
                        "{} × {:?} × {case:?}: told apart from what does not exist: {} / {}",
                        row.route,
                        who.role,
                        brief(o),
                        brief(guessed)
                    ));
                }
            }
        }
    }
    enumerate(&w, &mut tally).await;
    eprintln!(
        "authz matrix on {db:?}: {} routes × {} roles × 1–{most_cases} cases = {} cells \
         (+{} enumeration probes), leaks: {}, wrong: {} ({:.1} s)",
        MATRIX.len(),
        ROLES.len(),
        tally.cells,
        tally.probes,
        tally.leaks.len(),
        tally.wrong.len(),
        started.elapsed().as_secs_f64()
    );
    for l in &tally.leaks {
        eprintln!("LEAK {l}");
    }
    for l in &tally.wrong {
        eprintln!("WRONG {l}");
    }
    assert!(tally.leaks.is_empty(), "{} leaks", tally.leaks.len());
    assert!(
        tally.wrong.is_empty(),
        "{} wrong answers",
        tally.wrong.len()
    );
}
on_both_databases!(every_route_for_every_role_in_and_out_of_scope, matrix);
