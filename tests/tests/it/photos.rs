//! Photos over the real server: resumable upload through cuts, one copy per
//! photo, bad images refused (damaged scans, decompression and metadata
//! bombs), every metadata block removed and the orientation applied by the
//! server, transparency on white, image work within its byte budget,
//! access by document scope (a published photo public at its display size
//! only; naming someone else's photo grants nothing), garbage collection.

use chrono::NaiveDate;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use sync_core::document::{Category, EntryFields, PhotoRef};
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::validate::{PhotoHash, TimeOfDay};
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role, UserId};

use jishi_tests::photo::{jpeg, sha};
use jishi_tests::{camera, on_both_databases, Db, TestApp};

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
    assert_eq!(app.held(&s.access, &sha).await, (0, false));
    let r = app.patch(&s.access, &sha, 0, total, &photo[..65_536]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The connection drops halfway through the next chunk: the server keeps
    // only whole chunks.
    app.cut_patch(
        &s.access,
        &sha,
        65_536,
        total,
        &photo[65_536..131_072],
        30_000,
    );
    assert_eq!(app.held(&s.access, &sha).await, (65_536, false));
    // A chunk at the wrong offset is refused, naming the right one.
    let r = app
        .patch(&s.access, &sha, 100, total, &photo[100..200])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.headers()["upload-offset"], "65536");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "offset_mismatch");
    // Resume and finish.
    let (status, body) = app.upload(&s.access, &photo).await;
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
    let all = backend::photos::upload::UPLOAD_BYTES_IN_MEMORY;
    assert_eq!(budget.available(), all);
    // Everyone else's chunks hold all but 64 KiB: a chunk of 64 KiB fits.
    let others = budget.reserve(all - 65_536).await.unwrap();
    let r = app.patch(&s.access, &sha, 0, total, &photo[..65_536]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(budget.available(), 65_536, "given back when answered");
    drop(others);
    let (status, body) = app.upload(&s.access, &photo).await;
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
    let a2 = app.login("u1", "tablet-1", &[]).await;
    let b = app.login("u2", "phone-2", &[]).await;
    let photo = jpeg(400, 300, 2);
    let sha = sha(&photo);
    assert_eq!(app.upload(&a.access, &photo).await.0, StatusCode::CREATED);
    // The same cadre's other device learns at once that nothing needs
    // sending.
    assert_eq!(app.held(&a2.access, &sha).await, (photo.len() as u64, true));
    let r = app
        .patch(&a2.access, &sha, 0, photo.len() as u64, &photo[..1000])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["upload-complete"], "1");
    // Another cadre must send the bytes: they are the proof of holding the
    // photo (a hash alone may come from a publication). The server checks
    // them against the name and keeps its one copy.
    assert_eq!(app.held(&b.access, &sha).await, (0, false));
    let (status, body) = app.upload(&b.access, &photo).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(400), Some(300))
    );
    assert_eq!(app.held(&b.access, &sha).await, (photo.len() as u64, true));
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
    let crc = camera::crc32(&img[12..29]);
    img[29..33].copy_from_slice(&crc.to_be_bytes());
    img
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
        // The structure is whole, the scan data is not: a lenient decoder
        // fills the rest with grey and the photo was accepted.
        (
            "jpeg scan cut, then an end marker",
            camera::scan_cut_then_ended(&good),
            "corrupt_image",
        ),
        (
            "jpeg scan with bits that are no Huffman code",
            camera::scan_not_huffman(&good),
            "corrupt_image",
        ),
        // 320 kB PNGs whose metadata chunk inflates to 320 MiB: refused
        // before anything inflates it.
        (
            "png iCCP bomb",
            camera::png_metadata_bomb(b"iCCP", 320 << 20, 1),
            "metadata_too_large",
        ),
        (
            "png zTXt bomb",
            camera::png_metadata_bomb(b"zTXt", 320 << 20, 2),
            "metadata_too_large",
        ),
    ];
    for (what, bytes, code) in cases {
        let started = std::time::Instant::now();
        let (status, body) = app.upload(&s.access, &bytes).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what} took {:?}",
            started.elapsed()
        );
        // Refused photos leave nothing behind: the next try starts at 0.
        assert_eq!(
            app.held(&s.access, &sha(&bytes)).await,
            (0, false),
            "{what}"
        );
    }
    // Bytes that do not match the hash in the path.
    let wrong = sha(b"something else");
    let r = app
        .patch(&s.access, &wrong, 0, good.len() as u64, &good)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "hash_mismatch"
    );
    // Larger than allowed, and a chunk larger than allowed.
    let r = app
        .patch(&s.access, &sha(&good), 0, 100 * 1024 * 1024, &good[..10])
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A chunk larger than allowed is refused from its declared length,
    // before a byte of it is read, and the connection is closed (the body
    // was not read, so it cannot be reused). Sent as headers only: a client
    // still writing the body races the close and may see a reset instead
    // of the answer (it did now and then through reqwest).
    let big = vec![0u8; 2 * 1024 * 1024];
    let answer = app.patch_head_only(&s.access, &sha(&big), 0, big.len() as u64, big.len());
    let lower = answer.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 413"), "{answer}");
    assert!(lower.contains("connection: close"), "{answer}");
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
    assert_eq!(app.upload(&s.access, &good).await.0, StatusCode::CREATED);
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
    assert_eq!(app.upload(&s2.access, &photo).await.0, StatusCode::CREATED);

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
    assert_eq!(app.upload(&s2.access, &stray).await.0, StatusCode::CREATED);
    let removed = backend::photos::gc::collect_garbage(&app.state, 0)
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
                let (offset, complete) = app.held(&s.access, sha.as_str()).await;
                UploadResponse::Offset { offset, complete }
            }
            UploadRequest::Patch { offset, len } => {
                patches += 1;
                let chunk = &file[offset as usize..(offset + len) as usize];
                if patches % 3 == 0 {
                    // The network drops this one halfway.
                    app.cut_patch(
                        &s.access,
                        sha.as_str(),
                        offset,
                        file.len() as u64,
                        chunk,
                        chunk.len() / 2,
                    );
                    UploadResponse::Failed
                } else {
                    let r = app
                        .patch(&s.access, sha.as_str(), offset, file.len() as u64, chunk)
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

// ---- what the server keeps: no metadata, upright, transparency on white --

async fn fetch(app: &TestApp, token: Option<&str>, path: &str) -> reqwest::Response {
    let mut r = app.http.get(app.url(path));
    if let Some(token) = token {
        r = r.bearer_auth(token);
    }
    r.send().await.unwrap()
}

/// Nothing of the camera's metadata is in `bytes`.
fn assert_no_camera_metadata(bytes: &[u8], what: &str) {
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for (name, needle) in [
        ("EXIF", &b"Exif\0\0"[..]),
        ("the camera make", camera::CAMERA_MAKE.as_bytes()),
        ("the camera model", camera::CAMERA_MODEL.as_bytes()),
        ("the GPS latitude", &camera::gps_bytes()),
        ("XMP", camera::XMP_MARK),
        ("the comment", camera::COMMENT),
        ("the trailer", camera::TRAILER),
    ] {
        assert!(!has(needle), "{what}: {name} is still in the file");
    }
}

fn digest_header(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    )
}

async fn cleaned(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone", &[]).await;

    // An upright photo as a camera leaves it: EXIF with make, model and
    // GPS, XMP, a comment, a trailer. The server cuts the metadata out and
    // keeps the image data byte for byte.
    let plain = camera::encode_jpeg(&camera::quadrants(160, 120), 90);
    let sent = camera::camera_jpeg(&plain, 1);
    let name = sha(&sent);
    let (status, body) = app.upload(&s.access, &sent).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["size"].as_u64(), Some(sent.len() as u64));
    let r = fetch(&app, Some(&s.access), &format!("/api/v1/blobs/{name}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let digest = r.headers()["repr-digest"].to_str().unwrap().to_owned();
    let kept = r.bytes().await.unwrap();
    assert_no_camera_metadata(&kept, "the upright photo");
    assert_eq!(
        kept.as_ref(),
        &plain[..],
        "only the metadata segments are gone"
    );
    // The name stays the upload's; what is served says its own hash.
    assert_eq!(etag, format!("\"{}\"", sha(&kept)));
    assert_eq!(digest, digest_header(&kept));
    assert_eq!(app.held(&s.access, &name).await, (sent.len() as u64, true));
    let (markers, ends) = camera::jpeg_markers(&kept);
    assert!(ends, "nothing after the end of the image");
    assert!(
        markers.iter().all(|m| !matches!(m, 0xE1..=0xEF | 0xFE)),
        "segments kept: {markers:02X?}"
    );

    // Stored as the sensor saw it, with EXIF orientation 6 (turn 90°
    // clockwise to show): the server turns it upright itself.
    let upright = camera::quadrants(120, 160);
    let sensor = image::imageops::rotate270(&upright);
    let sent = camera::camera_jpeg(&camera::encode_jpeg(&sensor, 95), 6);
    let name = sha(&sent);
    let (status, body) = app.upload(&s.access, &sent).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(120), Some(160)),
        "the upright size"
    );
    for path in [
        format!("/api/v1/blobs/{name}"),
        format!("/api/v1/blobs/{name}/thumbnail"),
    ] {
        let r = fetch(&app, Some(&s.access), &path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let bytes = r.bytes().await.unwrap();
        assert_no_camera_metadata(&bytes, &path);
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (120, 160), "{path}");
        let at = |x, y| camera::colour(*img.get_pixel(x, y));
        assert_eq!(
            [at(30, 40), at(90, 40), at(30, 120), at(90, 120)],
            ["red", "green", "blue", "white"],
            "{path} is upright"
        );
    }

    // A PNG with transparency and metadata chunks (ICC, text with the
    // position, EXIF): the chunks go, the transparency stays in the photo
    // and becomes white in the thumbnail (it was magenta).
    let sent = camera::png_with_metadata(&camera::transparent_png(64, 48));
    let name = sha(&sent);
    let (status, body) = app.upload(&s.access, &sent).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let r = fetch(&app, Some(&s.access), &format!("/api/v1/blobs/{name}")).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    let kept = r.bytes().await.unwrap();
    assert_no_camera_metadata(&kept, "the PNG");
    let chunks = camera::png_chunks(&kept);
    assert!(
        chunks
            .iter()
            .all(|c| matches!(c.as_str(), "IHDR" | "IDAT" | "IEND")),
        "{chunks:?}"
    );
    let img = image::load_from_memory(&kept).unwrap().to_rgba8();
    assert_eq!(img.get_pixel(50, 10).0[3], 0, "transparent in the photo");
    let r = fetch(
        &app,
        Some(&s.access),
        &format!("/api/v1/blobs/{name}/thumbnail"),
    )
    .await;
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .to_rgb8();
    assert_eq!(camera::colour(*thumb.get_pixel(50, 10)), "white");
    assert_eq!(camera::colour(*thumb.get_pixel(10, 10)), "blue");
}
on_both_databases!(
    uploads_are_kept_without_metadata_upright_and_on_white,
    cleaned
);

