//! `jishi demo`'s simulation against a real server: a small county's two
//! weeks go through the phones' sync and photo upload, the publications
//! are made with entries and photos, the reviews are written, and every
//! URL the demo prints answers.

use std::sync::Mutex;

use backend::demo::{populate, DemoOptions, Progress};
use reqwest::StatusCode;
use serde_json::Value;

use jishi_tests::{on_both_databases, Db, TestApp};

async fn demo(db: Db) {
    // One sync request at a time: the demo's phones, four at once, are
    // turned away busy (503) and must wait their turn, as real phones do.
    let app = TestApp::spawn_with(db, |c| c.max_sync_requests = 1).await;
    let opts = DemoOptions::new(6, app.dir.path().join("phones"));
    let seen = Mutex::new(Vec::<Progress>::new());
    let summary = populate(&app.base, &app.state, &opts, |p| {
        seen.lock().unwrap().push(p)
    })
    .await
    .expect("the demo is made");
    let seen = seen.into_inner().unwrap();
    // Progress reached the end of each of the steps.
    for step in 1..=7 {
        assert!(
            seen.iter()
                .any(|p| p.step == step && p.done == p.total && p.total > 0),
            "step {step} finished: {seen:?}"
        );
    }

    // 督办 items in every state, listed for the supervisor.
    let items = summary.items;
    assert!(
        items.open > 0 && items.awaiting > 0 && items.returned > 0 && items.closed > 0,
        "{items:?}"
    );
    let supervisor = summary.logins.first().expect("the supervisor's login");
    let token = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"login": supervisor.login, "password": supervisor.password, "device_id": "check-items"}),
        )
        .await
        .1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, listed) = app.get("/api/v1/items", &token).await;
    assert_eq!(status, 200);
    let (cases, listed): (Vec<&Value>, Vec<&Value>) = listed
        .as_array()
        .unwrap()
        .iter()
        .partition(|i| matches!(i["list"].as_str(), Some("complaint" | "request")));
    let statuses: std::collections::BTreeSet<&str> = listed
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), items.total());
    // Cases in every state: received, answered, founded, unfounded.
    let made = summary.cases;
    assert!(
        made.received > 0 && made.answered > 0 && made.founded > 0 && made.unfounded > 0,
        "{made:?}"
    );
    assert_eq!(cases.len(), made.total());
    let verdicts: std::collections::BTreeSet<&str> =
        cases.iter().filter_map(|c| c["verdict"].as_str()).collect();
    assert_eq!(verdicts, ["founded", "unfounded"].into_iter().collect());
    assert_eq!(
        statuses,
        ["awaiting_confirmation", "closed", "open", "returned"]
            .into_iter()
            .collect()
    );

    // Three townships of two cadres and a leader each.
    assert_eq!(
        (summary.townships, summary.cadres, summary.leaders),
        (3, 6, 3)
    );
    let [a, b] = backend::demo::demo_weeks(opts.today);
    assert_eq!(summary.weeks, vec![a.to_string(), b.to_string()]);
    assert!(summary.days_filed >= 9 * 8, "{summary:?}");
    assert!(summary.photos > 0 && summary.syncs >= 9, "{summary:?}");

    // A publication per township and week, with entries and photos.
    assert_eq!(summary.publications.len(), 6);
    for week in [a, b] {
        for unit in ["shimen", "baisha", "longtan"] {
            let p = summary
                .publications
                .iter()
                .find(|p| p.unit_id == unit && p.week == week.to_string())
                .unwrap_or_else(|| panic!("{unit} {week} published"));
            assert_eq!(p.cadres, 3, "{p:?}");
            assert!(p.entries > 0, "{p:?}");
            let json: Value = app
                .http
                .get(app.url(&format!("/api/v1/publications/{unit}/{week}")))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(json["totals"]["entries"], p.entries, "{json}");
        }
    }
    let photos: usize = summary.publications.iter().map(|p| p.photos).sum();
    assert_eq!(photos, summary.photos, "every photo uploaded and published");

    // Every printed page answers, and shows its photos.
    for p in &summary.publications {
        let r = app.http.get(app.url(&p.path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", p.path);
        let html = r.text().await.unwrap();
        assert!(html.contains(&p.title), "{}", p.path);
        assert!(
            html.matches(&format!("{}/photos/", p.path)).count() >= p.photos,
            "{}: photos on the page",
            p.path
        );
    }

    // 亮身份: every township's cards, most with a status from the phones.
    for p in summary
        .publications
        .iter()
        .filter(|p| p.path.ends_with(&a.to_string()))
    {
        let unit = p.path.split('/').nth(2).unwrap();
        let r = app
            .http
            .get(app.url(&format!("/p/{unit}/cards")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{unit}");
        let html = r.text().await.unwrap();
        let people = html.matches("class=\"person\"").count();
        assert!(people >= 3, "{unit}: {html}");
        assert!(
            html.matches("更新）").count() * 2 >= people,
            "{unit}: most cadres set where they are: {html}"
        );
    }

    // Reviews: everyone but the last cadre of each township.
    let month = &summary.review_month;
    assert_eq!(summary.reviews, 9 - 3, "{summary:?}");
    assert_eq!(summary.unreviewed.len(), 3, "{summary:?}");
    let supervisor = &summary.logins[0];
    assert_eq!(supervisor.login, "duban");
    let token = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"login": supervisor.login, "password": supervisor.password, "device_id": "check"}),
        )
        .await
        .1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, m) = app
        .get(&format!("/api/v1/units/qingshan/reviews/{month}"), &token)
        .await;
    assert_eq!(status, 200, "{m}");
    let rows = m["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    let reviewed = rows.iter().filter(|r| !r["review"].is_null()).count();
    assert_eq!(reviewed, 6, "{m}");
    assert!(rows
        .iter()
        .filter(|r| !r["review"].is_null())
        .all(|r| r["facts"]["days_filed"].as_i64() > Some(0)));

    // The other logins work.
    for l in &summary.logins[1..] {
        let (status, body) = app
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"login": l.login, "password": l.password, "device_id": format!("check-{}", l.login)}),
            )
            .await;
        assert_eq!(status, 200, "{} {body}", l.login);
    }
}
on_both_databases!(
    the_demo_makes_publications_and_reviews_through_the_real_paths,
    demo
);
