//! The phone API end to end: a real `jishi` server on a loopback port (SQLite
//! in a temporary folder), clients opened on real data folders, real camera
//! JPEGs, every exported function including its error paths.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use chrono::Datelike;
use std::path::Path;
use std::sync::{Arc, Mutex};

use backend::Config;
use jishi_ffi::*;

mod common;
use common::*;
use jishi_tests::photo::camera_file;
use jishi_tests::{county, BlockingApp, UserBuilder, PASSWORD};

const DEAD_URL: &str = "http://127.0.0.1:1";

/// A seeded server: the seed county (county c1 > township t1 > village
/// v1; cadre u1 in v1, supervisor s1 over c1) and a second cadre u2 in v1.
fn start(change: impl FnOnce(&mut Config) + Send + 'static) -> BlockingApp {
    let server = BlockingApp::seeded(change);
    let u2 = UserBuilder::cadre("u2").unit(county::VILLAGE).build();
    server.block_on(county::add_user(&server.state.store, u2));
    server
}

/// Hold the server's only sync turn (`max_sync_requests = 1`), as another
/// phone's sync would: every sync is answered busy until it is dropped.
fn take_only_sync_turn(server: &BlockingApp) -> tokio::sync::OwnedSemaphorePermit {
    server
        .state
        .sync_admission
        .clone()
        .try_acquire_owned()
        .expect("the only sync turn is free")
}

/// Records every progress report.
#[derive(Default)]
struct Progress(Mutex<Vec<SyncProgress>>);

impl SyncObserver for Progress {
    fn on_progress(&self, progress: SyncProgress) {
        self.0.lock().unwrap().push(progress);
    }
}

fn quiet() -> Arc<Progress> {
    Arc::new(Progress::default())
}

fn open(dir: &Path, url: &str) -> Arc<JishiClient> {
    JishiClient::open(dir.display().to_string(), url.to_owned()).unwrap()
}

fn entry(time: &str, text: &str) -> EntryInput {
    EntryInput {
        time: time.into(),
        category: Category::Visit,
        place: "青山村3组".into(),
        text: text.into(),
        households: 3,
        location: Some(GeoPoint {
            lat: 28.1,
            lon: 112.9,
            accuracy_m: 10.0,
        }),
    }
}

fn field_of(e: JishiError) -> String {
    match e {
        JishiError::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_week_written_offline_survives_restarts_and_reaches_the_other_phone() {
    let server = start(|_| {});
    let phone_dir = tempfile::tempdir().unwrap();
    let a = open(phone_dir.path(), &server.url);
    assert_eq!(a.account().unwrap(), None);
    let account = a.sign_in("u1", PASSWORD, "张三的手机").unwrap();
    assert_eq!(account.user_id, "u1");
    assert_eq!(account.role, "cadre");
    assert!(!account.needs_login);
    drop(a);

    // Offline: the app restarts in a village without signal.
    let a = open(phone_dir.path(), DEAD_URL);
    let e1 = a
        .add_entry("2026-11-17".into(), entry("09:30", "走访农户，了解春耕"))
        .unwrap();
    a.add_entry("2026-11-17".into(), entry("14:00", "调解邻里纠纷"))
        .unwrap();
    let e3 = a
        .add_entry("2026-11-18".into(), entry("10:00", "查看水渠"))
        .unwrap();
    a.splice_entry_text("2026-11-18".into(), e3.clone(), 4, 0, "修缮".into())
        .unwrap();
    a.update_entry(
        "2026-11-18".into(),
        e3.clone(),
        EntryUpdate {
            category: Some(Category::Project),
            households: Some(0),
            clear_location: true,
            ..EntryUpdate::default()
        },
    )
    .unwrap();
    let gone = a
        .add_entry("2026-11-18".into(), entry("11:00", "写错了"))
        .unwrap();
    a.delete_entry("2026-11-18".into(), gone).unwrap();
    a.set_day_summary("2026-11-17".into(), "今天走访5户".into())
        .unwrap();
    let fixed = a
        .add_entry("2026-11-17".into(), entry("16:00", "草稿"))
        .unwrap();
    a.set_entry_text("2026-11-17".into(), fixed.clone(), "开会学习".into())
        .unwrap();
    assert_eq!(
        a.diary("2026-11-17".into()).unwrap().entries[2].text,
        "开会学习"
    );
    a.delete_entry("2026-11-17".into(), fixed).unwrap();
    let act = a
        .add_activity(
            "2026-11-17".into(),
            ActivityInput {
                kind: NightKind::Visit,
                start: "19:30".into(),
                end: Some("21:00".into()),
                place: "青山村".into(),
                households: 4,
                issues: "饮水问题".into(),
                help: "联系水利站".into(),
            },
        )
        .unwrap();
    a.set_overnight("2026-11-17".into(), true, Some("青山村村部".into()))
        .unwrap();
    let extra = a
        .add_activity(
            "2026-11-17".into(),
            ActivityInput {
                kind: NightKind::Study,
                start: "20:00".into(),
                end: None,
                place: String::new(),
                households: 0,
                issues: String::new(),
                help: String::new(),
            },
        )
        .unwrap();
    a.delete_activity("2026-11-17".into(), extra).unwrap();
    assert_eq!(
        a.night_log("2026-11-17".into()).unwrap().activities.len(),
        1
    );
    assert_eq!(a.today().len(), 10);
    assert!(a.diary(a.today()).unwrap().entries.is_empty());
    let task = a
        .add_task(
            "2026-11".into(),
            TaskInput {
                title: "完成春耕走访".into(),
                kind: TaskKind::Fixed,
                due: Some("2026-11-30".into()),
            },
        )
        .unwrap();
    a.close_task(
        "2026-11".into(),
        task.clone(),
        TaskStatus::Done,
        "已走访全部农户".into(),
    )
    .unwrap();
    a.set_month_summary("2026-11".into(), "本月完成走访".into())
        .unwrap();
    let diary17 = a.diary("2026-11-17".into()).unwrap();
    let photo = a
        .attach(
            diary17.doc_id.clone(),
            e1.clone(),
            camera_file(phone_dir.path(), "cam1.jpg", 640, 480, 1),
        )
        .unwrap();
    let night = a.night_log("2026-11-17".into()).unwrap();
    a.attach(
        night.doc_id.clone(),
        act.clone(),
        camera_file(phone_dir.path(), "cam2.jpg", 640, 480, 2),
    )
    .unwrap();
    assert_eq!(a.unsynced_documents().unwrap().len(), 4);
    assert!(matches!(
        a.sync_with(quiet()),
        Err(JishiError::Offline { .. })
    ));
    let last = a.last_sync().unwrap().unwrap();
    assert!(!last.ok);
    assert_eq!(a.unsynced_documents().unwrap().len(), 4, "nothing lost");
    drop(a);

    // Back in signal: the app restarts and syncs.
    let a = open(phone_dir.path(), &server.url);
    let progress = quiet();
    let summary = a.sync_with(progress.clone()).unwrap();
    assert_eq!(summary.documents_sent, 4, "{summary:?}");
    assert_eq!(
        summary.documents_received, 0,
        "acknowledgements are not news"
    );
    assert_eq!(summary.photos_uploaded, 2, "{summary:?}");
    assert_eq!(summary.photos_pending, 0);
    assert!(summary.problems.is_empty(), "{summary:?}");
    assert!(summary.round_trips <= 3);
    let reports = progress.0.lock().unwrap().clone();
    assert!(matches!(
        reports.first(),
        Some(SyncProgress::Documents { .. })
    ));
    assert!(reports.iter().any(|p| matches!(p, SyncProgress::Photo { sent_bytes, total_bytes, .. } if sent_bytes == total_bytes)));
    assert_eq!(reports.last(), Some(&SyncProgress::Finished));
    assert!(a.unsynced_documents().unwrap().is_empty());
    assert!(a
        .outbox()
        .unwrap()
        .iter()
        .all(|p| p.status == UploadStatus::Done && p.sent_bytes == p.total_bytes));
    assert!(a.last_sync().unwrap().unwrap().ok);

    // The same cadre's other phone.
    let other_dir = tempfile::tempdir().unwrap();
    let b = open(other_dir.path(), &server.url);
    b.sign_in("u1", PASSWORD, "备用手机").unwrap();
    let got = b.sync_with(quiet()).unwrap();
    assert_eq!(got.documents_received, 4, "{got:?}");
    let d17 = b.diary("2026-11-17".into()).unwrap();
    assert_eq!(d17.entries.len(), 2);
    assert_eq!(d17.summary, "今天走访5户");
    assert_eq!(d17.entries[0].photos[0].hash, photo.hash);
    assert_eq!(d17.entries[0].location.unwrap().lat, 28.1);
    let d18 = b.diary("2026-11-18".into()).unwrap();
    assert_eq!(d18.entries.len(), 1, "the deleted entry is hidden");
    assert_eq!(d18.entries[0].text, "查看水渠修缮");
    assert_eq!(d18.entries[0].category, Category::Project);
    assert_eq!(d18.entries[0].location, None);
    let n = b.night_log("2026-11-17".into()).unwrap();
    assert!(n.stayed_overnight);
    assert_eq!(n.overnight_place.as_deref(), Some("青山村村部"));
    assert_eq!(n.activities[0].kind, NightKind::Visit);
    assert_eq!(n.activities[0].photos.len(), 1);
    let plan = b.plan("2026-11".into()).unwrap();
    assert_eq!(plan.tasks[0].status, TaskStatus::Done);
    assert_eq!(plan.tasks[0].note, "已走访全部农户");
    assert_eq!(plan.summary, "本月完成走访");
    assert_eq!(b.documents().unwrap().len(), 4);
    assert!(!d17.unsynced);
}

#[test]
fn a_supervisors_comment_reaches_the_cadre() {
    let server = start(|_| {});
    let (pa, ps) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(pa.path(), &server.url);
    a.sign_in("u1", PASSWORD, "手机").unwrap();
    let e = a
        .add_entry("2026-11-19".into(), entry("09:00", "走访"))
        .unwrap();
    a.sync_with(quiet()).unwrap();
    let doc = a.diary("2026-11-19".into()).unwrap().doc_id;

    let s = open(ps.path(), &server.url);
    let account = s.sign_in("s1", PASSWORD, "督查手机").unwrap();
    assert_eq!(account.role, "supervisor");
    s.sync_with(quiet()).unwrap();
    assert!(s.documents().unwrap().contains(&doc));
    // The supervisor reads the cadre's diary to pick the entry.
    let theirs = s.diary_by_id(doc.clone()).unwrap();
    assert_eq!(theirs.entries[0].id, e);
    assert_eq!(theirs.date, "2026-11-19");
    assert_eq!(
        field_of(s.night_log_by_id(doc.clone()).unwrap_err()),
        "doc_id"
    );
    assert_eq!(
        field_of(s.plan_by_id("plan:u1".into()).unwrap_err()),
        "doc_id"
    );
    assert!(s
        .plan_by_id("plan:u1:2026-11".into())
        .unwrap()
        .tasks
        .is_empty());
    assert!(s
        .night_log_by_id("night:u1:2026-11-19".into())
        .unwrap()
        .activities
        .is_empty());
    // A supervisor may comment but not write the cadre's content.
    assert!(matches!(
        s.add_comment(doc.clone(), Some("bad id!".into()), "x".into()),
        Err(JishiError::Validation { .. })
    ));
    s.add_comment(doc.clone(), Some(e.clone()), "请补充走访户数".into())
        .unwrap();
    s.sync_with(quiet()).unwrap();
    assert_eq!(s.comments(doc.clone()).unwrap().len(), 1);

    assert!(a.comments_on_my_records().unwrap().is_empty());
    a.sync_with(quiet()).unwrap();
    let notices = a.comments_on_my_records().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].doc_id, doc);
    assert_eq!(notices[0].comment.author, "s1");
    assert_eq!(notices[0].comment.role, "supervisor");
    assert_eq!(notices[0].comment.on_item.as_deref(), Some(e.as_str()));
    assert_eq!(notices[0].comment.text, "请补充走访户数");
    assert_eq!(a.diary("2026-11-19".into()).unwrap().comments.len(), 1);
}

