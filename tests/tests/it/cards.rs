//! Issue 27, point 1: 亮身份 on the real server. A cadre's phone sets
//! where they are on the day's diary, offline, and syncs; the public card
//! shows it with its age, the village by name and nothing more precise;
//! it shows the post's 责任清单 (else the account's duties), the work phone
//! the cadre chose, the unit's and the county's supervision phones, and
//! the photo the cadre uploaded. It never shows the login, the account's
//! phone or any record. An older status synced late does not replace a
//! newer one. Only cadres and leaders have a card; a disabled person's
//! card is gone. A unit page lists its people's cards.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sync_core::document::StatusKind;
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::{Actor, DocId, Edit, EditContext, Role, UserId};

use backend::post_lists::{self, Entry, ListKind, PostName, SaveRequest, Saver};
use jishi_tests::photo::{jpeg, sha};
use jishi_tests::{on_both_databases, Db, TestApp};

const HOUR: i64 = 3_600_000;

fn status_edit(kind: StatusKind, village: Option<&str>) -> Edit {
    Edit::SetStatus {
        kind,
        village: village.map(str::to_owned),
    }
}

async fn get_text(app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn put_card(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let r = app
        .http
        .put(app.url("/api/v1/me/card"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn cards_in_public(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let store = &app.state.store;
    app.execute_sql(
        "UPDATE users SET phone = '13912345678', post = '驻村干部', duties = '联系三组\n走访脱贫户' WHERE id = 'u1'",
    )
    .await;
    backend::admin::set_notice_settings(
        store,
        "t1",
        backend::admin::NoticeUpdate {
            supervision_office: Some("镇纪委".into()),
            supervision_phone: Some("0736-5550001".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    backend::admin::set_notice_settings(
        store,
        "c1",
        backend::admin::NoticeUpdate {
            supervision_office: Some("县纪委监委".into()),
            supervision_phone: Some("0736-12388".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // The card exists before anything is set: no status, the duties.
    let mut phone = MemoryReplica::new(Actor::random());
    let u1 = app.login("u1", "phone-u1", &[phone.actor().to_hex()]).await;
    let (status, mine) = app.get("/api/v1/me/card", &u1.access).await;
    assert_eq!(status, 200, "{mine}");
    let card = mine["card_id"].as_str().unwrap().to_owned();
    assert_eq!(card.len(), 16);
    assert!(mine["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/c/{card}")));
    let (status, page) = get_text(&app, &format!("/c/{card}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("去向未更新") && page.contains("走访脱贫户"),
        "{page}"
    );
    assert!(
        page.contains("0736-5550001") && page.contains("0736-12388") && page.contains("县纪委监委"),
        "both supervision phones: {page}"
    );

    // Set offline three hours ago: 下村 to 青山村, synced.
    let now = backend::storage::now_ms();
    let today = backend::policy::local_today();
    let diary = DocId::diary(&UserId::parse("u1").unwrap(), today);
    let ctx = |at: i64| EditContext {
        user: UserId::parse("u1").unwrap(),
        role: Role::Cadre,
        now_ms: at,
    };
    phone
        .edit(
            &diary,
            &status_edit(StatusKind::InVillage, Some("v1")),
            &ctx(now - 3 * HOUR),
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &u1.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (_, page) = get_text(&app, &format!("/c/{card}")).await;
    assert!(
        page.contains("下村：青山村") && page.contains("3小时前更新"),
        "{page}"
    );
    let (_, json) = app.get(&format!("/api/v1/cards/{card}"), "").await;
    assert_eq!(json["status"]["kind"], "in_village", "{json}");
    assert_eq!(json["status"]["village"], "青山村");

    // A second phone's older status, synced later, does not replace it; a
    // newer one does. A village that is not one shows no place.
    let mut old_phone = MemoryReplica::new(Actor::random());
    let u1b = app
        .login("u1", "phone-u1-b", &[old_phone.actor().to_hex()])
        .await;
    old_phone
        .edit(
            &diary,
            &status_edit(StatusKind::Meeting, None),
            &ctx(now - 5 * HOUR),
        )
        .unwrap();
    let (_, problems) = app.sync(&mut old_phone, &u1b.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (_, page) = get_text(&app, &format!("/c/{card}")).await;
    assert!(
        page.contains("下村：青山村"),
        "the newer status stays: {page}"
    );
    phone
        .edit(
            &diary,
            &status_edit(StatusKind::InVillage, Some("t1")),
            &ctx(now - 60_000),
        )
        .unwrap();
    app.sync(&mut phone, &u1.access).await;
    let (_, page) = get_text(&app, &format!("/c/{card}")).await;
    assert!(
        page.contains("下村") && !page.contains("下村：") && page.contains("1分钟前更新"),
        "{page}"
    );
    // A phone whose clock runs a day ahead: the age never goes negative.
    phone
        .edit(
            &diary,
            &status_edit(StatusKind::OnDuty, None),
            &ctx(now + 24 * HOUR),
        )
        .unwrap();
    app.sync(&mut phone, &u1.access).await;
    let (_, page) = get_text(&app, &format!("/c/{card}")).await;
    assert!(page.contains("在岗") && page.contains("刚刚更新"), "{page}");
    // The other phone, with a true clock, says where u1 is now, on
    // yesterday's diary; the first phone then edits today's again: its
    // status keeps the time it first arrived and does not come back.
    let yesterday = DocId::diary(&UserId::parse("u1").unwrap(), today.pred_opt().unwrap());
    old_phone
        .edit(
            &yesterday,
            &status_edit(StatusKind::Training, None),
            &ctx(backend::storage::now_ms()),
        )
        .unwrap();
    app.sync(&mut old_phone, &u1b.access).await;
    assert!(get_text(&app, &format!("/c/{card}"))
        .await
        .1
        .contains("培训"));
    phone
        .edit(
            &diary,
            &Edit::SetText {
                target: sync_core::document::TextTarget::Summary,
                text: "今日在村部值班。".into(),
            },
            &ctx(now + 24 * HOUR),
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &u1.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (_, page) = get_text(&app, &format!("/c/{card}")).await;
    assert!(page.contains("培训"), "the newer status stays: {page}");

    // A status on a Saturday is not a day missed on the timeline; on a
    // working day with no entry, it is.
    for day in ["2026-11-21", "2026-11-20"] {
        let d = DocId::diary(
            &UserId::parse("u1").unwrap(),
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap(),
        );
        phone
            .edit(&d, &status_edit(StatusKind::OnDuty, None), &ctx(now))
            .unwrap();
    }
    let (_, problems) = app.sync(&mut phone, &u1.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (client, cookie) = app.web_session("l1").await;
    let timeline = client
        .get(app.url("/web/users/u1?from=2026-11-16&to=2026-11-22"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let heading = |label: &str| {
        let at = timeline
            .find(label)
            .unwrap_or_else(|| panic!("{label}: {timeline}"));
        timeline[at..].split("</h2>").next().unwrap().to_owned()
    };
    assert!(!heading("11月21日").contains("未填报"), "{timeline}");
    assert!(heading("11月20日").contains("未填报"), "{timeline}");

    // The post's 责任清单 replaces the account's duties.
    let entries = vec![Entry {
        title: "负责青山村党建工作".into(),
        basis: String::new(),
        detail: String::new(),
    }];
    post_lists::save(
        store,
        &SaveRequest {
            unit_id: "v1",
            post: &PostName::parse("驻村干部").unwrap(),
            kind: ListKind::Duty,
            entries: &entries,
            note: "",
            based_on: None,
        },
        Saver::Cli(None),
    )
    .await
    .unwrap();
    let (_, page) = get_text(&app, &format!("/c/{card}")).await;
    assert!(
        page.contains("负责青山村党建工作")
            && page.contains("责任清单第 1 版")
            && !page.contains("走访脱贫户"),
        "{page}"
    );

    // The work phone and photo the cadre publishes; bad ones refused.
    let (status, body) = put_card(&app, &u1.access, json!({ "phone": "call me" })).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("bad_phone")),
        "{body}"
    );
    let photo = jpeg(300, 400, 7);
    let hash = sha(&photo);
    let (status, body) = put_card(
        &app,
        &u1.access,
        json!({ "phone": "0736-1234567", "photo": hash }),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("bad_photo")),
        "not uploaded: {body}"
    );
    assert_eq!(app.upload(&u1.access, &photo).await.0, StatusCode::CREATED);
    let (status, body) = put_card(
        &app,
        &u1.access,
        json!({ "phone": "0736-1234567", "photo": hash }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = get_text(&app, &format!("/c/{card}")).await;
    assert!(
        page.contains("0736-1234567") && page.contains(&format!("/c/{card}/photo")),
        "{page}"
    );
    let r = app
        .http
        .get(app.url(&format!("/c/{card}/photo")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(&r.bytes().await.unwrap()[..3], &[0xFF, 0xD8, 0xFF]);
    // Someone else's upload is not theirs to show.
    let u2 = app.login("u2", "phone-u2", &[]).await;
    let (status, _) = put_card(&app, &u2.access, json!({ "photo": hash })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The photo collector keeps a card's photo, and removes one nothing
    // shows.
    let loose = jpeg(200, 200, 8);
    assert_eq!(app.upload(&u1.access, &loose).await.0, StatusCode::CREATED);
    app.execute_sql("UPDATE blobs SET created_at = 0").await;
    backend::photos::gc::collect_garbage(&app.state, 0)
        .await
        .unwrap();
    assert!(
        store.blob(&hash).await.unwrap().is_some(),
        "kept while the card shows it"
    );
    assert!(store.blob(&sha(&loose)).await.unwrap().is_none());

    // Never the login, the account's phone, or a record.
    for shown in [
        get_text(&app, &format!("/c/{card}")).await.1,
        get_text(&app, &format!("/api/v1/cards/{card}")).await.1,
        get_text(&app, "/p/t1/cards").await.1,
    ] {
        for hidden in ["13912345678", "\"u1\"", "login", "user_id"] {
            assert!(!shown.contains(hidden), "shows {hidden}: {shown}");
        }
    }

    // The unit's page lists its people's cards; the board links it.
    let (status, page) = get_text(&app, "/p/t1/cards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("/c/{card}")) && page.contains("用户l1"),
        "{page}"
    );
    assert!(get_text(&app, "/p/t1").await.1.contains("/p/t1/cards"));

    // 一牌一卡: a plate per person, then contact cards ten to a sheet,
    // each with its QR code; the plates' paper is A4 or A5.
    let people = get_text(&app, "/p/t1/cards")
        .await
        .1
        .matches("class=\"person\"")
        .count();
    assert!(people >= 2, "u1 and l1 at least");
    let (status, print) = get_text(&app, "/p/t1/cards/print").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(print.matches("<section class=\"plate\"").count(), people);
    assert_eq!(
        print.matches("<section class=\"sheet\"").count(),
        people.div_ceil(10)
    );
    assert_eq!(print.matches("class=\"card\"").count(), people);
    assert_eq!(
        print.matches("<svg").count(),
        2 * people,
        "a QR code on each plate and card"
    );
    assert!(print.contains("@page plate { size: A4"));
    let (_, a5) = get_text(&app, "/p/t1/cards/print?size=a5").await;
    assert!(a5.contains("@page plate { size: A5"));
    assert_eq!(
        get_text(&app, "/p/t1/cards/print?size=letter").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get_text(&app, "/p/t9/cards/print").await.0,
        StatusCode::NOT_FOUND
    );
    // Never a whole county in one request.
    assert_eq!(get_text(&app, "/p/c1/cards").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get_text(&app, "/p/c1/cards/print").await.0,
        StatusCode::NOT_FOUND
    );

    // Only cadres and leaders; a disabled person's card is gone.
    let s1 = app.login("s1", "web-s1", &[]).await;
    assert_eq!(app.get("/api/v1/me/card", &s1.access).await.0, 403);
    store.disable_user("u1").await.unwrap();
    assert_eq!(
        get_text(&app, &format!("/c/{card}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(!get_text(&app, "/p/t1/cards").await.1.contains(&card));
    for bad in ["0000000000000000", "xyz", "%2e%2e"] {
        assert_eq!(
            get_text(&app, &format!("/c/{bad}")).await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

on_both_databases!(cards_show_what_is_public, cards_in_public);
