//! Weekly publications over the real server: made once from the synced
//! records, public without login as a page and as JSON, showing the photos
//! (and only those), without GPS or mobile numbers, and marking days edited
//! after it was made.

use chrono::NaiveDate;
use reqwest::StatusCode;
use sync_core::document::{ActivityFields, NightKind, TextTarget};
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::validate::{Location, TimeOfDay};
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role, UserId};

use crate::photos::entry_with_photo;
use backend::calendar::Calendar;
use backend::publications::{draft, publish_week, week::IsoWeek};
use jishi_tests::photo::{jpeg, sha};
use jishi_tests::{on_both_databases, Db, TestApp};

/// A public JSON answer, with no credentials.
async fn public_json(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn weekly(db: Db) {
    // 20 November is a holiday in the county calendar: the corrections
    // (made with the server's calendar) count the days due as the first
    // version did.
    let app = TestApp::spawn(db).await;
    app.seed().await;
    app.state
        .store
        .set_calendar_days(
            "c1",
            &["2026-11-20".into()],
            "holiday",
            "假日",
            "admin",
            "cli",
        )
        .await
        .unwrap();
    let mut phone = MemoryReplica::new(Actor::random());
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let ctx = EditContext {
        user: UserId::parse("u1").unwrap(),
        role: Role::Cadre,
        now_ms: 1_763_500_000_000,
    };
    // Thursday 2026-11-19: an entry with a photo and a GPS position.
    let photo = jpeg(800, 600, 21);
    let hash = sha(&photo);
    let (diary, entry, mut edits) = entry_with_photo("u1", &hash);
    if let Edit::AddEntry { fields, .. } = &mut edits[0] {
        fields.text = "走访脱贫户，户主电话13812345678".into();
        fields.location = Some(Location {
            lat: 28.123456,
            lon: 112.654321,
            accuracy_m: 8.0,
        });
    }
    for e in &edits {
        phone.edit(&diary, e, &ctx).unwrap();
    }
    // That night: a visit and a stay in the village.
    let night = DocId::night(
        &UserId::parse("u1").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 19).unwrap(),
    );
    phone
        .edit(
            &night,
            &Edit::AddActivity {
                id: ItemId::random(),
                fields: ActivityFields {
                    kind: NightKind::Visit,
                    start: TimeOfDay::parse("19:30").unwrap(),
                    end: None,
                    place: "青山村".into(),
                    households: 3,
                    issues: "饮水".into(),
                    help: String::new(),
                },
            },
            &ctx,
        )
        .unwrap();
    phone
        .edit(
            &night,
            &Edit::SetOvernight {
                stayed: true,
                place: Some("青山村村部".into()),
            },
            &ctx,
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(app.upload(&s.access, &photo).await.0, StatusCode::CREATED);

    let week = IsoWeek::parse("2026-W47").unwrap();
    let holidays = Calendar::with_holidays([NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()]);
    let (first, made) = publish_week(&app.state.store, "t1", week, &holidays)
        .await
        .unwrap();
    assert!(made);
    // Made once: a second run (or another instance) keeps it as it is.
    let (again, made_again) = publish_week(&app.state.store, "t1", week, &Calendar::weekdays())
        .await
        .unwrap();
    assert!(!made_again);
    assert_eq!(first, again);
    // Made from the read models stored beside the documents; rows stored
    // before those existed are read from their bytes, to the same result.
    let from_records = draft(&app.state.store, "t1", week, &holidays, 1)
        .await
        .unwrap();
    assert!(app.execute_sql("UPDATE documents SET record = NULL").await >= 2);
    let from_bytes = draft(&app.state.store, "t1", week, &holidays, 1)
        .await
        .unwrap();
    assert_eq!(from_records.publication, from_bytes.publication);
    assert_eq!(from_records.heads, from_bytes.heads);
    assert_eq!(from_records.heads.len(), 2, "the diary and the night log");
    // So is a stored record this version cannot parse (a newer server's).
    app.execute_sql("UPDATE documents SET record = '{\"kind\":\"from the future\"}'")
        .await;
    let from_bad = draft(&app.state.store, "t1", week, &holidays, 1)
        .await
        .unwrap();
    assert_eq!(from_records.publication, from_bad.publication);

    // JSON, with no login.
    let r = app
        .http
        .get(app.url("/api/v1/publications/t1/2026-W47"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    let p: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        p["title"],
        "石门镇干部工作纪实周公示（第47周 11月16日—11月22日）"
    );
    // u1 (cadre) and l1 (leader) of t1; u2 is in another township.
    assert_eq!(p["totals"]["cadres"], 2);
    assert_eq!(p["totals"]["entries"], 1);
    assert_eq!(p["totals"]["night_activities"], 1);
    assert_eq!(p["totals"]["overnight_stays"], 1);
    // Four workdays (Friday is a holiday): u1 missed 3, l1 all 4.
    assert_eq!(p["totals"]["missing_days"], 7);
    // The summary table's row of u1: one of four workdays filed, the
    // night visit's three households, one 夜访, one night stayed.
    let u1 = p["cadres"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["user_id"] == "u1")
        .unwrap();
    assert_eq!(
        u1["summary"],
        serde_json::json!({
            "days_due": 4, "days_filed": 1, "entries": 1, "households": 3,
            "nights": {"study": 0, "visit": 1, "discussion": 0, "help": 0},
            "nights_stayed": 1, "days_missed": 3
        })
    );
    assert_eq!(p["totals"]["households"], 3);
    assert!(!text.contains("13812345678") && text.contains("138****5678"));
    assert!(!text.contains("28.123456") && !text.contains("112.654321"));
    assert_eq!(p["amended_days"], serde_json::json!([]));

    // How the township and the county sign: the township's own issuer and
    // phone, the county's supervision phone and 公示期 for every township.
    use backend::admin::{set_notice_settings, NoticeUpdate};
    set_notice_settings(
        &app.state.store,
        "c1",
        NoticeUpdate {
            issuer: Some("中共某县委".into()),
            supervision_office: Some("县纪委监委".into()),
            supervision_phone: Some("0736-12388".into()),
            display_days: Some(5),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    set_notice_settings(
        &app.state.store,
        "t1",
        NoticeUpdate {
            issuer: Some("中共石门镇委员会".into()),
            phone: Some("0736-5551234".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for bad in [
        NoticeUpdate {
            supervision_phone: Some("call 12388".into()),
            ..Default::default()
        },
        NoticeUpdate {
            display_days: Some(400),
            ..Default::default()
        },
        NoticeUpdate {
            issuer: Some("两行\n落款".into()),
            ..Default::default()
        },
    ] {
        let e = set_notice_settings(&app.state.store, "t1", bad)
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("--"), "names the flag: {e}");
    }
    assert!(
        set_notice_settings(&app.state.store, "nowhere", NoticeUpdate::default())
            .await
            .unwrap_err()
            .to_string()
            .contains("list-units")
    );

    // The page, with the photo.
    let page = app
        .http
        .get(app.url("/p/t1/2026-W47"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("石门镇干部工作纪实周公示"));
    assert!(html.contains("当晚住村"));
    // Signed: the township's issuer and phone, the county's office, its
    // supervision phone and 公示期.
    assert!(html.contains("id=\"frame\""));
    for part in [
        "中共石门镇委员会",
        "0736-5551234",
        "县纪委监委",
        "0736-12388",
        "（5天）",
    ] {
        assert!(html.contains(part), "{part} on the notice");
    }
    assert!(
        !html.contains("中共某县委"),
        "the township signs its own notice"
    );
    // The summary table first, then the details; Chinese dates only.
    assert!(html.contains("id=\"summary\"") && html.contains("<nav class=\"index\""));
    assert!(html.find("id=\"summary\"") < html.find("class=\"details\""));
    assert!(html.contains("11月19日 周四") && html.contains("第47周"));
    assert!(html.contains("@page"));
    let visible = html.split("<article>").nth(1).unwrap();
    for iso in ["2026-W47", "2026-11-1"] {
        let outside_links = visible
            .split(['"', '<', '>'])
            // Addresses (links, the QR code's URL) are not text.
            .filter(|t| {
                t.contains(iso)
                    && !t.starts_with('/')
                    && !t.starts_with('#')
                    && !t.starts_with("http")
            })
            .collect::<Vec<_>>();
        assert!(
            outside_links.is_empty(),
            "{iso} in the text: {outside_links:?}"
        );
    }
    assert!(html.contains("138****5678") && !html.contains("13812345678"));
    let img = format!("/p/t1/2026-W47/photos/{hash}");
    assert!(html.contains(&img), "the photo is on the page");
    let r = app.http.get(app.url(&img)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let thumb = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(thumb.width(), 320);
    // A photo the publication does not show is not served through it.
    let other = sha(b"not in it");
    let r = app
        .http
        .get(app.url(&format!("/p/t1/2026-W47/photos/{other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Published, the photo is visible to an outsider's account too.
    let outsider = app.login("u2", "phone-u2", &[]).await;
    let r = app
        .http
        .get(app.url(&format!("/api/v1/blobs/{hash}/thumbnail")))
        .bearer_auth(&outsider.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Where u1 says they are, set on the published day after the
    // publication, and a leader's comment: neither is an amendment of
    // the record (no publication shows them).
    phone
        .edit(
            &diary,
            &Edit::SetStatus {
                kind: sync_core::document::StatusKind::InVillage,
                village: Some("v1".into()),
            },
            &ctx,
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let unchanged = |p: serde_json::Value| p["amended_days"] == serde_json::json!([]);
    let p: serde_json::Value = app
        .http
        .get(app.url("/api/v1/publications/t1/2026-W47"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(unchanged(p.clone()), "a status is not an amendment: {p}");

    // An edit after publication: the snapshot stays, the day is marked.
    phone
        .edit(
            &diary,
            &Edit::SetText {
                target: TextTarget::Item {
                    id: entry,
                    field: sync_core::document::ItemText::Text,
                },
                text: "改过的内容".into(),
            },
            &ctx,
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty());
    let p: serde_json::Value = app
        .http
        .get(app.url("/api/v1/publications/t1/2026-W47"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["amended_days"], serde_json::json!(["2026-11-19"]));
    assert!(
        p.to_string().contains("138****5678"),
        "the snapshot is unchanged"
    );
    let html = app
        .http
        .get(app.url("/p/t1/2026-W47"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("公示后有修改"));
    // Supervisors see who changed what after publication, and when.
    let l1 = app.login("l1", "web-l1", &[]).await.access;
    let (status, list) = app
        .get("/api/v1/publications/t1/2026-W47/amendments", &l1)
        .await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    // Once the day's content changed, every change u1 made to it after
    // the publication is listed: the status too.
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["day"], "2026-11-19");
    assert_eq!(list[0]["user_id"], "u1");
    assert_eq!(list[0]["device_id"], "phone");
    assert_eq!(
        app.get("/api/v1/publications/t1/2026-W47/amendments", &s.access)
            .await
            .0,
        404,
        "not for cadres"
    );

    // A correction is a new snapshot of the records: the corrected text,
    // the photo still shown (the entry still has it), the amendments
    // counted from it; version 1 stays readable, marked, without photos.
    use backend::publications::versions::{amend, Amend, VersionError};
    let v2 = amend(
        &app.state,
        "t1",
        backend::publications::Period::Week(week),
        Amend::Correct,
        "日志内容有误，按修改后的记录更正",
        "l1",
    )
    .await
    .unwrap();
    assert_eq!(v2.version, 2);
    let (status, p) = public_json(&app, "/api/v1/publications/t1/2026-W47").await;
    assert_eq!(status, 200);
    assert_eq!(p["version"], 2);
    assert_eq!(p["status"], "published");
    assert_eq!(p["amended_days"], serde_json::json!([]));
    assert!(p.to_string().contains("改过的内容"));
    assert_eq!(p["versions"][1]["action"], "correct");
    assert_eq!(p["versions"][1]["by"], "用户l1");
    assert_eq!(p["versions"][0]["url"], "/p/t1/2026-W47/v/1");
    assert_eq!(
        app.http.get(app.url(&img)).send().await.unwrap().status(),
        StatusCode::OK
    );
    let (status, v1) = public_json(&app, "/api/v1/publications/t1/2026-W47/versions/1").await;
    assert_eq!(status, 200);
    assert_eq!(v1["status"], "superseded");
    assert!(!v1.to_string().contains("改过的内容"));
    assert!(
        !v1.to_string().contains(&hash),
        "a superseded version shows no photo"
    );
    let html = app
        .http
        .get(app.url("/p/t1/2026-W47/v/1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("此为第1版") && html.contains("查看现行版本"));
    assert!(!html.contains(&img));
    // A withdrawal takes the notice down, its photos and earlier versions
    // with it; what is left says why, who and when.
    amend(
        &app.state,
        "t1",
        backend::publications::Period::Week(week),
        Amend::Withdraw,
        "涉及群众隐私",
        "s1",
    )
    .await
    .unwrap();
    assert!(matches!(
        amend(
            &app.state,
            "t1",
            backend::publications::Period::Week(week),
            Amend::Withdraw,
            "再撤一次",
            "s1"
        )
        .await,
        Err(VersionError::AlreadyWithdrawn)
    ));
    assert_eq!(
        app.http.get(app.url(&img)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let r = app
        .http
        .get(app.url(&format!("/api/v1/blobs/{hash}/thumbnail")))
        .bearer_auth(&outsider.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no longer public");
    let (_, p) = public_json(&app, "/api/v1/publications/t1/2026-W47").await;
    assert_eq!(p["status"], "withdrawn");
    assert_eq!(p["withdrawal"]["reason"], "涉及群众隐私");
    assert!(p.get("cadres").is_none(), "{p}");
    for n in [1, 2] {
        let (status, _) = public_json(
            &app,
            &format!("/api/v1/publications/t1/2026-W47/versions/{n}"),
        )
        .await;
        assert_eq!(status, 404, "version {n} went down with the withdrawal");
    }
    // A correction after a withdrawal publishes it again.
    amend(
        &app.state,
        "t1",
        backend::publications::Period::Week(week),
        Amend::Correct,
        "隐私内容已删除，重新公示",
        "l1",
    )
    .await
    .unwrap();
    let (_, p) = public_json(&app, "/api/v1/publications/t1/2026-W47").await;
    assert_eq!(
        (p["status"].as_str(), p["version"].as_i64()),
        (Some("published"), Some(4))
    );
    assert_eq!(
        app.http.get(app.url(&img)).send().await.unwrap().status(),
        StatusCode::OK
    );

    // The photo stays while a publication shows it, referenced or not.
    assert_eq!(
        backend::photos::gc::collect_garbage(&app.state, 0)
            .await
            .unwrap(),
        0
    );

    // Bad addresses.
    for (path, status) in [
        ("/p/t1/2026-47", StatusCode::BAD_REQUEST),
        ("/p/t1/2026-W46", StatusCode::NOT_FOUND),
        ("/p/nowhere/2026-W47", StatusCode::NOT_FOUND),
    ] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    assert!(publish_week(
        &app.state.store,
        "nowhere",
        week,
        &backend::calendar::Calendar::weekdays()
    )
    .await
    .is_err());
}
on_both_databases!(a_weekly_publication_is_made_once_and_public, weekly);

/// The server's scheduled task: last week's notice of every township
/// from Monday's hour on, never before, and only once; the month's
/// commitments from its first workday, last month's month-end notice after
/// the review deadline.
async fn by_itself(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    let due = backend::jobs::publish_due;
    // Before Monday's hour nothing: the month's notices are due
    // (November's commitments, October's month-end notice) but no cadre
    // made a plan, so there is nothing to show.
    assert_eq!(due(&app.state, at("2026-11-23T07:59:00+08:00")).await, 0);
    for key in ["2026-11-start", "2026-10-end"] {
        assert!(app
            .state
            .store
            .publication("t2", key)
            .await
            .unwrap()
            .is_none());
    }
    assert_eq!(due(&app.state, at("2026-11-23T08:00:00+08:00")).await, 2);
    assert_eq!(
        due(&app.state, at("2026-11-25T10:00:00+08:00")).await,
        0,
        "made once"
    );
    for unit in ["t1", "t2"] {
        assert!(app
            .state
            .store
            .publication(unit, "2026-W47")
            .await
            .unwrap()
            .is_some());
    }
    assert!(
        app.state
            .store
            .publication("c1", "2026-W47")
            .await
            .unwrap()
            .is_none(),
        "a county does not publish"
    );
    // The next week, caught up on Tuesday after a Monday of downtime.
    assert_eq!(due(&app.state, at("2026-12-01T09:00:00+08:00")).await, 2);
    assert!(app
        .state
        .store
        .publication("t1", "2026-W48")
        .await
        .unwrap()
        .is_some());
}
on_both_databases!(last_week_is_published_on_monday_by_itself, by_itself);

/// The digits that must not reach a public answer, in any form written.
const HIDDEN: [&str; 4] = ["1234", "１２３４", "19900101", "１９９００１０１"];

/// Issue 23, item 8: mobile and identity numbers are masked on the public
/// page and the public JSON in every form a cadre writes them (country
/// code, hyphens, spaces, dots, full-width digits, an `X` check character)
/// and in every field (entry text and place, day summary, night activity
/// place, issues and help, overnight place); and a publication stored
/// before these rules (an entry `time` holding a number, a zero-width space
/// inside one) is masked as it is served: the public answer does not trust
/// stored data.
async fn numbers_masked(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = MemoryReplica::new(Actor::random());
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let me = UserId::parse("u1").unwrap();
    let ctx = EditContext {
        user: me.clone(),
        role: Role::Cadre,
        now_ms: 1_763_500_000_000,
    };
    let day = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
    let diary = DocId::diary(&me, day);
    let entry = sync_core::document::EntryFields {
        time: TimeOfDay::parse("09:00").unwrap(),
        category: sync_core::document::Category::Visit,
        place: "+86 139 1234 5678".into(),
        text: "户主电话+8613912345678，邻居138-1234-5678，村医139 1234 5678，\
               网格员１３８１２３４５６７８，身份证430102199001018888、43010219900101567X"
            .into(),
        households: 1,
        location: None,
    };
    let night = DocId::night(&me, day);
    for (doc, edit) in [
        (
            &diary,
            Edit::AddEntry {
                id: ItemId::random(),
                fields: entry,
            },
        ),
        (
            &diary,
            Edit::SetText {
                target: TextTarget::Summary,
                text: "今日联系人１３９－１２３４－５６７８".into(),
            },
        ),
        (
            &night,
            Edit::AddActivity {
                id: ItemId::random(),
                fields: ActivityFields {
                    kind: NightKind::Visit,
                    start: TimeOfDay::parse("19:30").unwrap(),
                    end: None,
                    place: "139.1234.5678家".into(),
                    households: 1,
                    issues: "反映人0086 13912345678".into(),
                    help: "代办，回电(+86)138 1234 5678".into(),
                },
            },
        ),
        (
            &night,
            Edit::SetOvernight {
                stayed: true,
                place: Some("房东8613812345678".into()),
            },
        ),
    ] {
        phone.edit(doc, &edit, &ctx).unwrap();
    }
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let week = IsoWeek::parse("2026-W47").unwrap();
    assert!(
        publish_week(
            &app.state.store,
            "t1",
            week,
            &backend::calendar::Calendar::weekdays()
        )
        .await
        .unwrap()
        .1
    );

    // A publication stored before the masking rules: its texts as written.
    let mut raw: serde_json::Value = serde_json::from_str(
        &app.state
            .store
            .publication("t1", "2026-W47")
            .await
            .unwrap()
            .unwrap()
            .content,
    )
    .unwrap();
    raw["week"] = "2026-W46".into();
    let u1 = raw["cadres"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["user_id"] == "u1")
        .unwrap();
    let day = &mut u1["days"][0];
    day["summary"] = "１３９－１２３４－５６７８".into();
    let e = &mut day["entries"][0];
    e["time"] = "13812345670".into();
    e["text"] = "电话138\u{200B}1234\u{200B}5678，身份证430102\u{200B}199001018888".into();
    e["place"] = "+86 139 1234 5678".into();
    app.state
        .store
        .insert_publication(
            &backend::storage::PublicationRow {
                unit_id: "t1".into(),
                week: "2026-W46".into(),
                title: "旧公示".into(),
                content: raw.to_string(),
                heads: "{}".into(),
                created_at: 1,
                approved_by: None,
            },
            &[],
        )
        .await
        .unwrap();

    for w in ["2026-W47", "2026-W46"] {
        for path in [format!("/p/t1/{w}"), format!("/api/v1/publications/t1/{w}")] {
            let r = app.http.get(app.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let body = r.text().await.unwrap();
            // JSON escapes nothing of these, HTML neither.
            for hidden in HIDDEN {
                assert!(!body.contains(hidden), "{path} shows {hidden:?}: {body}");
            }
            assert!(body.contains("139****5678"), "{path}: {body}");
            assert!(body.contains("138****5678"), "{path}: {body}");
            assert!(body.contains("430***********8888"), "{path}: {body}");
            if w == "2026-W47" {
                assert!(body.contains("430***********567X"), "{path}: {body}");
            } else {
                assert!(body.contains("138****5670"), "{path}: {body}");
            }
        }
    }
}
on_both_databases!(
    public_pages_mask_numbers_in_every_form_and_field,
    numbers_masked
);