#[test]
fn bad_input_is_a_validation_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        field_of(
            JishiClient::open(dir.path().display().to_string(), "ftp://x".into()).unwrap_err()
        ),
        "server_url"
    );
    let server = start(|_| {});
    let a = open(dir.path(), &server.url);
    // Before any login, writing asks for one.
    assert!(matches!(
        a.add_entry("2026-11-17".into(), entry("09:00", "x")),
        Err(JishiError::LoginRequired { .. })
    ));
    assert_eq!(
        field_of(a.sign_in("u1", "wrong", "p").unwrap_err()),
        "password"
    );
    a.sign_in("u1", PASSWORD, "p").unwrap();
    assert_eq!(field_of(a.diary("2026-13-45".into()).unwrap_err()), "date");
    assert_eq!(field_of(a.plan("2026-13".into()).unwrap_err()), "month");
    assert_eq!(
        field_of(
            a.add_entry("2026-11-17".into(), entry("25:00", "x"))
                .unwrap_err()
        ),
        "time"
    );
    let long = "走".repeat(5_001);
    assert_eq!(
        field_of(
            a.add_entry("2026-11-17".into(), entry("09:00", &long))
                .unwrap_err()
        ),
        "text"
    );
    // Days to come: the server refuses them, so the phone says so first
    // (issue 23, item 5); tomorrow and next month's plan are fine.
    let today = chrono::Local::now().date_naive();
    let day = |n: u64| {
        (today + chrono::Days::new(n))
            .format("%Y-%m-%d")
            .to_string()
    };
    assert_eq!(
        field_of(a.add_entry(day(2), entry("09:00", "x")).unwrap_err()),
        "date"
    );
    a.add_entry(day(1), entry("09:00", "明天一早入户")).unwrap();
    let month = |n: u32| {
        (today.with_day(1).unwrap() + chrono::Months::new(n))
            .format("%Y-%m")
            .to_string()
    };
    let task = |title: &str| TaskInput {
        title: title.into(),
        kind: TaskKind::Fixed,
        due: None,
    };
    a.add_task(month(1), task("下月任务")).unwrap();
    assert_eq!(
        field_of(a.add_task(month(2), task("太远")).unwrap_err()),
        "month"
    );
    assert_eq!(
        field_of(
            a.delete_entry("2026-11-17".into(), "no such/id".into())
                .unwrap_err()
        ),
        "item_id"
    );
    let e = a
        .add_entry("2026-11-17".into(), entry("09:00", "ok"))
        .unwrap();
    assert!(matches!(
        a.delete_entry("2026-11-17".into(), "0123abcd".into()),
        Err(JishiError::Validation { .. })
    ));
    assert_eq!(
        field_of(
            a.add_activity(
                "2026-11-17".into(),
                ActivityInput {
                    kind: NightKind::Study,
                    start: "19:00".into(),
                    end: Some("7pm".into()),
                    place: String::new(),
                    households: 0,
                    issues: String::new(),
                    help: String::new(),
                }
            )
            .unwrap_err()
        ),
        "end"
    );
    let task = a
        .add_task(
            "2026-11".into(),
            TaskInput {
                title: "t".into(),
                kind: TaskKind::Dynamic,
                due: None,
            },
        )
        .unwrap();
    assert_eq!(
        field_of(
            a.close_task(
                "2026-11".into(),
                task.clone(),
                TaskStatus::Open,
                String::new()
            )
            .unwrap_err()
        ),
        "status"
    );
    a.close_task(
        "2026-11".into(),
        task.clone(),
        TaskStatus::Dropped,
        "取消".into(),
    )
    .unwrap();
    a.reopen_task("2026-11".into(), task.clone()).unwrap();
    assert_eq!(
        a.plan("2026-11".into()).unwrap().tasks[0].status,
        TaskStatus::Open
    );
    assert_eq!(
        field_of(
            a.add_task(
                "2026-11".into(),
                TaskInput {
                    title: "t".into(),
                    kind: TaskKind::Fixed,
                    due: Some("soon".into()),
                }
            )
            .unwrap_err()
        ),
        "due"
    );
    let doc = a.diary("2026-11-17".into()).unwrap().doc_id;
    assert_eq!(
        field_of(
            a.attach(doc.clone(), e.clone(), "/no/such/file.jpg".into())
                .unwrap_err()
        ),
        "camera_file"
    );
    let not_image = dir.path().join("note.txt");
    std::fs::write(&not_image, "not a photo").unwrap();
    assert_eq!(
        field_of(
            a.attach(doc.clone(), e.clone(), not_image.display().to_string())
                .unwrap_err()
        ),
        "photo"
    );
    assert_eq!(
        field_of(
            a.attach(
                "diary:u1".into(),
                e.clone(),
                not_image.display().to_string()
            )
            .unwrap_err()
        ),
        "doc_id"
    );
    // Another cadre's record is not mine to write.
    let theirs = doc.replace(":u1:", ":u2:");
    let cam = camera_file(dir.path(), "c.jpg", 640, 480, 3);
    assert!(matches!(
        a.attach(theirs, e, cam),
        Err(JishiError::Forbidden { .. }) | Err(JishiError::Validation { .. })
    ));
    // Nothing bad was written: the one good entry is there.
    assert_eq!(a.diary("2026-11-17".into()).unwrap().entries.len(), 1);
}

#[test]
fn one_folder_is_one_client_and_a_failed_photo_can_be_retried() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    let again = open(dir.path(), &format!("{}/", server.url));
    assert!(
        Arc::ptr_eq(&a, &again),
        "the same folder gives the same client"
    );
    assert_eq!(
        field_of(JishiClient::open(dir.path().display().to_string(), DEAD_URL.into()).unwrap_err()),
        "data_dir"
    );
    drop(again);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let e = a
        .add_entry("2026-11-22".into(), entry("09:00", "照片"))
        .unwrap();
    let doc = a.diary("2026-11-22".into()).unwrap().doc_id;
    let photo = a
        .attach(doc, e, camera_file(dir.path(), "r.jpg", 640, 480, 4))
        .unwrap();
    // The stored copy disappears (the user cleared the app's files).
    let stored = dir
        .path()
        .join("photos")
        .join(format!("{}.jpg", photo.hash));
    let bytes = std::fs::read(&stored).unwrap();
    std::fs::remove_file(&stored).unwrap();
    let s = a.sync_with(quiet()).unwrap();
    assert_eq!((s.photos_failed, s.photos_uploaded), (1, 0));
    let out = a.outbox().unwrap();
    assert_eq!(out[0].status, UploadStatus::Failed);
    assert!(out[0].error.as_deref().unwrap().contains("unreadable"));
    // Put back and retried: it goes up.
    std::fs::write(&stored, bytes).unwrap();
    assert_eq!(
        field_of(a.retry_photo("00".repeat(32)).unwrap_err()),
        "hash"
    );
    assert_eq!(field_of(a.retry_photo("nope".into()).unwrap_err()), "hash");
    a.retry_photo(photo.hash.clone()).unwrap();
    assert_eq!(a.outbox().unwrap()[0].status, UploadStatus::Queued);
    assert_eq!(a.sync_with(quiet()).unwrap().photos_uploaded, 1);
    assert_eq!(a.outbox().unwrap()[0].status, UploadStatus::Done);
}

#[test]
fn an_expired_session_asks_for_login_and_loses_nothing() {
    // Tokens that expire at once: as after two months offline.
    let mut server = start(|c| {
        c.access_ttl_secs = 0;
        c.refresh_ttl_secs = 0;
    });
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    a.add_entry("2026-11-20".into(), entry("09:00", "离线记录"))
        .unwrap();
    assert!(matches!(
        a.sync_with(quiet()),
        Err(JishiError::LoginRequired { .. })
    ));
    assert!(a.account().unwrap().unwrap().needs_login);
    // Still writable while logged out; nothing lost.
    a.add_entry("2026-11-20".into(), entry("10:00", "继续记录"))
        .unwrap();
    assert_eq!(a.unsynced_documents().unwrap().len(), 1);
    drop(a);
    server.stop();

    // The server again with normal tokens; the cadre logs in and syncs.
    let data = server.data.clone();
    let server2 = BlockingApp::start_on(data, |_| {});
    let a = open(dir.path(), &server2.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let summary = a.sync_with(quiet()).unwrap();
    assert_eq!(summary.documents_sent, 1);
    assert!(a.unsynced_documents().unwrap().is_empty());

    // Logging out keeps the records; syncing then needs a login.
    a.sign_out().unwrap();
    assert!(a.account().unwrap().unwrap().needs_login);
    assert_eq!(a.diary("2026-11-20".into()).unwrap().entries.len(), 2);
    assert!(matches!(
        a.sync_with(quiet()),
        Err(JishiError::LoginRequired { .. })
    ));
}

#[test]
fn concurrent_syncs_and_edits_from_many_threads_lose_nothing() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    std::thread::scope(|s| {
        for t in 0..3 {
            let a = a.clone();
            s.spawn(move || {
                for i in 0..5 {
                    a.add_entry(
                        format!("2026-11-{:02}", 10 + t),
                        entry("09:00", &format!("线程{t}第{i}条")),
                    )
                    .unwrap();
                    a.sync_with(quiet()).unwrap();
                }
            });
        }
    });
    a.sync_with(quiet()).unwrap();
    assert!(a.unsynced_documents().unwrap().is_empty());
    let other = tempfile::tempdir().unwrap();
    let b = open(other.path(), &server.url);
    b.sign_in("u1", PASSWORD, "q").unwrap();
    b.sync_with(quiet()).unwrap();
    for t in 0..3 {
        assert_eq!(
            b.diary(format!("2026-11-{:02}", 10 + t))
                .unwrap()
                .entries
                .len(),
            5
        );
    }
}

/// Cancels the sync it observes at the first report.
struct Canceller(Mutex<Option<Arc<JishiClient>>>);

impl SyncObserver for Canceller {
    fn on_progress(&self, _: SyncProgress) {
        if let Some(c) = self.0.lock().unwrap().take() {
            c.cancel_sync();
        }
    }
}

#[test]
fn a_cancelled_sync_keeps_what_it_did_and_the_next_one_finishes() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let e = a
        .add_entry("2026-11-21".into(), entry("09:00", "带照片"))
        .unwrap();
    let doc = a.diary("2026-11-21".into()).unwrap().doc_id;
    a.attach(doc, e, camera_file(dir.path(), "p.jpg", 640, 480, 9))
        .unwrap();
    let canceller = Arc::new(Canceller(Mutex::new(Some(a.clone()))));
    assert_eq!(a.sync_with(canceller).unwrap_err(), JishiError::Cancelled);
    // The documents' round trip finished before the cancel was seen.
    assert!(a.unsynced_documents().unwrap().is_empty());
    assert_eq!(a.outbox().unwrap()[0].status, UploadStatus::Queued);
    let summary = a.sync_with(quiet()).unwrap();
    assert_eq!(summary.photos_uploaded, 1);
    assert_eq!(a.outbox().unwrap()[0].status, UploadStatus::Done);
}

/// Wait (polling) until `done` holds; fail after 30 s.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Start `client.sync_with()` on its own thread.
fn sync_in_background(
    client: &Arc<JishiClient>,
) -> std::thread::JoinHandle<Result<SyncSummary, JishiError>> {
    let client = client.clone();
    std::thread::spawn(move || client.sync_with(quiet()))
}

/// Monday morning: the server answers busy (503, `Retry-After`) while
/// other phones' syncs take every turn. The phone waits as told and sends
/// again instead of failing as offline; `cancel_sync()` ends a wait.
#[test]
fn a_busy_server_is_waited_out_and_the_wait_can_be_cancelled() {
    let server = start(|c| c.max_sync_requests = 1);
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    a.add_entry("2026-11-23".into(), entry("09:00", "周一早上"))
        .unwrap();
    let busy = || server.state.metrics.sync_busy.get();

    // Another phone's sync holds the only turn.
    let turn = take_only_sync_turn(&server);
    let before = busy();
    let syncing = sync_in_background(&a);
    wait_until("two busy answers", || busy() >= before + 2);
    drop(turn);
    let summary = syncing.join().unwrap().unwrap();
    assert_eq!(summary.documents_sent, 1);
    assert!(a.unsynced_documents().unwrap().is_empty());

    // Busy again; the app gives up waiting.
    a.add_entry("2026-11-23".into(), entry("10:00", "还是周一"))
        .unwrap();
    let turn = take_only_sync_turn(&server);
    let before = busy();
    let syncing = sync_in_background(&a);
    wait_until("a busy answer", || busy() > before);
    a.cancel_sync();
    assert_eq!(syncing.join().unwrap().unwrap_err(), JishiError::Cancelled);
    assert_eq!(a.unsynced_documents().unwrap().len(), 1);
    drop(turn);
    a.sync_with(quiet()).unwrap();
    assert!(a.unsynced_documents().unwrap().is_empty());
}

/// Collects forwarded log lines.
struct Lines(Mutex<std::sync::mpsc::Sender<(LogLevel, String)>>);

impl LogSink for Lines {
    fn log(&self, level: LogLevel, _target: String, message: String) {
        let _ = self.0.lock().unwrap().send((level, message));
    }
}

#[test]
fn logs_reach_the_apps_sink() {
    let (tx, rx) = std::sync::mpsc::channel();
    set_log_sink(Arc::new(Lines(Mutex::new(tx))), LogLevel::Info);
    let dir = tempfile::tempdir().unwrap();
    let _a = open(dir.path(), DEAD_URL);
    // Delivered on the log thread: wait for the line (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((level, m)) if level == LogLevel::Info && m.contains("client opened") => break true,
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    clear_log_sink();
    assert!(found, "{seen:?}");
}

/// An observer that fails at every report (a UI gone away).
struct Throws;

impl SyncObserver for Throws {
    fn on_progress(&self, _: SyncProgress) {
        panic!("the app's observer failed");
    }
}

