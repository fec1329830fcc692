//! Photos over the real server: resumable upload through cuts, one copy per
//! photo, bad images refused, access by document scope, garbage collection.

use std::io::{Read, Write};

use chrono::NaiveDate;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use sync_core::document::{Category, EntryFields, PhotoRef};
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::validate::{PhotoHash, TimeOfDay};
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role, UserId};

use crate::harness::{Db, TestApp};
use crate::on_both_databases;

/// A camera-like JPEG of `w`x`h` with noisy content (so it does not
/// compress to nothing).
pub(crate) fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed.wrapping_mul(31);
        image::Rgb([(v % 251) as u8, (v / 7 % 253) as u8, (v / 13 % 241) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    hex_string(&Sha256::digest(bytes))
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) async fn head(app: &TestApp, token: &str, sha: &str) -> (u64, bool) {
    let r = app
        .http
        .head(app.url(&format!("/api/v1/blobs/{sha}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let offset = r.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (offset, r.headers()["upload-complete"] == "1")
}

pub(crate) async fn patch(
    app: &TestApp,
    token: &str,
    sha: &str,
    offset: u64,
    total: u64,
    chunk: &[u8],
) -> reqwest::Response {
    app.http
        .patch(app.url(&format!("/api/v1/blobs/{sha}")))
        .bearer_auth(token)
        .header("upload-offset", offset)
        .header("upload-length", total)
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap()
}

/// Upload from wherever the server is, in chunks; the final status.
pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    bytes: &[u8],
) -> (StatusCode, serde_json::Value) {
    let sha = sha(bytes);
    let (mut offset, complete) = head(app, token, &sha).await;
    if complete {
        return (StatusCode::OK, serde_json::Value::Null);
    }
    loop {
        let end = (offset as usize + 64 * 1024).min(bytes.len());
        let r = patch(
            app,
            token,
            &sha,
            offset,
            bytes.len() as u64,
            &bytes[offset as usize..end],
        )
        .await;
        let status = r.status();
        if status != StatusCode::NO_CONTENT {
            return (status, r.json().await.unwrap_or_default());
        }
        offset = end as u64;
    }
}

/// A PATCH whose connection is cut after `sent` of `len` body bytes.
pub(crate) fn cut_patch(
    app: &TestApp,
    token: &str,
    sha: &str,
    offset: u64,
    total: u64,
    body: &[u8],
    sent: usize,
) {
    let addr = app.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "PATCH /api/v1/blobs/{sha} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\nupload-offset: {offset}\r\nupload-length: {total}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..sent]).unwrap();
    s.flush().unwrap();
    s.shutdown(std::net::Shutdown::Both).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

pub(crate) fn entry_with_photo(owner: &str, hash: &str) -> (DocId, ItemId, Vec<Edit>) {
    let id = DocId::diary(
        &UserId::parse(owner).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 19).unwrap(),
    );
    let e = ItemId::random();
    let fields = EntryFields {
        time: TimeOfDay::parse("15:00").unwrap(),
        category: Category::Project,
        place: "项目工地".into(),
        text: "查看进度".into(),
        households: 0,
        location: None,
    };
    let photo = PhotoRef {
        hash: PhotoHash::parse(hash).unwrap(),
        captured_at: None,
        location: None,
    };
    (
        id,
        e.clone(),
        vec![
            Edit::AddEntry {
                id: e.clone(),
                fields,
            },
            Edit::AttachPhoto { item: e, photo },
        ],
    )
}

async fn resumable(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone", &[]).await;
    let photo = jpeg(900, 700, 1);
    let sha = sha(&photo);
    let total = photo.len() as u64;
    assert!(total > 150_000, "{total}");
    assert_eq!(head(&app, &s.access, &sha).await, (0, false));
    let r = patch(&app, &s.access, &sha, 0, total, &photo[..65_536]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The connection drops halfway through the next chunk: the server keeps
    // only whole chunks.
    cut_patch(
        &app,
        &s.access,
        &sha,
        65_536,
        total,
        &photo[65_536..131_072],
        30_000,
    );
    assert_eq!(head(&app, &s.access, &sha).await, (65_536, false));
    // A chunk at the wrong offset is refused, naming the right one.
    let r = patch(&app, &s.access, &sha, 100, total, &photo[100..200]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.headers()["upload-offset"], "65536");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "offset_mismatch");
    // Resume and finish.
    let (status, body) = upload(&app, &s.access, &photo).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(900), Some(700))
    );
    let got = app
        .http
        .get(app.url(&format!("/api/v1/blobs/{sha}")))
        .bearer_auth(&s.access)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["etag"], format!("\"{sha}\""));
    assert!(got.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(
        got.bytes().await.unwrap().as_ref(),
        &photo[..],
        "the exact bytes"
    );
    let thumb = app
        .http
        .get(app.url(&format!("/api/v1/blobs/{sha}/thumbnail")))
        .bearer_auth(&s.access)
        .send()
        .await
        .unwrap();
    let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 249));
    // A conditional request is answered without the bytes.
    let again = app
        .http
        .get(app.url(&format!("/api/v1/blobs/{sha}")))
        .bearer_auth(&s.access)
        .header("if-none-match", format!("\"{sha}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}
on_both_databases!(
    an_upload_cut_in_the_middle_resumes_to_the_exact_bytes,
    resumable
);

/// A chunk's body takes room in the upload budget (photo bytes in memory
/// at once) while it is worked on, and gives it back when answered.
async fn budget(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone", &[]).await;
    let photo = jpeg(900, 700, 4);
    let sha = sha(&photo);
    let total = photo.len() as u64;
    let budget = &app.state.upload_bytes;
    let all = backend::routes::blobs::UPLOAD_BYTES_IN_MEMORY;
    assert_eq!(budget.available(), all);
    // Everyone else's chunks hold all but 64 KiB: a chunk of 64 KiB fits.
    let others = budget.reserve(all - 65_536).await.unwrap();
    let r = patch(&app, &s.access, &sha, 0, total, &photo[..65_536]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(budget.available(), 65_536, "given back when answered");
    drop(others);
    let (status, body) = upload(&app, &s.access, &photo).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(budget.available(), all);
}
on_both_databases!(
    a_chunk_holds_room_in_the_upload_budget_until_answered,
    budget
);

async fn dedup(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let a = app.login("u1", "phone-1", &[]).await;
    let b = app.login("u2", "phone-2", &[]).await;
    let photo = jpeg(400, 300, 2);
    let sha = sha(&photo);
    assert_eq!(upload(&app, &a.access, &photo).await.0, StatusCode::CREATED);
    // The second cadre's client learns at once that nothing needs sending.
    assert_eq!(
        head(&app, &b.access, &sha).await,
        (photo.len() as u64, true)
    );
    let r = patch(&app, &b.access, &sha, 0, photo.len() as u64, &photo[..1000]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["upload-complete"], "1");
    let files: Vec<_> = walk(&app.dir.path().join("data/blobs/photos"));
    assert_eq!(files.len(), 1, "{files:?}");
}
on_both_databases!(the_same_photo_is_stored_once, dedup);

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A PNG that declares `w`x`h` pixels in a few dozen bytes.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut img = Vec::new();
    image::codecs::png::PngEncoder::new(&mut img)
        .write_image(&[0, 0, 0], 1, 1, image::ExtendedColorType::Rgb8)
        .unwrap();
    // Patch the IHDR width and height (bytes 16..24) and its CRC.
    img[16..20].copy_from_slice(&w.to_be_bytes());
    img[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&img[12..29]);
    img[29..33].copy_from_slice(&crc.to_be_bytes());
    img
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A JPEG whose frame header declares `w`x`h`.
fn jpeg_bomb(w: u16, h: u16) -> Vec<u8> {
    let mut j = jpeg(16, 16, 3);
    let sof = j.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
    j[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    j
}

use image::ImageEncoder;

async fn bad_images(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone", &[]).await;
    let good = jpeg(300, 200, 4);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("png bomb", png_bomb(100_000, 100_000), "image_too_large"),
        ("jpeg bomb", jpeg_bomb(60_000, 60_000), "image_too_large"),
        (
            "not an image",
            b"<html>hello</html>".repeat(10),
            "not_an_image",
        ),
        (
            "truncated jpeg",
            good[..good.len() / 2].to_vec(),
            "corrupt_image",
        ),
    ];
    for (what, bytes, code) in cases {
        let started = std::time::Instant::now();
        let (status, body) = upload(&app, &s.access, &bytes).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what} took {:?}",
            started.elapsed()
        );
        // Refused photos leave nothing behind: the next try starts at 0.
        assert_eq!(
            head(&app, &s.access, &sha(&bytes)).await,
            (0, false),
            "{what}"
        );
    }
    // Bytes that do not match the hash in the path.
    let wrong = sha(b"something else");
    let r = patch(&app, &s.access, &wrong, 0, good.len() as u64, &good).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "hash_mismatch"
    );
    // Larger than allowed, and a chunk larger than allowed.
    let r = patch(
        &app,
        &s.access,
        &sha(&good),
        0,
        100 * 1024 * 1024,
        &good[..10],
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let big = vec![0u8; 2 * 1024 * 1024];
    let r = patch(&app, &s.access, &sha(&big), 0, big.len() as u64, &big).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The rest of that body was not read: the connection is not reused
    // (without this the next request here failed now and then).
    assert_eq!(r.headers()["connection"], "close");
    // Malformed headers and hashes.
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/blobs/{}", sha(&good))))
        .bearer_auth(&s.access)
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .get(app.url("/api/v1/blobs/NOT-A-HASH"))
        .bearer_auth(&s.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(app.healthy().await);
    assert_eq!(upload(&app, &s.access, &good).await.0, StatusCode::CREATED);
}
on_both_databases!(
    bad_images_are_refused_and_the_server_stays_healthy,
    bad_images
);

async fn access(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    // u2 (township t2) photographs; the photo is on u2's diary only.
    let mut phone = MemoryReplica::new(Actor::random());
    let s2 = app.login("u2", "phone-u2", &[phone.actor().to_hex()]).await;
    let photo = jpeg(640, 480, 5);
    let sha = sha(&photo);
    let ctx = EditContext {
        user: UserId::parse("u2").unwrap(),
        role: Role::Cadre,
        now_ms: 0,
    };
    let (id, _, edits) = entry_with_photo("u2", &sha);
    for e in &edits {
        phone.edit(&id, e, &ctx).unwrap();
    }
    let (_, problems) = app.sync(&mut phone, &s2.access).await;
    assert!(problems.is_empty());
    assert_eq!(
        upload(&app, &s2.access, &photo).await.0,
        StatusCode::CREATED
    );

    let path = format!("/api/v1/blobs/{sha}");
    for (login, expected) in [("u2", 200), ("s1", 200), ("u1", 404), ("l1", 404)] {
        let token = app.login(login, &format!("web-{login}"), &[]).await.access;
        for p in [path.clone(), format!("{path}/thumbnail")] {
            let r = app
                .http
                .get(app.url(&p))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), expected, "{login} GET {p}");
        }
    }
    let r = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Garbage collection removes only what no document references.
    let stray = jpeg(200, 200, 6);
    assert_eq!(
        upload(&app, &s2.access, &stray).await.0,
        StatusCode::CREATED
    );
    let removed = backend::routes::blobs::collect_garbage(&app.state, 0)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(app
        .state
        .store
        .blob(&self::sha(&stray))
        .await
        .unwrap()
        .is_none());
    assert!(app.state.store.blob(&sha).await.unwrap().is_some());
    let r = app
        .http
        .get(app.url(&path))
        .bearer_auth(&s2.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
on_both_databases!(photos_are_served_only_within_scope, access);

/// The phone's whole path: camera file → prepared photo in the outbox →
/// documents sync → the upload state machine resumes through cuts → the
/// supervisor sees the photo; the outbox records each step.
async fn phone_to_supervisor(db: Db) {
    use sync_core::photo::{prepare_photo, PhotoOptions};
    use sync_core::replica::Replica;
    use sync_core::upload::{Upload, UploadRequest, UploadResponse, UploadState};

    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("phone.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let camera = jpeg(2400, 1800, 7);
    let prepared = prepare_photo(&camera, &PhotoOptions::default()).unwrap();
    assert_eq!((prepared.width, prepared.height), (1600, 1200));
    let ctx = EditContext {
        user: UserId::parse("u1").unwrap(),
        role: Role::Cadre,
        now_ms: 0,
    };
    let (id, item, edits) = entry_with_photo("u1", prepared.hash.as_str());
    phone.edit(&id, &edits[0], &ctx).unwrap();
    let sha = phone.queue_photo(&id, &item, &prepared, &ctx).unwrap();
    assert_eq!(phone.uploads_pending().unwrap().len(), 1);

    // Documents first; they never wait for photos.
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");

    let pending = phone.uploads_pending().unwrap();
    let file = std::fs::read(&pending[0].path).unwrap();
    let mut upload = Upload::new(sha.clone(), file.len() as u64, 16 * 1024);
    let mut patches = 0;
    while let Some(request) = upload.next() {
        let response = match request {
            UploadRequest::Head => {
                let (offset, complete) = head(&app, &s.access, sha.as_str()).await;
                UploadResponse::Offset { offset, complete }
            }
            UploadRequest::Patch { offset, len } => {
                patches += 1;
                let chunk = &file[offset as usize..(offset + len) as usize];
                if patches % 3 == 0 {
                    // The network drops this one halfway.
                    cut_patch(
                        &app,
                        &s.access,
                        sha.as_str(),
                        offset,
                        file.len() as u64,
                        chunk,
                        chunk.len() / 2,
                    );
                    UploadResponse::Failed
                } else {
                    let r = patch(
                        &app,
                        &s.access,
                        sha.as_str(),
                        offset,
                        file.len() as u64,
                        chunk,
                    )
                    .await;
                    let offset = r.headers()["upload-offset"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let complete = r.headers()["upload-complete"] == "1";
                    assert!(r.status().is_success(), "{}", r.status());
                    UploadResponse::Offset { offset, complete }
                }
            }
        };
        upload.handle(response);
        phone.record_upload(upload.state(), &sha).unwrap();
        assert!(patches < 200, "the upload does not finish");
    }
    assert_eq!(upload.state(), &UploadState::Done);
    assert!(
        patches > 3,
        "the photo went up in several chunks through cuts"
    );
    let outbox = phone.outbox().unwrap();
    assert_eq!(outbox[0].state, "done");
    assert_eq!(outbox[0].acked_bytes, file.len() as u64);
    assert!(phone.uploads_pending().unwrap().is_empty());

    let sup = app.login("s1", "web-s1", &[]).await;
    let r = app
        .http
        .get(app.url(&format!("/api/v1/blobs/{sha}")))
        .bearer_auth(&sup.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        &file[..],
        "exactly once, exactly the bytes"
    );
    assert_eq!(
        app.state
            .store
            .blob(sha.as_str())
            .await
            .unwrap()
            .unwrap()
            .size,
        file.len() as i64
    );
}
on_both_databases!(
    a_photo_goes_from_the_phone_to_the_supervisor_through_cuts,
    phone_to_supervisor
);
