//! `jishi admin import-template` and `jishi admin import` as an admin runs
//! them (issue 26, point 6): the template is written once and never over a
//! file; `--dry-run` prints the plan and writes nothing; the import prints
//! the new people's initial passwords once, and they log in with them; the
//! same file again changes nothing; a file with bad rows fails naming the
//! sheet and row, and writes nothing. The web page and the library:
//! `tests/it/roster.rs`. PostgreSQL runs when `JISHI_TEST_POSTGRES_URL` is
//! set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::path::Path;
use std::process::Output;

mod support;

use backend::storage::Store;
use jishi_tests::county::PASSWORD;
use jishi_tests::roster::roster;
use support::{jishi, seed_county};

fn admin(data: &Path, db: Option<&str>, args: &[&str]) -> Output {
    jishi(data, db)
        .arg("admin")
        .args(args)
        .output()
        .expect("run jishi admin")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// `jishi admin list-units` and `list-users`.
fn listing(data: &Path, db: Option<&str>) -> String {
    let units = admin(data, db, &["list-units"]);
    let users = admin(data, db, &["list-users"]);
    format!("{}{}", text(&units.stdout), text(&users.stdout))
}

async fn import_on_the_command_line(db: Option<String>) {
    let db = db.as_deref();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed_county(&data, db);

    // The template: written once, an empty roster.
    let template = dir.path().join("名册模板.xlsx");
    let t = template.to_str().unwrap();
    let out = admin(&data, db, &["import-template", "--out", t]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&template).unwrap();
    let empty = backend::roster::read(&bytes).unwrap();
    assert!(empty.units.is_empty() && empty.people.is_empty());
    let again = admin(&data, db, &["import-template", "--out", t]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("never overwritten"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read(&template).unwrap(), bytes);

    // A village of t1, a new cadre in it, u2 moved there.
    let file = dir.path().join("roster.xlsx");
    std::fs::write(
        &file,
        roster(
            &[["v2", "柳溪村", "村", "t1"], ["t1", "石门镇", "乡镇", "c1"]],
            &[
                [
                    "wangfang",
                    "王芳",
                    "v2",
                    "驻村干部",
                    "干部",
                    "n:13700000003",
                ],
                ["u2", "用户u2", "v2", "", "干部", ""],
            ],
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let before = listing(&data, db);
    let dry = admin(&data, db, &["import", "--xlsx", f, "--dry-run"]);
    let stdout = text(&dry.stdout);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    for want in [
        "+ unit v2 柳溪村 (village, under t1)  [单位 row 2]",
        "+ person wangfang 王芳 (cadre, v2)  [人员 row 2]",
        "~ person u2 用户u2: unit v1 -> v2  [人员 row 3]",
        "units: 1 to create, 0 to change, 1 unchanged; people: 1 to create, 1 to change, 0 unchanged",
        "dry run: nothing was written",
    ] {
        assert!(stdout.contains(want), "{want:?} in {stdout}");
    }
    assert_eq!(listing(&data, db), before, "a dry run writes nothing");

    // The import: progress on stderr, the password once on stdout.
    let run = admin(&data, db, &["import", "--xlsx", f]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("initial passwords: 1/1"), "{stderr}");
    assert!(
        stdout.contains("imported: 1 unit(s) created, 0 changed; 1 person(s) created, 1 changed"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("wangfang\t王芳\tv2\t"))
        .expect("the new account's password")
        .to_owned();
    {
        let store = Store::open(db, &data).await.unwrap();
        let (wang, hash) = store.user_by_login("wangfang").await.unwrap().unwrap();
        assert_eq!(
            (wang.unit_id.as_str(), wang.phone.as_str()),
            ("v2", "13700000003")
        );
        assert!(backend::auth::verify_password(password.clone(), hash)
            .await
            .unwrap());
        let (u2, hash) = store.user_by_login("u2").await.unwrap().unwrap();
        assert_eq!(u2.unit_id, "v2");
        assert!(
            backend::auth::verify_password(PASSWORD.into(), hash)
                .await
                .unwrap(),
            "an existing password is kept"
        );
        assert_eq!(store.unit("v2").await.unwrap().unwrap().path, "/c1/t1/v2/");
        store.close().await;
    }

    // Again: nothing to do, no password printed.
    let after = listing(&data, db);
    let again = admin(&data, db, &["import", "--xlsx", f]);
    let stdout = text(&again.stdout);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(stdout.contains("nothing to import"), "{stdout}");
    assert!(!stdout.contains("password"), "{stdout}");
    assert_eq!(listing(&data, db), after);

    // Bad rows: the command fails, naming each, and writes nothing.
    std::fs::write(
        &file,
        roster(
            &[["v3", "石桥村", "村", "t1"]],
            &[
                ["zhaolei", "赵雷", "v404", "", "干部", ""],
                ["qianli", "钱立", "v3", "", "组长", ""],
                ["sunmei", "孙梅", "v3", "", "干部", "电话13800000000"],
            ],
        ),
    )
    .unwrap();
    let bad = admin(&data, db, &["import", "--xlsx", f]);
    let stderr = text(&bad.stderr);
    assert!(!bad.status.success(), "{}", text(&bad.stdout));
    for want in [
        "sheet 人员, row 2: the unit v404 is neither in sheet 单位 nor an existing unit",
        "sheet 人员, row 3: the role \"组长\" is not one of",
        "sheet 人员, row 4: the phone \"电话13800000000\"",
        "nothing was imported",
    ] {
        assert!(stderr.contains(want), "{want:?} in {stderr}");
    }
    assert_eq!(listing(&data, db), after);
    let missing = admin(&data, db, &["import", "--xlsx", "/no/such/roster.xlsx"]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("cannot read /no/such/roster.xlsx"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_imports_from_the_command_line_on_sqlite() {
    import_on_the_command_line(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "JISHI_TEST_POSTGRES_URL unset")]
async fn the_roster_imports_from_the_command_line_on_postgres() {
    let url = jishi_tests::fresh_postgres_url().await;
    import_on_the_command_line(Some(url)).await;
}
