//! The supervisors' web pages over real HTTP: sessions, scope, comments
//! written through the phone's write rules, reviews, publications.

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use reqwest::redirect::Policy;
use sync_core::document::{
    ActivityFields, Category, EntryFields, NightKind, PhotoRef, Record, TaskFields, TaskKind,
    TaskStatus, TextTarget,
};
use sync_core::replica::Replica;
use sync_core::validate::{Location, PhotoHash, TimeOfDay};
use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};

use jishi_tests::{on_both_databases, Db, TestApp, PASSWORD};

/// A browser: no redirects followed, the session cookie kept by hand.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: app.url(""),
            cookie: None,
        }
    }

    fn with_cookie(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => r.header("cookie", c),
            None => r,
        }
    }

    async fn get(&self, path: &str) -> (u16, String, String) {
        let r = self
            .with_cookie(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = header(&r, "location");
        (status, location, r.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let r = self
            .with_cookie(self.http.post(format!("{}{path}", self.base)))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = header(&r, "location");
        (status, location, r.text().await.unwrap())
    }

    async fn login(&mut self, login: &str, password: &str) -> (u16, String, String) {
        let r = self
            .http
            .post(format!("{}/web/login", self.base))
            .form(&[("login", login), ("password", password), ("next", "/web/")])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if let Some(c) = r.headers().get("set-cookie") {
            let c = c.to_str().unwrap();
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                "{c}"
            );
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
        let location = header(&r, "location");
        (status, location, r.text().await.unwrap())
    }
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn ctx(u: &str) -> EditContext {
    EditContext {
        user: user(u),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    }
}
fn entry(text: &str) -> Edit {
    Edit::AddEntry {
        id: ItemId::random(),
        fields: EntryFields {
            time: TimeOfDay::parse("09:00").unwrap(),
            category: Category::Visit,
            place: "青山村".into(),
            text: text.into(),
            households: 2,
            location: None,
        },
    }
}

async fn sessions_and_scope(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut b = Browser::new(&app);
    // Without a session every page sends to the login page, and back.
    let (status, location, _) = b.get("/web/units/t1").await;
    assert_eq!(status, 303);
    assert_eq!(location, "/web/login?next=/web/units/t1");
    let (status, _, html) = b.get("/web/login").await;
    assert_eq!(status, 200);
    assert!(html.contains("登录") && html.contains("lang=\"zh-CN\""));
    // Wrong password, a cadre, and bad input: refused in Chinese, no cookie.
    let (status, _, html) = b.login("s1", "wrong").await;
    assert_eq!(status, 401);
    assert!(html.contains("用户名或密码错误"), "{html}");
    let (status, _, html) = b.login("u1", PASSWORD).await;
    assert_eq!(status, 403);
    assert!(html.contains("干部请使用手机应用"), "{html}");
    let (status, _, html) = b.post("/web/login", &[("login", "")]).await;
    assert_eq!(status, 400);
    assert!(html.contains("请填写用户名和密码"));
    assert!(b.cookie.is_none());
    // A hostile place to go after login is replaced by the home page.
    for next in [
        "//evil.example/",
        "/web/\r\nSet-Cookie: a=b",
        "https://evil.example/web/",
    ] {
        let r = b
            .http
            .post(app.url("/web/login"))
            .form(&[("login", "l1"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{next:?}");
        assert_eq!(header(&r, "location"), "/web/", "{next:?}");
    }
    // The leader of 石门镇 logs in and sees their township, not the county.
    let (status, location, _) = b.login("l1", PASSWORD).await;
    assert_eq!((status, location.as_str()), (303, "/web/"));
    let (status, _, html) = b.get("/web/").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("石门镇") && html.contains("青山村"));
    assert!(!html.contains("白沙镇"), "outside the scope: {html}");
    // A week selector: any past week, its rates, notices and the months'
    // reviews, written in Chinese.
    let (status, _, html) = b.get("/web/?week=2026-W47").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("第47周 11月16日—11月22日 填报情况"), "{html}");
    assert!(
        html.contains("href=\"/web/?week=2026-W46\"")
            && html.contains("href=\"/web/?week=2026-W48\"")
    );
    assert!(
        html.contains("href=\"/web/units/t1/weeks/2026-W47\""),
        "the township's notice"
    );
    assert!(
        !html.contains("href=\"/web/units/v1/weeks/"),
        "villages do not publish"
    );
    assert!(
        html.contains("href=\"/web/units/t1/reviews/2026-10\"")
            && html.contains("2026年11月月度点评")
    );
    for bad in ["2026-W99", "2999-W01"] {
        let (status, _, html) = b.get(&format!("/web/?week={bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(html.contains("周次格式"));
    }
    let (_, _, html) = b.get("/web/units/t1?week=2026-W47").await;
    assert!(html.contains("第47周 11月16日—11月22日"), "{html}");
    assert!(
        !html.contains(">2026-W") && !html.contains("（2026-W"),
        "no ISO week in the text: {html}"
    );
    let (status, _, html) = b.get("/web/units/t2").await;
    assert_eq!(status, 404);
    assert!(html.contains("不在您的管辖范围内"));
    let (status, _, _) = b.get("/web/users/u2").await;
    assert_eq!(status, 404);
    let (status, _, html) = b.get("/web/units/t1?week=2026-W99").await;
    assert_eq!(status, 400);
    assert!(html.contains("周次格式"));
    // The cookie is not an API token.
    let token = b.cookie.clone().unwrap();
    let token = token.split_once('=').unwrap().1;
    let (status, _) = app.get("/api/v1/me", token).await;
    assert_eq!(status, 401);
    // A form from another site is refused.
    let r = reqwest::Client::new()
        .post(app.url("/web/logout"))
        .header("cookie", b.cookie.clone().unwrap())
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Unknown pages answer in Chinese; pages are not kept by the browser.
    let (status, _, html) = b.get("/web/no/such/page").await;
    assert_eq!(status, 404);
    assert!(html.contains("未找到"));
    let r = reqwest::Client::new()
        .get(app.url("/web/"))
        .header("cookie", b.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "cache-control"), "no-store");
    // A new password ends the web session at once.
    backend::admin::reset_password(&app.state.store, "l1", "another-password-9".into())
        .await
        .unwrap();
    let (status, _, _) = b.get("/web/").await;
    assert_eq!(status, 303, "a session from before the new password");
    backend::admin::reset_password(&app.state.store, "l1", PASSWORD.into())
        .await
        .unwrap();
    b.login("l1", PASSWORD).await;
    // Logging out revokes the session's device at once.
    let old = b.cookie.clone();
    let (status, location, _) = b.post("/web/logout", &[]).await;
    assert_eq!((status, location.as_str()), (303, "/web/login"));
    b.cookie = old;
    let (status, location, _) = b.get("/web/").await;
    assert_eq!(status, 303, "a revoked session must not work");
    assert!(location.starts_with("/web/login"));
}
fn task(title: &str, kind: TaskKind, due: Option<(u32, u32)>) -> (ItemId, Edit) {
    let id = ItemId::random();
    let edit = Edit::AddTask {
        id: id.clone(),
        fields: TaskFields {
            title: title.into(),
            kind,
            due: due.map(|(m, d)| NaiveDate::from_ymd_opt(2026, m, d).unwrap()),
        },
    };
    (id, edit)
}

async fn month_notices(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let store = &app.state.store;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let october = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let plan = DocId::plan(&user("u1"), october);
    let c = EditContext {
        user: user("u1"),
        role: Role::Cadre,
        now_ms: 1_790_900_000_000,
    };
    let (road, e) = task("修通村道", TaskKind::Fixed, Some((10, 20)));
    phone.edit(&plan, &e, &c).unwrap();
    let (dispute, e) = task("调解山林纠纷", TaskKind::Dynamic, None);
    phone.edit(&plan, &e, &c).unwrap();
    let (visit, e) = task("走访低保户", TaskKind::Fixed, None);
    phone.edit(&plan, &e, &c).unwrap();
    let (_study, e) = task("组织党员学习", TaskKind::Fixed, Some((10, 15)));
    phone.edit(&plan, &e, &c).unwrap();
    app.sync(&mut phone, &s.access).await;

    // The supervisor publishes the month's commitments (晒承诺).
    let mut sup = Browser::new(&app);
    sup.login("s1", PASSWORD).await;
    let (status, _, html) = sup.get("/web/units/t1/weeks/2026-10-start").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("id=\"publish\"") && html.contains("修通村道"),
        "{html}"
    );
    let (status, location, _) = sup.post("/web/units/t1/weeks/2026-10-start", &[]).await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/web/units/t1/weeks/2026-10-start")
    );
    let html = reqwest::get(app.url("/p/t1/2026-10-start"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("石门镇2026年10月干部承诺事项公示"), "{html}");
    assert!(html.contains("期限：10月20日") && html.contains("动态任务"));
    assert!(html.contains("公示期") && html.contains("我要反映"));

    // After publication the commitments are locked: changes are allowed,
    // and the month-end notice shows each one.
    phone
        .edit(
            &plan,
            &Edit::SetTaskDue {
                id: road.clone(),
                due: NaiveDate::from_ymd_opt(2026, 10, 25),
            },
            &c,
        )
        .unwrap();
    phone
        .edit(
            &plan,
            &Edit::CloseTask {
                id: road,
                status: TaskStatus::Done,
                note: "已完工验收".into(),
            },
            &c,
        )
        .unwrap();
    phone
        .edit(
            &plan,
            &Edit::CloseTask {
                id: dispute,
                status: TaskStatus::Dropped,
                note: "移交司法所".into(),
            },
            &c,
        )
        .unwrap();
    phone
        .edit(&plan, &Edit::DeleteTask { id: visit }, &c)
        .unwrap();
    let (_, e) = task("抢修水渠", TaskKind::Dynamic, None);
    phone.edit(&plan, &e, &c).unwrap();
    phone
        .edit(
            &plan,
            &Edit::SpliceText {
                target: TextTarget::Summary,
                pos: 0,
                delete: 0,
                insert: "本月修通村道一条。".into(),
            },
            &c,
        )
        .unwrap();
    app.sync(&mut phone, &s.access).await;
    let l1 = app.login("l1", "web-l1", &[]).await.access;
    let r = app
        .http
        .put(app.url("/api/v1/reviews/2026-10/u1"))
        .bearer_auth(&l1)
        .json(&serde_json::json!({"targets": 70, "conduct": 18, "comment": "工作扎实"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // Before its due time a notice cannot be published by hand.
    let (status, _, html) = sup.get("/web/units/t1/weeks/2199-12-end").await;
    assert_eq!(status, 200);
    assert!(html.contains("这个月还没有结束"), "{html}");
    let (status, _, html) = sup.post("/web/units/t1/weeks/2199-12-end", &[]).await;
    assert_eq!(status, 400);
    assert!(html.contains("才能发布"), "{html}");

    // The scheduled task, the day after the review deadline: last week's
    // notice, the month's commitments and last month's month-end notice.
    let after_deadline = chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 6, 9, 0, 0)
        .unwrap();
    let due: Vec<String> = backend::jobs::due_periods(
        app.config(),
        &backend::calendar::Calendar::weekdays(),
        after_deadline,
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(due, ["2026-W44", "2026-11-start", "2026-10-end"]);
    assert!(backend::jobs::publish_due(&app.state, after_deadline).await >= 2);
    assert!(
        store
            .publication("t1", "2026-11-start")
            .await
            .unwrap()
            .is_none(),
        "no plan for November: nothing to show"
    );
    let html = reqwest::get(app.url("/p/t1/2026-10-end"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "石门镇2026年10月干部工作进展及点评公示",
        "公示后修改，原为：修通村道（固定任务，期限10月20日）",
        "已完工验收",
        "公示后取消",
        "走访低保户",
        "公示后新增",
        "抢修水渠",
        "逾期未完成",
        "月小结：本月修通村道一条。",
        "得分 88",
        "点评人：用户l1",
        "工作扎实",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    let json: serde_json::Value = reqwest::get(app.url("/api/v1/publications/t1/2026-10-end"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["part"], "end");
    assert_eq!(json["totals"]["commitments"], 5);
    assert_eq!(json["totals"]["changed"], 4);
    assert_eq!(json["totals"]["overdue"], 1);
    let u1 = json["cadres"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["user_id"] == "u1")
        .unwrap();
    assert_eq!(u1["result"]["total"], 88);
    assert_eq!(json["version"], 1);

    // A month notice is corrected like a weekly one.
    let (status, _, _) = sup
        .post(
            "/web/units/t1/weeks/2026-10-end/versions",
            &[("action", "correct"), ("reason", "补录点评意见")],
        )
        .await;
    assert_eq!(status, 303);
    let html = reqwest::get(app.url("/p/t1/2026-10-end"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("版本记录") && html.contains("补录点评意见"));
    // The amendments list names the plan changed after the commitments.
    let (status, _, html) = sup
        .get("/web/units/t1/weeks/2026-10-start/amendments")
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("月度计划") && html.contains("from=2026-10-01&#38;to=2026-10-31"),
        "{html}"
    );

    // The board lists every kind, newest first; the JSON names the kind.
    let list: serde_json::Value = reqwest::get(app.url("/api/v1/publications/t1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = list["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for k in ["week", "month_start", "month_end"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let r = reqwest::get(app.url("/p/t1/2026-10-middle")).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

/// Leaders read when and where each photo was taken, and whether that fits
/// the day or night the record claims; the public never does.
async fn photo_captions(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    };
    let night = DocId::night(&user("u1"), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
    let visit = ItemId::random();
    phone
        .edit(
            &night,
            &Edit::AddActivity {
                id: visit.clone(),
                fields: ActivityFields {
                    kind: NightKind::Visit,
                    start: TimeOfDay::parse("20:30").unwrap(),
                    end: None,
                    place: "青山村".into(),
                    households: 3,
                    issues: String::new(),
                    help: String::new(),
                },
            },
            &ctx("u1"),
        )
        .unwrap();
    let hash = |c: char| PhotoHash::parse(&c.to_string().repeat(64)).unwrap();
    phone
        .edit(
            &night,
            &Edit::AttachPhoto {
                item: visit.clone(),
                photo: PhotoRef {
                    hash: hash('a'),
                    captured_at: Some(at("2026-11-23T21:05:00+08:00")),
                    location: Some(Location {
                        lat: 31.02901,
                        lon: 106.42178,
                        accuracy_m: 15.0,
                    }),
                },
            },
            &ctx("u1"),
        )
        .unwrap();
    // A photo of another night attached to this one.
    phone
        .edit(
            &night,
            &Edit::AttachPhoto {
                item: visit,
                photo: PhotoRef {
                    hash: hash('b'),
                    captured_at: Some(at("2026-11-18T20:00:00+08:00")),
                    location: None,
                },
            },
            &ctx("u1"),
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");

    let mut leader = Browser::new(&app);
    leader.login("l1", PASSWORD).await;
    let (status, _, html) = leader
        .get("/web/users/u1?from=2026-11-23&to=2026-11-23")
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("拍摄于11月23日 21:05 · 位置 31.02901, 106.42178（±15米）"),
        "{html}"
    );
    assert!(html.contains("拍摄于11月18日 20:00 · 无拍摄位置（拍摄时间与记录日期不符）"));
    // The public page of that week shows neither time nor place.
    backend::publications::publish_week(
        &app.state.store,
        "t1",
        backend::publications::week::IsoWeek::parse("2026-W48").unwrap(),
        &backend::calendar::Calendar::weekdays(),
    )
    .await
    .unwrap();
    let public = reqwest::get(app.url("/p/t1/2026-W48"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("青山村"), "{public}");
    assert!(!public.contains("拍摄于") && !public.contains("31.02901"));
}

on_both_databases!(web_sessions_login_scope_and_logout, sessions_and_scope);

async fn comment_merges(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let date = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
    let id = DocId::diary(&user("u1"), date);
    phone.edit(&id, &entry("上午走访农户"), &ctx("u1")).unwrap();
    app.sync(&mut phone, &s.access).await;
    // Offline again, the cadre adds an entry while the leader comments.
    phone.edit(&id, &entry("下午调解纠纷"), &ctx("u1")).unwrap();
    let mut b = Browser::new(&app);
    b.login("l1", PASSWORD).await;
    let back = "/web/users/u1?from=2026-11-16&to=2026-11-22";
    let (status, _, html) = b.get(back).await;
    assert_eq!(status, 200);
    assert!(html.contains("上午走访农户") && !html.contains("下午调解纠纷"));
    let action = format!("/web/documents/{id}/comments");
    let (status, location, _) = b
        .post(&action, &[("text", "走访要记清户数"), ("back", back)])
        .await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("{back}#diary-u1-2026-11-17"));
    // Bad comments are refused with a reason and store nothing.
    let (status, _, html) = b.post(&action, &[("text", "   "), ("back", back)]).await;
    assert_eq!(status, 400);
    assert!(html.contains("评论内容不能为空"));
    let long = "长".repeat(1001);
    let (status, _, _) = b.post(&action, &[("text", &long)]).await;
    assert_eq!(status, 400);
    let (status, _, html) = b
        .post(
            "/web/documents/diary:u1:2026-11-18/comments",
            &[("text", "无")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("还没有同步"));
    let (status, _, _) = b
        .post(
            "/web/documents/diary:u2:2026-11-17/comments",
            &[("text", "越权")],
        )
        .await;
    assert_eq!(status, 404);
    // The phone syncs: both entries and the one comment, everywhere.
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let Some(Record::Diary(on_phone)) = phone.record(&id).unwrap() else {
        panic!("no diary on the phone");
    };
    assert_eq!(on_phone.entries.len(), 2);
    assert_eq!(on_phone.comments.len(), 1);
    assert_eq!(on_phone.comments[0].author, "l1");
    assert_eq!(on_phone.comments[0].text, "走访要记清户数");
    let (_, _, html) = b.get(back).await;
    assert!(html.contains("下午调解纠纷") && html.contains("走访要记清户数"));
    // The change log names the leader's web session.
    let log = app.state.store.change_log(&id.to_string()).await.unwrap();
    assert!(log
        .iter()
        .any(|c| c.user_id == "l1" && c.device_id.starts_with("web-")));
}
on_both_databases!(web_comment_merges_with_offline_edits, comment_merges);

async fn review_form(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut b = Browser::new(&app);
    b.login("l1", PASSWORD).await;
    let (status, _, html) = b.get("/web/units/t1/reviews/2020-01").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("用户u1") && html.contains("提交点评"));
    // The draft comment carries the month's facts.
    assert!(html.contains("本月填报工作纪实0天"));
    let (status, location, _) = b
        .post(
            "/web/reviews/2020-01/u1",
            &[
                ("targets", "90"),
                ("conduct", "10"),
                ("comment", "好"),
                ("unit", "t1"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, _, html) = b.get(&location).await;
    assert!(html.contains("0 到 80"), "{html}");
    let (status, _, _) = b
        .post(
            "/web/reviews/2020-01/u1",
            &[("targets", "abc"), ("conduct", "10"), ("unit", "t1")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(app
        .state
        .store
        .review("u1", "2020-01")
        .await
        .unwrap()
        .is_none());
    let (status, location, _) = b
        .post(
            "/web/reviews/2020-01/u1",
            &[
                ("targets", "72"),
                ("conduct", "18"),
                ("comment", "走访扎实"),
                ("unit", "t1"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, _, html) = b.get(&location).await;
    assert!(html.contains("已保存对用户u1的点评（逾期提交）"), "{html}");
    // Late is the reviewer's doing: the tag sits with him, not the cadre.
    assert!(
        html.contains("用户l1 <span class=\"tag warn\">点评逾期</span></td>"),
        "{html}"
    );
    assert!(html.contains("2020年1月月度点评") && html.contains("@media print"));
    assert!(html.contains("<b>90</b>") && html.contains("走访扎实"));
    let review = app
        .state
        .store
        .review("u1", "2020-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (review.targets, review.conduct, review.late),
        (72, 18, true)
    );
    let r = reqwest::Client::new()
        .get(app.url("/web/units/t1/reviews/2020-01/export.xlsx"))
        .header("cookie", b.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    // The supervisor over the county is not u1's reviewer: no form for u1.
    let mut s = Browser::new(&app);
    s.login("s1", PASSWORD).await;
    let (status, _, html) = s.get("/web/units/t1/reviews/2020-01").await;
    assert_eq!(status, 200);
    assert!(!html.contains("action=\"/web/reviews/2020-01/u1\""));
    let (status, location, _) = s
        .post(
            "/web/reviews/2020-01/u1",
            &[("targets", "10"), ("conduct", "10"), ("unit", "t1")],
        )
        .await;
    assert_eq!(status, 403, "{location}");
}
on_both_databases!(web_review_form_validates_and_saves, review_form);

async fn publication_preview(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let date = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
    phone
        .edit(
            &DocId::diary(&user("u1"), date),
            &entry("入户走访五户"),
            &ctx("u1"),
        )
        .unwrap();
    app.sync(&mut phone, &s.access).await;
    // A township leader previews but does not publish: supervisors do.
    let mut leader = Browser::new(&app);
    leader.login("l1", PASSWORD).await;
    let (status, _, html) = leader.get("/web/units/t1/weeks/2026-W47").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("预览") && html.contains("入户走访五户") && !html.contains("确认公示"));
    let (status, _, html) = leader.post("/web/units/t1/weeks/2026-W47", &[]).await;
    assert_eq!(status, 403);
    assert!(html.contains("督导人员"));
    let mut b = Browser::new(&app);
    b.login("s1", PASSWORD).await;
    let (status, _, html) = b.get("/web/units/t1/weeks/2026-W47").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("确认公示"));
    assert!(app
        .state
        .store
        .publication("t1", "2026-W47")
        .await
        .unwrap()
        .is_none());
    let (status, location, _) = b.post("/web/units/t1/weeks/2026-W47", &[]).await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/web/units/t1/weeks/2026-W47")
    );
    let (_, _, html) = b.get(&location).await;
    assert!(html.contains("已于") && html.contains("/p/t1/2026-W47"));
    let public = reqwest::get(app.url("/p/t1/2026-W47")).await.unwrap();
    assert_eq!(public.status().as_u16(), 200);
    assert!(public.text().await.unwrap().contains("入户走访五户"));
    // Pressing again changes nothing; a week not over cannot be published;
    // a village does not publish.
    let first = app
        .state
        .store
        .publication("t1", "2026-W47")
        .await
        .unwrap()
        .unwrap();
    b.post("/web/units/t1/weeks/2026-W47", &[]).await;
    let again = app
        .state
        .store
        .publication("t1", "2026-W47")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.content, again.content);
    let today = chrono::Utc::now().date_naive() + Duration::days(1);
    let this_week = format!(
        "{}-W{:02}",
        today.iso_week().year(),
        today.iso_week().week()
    );
    let (status, _, html) = b
        .post(&format!("/web/units/t1/weeks/{this_week}"), &[])
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("下周一"), "{html}");
    let (status, _, _) = b.get("/web/units/v1/weeks/2026-W47").await;
    assert_eq!(status, 400);
    // A supervisor's comment on a published day is not an amendment.
    let diary = DocId::diary(&user("u1"), date);
    let (status, _, _) = b
        .post(
            &format!("/web/documents/{diary}/comments"),
            &[("text", "已阅")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, _, html) = b.get("/web/units/t1/weeks/2026-W47/amendments").await;
    assert!(html.contains("公示后没有修改"), "{html}");
    let public = reqwest::get(app.url("/p/t1/2026-W47")).await.unwrap();
    assert!(!public.text().await.unwrap().contains("公示后有修改"));
    // An edit after publication is listed as an amendment.
    phone
        .edit(
            &DocId::diary(&user("u1"), date),
            &entry("补记：晚上回访"),
            &ctx("u1"),
        )
        .unwrap();
    app.sync(&mut phone, &s.access).await;
    let (status, _, html) = b.get("/web/units/t1/weeks/2026-W47/amendments").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("2026-11-17") && html.contains("用户u1"),
        "{html}"
    );
    assert!(
        !html.contains("<td>用户s1</td>"),
        "the comment is not listed: {html}"
    );
    let public = reqwest::get(app.url("/p/t1/2026-W47")).await.unwrap();
    assert!(public.text().await.unwrap().contains("公示后有修改"));
}
on_both_databases!(
    web_publication_preview_publish_and_amendments,
    publication_preview
);

async fn plan_flags(db: Db) {
    use sync_core::document::{TaskFields, TaskKind, TaskStatus};
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let month = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let plan = DocId::plan(&user("u1"), month);
    let (done, open) = (ItemId::random(), ItemId::random());
    for (id, title) in [(&done, "修通村道"), (&open, "完成危房改造")] {
        let task = Edit::AddTask {
            id: id.clone(),
            fields: TaskFields {
                title: title.into(),
                kind: TaskKind::Fixed,
                due: None,
            },
        };
        phone.edit(&plan, &task, &ctx("u1")).unwrap();
    }
    let close = Edit::CloseTask {
        id: done,
        status: TaskStatus::Done,
        note: "已验收".into(),
    };
    phone.edit(&plan, &close, &ctx("u1")).unwrap();
    app.sync(&mut phone, &s.access).await;
    let mut b = Browser::new(&app);
    b.login("s1", PASSWORD).await;
    let (status, _, html) = b.get("/web/users/u1?from=2020-01-18&to=2020-01-31").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("修通村道") && html.contains("已销号") && html.contains("已验收"));
    assert!(html.contains("完成危房改造") && html.contains("逾期未销号"));
    assert!(html.contains("月末仍有1项未销号"));
    // Workdays with no record are marked.
    assert!(html.contains("1月31日 周五") && html.contains("未填报"));
    let (status, _, html) = b.get("/web/users/u1?from=2020-01-31&to=2020-01-01").await;
    assert_eq!(status, 400);
    assert!(html.contains("结束日期应不早于开始日期"));
}
on_both_databases!(web_plan_flags_tasks_open_at_month_end, plan_flags);

async fn behind_a_proxy(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.web_secure_cookie = true).await;
    app.seed().await;
    let r = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .post(app.url("/web/login"))
        .form(&[("login", "l1"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let cookie = header(&r, "set-cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // The public host arrives as X-Forwarded-Host; a form from it is ours.
    let session = cookie.split(';').next().unwrap().to_owned();
    let logout = |origin: &'static str| {
        reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap()
            .post(app.url("/web/logout"))
            .header("cookie", session.clone())
            .header("origin", origin)
            .header("x-forwarded-host", "jishi.example.gov.cn")
            .send()
    };
    assert_eq!(
        logout("https://evil.example")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        logout("https://jishi.example.gov.cn")
            .await
            .unwrap()
            .status()
            .as_u16(),
        303
    );
}
on_both_databases!(
    web_cookie_secure_and_forwarded_host_behind_a_proxy,
    behind_a_proxy
);

/// The `value` of the form field `name` in a page.
fn form_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

async fn notice_approval_and_versions(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    // 石门镇 publishes when one of its leaders approves.
    backend::admin::set_notice_settings(
        &app.state.store,
        "t1",
        backend::admin::NoticeUpdate {
            approval: Some("leader".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let date = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
    let diary = DocId::diary(&user("u1"), date);
    phone
        .edit(&diary, &entry("入户走访五户"), &ctx("u1"))
        .unwrap();
    app.sync(&mut phone, &s.access).await;

    // The Monday task leaves it to the leader (t2 publishes by itself).
    let monday = chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap();
    // t2's week (its month notices have nothing to show: no plans).
    assert_eq!(backend::jobs::publish_due(&app.state, monday).await, 1);
    let store = &app.state.store;
    for key in ["2026-W47", "2026-11-start", "2026-10-end"] {
        assert!(
            store.publication("t1", key).await.unwrap().is_none(),
            "{key}"
        );
    }
    assert!(store.publication("t2", "2026-W47").await.unwrap().is_some());

    // A supervisor cannot publish it; the leader of 石门镇 approves it.
    let mut sup = Browser::new(&app);
    sup.login("s1", PASSWORD).await;
    let (status, _, html) = sup.get("/web/units/t1/weeks/2026-W47").await;
    assert_eq!(status, 200);
    assert!(html.contains("待石门镇领导审核后公示"), "{html}");
    assert!(!html.contains("id=\"approve\"") && !html.contains("id=\"publish\""));
    let (status, _, html) = sup.post("/web/units/t1/weeks/2026-W47", &[]).await;
    assert_eq!(status, 403);
    assert!(html.contains("本单位领导审核"), "{html}");
    let mut leader = Browser::new(&app);
    leader.login("l1", PASSWORD).await;
    let (status, _, html) = leader.get("/web/units/t1/weeks/2026-W47").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"approve\"") && html.contains("入户走访五户"),
        "{html}"
    );
    let seen = form_value(&html, "digest").unwrap();
    // A record synced after he read it: his approval is refused, nothing
    // is published, and the page shows it to him again.
    phone
        .edit(&diary, &entry("补记：晚上回访"), &ctx("u1"))
        .unwrap();
    app.sync(&mut phone, &s.access).await;
    let (status, _, html) = leader
        .post("/web/units/t1/weeks/2026-W47", &[("digest", &seen)])
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("重新查看"), "{html}");
    assert!(store.publication("t1", "2026-W47").await.unwrap().is_none());
    let (_, _, html) = leader.get("/web/units/t1/weeks/2026-W47").await;
    assert!(html.contains("补记：晚上回访"));
    let seen = form_value(&html, "digest").unwrap();
    // A cadre added to the township after he read it (no record, a new
    // row of 未填报): refused too.
    app.add_user(jishi_tests::UserBuilder::cadre("u8").unit("v1").build())
        .await;
    let (status, _, _) = leader
        .post("/web/units/t1/weeks/2026-W47", &[("digest", &seen)])
        .await;
    assert_eq!(status, 400, "the roster changed after he read it");
    let (_, _, html) = leader.get("/web/units/t1/weeks/2026-W47").await;
    let seen = form_value(&html, "digest").unwrap();
    let (status, location, _) = leader
        .post("/web/units/t1/weeks/2026-W47", &[("digest", &seen)])
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/web/units/t1/weeks/2026-W47")
    );
    let row = store.publication("t1", "2026-W47").await.unwrap().unwrap();
    assert_eq!(row.approved_by.as_deref(), Some("l1"));
    // The month's notices wait for him too, and he approves them the same
    // way.
    let (_, _, html) = sup.get("/web/units/t1/weeks/2026-11-start").await;
    assert!(html.contains("待石门镇领导审核后公示"), "{html}");
    let (_, _, html) = leader.get("/web/units/t1/weeks/2026-11-start").await;
    assert!(
        html.contains("承诺事项公示") && html.contains("id=\"approve\""),
        "{html}"
    );
    let seen = form_value(&html, "digest").unwrap();
    let (status, _, _) = leader
        .post("/web/units/t1/weeks/2026-11-start", &[("digest", &seen)])
        .await;
    assert_eq!(status, 303);
    let month = store
        .publication("t1", "2026-11-start")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(month.approved_by.as_deref(), Some("l1"));
    let public = reqwest::get(app.url("/p/t1/2026-W47")).await.unwrap();
    let html = public.text().await.unwrap();
    assert!(
        html.contains("审核人：用户l1") && html.contains("补记：晚上回访"),
        "{html}"
    );
    assert!(html.contains("id=\"report\"") && html.contains("我要反映"));
    // The printed copy carries a QR code of its own address (the server's
    // address as asked, no public_url being set).
    assert!(
        html.contains("id=\"qr\"") && html.contains("<svg"),
        "{html}"
    );
    assert!(html.contains(&format!("{}/p/t1</small>", app.url(""))));
    assert!(!html.contains("版本记录"), "one version: no history yet");

    // A correction: the reason is required; then a new version from the
    // records as they are now, the first one kept and marked.
    phone
        .edit(&diary, &entry("更正：走访六户"), &ctx("u1"))
        .unwrap();
    app.sync(&mut phone, &s.access).await;
    let versions = "/web/units/t1/weeks/2026-W47/versions";
    let (status, _, html) = leader
        .post(versions, &[("action", "correct"), ("reason", " ")])
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("原因"), "{html}");
    let (status, _, _) = leader
        .post(versions, &[("action", "rewrite"), ("reason", "随便改改")])
        .await;
    assert_eq!(status, 400);
    let (status, location, _) = leader
        .post(
            versions,
            // Two lines, as a browser sends a textarea's (CRLF).
            &[
                ("action", "correct"),
                ("reason", "走访户数有误\r\n已核实更正"),
            ],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/web/units/t1/weeks/2026-W47")
    );
    let html = reqwest::get(app.url("/p/t1/2026-W47"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("更正：走访六户") && html.contains("版本记录"),
        "{html}"
    );
    assert!(html.contains("走访户数有误") && html.contains("href=\"/p/t1/2026-W47/v/1\""));
    assert!(html.contains("现行版本") && html.contains("已被取代"));
    assert!(html.contains("已核实更正"), "the second line of the reason");
    assert!(
        !html.contains("审核人：用户l1"),
        "the approver is named on the version he approved only"
    );
    let old = reqwest::get(app.url("/p/t1/2026-W47/v/1")).await.unwrap();
    assert_eq!(old.status().as_u16(), 200);
    let old = old.text().await.unwrap();
    assert!(
        old.contains("此为第1版") && !old.contains("更正：走访六户"),
        "{old}"
    );
    assert!(old.contains("审核人：用户l1"));
    // The amendments count from the version that stands.
    let (_, _, html) = leader.get("/web/units/t1/weeks/2026-W47/amendments").await;
    assert!(html.contains("公示后没有修改"), "{html}");
    // The supervisor withdraws it; overseers still read every version.
    let (status, _, _) = sup
        .post(
            versions,
            &[("action", "withdraw"), ("reason", "涉及群众隐私")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _, html) = sup
        .post(
            versions,
            &[("action", "withdraw"), ("reason", "涉及群众隐私")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("已经撤回"));
    let r = reqwest::get(app.url("/p/t1/2026-W47")).await.unwrap();
    assert_eq!(
        header(&r, "cache-control"),
        "public, no-cache",
        "caches ask again: a withdrawal reaches the next reader"
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("本公示已于") && html.contains("涉及群众隐私") && html.contains("用户s1"),
        "{html}"
    );
    assert!(!html.contains("走访六户") && !html.contains("href=\"/p/t1/2026-W47/v/1\""));
    let old = reqwest::get(app.url("/p/t1/2026-W47/v/1")).await.unwrap();
    assert_eq!(old.status().as_u16(), 404);
    let (status, _, html) = sup.get("/web/units/t1/weeks/2026-W47?v=1").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("入户走访五户") && html.contains("此为第1版"),
        "{html}"
    );
    let (status, _, _) = sup.get("/web/units/t1/weeks/2026-W47?v=9").await;
    assert_eq!(status, 404);

    // The unit's notice board lists every notice, newest first.
    let (status, _, _) = sup.get("/web/units/t1/weeks/2026-W46").await;
    assert_eq!(status, 200);
    backend::publications::publish_week(
        store,
        "t1",
        backend::publications::week::IsoWeek::parse("2026-W46").unwrap(),
        &backend::calendar::Calendar::weekdays(),
    )
    .await
    .unwrap();
    let board = reqwest::get(app.url("/p/t1")).await.unwrap();
    assert_eq!(board.status().as_u16(), 200);
    let board = board.text().await.unwrap();
    let (w47, w46) = (
        board.find("/p/t1/2026-W47").unwrap(),
        board.find("/p/t1/2026-W46").unwrap(),
    );
    assert!(w47 < w46, "newest first: {board}");
    assert!(board.contains("已撤回") && board.contains("石门镇公示栏"));
    let list: serde_json::Value = reqwest::get(app.url("/api/v1/publications/t1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["notices"][0]["week"], "2026-W47");
    assert_eq!(list["notices"][0]["status"], "withdraw");
    assert_eq!(list["notices"][1]["status"], "publish");

    // A village's board is its township's.
    let (status, location, _) = sup.get("/p/v1").await;
    assert_eq!((status, location.as_str()), (303, "/p/t1"));
    // What does not exist answers a page in Chinese, not the API's JSON.
    for (path, status) in [
        ("/p/nowhere", 404),
        ("/p/c1", 404),
        ("/p/t1/2026-W40", 404),
        ("/p/t1/2026-47", 400),
        ("/p/t1/2026-W47/v/x", 400),
        ("/p/t1/2026-W47/no/such/page", 404),
    ] {
        let r = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert!(
            header(&r, "content-type").starts_with("text/html"),
            "{path}"
        );
        let body = r.text().await.unwrap();
        assert!(
            body.contains("公示栏") && body.contains("lang=\"zh-CN\""),
            "{path}: {body}"
        );
    }
    let r = reqwest::get(app.url("/api/v1/publications/nowhere/2026-W47"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(header(&r, "content-type").starts_with("application/json"));
}
on_both_databases!(
    web_notice_approval_correction_and_withdrawal,
    notice_approval_and_versions
);
on_both_databases!(web_month_notices, month_notices);
on_both_databases!(web_photo_captions_for_leaders_only, photo_captions);
