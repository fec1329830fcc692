//! Issue 26, point 6: the county roster imported from Excel, through the
//! library the command line uses and through the admins' web page over
//! HTTP: a preview writes nothing; applying creates and changes what the
//! preview said, and new people log in with the password shown once;
//! importing again changes nothing; a file with bad rows is refused whole,
//! each problem naming its sheet and row. (`jishi admin import` itself:
//! `backend/tests/roster_cli.rs`.)

use backend::roster::{self, Action, Field, RosterError};
use jishi_tests::roster::{hidden_input, multipart, roster as workbook};
use jishi_tests::{on_both_databases, Db, TestApp, UserBuilder, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

/// The seed county (c1 > t1 > v1, t2 白沙镇; u1 in v1, u2 in t2, leader
/// l1, supervisor s1) as the office's roster now says it: a new township
/// t9 with a new village v5 (written before its township), t2 renamed,
/// u1 moved to v5, two new people (one login a phone number typed as a
/// number), t1 and s1 as they are.
const UNITS: [[&str; 4]; 5] = [
    ["v5", "新河村", "村", "t9"],
    ["t9", "新河镇", "乡镇", "c1"],
    ["t1", "石门镇", "乡镇", "c1"],
    ["t2", "白沙乡", "township", "c1"],
    ["c1", "青山县", "县", ""],
];
const PEOPLE: [[&str; 6]; 4] = [
    [
        "zhangsf",
        "张三丰",
        "v5",
        "驻村干部",
        "干部",
        "n:13800000001",
    ],
    [
        "n:13900000002",
        "李书记",
        "t9",
        "党委书记",
        "领导",
        "0736-7210001",
    ],
    ["u1", "用户u1", "v5", "", "cadre", ""],
    ["s1", "用户s1", "c1", "", "督查", ""],
];

/// Every unit and user as stored, to compare before and after.
async fn snapshot(app: &TestApp) -> String {
    let s = &app.state.store;
    format!(
        "{:?}\n{:?}",
        s.units().await.unwrap(),
        s.users().await.unwrap()
    )
}

async fn api_login(app: &TestApp, login: &str, password: &str) -> u16 {
    api_session(app, login, password).await.0
}

/// Log in on the API: the status and the access token.
async fn api_session(app: &TestApp, login: &str, password: &str) -> (u16, String) {
    let (status, body) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({
                "login": login, "password": password,
                "device_id": format!("roster-{login}-{}", rand::random::<u32>()),
                "device_name": "名册测试", "actors": [],
            }),
        )
        .await;
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    (status, token)
}

