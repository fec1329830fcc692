//! Issue 26, point 3: each post's 权力清单 and 责任清单, kept by admins on
//! the web pages and read by the API and the public board, on the real
//! server: every save is a new version with who, when and why; a form
//! opened on an older version does not save over a newer one; an empty
//! version withdraws the list; bounds refuse with what to fix and store
//! nothing; only admins over the unit save, leaders and supervisors over
//! it read; the public board shows the current lists only; saves on two
//! instances at once take versions 1…n, each once. (`jishi admin
//! post-list`: `backend/tests/post_lists_cli.rs`.)

use backend::post_lists::{
    self, current_for_post, Entry, ListKind, PostListError, PostName, SaveRequest, Saver,
};
use reqwest::StatusCode;
use serde_json::Value;

use jishi_tests::users::UserBuilder;
use jishi_tests::{on_both_databases, Db, TestApp};

/// The seed county with posts: l1 is t1's 党委书记, u1 the 驻村干部 of v1,
/// a1 the county's admin, a2 an admin of t2 only.
async fn county_with_posts(db: Db) -> TestApp {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    app.execute_sql("UPDATE users SET post = '党委书记' WHERE id = 'l1'")
        .await;
    app.execute_sql("UPDATE users SET post = '驻村干部' WHERE id = 'u1'")
        .await;
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
    app
}

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

    /// Save through the edit form: status, and the location or the page.
    async fn save(
        &self,
        app: &TestApp,
        unit: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let r = self
            .client
            .post(app.url(&format!("/web/units/{unit}/posts")))
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

fn form<'a>(
    post: &'a str,
    kind: &'a str,
    entries: &'a str,
    note: &'a str,
    based_on: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("post", post),
        ("kind", kind),
        ("entries", entries),
        ("note", note),
        ("based_on", based_on),
    ]
}

const V1: &str = "1. 主持党委全面工作｜《中国共产党章程》\n2、召开党委会议｜《中国共产党农村基层组织工作条例》｜每月至少一次\n";
const V2: &str = "主持党委全面工作｜《中国共产党章程》\n召开党委会议｜《中国共产党农村基层组织工作条例》｜每月至少召开一次\n审定村级小额工程｜镇党委文件〔2026〕3号\n";

async fn versions(app: &TestApp, unit: &str, post: &str, kind: ListKind) -> Vec<i64> {
    post_lists::history(
        &app.state.store,
        unit,
        &PostName::parse(post).unwrap(),
        kind,
    )
    .await
    .unwrap()
    .iter()
    .map(|l| l.version)
    .collect()
}

