//! Issue 27, point 4: the county calendar on the real server. An admin of
//! the county sets a holiday range and a make-up working day in the web
//! page; everyone on the web pages reads it; leaders, supervisors and an
//! admin of a township only are refused and nothing is stored; a bad form
//! is shown again as typed with the fix in Chinese; and a 督办 时限 given
//! in working days counts the calendar's days at once. (`jishi admin
//! calendar`: `backend/tests/calendar_cli.rs`; the counting rules:
//! `backend/src/calendar.rs`.)

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use reqwest::StatusCode;
use serde_json::{json, Value};

use jishi_tests::users::UserBuilder;
use jishi_tests::{on_both_databases, Db, TestApp};

struct Web {
    client: reqwest::Client,
    cookie: String,
}

impl Web {
    async fn of(app: &TestApp, login: &str) -> Web {
        let (client, cookie) = app.web_session(login).await;
        Web { client, cookie }
    }

    async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Post the form: status, and the location or the page.
    async fn set(&self, app: &TestApp, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let r = self
            .client
            .post(app.url("/web/calendar"))
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = r.text().await.unwrap();
        (status, location.unwrap_or(body))
    }
}

async fn kept_days(app: &TestApp) -> Vec<(String, String, String)> {
    app.state
        .store
        .calendar_days("c1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.day, r.kind, r.name))
        .collect()
}

async fn calendar_in_the_pages(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    app.add_user(
        UserBuilder::new("a1", "admin")
            .name("管理员甲")
            .unit("c1")
            .scope("c1")
            .build(),
    )
    .await;
    app.add_user(
        UserBuilder::new("a2", "admin")
            .unit("t2")
            .scope("t2")
            .build(),
    )
    .await;
    let admin = Web::of(&app, "a1").await;

    let (status, page) = admin.get(&app, "/web/calendar?year=2031").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("2031年尚未设置") && page.contains(r#"id="calendar-form""#));

    let (status, to) = admin
        .set(
            &app,
            &[
                ("from", "2031-10-01"),
                ("to", "2031-10-08"),
                ("kind", "holiday"),
                ("name", "国庆节"),
            ],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/web/calendar?year=2031&saved=2031-10-01"
        )
    );
    let (status, to) = admin
        .set(
            &app,
            &[
                ("from", "2031-10-11"),
                ("kind", "workday"),
                ("name", "国庆节调休"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    let days = kept_days(&app).await;
    assert_eq!(days.len(), 9);
    assert_eq!(
        days.last().unwrap(),
        &("2031-10-11".into(), "workday".into(), "国庆节调休".into())
    );

    // A leader reads the year, without the form; the history names who.
    let leader = Web::of(&app, "l1").await;
    let (status, page) = leader.get(&app, "/web/calendar?year=2031").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"data-day="2031-10-11""#)
            && page.contains("周六")
            && page.contains("调休上班")
            && page.contains("管理员甲"),
        "{page}"
    );
    assert!(!page.contains(r#"id="calendar-form""#));

    // Refused: a leader, a supervisor, an admin of a township only.
    for login in ["l1", "s1", "a2"] {
        let (status, page) = Web::of(&app, login)
            .await
            .set(
                &app,
                &[
                    ("from", "2031-12-25"),
                    ("kind", "holiday"),
                    ("name", "圣诞"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{login}: {page}");
        assert!(page.contains("县级管理员"), "{page}");
    }
    assert_eq!(kept_days(&app).await, days, "nothing stored");

    // Another county keeps its own: its admin's day is its county's only,
    // and its page does not show this county's changes.
    app.seed_other_county().await;
    app.add_user(
        UserBuilder::new("a3", "admin")
            .name("管理员丙")
            .unit("c2")
            .scope("c2")
            .build(),
    )
    .await;
    let other = Web::of(&app, "a3").await;
    let (status, to) = other
        .set(
            &app,
            &[
                ("from", "2031-12-25"),
                ("kind", "holiday"),
                ("name", "县庆"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    assert_eq!(kept_days(&app).await, days, "c1's calendar unchanged");
    let store = &app.state.store;
    let christmas = NaiveDate::from_ymd_opt(2031, 12, 25).unwrap();
    assert!(!backend::calendar::Calendar::of_unit(store, "t3")
        .await
        .unwrap()
        .is_workday(christmas));
    assert!(backend::calendar::Calendar::of_unit(store, "t1")
        .await
        .unwrap()
        .is_workday(christmas));
    let (_, page) = other.get(&app, "/web/calendar?year=2031").await;
    assert!(
        page.contains("县庆") && !page.contains("2031-10-01") && !page.contains("管理员甲"),
        "{page}"
    );

    // A bad change is shown again as typed, with the fix.
    let (status, page) = admin
        .set(
            &app,
            &[
                ("from", "2031-10-13"),
                ("kind", "workday"),
                ("name", "补班"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("只能设在周六或周日") && page.contains(r#"value="补班""#),
        "{page}"
    );
    let (status, page) = admin
        .set(
            &app,
            &[("from", "2031-13-01"), ("kind", "holiday"), ("name", "节")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("不是日期"), "{page}");
    assert_eq!(kept_days(&app).await, days, "nothing stored");

    // A 时限 in working days counts the calendar as saved: the next six
    // days off, one working day from today is the first Monday to Friday
    // after them.
    let today = backend::policy::local_today();
    let off = today + Duration::days(1);
    let (status, to) = admin
        .set(
            &app,
            &[
                ("from", &off.to_string()),
                ("to", &(today + Duration::days(6)).to_string()),
                ("kind", "holiday"),
                ("name", "测试假期"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    let mut expected = today + Duration::days(7);
    while matches!(expected.weekday(), Weekday::Sat | Weekday::Sun) {
        expected += Duration::days(1);
    }
    let l1 = app.login("l1", "web-l1", &[]).await;
    let r = app
        .http
        .post(app.url("/api/v1/items"))
        .bearer_auth(&l1.access)
        .json(&json!({
            "list": "supervision", "source": "meeting", "title": "节后第一天办结",
            "content": "测试", "due_workdays": 1, "responsible": "u1",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let item: Value = r.json().await.unwrap();
    assert_eq!(
        item["due"]
            .as_str()
            .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()),
        Some(expected),
        "{item}"
    );
}

on_both_databases!(calendar_through_the_pages, calendar_in_the_pages);