async fn import_through_the_library(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let store = &app.state.store;
    let bytes = workbook(&UNITS, &PEOPLE);
    let file = roster::read(&bytes).unwrap();
    assert_eq!((file.units.len(), file.people.len()), (5, 4));
    assert_eq!(file.units[0].row, 2, "Excel's row numbers, header on 1");
    assert_eq!(file.people[1].login, "13900000002", "a number as typed");

    // The preview writes nothing.
    let before = snapshot(&app).await;
    let plan = roster::plan_against(store, &file, None).await.unwrap();
    assert_eq!(snapshot(&app).await, before);
    let u = plan.unit_counts();
    assert_eq!((u.create, u.change, u.unchanged), (2, 1, 2), "{plan:#?}");
    let p = plan.people_counts();
    assert_eq!((p.create, p.change, p.unchanged), (2, 1, 1), "{plan:#?}");
    let t2 = plan.units.iter().find(|u| u.id == "t2").unwrap();
    assert_eq!(
        t2.action,
        Action::Change(vec![roster::Change {
            field: Field::Name,
            from: "白沙镇".into(),
            to: "白沙乡".into()
        }])
    );
    let u1 = plan.people.iter().find(|p| p.login == "u1").unwrap();
    let Action::Change(changes) = &u1.action else {
        panic!("{u1:?}")
    };
    assert_eq!(
        changes.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::Unit],
        "a move is a change, and of the unit only"
    );

    // Applying does what the preview said.
    let applied = roster::apply(store, &plan, &mut |_| {}).await.unwrap();
    assert_eq!(
        (
            applied.units_created,
            applied.units_changed,
            applied.people_created,
            applied.people_changed
        ),
        (2, 1, 2, 1)
    );
    let v5 = store.unit("v5").await.unwrap().unwrap();
    assert_eq!(
        (v5.path.as_str(), v5.level.as_str()),
        ("/c1/t9/v5/", "village")
    );
    assert_eq!(store.unit("t2").await.unwrap().unwrap().name, "白沙乡");
    assert_eq!(store.user("u1").await.unwrap().unwrap().unit_id, "v5");
    let (leader, _) = store.user_by_login("13900000002").await.unwrap().unwrap();
    assert_eq!(leader.role, sync_core::Role::Leader);
    assert_eq!(
        leader.scope_unit_id.as_deref(),
        Some("t9"),
        "oversees their unit"
    );
    assert_eq!(leader.phone, "0736-7210001");
    let (cadre, _) = store.user_by_login("zhangsf").await.unwrap().unwrap();
    assert_eq!(
        (cadre.post.as_str(), cadre.phone.as_str()),
        ("驻村干部", "13800000001")
    );
    assert!(
        store.user("u2").await.unwrap().is_some(),
        "not in the file: kept"
    );
    assert_eq!(applied.accounts.len(), 2);
    for a in &applied.accounts {
        assert!(!format!("{a:?}").contains(&a.password), "Debug hides it");
        assert_eq!(
            api_login(&app, &a.login, &a.password).await,
            200,
            "{}",
            a.login
        );
    }
    assert_eq!(
        api_login(&app, "u1", PASSWORD).await,
        200,
        "u1's password kept"
    );
    // A moved cadre is read by the leader of the new unit.
    let leader_pw = &applied.accounts[1].password;
    let (_, token) = api_session(&app, "13900000002", leader_pw).await;
    let (status, people) = app
        .get(
            "/api/v1/units/v5/filing?from=2026-11-16&to=2026-11-22",
            &token,
        )
        .await;
    assert_eq!(status, 200, "{people}");
    assert!(people.to_string().contains("\"u1\""), "{people}");

    // The same file again: nothing to do, nothing written.
    let after = snapshot(&app).await;
    let again = roster::plan_against(store, &file, None).await.unwrap();
    assert!(again.changes_nothing(), "{again:#?}");
    assert_eq!(again.people_counts().unchanged, 4);
    let applied = roster::apply(store, &again, &mut |_| {}).await.unwrap();
    assert!(applied.accounts.is_empty());
    assert_eq!(snapshot(&app).await, after);
    // The first plan, applied late, runs into what it created: refused
    // whole.
    let late = roster::apply(store, &plan, &mut |_| {}).await;
    assert!(matches!(late, Err(RosterError::Store(_))), "{late:?}");
    assert_eq!(snapshot(&app).await, after);

    // A file with bad rows is refused whole, each row named.
    let bad = workbook(
        &[
            ["t8", "新建镇", "乡镇", "c1"],
            ["v8", "坏村", "村", "t404"],
            ["v9", "好村", "村", "t8"],
        ],
        &[
            ["wangwu", "王五", "v9", "", "组长", ""],
            ["zhaoliu", "赵六", "v9", "", "干部", ""],
            ["zhaoliu", "赵六二", "v9", "", "干部", ""],
            ["sunqi", "", "v9", "", "干部", ""],
        ],
    );
    let file = roster::read(&bad).unwrap();
    let Err(RosterError::Refused(problems)) = roster::plan_against(store, &file, None).await else {
        panic!("accepted")
    };
    let lines: Vec<String> = problems.iter().map(|p| p.en()).collect();
    for want in [
        "sheet 单位, row 3: the unit above, t404,",
        "sheet 人员, row 2: the role \"组长\"",
        "sheet 人员, row 4: the login zhaoliu is also on row 3",
        "sheet 人员, row 5: 姓名 is empty",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "{want} in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(
        problems[0].zh().starts_with("“单位”表第 3 行："),
        "{}",
        problems[0].zh()
    );
    assert_eq!(snapshot(&app).await, after, "nothing of it was written");
    assert!(store.unit("t8").await.unwrap().is_none());

    // A workbook without the sheets, and a column missing.
    let problems = roster::read(&jishi_tests::roster::workbook(&[(
        "Sheet1",
        &["编码"],
        &[],
    )]))
    .unwrap_err();
    assert!(
        problems.iter().any(|p| p.en().contains("no such sheet")),
        "{problems:?}"
    );
    let problems = roster::read(&jishi_tests::roster::workbook(&[
        (
            "单位",
            &["编码", "名称", "上级编码"],
            &[&["x1", "某", "c1"]],
        ),
        ("人员", &["登录名", "姓名", "单位编码", "角色"], &[]),
    ]))
    .unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].en().contains("no column 层级"),
        "{}",
        problems[0]
    );

    // A unit moved takes its subtree along: t9 (with v5, and u1 in it)
    // becomes an office of t2; its leader still reads u1.
    let moved = roster::read(&workbook(&[["t9", "新河片区", "站所", "t2"]], &[])).unwrap();
    let plan = roster::plan_against(store, &moved, None).await.unwrap();
    let Action::Change(changes) = &plan.units[0].action else {
        panic!("{plan:?}")
    };
    assert_eq!(
        changes.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::Name, Field::Level, Field::Parent]
    );
    roster::apply(store, &plan, &mut |_| {}).await.unwrap();
    for (unit, path) in [
        ("t9", "/c1/t2/t9/"),
        ("v5", "/c1/t2/t9/v5/"),
        ("t1", "/c1/t1/"),
        ("v1", "/c1/t1/v1/"),
    ] {
        assert_eq!(store.unit(unit).await.unwrap().unwrap().path, path);
    }
    assert!(store.unit_in_scope("v5", "t2").await.unwrap());
    let (status, people) = app
        .get(
            "/api/v1/units/v5/filing?from=2026-11-16&to=2026-11-22",
            &token,
        )
        .await;
    assert_eq!(status, 200, "{people}");
    assert!(people.to_string().contains("\"u1\""), "{people}");
}
on_both_databases!(
    the_roster_imports_once_and_refuses_bad_rows,
    import_through_the_library
);

