//! Monthly reviews over the real server: reviewers from the unit tree (and
//! an admin's override), reviews only by their reviewer, scores bounded with
//! Chinese messages, facts drafted from the synced records, ranking with the
//! bottom two marked, results visible to the unit after the deadline, late
//! reviews flagged, and the month exported as a spreadsheet.

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sync_core::document::{Category, EntryFields, TaskFields, TaskKind, TaskStatus};
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::validate::TimeOfDay;
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role, UserId};

use jishi_tests::{on_both_databases, Db, TestApp};

/// A month long past (its deadline has passed) and one far ahead.
const PAST: &str = "2020-01";
const FUTURE: &str = "2199-12";

async fn put(app: &TestApp, token: &str, month: &str, user: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .put(app.url(&format!("/api/v1/reviews/{month}/{user}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn reviews(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    // u1 files a day and a plan in January 2020.
    let mut phone = MemoryReplica::new(Actor::random());
    let u1 = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let me = UserId::parse("u1").unwrap();
    let ctx = EditContext {
        user: me.clone(),
        role: Role::Cadre,
        now_ms: 1_579_000_000_000,
    };
    let day = NaiveDate::from_ymd_opt(2020, 1, 6).unwrap();
    phone
        .edit(
            &DocId::diary(&me, day),
            &Edit::AddEntry {
                id: ItemId::random(),
                fields: EntryFields {
                    time: TimeOfDay::parse("09:00").unwrap(),
                    category: Category::Visit,
                    place: "青山村".into(),
                    text: "走访".into(),
                    households: 2,
                    location: None,
                },
            },
            &ctx,
        )
        .unwrap();
    let plan = DocId::plan(&me, day);
    let (done, open) = (ItemId::random(), ItemId::random());
    for id in [&done, &open] {
        phone
            .edit(
                &plan,
                &Edit::AddTask {
                    id: id.clone(),
                    fields: TaskFields {
                        title: "任务".into(),
                        kind: TaskKind::Fixed,
                        due: None,
                    },
                },
                &ctx,
            )
            .unwrap();
    }
    phone
        .edit(
            &plan,
            &Edit::CloseTask {
                id: done,
                status: TaskStatus::Done,
                note: "完成".into(),
            },
            &ctx,
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &u1.access).await;
    assert!(problems.is_empty());

    let l1 = app.login("l1", "web-l1", &[]).await.access;
    let s1 = app.login("s1", "web-s1", &[]).await.access;
    let u2 = app.login("u2", "web-u2", &[]).await.access;

    // The township head sees t1: u1 (reviewed by l1) and l1 (by s1).
    let (status, m) = app
        .get(&format!("/api/v1/units/t1/reviews/{PAST}"), &l1)
        .await;
    assert_eq!(status, 200, "{m}");
    let rows = m["rows"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["user_id"] == id).unwrap().clone();
    assert_eq!(row("u1")["reviewer_id"], "l1");
    assert_eq!(row("l1")["reviewer_id"], "s1");
    assert_eq!(row("u1")["reviewer_name"], "用户l1");
    assert_eq!(row("l1")["reviewer_name"], "用户s1");
    assert_eq!(
        row("u1")["facts"],
        json!({"days_filed": 1, "entries": 1, "night_activities": 0, "nights_stayed": 0, "tasks_done": 1, "tasks_open": 1, "items": 0, "items_overdue": 0, "complaints_founded": 0, "cases_overdue": 0})
    );
    assert_eq!(m["published"], true);

    // Only the reviewer reviews; bad scores are refused in Chinese.
    let good = json!({"targets": 75, "conduct": 18, "comment": "工作扎实"});
    let (status, body) = put(&app, &s1, PAST, "u1", good.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("点评人"));
    // Outside the caller's scope, as if the person did not exist.
    let (status, body) = put(&app, &u2, PAST, "u1", good.clone()).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = put(&app, &l1, PAST, "u1", json!({"targets": 81, "conduct": 0})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_review"))
    );
    assert!(body["message"].as_str().unwrap().contains("工作目标"));
    let (status, body) = put(&app, &l1, "2020-13", "u1", good.clone()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_month")));
    let (status, body) = put(&app, &l1, PAST, "nobody", good.clone()).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = put(&app, &l1, PAST, "u1", good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["late"], true, "January 2020's deadline has passed");
    let (status, _) = put(&app, &s1, PAST, "l1", json!({"targets": 60, "conduct": 10})).await;
    assert_eq!(status, 200);
    let (status, _) = put(&app, &s1, PAST, "u2", json!({"targets": 50, "conduct": 15})).await;
    assert_eq!(status, 200);
    // A resubmission replaces the score (both are kept).
    let (status, _) = put(&app, &l1, PAST, "u1", json!({"targets": 70, "conduct": 18})).await;
    assert_eq!(status, 200);
    // An admin's override: l1 now reviews u2.
    app.state
        .store
        .set_reviewer_override("u2", "l1")
        .await
        .unwrap();
    let (status, _) = put(&app, &s1, PAST, "u2", json!({"targets": 1, "conduct": 1})).await;
    assert_eq!(status, 403);
    let (status, _) = put(&app, &l1, PAST, "u2", json!({"targets": 55, "conduct": 10})).await;
    assert_eq!(status, 200);

    // The county's ranking: within each township, leaders (班子成员) and
    // cadres (一般干部) apart, not 53 people across three reviewers; each
    // group here holds one person, so nobody is 末位.
    let (status, m) = app
        .get(&format!("/api/v1/units/c1/reviews/{PAST}"), &s1)
        .await;
    assert_eq!(status, 200);
    let got: Vec<(String, String, i64, i64, i64, bool)> = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["group"].as_str().unwrap().to_owned(),
                r["user_id"].as_str().unwrap().to_owned(),
                r["total"].as_i64().unwrap(),
                r["rank"].as_i64().unwrap(),
                r["ranked_of"].as_i64().unwrap(),
                r["bottom"].as_bool().unwrap(),
            )
        })
        .collect();
    let row = |g: &str, u: &str, t: i64| (g.to_owned(), u.to_owned(), t, 1, 1, false);
    assert_eq!(
        got,
        vec![
            row("石门镇 班子成员", "l1", 70),
            row("石门镇 一般干部", "u1", 88),
            row("白沙镇 一般干部", "u2", 65),
        ]
    );

    // Before the deadline the leader sees only t1; members see their
    // unit's results only after it.
    assert_eq!(
        app.get(&format!("/api/v1/units/c1/reviews/{FUTURE}"), &l1)
            .await
            .0,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/units/t1/reviews/{PAST}"), &u1.access)
            .await
            .0,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/units/t1/reviews/{FUTURE}"), &u1.access)
            .await
            .0,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/units/t2/reviews/{PAST}"), &u1.access)
            .await
            .0,
        404
    );
    let (status, m) = app
        .get(&format!("/api/v1/units/t1/reviews/{FUTURE}"), &l1)
        .await;
    assert_eq!((status, m["published"].as_bool()), (200, Some(false)));

    // The export.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/units/c1/reviews/{PAST}/export.xlsx")))
        .bearer_auth(&s1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = r.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"PK\x03\x04") && bytes.len() > 2_000,
        "{}",
        bytes.len()
    );
    exported_sheet_is_what_the_office_prints(&bytes);
}

