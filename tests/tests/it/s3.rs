//! Photos in an S3-compatible bucket (the store for several instances):
//! run when `JISHI_TEST_S3_ENDPOINT` names a server that creates buckets on
//! an anonymous `PUT /{bucket}` (`.ci/run` starts moto's server). An upload
//! begun on one instance resumes on another with its own data folder; the finished photo, its
//! thumbnail and nothing else stay in the bucket; garbage collection
//! empties it.

use reqwest::StatusCode;

use jishi_tests::photo::{jpeg, sha};
use jishi_tests::{Db, TestApp};

const ACCESS_KEY: &str = "jishi-test";
const SECRET_KEY: &str = "jishi-test-secret";

/// A fresh bucket on the test S3 server (`JISHI_TEST_S3_ENDPOINT`; the
/// tests that need it are ignored when it is unset, `tests/build.rs`).
async fn fresh_bucket() -> Option<(String, String)> {
    let endpoint = std::env::var("JISHI_TEST_S3_ENDPOINT").expect("JISHI_TEST_S3_ENDPOINT");
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let bucket = format!("jishi-{}", sync_core::ItemId::random().as_str()).to_lowercase();
    let r = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("the S3 test server answers");
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    Some((endpoint, bucket))
}

/// The keys in the bucket under `prefix` (S3 ListObjectsV2).
async fn keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let xml = reqwest::Client::new()
        .get(format!("{endpoint}/{bucket}?list-type=2&prefix={prefix}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

async fn shared_bucket(db: Db) {
    let Some((endpoint, bucket)) = fresh_bucket().await else {
        return;
    };
    let (e, b) = (endpoint.clone(), bucket.clone());
    let a = TestApp::spawn_with(db, move |c| {
        c.s3_bucket = Some(b);
        c.s3_prefix = "county".into();
        c.s3_endpoint = Some(e);
        c.s3_access_key_id = Some(ACCESS_KEY.into());
        c.s3_secret_access_key = Some(backend::config::Secret::new(SECRET_KEY));
        c.jwt_secret = Some(backend::config::Secret::new("shared-by-the-instances"));
    })
    .await;
    a.seed().await;
    let other = a.sibling().await;
    let s = a.login("u1", "phone", &[]).await;
    let photo = jpeg(900, 700, 11);
    let hash = sha(&photo);
    let total = photo.len() as u64;

    // Begun on instance A, cut mid-chunk…
    let r = a.patch(&s.access, &hash, 0, total, &photo[..65_536]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    a.cut_patch(
        &s.access,
        &hash,
        65_536,
        total,
        &photo[65_536..131_072],
        20_000,
    );
    // …instance B sees the same progress and finishes it.
    assert_eq!(other.held(&s.access, &hash).await, (65_536, false));
    let (status, body) = other.upload(&s.access, &photo).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A serves the exact bytes and the thumbnail.
    for (path, check) in [
        (format!("/api/v1/blobs/{hash}"), true),
        (format!("/api/v1/blobs/{hash}/thumbnail"), false),
    ] {
        let r = a
            .http
            .get(a.url(&path))
            .bearer_auth(&s.access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let bytes = r.bytes().await.unwrap();
        if check {
            assert_eq!(bytes.as_ref(), &photo[..]);
        } else {
            let thumb = image::load_from_memory(&bytes).unwrap();
            assert_eq!(thumb.width(), 320);
        }
    }
    // Another cadre sends the bytes (they prove the photo is theirs too,
    // docs/photo-upload.md); the bucket keeps its one copy.
    let s2 = other.login("u2", "phone-2", &[]).await;
    assert_eq!(a.held(&s2.access, &hash).await, (0, false));
    let (status, body) = a.upload(&s2.access, &photo).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(other.held(&s2.access, &hash).await, (total, true));

    // One photo, one thumbnail, no chunks left behind, all under the prefix.
    let stored = keys(&endpoint, &bucket, "").await;
    let expected = vec![
        format!("county/photos/{}/{hash}.jpg", &hash[..2]),
        format!("county/thumbs/{}/{hash}.jpg", &hash[..2]),
    ];
    assert_eq!(stored, expected);

    // A bad upload's chunks are discarded too.
    let r = a
        .patch(&s2.access, &sha(&photo[..10]), 0, 10, &[0u8; 10])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "hash_mismatch");
    assert!(keys(&endpoint, &bucket, "county/uploads").await.is_empty());

    // No document references the photo: garbage collection empties the
    // bucket.
    let removed = backend::photos::gc::collect_garbage(&a.state, 0)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(keys(&endpoint, &bucket, "").await.is_empty());
}
mod photos_in_s3_are_shared_by_instances {
    use jishi_tests::Db;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(s3_tests), ignore = "JISHI_TEST_S3_ENDPOINT unset")]
    async fn sqlite() {
        super::shared_bucket(Db::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(all(s3_tests, postgres_tests)),
        ignore = "JISHI_TEST_S3_ENDPOINT or JISHI_TEST_POSTGRES_URL unset"
    )]
    async fn postgres() {
        super::shared_bucket(Db::Postgres).await;
    }
}
