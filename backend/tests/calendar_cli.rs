//! `jishi admin calendar set` and `show` as an admin runs them (issue 27,
//! point 4): a range of holidays and a make-up working day are set, shown
//! by year and kept in the history; a day returned to normal leaves the
//! calendar; a bad day, kind, range or name fails naming the fix and
//! changes nothing; the retired `JISHI_HOLIDAYS` setting stops the server
//! with the way to move its days. The web page: `tests/it/calendar.rs`.
//! PostgreSQL runs when `JISHI_TEST_POSTGRES_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::path::Path;
use std::process::Output;

mod support;

use support::{jishi, seed_county};

fn calendar(data: &Path, db: Option<&str>, args: &[&str]) -> Output {
    jishi(data, db)
        .args(["admin", "calendar"])
        .args(args)
        .output()
        .expect("run jishi admin calendar")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn fails(out: Output) -> String {
    assert!(!out.status.success(), "{}", text(&out.stdout));
    text(&out.stderr)
}

async fn calendar_on_the_command_line(db: Option<String>) {
    let db = db.as_deref();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed_county(&data, db);
    let show = || ok(calendar(&data, db, &["show", "--year", "2026"]));
    assert!(show().contains("2026: no holiday"), "{}", show());

    let out = ok(calendar(
        &data,
        db,
        &[
            "set",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-08",
            "--kind",
            "holiday",
            "--name",
            "国庆节",
            "--by",
            "s1",
        ],
    ));
    assert!(
        out.contains("2026-10-01 to 2026-10-08 (8 days): holiday (国庆节)"),
        "{out}"
    );
    ok(calendar(
        &data,
        db,
        &[
            "set",
            "--from",
            "2026-10-10",
            "--kind",
            "workday",
            "--name",
            "国庆节调休",
        ],
    ));
    let shown = show();
    assert!(
        shown.contains("2026-10-01\tThu\tholiday\t国庆节"),
        "{shown}"
    );
    assert!(
        shown.contains("2026-10-10\tSat\tworkday\t国庆节调休"),
        "{shown}"
    );
    assert_eq!(shown.matches("\tholiday\t").count(), 8, "{shown}");
    assert!(shown.contains("# latest changes"), "{shown}");
    assert!(
        shown.contains("-\tcli\t2026-10-10 → 调休上班（国庆节调休）")
            && shown.contains("s1\tcli\t2026-10-08 → 放假（国庆节）"),
        "{shown}"
    );

    // Each refusal names the fix and changes nothing.
    for (args, says) in [
        (
            vec![
                "--from",
                "2026-10-12",
                "--kind",
                "workday",
                "--name",
                "调休",
            ],
            "is a weekday",
        ),
        (
            vec!["--from", "10/12", "--kind", "holiday", "--name", "节"],
            "is not a day",
        ),
        (
            vec!["--from", "2026-10-12", "--kind", "off", "--name", "节"],
            "holiday (放假)",
        ),
        (
            vec!["--from", "2026-10-12", "--kind", "holiday"],
            "needs a name",
        ),
        (
            vec![
                "--from",
                "2026-10-12",
                "--to",
                "2026-12-12",
                "--kind",
                "holiday",
                "--name",
                "节",
            ],
            "set it in parts",
        ),
        (
            vec![
                "--from",
                "2026-10-12",
                "--kind",
                "holiday",
                "--name",
                "节",
                "--by",
                "nobody",
            ],
            "no user nobody",
        ),
    ] {
        let err = fails(calendar(&data, db, &[&["set"][..], &args].concat()));
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let err = fails(calendar(
        &data,
        db,
        &[
            "set",
            "--from",
            "2026-10-12",
            "--kind",
            "holiday",
            "--name",
            "节",
            "--county",
            "t1",
        ],
    ));
    assert!(
        err.contains("--county t1 is not a county") && err.contains("c1"),
        "{err}"
    );
    assert_eq!(show(), shown, "nothing changed");

    // Back to normal: the day leaves the calendar, the change stays.
    ok(calendar(
        &data,
        db,
        &["set", "--from", "2026-10-08", "--kind", "normal"],
    ));
    let after = show();
    assert!(!after.contains("2026-10-08\tThu"), "{after}");
    assert!(after.contains("2026-10-08 → 恢复按星期"), "{after}");
    let store = backend::storage::Store::open(db, &data).await.unwrap();
    let cal = backend::calendar::Calendar::load(&store, "c1")
        .await
        .unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    // Wednesday 09-30 + 3 working days: 10-08 (worked again), Friday
    // 10-09, Saturday 10-10 (made up).
    assert_eq!(cal.add_workdays(day("2026-09-30"), 3), day("2026-10-10"));
    store.close().await;

    // The retired setting stops the server with the way to move its days.
    let out = jishi(&data, db)
        .env("JISHI_HOLIDAYS", "2026-05-01,2026-05-02")
        .args(["admin", "list-units"])
        .output()
        .unwrap();
    let err = fails(out);
    assert!(
        err.contains("2026-05-01, 2026-05-02") && err.contains("jishi admin calendar set"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_is_kept_on_the_command_line_on_sqlite() {
    calendar_on_the_command_line(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "JISHI_TEST_POSTGRES_URL unset")]
async fn calendar_is_kept_on_the_command_line_on_postgres() {
    let url = jishi_tests::fresh_postgres_url().await;
    calendar_on_the_command_line(Some(url)).await;
}