/// The web pages' HTTP client: no redirects followed, the admin's cookie.
struct Web {
    http: reqwest::Client,
    cookie: String,
}

impl Web {
    async fn login(app: &TestApp, login: &str) -> Web {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = http
            .post(app.url("/web/login"))
            .form(&[("login", login), ("password", PASSWORD), ("next", "/web/")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "web login {login}");
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        Web {
            cookie: cookie.split(';').next().unwrap().to_owned(),
            http,
        }
    }

    async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, Vec<u8>) {
        let r = self
            .http
            .get(app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    }

    async fn upload(&self, app: &TestApp, bytes: &[u8]) -> (StatusCode, String) {
        let (content_type, body) = multipart("roster", "名册.xlsx", bytes);
        let r = self
            .http
            .post(app.url("/web/admin/import/preview"))
            .header("cookie", &self.cookie)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn confirm(&self, app: &TestApp, preview: &str) -> (StatusCode, String) {
        let roster = hidden_input(preview, "roster").expect("a confirmation form");
        let digest = hidden_input(preview, "digest").unwrap();
        let r = self
            .http
            .post(app.url("/web/admin/import/apply"))
            .header("cookie", &self.cookie)
            .form(&[("roster", roster), ("digest", digest)])
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

/// The cells of the accounts table of the result page: (login, password).
fn passwords(html: &str) -> Vec<(String, String)> {
    let table = &html[html.find("id=\"accounts\"").expect("the accounts table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr>")
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row
                .split("<td>")
                .skip(1)
                .map(|c| c.split('<').next().unwrap_or_default())
                .collect();
            let password = row
                .split("<code>")
                .nth(1)
                .and_then(|c| c.split("</code>").next())
                .unwrap();
            (cells[0].to_owned(), password.to_owned())
        })
        .collect()
}

async fn import_through_the_web_page(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    app.add_user(
        UserBuilder::new("a1", "admin")
            .unit("c1")
            .scope("c1")
            .build(),
    )
    .await;
    let admin = Web::login(&app, "a1").await;

    // The page links the template, which reads back as an empty roster.
    let (status, home) = admin.get(&app, "/web/").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&home).contains("/web/admin/import"));
    let (status, page) = admin.get(&app, "/web/admin/import").await;
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("下载名册模板") && page.contains("青山县"),
        "{page}"
    );
    let (status, template) = admin.get(&app, "/web/admin/import/template.xlsx").await;
    assert_eq!(status, 200);
    let empty = roster::read(&template).unwrap();
    assert!(empty.units.is_empty() && empty.people.is_empty());

    // The preview shows the plan and writes nothing.
    let before = snapshot(&app).await;
    let bytes = workbook(&UNITS, &PEOPLE);
    let (status, preview) = admin.upload(&app, &bytes).await;
    assert_eq!(status, 200, "{preview}");
    assert!(
        preview.contains("单位：新建 2 个，修改 1 个，不变 2 个"),
        "{preview}"
    );
    assert!(
        preview.contains("人员：新建 2 人，修改 1 人，不变 1 人"),
        "{preview}"
    );
    assert!(preview.contains("名称：白沙镇 → 白沙乡"), "{preview}");
    assert!(preview.contains("单位：v1 → v5"), "{preview}");
    assert_eq!(snapshot(&app).await, before);