#[test]
fn a_failing_observer_does_not_stop_the_sync() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    a.add_entry("2026-11-23".into(), entry("09:00", "x"))
        .unwrap();
    let s = a.sync_with(Arc::new(Throws)).unwrap();
    assert_eq!(s.documents_sent, 1);
    assert!(a.last_sync().unwrap().unwrap().ok);
}

/// A server that takes connections and never answers (a stalled network):
/// each accepted connection is reported on the receiver.
fn black_hole() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            if tx.send(()).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

/// A phone folder logged in as u1 on `server`, reopened on `url`.
fn logged_in_on(server: &BlockingApp, dir: &Path, url: &str) -> Arc<JishiClient> {
    let a = open(dir, &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    drop(a);
    open(dir, url)
}

/// Hears every status.
struct Statuses(Mutex<std::sync::mpsc::Sender<SyncStatus>>);

impl StatusListener for Statuses {
    fn on_status(&self, status: SyncStatus) {
        let _ = self.0.lock().unwrap().send(status);
    }
}

fn statuses(client: &JishiClient) -> std::sync::mpsc::Receiver<SyncStatus> {
    let (tx, rx) = std::sync::mpsc::channel();
    client.add_status_listener(Arc::new(Statuses(Mutex::new(tx))));
    rx
}

/// The next status that satisfies `want` (fail after 30 s).
fn next_status(rx: &std::sync::mpsc::Receiver<SyncStatus>, want: impl Fn(&SyncStatus) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let s = rx.recv_timeout(left).expect("the awaited status");
        if want(&s) {
            return;
        }
    }
}

/// A request the server never answers is interrupted by its token at
/// once (the transport's own limit is 120 s, and the old flag was only
/// looked at between requests); meanwhile the phone reads and writes.
#[test]
fn a_cancel_interrupts_a_request_the_server_never_answers() {
    let server = start(|_| {});
    let (hole, accepted) = black_hole();
    let dir = tempfile::tempdir().unwrap();
    let a = logged_in_on(&server, dir.path(), &hole);
    a.add_entry("2026-11-23".into(), entry("09:00", "信号不好"))
        .unwrap();
    let token = CancelToken::new();
    let syncing = {
        let (a, token) = (a.clone(), token.clone());
        std::thread::spawn(move || wait(a.sync(Some(SyncOptions::default()), None, Some(token))))
    };
    accepted.recv().unwrap();
    // The sync waits on the network: reads and edits go on.
    a.add_entry("2026-11-23".into(), entry("10:00", "边等边写"))
        .unwrap();
    assert_eq!(a.diary("2026-11-23".into()).unwrap().entries.len(), 2);
    token.cancel();
    assert_eq!(syncing.join().unwrap().unwrap_err(), JishiError::Cancelled);
    assert_eq!(a.unsynced_documents().unwrap().len(), 1);
    // A cancel is not a sync's outcome: there was none before, there is
    // none now.
    assert_eq!(a.last_sync().unwrap(), None);
}

/// Cancelling the task that awaits a call (a Kotlin coroutine, a Swift
/// task) cancels the call: its future is dropped.
#[test]
fn dropping_the_awaiting_task_stops_the_call() {
    let server = start(|_| {});
    let (hole, accepted) = black_hole();
    let dir = tempfile::tempdir().unwrap();
    let a = logged_in_on(&server, dir.path(), &hole);
    let status = statuses(&a);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let task = runtime.spawn(a.clone().sync(Some(SyncOptions::default()), None, None));
    accepted.recv().unwrap();
    next_status(&status, |s| s.state == SyncState::Syncing);
    task.abort();
    // The sync's thread ends and says so.
    next_status(&status, |s| s.state == SyncState::Idle);
    assert_eq!(a.last_sync().unwrap(), None);
    // The sync's turn is free again: the next one runs (to its deadline).
    let options = SyncOptions {
        photos: false,
        deadline_secs: Some(0),
    };
    let summary = wait(a.clone().sync(Some(options), None, None)).unwrap();
    assert!(!summary.complete);
}

/// A background task's budget: the sync stops at its deadline, also inside
/// a request, keeps what it did and says it is not complete.
#[test]
fn a_sync_stops_at_its_deadline_and_says_it_is_incomplete() {
    let server = start(|_| {});
    let (hole, _accepted) = black_hole();
    let dir = tempfile::tempdir().unwrap();
    let a = logged_in_on(&server, dir.path(), &hole);
    a.add_entry("2026-11-23".into(), entry("09:00", "后台同步"))
        .unwrap();
    let options = SyncOptions {
        photos: true,
        deadline_secs: Some(1),
    };
    let summary = wait(a.clone().sync(Some(options), None, None)).unwrap();
    assert!(!summary.complete);
    assert_eq!(summary.documents_sent, 0);
    assert_eq!(a.unsynced_documents().unwrap().len(), 1);
    assert!(!a.last_sync().unwrap().unwrap().ok);
}

/// Hears data changes.
struct Changes(Mutex<std::sync::mpsc::Sender<DocChange>>);

impl ChangeListener for Changes {
    fn on_change(&self, changes: Vec<DocChange>) {
        for c in changes {
            let _ = self.0.lock().unwrap().send(c);
        }
    }
}

/// `live()`: the cadre's phone hears a supervisor's comment through its
/// change listener, without calling `sync()` and without polling.
#[test]
fn live_brings_a_supervisors_comment_to_the_listener() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("a"), &server.url);
    a.sign_in("u1", PASSWORD, "a").unwrap();
    a.add_entry("2026-11-23".into(), entry("09:00", "入户走访"))
        .unwrap();
    let doc = a.diary("2026-11-23".into()).unwrap().doc_id;
    a.sync_with(quiet()).unwrap();
    let s = open(&dir.path().join("s"), &server.url);
    s.sign_in("s1", PASSWORD, "s").unwrap();
    s.sync_with(quiet()).unwrap();

    let (tx, changes) = std::sync::mpsc::channel();
    a.add_change_listener(Arc::new(Changes(Mutex::new(tx))));
    let status = statuses(&a);
    let token = CancelToken::new();
    let live = {
        let (a, token) = (a.clone(), token.clone());
        std::thread::spawn(move || wait(a.live(Some(token))))
    };
    next_status(&status, |s| s.live);

    let comment = s
        .add_comment(doc.clone(), None, "请补充走访户数".into())
        .unwrap();
    s.sync_with(quiet()).unwrap();
    let heard = loop {
        let c = changes
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("a change heard through live()");
        if c.doc_id == doc && c.origin == ChangeOrigin::Server {
            break c;
        }
    };
    assert_eq!(
        (heard.kind.as_str(), heard.owner_id.as_str()),
        ("diary", "u1")
    );
    assert_eq!(heard.period, "2026-11-23");
    let ids: Vec<String> = a.comments(doc).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, [comment]);

    token.cancel();
    assert_eq!(live.join().unwrap(), Err(JishiError::Cancelled));
    next_status(&status, |s| !s.live);
}

/// An app's own transport (here one that counts, over the library's):
/// every request of a login and a sync goes through it.
struct Counting {
    inner: UreqTransport,
    requests: Mutex<Vec<String>>,
}

impl HttpTransport for Counting {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let path = request.url.split('/').skip(3).collect::<Vec<_>>().join("/");
        self.requests
            .lock()
            .unwrap()
            .push(format!("{} /{path}", request.method));
        self.inner.send(request)
    }
    fn stream(
        &self,
        request: HttpRequest,
        sink: Arc<dyn HttpStreamSink>,
    ) -> Result<(), TransportError> {
        self.inner.stream(request, sink)
    }
}

#[test]
fn every_request_goes_through_the_apps_transport() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let transport = Arc::new(Counting {
        inner: UreqTransport::default(),
        requests: Mutex::default(),
    });
    let a = JishiClient::open_with_transport(
        dir.path().display().to_string(),
        server.url.clone(),
        transport.clone(),
    )
    .unwrap();
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let e = a
        .add_entry("2026-11-23".into(), entry("09:00", "带照片"))
        .unwrap();
    let doc = a.diary("2026-11-23".into()).unwrap().doc_id;
    a.attach(doc, e, camera_file(dir.path(), "t.jpg", 640, 480, 3))
        .unwrap();
    let summary = a.sync_with(quiet()).unwrap();
    assert_eq!(summary.photos_uploaded, 1);
    let requests = transport.requests.lock().unwrap().clone();
    assert_eq!(requests[0], "POST /api/v1/auth/login");
    assert!(
        requests.contains(&"POST /api/v1/sync".to_owned()),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("PATCH /api/v1/blobs/")),
        "{requests:?}"
    );
}

/// A second process on the same data folder (an Android `:sync` process,
/// an iOS extension) is refused while the first holds it.
#[test]
fn a_folder_held_by_another_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join(LOCK_FILE))
        .unwrap();
    other.lock().unwrap();
    let refused = JishiClient::open(dir.path().display().to_string(), DEAD_URL.into());
    assert!(
        matches!(refused, Err(JishiError::FolderInUse { .. })),
        "{refused:?}"
    );
    drop(other);
    open(dir.path(), DEAD_URL);
}

/// The status follows edits and syncs: pending counts, then idle and none
/// pending.
#[test]
fn the_status_listener_follows_edits_and_syncs() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let status = statuses(&a);
    next_status(&status, |s| {
        s.state == SyncState::Idle && s.pending_documents == 0
    });
    a.add_entry("2026-11-23".into(), entry("09:00", "x"))
        .unwrap();
    next_status(&status, |s| s.pending_documents == 1);
    a.sync_with(quiet()).unwrap();
    next_status(&status, |s| s.state == SyncState::Syncing);
    next_status(&status, |s| {
        s.state == SyncState::Idle && s.pending_documents == 0 && s.last_sync.is_some()
    });
    assert_eq!(a.status().unwrap().pending_documents, 0);
}

/// Text positions at the boundary are UTF-16 code units, as an Android
/// `EditText` or an iOS `UITextView` reports them: an emoji and 𠮷 count
/// two, and a position inside one is refused without writing anything.
#[test]
fn text_positions_count_utf16_units_as_the_phone_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(|_| {});
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let day = "2026-11-23".to_owned();
    let e = a
        .add_entry(day.clone(), entry("09:00", "𠮷野家🌾田"))
        .unwrap();
    let text = |a: &JishiClient| a.diary(day.clone()).unwrap().entries[0].text.clone();
    // In Kotlin: "𠮷野家🌾".length == 6.
    a.splice_entry_text(day.clone(), e.clone(), 6, 0, "的".into())
        .unwrap();
    assert_eq!(text(&a), "𠮷野家🌾的田");
    a.splice_entry_text(day.clone(), e.clone(), 4, 2, "👍".into())
        .unwrap();
    assert_eq!(text(&a), "𠮷野家👍的田");
    let inside = a.splice_entry_text(day.clone(), e.clone(), 1, 0, "x".into());
    assert_eq!(field_of(inside.unwrap_err()), "text");
    assert_eq!(text(&a), "𠮷野家👍的田");

    // The day summary and a night activity's texts, by field.
    let diary = a.diary(day.clone()).unwrap().doc_id;
    a.set_text(diary.clone(), None, TextField::Summary, "今天🌧️".into())
        .unwrap();
    // "今天🌧️" is 2 + 2 + 1 (the variation selector) units.
    a.splice_text(diary, None, TextField::Summary, 5, 0, "，走访".into())
        .unwrap();
    assert_eq!(a.diary(day.clone()).unwrap().summary, "今天🌧️，走访");
    let act = a
        .add_activity(
            day.clone(),
            ActivityInput {
                kind: NightKind::Visit,
                start: "19:30".into(),
                end: None,
                place: "三组".into(),
                households: 2,
                issues: "路灯坏了".into(),
                help: String::new(),
            },
        )
        .unwrap();
    let night = a.night_log(day.clone()).unwrap().doc_id;
    a.splice_text(
        night.clone(),
        Some(act.clone()),
        TextField::Issues,
        0,
        0,
        "🚧".into(),
    )
    .unwrap();
    a.set_text(night, Some(act), TextField::Help, "联系电工".into())
        .unwrap();
    let n = a.night_log(day).unwrap();
    assert_eq!(n.activities[0].issues, "🚧路灯坏了");
    assert_eq!(n.activities[0].help, "联系电工");
}