async fn lists_through_the_pages(db: Db) {
    let app = county_with_posts(db).await;
    let store = &app.state.store;
    let admin = Web::of(&app, "a1").await;

    // The unit's posts: its people's 职务, no list yet.
    let (status, page) = admin.get(&app, "/web/units/t1/posts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("党委书记") && page.contains("用户l1"),
        "{page}"
    );
    assert!(page.contains("未制定"));
    assert!(!page.contains("驻村干部"), "u1 is v1's, not t1's: {page}");

    // The form of a list that does not exist yet, then version 1.
    let (status, page) = admin
        .get(
            &app,
            "/web/units/t1/posts/edit?post=%E5%85%9A%E5%A7%94%E4%B9%A6%E8%AE%B0&kind=power",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("尚无此清单") && page.contains(r#"name="based_on" value="0""#));
    let (status, to) = admin
        .save(&app, "t1", &form("党委书记", "power", V1, "首次制定", "0"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    assert_eq!(to, "/web/units/t1/posts?saved=1");
    let now = current_for_post(store, "t1", "党委书记").await.unwrap();
    let power = now.power.expect("version 1 in force");
    assert!(now.duty.is_none());
    assert_eq!((power.version, power.saved_by.as_str()), (1, "a1"));
    assert_eq!(
        power.entries,
        vec![
            Entry {
                title: "主持党委全面工作".into(),
                basis: "《中国共产党章程》".into(),
                detail: String::new(),
            },
            Entry {
                title: "召开党委会议".into(),
                basis: "《中国共产党农村基层组织工作条例》".into(),
                detail: "每月至少一次".into(),
            },
        ],
        "numbers dropped, fields split"
    );

    // The form starts from version 1; version 2 saves over it.
    let (_, page) = admin
        .get(
            &app,
            "/web/units/t1/posts/edit?post=%E5%85%9A%E5%A7%94%E4%B9%A6%E8%AE%B0&kind=power",
        )
        .await;
    assert!(
        page.contains("主持党委全面工作｜《中国共产党章程》"),
        "{page}"
    );
    assert!(page.contains(r#"name="based_on" value="1""#));
    let (status, to) = admin
        .save(
            &app,
            "t1",
            &form("党委书记", "power", V2, "增加工程审定", "1"),
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/web/units/t1/posts?saved=2")
    );

    // A form still open on version 1: refused, the text kept, nothing stored.
    let late = "只有这一条";
    let (status, page) = admin
        .save(&app, "t1", &form("党委书记", "power", late, "", "1"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("其间已有人保存了第 2 版") && page.contains(late),
        "{page}"
    );
    assert!(page.contains(r#"name="based_on" value="2""#));
    assert_eq!(
        versions(&app, "t1", "党委书记", ListKind::Power).await,
        [2, 1]
    );

    // Bounds: each refused with what to fix, the text kept, nothing stored.
    let too_many = "事项\n".repeat(post_lists::MAX_ENTRIES + 1);
    let long_title = format!("{}\n", "长".repeat(post_lists::MAX_TITLE_CHARS + 1));
    let long_post = "岗".repeat(post_lists::MAX_POST_CHARS + 1);
    for (fields, says) in [
        (form("党委书记", "power", &too_many, "", "2"), "共 201 条"),
        (
            form("党委书记", "power", &long_title, "", "2"),
            "第 1 行的事项有 201 字",
        ),
        (
            form("党委书记", "power", "甲｜乙｜丙｜丁", "", "2"),
            "第 1 行分隔符",
        ),
        (form("党委书记", "power", "", "", "2"), "写明撤销原因"),
        (
            form(&long_post, "power", "事项", "", "0"),
            "岗位名称有 51 字",
        ),
        (form("党委书记", "rights", "事项", "", "2"), "清单类别"),
    ] {
        let (status, page) = admin.save(&app, "t1", &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{says}: {page}");
        assert!(page.contains(says), "{says} in {page}");
    }
    assert_eq!(
        versions(&app, "t1", "党委书记", ListKind::Power).await,
        [2, 1]
    );
    assert!(post_lists::history(
        store,
        "t1",
        &PostName::parse(&"岗".repeat(50)).unwrap(),
        ListKind::Power
    )
    .await
    .unwrap()
    .is_empty());

    // A 责任清单 for the same post, and one for a post nobody holds yet.
    let (status, _) = admin
        .save(
            &app,
            "t1",
            &form("党委书记", "duty", "落实全面从严治党主体责任", "", "0"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = admin
        .save(
            &app,
            "t1",
            &form(
                "纪委书记",
                "duty",
                "监督执纪问责｜《中国共产党纪律处分条例》",
                "",
                "0",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // And the village's 驻村干部, through the library as the command line does.
    let post = PostName::parse("驻村干部").unwrap();
    let entries = post_lists::parse_entries("入户走访｜驻村工作制度").unwrap();
    post_lists::save(
        store,
        &SaveRequest {
            unit_id: "v1",
            post: &post,
            kind: ListKind::Duty,
            entries: &entries,
            note: "",
            based_on: None,
        },
        Saver::Cli(None),
    )
    .await
    .unwrap();

    // The overview: every post, its versions.
    let (_, page) = admin.get(&app, "/web/units/t1/posts?saved=2").await;
    assert!(page.contains("已保存为第 2 版"));
    for want in [
        "第 2 版",
        "审定村级小额工程",
        "落实全面从严治党主体责任",
        "纪委书记",
    ] {
        assert!(page.contains(want), "{want} in {page}");
    }

    // The public board: the current lists, with version and date, of the
    // township and its village; never an old version's entries.
    let public = app.http.get(app.url("/p/t1")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    let board = public.text().await.unwrap();
    let today = backend::china::today();
    let date = format!(
        "{}年{}月{}日",
        chrono::Datelike::year(&today),
        chrono::Datelike::month(&today),
        chrono::Datelike::day(&today)
    );
    for want in [
        "岗位权责清单",
        "党委书记",
        "权力清单<span class=\"when\">第 2 版",
        "审定村级小额工程",
        "依据：镇党委文件〔2026〕3号",
        "责任清单<span class=\"when\">第 1 版",
        "青山村 · 驻村干部",
        "入户走访",
        &date,
    ] {
        assert!(board.contains(want), "{want} in {board}");
    }
    // Version 1's wording of an entry version 2 changed is not shown.
    assert!(board.contains("每月至少召开一次") && !board.contains("每月至少一次"));
    assert!(!board.contains("只有这一条"));

    // Withdrawn: a new, empty version with its reason; gone from the board
    // and the API, kept in the history.
    let (status, to) = admin
        .save(&app, "t1", &form("纪委书记", "duty", "\n", "岗位撤并", "1"))
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/web/units/t1/posts?saved=2")
    );
    assert_eq!(
        current_for_post(store, "t1", "纪委书记").await.unwrap(),
        Default::default()
    );
    let board = app
        .http
        .get(app.url("/p/t1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !board.contains("纪委书记") && !board.contains("监督执纪问责"),
        "{board}"
    );
    let (status, page) = admin
        .get(
            &app,
            "/web/units/t1/posts/history?post=%E7%BA%AA%E5%A7%94%E4%B9%A6%E8%AE%B0&kind=duty",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for want in [
        "第 2 版",
        "撤销",
        "岗位撤并",
        "第 1 版",
        "监督执纪问责",
        "管理员甲",
    ] {
        assert!(page.contains(want), "{want} in {page}");
    }
    // Nothing left to withdraw.
    let (status, page) = admin
        .save(&app, "t1", &form("纪委书记", "duty", "", "再撤一次", "2"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("无需撤销"), "{page}");

    // The history of the power list: who and when, newest first.
    let (_, page) = admin
        .get(
            &app,
            "/web/units/t1/posts/history?post=%E5%85%9A%E5%A7%94%E4%B9%A6%E8%AE%B0&kind=power",
        )
        .await;
    let (v2, v1) = (page.find("第 2 版").unwrap(), page.find("第 1 版").unwrap());
    assert!(v2 < v1, "newest first");
    assert!(page.contains("增加工程审定") && page.contains("首次制定"));
    // The command line's save, named as such.
    let (_, page) = admin
        .get(
            &app,
            "/web/units/v1/posts/history?post=%E9%A9%BB%E6%9D%91%E5%B9%B2%E9%83%A8&kind=duty",
        )
        .await;
    assert!(page.contains("命令行"), "{page}");

    // The API: a member of the unit (up to their township) and those over
    // it; anyone else is told nothing.
    let u1 = app.login("u1", "phone-u1", &[]).await;
    let (status, body) = app.get("/api/v1/units/t1/post-lists", &u1.access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unit_name"], "石门镇");
    let lists = body["lists"].as_array().unwrap();
    let kinds: Vec<(&str, &str, i64)> = lists
        .iter()
        .map(|l| {
            (
                l["post"].as_str().unwrap(),
                l["kind"].as_str().unwrap(),
                l["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("党委书记", "power", 2), ("党委书记", "duty", 1)]);
    assert_eq!(lists[0]["entries"][2]["title"], "审定村级小额工程");
    let (status, body) = app
        .get(
            "/api/v1/units/v1/post-lists?post=%E9%A9%BB%E6%9D%91%E5%B9%B2%E9%83%A8",
            &u1.access,
        )
        .await;
    assert_eq!(
        (status, body["lists"].as_array().unwrap().len()),
        (200, 1),
        "{body}"
    );
    let u2 = app.login("u2", "phone-u2", &[]).await;
    let (status, body) = app.get("/api/v1/units/t1/post-lists", &u2.access).await;
    assert_eq!(status, 404, "{body}");
    let (nobody, _) = app.get("/api/v1/units/t9/post-lists", &u2.access).await;
    assert_eq!(nobody, 404);
    let l1 = app.login("l1", "web-l1", &[]).await;
    let (status, _) = app.get("/api/v1/units/v1/post-lists", &l1.access).await;
    assert_eq!(status, 200, "a leader over the village");

    // A leader over the unit reads the pages but saves nothing; an admin
    // of another township does not see the unit.
    let leader = Web::of(&app, "l1").await;
    let (status, page) = leader.get(&app, "/web/units/t1/posts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("审定村级小额工程") && !page.contains("edit-power"),
        "{page}"
    );
    let (status, _) = leader
        .get(
            &app,
            "/web/units/t1/posts/history?post=%E5%85%9A%E5%A7%94%E4%B9%A6%E8%AE%B0&kind=power",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = leader
        .get(
            &app,
            "/web/units/t1/posts/edit?post=%E5%85%9A%E5%A7%94%E4%B9%A6%E8%AE%B0&kind=power",
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = leader
        .save(&app, "t1", &form("党委书记", "power", "领导改的", "", "2"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let other = Web::of(&app, "a2").await;
    let (status, _) = other
        .save(
            &app,
            "t1",
            &form("党委书记", "power", "别处管理员改的", "", "2"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other.get(&app, "/web/units/t1/posts").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        versions(&app, "t1", "党委书记", ListKind::Power).await,
        [2, 1]
    );
}
on_both_databases!(post_lists_through_the_pages, lists_through_the_pages);

fn numbered(i: usize) -> Vec<Entry> {
    vec![Entry {
        title: format!("第{i}次保存的事项"),
        basis: String::new(),
        detail: String::new(),
    }]
}

/// Two instances on one database, each saving the same list eight times
/// at once: versions 1 to 16, each once, each with its save's entries.
async fn saves_at_once(db: Db) {
    let app = county_with_posts(db).await;
    let other = app.sibling().await;
    let post = PostName::parse("党委书记").unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 {
            app.state.store.clone()
        } else {
            other.state.store.clone()
        };
        let post = post.clone();
        tasks.push(tokio::spawn(async move {
            let entries = numbered(i);
            let saved = post_lists::save(
                &store,
                &SaveRequest {
                    unit_id: "t1",
                    post: &post,
                    kind: ListKind::Power,
                    entries: &entries,
                    note: "",
                    based_on: None,
                },
                Saver::Cli(None),
            )
            .await
            .unwrap();
            (saved.version, i)
        }));
    }
    let mut saved = Vec::new();
    for t in tasks {
        saved.push(t.await.unwrap());
    }
    saved.sort();
    assert_eq!(
        saved.iter().map(|s| s.0).collect::<Vec<_>>(),
        (1..=16).collect::<Vec<i64>>()
    );
    let history = post_lists::history(&app.state.store, "t1", &post, ListKind::Power)
        .await
        .unwrap();
    assert_eq!(history.len(), 16);
    for l in &history {
        let i = saved.iter().find(|s| s.0 == l.version).unwrap().1;
        assert_eq!(l.entries, numbered(i), "version {}", l.version);
    }

    // Two editors who both opened version 16: one saves, the other is
    // told, whichever instance each is on.
    let both: Vec<_> = [app.state.store.clone(), other.state.store.clone()]
        .into_iter()
        .enumerate()
        .map(|(i, store)| {
            let post = post.clone();
            tokio::spawn(async move {
                let entries = numbered(100 + i);
                post_lists::save(
                    &store,
                    &SaveRequest {
                        unit_id: "t1",
                        post: &post,
                        kind: ListKind::Power,
                        entries: &entries,
                        note: "",
                        based_on: Some(16),
                    },
                    Saver::Cli(None),
                )
                .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in both {
        outcomes.push(t.await.unwrap());
    }
    let stored: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|l| l.version))
        .collect();
    assert_eq!(stored, [17], "{outcomes:?}");
    assert!(
        outcomes.iter().any(|o| matches!(
            o,
            Err(PostListError::Stale {
                expected: 16,
                current: 17
            })
        )),
        "{outcomes:?}"
    );
    assert_eq!(
        versions(&app, "t1", "党委书记", ListKind::Power)
            .await
            .len(),
        17
    );
}
on_both_databases!(
    post_list_saves_at_once_take_each_version_once,
    saves_at_once
);

/// The route is in the OpenAPI document with its answer's schema.
async fn documented(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, doc) = app.get("/api/openapi.json", "").await;
    assert_eq!(status, 200);
    let op = &doc["paths"]["/api/v1/units/{unit_id}/post-lists"]["get"];
    assert!(op.is_object(), "{doc}");
    let schema: &Value = &doc["components"]["schemas"]["UnitPostLists"];
    assert!(schema["properties"]["lists"].is_object(), "{schema}");
}
on_both_databases!(post_lists_are_in_the_openapi_document, documented);