/// Issue 25, point 6: the sheet as the assessment office reads and prints
/// it, read back with a real reader (its page setup from the zip itself).
fn exported_sheet_is_what_the_office_prints(bytes: &[u8]) {
    use calamine::{Reader, Xlsx};
    use std::io::{Cursor, Read};

    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(PAST).unwrap();
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let title = &cells[0][0];
    assert!(
        title.contains("青山县") && title.contains("2020年1月") && title.contains("点评结果"),
        "{title}"
    );
    let header = &cells[1];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} in {header:?}"))
    };
    assert_eq!(col("职务"), col("姓名") + 1, "{header:?}");
    // A late review is the reviewer's, not the cadre's: beside the reviewer.
    assert_eq!(col("点评逾期"), col("点评人") + 1, "{header:?}");
    let (name, group, rank, by, late) = (
        col("姓名"),
        col("分组"),
        col("组内排名"),
        col("点评人"),
        col("点评逾期"),
    );
    assert!(!header.iter().any(|h| h == "逾期点评"), "{header:?}");
    let person = |who: &str| {
        cells
            .iter()
            .find(|r| r[name] == who)
            .unwrap_or_else(|| panic!("no row for {who}: {cells:?}"))
    };
    // People by name, never by id: u1 was reviewed by l1, l1 by s1.
    let u1 = person("用户u1");
    assert_eq!(
        (&*u1[group], &*u1[rank], &*u1[by], &*u1[late]),
        ("石门镇 一般干部", "1", "用户l1", "是"),
        "{u1:?}"
    );
    assert_eq!(person("用户l1")[by], "用户s1");
    // u2's reviewer was overridden to l1, who wrote the review.
    assert_eq!(person("用户u2")[by], "用户l1");
    for id in ["u1", "u2", "l1", "s1"] {
        assert!(
            cells.iter().skip(2).all(|r| r[by] != id && r[name] != id),
            "{id} by id: {cells:?}"
        );
    }
    // The signature line, under the table.
    let footer = cells
        .iter()
        .position(|r| r[0].contains("制表人"))
        .unwrap_or_else(|| panic!("no signature line: {cells:?}"));
    assert!(cells[footer][0].contains("审核人"));
    assert!(footer > 2 + 3, "under the three people: {footer}");

    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut part = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let sheet = part("xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"orientation="landscape""#), "{sheet}");
    assert!(sheet.contains(r#"paperSize="9""#), "{sheet}");
    assert!(sheet.contains(r#"fitToHeight="0""#), "{sheet}");
    let workbook = part("xl/workbook.xml");
    assert!(workbook.contains("_xlnm.Print_Titles"), "{workbook}");
}
on_both_databases!(monthly_reviews_are_assigned_ranked_and_exported, reviews);

/// Issue 23, item 7: after the deadline a member reads their own unit's
/// results (their village and their township), never the county's (which
/// hold every township's people, comments and ranks) nor a sibling
/// township's; a leader over one township does not read the county's by
/// being a member of it.
async fn members_see_their_own_unit_only(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let u1 = app.login("u1", "phone-u1", &[]).await.access;
    let u2 = app.login("u2", "phone-u2", &[]).await.access;
    let l1 = app.login("l1", "phone-l1", &[]).await.access;
    let s1 = app.login("s1", "phone-s1", &[]).await.access;
    let status = |path: String, token: String| {
        let app = &app;
        async move {
            let r = app
                .http
                .get(app.url(&path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            (status, body)
        }
    };
    for suffix in ["", "/export.xlsx"] {
        for (who, token, unit, expected) in [
            ("u1", &u1, "v1", 200),
            ("u1", &u1, "t1", 200),
            ("u1", &u1, "c1", 404),
            ("u1", &u1, "t2", 404),
            ("u2", &u2, "t2", 200),
            ("u2", &u2, "c1", 404),
            ("u2", &u2, "t1", 404),
            ("l1", &l1, "t1", 200),
            ("l1", &l1, "c1", 404),
            ("l1", &l1, "t2", 404),
            ("s1", &s1, "c1", 200),
        ] {
            let path = format!("/api/v1/units/{unit}/reviews/{PAST}{suffix}");
            let (got, body) = status(path.clone(), token.clone()).await;
            assert_eq!(got, expected, "{who} GET {path}: {body}");
            if expected == 404 {
                assert!(
                    !body.contains("用户"),
                    "{who} GET {path} shows people: {body}"
                );
            }
        }
    }
}
on_both_databases!(
    a_member_never_reads_the_county_or_a_sibling_township,
    members_see_their_own_unit_only
);

async fn put_statement(
    app: &TestApp,
    token: &str,
    month: &str,
    user: &str,
    text: &str,
) -> (u16, Value) {
    let r = app
        .http
        .put(app.url(&format!("/api/v1/reviews/{month}/{user}/statement")))
        .bearer_auth(token)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn groups_and_statements(db: Db) {
    use jishi_tests::{county, UserBuilder};
    let app = TestApp::spawn(db).await;
    app.seed().await;
    // Six cadres of 青山村, reviewed by the township's leader l1: four
    // ranked as 一般干部, two the township put in 驻村干部.
    for id in ["u5", "u6", "u7", "u8", "u9"] {
        app.add_user(UserBuilder::cadre(id).unit(county::VILLAGE).build())
            .await;
    }
    let store = &app.state.store;
    for id in ["u8", "u9"] {
        store.set_rank_group(id, Some("驻村干部")).await.unwrap();
    }
    let l1 = app.login("l1", "web-l1", &[]).await.access;
    // Ties at the bottom: two share the last rank of 一般干部.
    for (user, targets) in [
        ("u1", 75),
        ("u5", 70),
        ("u6", 50),
        ("u7", 50),
        ("u8", 60),
        ("u9", 40),
    ] {
        let (status, body) = put(
            &app,
            &l1,
            PAST,
            user,
            json!({"targets": targets, "conduct": 10}),
        )
        .await;
        assert_eq!(status, 200, "{user}: {body}");
    }
    let (_, month) = app
        .get(&format!("/api/v1/units/t1/reviews/{PAST}"), &l1)
        .await;
    let row = |id: &str| {
        month["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["user_id"] == id)
            .unwrap()
            .clone()
    };
    for (id, group, rank, bottom) in [
        ("u1", "一般干部", 1, false),
        ("u5", "一般干部", 2, true),
        ("u6", "一般干部", 3, true),
        ("u7", "一般干部", 3, true),
        ("u8", "驻村干部", 1, false),
        ("u9", "驻村干部", 2, false),
    ] {
        let r = row(id);
        assert_eq!(
            (
                r["group"].as_str(),
                r["rank"].as_i64(),
                r["bottom"].as_bool()
            ),
            (Some(group), Some(rank), Some(bottom)),
            "{id}: {r}"
        );
    }
    assert_eq!(row("u9")["ranked_of"], 2, "a group of two has no 末位");
    // Back to the role's group: ranked with the others again.
    store.set_rank_group("u9", None).await.unwrap();
    let (_, month) = app
        .get(&format!("/api/v1/units/t1/reviews/{PAST}"), &l1)
        .await;
    let u9 = month["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == "u9")
        .unwrap()
        .clone();
    assert_eq!(
        (u9["group"].as_str(), u9["bottom"].as_bool()),
        (Some("一般干部"), Some(true))
    );

    // 表态: by the 末位 cadre's own phone, once; by a leader over them;
    // never by another cadre, nor by one who is not 末位.
    let u6 = app.login("u6", "phone-u6", &[]).await.access;
    let (status, body) = put_statement(&app, &u6, PAST, "u6", "我将加强走访，下月补齐台账。").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["by_user"], "u6");
    let (status, body) = put_statement(&app, &u6, PAST, "u6", "再说一次").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("statement_exists"))
    );
    let (status, _) = put_statement(&app, &u6, PAST, "u7", "替别人表态").await;
    assert_eq!(status, 404, "another cadre's is not theirs to make");
    let u1 = app.login("u1", "phone-u1", &[]).await.access;
    let (status, body) = put_statement(&app, &u1, PAST, "u1", "我不是末位").await;
    assert_eq!((status, body["code"].as_str()), (409, Some("not_bottom")));
    // A leader enters no 表态 for a fellow leader of his township.
    app.add_user(
        UserBuilder::leader("l2")
            .unit(county::TOWNSHIP)
            .scope(county::TOWNSHIP)
            .build(),
    )
    .await;
    let l2 = app.login("l2", "web-l2", &[]).await.access;
    let (status, _) = put_statement(&app, &l2, PAST, "l1", "替同事表态").await;
    assert_eq!(status, 403);
    let (status, body) = put_statement(&app, &l1, FUTURE, "u7", "尚未公布").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_published"))
    );
    let (status, body) = put_statement(&app, &l1, PAST, "u7", " ").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_review"))
    );
    let (status, _) = put_statement(&app, &l1, PAST, "u7", "本人口头表态：认真整改。").await;
    assert_eq!(status, 201);
    let (_, month) = app
        .get(&format!("/api/v1/units/t1/reviews/{PAST}"), &l1)
        .await;
    let rows = month["rows"].as_array().unwrap();
    let st = |id: &str| rows.iter().find(|r| r["user_id"] == id).unwrap()["statement"].clone();
    assert_eq!(st("u6")["text"], "我将加强走访，下月补齐台账。");
    assert_eq!(st("u7")["by"], "用户l1");
    assert!(st("u1").is_null());
    // The spreadsheet carries each 表态 beside the review.
    let bytes = app
        .http
        .get(app.url(&format!("/api/v1/units/t1/reviews/{PAST}/export.xlsx")))
        .bearer_auth(&l1)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let range = book.worksheet_range(PAST).unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let statement = rows[1]
            .iter()
            .position(|h| h == "表态")
            .expect("a 表态 column");
        let name = rows[1].iter().position(|h| h == "姓名").unwrap();
        let u6 = rows.iter().find(|r| r[name] == "用户u6").unwrap();
        assert_eq!(u6[statement], "我将加强走访，下月补齐台账。");
    }
    // The web page shows them, and the form where one is missing.
    let (web, cookie) = app.web_session("l1").await;
    let html = web
        .get(app.url(&format!("/web/units/t1/reviews/{PAST}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"statement-u6\"") && html.contains("我将加强走访"),
        "{html}"
    );
    assert!(
        html.contains(&format!("/web/reviews/{PAST}/u9/statement")),
        "u9 (末位 since back among 一般干部) has none yet"
    );
    assert!(!html.contains(&format!("/web/reviews/{PAST}/u1/statement")));
    let r = web
        .post(app.url(&format!("/web/reviews/{PAST}/u9/statement")))
        .header("cookie", &cookie)
        .form(&[("text", "下月改进"), ("unit", "t1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let html = web
        .get(app.url(&location))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("已记录用户u9的表态") && html.contains("下月改进"),
        "{html}"
    );
}
on_both_databases!(
    rank_groups_ties_at_the_bottom_and_statements,
    groups_and_statements
);