#[test]
fn typing_key_by_key_reaches_the_server_as_one_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(|_| {});
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let day = "2026-11-23".to_owned();
    let e = a.add_entry(day.clone(), entry("09:00", "")).unwrap();
    a.sync_with(quiet()).unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    let changes = |a: &Arc<JishiClient>| {
        let json = wait(
            a.clone()
                .server_get(format!("/api/v1/documents/{doc}/changes"), None),
        )
        .unwrap();
        serde_json::from_str::<Vec<serde_json::Value>>(&json)
            .unwrap()
            .len()
    };
    let before = changes(&a);
    // An EditText's listener: one splice per key, at the cursor (UTF-16).
    let mut typed = String::new();
    for ch in "走访😀𠮷户，了解春耕".chars() {
        let at = typed.encode_utf16().count() as u32;
        a.splice_entry_text(day.clone(), e.clone(), at, 0, ch.to_string())
            .unwrap();
        typed.push(ch);
        assert_eq!(a.diary(day.clone()).unwrap().entries[0].text, typed);
    }
    // A backspace is a key too.
    let at = typed.encode_utf16().count() as u32;
    a.splice_entry_text(day.clone(), e.clone(), at - 1, 1, String::new())
        .unwrap();
    typed.pop();
    assert_eq!(a.unsynced_documents().unwrap().len(), 1);
    a.sync_with(quiet()).unwrap();
    assert_eq!(changes(&a) - before, 1, "eleven keys, one change");
    // Another phone of the cadre reads what was typed.
    let dir_b = tempfile::tempdir().unwrap();
    let b = open(dir_b.path(), &server.url);
    b.sign_in("u1", PASSWORD, "p2").unwrap();
    b.sync_with(quiet()).unwrap();
    assert_eq!(b.diary(day).unwrap().entries[0].text, typed);
}

/// The code and limit of a validation error.
fn rule_of(e: JishiError) -> (String, String, Option<u64>) {
    match e {
        JishiError::Validation {
            field, code, limit, ..
        } => (field, code, limit),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Every error carries a stable code the app maps to its own (Chinese)
/// words, one per case: the rule a field broke and its limit, a wrong
/// password, too many attempts with the wait, why a login is needed.
#[test]
fn errors_carry_stable_codes_an_app_can_translate() {
    let server = start(|c| c.login_per_minute = 2);
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    match a.add_entry("2026-11-17".into(), entry("09:00", "x")) {
        Err(JishiError::LoginRequired { code, .. }) => assert_eq!(code, "never_logged_in"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        rule_of(a.sign_in("u1", "wrong", "p").unwrap_err()),
        ("password".into(), "wrong_password".into(), None)
    );
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let day = "2026-11-17".to_owned();
    let long = "走".repeat(5_001);
    assert_eq!(
        rule_of(a.add_entry(day.clone(), entry("09:00", &long)).unwrap_err()),
        ("text".into(), "too_long".into(), Some(5_000))
    );
    assert_eq!(
        rule_of(a.add_entry(day.clone(), entry("9点", "x")).unwrap_err()),
        ("time".into(), "format".into(), None)
    );
    let mut many = entry("09:00", "x");
    many.households = 100_000;
    let (field, code, limit) = rule_of(a.add_entry(day.clone(), many).unwrap_err());
    assert_eq!((field.as_str(), code.as_str()), ("households", "too_high"));
    assert!(limit.is_some());
    let next_year = (chrono::Local::now().date_naive() + chrono::Days::new(400))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        rule_of(a.add_entry(next_year, entry("09:00", "x")).unwrap_err()),
        ("date".into(), "not_yet".into(), None)
    );
    assert_eq!(
        rule_of(
            a.delete_entry(day.clone(), "no-such-entry".into())
                .unwrap_err()
        )
        .1,
        "not_found"
    );
    let e = a.add_entry(day.clone(), entry("09:00", "x")).unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    assert_eq!(
        rule_of(wait(a.clone().attach_photo(doc, e, "/no/such/file.jpg".into())).unwrap_err()).1,
        "photo_unreadable"
    );

    // Logins past the limit: the wait comes with the error.
    let b = open(&dir.path().join("b"), &server.url);
    let limited = (0..5)
        .map(|_| b.sign_in("u1", "wrong", "p"))
        .find(|r| matches!(r, Err(JishiError::RateLimited { .. })));
    match limited {
        Some(Err(JishiError::RateLimited {
            retry_after_secs, ..
        })) => assert!(retry_after_secs > 0),
        other => panic!("no rate limit in five wrong logins: {other:?}"),
    }

    // Logged out: the code says so.
    a.sign_out().unwrap();
    match a.sync_with(quiet()) {
        Err(JishiError::LoginRequired { code, .. }) => assert_eq!(code, "logged_out"),
        other => panic!("{other:?}"),
    }
}

/// Comments by others come with an unread state and count, kept as an
/// index; marking them read is a watermark that never goes back.
#[test]
fn comments_on_my_records_are_unread_until_marked() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("a"), &server.url);
    a.sign_in("u1", PASSWORD, "a").unwrap();
    let day = "2026-11-23".to_owned();
    a.add_entry(day.clone(), entry("09:00", "入户走访"))
        .unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    // The index is built before any comment, then kept up to date.
    assert!(a.comments_on_my_records().unwrap().is_empty());
    a.sync_with(quiet()).unwrap();
    let s = open(&dir.path().join("s"), &server.url);
    s.sign_in("s1", PASSWORD, "s").unwrap();
    s.sync_with(quiet()).unwrap();
    s.add_comment(doc.clone(), None, "请补充户数".into())
        .unwrap();
    s.sync_with(quiet()).unwrap();
    a.sync_with(quiet()).unwrap();

    let notices = a.comments_on_my_records().unwrap();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].unread);
    assert_eq!(a.status().unwrap().unread_comments, 1);
    // My own reply is no notice.
    a.add_comment(doc.clone(), None, "已补充".into()).unwrap();
    assert_eq!(a.comments_on_my_records().unwrap().len(), 1);

    a.mark_comments_read(notices[0].comment.at_ms).unwrap();
    assert!(!a.comments_on_my_records().unwrap()[0].unread);
    assert_eq!(a.status().unwrap().unread_comments, 0);
    a.mark_comments_read(0).unwrap();
    assert_eq!(
        a.status().unwrap().unread_comments,
        0,
        "the mark never goes back"
    );

    s.sync_with(quiet()).unwrap();
    s.add_comment(doc, None, "收到".into()).unwrap();
    s.sync_with(quiet()).unwrap();
    a.sync_with(quiet()).unwrap();
    let notices = a.comments_on_my_records().unwrap();
    assert_eq!(notices.len(), 2);
    assert_eq!(
        notices.iter().map(|n| n.unread).collect::<Vec<_>>(),
        [true, false],
        "newest first"
    );
    assert_eq!(a.status().unwrap().unread_comments, 1);
}

fn sha256_hex(bytes: &[u8]) -> String {
    sync_core::validate::PhotoHash::of_bytes(bytes).to_string()
}

/// Photos can be shown on every phone: the phone's own file where it took
/// them, else downloaded from the server (checked against the hash) into a
/// cache that pruning empties; a photo its phone has not uploaded yet says
/// so.
#[test]
fn photos_of_other_devices_are_downloaded_shown_and_pruned() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("a"), &server.url);
    a.sign_in("u1", PASSWORD, "a").unwrap();
    let day = "2026-11-23".to_owned();
    let e = a.add_entry(day.clone(), entry("09:00", "拍照")).unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    let taken = a
        .attach(
            doc.clone(),
            e.clone(),
            camera_file(dir.path(), "a.jpg", 1200, 900, 5),
        )
        .unwrap();
    let own = taken.local_path.clone().expect("the phone's own file");
    assert_eq!(sha256_hex(&std::fs::read(&own).unwrap()), taken.hash);
    assert_eq!(a.sync_with(quiet()).unwrap().photos_uploaded, 1);

    // The same cadre's second phone: no file until it asks for one.
    let b = open(&dir.path().join("b"), &server.url);
    b.sign_in("u1", PASSWORD, "b").unwrap();
    b.sync_with(quiet()).unwrap();
    let seen = &b.diary(day.clone()).unwrap().entries[0].photos[0];
    assert_eq!(
        (seen.hash.as_str(), seen.local_path.as_ref()),
        (taken.hash.as_str(), None)
    );
    let full = wait(
        b.clone()
            .photo_file(taken.hash.clone(), PhotoSize::Full, None),
    )
    .unwrap();
    let full_bytes = std::fs::read(&full).unwrap();
    assert_eq!(sha256_hex(&full_bytes), taken.hash);
    let thumb = wait(
        b.clone()
            .photo_file(taken.hash.clone(), PhotoSize::Thumbnail, None),
    )
    .unwrap();
    let thumb_bytes = std::fs::read(&thumb).unwrap();
    assert!(thumb_bytes.starts_with(&[0xFF, 0xD8]) && thumb_bytes.len() < full_bytes.len());
    assert_eq!(
        b.diary(day.clone()).unwrap().entries[0].photos[0].local_path,
        Some(full.clone())
    );

    // A photo whose phone has not uploaded it yet.
    let e2 = a
        .add_entry(day.clone(), entry("10:00", "还没上传"))
        .unwrap();
    let waiting = a
        .attach(doc, e2, camera_file(dir.path(), "w.jpg", 640, 480, 6))
        .unwrap();
    let records_only = SyncOptions {
        photos: false,
        deadline_secs: None,
    };
    wait(a.clone().sync(Some(records_only), None, None)).unwrap();
    b.sync_with(quiet()).unwrap();
    let early = wait(
        b.clone()
            .photo_file(waiting.hash.clone(), PhotoSize::Full, None),
    );
    assert_eq!(rule_of(early.unwrap_err()).1, "not_on_server");

    // Pruning: the cache down to nothing; a's uploaded file (not the one
    // waiting to upload) and a stray file no record names.
    let pruned = b.prune_photos(0, None).unwrap();
    assert_eq!(pruned.files_removed, 2);
    assert_eq!(
        pruned.bytes_freed,
        (full_bytes.len() + thumb_bytes.len()) as u64
    );
    assert_eq!(
        b.diary(day.clone()).unwrap().entries[0].photos[0].local_path,
        None
    );
    let stray = Path::new(&own).with_file_name(format!("{}.jpg", "0".repeat(64)));
    std::fs::write(&stray, b"left by a failed attach").unwrap();
    let pruned = a.prune_photos(u64::MAX, Some(0)).unwrap();
    assert_eq!(pruned.files_removed, 2);
    assert!(!stray.exists() && !Path::new(&own).exists());
    assert!(Path::new(waiting.local_path.as_ref().unwrap()).exists());
    // Shown again by download.
    let again = wait(
        a.clone()
            .photo_file(taken.hash.clone(), PhotoSize::Full, None),
    )
    .unwrap();
    assert_eq!(std::fs::read(again).unwrap(), full_bytes);
}

/// Every edit the core has is reachable, and a week is one call.
#[test]
fn every_edit_is_exported_and_a_week_is_one_call() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let day = "2026-11-23".to_owned();
    let e = a.add_entry(day.clone(), entry("09:00", "入户")).unwrap();
    a.add_entry(day.clone(), entry("10:00", "开会")).unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    let photo = a
        .attach(
            doc.clone(),
            e.clone(),
            camera_file(dir.path(), "d.jpg", 640, 480, 2),
        )
        .unwrap();
    a.set_day_summary(day.clone(), "走访两户".into()).unwrap();
    let act = a
        .add_activity(
            day.clone(),
            ActivityInput {
                kind: NightKind::Visit,
                start: "19:30".into(),
                end: Some("20:30".into()),
                place: "三组".into(),
                households: 2,
                issues: String::new(),
                help: String::new(),
            },
        )
        .unwrap();
    a.update_activity(
        day.clone(),
        act.clone(),
        ActivityUpdate {
            kind: Some(NightKind::Discussion),
            place: Some("村部".into()),
            clear_end: true,
            ..ActivityUpdate::default()
        },
    )
    .unwrap();
    let n = a.night_log(day.clone()).unwrap();
    assert_eq!(n.activities[0].kind, NightKind::Discussion);
    assert_eq!(
        (n.activities[0].place.as_str(), n.activities[0].end.as_ref()),
        ("村部", None)
    );
    a.set_overnight(day.clone(), true, Some("村部".into()))
        .unwrap();

    let week = a
        .days(None, "2026-11-22".into(), "2026-11-28".into())
        .unwrap();
    assert_eq!(week.len(), 7);
    let monday = &week[1];
    assert_eq!(monday.date, day);
    assert_eq!(
        (
            monday.entries,
            monday.households,
            monday.night_activities,
            monday.photos
        ),
        (2, 6, 1, 1)
    );
    assert!(monday.stayed_overnight && monday.has_summary && monday.unsynced);
    assert_eq!((week[0].entries, week[0].unsynced), (0, false));
    assert_eq!(
        rule_of(
            a.days(None, "2026-11-01".into(), "2027-01-31".into())
                .unwrap_err()
        )
        .1,
        "out_of_range"
    );

    a.detach_photo(doc.clone(), e.clone(), photo.hash).unwrap();
    assert!(a.diary(day.clone()).unwrap().entries[0].photos.is_empty());
    let c = a.add_comment(doc.clone(), None, "补充".into()).unwrap();
    a.delete_comment(doc.clone(), c).unwrap();
    assert!(a.comments(doc.clone()).unwrap().is_empty());
    let task = a
        .add_task(
            "2026-11".into(),
            TaskInput {
                title: "走访".into(),
                kind: TaskKind::Fixed,
                due: None,
            },
        )
        .unwrap();
    a.delete_task("2026-11".into(), task).unwrap();
    assert!(a.plan("2026-11".into()).unwrap().tasks.is_empty());

    let refs = a.document_refs().unwrap();
    let diary = refs.iter().find(|r| r.doc_id == doc).unwrap();
    assert_eq!(
        (
            diary.kind.as_str(),
            diary.owner_id.as_str(),
            diary.period.as_str(),
            diary.unsynced
        ),
        ("diary", "u1", "2026-11-23", true)
    );
    a.sync_with(quiet()).unwrap();
    assert!(a.document_refs().unwrap().iter().all(|r| !r.unsynced));
}

