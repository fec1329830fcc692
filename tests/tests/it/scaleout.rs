//! Several instances on one database: a change taken by one is heard on
//! the others' event streams (PostgreSQL `LISTEN/NOTIFY`), and the Monday
//! publication job runs on one of them only. (An instance killed mid-burst
//! is `backend/tests/scaleout.rs`, with real processes.)

use backend::config::Secret;

use crate::events::{phone, write, Events};
use jishi_tests::{on_both_databases, Db, TestApp};

/// Two instances that accept each other's tokens.
async fn two_instances(db: Db) -> (TestApp, TestApp) {
    let a = TestApp::spawn_with(db, |c| {
        c.jwt_secret = Some(Secret::new(
            "scale-out-test-signing-secret-0123456789abcdef",
        ));
    })
    .await;
    a.seed().await;
    let b = a.sibling().await;
    (a, b)
}

/// A cadre syncs with one instance, a supervisor watches the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "JISHI_TEST_POSTGRES_URL unset: several instances need PostgreSQL"
)]
async fn a_change_on_one_instance_is_heard_on_the_other() {
    let (a, b) = two_instances(Db::Postgres).await;
    let supervisor = b.login("s1", "supervisor-phone", &[]).await;
    let mut on_b = Events::open(&b, &supervisor.access, None).await;
    let mut on_a = Events::open(&a, &supervisor.access, None).await;
    let (mut p1, t1) = phone(&a, "u1", "phone-1").await;
    for day in [23, 24] {
        let doc = write(&mut p1, "u1", day);
        let (_, problems) = a.sync(&mut p1, &t1).await;
        assert!(problems.is_empty(), "{problems:?}");
        // Heard on the other instance, and on the writer's own.
        assert_eq!(on_b.next_changed().await, doc.to_string());
        assert_eq!(on_a.next_changed().await, doc.to_string());
    }
    // And the other way round: written on B, heard on A.
    let doc = write(&mut p1, "u1", 25);
    b.sync(&mut p1, &t1).await;
    assert_eq!(on_a.next_changed().await, doc.to_string());
    assert_eq!(on_b.next_changed().await, doc.to_string());
}

/// Both instances' Monday tasks run at the same moment: one makes the
/// publications, the other stands by.
async fn job_once(db: Db) {
    let (a, b) = two_instances(db).await;
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T08:00:00+08:00").unwrap();
    let due = backend::jobs::publish_due;
    let (made_a, made_b) = tokio::join!(due(&a.state, at), due(&b.state, at));
    assert_eq!(
        (made_a.min(made_b), made_a.max(made_b)),
        (0, 2),
        "one instance made both townships' publications (their month notices have nothing to show)"
    );
    // The holder keeps the job while it runs; the other still stands by.
    let later = chrono::DateTime::parse_from_rfc3339("2026-11-30T08:00:00+08:00").unwrap();
    let (again_a, again_b) = tokio::join!(due(&a.state, later), due(&b.state, later));
    assert_eq!(again_a + again_b, 2);
    assert_eq!(made_a == 0, again_a == 0, "the same instance holds the job");
}
on_both_databases!(the_publication_job_runs_on_one_instance, job_once);
