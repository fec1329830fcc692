//! A phone killed mid-save and mid-sync (docs/guarantees.md, claim 2): a
//! child process runs the phone API on a data folder, writing entries,
//! attaching photos and syncing, and prints each call that returned; the
//! test SIGKILLs it at random moments, again and again. After every kill
//! the folder opens and holds everything a call returned from; at the end
//! one sync brings it all, photos included, to the server.
//!
//! The child is this test binary run again with `JISHI_PHONE_CHILD` set
//! (the `child_phone` test below does nothing otherwise). `JISHI_PHONE_KILLS`
//! sets the number of kills (default 25).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use jishi_ffi::*;

mod common;
use common::*;
use jishi_tests::{BlockingApp, PASSWORD};
use rand::Rng;

const DAY: &str = "2026-11-17";

struct NoProgress;
impl SyncObserver for NoProgress {
    fn on_progress(&self, _: SyncProgress) {}
}

fn entry(text: &str) -> EntryInput {
    EntryInput {
        time: "09:30".into(),
        category: Category::Visit,
        place: "青山村3组".into(),
        text: text.into(),
        households: 2,
        location: None,
    }
}

fn camera_file(dir: &std::path::Path, seed: u32) -> String {
    jishi_tests::photo::camera_file(dir, &format!("camera-{seed}.jpg"), 320, 240, seed)
}

/// The phone, in the child process: write, attach, sync, forever; say on
/// stdout what returned.
#[test]
fn child_phone() {
    let (Ok(folder), Ok(url), Ok(start)) = (
        std::env::var("JISHI_PHONE_CHILD"),
        std::env::var("JISHI_PHONE_URL"),
        std::env::var("JISHI_PHONE_START"),
    ) else {
        return; // Only the parent test below runs this as a phone.
    };
    let start: u32 = start.parse().unwrap();
    let phone = JishiClient::open(folder.clone(), url).unwrap();
    let out = std::io::stdout();
    for i in start.. {
        let text = format!("第{i}条");
        let id = phone.add_entry(DAY.into(), entry(&text)).unwrap();
        writeln!(out.lock(), "saved {text}").unwrap();
        if i % 4 == 0 {
            let doc = phone.diary(DAY.into()).unwrap().doc_id;
            let file = camera_file(std::path::Path::new(&folder), i);
            let photo = phone.attach(doc, id, file).unwrap();
            writeln!(out.lock(), "photo {}", photo.hash).unwrap();
        }
        if i % 3 == 0 {
            // Killed mid-sync as often as not; a failure is fine here.
            let _ = phone.sync_with(Arc::new(NoProgress));
            writeln!(out.lock(), "synced").unwrap();
        }
    }
}

#[test]
fn a_phone_killed_mid_save_and_mid_sync_loses_nothing() {
    let kills: usize = std::env::var("JISHI_PHONE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    // The server's warnings and errors show with a failure.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_test_writer()
        .try_init();
    // The seed county: cadre u1 in village v1.
    let mut server = BlockingApp::seeded(|c| c.auto_publish = false);
    let url = server.url.clone();
    let phone_dir = tempfile::tempdir().unwrap();
    let folder = phone_dir.path().display().to_string();
    {
        let phone = JishiClient::open(folder.clone(), url.clone()).unwrap();
        phone.sign_in("u1", PASSWORD, "张三的手机").unwrap();
    }

    let mut returned: BTreeSet<String> = BTreeSet::new();
    let mut photos: BTreeSet<String> = BTreeSet::new();
    for k in 0..kills {
        // Each run numbers its entries in its own range.
        let next = (k as u32 + 1) * 100_000;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_phone", "--nocapture", "--test-threads=1"])
            .env("JISHI_PHONE_CHILD", &folder)
            .env("JISHI_PHONE_URL", &url)
            .env("JISHI_PHONE_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        let wait = rand::rng().random_range(20..400);
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap();
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            if let Some(text) = line.strip_prefix("saved ") {
                returned.insert(text.to_owned());
            } else if let Some(hash) = line.strip_prefix("photo ") {
                photos.insert(hash.to_owned());
            }
        }
        // Everything the API returned from is in the folder, whatever the
        // moment of the kill.
        let phone = JishiClient::open(folder.clone(), url.clone()).unwrap();
        let texts: BTreeSet<String> = phone
            .diary(DAY.into())
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.text)
            .collect();
        let lost: Vec<&String> = returned.difference(&texts).collect();
        assert!(lost.is_empty(), "entries lost by a kill: {lost:?}");
        let queued: BTreeSet<String> = phone
            .outbox()
            .unwrap()
            .into_iter()
            .map(|p| p.hash)
            .collect();
        assert!(photos.is_subset(&queued), "a photo left the outbox unsent");
        drop(phone);
    }

    // Online for good: one sync brings everything, photos included.
    let phone = JishiClient::open(folder.clone(), url.clone()).unwrap();
    let mut tries = 0;
    loop {
        tries += 1;
        let summary = phone.sync_with(Arc::new(NoProgress));
        let done = phone.unsynced_documents().unwrap().is_empty()
            && phone
                .outbox()
                .unwrap()
                .iter()
                .all(|p| p.status == UploadStatus::Done);
        if done {
            break;
        }
        assert!(tries < 5, "the phone did not finish syncing: {summary:?}");
    }
    assert!(!phone.diary(DAY.into()).unwrap().unsynced);
    // A second phone of the same cadre finds everything on the server.
    let other_dir = tempfile::tempdir().unwrap();
    let other = JishiClient::open(other_dir.path().display().to_string(), url.clone()).unwrap();
    other.sign_in("u1", PASSWORD, "新手机").unwrap();
    other.sync_with(Arc::new(NoProgress)).unwrap();
    let on_server: BTreeSet<String> = other
        .diary(DAY.into())
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.text)
        .collect();
    let missing: Vec<&String> = returned.difference(&on_server).collect();
    assert!(missing.is_empty(), "not on the server: {missing:?}");
    eprintln!(
        "phone kill -9: {kills} kills, {} entries and {} photos returned by the API, 0 lost",
        returned.len(),
        photos.len()
    );
    drop(phone);
    server.stop();
}