/// A photo stored as uploaded by an earlier version is cleaned the first
/// time it is asked for.
async fn stored_before(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone", &[]).await;
    let plain = camera::encode_jpeg(&camera::quadrants(160, 120), 90);
    let sent = camera::camera_jpeg(&plain, 1);
    let name = sha(&sent);
    assert_eq!(app.upload(&s.access, &sent).await.0, StatusCode::CREATED);
    // What an earlier version left: the upload as it came, no stored hash.
    app.state
        .blobs
        .put(&backend::photos::photo_key(&name), sent.clone())
        .await
        .unwrap();
    assert_eq!(
        app.execute_sql("UPDATE blobs SET stored_sha256 = NULL")
            .await,
        1
    );
    let r = fetch(&app, Some(&s.access), &format!("/api/v1/blobs/{name}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let kept = r.bytes().await.unwrap();
    assert_no_camera_metadata(&kept, "a photo stored before");
    assert_eq!(kept.as_ref(), &plain[..]);
    let row = app.state.store.blob(&name).await.unwrap().unwrap();
    assert_eq!(row.stored_sha256, Some(sha(&kept)));
    let on_disk = app
        .state
        .blobs
        .get(&backend::photos::photo_key(&name))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on_disk, plain, "the clean file replaced the upload");
}
on_both_databases!(
    a_photo_stored_as_uploaded_is_cleaned_when_asked_for,
    stored_before
);

// ---- who may see what ------------------------------------------------------

/// A diary day of `owner`'s with a photo named `hash`, synced.
async fn diary_with_photo(app: &TestApp, owner: &str, hash: &str) -> String {
    let mut phone = MemoryReplica::new(Actor::random());
    let s = app
        .login(owner, &format!("phone-{owner}"), &[phone.actor().to_hex()])
        .await;
    let ctx = EditContext {
        user: UserId::parse(owner).unwrap(),
        role: Role::Cadre,
        now_ms: 0,
    };
    let (id, _, edits) = entry_with_photo(owner, hash);
    for e in &edits {
        phone.edit(&id, e, &ctx).unwrap();
    }
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    s.access
}

async fn statuses(app: &TestApp, token: Option<&str>, hash: &str) -> (u16, u16) {
    let full = fetch(app, token, &format!("/api/v1/blobs/{hash}")).await;
    let thumb = fetch(app, token, &format!("/api/v1/blobs/{hash}/thumbnail")).await;
    (full.status().as_u16(), thumb.status().as_u16())
}

async fn published(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let store = &app.state.store;
    app.seed_other_county().await;
    // u1's photo of 2026-11-19, with the camera's GPS, on t1's publication.
    let sent = camera::camera_jpeg(&jpeg(800, 600, 31), 1);
    let hash = sha(&sent);
    let u1 = diary_with_photo(&app, "u1", &hash).await;
    assert_eq!(app.upload(&u1, &sent).await.0, StatusCode::CREATED);
    let week = backend::publications::week::IsoWeek::parse("2026-W47").unwrap();
    let (_, made) = backend::publications::publish_week(
        store,
        "t1",
        week,
        &backend::calendar::Calendar::weekdays(),
    )
    .await
    .unwrap();
    assert!(made);

    // Public, without login: at the size the publication shows, and only
    // through the publication.
    let r = fetch(&app, None, &format!("/p/t1/2026-W47/photos/{hash}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let shown = r.bytes().await.unwrap();
    assert_no_camera_metadata(&shown, "the published photo");
    let img = image::load_from_memory(&shown).unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
    assert_eq!(statuses(&app, None, &hash).await, (401, 401));

    // Any account sees that size too; the original only those who may
    // read u1's diary (before: any account, once published).
    for (login, expected) in [
        ("u3", (404, 200)),
        ("u2", (404, 200)),
        ("l1", (200, 200)),
        ("s1", (200, 200)),
        ("u1", (200, 200)),
    ] {
        let token = app.login(login, &format!("web-{login}"), &[]).await.access;
        assert_eq!(
            statuses(&app, Some(&token), &hash).await,
            expected,
            "{login}"
        );
    }
}
on_both_databases!(
    a_published_photo_is_public_at_its_display_size_only,
    published
);

async fn borrowed(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    // u2's photo, on u2's diary, uploaded by u2.
    let sent = camera::camera_jpeg(&jpeg(640, 480, 32), 1);
    let hash = sha(&sent);
    let u2 = diary_with_photo(&app, "u2", &hash).await;
    assert_eq!(app.upload(&u2, &sent).await.0, StatusCode::CREATED);
    // u1 learns the hash and names it in u1's own diary.
    let u1 = diary_with_photo(&app, "u1", &hash).await;
    let l1 = app.login("l1", "web-l1", &[]).await.access;
    let s1 = app.login("s1", "web-s1", &[]).await.access;
    // Neither u1 nor u1's leader gets u2's photo by that (before: both did).
    assert_eq!(statuses(&app, Some(&u1), &hash).await, (404, 404));
    assert_eq!(statuses(&app, Some(&l1), &hash).await, (404, 404));
    // The server does not tell u1 that the photo is there.
    assert_eq!(app.held(&u1, &hash).await, (0, false));
    // u2's supervisor reads u2's diary.
    assert_eq!(statuses(&app, Some(&s1), &hash).await, (200, 200));
    // u1's day is published with t1's week: the publication names the
    // hash, and still shows nobody u2's photo, neither on the public page
    // nor as the published size through the API (before: both did).
    let week = backend::publications::week::IsoWeek::parse("2026-W47").unwrap();
    let (_, made) = backend::publications::publish_week(
        &app.state.store,
        "t1",
        week,
        &backend::calendar::Calendar::weekdays(),
    )
    .await
    .unwrap();
    assert!(made);
    let public = fetch(&app, None, &format!("/p/t1/2026-W47/photos/{hash}")).await;
    assert_eq!(public.status(), StatusCode::NOT_FOUND, "the public page");
    let u3 = app.login("u1", "web-u1", &[]).await.access;
    assert_eq!(statuses(&app, Some(&u3), &hash).await, (404, 404));
    // Had u1 taken the same photo, u1 sends its bytes and it is u1's too.
    let (status, body) = app.upload(&u1, &sent).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(statuses(&app, Some(&u1), &hash).await, (200, 200));
    assert_eq!(statuses(&app, Some(&l1), &hash).await, (200, 200));
    let public = fetch(&app, None, &format!("/p/t1/2026-W47/photos/{hash}")).await;
    assert_eq!(
        public.status(),
        StatusCode::OK,
        "published now that it is u1's"
    );
}
on_both_databases!(
    naming_someone_elses_photo_in_ones_own_diary_grants_nothing,
    borrowed
);

// ---- image work within a byte budget ---------------------------------------

/// The check of a photo waits until the memory it needs is free in the
/// image budget (before: a slot per core, whatever the photo's size).
async fn image_budget(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone", &[]).await;
    let budget = &app.state.image_budget;
    let all = budget.capacity();
    assert_eq!(budget.available(), all);
    // 1600 x 1200: about 6 MiB of pixels to check.
    let photo = camera::encode_jpeg(&camera::quadrants(1600, 1200), 80);
    assert!(photo.len() < 1 << 20);
    // Everyone else's image work holds all but 1 MiB.
    let others = budget.hold(all - (1 << 20)).await.unwrap();
    let finishing = app.upload(&s.access, &photo);
    tokio::pin!(finishing);
    // Its file is read (it fits), then it waits for the rest.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        tokio::select! {
            done = &mut finishing => panic!("checked while the budget was held: {done:?}"),
            () = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
        }
        if budget.available() < 1 << 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never reached its check"
        );
    }
    drop(others);
    let (status, body) = finishing.await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(budget.available(), all, "given back");
}
on_both_databases!(
    the_check_of_a_photo_waits_for_room_in_the_image_budget,
    image_budget
);
