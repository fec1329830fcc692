//! Issue 27, points 3 to 5: cases the public brings, on the real server.
//! A complaint filed without an account from a cadre's card (proof of work,
//! limits per phone and per address, replays refused, with Chinese
//! messages) goes to the leader above the cadre and never to the cadre;
//! the filer's phone is seen by the handling chain only; the handler
//! answers, the 效能办 confirms it founded, and the filer reads the answer
//! and the verdict with the tracking code. A request goes to the cadre's
//! phone, is answered offline and confirmed. A clerk takes a hotline call.
//! The clock counts three working days by the county's calendar; a case
//! past it is escalated from its first day; a founded complaint is in the
//! month's review facts. No phone can open a case.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde_json::{json, Value};
use sync_core::document::item::{
    ItemBrief, ItemList, ItemSource, ItemStatus, StepAction, StepFields,
};
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Record, Role, UserId};

use backend::cases::pow;
use jishi_tests::{on_both_databases, Db, TestApp};

async fn post(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let mut r = app.http.post(app.url(path)).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A challenge from the server, solved.
async fn proof(app: &TestApp) -> (String, String) {
    let r: Value = app
        .http
        .get(app.url("/api/v1/public/cases/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let challenge = r["challenge"].as_str().unwrap().to_owned();
    let answer = pow::solve(&challenge).unwrap();
    (challenge, answer)
}

/// File `body` with a fresh proof: (status, body, Retry-After).
async fn file(app: &TestApp, mut body: Value) -> (u16, Value, Option<String>) {
    let (challenge, answer) = proof(app).await;
    body["challenge"] = json!(challenge);
    body["answer"] = json!(answer);
    file_as_is(app, body).await
}

async fn file_as_is(app: &TestApp, body: Value) -> (u16, Value, Option<String>) {
    let r = app
        .http
        .post(app.url("/api/v1/public/cases"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap_or(Value::Null), retry)
}

fn step(action: StepAction, text: &str) -> Edit {
    Edit::AddItemStep {
        id: ItemId::random(),
        step: StepFields {
            action,
            text: text.into(),
            photos: Vec::new(),
            verdict: None,
        },
    }
}

fn today() -> NaiveDate {
    sync_core::china::today()
}

async fn cases_from_the_public(db: Db) {
    let app = TestApp::spawn_with(db, |c| {
        c.case_pow_bits = 8;
        c.case_filings_per_phone_day = 2;
        c.case_filings_per_address_hour = 5;
    })
    .await;
    app.seed().await;
    let store = &app.state.store;
    let card = store.card_of("u1").await.unwrap().card_id;
    let complaint = json!({
        "kind": "complaint", "card": card, "content": "他上周答应来看我家漏水的房子，一直没来。",
        "name": "李大姐", "phone": "139 1234 5678",
    });

    // Refused before anything is counted: the form filled wrong, a proof
    // that solves nothing, a card that is none.
    let mut bad = complaint.clone();
    bad["phone"] = json!("12ab");
    let (status, body, _) = file(&app, bad).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_phone")));
    assert!(
        body["message"].as_str().unwrap().contains("联系电话"),
        "{body}"
    );
    let mut bad = complaint.clone();
    bad["content"] = json!("差");
    let (status, body, _) = file(&app, bad).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_content")));
    let mut bad = complaint.clone();
    bad["content"] = json!("长".repeat(1_001));
    assert_eq!(file(&app, bad).await.0, 400);
    let mut bad = complaint.clone();
    bad["kind"] = json!("praise");
    assert_eq!(file(&app, bad).await.1["code"], "bad_kind");
    let mut bad = complaint.clone();
    bad["card"] = json!("0000000000000000");
    assert_eq!(file(&app, bad).await.0, 404);
    let (challenge, _) = proof(&app).await;
    let mut bad = complaint.clone();
    bad["challenge"] = json!(challenge);
    bad["answer"] = json!("not a number");
    let (status, body, _) = file_as_is(&app, bad).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_proof")));
    assert!(body["message"].as_str().unwrap().contains("提交"), "{body}");
    let mut bad = complaint.clone();
    bad["challenge"] = json!(challenge.replacen(".8.", ".1.", 1));
    bad["answer"] = json!("0");
    assert_eq!(
        file_as_is(&app, bad).await.1["code"],
        "bad_proof",
        "a challenge made easier"
    );

    // What our form never sends: wrong types, a body past the limit
    // (refused before it is read whole), no JSON at all.
    let mut bad = complaint.clone();
    bad["content"] = json!({"nested": ["an", "object"]});
    let (status, body, _) = file(&app, bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["code"].is_string() && body["message"].is_string(),
        "{body}"
    );
    let mut huge = complaint.clone();
    huge["content"] = json!("长".repeat(20_000));
    assert_eq!(file(&app, huge).await.0, 413);
    let r = app
        .http
        .post(app.url("/api/v1/public/cases"))
        .header("content-type", "application/json")
        .body("[[[[[[[[[[")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Filed: a tracking code, due in three working days.
    let (status, filed, _) = file(&app, complaint.clone()).await;
    assert_eq!(status, 201, "{filed}");
    let code = filed["code"].as_str().unwrap().to_owned();
    let complaint_id = filed["id"].as_str().unwrap().to_owned();
    let calendar = backend::calendar::Calendar::load(store, "c1")
        .await
        .unwrap();
    assert_eq!(
        filed["due"],
        calendar
            .add_workdays(today(), 3)
            .format("%Y-%m-%d")
            .to_string()
    );
    let mut request = complaint.clone();
    request["kind"] = json!("request");
    request["content"] = json!("想请他帮忙问问低保的申请怎么办。");
    let (status, filed_request, _) = file(&app, request.clone()).await;
    assert_eq!(status, 201, "{filed_request}");
    let request_id = filed_request["id"].as_str().unwrap().to_owned();

    // A third from the same phone in a day is too many.
    let (status, body, retry) = file(&app, request.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_cases"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("电话号码"),
        "{body}"
    );
    assert!(retry.unwrap().parse::<u64>().unwrap() > 0);
    // A proof answers one filing.
    let (challenge, answer) = proof(&app).await;
    let mut other = complaint.clone();
    other["phone"] = json!("13800000001");
    other["challenge"] = json!(challenge);
    other["answer"] = json!(answer);
    assert_eq!(file_as_is(&app, other.clone()).await.0, 201);
    other["phone"] = json!("13800000002");
    let (status, body, _) = file_as_is(&app, other.clone()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("proof_used")));
    // Six from one address in an hour are too many (the replay counted
    // against no one).
    other["phone"] = json!("13800000003");
    assert_eq!(file(&app, other.clone()).await.0, 201);
    other["phone"] = json!("+86 138 0000 0004");
    let (status, body, _) = file(&app, other).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_cases"))
    );
    assert!(body["message"].as_str().unwrap().contains("网络"), "{body}");

    // The filer follows it with the code, however typed.
    let typed = code.to_lowercase().replace('-', " ");
    let (status, seen) = post(
        &app,
        None,
        "/api/v1/public/cases/lookup",
        json!({ "code": typed }),
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["state"], "received");
    assert_eq!(seen["kind_zh"], "投诉举报");
    assert_eq!(seen["concerns"], "用户u1");
    assert_eq!(seen["answer"], Value::Null);
    assert!(seen.get("phone").is_none() && !seen.to_string().contains("13912345678"));
    let (status, _) = post(
        &app,
        None,
        "/api/v1/public/cases/lookup",
        json!({"code": "ABCD-EFGH-JKMN"}),
    )
    .await;
    assert_eq!(status, 404);

    // The complaint is the leader's to handle and the 效能办's to confirm;
    // the cadre it concerns neither reads it nor sees who filed it.
    let mut u1_phone = MemoryReplica::new(Actor::random());
    let u1 = app.login("u1", "phone", &[u1_phone.actor().to_hex()]).await;
    let mut l1_phone = MemoryReplica::new(Actor::random());
    let l1 = app
        .login("l1", "phone-l1", &[l1_phone.actor().to_hex()])
        .await;
    let s1 = app.login("s1", "web-s1", &[Actor::random().to_hex()]).await;
    let u2 = app.login("u2", "web-u2", &[Actor::random().to_hex()]).await;
    let (status, item) = app
        .get(&format!("/api/v1/items/{complaint_id}"), &l1.access)
        .await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(
        (
            item["list"].as_str(),
            item["source"].as_str(),
            item["responsible"]["id"].as_str(),
            item["issuer"]["id"].as_str()
        ),
        (Some("complaint"), Some("public"), Some("l1"), Some("s1"))
    );
    for who in [&l1, &s1] {
        let (status, filer) = app
            .get(&format!("/api/v1/cases/{complaint_id}/filer"), &who.access)
            .await;
        assert_eq!(status, 200, "{filer}");
        assert_eq!(
            (filer["name"].as_str(), filer["phone"].as_str()),
            (Some("李大姐"), Some("13912345678"))
        );
    }
    for who in [&u1, &u2] {
        for path in [
            format!("/api/v1/items/{complaint_id}"),
            format!("/api/v1/cases/{complaint_id}/filer"),
        ] {
            assert_eq!(app.get(&path, &who.access).await.0, 404, "{path}");
        }
    }
    let (_, problems) = app.sync(&mut u1_phone, &u1.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let complaint_doc = DocId::parse(&complaint_id).unwrap();
    let request_doc = DocId::parse(&request_id).unwrap();
    assert!(!u1_phone.doc_ids().contains(&complaint_doc));
    assert!(
        u1_phone.doc_ids().contains(&request_doc),
        "a request is theirs"
    );
    app.sync(&mut l1_phone, &l1.access).await;
    assert!(l1_phone.doc_ids().contains(&complaint_doc));

    // The leader answers; the answer shows once the 效能办 confirms, with
    // the verdict it must give.
    let steps = format!("/api/v1/items/{complaint_id}/steps");
    let (status, body) = post(
        &app,
        Some(&l1.access),
        &steps,
        json!({"action": "request_close", "text": "已约谈本人并上门查看，漏水已于今日修好。"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, seen) = post(
        &app,
        None,
        "/api/v1/public/cases/lookup",
        json!({ "code": code }),
    )
    .await;
    assert_eq!(
        (seen["state"].as_str(), &seen["answer"]),
        (Some("answered"), &Value::Null)
    );
    let (status, body) = post(&app, Some(&s1.access), &steps, json!({"action": "confirm"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_verdict")),
        "{body}"
    );
    let (status, body) = post(
        &app,
        Some(&s1.access),
        &steps,
        json!({"action": "confirm", "verdict": "maybe"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_verdict")),
        "{body}"
    );
    let (status, body) = post(
        &app,
        Some(&s1.access),
        &steps,
        json!({"action": "confirm", "verdict": "founded", "text": "经核实属实"}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (201, Some("closed")),
        "{body}"
    );
    let (_, seen) = post(
        &app,
        None,
        "/api/v1/public/cases/lookup",
        json!({ "code": code }),
    )
    .await;
    assert_eq!(seen["state"], "closed");
    assert_eq!(seen["answer"], "已约谈本人并上门查看，漏水已于今日修好。");
    assert_eq!(
        (seen["verdict"].as_str(), seen["verdict_zh"].as_str()),
        (Some("founded"), Some("属实"))
    );

    // In the web pages too: the handler sees the filer; a peer leader who
    // reads the case does not.
    app.add_user(
        jishi_tests::UserBuilder::leader("l2")
            .unit("t1")
            .scope("t1")
            .build(),
    )
    .await;
    for (who, sees) in [("l1", true), ("s1", true), ("l2", false)] {
        let (web, cookie) = app.web_session(who).await;
        let r = web
            .get(app.url(&format!("/web/items/{complaint_id}")))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{who}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("投诉举报") && html.contains("属实"),
            "{who}: {html}"
        );
        assert_eq!(html.contains("13912345678"), sees, "{who}");
        assert_eq!(html.contains("李大姐"), sees, "{who}");
    }

    // The month's review facts count it against the cadre.
    let first = today().with_day(1).unwrap();
    assert_eq!(
        backend::cases::month_facts(store, "u1", first)
            .await
            .unwrap(),
        (1, 0)
    );

    // The request is answered on the cadre's phone, offline; its 销号
    // carries no verdict.
    let ctx = |u: &str, role: Role| EditContext {
        user: UserId::parse(u).unwrap(),
        role,
        now_ms: sync_core::china::now().timestamp_millis(),
    };
    u1_phone
        .edit(
            &request_doc,
            &step(
                StepAction::RequestClose,
                "已电话告知低保申请材料和办理地点。",
            ),
            &ctx("u1", Role::Cadre),
        )
        .unwrap();
    let (_, problems) = app.sync(&mut u1_phone, &u1.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let steps = format!("/api/v1/items/{request_id}/steps");
    let (status, body) = post(
        &app,
        Some(&l1.access),
        &steps,
        json!({"action": "confirm", "verdict": "founded"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_verdict")),
        "{body}"
    );
    let (status, body) = post(&app, Some(&l1.access), &steps, json!({"action": "confirm"})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (201, Some("closed")),
        "{body}"
    );
    app.sync(&mut u1_phone, &u1.access).await;
    match u1_phone.document(&request_doc).unwrap().unwrap().read() {
        Record::Item(i) => assert_eq!(i.standing().status, ItemStatus::Closed),
        other => panic!("{other:?}"),
    }

    // No phone opens a case: none could be made up without a filer.
    let made_up = DocId::new_item();
    l1_phone
        .edit(
            &made_up,
            &Edit::IssueItem {
                brief: ItemBrief {
                    list: ItemList::Complaint,
                    source: ItemSource::Public,
                    title: "投诉：编造的".into(),
                    content: "没有人反映过".into(),
                    measures: String::new(),
                    due: today() + Days::new(3),
                    unit: "v1".into(),
                    responsible: UserId::parse("u1").unwrap(),
                    collaborators: Vec::new(),
                },
            },
            &ctx("l1", Role::Leader),
        )
        .unwrap();
    let (_, problems) = app.sync(&mut l1_phone, &l1.access).await;
    assert!(!problems.is_empty(), "the server refused it");
    assert_eq!(
        app.get(&format!("/api/v1/items/{made_up}"), &l1.access)
            .await
            .0,
        404
    );

    // A clerk takes a hotline call within their scope.
    let call = json!({"kind": "request", "unit": "v1", "content": "村口路灯坏了一个月了。",
                      "name": "王大爷", "phone": "0736-5551234"});
    let (status, taken) = post(&app, Some(&l1.access), "/api/v1/cases", call.clone()).await;
    assert_eq!(status, 201, "{taken}");
    let hotline_id = taken["id"].as_str().unwrap().to_owned();
    let (_, filer) = app
        .get(&format!("/api/v1/cases/{hotline_id}/filer"), &l1.access)
        .await;
    assert_eq!(
        (
            filer["via"].as_str(),
            filer["clerk"].as_str(),
            filer["phone"].as_str()
        ),
        (Some("hotline"), Some("用户l1"), Some("07365551234"))
    );
    assert_eq!(
        post(&app, Some(&u1.access), "/api/v1/cases", call.clone())
            .await
            .0,
        403
    );
    let mut outside = call.clone();
    outside["unit"] = json!("t2");
    assert_eq!(
        post(&app, Some(&l1.access), "/api/v1/cases", outside)
            .await
            .0,
        404
    );

    // Due today: flagged; past it: overdue and escalated from the first
    // day (a 督办 item waits three).
    let item_path = format!("/api/v1/items/{hotline_id}");
    let (_, item) = app.get(&item_path, &l1.access).await;
    assert_eq!(
        (item["due_soon"].as_bool(), item["overdue"].as_bool()),
        (Some(false), Some(false))
    );
    let set_due = |d: NaiveDate| {
        format!(
            "UPDATE items SET due = '{}' WHERE doc_id = '{hotline_id}'",
            d.format("%Y-%m-%d")
        )
    };
    app.execute_sql(&set_due(today())).await;
    let (_, item) = app.get(&item_path, &l1.access).await;
    assert_eq!(item["due_soon"], true, "{item}");
    app.execute_sql(&set_due(today() - Days::new(1))).await;
    let (_, item) = app.get(&item_path, &l1.access).await;
    assert_eq!(
        (
            item["overdue"].as_bool(),
            item["escalated"].as_bool(),
            item["due_soon"].as_bool()
        ),
        (Some(true), Some(true), Some(false)),
        "{item}"
    );
    let (_, listed) = app.get("/api/v1/items", &s1.access).await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == hotline_id.as_str())
        .unwrap();
    assert_eq!(row["escalated"], true, "the level above sees it");
    assert_eq!(
        backend::cases::month_facts(store, "l1", first)
            .await
            .unwrap()
            .1,
        i64::from(today() - Days::new(1) >= first),
        "an overdue case counts in the handler's month"
    );

    // A leader who reads the case is not its confirmer: only the 效能办
    // named on it closes it.
    let l2 = app.login("l2", "web-l2", &[Actor::random().to_hex()]).await;
    let hotline_steps = format!("/api/v1/items/{hotline_id}/steps");
    let (status, body) = post(
        &app,
        Some(&l1.access),
        &hotline_steps,
        json!({"action": "request_close", "text": "路灯已报修，明天更换。"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, seen) = app
        .get(&format!("/api/v1/items/{hotline_id}"), &l2.access)
        .await;
    assert_eq!(status, 200, "a peer leader reads it");
    assert_eq!(seen["may"], json!(["progress"]), "{seen}");
    let (status, _) = post(
        &app,
        Some(&l2.access),
        &hotline_steps,
        json!({"action": "confirm"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &app,
        Some(&s1.access),
        &hotline_steps,
        json!({"action": "confirm"}),
    )
    .await;
    assert_eq!(status, 201);

    // The month's figures of the township: five cases, three complaints,
    // one founded, three answered in time (the hotline one too: its 时限
    // changed by hand was rebuilt from its document at its next step).
    let unit = store.unit("t1").await.unwrap().unwrap();
    let month = today().format("%Y-%m").to_string();
    let figures = backend::cases::stats::of_month(&app.state, &unit, &month)
        .await
        .unwrap();
    let t = &figures.total;
    assert_eq!(
        (t.received, t.complaints, t.requests, t.founded),
        (5, 3, 2, 1),
        "{t:?}"
    );
    assert_eq!(
        (t.in_time, t.late, t.open, t.overdue),
        (3, 0, 2, 0),
        "{t:?}"
    );
    let (web, cookie) = app.web_session("l1").await;
    let html = web
        .get(app.url(&format!("/web/units/t1/cases/{month}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("群众反映办理统计") && html.contains("青山村"),
        "{html}"
    );
    assert!(!html.contains("13912345678"), "no filer in the figures");
    let r = web
        .get(app.url(&format!("/web/units/t1/cases/{month}/export.xlsx")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
}

on_both_databases!(public_cases_are_handled_and_answered, cases_from_the_public);

/// The three working days skip a weekend and holidays and count a make-up
/// working day, by the county's calendar.
async fn the_clock_reads_the_county_calendar(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.case_pow_bits = 4).await;
    app.seed().await;
    let store = &app.state.store;
    let t = today();
    let holidays: Vec<NaiveDate> = vec![t + Days::new(1), t + Days::new(2)];
    let makeup = (3..10)
        .map(|n| t + Days::new(n))
        .find(|d| d.weekday() == Weekday::Sat)
        .unwrap();
    let days = |ds: &[NaiveDate]| -> Vec<String> {
        ds.iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect()
    };
    store
        .set_calendar_days("c1", &days(&holidays), "holiday", "假日", "admin", "cli")
        .await
        .unwrap();
    store
        .set_calendar_days(
            "c1",
            &days(&[makeup]),
            "workday",
            "调休上班",
            "admin",
            "cli",
        )
        .await
        .unwrap();
    // By hand: the next three days that are working days.
    let mut want = t;
    let mut left = 3;
    while left > 0 {
        want = want.succ_opt().unwrap();
        let weekend = matches!(want.weekday(), Weekday::Sat | Weekday::Sun);
        let working = (want == makeup || !weekend) && !holidays.contains(&want);
        if working {
            left -= 1;
        }
    }
    let (status, filed, _) = file(
        &app,
        json!({"kind": "request", "unit": "v1", "content": "三组的水渠堵了，请派人疏通。", "phone": "13700001111"}),
    )
    .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["due"], want.format("%Y-%m-%d").to_string());
    assert!(
        want > t + Days::new(4),
        "two holidays pushed it past {want}"
    );
}

on_both_databases!(
    case_clock_counts_working_days,
    the_clock_reads_the_county_calendar
);

async fn form_status(app: &TestApp, form: &[(&str, &str)]) -> (u16, String) {
    let r = app
        .http
        .post(app.url("/f"))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The pages: the form names whom it is about and carries a challenge; a
/// refusal shows the form again as filled; the code leads to the case.
async fn the_public_pages(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.case_pow_bits = 6).await;
    app.seed().await;
    let card = app.state.store.card_of("u1").await.unwrap().card_id;
    let r = app
        .http
        .get(app.url(&format!("/f?card={card}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains("反映对象：用户u1（青山村）"), "{html}");
    assert!(html.contains("data-bits=\"6\""));
    let challenge = html
        .split("name=\"challenge\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let answer = pow::solve(&challenge).unwrap();
    let content = "村里的垃圾三天没有人清运了。";
    let (status, html) = form_status(
        &app,
        &[
            ("kind", "request"),
            ("card", &card),
            ("unit", ""),
            ("content", content),
            ("name", ""),
            ("phone", "1"),
            ("challenge", &challenge),
            ("answer", &answer),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("请填写正确的联系电话"), "{html}");
    assert!(html.contains(content), "what was written is kept");
    let (status, html) = form_status(
        &app,
        &[
            ("kind", "request"),
            ("card", &card),
            ("unit", ""),
            ("content", content),
            ("name", ""),
            ("phone", "13600002222"),
            ("challenge", &challenge),
            ("answer", &answer),
        ],
    )
    .await;
    assert_eq!(status, 201, "{html}");
    let code = html
        .split("id=\"case-code\"")
        .nth(1)
        .unwrap()
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let r = app
        .http
        .post(app.url("/q"))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("办理中") && html.contains(content), "{html}");
    let r = app
        .http
        .post(app.url("/q"))
        .form(&[("code", "nothing")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.text().await.unwrap().contains("查询码不正确"));
    let r = app
        .http
        .get(app.url("/f?card=nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.text().await.unwrap().contains("找不到反映对象"));
}

on_both_databases!(case_pages_for_the_public, the_public_pages);