/// The phone knows when a long time offline will need a login (the refresh
/// token's life, renewed by each sync), to warn the cadre before.
#[test]
fn the_phone_knows_when_a_login_will_be_needed() {
    let server = start(|c| c.refresh_ttl_secs = 10 * 86_400);
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let account = a.sign_in("u1", PASSWORD, "p").unwrap();
    let at = account.login_expires_at_ms.expect("an expiry");
    let ten_days = 10 * 86_400_000;
    assert!(
        (before + ten_days..before + ten_days + 60_000).contains(&at),
        "{at}"
    );
    assert_eq!(a.status().unwrap().login_expires_at_ms, Some(at));
    a.sign_out().unwrap();
    assert_eq!(a.account().unwrap().unwrap().login_expires_at_ms, None);
    assert_eq!(a.status().unwrap().login_expires_at_ms, None);
}

/// A phone whose clock ran ahead wrote a day the server has not reached:
/// the server refuses it; the phone keeps it unsynced with the reason,
/// across syncs and restarts, until the cadre discards it. Discarding a
/// document the server has brings the server's version back.
#[test]
fn a_refused_document_is_kept_with_its_reason_until_discarded() {
    use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    drop(a);
    // Written through the replica as the library would with a clock ten
    // days ahead.
    let ahead = chrono::Local::now().date_naive() + chrono::Days::new(10);
    let id = DocId::diary(&UserId::parse("u1").unwrap(), ahead);
    {
        let mut r = sync_core::replica::Replica::open(&dir.path().join(REPLICA_FILE)).unwrap();
        let edit = Edit::AddEntry {
            id: ItemId::random(),
            fields: sync_core::document::EntryFields {
                time: sync_core::validate::TimeOfDay::parse("09:00").unwrap(),
                category: sync_core::document::Category::Visit,
                place: "三组".into(),
                text: "提前写的".into(),
                households: 1,
                location: None,
            },
        };
        let ctx = EditContext {
            user: UserId::parse("u1").unwrap(),
            role: Role::Cadre,
            now_ms: 0,
        };
        r.edit(&id, &edit, &ctx).unwrap();
    }
    let a = open(dir.path(), &server.url);
    let s = a.sync_with(quiet()).unwrap();
    assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    let refused = a.refused_documents().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].doc_id, id.to_string());
    assert_eq!(
        (refused[0].kind.as_str(), refused[0].owner_id.as_str()),
        ("diary", "u1")
    );
    assert!(!refused[0].code.is_empty() && !refused[0].message.is_empty());
    assert_eq!(a.unsynced_documents().unwrap(), [id.to_string()]);
    // Kept across a restart and another sync.
    drop(a);
    let a = open(dir.path(), &server.url);
    a.sync_with(quiet()).unwrap();
    assert_eq!(a.refused_documents().unwrap().len(), 1);

    a.discard_local_changes(id.to_string()).unwrap();
    assert!(a.refused_documents().unwrap().is_empty());
    assert!(a.unsynced_documents().unwrap().is_empty());
    assert!(a
        .document_refs()
        .unwrap()
        .iter()
        .all(|r| r.doc_id != id.to_string()));
    assert!(a.sync_with(quiet()).unwrap().problems.is_empty());

    // A document the server has: discarding goes back to its version.
    let day = "2026-11-23".to_owned();
    a.add_entry(day.clone(), entry("09:00", "已上传")).unwrap();
    a.sync_with(quiet()).unwrap();
    a.add_entry(day.clone(), entry("10:00", "不要了")).unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    a.discard_local_changes(doc).unwrap();
    a.sync_with(quiet()).unwrap();
    let texts: Vec<String> = a
        .diary(day)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(texts, ["已上传"]);
    assert!(a.unsynced_documents().unwrap().is_empty());
}

/// Photos from bytes (iOS `Data`) and from an open descriptor (Android's
/// `content://`), with the same checks as a file.
#[test]
fn photos_come_from_bytes_and_from_a_descriptor() {
    use std::os::fd::AsRawFd;
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("a"), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let day = "2026-11-23".to_owned();
    let e = a.add_entry(day.clone(), entry("09:00", "拍照")).unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    let cam = camera_file(dir.path(), "b.jpg", 800, 600, 7);
    let bytes = std::fs::read(&cam).unwrap();
    let from_bytes = wait(a.clone().attach_photo_bytes(doc.clone(), e.clone(), bytes)).unwrap();
    let file = std::fs::File::open(camera_file(dir.path(), "f.jpg", 800, 600, 8)).unwrap();
    let from_fd = wait(
        a.clone()
            .attach_photo_fd(doc.clone(), e.clone(), file.as_raw_fd()),
    )
    .unwrap();
    drop(file);
    assert_ne!(from_bytes.hash, from_fd.hash);
    let photos: Vec<String> = a.diary(day).unwrap().entries[0]
        .photos
        .iter()
        .map(|p| p.hash.clone())
        .collect();
    assert_eq!(photos, [from_bytes.hash, from_fd.hash]);
    assert_eq!(a.sync_with(quiet()).unwrap().photos_uploaded, 2);

    let huge = vec![0u8; 64 << 20];
    let refused = wait(a.clone().attach_photo_bytes(doc.clone(), e.clone(), huge));
    assert_eq!(rule_of(refused.unwrap_err()).1, "photo_too_large");
    let closed = wait(a.clone().attach_photo_fd(doc.clone(), e.clone(), 1_000_000));
    assert_eq!(rule_of(closed.unwrap_err()).1, "photo_unreadable");
    let negative = wait(a.clone().attach_photo_fd(doc, e, -1));
    assert_eq!(rule_of(negative.unwrap_err()).0, "fd");
}

/// The platform's decoder, as the Android or iOS app gives it: here it
/// knows one HEIC file and answers with its JPEG and metadata.
struct Platform {
    heic: Vec<u8>,
    jpeg: Vec<u8>,
    calls: Mutex<u32>,
}

impl PhotoDecoder for Platform {
    fn to_jpeg(&self, bytes: Vec<u8>, max_long_edge: u32) -> Result<DecodedPhoto, DecodeError> {
        *self.calls.lock().unwrap() += 1;
        assert_eq!(max_long_edge, 1600);
        if bytes != self.heic {
            return Err(DecodeError::Unsupported {
                detail: "not the HEIC this platform knows".into(),
            });
        }
        Ok(DecodedPhoto {
            jpeg: self.jpeg.clone(),
            captured_at_ms: Some(1_763_877_600_000),
            location: Some(GeoPoint {
                lat: 28.19,
                lon: 112.98,
                accuracy_m: 8.0,
            }),
        })
    }
}

/// HEIC (every iPhone's default): refused with its own code without a
/// decoder, accepted through the platform's, with the capture time and
/// place the platform read kept as fields.
#[test]
fn a_heic_photo_goes_through_the_platforms_decoder() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let day = "2026-11-23".to_owned();
    let e = a
        .add_entry(day.clone(), entry("09:00", "苹果手机拍的"))
        .unwrap();
    let doc = a.diary(day.clone()).unwrap().doc_id;
    // An ISO media file of brand heic (the HEVC payload is the platform's
    // business).
    let mut heic = vec![0, 0, 0, 24];
    heic.extend(b"ftypheic\0\0\0\0mif1heic");
    heic.extend(std::iter::repeat_n(0x5a, 4096));
    let refused = wait(
        a.clone()
            .attach_photo_bytes(doc.clone(), e.clone(), heic.clone()),
    );
    assert_eq!(rule_of(refused.unwrap_err()).1, "photo_format");

    let jpeg = std::fs::read(camera_file(dir.path(), "h.jpg", 1200, 900, 4)).unwrap();
    let platform = Arc::new(Platform {
        heic: heic.clone(),
        jpeg,
        calls: Mutex::new(0),
    });
    a.set_photo_decoder(Some(platform.clone()));
    let photo = wait(a.clone().attach_photo_bytes(doc.clone(), e.clone(), heic)).unwrap();
    assert_eq!(*platform.calls.lock().unwrap(), 1);
    assert_eq!(photo.captured_at_ms, Some(1_763_877_600_000));
    assert_eq!(photo.location.as_ref().map(|l| l.lat), Some(28.19));
    let shown = &a.diary(day).unwrap().entries[0].photos[0];
    assert_eq!(
        (shown.hash.as_str(), shown.captured_at_ms),
        (photo.hash.as_str(), Some(1_763_877_600_000))
    );
    // A JPEG still goes the library's own way.
    wait(
        a.clone()
            .attach_photo(doc, e, camera_file(dir.path(), "j.jpg", 640, 480, 1)),
    )
    .unwrap();
    assert_eq!(*platform.calls.lock().unwrap(), 1);
    assert_eq!(a.sync_with(quiet()).unwrap().photos_uploaded, 2);
}

/// The entries' texts of u1's diary on `date`, as `client` has them.
fn texts(client: &JishiClient, date: &str) -> Vec<String> {
    let mut t: Vec<String> = client
        .diary(date.into())
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.text)
        .collect();
    t.sort();
    t
}

#[test]
fn a_revoked_phone_becomes_a_new_device_and_its_unsynced_work_reaches_the_server() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    let old = a.sign_in("u1", PASSWORD, "p").unwrap();
    assert_eq!(old.became_new_device, None);
    a.add_entry("2026-11-20".into(), entry("09:00", "已同步"))
        .unwrap();
    a.sync_with(quiet()).unwrap();
    // Offline: more on the synced day, and a day the server never saw.
    a.add_entry("2026-11-20".into(), entry("10:00", "吊销后才同步"))
        .unwrap();
    a.add_entry("2026-11-21".into(), entry("09:00", "新的一天"))
        .unwrap();
    // The phone was reported lost, then found: an administrator revoked it.
    server
        .block_on(server.state.store.revoke_device(&old.device_id))
        .unwrap();
    let e = a.sync_with(quiet()).unwrap_err();
    assert!(matches!(e, JishiError::LoginRequired { .. }), "{e:?}");

    let account = a.sign_in("u1", PASSWORD, "p").unwrap();
    assert_eq!(account.became_new_device.as_deref(), Some("device_revoked"));
    assert_ne!(account.device_id, old.device_id);
    assert_eq!(a.unsynced_documents().unwrap().len(), 2, "nothing was lost");
    let summary = a.sync_with(quiet()).unwrap();
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    assert!(a.unsynced_documents().unwrap().is_empty());
    // Another phone of the same cadre sees it all.
    let dir_b = tempfile::tempdir().unwrap();
    let b = open(dir_b.path(), &server.url);
    b.sign_in("u1", PASSWORD, "p2").unwrap();
    b.sync_with(quiet()).unwrap();
    assert_eq!(texts(&b, "2026-11-20"), ["吊销后才同步", "已同步"]);
    assert_eq!(texts(&b, "2026-11-21"), ["新的一天"]);
    // The old device stays revoked; the new one is the cadre's.
    let devices = server.block_on(server.state.store.devices()).unwrap();
    let revoked: Vec<_> = devices
        .iter()
        .filter(|d| d.revoked_at.is_some())
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(revoked, [old.device_id.as_str()]);
}

/// Copy a closed phone folder, as an OS backup restored on a new phone does.
fn copy_folder(from: &Path, to: &Path) {
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        let target = to.join(f.file_name());
        if f.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_folder(&f.path(), &target);
        } else {
            std::fs::copy(f.path(), target).unwrap();
        }
    }
}

