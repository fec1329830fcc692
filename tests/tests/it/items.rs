//! 督办 items end to end on the real server: a leader issues one over the
//! API, it reaches the responsible person's and the collaborator's phones
//! at their next sync (and nobody else's), the phone works it offline and
//! asks to close, the leader sends it back and then confirms, and the
//! phone sees it closed; a cadre cannot confirm their own item or issue
//! one, outsiders read nothing, and an overdue item is marked and
//! escalated.

use serde_json::{json, Value};
use sync_core::document::item::{ItemStatus, StepAction, StepFields};
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Record, Role, UserId};

use jishi_tests::users::UserBuilder;
use jishi_tests::{on_both_databases, Db, TestApp};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn step(action: StepAction, text: &str) -> Edit {
    Edit::AddItemStep {
        id: ItemId::random(),
        step: StepFields {
            verdict: None,
            action,
            text: text.into(),
            photos: Vec::new(),
        },
    }
}

fn status_on(phone: &mut MemoryReplica, id: &DocId) -> ItemStatus {
    match phone.document(id).unwrap().unwrap().read() {
        Record::Item(i) => i.standing().status,
        other => panic!("not an item: {other:?}"),
    }
}

async fn items_loop(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    app.seed_other_county().await;
    app.add_user(UserBuilder::cadre("u5").unit("v1").build())
        .await;
    app.add_user(UserBuilder::cadre("u4").unit("v1").build())
        .await;
    let l1 = app.login("l1", "web", &[Actor::random().to_hex()]).await;
    let mut u1_phone = MemoryReplica::new(Actor::random());
    let u1 = app.login("u1", "phone", &[u1_phone.actor().to_hex()]).await;
    let mut u5_phone = MemoryReplica::new(Actor::random());
    let u5 = app
        .login("u5", "phone-u5", &[u5_phone.actor().to_hex()])
        .await;
    let mut u4_phone = MemoryReplica::new(Actor::random());
    let u4 = app
        .login("u4", "phone-u4", &[u4_phone.actor().to_hex()])
        .await;
    let s1 = app.login("s1", "web-s1", &[Actor::random().to_hex()]).await;

    let issue = json!({
        "list": "supervision", "source": "meeting", "title": "青山村道路硬化",
        "content": "群众反映三组道路破损，雨天无法通行。", "measures": "本月内完成修复并回访。",
        "due_workdays": 3, "responsible": "u1", "collaborators": ["u5"],
    });
    // A cadre issues nothing; a responsible person outside the scope is refused.
    let (status, body) = post(&app, &u1.access, "/api/v1/items", issue.clone()).await;
    assert_eq!(status, 403, "{body}");
    let mut outside = issue.clone();
    outside["responsible"] = json!("u3");
    let (status, body) = post(&app, &l1.access, "/api/v1/items", outside).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unknown_person")),
        "{body}"
    );
    let mut both = issue.clone();
    both["due"] = json!("2026-01-01");
    let (status, body) = post(&app, &l1.access, "/api/v1/items", both).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_due")),
        "{body}"
    );

    let (status, item) = post(&app, &l1.access, "/api/v1/items", issue.clone()).await;
    assert_eq!(status, 201, "{item}");
    let item_id = item["id"].as_str().unwrap().to_owned();
    assert!(item_id.starts_with("item:"), "{item}");
    assert_eq!(item["status"], "open");
    assert_eq!(item["responsible"]["name"], "用户u1");
    assert_eq!(item["collaborators"][0]["id"], "u5");
    let id = DocId::parse(&item_id).unwrap();

    // It reaches the people named on it, and nobody else.
    let (_, problems) = app.sync(&mut u1_phone, &u1.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert!(u1_phone.doc_ids().contains(&id));
    let (_, problems) = app.sync(&mut u5_phone, &u5.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert!(u5_phone.doc_ids().contains(&id));
    app.sync(&mut u4_phone, &u4.access).await;
    assert!(!u4_phone.doc_ids().contains(&id));
    let (status, _) = app
        .get(&format!("/api/v1/items/{item_id}"), &u4.access)
        .await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &app,
        &u4.access,
        &format!("/api/v1/items/{item_id}/steps"),
        json!({"action": "progress", "text": "我来看看"}),
    )
    .await;
    assert_eq!(status, 404);
    let (_, listed) = app.get("/api/v1/items", &u4.access).await;
    assert_eq!(listed, json!([]));

    // The phone works it offline and asks to close.
    let ctx = |u: &str| EditContext {
        user: UserId::parse(u).unwrap(),
        role: Role::Cadre,
        now_ms: sync_core::china::now().timestamp_millis(),
    };
    u1_phone
        .edit(&id, &step(StepAction::Progress, "已联系施工队"), &ctx("u1"))
        .unwrap();
    u5_phone
        .edit(&id, &step(StepAction::Progress, "已备料"), &ctx("u5"))
        .unwrap();
    u1_phone
        .edit(
            &id,
            &step(StepAction::RequestClose, "已修复，申请销号"),
            &ctx("u1"),
        )
        .unwrap();
    for (phone, token) in [(&mut u1_phone, &u1.access), (&mut u5_phone, &u5.access)] {
        let (_, problems) = app.sync(phone, token).await;
        assert!(problems.is_empty(), "{problems:?}");
    }
    // Nobody confirms their own item: not on the phone, not over the API.
    assert!(u1_phone
        .edit(&id, &step(StepAction::Confirm, "自己销号"), &ctx("u1"))
        .is_err());
    let (status, body) = post(
        &app,
        &u1.access,
        &format!("/api/v1/items/{item_id}/steps"),
        json!({"action": "confirm", "text": ""}),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    let (status, seen) = app
        .get(&format!("/api/v1/items/{item_id}"), &l1.access)
        .await;
    assert_eq!(status, 200);
    assert_eq!(seen["status"], "awaiting_confirmation", "{seen}");
    assert_eq!(seen["history"].as_array().unwrap().len(), 3);
    assert_eq!(seen["may"], json!(["progress", "confirm", "send_back"]));

    // Sent back with a reason; the phone sees it returned, asks again.
    let path = format!("/api/v1/items/{item_id}/steps");
    let (status, body) = post(
        &app,
        &l1.access,
        &path,
        json!({"action": "send_back", "text": ""}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_step")),
        "a reason is needed: {body}"
    );
    let (status, body) = post(
        &app,
        &l1.access,
        &path,
        json!({"action": "send_back", "text": "缺少回访记录"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "returned");
    assert_eq!(body["returned_because"], "缺少回访记录");
    app.sync(&mut u1_phone, &u1.access).await;
    assert_eq!(status_on(&mut u1_phone, &id), ItemStatus::Returned);
    u1_phone
        .edit(
            &id,
            &step(StepAction::RequestClose, "已补回访记录"),
            &ctx("u1"),
        )
        .unwrap();
    let (_, problems) = app.sync(&mut u1_phone, &u1.access).await;
    assert!(problems.is_empty(), "{problems:?}");

    // The level above may confirm as well as the issuer; here the issuer does.
    let (_, as_s1) = app
        .get(&format!("/api/v1/items/{item_id}"), &s1.access)
        .await;
    assert_eq!(
        as_s1["may"],
        json!(["progress", "confirm", "send_back"]),
        "{as_s1}"
    );
    let (status, body) = post(
        &app,
        &l1.access,
        &path,
        json!({"action": "confirm", "text": "同意销号"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "closed");
    assert_eq!(body["sent_back"], 1);
    assert_eq!(body["closed_by"]["id"], "l1");
    assert_eq!(body["may"], json!([]));
    app.sync(&mut u1_phone, &u1.access).await;
    assert_eq!(status_on(&mut u1_phone, &id), ItemStatus::Closed);
    let (status, body) = post(
        &app,
        &l1.access,
        &path,
        json!({"action": "confirm", "text": "再次"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_step")),
        "{body}"
    );

    // Lists: the issuer's, the responsible person's, and the county's by unit.
    for (token, query) in [
        (&l1.access, ""),
        (&u1.access, ""),
        (&u5.access, ""),
        (&s1.access, "?unit=t1"),
    ] {
        let (status, listed) = app.get(&format!("/api/v1/items{query}"), token).await;
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["status"], "closed");
    }
    let (status, _) = app.get("/api/v1/items?unit=c2", &l1.access).await;
    assert_eq!(status, 404, "a unit outside the scope is not found");

    // Overdue and escalated: a second item whose 时限 has passed.
    let (_, late) = post(&app, &l1.access, "/api/v1/items", issue).await;
    let late_id = late["id"].as_str().unwrap().to_owned();
    app.execute_sql(&format!(
        "UPDATE items SET due = '2026-01-05' WHERE doc_id = '{late_id}'"
    ))
    .await;
    let (_, listed) = app.get("/api/v1/items", &s1.access).await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == late_id.as_str())
        .unwrap();
    assert_eq!(
        (row["overdue"].as_bool(), row["escalated"].as_bool()),
        (Some(true), Some(true)),
        "{row}"
    );
    assert!(row["overdue_days"].as_i64().unwrap() > 3);

    // The month's review facts count u1's items and the overdue one.
    let month = sync_core::china::today().format("%Y-%m").to_string();
    let (status, m) = app
        .get(&format!("/api/v1/units/t1/reviews/{month}"), &l1.access)
        .await;
    assert_eq!(status, 200, "{m}");
    let u1_row = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == "u1")
        .unwrap();
    assert!(u1_row["facts"]["items"].as_i64().unwrap() >= 1, "{u1_row}");
    assert_eq!(u1_row["facts"]["items_overdue"], 1, "{u1_row}");
}
on_both_databases!(issue_work_offline_send_back_and_confirm, items_loop);

/// A client of an older version, which does not say it reads items, is
/// never sent one (it would refuse the id and with it the whole reply).
async fn old_clients(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let l1 = app.login("l1", "web", &[Actor::random().to_hex()]).await;
    let (status, item) = post(
        &app,
        &l1.access,
        "/api/v1/items",
        json!({
            "list": "problem", "source": "self_check", "title": "台账不全",
            "content": "上月走访台账缺三户。", "due_workdays": 10, "responsible": "u1",
        }),
    )
    .await;
    assert_eq!(status, 201, "{item}");
    let u1 = app
        .login("u1", "old-phone", &[Actor::random().to_hex()])
        .await;
    let old = sync_core::protocol::Batch::default();
    assert!(!old.reads_items);
    let r = app
        .http
        .post(app.url("/api/v1/sync"))
        .bearer_auth(&u1.access)
        .header("content-type", sync_core::protocol::CONTENT_TYPE)
        .body(old.encode())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let reply = sync_core::protocol::Batch::decode(&r.bytes().await.unwrap()).unwrap();
    assert!(reply.entries.is_empty(), "{:?}", reply.entries);
    let new = sync_core::protocol::Batch {
        reads_items: true,
        ..Default::default()
    };
    let r = app
        .http
        .post(app.url("/api/v1/sync"))
        .bearer_auth(&u1.access)
        .header("content-type", sync_core::protocol::CONTENT_TYPE)
        .body(new.encode())
        .send()
        .await
        .unwrap();
    let reply = sync_core::protocol::Batch::decode(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.entries.len(), 1);
    assert_eq!(
        reply.entries[0].doc.to_string(),
        item["id"].as_str().unwrap()
    );
}
on_both_databases!(older_clients_are_never_sent_items, old_clients);

/// The 督办 pages: a leader issues on the web, the phone asks to close,
/// the leader sends back (a reason is required, in Chinese), confirms, and
/// the month's 台账 counts it, on the page and in the spreadsheet.
async fn web_pages(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let (web, cookie) = app.web_session("l1").await;
    let get = |path: String| {
        let (web, cookie) = (web.clone(), cookie.clone());
        let url = app.url(&path);
        async move {
            let r = web.get(url).header("cookie", cookie).send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        }
    };
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let (web, cookie) = (web.clone(), cookie.clone());
        let url = app.url(&path);
        async move {
            let r = web
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (r.status().as_u16(), location, r.text().await.unwrap())
        }
    };
    let (status, form) = get("/web/items/new".into()).await;
    let form = String::from_utf8(form).unwrap();
    assert_eq!(status, 200);
    assert!(
        form.contains("value=\"u1\"") && !form.contains("value=\"u2\""),
        "only people in scope: {form}"
    );

    let (status, to, _) = post(
        "/web/items".into(),
        vec![
            ("list", "supervision".into()),
            ("source", "inspection".into()),
            ("title", "整改村务公开栏".into()),
            ("content", "明察暗访发现公开栏内容过期。".into()),
            ("measures", "三日内更新并拍照回传。".into()),
            ("workdays", "3".into()),
            ("responsible", "u1".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let to = to.unwrap();
    assert!(
        to.starts_with("/web/items/item:") && to.ends_with("?done=issued"),
        "{to}"
    );
    let item_id = to
        .trim_start_matches("/web/items/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let (_, page) = get(to.clone()).await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("整改村务公开栏")
            && page.contains("明察暗访")
            && page.contains("办理中")
            && page.contains("已交办"),
        "{page}"
    );
    assert!(
        !page.contains("id=\"confirm-form\""),
        "nothing to confirm yet"
    );

    // The phone asks to close.
    let mut phone = MemoryReplica::new(Actor::random());
    let u1 = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    app.sync(&mut phone, &u1.access).await;
    let id = DocId::parse(&item_id).unwrap();
    let ctx = EditContext {
        user: UserId::parse("u1").unwrap(),
        role: Role::Cadre,
        now_ms: sync_core::china::now().timestamp_millis(),
    };
    phone
        .edit(&id, &step(StepAction::RequestClose, "已更新公开栏"), &ctx)
        .unwrap();
    app.sync(&mut phone, &u1.access).await;
    let (_, list) = get("/web/items".into()).await;
    let list = String::from_utf8(list).unwrap();
    assert!(
        list.contains("id=\"waiting\"") && list.contains("待确认销号"),
        "{list}"
    );

    // Sending back needs a reason; then it goes, then 销号.
    let steps = format!("/web/items/{item_id}/steps");
    let (status, _, body) = post(
        steps.clone(),
        vec![("action", "send_back".into()), ("text", " ".into())],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("退回须写明原因"), "{body}");
    let (status, to, _) = post(
        steps.clone(),
        vec![("action", "send_back".into()), ("text", "请附照片".into())],
    )
    .await;
    assert_eq!(
        (status, to.as_deref()),
        (
            303,
            Some(format!("/web/items/{item_id}?done=send_back").as_str())
        )
    );
    app.sync(&mut phone, &u1.access).await;
    phone
        .edit(&id, &step(StepAction::RequestClose, "已补照片"), &ctx)
        .unwrap();
    app.sync(&mut phone, &u1.access).await;
    let (status, _, _) = post(
        steps.clone(),
        vec![("action", "confirm".into()), ("text", "".into())],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = get(format!("/web/items/{item_id}")).await;
    let page = String::from_utf8(page).unwrap();
    for shown in [
        "已销号",
        "申请销号",
        "退回",
        "请附照片",
        "确认销号",
        "由用户l1确认销号",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }

    // The month's 台账.
    let month = sync_core::china::today().format("%Y-%m").to_string();
    let (status, ledger) = get(format!("/web/units/t1/items/{month}")).await;
    let ledger = String::from_utf8(ledger).unwrap();
    assert_eq!(status, 200);
    assert!(
        ledger.contains("督办事项台账") && ledger.contains("用户u1"),
        "{ledger}"
    );
    let total = ledger.split("id=\"ledger-total\"").nth(1).unwrap();
    let numbers: Vec<&str> = total
        .split("<th class=\"num\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["1", "1", "0", "0", "0", "1"],
        "issued, on time, late, open, overdue, sent back"
    );
    let (status, bytes) = get(format!("/web/units/t1/items/{month}/export.xlsx")).await;
    assert_eq!(status, 200);
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range(&month).unwrap();
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert!(
        cells[0][0].contains("石门镇") && cells[0][0].contains("督办事项台账"),
        "{cells:?}"
    );
    assert_eq!(cells[2][0], "用户u1");
    assert_eq!(cells[3][0], "合计");
}
on_both_databases!(issue_and_confirm_on_the_web_pages, web_pages);

/// Point 4: a leader hands a 固定任务 into a cadre's month plan. It shows
/// in the plan wherever the plan is read (the cadre's page, the month's
/// notices, the 月点评 facts), marked as handed down, and the cadre's
/// request to close does not make it done: only the issuer's 销号 does.
async fn handed_tasks(db: Db) {
    use chrono::Datelike;
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let today = sync_core::china::now().date_naive();
    let month = today.format("%Y-%m").to_string();
    let next = today
        .with_day(1)
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    let last = next.pred_opt().unwrap();
    let l1 = app.login("l1", "web-l1", &[]).await.access;
    let u1 = app.login("u1", "web-u1", &[]).await.access;
    let (status, item) = post(
        &app,
        &l1,
        "/api/v1/items",
        json!({
            "list": "task", "source": "superior", "title": "完成冬季防火巡查排班",
            "content": "按镇里统一部署，排好本村冬季防火巡查班次。", "measures": "",
            "due": last.to_string(), "responsible": "u1",
        }),
    )
    .await;
    assert_eq!(status, 201, "{item}");
    let item_id = item["id"].as_str().unwrap().to_owned();
    // An item of another list or another month is not in the plan.
    let (status, other) = post(
        &app,
        &l1,
        "/api/v1/items",
        json!({
            "list": "supervision", "source": "meeting", "title": "整改村务公开栏",
            "content": "公开栏内容过期。", "measures": "更新", "due": last.to_string(),
            "responsible": "u1",
        }),
    )
    .await;
    assert_eq!(status, 201, "{other}");

    let (web, cookie) = app.web_session("l1").await;
    let page = |path: String| {
        let (web, cookie) = (web.clone(), cookie.clone());
        let url = app.url(&path);
        async move {
            let r = web.get(url).header("cookie", cookie).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = page("/web/users/u1".into()).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("完成冬季防火巡查排班")
            && html.contains("上级交办：用户l1")
            && html.contains(&format!("/web/items/{item_id}")),
        "the cadre's page shows the handed task in the plan: {html}"
    );
    assert!(
        !html.contains("整改村务公开栏"),
        "a 督办 item is not a plan task"
    );
    let (status, html) = page(format!("/web/units/t1/weeks/{month}-start")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("完成冬季防火巡查排班") && html.contains("上级交办：用户l1"),
        "the month-start notice lists it as a 固定任务 handed down: {html}"
    );

    let facts = |token: String| {
        let path = format!("/api/v1/units/t1/reviews/{month}");
        let app = &app;
        async move {
            let (status, m) = app.get(&path, &token).await;
            assert_eq!(status, 200, "{m}");
            let row = m["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["user_id"] == "u1")
                .unwrap()
                .clone();
            let f = &row["facts"];
            // A handed task is a plan task, not a 督办 item too: only the
            // supervision item counts there.
            assert_eq!(f["items"], json!(1), "{f}");
            (f["tasks_done"].clone(), f["tasks_open"].clone())
        }
    };
    assert_eq!(facts(l1.clone()).await, (json!(0), json!(1)));
    // A task due next month is in this month's plan too (and next
    // month's), from the month it was handed down.
    let (status, later) = post(
        &app,
        &l1,
        "/api/v1/items",
        json!({
            "list": "task", "source": "meeting", "title": "完成全村危房排查",
            "content": "逐户排查。", "measures": "", "due": (next + chrono::Days::new(9)).to_string(),
            "responsible": "u1",
        }),
    )
    .await;
    assert_eq!(status, 201, "{later}");
    let (_, html) = page("/web/users/u1".into()).await;
    assert!(html.contains("完成全村危房排查"), "{html}");
    let (_, html) = page(format!(
        "/web/units/t1/weeks/{}-start",
        next.format("%Y-%m")
    ))
    .await;
    // (and this month's task, while it is open: carried until closed.)
    assert!(
        html.contains("完成全村危房排查") && html.contains("完成冬季防火巡查排班"),
        "{html}"
    );
    assert_eq!(facts(l1.clone()).await, (json!(0), json!(2)));
    let (status, body) = post(
        &app,
        &u1,
        &format!("/api/v1/items/{}/steps", later["id"].as_str().unwrap()),
        json!({"action": "request_close", "text": "已排查完毕"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // The cadre asks to close: not done until the issuer confirms.
    let steps = format!("/api/v1/items/{item_id}/steps");
    let (status, body) = post(
        &app,
        &u1,
        &steps,
        json!({"action": "request_close", "text": "已排班公示"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(facts(l1.clone()).await, (json!(0), json!(2)));
    let (_, html) = page(format!("/web/units/t1/weeks/{month}-end")).await;
    assert!(html.contains("待交办人确认"), "{html}");
    let (status, body) = post(
        &app,
        &l1,
        &steps,
        json!({"action": "confirm", "text": "同意"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(facts(l1.clone()).await, (json!(1), json!(1)));
    let (_, html) = page(format!("/web/units/t1/weeks/{month}-end")).await;
    let clause = html
        .split("<li id=\"t-")
        .find(|li| li.contains("完成冬季防火巡查排班"))
        .unwrap_or_default();
    assert!(clause.contains("已销号"), "{clause}");
    // Closed this month, it is not carried into the next.
    let (_, html) = page(format!(
        "/web/units/t1/weeks/{}-start",
        next.format("%Y-%m")
    ))
    .await;
    assert!(
        html.contains("完成全村危房排查") && !html.contains("完成冬季防火巡查排班"),
        "{html}"
    );
    // Closed early (this month) though due next month: not in next month's
    // plan either.
    let later_steps = format!("/api/v1/items/{}/steps", later["id"].as_str().unwrap());
    let (status, body) = post(
        &app,
        &l1,
        &later_steps,
        json!({"action": "confirm", "text": "提前完成"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, html) = page(format!(
        "/web/units/t1/weeks/{}-start",
        next.format("%Y-%m")
    ))
    .await;
    assert!(!html.contains("完成全村危房排查"), "{html}");
}

on_both_databases!(
    a_task_handed_into_the_plan_closes_on_confirmation,
    handed_tasks
);

/// A collaborator's progress note with a photo: the people named on the
/// item (the responsible cadre, who reads no other cadre's records) and
/// the issuer see it; a cadre not named on it does not.
async fn step_photos(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    app.add_user(UserBuilder::cadre("u5").unit("v1").build())
        .await;
    app.add_user(UserBuilder::cadre("u4").unit("v1").build())
        .await;
    let l1 = app.login("l1", "web-l1", &[]).await.access;
    let mut u1_phone = MemoryReplica::new(Actor::random());
    let u1_session = app
        .login("u1", "phone-u1", &[u1_phone.actor().to_hex()])
        .await;
    let u1 = u1_session.access.clone();
    let u4 = app.login("u4", "web-u4", &[]).await.access;
    let mut u5_phone = MemoryReplica::new(Actor::random());
    let u5 = app
        .login("u5", "phone-u5", &[u5_phone.actor().to_hex()])
        .await;
    let (status, item) = post(
        &app,
        &l1,
        "/api/v1/items",
        json!({
            "list": "supervision", "source": "inspection", "title": "清理河道垃圾",
            "content": "明察暗访发现河道垃圾堆积。", "measures": "三日内清理。",
            "due_workdays": 3, "responsible": "u1", "collaborators": ["u5"],
        }),
    )
    .await;
    assert_eq!(status, 201, "{item}");
    let id = DocId::parse(item["id"].as_str().unwrap()).unwrap();
    let (_, problems) = app.sync(&mut u5_phone, &u5.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (_, problems) = app.sync(&mut u1_phone, &u1).await;
    assert!(problems.is_empty(), "{problems:?}");
    let now = sync_core::china::now().timestamp_millis();

    let photo = jishi_tests::photo::jpeg(640, 480, 7);
    let sha = sync_core::validate::PhotoHash::of_bytes(&photo);
    u5_phone
        .edit(
            &id,
            &Edit::AddItemStep {
                id: ItemId::random(),
                step: StepFields {
                    verdict: None,
                    action: StepAction::Progress,
                    text: "已清理上游一段".into(),
                    photos: vec![sync_core::document::PhotoRef {
                        hash: sha.clone(),
                        captured_at: None,
                        location: None,
                    }],
                },
            },
            &EditContext {
                user: UserId::parse("u5").unwrap(),
                role: Role::Cadre,
                now_ms: now + 120_000,
            },
        )
        .unwrap();
    let (_, problems) = app.sync(&mut u5_phone, &u5.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    // The responsible cadre, offline and not having seen it, shows the
    // same photo (sent round on WeChat) in a step dated before it — and
    // never uploads it: the collaborator's reference still stands.
    u1_phone
        .edit(
            &id,
            &Edit::AddItemStep {
                id: ItemId::random(),
                step: StepFields {
                    verdict: None,
                    action: StepAction::Progress,
                    text: "转发现场照片".into(),
                    photos: vec![sync_core::document::PhotoRef {
                        hash: sha.clone(),
                        captured_at: None,
                        location: None,
                    }],
                },
            },
            &EditContext {
                user: UserId::parse("u1").unwrap(),
                role: Role::Cadre,
                now_ms: now + 60_000,
            },
        )
        .unwrap();
    let (_, problems) = app.sync(&mut u1_phone, &u1).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (status, body) = app.upload(&u5.access, &photo).await;
    assert_eq!(status.as_u16(), 201, "{body}");

    let thumb = |token: String| {
        let url = app.url(&format!("/api/v1/blobs/{sha}/thumbnail"));
        let http = app.http.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(thumb(u5.access.clone()).await, 200, "the uploader");
    assert_eq!(thumb(u1.clone()).await, 200, "the responsible cadre");
    assert_eq!(thumb(l1.clone()).await, 200, "the issuer");
    assert_eq!(thumb(u4.clone()).await, 404, "a cadre not named on it");
}

on_both_databases!(
    a_collaborators_step_photo_is_seen_by_those_named_on_the_item,
    step_photos
);
