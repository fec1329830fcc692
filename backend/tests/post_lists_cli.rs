//! `jishi admin post-list set` and `show` as an admin runs them (issue 26,
//! point 3): each `set` saves the next version from a text file, `show`
//! prints the lists in force in the form `set` reads; a bad file, kind,
//! unit or admin fails naming it and the fix, and saves nothing; an empty
//! file withdraws the list, with a reason. The web pages, the API and the
//! public board: `tests/it/post_lists.rs`. PostgreSQL runs when
//! `JISHI_TEST_POSTGRES_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::path::Path;
use std::process::Output;

mod support;

use support::{jishi, seed_county};

fn post_list(data: &Path, db: Option<&str>, args: &[&str]) -> Output {
    jishi(data, db)
        .args(["admin", "post-list"])
        .args(args)
        .output()
        .expect("run jishi admin post-list")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Succeeds; its standard output.
fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Fails; its standard error.
fn fails(out: Output) -> String {
    assert!(!out.status.success(), "{}", text(&out.stdout));
    text(&out.stderr)
}

async fn lists_on_the_command_line(db: Option<String>) {
    let db = db.as_deref();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed_county(&data, db);
    let file = dir.path().join("党委书记权力清单.txt");
    let f = file.to_str().unwrap();
    let show = || ok(post_list(&data, db, &["show", "--unit", "t1"]));
    assert!(show().contains("t1: no list in force"), "{}", show());

    // Version 1 from a file as a clerk writes it, version 2 with a tab.
    std::fs::write(
        &file,
        "1. 主持党委全面工作｜《中国共产党章程》\n\n2. 召开党委会议|《中国共产党农村基层组织工作条例》|每月至少一次\n",
    )
    .unwrap();
    let set = |note: &str| {
        post_list(
            &data,
            db,
            &[
                "set",
                "--unit",
                "t1",
                "--post",
                "党委书记",
                "--kind",
                "power",
                "--file",
                f,
                "--note",
                note,
            ],
        )
    };
    let out = ok(set("首次制定"));
    assert!(
        out.contains("t1 党委书记 权力清单: saved as version 1 with 2 entries"),
        "{out}"
    );
    std::fs::write(
        &file,
        "主持党委全面工作\t《中国共产党章程》\n审定村级小额工程\n",
    )
    .unwrap();
    let out = ok(set("调整"));
    assert!(out.contains("saved as version 2 with 2 entries"), "{out}");
    let listed = show();
    assert!(
        listed.contains("# t1 党委书记 权力清单 (power) version 2, ")
            && listed.contains(": 调整\n主持党委全面工作｜《中国共产党章程》\n审定村级小额工程\n"),
        "{listed}"
    );
    assert!(!listed.contains("召开党委会议"), "only the current version");
    let one = ok(post_list(
        &data,
        db,
        &["show", "--unit", "t1", "--post", "纪委书记"],
    ));
    assert!(one.contains("no list in force"), "{one}");

    // Refusals name the thing and the fix; nothing is saved.
    std::fs::write(&file, "主持党委全面工作\n甲｜乙｜丙｜丁\n").unwrap();
    let err = fails(set("坏文件"));
    assert!(
        err.contains("line 2: 4 fields; an entry has at most three")
            && err.contains("nothing was saved"),
        "{err}"
    );
    std::fs::write(&file, "事项\n".repeat(201)).unwrap();
    let err = fails(set("太多"));
    assert!(err.contains("201 entries; a list has at most 200"), "{err}");
    std::fs::write(&file, "事项\n").unwrap();
    let base = ["set", "--post", "党委书记", "--file", f];
    let err = fails(post_list(
        &data,
        db,
        &[&base[..], &["--unit", "t9", "--kind", "power"]].concat(),
    ));
    assert!(
        err.contains("no unit t9; see `jishi admin list-units`"),
        "{err}"
    );
    let err = fails(post_list(
        &data,
        db,
        &[&base[..], &["--unit", "t1", "--kind", "rights"]].concat(),
    ));
    assert!(
        err.contains("\"rights\" is neither power (权力清单) nor duty (责任清单)"),
        "{err}"
    );
    let err = fails(post_list(
        &data,
        db,
        &[
            &base[..],
            &["--unit", "t1", "--kind", "duty", "--by", "nobody"],
        ]
        .concat(),
    ));
    assert!(
        err.contains("--by: no user nobody; see `jishi admin list-users`"),
        "{err}"
    );
    let err = fails(post_list(
        &data,
        db,
        &[
            "set",
            "--unit",
            "t1",
            "--post",
            "党委书记",
            "--kind",
            "power",
            "--file",
            "/no/such.txt",
        ],
    ));
    assert!(err.contains("cannot read /no/such.txt"), "{err}");
    assert_eq!(show(), listed, "nothing saved");

    // Withdrawn: an empty file, with the reason.
    std::fs::write(&file, "\n").unwrap();
    let err = fails(set(""));
    assert!(err.contains("give the reason as the note"), "{err}");
    let out = ok(set("职责调整，清单另行制定"));
    assert!(
        out.contains("t1 党委书记 权力清单: withdrawn as version 3"),
        "{out}"
    );
    assert!(show().contains("no list in force"));

    // Recorded as saved with the command line, by the admin named.
    std::fs::write(&file, "落实全面从严治党主体责任\n").unwrap();
    ok(post_list(
        &data,
        db,
        &[&base[..], &["--unit", "t1", "--kind", "duty", "--by", "s1"]].concat(),
    ));
    let store = backend::storage::Store::open(db, &data).await.unwrap();
    let history = store
        .post_list_history("t1", "党委书记", "power")
        .await
        .unwrap();
    assert_eq!(
        history
            .iter()
            .map(|v| (v.version, v.entries.len(), v.via.as_str(), v.note.as_str()))
            .collect::<Vec<_>>(),
        [
            (3, 0, "cli", "职责调整，清单另行制定"),
            (2, 2, "cli", "调整"),
            (1, 2, "cli", "首次制定"),
        ]
    );
    let duty = store
        .post_list_history("t1", "党委书记", "duty")
        .await
        .unwrap();
    assert_eq!((duty.len(), duty[0].saved_by.as_str()), (1, "s1"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_lists_are_kept_on_the_command_line_on_sqlite() {
    lists_on_the_command_line(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "JISHI_TEST_POSTGRES_URL unset")]
async fn post_lists_are_kept_on_the_command_line_on_postgres() {
    let url = jishi_tests::fresh_postgres_url().await;
    lists_on_the_command_line(Some(url)).await;
}