#[test]
fn a_restored_copy_is_detected_and_becomes_a_new_device_keeping_its_edits() {
    // Access tokens shorter than the renewal margin: every sync renews, as
    // a phone does after a quarter of an hour.
    let server = start(|c| c.access_ttl_secs = 30);
    let dir_a = tempfile::tempdir().unwrap();
    let a = open(dir_a.path(), &server.url);
    let original = a.sign_in("u1", PASSWORD, "p").unwrap();
    a.add_entry("2026-11-20".into(), entry("09:00", "备份前"))
        .unwrap();
    a.sync_with(quiet()).unwrap();
    // The backup, restored later on a new phone.
    drop(a);
    let dir_b = tempfile::tempdir().unwrap();
    copy_folder(dir_a.path(), dir_b.path());
    // The original goes on: edits and syncs.
    let a = open(dir_a.path(), &server.url);
    a.add_entry("2026-11-20".into(), entry("10:00", "原手机"))
        .unwrap();
    a.sync_with(quiet()).unwrap();
    a.sync_with(quiet()).unwrap();

    // The copy writes the same day before it ever reaches the server: the
    // same actor and sequence number as the original's edit.
    let b = open(dir_b.path(), &server.url);
    assert_eq!(b.account().unwrap().unwrap().device_id, original.device_id);
    b.add_entry("2026-11-20".into(), entry("11:00", "恢复的副本"))
        .unwrap();
    let e = b.sync_with(quiet()).unwrap_err();
    match &e {
        JishiError::LoginRequired { code, .. } => assert_eq!(code, "device_copied"),
        other => panic!("{other:?}"),
    }
    let account = b.account().unwrap().unwrap();
    assert_ne!(
        account.device_id, original.device_id,
        "a new device at once"
    );
    assert!(account.needs_login);
    let account = b.sign_in("u1", PASSWORD, "p").unwrap();
    assert_eq!(account.became_new_device, None, "already moved");
    let summary = b.sync_with(quiet()).unwrap();
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    assert_eq!(texts(&b, "2026-11-20"), ["原手机", "备份前", "恢复的副本"]);
    // The original is still the device it was, and receives the copy's edit.
    a.sync_with(quiet()).unwrap();
    assert_eq!(a.account().unwrap().unwrap().device_id, original.device_id);
    assert_eq!(texts(&a, "2026-11-20"), ["原手机", "备份前", "恢复的副本"]);
    assert_eq!(
        server
            .block_on(server.state.store.security_events("device_copied"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_profile_and_the_monthly_review_come_from_the_server() {
    let server = start(|_| {});
    let leader = UserBuilder::leader("l1")
        .unit(county::TOWNSHIP)
        .scope(county::TOWNSHIP)
        .build();
    server.block_on(county::add_user(&server.state.store, leader));
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    // Logged out: a login is needed, nothing is asked of the server.
    assert!(matches!(
        wait(a.clone().profile(None)),
        Err(JishiError::LoginRequired { .. })
    ));
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let me = wait(a.clone().profile(None)).unwrap();
    assert_eq!(
        (me.user_id.as_str(), me.role.as_str(), me.unit_id.as_str()),
        ("u1", "cadre", county::VILLAGE)
    );
    assert!(!me.name.is_empty());

    // The township head reviews u1 for a month long past (its results are
    // published to the unit).
    let month = "2020-01";
    let leader = server.block_on(async {
        let http = reqwest::Client::new();
        let s = jishi_tests::phone::login(&http, &server.url, "l1", "web-l1", &[]).await;
        let r = http
            .put(format!("{}/api/v1/reviews/{month}/u1", server.url))
            .bearer_auth(&s.access)
            .json(&serde_json::json!({"targets": 75, "conduct": 18, "comment": "走访扎实"}))
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    });
    assert_eq!(leader, 200);
    let result = wait(a.clone().review_result(month.into(), None, None))
        .unwrap()
        .expect("published to the village");
    assert_eq!(
        (result.targets, result.conduct, result.total),
        (Some(75), Some(18), Some(93))
    );
    assert_eq!(result.comment.as_deref(), Some("走访扎实"));
    assert_eq!((result.rank, result.ranked_of), (Some(1), 1));
    assert_eq!(result.group, "一般干部", "ranked among cadres, not leaders");
    assert!(result.published);
    // Ranked in the township.
    let township = wait(
        a.clone()
            .review_result(month.into(), Some(county::TOWNSHIP.into()), None),
    )
    .unwrap()
    .expect("published to the township");
    assert_eq!(township.total, Some(93));
    // Not published yet (a month to come), and a unit that is not the
    // cadre's: nothing.
    assert_eq!(
        wait(a.clone().review_result("2199-12".into(), None, None)).unwrap(),
        None
    );
    assert_eq!(
        wait(
            a.clone()
                .review_result(month.into(), Some("t9".into()), None)
        )
        .unwrap(),
        None
    );
    let bad = wait(a.clone().review_result("2020-13".into(), None, None)).unwrap_err();
    assert!(matches!(bad, JishiError::Validation { .. }), "{bad:?}");

    // The names the screens show: the cadre, and those who read and
    // review their records; not a fellow cadre whose records they cannot
    // read. Kept for offline use.
    assert!(a.known_people().unwrap().is_empty());
    let people = wait(a.clone().people(None)).unwrap();
    let ids: Vec<&str> = people.iter().map(|p| p.user_id.as_str()).collect();
    assert_eq!(ids, ["l1", "s1", "u1"], "{people:?}");
    assert!(people
        .iter()
        .all(|p| !p.name.is_empty() && !p.unit_name.is_empty()));
    assert_eq!(a.known_people().unwrap(), people);

    // Any other read of the API, with the library's session.
    let json = wait(a.clone().server_get("/api/v1/me".into(), None)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["id"], "u1");
    for outside in [
        "/metrics",
        "/api/v1/../metrics",
        "http://elsewhere/api/v1/me",
    ] {
        let e = wait(a.clone().server_get(outside.into(), None)).unwrap_err();
        match e {
            JishiError::Validation { field, .. } => assert_eq!(field, "path"),
            other => panic!("{outside}: {other:?}"),
        }
    }
    let missing = wait(a.clone().server_get("/api/v1/nothing-here".into(), None)).unwrap_err();
    match missing {
        JishiError::Validation { code, .. } => assert_eq!(code, "not_found"),
        other => panic!("{other:?}"),
    }
    // Offline: a clear error, nothing kept.
    let b = {
        drop(a);
        open(dir.path(), DEAD_URL)
    };
    assert!(matches!(
        wait(b.clone().profile(None)),
        Err(JishiError::Offline { .. })
    ));
}

#[test]
fn a_leader_reads_the_filing_of_the_units_under_them() {
    let server = start(|_| {});
    let leader = UserBuilder::leader("l1")
        .unit(county::TOWNSHIP)
        .scope(county::TOWNSHIP)
        .build();
    server.block_on(county::add_user(&server.state.store, leader));
    let dir_u = tempfile::tempdir().unwrap();
    let u = open(dir_u.path(), &server.url);
    u.sign_in("u1", PASSWORD, "p").unwrap();
    u.add_entry("2026-11-20".into(), entry("09:00", "入户走访"))
        .unwrap();
    u.add_entry("2026-11-20".into(), entry("15:00", "调解纠纷"))
        .unwrap();
    u.sync_with(quiet()).unwrap();
    let filing = |c: &Arc<JishiClient>, unit: &str, from: &str, to: &str| {
        wait(
            c.clone()
                .unit_filing(unit.into(), from.into(), to.into(), None),
        )
    };

    let dir_l = tempfile::tempdir().unwrap();
    let l = open(dir_l.path(), &server.url);
    l.sign_in("l1", PASSWORD, "pl").unwrap();
    let rows = filing(&l, county::TOWNSHIP, "2026-11-16", "2026-11-22").unwrap();
    let u1 = rows.iter().find(|r| r.user_id == "u1").expect("u1 listed");
    assert_eq!((u1.days_filed, u1.entries), (1, 2), "{u1:?}");
    assert_eq!(u1.unit_id, county::VILLAGE);
    assert!(!u1.name.is_empty());
    // A week before: listed, nothing filed.
    let before = filing(&l, county::TOWNSHIP, "2026-11-09", "2026-11-15").unwrap();
    assert!(before.iter().all(|r| r.days_filed == 0 && r.entries == 0));

    // A cadre reads no unit's figures; bad input names its field.
    match filing(&u, county::VILLAGE, "2026-11-16", "2026-11-22").unwrap_err() {
        JishiError::Validation { code, .. } => assert_eq!(code, "not_found"),
        other => panic!("{other:?}"),
    }
    for (unit, from, to, field) in [
        ("t1/../x", "2026-11-16", "2026-11-22", "unit_id"),
        (county::TOWNSHIP, "2026-11-31", "2026-11-22", "from"),
        (county::TOWNSHIP, "2026-11-22", "2026-11-16", "to"),
    ] {
        match filing(&l, unit, from, to).unwrap_err() {
            JishiError::Validation { field: f, .. } => assert_eq!(f, field),
            other => panic!("{unit} {from} {to}: {other:?}"),
        }
    }
}

#[test]
fn a_wipe_leaves_a_fresh_install_and_refuses_to_lose_unsynced_work_unless_forced() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    let first = a.sign_in("u1", PASSWORD, "p").unwrap();
    a.add_entry("2026-11-20".into(), entry("09:00", "已同步"))
        .unwrap();
    let doc = a.diary("2026-11-20".into()).unwrap().doc_id;
    let camera = camera_file(dir.path(), "camera.jpg", 800, 600, 1);
    let entry_id = a.diary("2026-11-20".into()).unwrap().entries[0].id.clone();
    a.attach(doc.clone(), entry_id, camera).unwrap();
    a.sync_with(quiet()).unwrap();
    // Unsynced work: refused without force, nothing touched.
    a.add_entry("2026-11-21".into(), entry("09:00", "未同步"))
        .unwrap();
    match wait(a.clone().wipe(false)).unwrap_err() {
        JishiError::Conflict { code, .. } => assert_eq!(code, "unsynced"),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.unsynced_documents().unwrap().len(), 1);
    assert!(a.account().unwrap().is_some());

    let report = wait(a.clone().wipe(true)).unwrap();
    assert_eq!((report.documents, report.unsynced_documents), (2, 1));
    assert!(a.document_refs().unwrap().is_empty());
    assert!(a.account().unwrap().is_none(), "no session left");
    assert!(!dir.path().join("photos").exists(), "own photos removed");

    // A fresh install: a new device, and the synced records come back.
    let again = a.sign_in("u1", PASSWORD, "p").unwrap();
    assert_ne!(again.device_id, first.device_id);
    a.sync_with(quiet()).unwrap();
    assert_eq!(texts(&a, "2026-11-20"), ["已同步"]);
    assert!(
        texts(&a, "2026-11-21").is_empty(),
        "the forced wipe lost it"
    );
    // And after a reopen the client is the same fresh one.
    drop(a);
    let a = open(dir.path(), &server.url);
    assert_eq!(a.account().unwrap().unwrap().device_id, again.device_id);
}

/// A Keystore or Keychain stand-in.
#[derive(Default)]
struct MemorySecrets(Mutex<std::collections::HashMap<String, Vec<u8>>>);

impl SecretStore for MemorySecrets {
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, SecretError> {
        Ok(self.0.lock().unwrap().get(&key).cloned())
    }
    fn store(&self, key: String, value: Option<Vec<u8>>) -> Result<(), SecretError> {
        let mut m = self.0.lock().unwrap();
        match value {
            Some(v) => m.insert(key, v),
            None => m.remove(&key),
        };
        Ok(())
    }
}

/// The replica file's bytes, as anyone with the file (a backup) reads them.
fn session_on_disk(dir: &Path) -> String {
    let r = sync_core::replica::Replica::open(&dir.join(REPLICA_FILE)).unwrap();
    String::from_utf8(r.meta("ffi.session").unwrap().unwrap_or_default()).unwrap()
}

#[test]
fn tokens_kept_in_the_apps_secret_store_never_touch_the_replica_file() {
    let server = start(|c| c.access_ttl_secs = 30);
    let dir = tempfile::tempdir().unwrap();
    // Logged in before the app had a secret store: the tokens move.
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    assert!(session_on_disk(dir.path()).contains("refresh_token\":\""));
    let secrets = Arc::new(MemorySecrets::default());
    a.set_secret_store(secrets.clone()).unwrap();
    let on_disk = session_on_disk(dir.path());
    assert!(!on_disk.contains("refresh_token\":\""), "{on_disk}");
    assert_eq!(secrets.0.lock().unwrap().len(), 1);
    // Renewals (every sync here) keep them in the store.
    a.add_entry("2026-11-20".into(), entry("09:00", "钥匙串"))
        .unwrap();
    a.sync_with(quiet()).unwrap();
    a.sync_with(quiet()).unwrap();
    assert!(!session_on_disk(dir.path()).contains("refresh_token\":\""));
    assert!(!a.account().unwrap().unwrap().needs_login);
    // A login with the store set never writes them to the file.
    a.sign_out().unwrap();
    assert!(secrets.0.lock().unwrap().is_empty(), "logout removes them");
    a.sign_in("u1", PASSWORD, "p").unwrap();
    assert!(!session_on_disk(dir.path()).contains("refresh_token\":\""));
    assert_eq!(secrets.0.lock().unwrap().len(), 1);
    drop(a);

    // The folder on a phone whose store does not have them (restored from
    // a backup): a login is needed, nothing else is lost.
    let b = open(dir.path(), &server.url);
    b.set_secret_store(Arc::new(MemorySecrets::default()))
        .unwrap();
    assert!(matches!(
        b.sync_with(quiet()),
        Err(JishiError::LoginRequired { .. })
    ));
    assert_eq!(texts(&b, "2026-11-20"), ["钥匙串"]);
    drop(b);
    // The same phone again, with its store: syncs as before.
    let c = open(dir.path(), &server.url);
    c.set_secret_store(secrets.clone()).unwrap();
    c.sync_with(quiet()).unwrap();
}

#[test]
fn a_restored_copy_forgets_the_old_devices_tokens_in_the_secret_store() {
    let server = start(|c| c.access_ttl_secs = 30);
    let dir_a = tempfile::tempdir().unwrap();
    let secrets_a = Arc::new(MemorySecrets::default());
    let a = open(dir_a.path(), &server.url);
    a.set_secret_store(secrets_a.clone()).unwrap();
    a.sign_in("u1", PASSWORD, "p").unwrap();
    drop(a);
    // The folder and the keychain both restored on another phone.
    let dir_b = tempfile::tempdir().unwrap();
    copy_folder(dir_a.path(), dir_b.path());
    let secrets_b = Arc::new(MemorySecrets(Mutex::new(
        secrets_a.0.lock().unwrap().clone(),
    )));
    // The original renews its tokens (every sync here) and moves on.
    let a = open(dir_a.path(), &server.url);
    a.set_secret_store(secrets_a.clone()).unwrap();
    a.sync_with(quiet()).unwrap();
    a.sync_with(quiet()).unwrap();

    let b = open(dir_b.path(), &server.url);
    b.set_secret_store(secrets_b.clone()).unwrap();
    match b.sync_with(quiet()).unwrap_err() {
        JishiError::LoginRequired { code, .. } => assert_eq!(code, "device_copied"),
        other => panic!("{other:?}"),
    }
    assert!(
        secrets_b.0.lock().unwrap().is_empty(),
        "the old device's tokens are gone from the copy's store"
    );
    assert!(b.account().unwrap().unwrap().needs_login);
    b.sign_in("u1", PASSWORD, "p").unwrap();
    assert_eq!(secrets_b.0.lock().unwrap().len(), 1);
    b.sync_with(quiet()).unwrap();
    a.sync_with(quiet()).unwrap();
}

#[test]
fn a_tasks_due_date_moves_clears_and_reaches_the_server() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let month = "2026-11".to_owned();
    let task = a
        .add_task(
            month.clone(),
            TaskInput {
                title: "危房改造摸排".into(),
                kind: TaskKind::Dynamic,
                due: Some("2026-11-20".into()),
            },
        )
        .unwrap();
    let due = |c: &JishiClient| c.plan(month.clone()).unwrap().tasks[0].due.clone();
    a.set_task_due(month.clone(), task.clone(), Some("2026-12-05".into()))
        .unwrap();
    assert_eq!(due(&a).as_deref(), Some("2026-12-05"));
    a.sync_with(quiet()).unwrap();
    a.set_task_due(month.clone(), task.clone(), None).unwrap();
    assert_eq!(due(&a), None);
    let s = a.sync_with(quiet()).unwrap();
    assert!(
        s.problems.is_empty(),
        "the server takes a cleared date: {:?}",
        s.problems
    );
    // Bad dates name the field; nothing is written.
    for bad in ["2026-13-01", "2026-10-31", "2028-01-01"] {
        let e = a
            .set_task_due(month.clone(), task.clone(), Some(bad.into()))
            .unwrap_err();
        assert_eq!(field_of(e), "due", "{bad}");
    }
    assert!(a.unsynced_documents().unwrap().is_empty());
    // Another phone of the cadre sees the last word.
    let dir_b = tempfile::tempdir().unwrap();
    let b = open(dir_b.path(), &server.url);
    b.sign_in("u1", PASSWORD, "p2").unwrap();
    b.sync_with(quiet()).unwrap();
    assert_eq!(due(&b), None);
}

#[test]
fn two_accounts_on_one_phone_are_two_clients_on_two_folders() {
    let server = start(|_| {});
    let root = tempfile::tempdir().unwrap();
    let (d1, d2) = (root.path().join("u1"), root.path().join("u2"));
    let a = open(&d1, &server.url);
    let b = open(&d2, &server.url);
    a.sign_in("u1", PASSWORD, "shared phone").unwrap();
    b.sign_in("u2", PASSWORD, "shared phone").unwrap();
    a.add_entry("2026-11-20".into(), entry("09:00", "一号的记录"))
        .unwrap();
    b.add_entry("2026-11-20".into(), entry("09:00", "二号的记录"))
        .unwrap();
    a.sync_with(quiet()).unwrap();
    b.sync_with(quiet()).unwrap();
    assert_eq!(texts(&a, "2026-11-20"), ["一号的记录"]);
    assert_eq!(texts(&b, "2026-11-20"), ["二号的记录"]);
    let (da, db) = (
        a.account().unwrap().unwrap().device_id,
        b.account().unwrap().unwrap().device_id,
    );
    assert_ne!(da, db, "each folder is its own device");
    // One account signing out leaves the other as it was.
    a.sign_out().unwrap();
    assert!(!b.account().unwrap().unwrap().needs_login);
    b.sync_with(quiet()).unwrap();
}

#[test]
fn search_finds_words_in_every_kind_of_record_newest_first_offline() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(|_| {});
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    drop(a);
    let a = open(dir.path(), DEAD_URL);
    a.add_entry(
        "2026-11-18".into(),
        entry("09:00", "走访王大爷，反映饮水问题"),
    )
    .unwrap();
    let gone = a
        .add_entry("2026-11-19".into(), entry("09:00", "饮水管道已删"))
        .unwrap();
    a.delete_entry("2026-11-19".into(), gone).unwrap();
    a.add_activity(
        "2026-11-20".into(),
        ActivityInput {
            kind: NightKind::Visit,
            start: "19:30".into(),
            end: None,
            place: "三组".into(),
            households: 2,
            issues: "饮水不稳定".into(),
            help: "联系水利站".into(),
        },
    )
    .unwrap();
    a.add_task(
        "2026-11".into(),
        TaskInput {
            title: "解决三组饮水".into(),
            kind: TaskKind::Fixed,
            due: None,
        },
    )
    .unwrap();
    let hits = a.search(" 饮水 ".into(), 50).unwrap();
    let found: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.doc.period.as_str(), h.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("2026-11-20", "issues"),
            ("2026-11-18", "text"),
            ("2026-11", "title"),
        ],
        "{hits:?}"
    );
    assert!(hits[1].snippet.contains("饮水问题"));
    assert!(hits.iter().all(|h| h.doc.unsynced && h.item_id.is_some()));
    assert_eq!(a.search("饮水".into(), 1).unwrap().len(), 1, "the limit");
    assert!(a.search("没有的词".into(), 10).unwrap().is_empty());
    assert_eq!(field_of(a.search("  ".into(), 10).unwrap_err()), "query");
}

