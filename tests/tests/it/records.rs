//! The read API is scoped: outside one's scope is 404, like what does not
//! exist.

use chrono::NaiveDate;
use sync_core::document::{Category, EntryFields};
use sync_core::replica::Replica;
use sync_core::validate::TimeOfDay;
use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};

use jishi_tests::{on_both_databases, Db, TestApp};

async fn write_day(app: &TestApp, login: &str) -> DocId {
    let mut phone = Replica::open(&app.dir.path().join(format!("{login}.db"))).unwrap();
    let s = app
        .login(login, &format!("phone-{login}"), &[phone.actor().to_hex()])
        .await;
    let owner = UserId::parse(login).unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
    let ctx = EditContext {
        user: owner.clone(),
        role: Role::Cadre,
        now_ms: 0,
    };
    let id = DocId::diary(&owner, day);
    for text in ["走访", "调解"] {
        let fields = EntryFields {
            time: TimeOfDay::parse("10:00").unwrap(),
            category: Category::Mediation,
            place: "村委会".into(),
            text: text.into(),
            households: 1,
            location: None,
        };
        phone
            .edit(
                &id,
                &Edit::AddEntry {
                    id: ItemId::random(),
                    fields,
                },
                &ctx,
            )
            .unwrap();
    }
    phone
        .edit(
            &DocId::night(&owner, day),
            &Edit::SetOvernight {
                stayed: true,
                place: Some("村委会".into()),
            },
            &ctx,
        )
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty());
    id
}

async fn scoped_reads(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let d1 = write_day(&app, "u1").await;
    let d2 = write_day(&app, "u2").await;
    let tokens = [
        ("u1", app.login("u1", "r-u1", &[]).await.access),
        ("u2", app.login("u2", "r-u2", &[]).await.access),
        ("l1", app.login("l1", "r-l1", &[]).await.access),
        ("s1", app.login("s1", "r-s1", &[]).await.access),
    ];
    // (reader, document, expected status)
    let cases = [
        ("u1", &d1, 200),
        ("u1", &d2, 404),
        ("u2", &d1, 404),
        ("l1", &d1, 200),
        ("l1", &d2, 404),
        ("s1", &d1, 200),
        ("s1", &d2, 200),
    ];
    for (reader, doc, expected) in cases {
        let token = &tokens.iter().find(|t| t.0 == reader).unwrap().1;
        for path in [
            format!("/api/v1/documents/{doc}"),
            format!("/api/v1/documents/{doc}/changes"),
        ] {
            let (status, body) = app.get(&path, token).await;
            assert_eq!(status, expected, "{reader} GET {path}: {body}");
        }
        let owner = doc.owner().expect("a diary has an owner").as_str();
        let (status, body) = app
            .get(
                &format!("/api/v1/users/{owner}/days?from=2026-11-16&to=2026-11-22"),
                token,
            )
            .await;
        assert_eq!(status, expected, "{reader} days of {owner}: {body}");
        if status == 200 {
            assert_eq!(body[0]["date"], "2026-11-18");
            assert_eq!(body[0]["diary"]["entries"].as_array().unwrap().len(), 2);
            assert_eq!(body[0]["night"]["stayed_overnight"], true);
        }
    }
    let (status, body) = app
        .get(&format!("/api/v1/documents/{d1}"), &tokens[0].1)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["kind"], "diary");
    // Absent and malformed.
    let (status, _) = app
        .get("/api/v1/documents/diary:u1:2026-01-01", &tokens[0].1)
        .await;
    assert_eq!(status, 404);
    let (status, body) = app.get("/api/v1/documents/not-an-id", &tokens[0].1).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_doc_id")));
    let (status, _) = app
        .get(
            "/api/v1/users/u1/days?from=2026-11-30&to=2026-11-01",
            &tokens[0].1,
        )
        .await;
    assert_eq!(status, 400);

    // Filing: leaders and supervisors over their subtree.
    let (status, body) = app
        .get(
            "/api/v1/units/t1/filing?from=2026-11-16&to=2026-11-22",
            &tokens[2].1,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let u1 = body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == "u1")
        .unwrap();
    assert_eq!(
        (
            u1["days_filed"].as_i64(),
            u1["entries"].as_i64(),
            u1["nights_stayed"].as_i64()
        ),
        (Some(1), Some(2), Some(1))
    );
    for (token, unit, expected) in [
        (&tokens[2].1, "t2", 404),
        (&tokens[0].1, "t1", 404),
        (&tokens[3].1, "t2", 200),
    ] {
        let (status, _) = app
            .get(
                &format!("/api/v1/units/{unit}/filing?from=2026-11-16&to=2026-11-22"),
                token,
            )
            .await;
        assert_eq!(status, expected, "filing of {unit}");
    }
}
on_both_databases!(reads_are_scoped, scoped_reads);