    // Confirming applies it; the passwords are shown once.
    let (status, done) = admin.confirm(&app, &preview).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("人员：新建 2 人，修改 1 人"), "{done}");
    let accounts = passwords(&done);
    assert_eq!(accounts.len(), 2, "{done}");
    for (login, password) in &accounts {
        assert_eq!(api_login(&app, login, password).await, 200, "{login}");
    }
    assert_eq!(
        app.state.store.user("u1").await.unwrap().unwrap().unit_id,
        "v5"
    );

    // The same confirmation again is no longer what the data gives: the
    // new preview is shown instead, and nothing is written.
    let after = snapshot(&app).await;
    let (status, stale) = admin.confirm(&app, &preview).await;
    assert_eq!(status, 409, "{stale}");
    assert!(
        stale.contains("数据在预览之后有了变化") && stale.contains("无需导入"),
        "{stale}"
    );
    assert_eq!(snapshot(&app).await, after);
    // And the same file again: all unchanged, nothing to confirm.
    let (status, again) = admin.upload(&app, &bytes).await;
    assert_eq!(status, 200);
    assert!(
        again.contains("无需导入") && !again.contains("id=\"confirm\""),
        "{again}"
    );
    assert!(
        again.contains("单位：新建 0 个，修改 0 个，不变 5 个"),
        "{again}"
    );

    // Bad rows: refused whole, with the rows.
    let bad = workbook(
        &[["v8", "坏村", "村", "t404"]],
        &[["wangwu", "王五", "v1", "", "组长", ""]],
    );
    let (status, refused) = admin.upload(&app, &bad).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.contains("“单位”表第 2 行：上级编码 t404"),
        "{refused}"
    );
    assert!(
        refused.contains("“人员”表第 2 行：角色“组长”无法识别"),
        "{refused}"
    );
    // Not a workbook, too large, and outside the admin's county.
    let (status, refused) = admin.upload(&app, b"login,name\n").await;
    assert_eq!(status, 400);
    assert!(refused.contains("不是 .xlsx 工作簿"), "{refused}");
    let (status, page) = admin
        .upload(&app, &vec![b'x'; 5 * 1024 * 1024 + 128 * 1024])
        .await;
    assert_eq!(status, 413);
    assert!(page.contains("文件超过 5 MB，未导入"), "{page}");
    assert!(app.healthy().await);
    app.seed_other_county().await;
    let outside = workbook(&[["v7", "外县村", "村", "t3"]], &[]);
    let (status, refused) = admin.upload(&app, &outside).await;
    assert_eq!(status, 400);
    assert!(refused.contains("上级编码 t3 既不在"), "{refused}");
    assert!(
        !refused.contains("红河"),
        "nothing of the other county shows"
    );
    let (status, refused) = admin
        .upload(&app, &workbook(&[["t3", "改名", "乡镇", "c1"]], &[]))
        .await;
    assert_eq!(status, 400);
    assert!(refused.contains("t3 已被占用"), "{refused}");
    assert_eq!(
        app.state.store.unit("t3").await.unwrap().unwrap().name,
        "红河镇"
    );
    assert_eq!(snapshot(&app).await.matches("外县村").count(), 0);

    // Leaders and supervisors have no such page.
    for login in ["l1", "s1"] {
        let other = Web::login(&app, login).await;
        let (status, _) = other.get(&app, "/web/admin/import").await;
        assert_eq!(status, 403, "{login}");
        let (status, _) = other.upload(&app, &bytes).await;
        assert_eq!(status, 403, "{login}");
    }
}
on_both_databases!(
    the_admin_page_previews_then_imports,
    import_through_the_web_page
);

/// A unit tree deeper than `MAX_UNIT_DEPTH` is refused whole — by the
/// roster (a chain of groups under v1) and by creating one unit — with the
/// unit named: its path would outgrow what PostgreSQL indexes.
async fn too_deep(db: Db) {
    use backend::storage::MAX_UNIT_DEPTH;
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let store = &app.state.store;
    // c1 > t1 > v1 is 3 deep: a chain of groups below v1 to one past the cap.
    let ids: Vec<String> = (0..MAX_UNIT_DEPTH - 2).map(|i| format!("g{i}")).collect();
    let names: Vec<String> = (0..ids.len()).map(|i| format!("第{i}组")).collect();
    let rows: Vec<[&str; 4]> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let parent = if i == 0 { "v1" } else { ids[i - 1].as_str() };
            [id.as_str(), names[i].as_str(), "村", parent]
        })
        .collect();
    let file = roster::read(&workbook(&rows, &[])).unwrap();
    let plan = roster::plan_against(store, &file, None).await.unwrap();
    let before = snapshot(&app).await;
    let e = roster::apply(store, &plan, &mut |_| {}).await.unwrap_err();
    assert!(
        e.to_string().contains("levels deep") && e.to_string().contains(ids.last().unwrap()),
        "{e}"
    );
    assert_eq!(snapshot(&app).await, before, "nothing was imported");
    // One level less is fine; then one unit more is refused on its own.
    let file = roster::read(&workbook(&rows[..rows.len() - 1], &[])).unwrap();
    let plan = roster::plan_against(store, &file, None).await.unwrap();
    roster::apply(store, &plan, &mut |_| {}).await.unwrap();
    let deepest = &ids[ids.len() - 2];
    let e = backend::admin::create_unit(store, "g-last", Some(deepest), "末组", "village")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("levels deep"), "{e}");
    assert!(store.unit("g-last").await.unwrap().is_none());
}
on_both_databases!(a_unit_tree_too_deep_is_refused, too_deep);