#[test]
fn the_township_notices_are_read_on_the_phone() {
    use backend::publications::versions::{amend, Amend};
    use backend::publications::{publish_week, week::IsoWeek};
    let server = start(|_| {});
    let week = IsoWeek::parse("2026-W47").unwrap();
    server
        .block_on(publish_week(
            &server.state.store,
            county::TOWNSHIP,
            week,
            &backend::calendar::Calendar::weekdays(),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    // The cadre's village publishes nothing: its notices are the township's.
    let board = wait(a.clone().notice_board(None, None)).unwrap();
    assert_eq!(board.unit_id, county::TOWNSHIP);
    // (The server's Monday task may have published last week too.)
    let w47 = board
        .notices
        .iter()
        .find(|n| n.week == "2026-W47")
        .expect("listed");
    assert_eq!(w47.status, "publish");
    let weeks: Vec<&str> = board
        .notices
        .iter()
        .filter(|n| n.kind == "week")
        .map(|n| n.week.as_str())
        .collect();
    assert!(weeks.windows(2).all(|p| p[0] > p[1]), "newest first");
    let n = wait(
        a.clone()
            .notice(board.unit_id.clone(), "2026-W47".into(), None),
    )
    .unwrap();
    assert_eq!((n.status.as_str(), n.version), ("published", 1));
    assert_eq!(n.page_path, format!("/p/{}/2026-W47", county::TOWNSHIP));
    let me = n
        .cadres
        .iter()
        .find(|c| c.user_id == "u1")
        .expect("u1's row");
    assert_eq!((me.days_due, me.days_filed, me.days_missed), (5, 0, 5));
    assert!(n.published_at.is_some() && n.withdrawal_reason.is_none());
    // Withdrawn: what is left says why; the versions say who.
    server
        .block_on(amend(
            &server.state,
            county::TOWNSHIP,
            backend::publications::Period::Week(week),
            Amend::Withdraw,
            "名单有误",
            "s1",
        ))
        .unwrap();
    let n = wait(
        a.clone()
            .notice(county::TOWNSHIP.into(), "2026-W47".into(), None),
    )
    .unwrap();
    assert_eq!((n.status.as_str(), n.version), ("withdrawn", 2));
    assert_eq!(n.withdrawal_reason.as_deref(), Some("名单有误"));
    assert!(n.cadres.is_empty());
    assert_eq!(n.versions.len(), 2);
    assert_eq!(n.versions[1].action, "withdraw");
    assert!(!n.versions[1].by.is_empty() && n.versions[1].current);
    let board = wait(a.clone().notice_board(Some(county::TOWNSHIP.into()), None)).unwrap();
    let w47 = board.notices.iter().find(|n| n.week == "2026-W47").unwrap();
    assert_eq!(w47.status, "withdraw");
    // Bad input is named; what does not exist is not_found.
    assert_eq!(
        field_of(
            wait(
                a.clone()
                    .notice(county::TOWNSHIP.into(), "2026-47".into(), None)
            )
            .unwrap_err()
        ),
        "week"
    );
    assert_eq!(
        field_of(wait(a.clone().notice("t1/../x".into(), "2026-W47".into(), None)).unwrap_err()),
        "unit_id"
    );
    for e in [
        wait(
            a.clone()
                .notice(county::TOWNSHIP.into(), "2026-W40".into(), None),
        )
        .unwrap_err(),
        wait(a.clone().notice_board(Some(county::COUNTY.into()), None)).unwrap_err(),
    ] {
        assert!(
            matches!(&e, JishiError::Validation { code, .. } if code == "not_found"),
            "{e:?}"
        );
    }
}

#[test]
fn the_month_notices_are_read_on_the_phone() {
    use backend::publications::monthly::{MonthKey, MonthPart};
    use backend::publications::{publish, Period};
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    a.add_task(
        "2026-11".into(),
        TaskInput {
            title: "修通村道".into(),
            kind: TaskKind::Fixed,
            due: Some("2026-11-20".into()),
        },
    )
    .unwrap();
    wait(a.clone().sync(Some(SyncOptions::default()), None, None)).unwrap();
    let key = MonthKey {
        first: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        part: MonthPart::Start,
    };
    server
        .block_on(publish(&server.state, county::TOWNSHIP, Period::Month(key)))
        .unwrap();
    let board = wait(a.clone().notice_board(None, None)).unwrap();
    let item = board
        .notices
        .iter()
        .find(|n| n.week == "2026-11-start")
        .expect("listed");
    assert_eq!(item.kind, "month_start");
    let n = wait(
        a.clone()
            .month_notice(board.unit_id.clone(), item.week.clone(), None),
    )
    .unwrap();
    assert_eq!(
        (n.status.as_str(), n.part.as_str(), n.version),
        ("published", "start", 1)
    );
    assert_eq!(
        n.page_path,
        format!("/p/{}/2026-11-start", county::TOWNSHIP)
    );
    let me = n.cadres.iter().find(|c| c.user_id == "u1").expect("u1");
    assert_eq!(me.commitments.len(), 1);
    let c = &me.commitments[0];
    assert_eq!(
        (c.title.as_str(), c.kind.as_str(), c.due.as_deref()),
        ("修通村道", "fixed", Some("2026-11-20"))
    );
    assert_eq!((c.status.as_str(), c.change.as_deref()), ("open", None));
    // A key that is not a month notice's is refused before any request.
    for bad in ["2026-W47", "2026-13-end", "2026-11-middle", "../x"] {
        let e = wait(
            a.clone()
                .month_notice(board.unit_id.clone(), bad.into(), None),
        )
        .unwrap_err();
        assert_eq!(field_of(e), "key", "{bad}");
    }
    // One never published.
    let e = wait(
        a.clone()
            .month_notice(board.unit_id.clone(), "2026-10-end".into(), None),
    )
    .unwrap_err();
    assert_eq!(field_of(e), "path");
}

#[test]
fn a_cadre_ranked_last_makes_a_statement_from_the_phone() {
    let server = start(|_| {});
    for u in [
        UserBuilder::leader("l1")
            .unit(county::TOWNSHIP)
            .scope(county::TOWNSHIP)
            .build(),
        UserBuilder::cadre("u3").unit(county::VILLAGE).build(),
    ] {
        server.block_on(county::add_user(&server.state.store, u));
    }
    // The township head reviews three cadres of a month long past: u1 last.
    let month = "2020-01";
    server.block_on(async {
        let http = reqwest::Client::new();
        let s = jishi_tests::phone::login(&http, &server.url, "l1", "web-l1", &[]).await;
        for (user, targets) in [("u1", 50), ("u2", 75), ("u3", 70)] {
            let r = http
                .put(format!("{}/api/v1/reviews/{month}/{user}", server.url))
                .bearer_auth(&s.access)
                .json(&serde_json::json!({"targets": targets, "conduct": 15}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    let mine = wait(a.clone().review_result(month.into(), None, None))
        .unwrap()
        .unwrap();
    assert!(mine.bottom && mine.statement.is_none(), "{mine:?}");
    let short = wait(a.clone().submit_statement(month.into(), " ".into(), None)).unwrap_err();
    assert_eq!(field_of(short), "text");
    wait(
        a.clone()
            .submit_statement(month.into(), "下月多走访，补齐台账。".into(), None),
    )
    .unwrap();
    let mine = wait(a.clone().review_result(month.into(), None, None))
        .unwrap()
        .unwrap();
    assert_eq!(mine.statement.as_deref(), Some("下月多走访，补齐台账。"));
    // Once: a statement is never changed.
    let again = wait(
        a.clone()
            .submit_statement(month.into(), "改一下".into(), None),
    )
    .unwrap_err();
    assert!(
        matches!(&again, JishiError::Conflict { code, .. } if code == "statement_exists"),
        "{again:?}"
    );
    // The first of the three has nothing to state.
    let other = tempfile::tempdir().unwrap();
    let b = open(other.path(), &server.url);
    b.sign_in("u2", PASSWORD, "p2").unwrap();
    let top = wait(
        b.clone()
            .submit_statement(month.into(), "我也表态".into(), None),
    )
    .unwrap_err();
    assert!(
        matches!(&top, JishiError::Conflict { code, .. } if code == "not_bottom"),
        "{top:?}"
    );
}

#[test]
fn an_item_issued_on_the_server_is_worked_on_the_phone_and_closed_by_its_issuer() {
    let server = start(|_| {});
    server.block_on(county::add_user(
        &server.state.store,
        UserBuilder::leader("l1")
            .unit(county::TOWNSHIP)
            .scope(county::TOWNSHIP)
            .build(),
    ));
    let (http, l1) = server.block_on(async {
        let http = reqwest::Client::new();
        let s = jishi_tests::phone::login(&http, &server.url, "l1", "web-l1", &[]).await;
        (http, s)
    });
    let post = |path: &str, body: serde_json::Value| -> (u16, serde_json::Value) {
        server.block_on(async {
            let r = http
                .post(format!("{}{path}", server.url))
                .bearer_auth(&l1.access)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        })
    };
    let (status, item) = post(
        "/api/v1/items",
        serde_json::json!({
            "list": "supervision", "source": "superior", "title": "村道修复",
            "content": "三组道路破损。", "due_workdays": 5, "responsible": "u1",
        }),
    );
    assert_eq!(status, 201, "{item}");
    let doc_id = item["id"].as_str().unwrap().to_owned();

    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    wait(a.clone().sync(Some(SyncOptions::default()), None, None)).unwrap();
    let mine = a.my_items().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (
            mine[0].doc_id.as_str(),
            mine[0].status.as_str(),
            mine[0].my_part.as_str()
        ),
        (doc_id.as_str(), "open", "responsible")
    );
    assert_eq!(
        mine[0].may,
        vec![ItemStepAction::Progress, ItemStepAction::RequestClose]
    );
    // Offline: progress with photos of the site, then the request;
    // confirming my own is refused.
    let photos = vec![
        camera_file(dir.path(), "site1.jpg", 640, 480, 1),
        camera_file(dir.path(), "site2.jpg", 480, 640, 2),
    ];
    let too_many = vec![photos[0].clone(); 10];
    let e = wait(a.clone().take_item_step_with_photos(
        doc_id.clone(),
        ItemStepAction::Progress,
        "太多".into(),
        too_many,
    ))
    .unwrap_err();
    assert_eq!(rule_of(e).1, "too_many");
    wait(a.clone().take_item_step_with_photos(
        doc_id.clone(),
        ItemStepAction::Progress,
        "已联系施工队".into(),
        photos,
    ))
    .unwrap();
    let shown = a.item(doc_id.clone()).unwrap();
    assert_eq!(shown.steps.len(), 1);
    assert_eq!(shown.steps[0].photos.len(), 2);
    a.take_item_step(
        doc_id.clone(),
        ItemStepAction::RequestClose,
        "已修复".into(),
    )
    .unwrap();
    assert!(a
        .take_item_step(doc_id.clone(), ItemStepAction::Confirm, "".into())
        .is_err());
    let seen = a.item(doc_id.clone()).unwrap();
    assert_eq!(
        (seen.status.as_str(), seen.unsynced),
        ("awaiting_confirmation", true)
    );
    let summary = a.sync_with(quiet()).unwrap();
    assert_eq!(summary.photos_uploaded, 2, "{summary:?}");
    // The issuer sees the step's photos: the thumbnail of each, over HTTP.
    for hash in &shown.steps[0].photos {
        let status = server.block_on(async {
            http.get(format!("{}/api/v1/blobs/{hash}/thumbnail", server.url))
                .bearer_auth(&l1.access)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        assert_eq!(status, 200, "thumbnail of {hash}");
    }

    let (status, body) = post(
        &format!("/api/v1/items/{doc_id}/steps"),
        serde_json::json!({"action": "confirm", "text": "同意销号"}),
    );
    assert_eq!(status, 201, "{body}");
    wait(a.clone().sync(Some(SyncOptions::default()), None, None)).unwrap();
    let closed = a.item(doc_id.clone()).unwrap();
    assert_eq!(closed.status, "closed");
    assert_eq!(closed.closed_by.as_deref(), Some("l1"));
    assert_eq!(closed.steps.len(), 3);
    assert!(closed.may.is_empty());
    let e = a.item("diary:u1:2026-11-02".into()).unwrap_err();
    assert_eq!(field_of(e), "doc_id");

    // A 固定任务 handed into this month's plan: the plan shows it beside
    // the cadre's own tasks; a 督办 item (above) is not in it.
    use chrono::Datelike;
    let today = sync_core::china::now().date_naive();
    let month = today.format("%Y-%m").to_string();
    let last = today
        .with_day(1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .and_then(|d| d.pred_opt())
        .unwrap();
    let (status, task) = post(
        "/api/v1/items",
        serde_json::json!({
            "list": "task", "source": "superior", "title": "冬季防火巡查排班",
            "content": "排好本村巡查班次。", "due": last.to_string(), "responsible": "u1",
        }),
    );
    assert_eq!(status, 201, "{task}");
    wait(a.clone().sync(Some(SyncOptions::default()), None, None)).unwrap();
    let plan = a.plan(month).unwrap();
    assert_eq!(
        plan.handed
            .iter()
            .map(|h| (h.doc_id.as_str(), h.title.as_str(), h.status.as_str()))
            .collect::<Vec<_>>(),
        vec![(task["id"].as_str().unwrap(), "冬季防火巡查排班", "open")]
    );
    assert_eq!(
        plan.handed[0].may,
        vec![ItemStepAction::Progress, ItemStepAction::RequestClose]
    );
}

/// 亮身份 on the phone: where I am is set offline on today's diary (下村
/// names the village; others do not), read back, synced, and shown on my
/// public card with the village's name; my card's address and phone are
/// read and set online, a bad phone refused as a validation error.
#[test]
fn my_status_is_set_offline_and_shows_on_my_card() {
    let server = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &server.url);
    a.sign_in("u1", PASSWORD, "p").unwrap();
    assert_eq!(a.my_status().unwrap(), None);
    assert_eq!(
        field_of(a.set_my_status(Whereabouts::InVillage, None).unwrap_err()),
        "village"
    );
    assert_eq!(
        field_of(
            a.set_my_status(Whereabouts::Meeting, Some(county::VILLAGE.into()))
                .unwrap_err()
        ),
        "village"
    );
    a.set_my_status(Whereabouts::InVillage, Some(county::VILLAGE.into()))
        .unwrap();
    let mine = a.my_status().unwrap().unwrap();
    assert_eq!(
        (mine.kind, mine.village.as_deref(), mine.date.clone()),
        (Whereabouts::InVillage, Some(county::VILLAGE), a.today())
    );
    wait(a.clone().sync(Some(SyncOptions::default()), None, None)).unwrap();

    let card = wait(a.clone().my_card(None)).unwrap();
    assert_eq!(card.phone, "");
    let url = card.url.clone().unwrap();
    assert!(url.ends_with(&format!("/c/{}", card.card_id)), "{url}");
    let page = server.block_on(async {
        reqwest::get(format!("{}/c/{}", server.url, card.card_id))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(page.contains("下村：") && page.contains("更新"), "{page}");

    let set = wait(a.clone().set_my_card_phone("0736-1234567".into(), None)).unwrap();
    assert_eq!(
        (set.phone.as_str(), &set.card_id),
        ("0736-1234567", &card.card_id)
    );
    assert_eq!(
        field_of(wait(a.clone().set_my_card_phone("call me".into(), None)).unwrap_err()),
        "phone"
    );
    assert_eq!(wait(a.clone().my_card(None)).unwrap().phone, "0736-1234567");
}

#[test]
fn a_complaint_from_the_public_is_handled_on_phones_and_answered() {
    let server = start(|c| c.case_pow_bits = 4);
    server.block_on(county::add_user(
        &server.state.store,
        UserBuilder::leader("l1")
            .unit(county::TOWNSHIP)
            .scope(county::TOWNSHIP)
            .build(),
    ));
    let card = server
        .block_on(server.state.store.card_of("u1"))
        .unwrap()
        .card_id;
    let http = reqwest::Client::new();
    let public = |path: &str, body: serde_json::Value| -> (u16, serde_json::Value) {
        server.block_on(async {
            let r = http
                .post(format!("{}{path}", server.url))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        })
    };
    let challenge: serde_json::Value = server.block_on(async {
        http.get(format!("{}/api/v1/public/cases/challenge", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let challenge = challenge["challenge"].as_str().unwrap().to_owned();
    let answer = backend::cases::pow::solve(&challenge).unwrap();
    let (status, filed) = public(
        "/api/v1/public/cases",
        serde_json::json!({
            "kind": "complaint", "card": card, "content": "答应帮忙办的医保卡两周了还没消息。",
            "phone": "13911112222", "challenge": challenge, "answer": answer,
        }),
    );
    assert_eq!(status, 201, "{filed}");
    let doc_id = filed["id"].as_str().unwrap().to_owned();

    // The leader handles it: on the phone, offline, the answer to the filer.
    let (dl, ds, du) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let l = open(dl.path(), &server.url);
    l.sign_in("l1", PASSWORD, "书记手机").unwrap();
    l.sync_with(quiet()).unwrap();
    let cases = l.my_cases().unwrap();
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(
        (
            case.doc_id.as_str(),
            case.list.as_str(),
            case.is_case,
            case.my_part.as_str()
        ),
        (doc_id.as_str(), "complaint", true, "responsible")
    );
    assert!(case.content.contains("医保卡"));
    assert!(
        l.take_item_step(doc_id.clone(), ItemStepAction::RequestClose, "".into())
            .is_err(),
        "a case's answer is written"
    );
    l.take_item_step(
        doc_id.clone(),
        ItemStepAction::RequestClose,
        "已督促经办人，医保卡明天送到您家。".into(),
    )
    .unwrap();
    l.sync_with(quiet()).unwrap();
    // The cadre it concerns never holds it.
    let u = open(du.path(), &server.url);
    u.sign_in("u1", PASSWORD, "p").unwrap();
    u.sync_with(quiet()).unwrap();
    assert!(u.my_cases().unwrap().is_empty());

    // The 效能办 confirms it founded from the phone; a plain confirmation
    // is refused.
    let s = open(ds.path(), &server.url);
    s.sign_in("s1", PASSWORD, "督查手机").unwrap();
    s.sync_with(quiet()).unwrap();
    let seen = s.item(doc_id.clone()).unwrap();
    assert_eq!(
        (seen.status.as_str(), seen.answer.as_deref()),
        (
            "awaiting_confirmation",
            Some("已督促经办人，医保卡明天送到您家。")
        )
    );
    assert_eq!(
        field_of(
            s.take_item_step(doc_id.clone(), ItemStepAction::Confirm, "".into())
                .unwrap_err()
        ),
        "verdict"
    );
    s.confirm_complaint(doc_id.clone(), CaseVerdict::Founded, "属实".into())
        .unwrap();
    s.sync_with(quiet()).unwrap();
    l.sync_with(quiet()).unwrap();
    let closed = l.item(doc_id.clone()).unwrap();
    assert_eq!(
        (closed.status.as_str(), closed.verdict.as_deref()),
        ("closed", Some("founded"))
    );
    let (status, seen) = public(
        "/api/v1/public/cases/lookup",
        serde_json::json!({"code": filed["code"]}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        (seen["state"].as_str(), seen["answer"].as_str()),
        ("closed".into(), Some("已督促经办人，医保卡明天送到您家。"))
    );
}
