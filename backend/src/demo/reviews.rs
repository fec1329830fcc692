//! The month's reviews (月点评), written by each cadre's assigned reviewer
//! over the API as the web pages do: the supervisor reads the county's
//! month (facts and reviewer of each person), then every reviewer scores
//! the people assigned to them, leaving a few for the user to review.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use serde_json::json;

use crate::reviews::results::Facts;
use crate::reviews::{MAX_CONDUCT, MAX_TARGETS};
use jishi_world::content::REMARKS;
use jishi_world::county::{County, Person, COUNTY_ID};
use jishi_world::http::{self, Device};
use jishi_world::Rng;

#[derive(Debug, Deserialize)]
struct Row {
    user_id: String,
    name: String,
    reviewer_id: Option<String>,
    facts: FactsJson,
}

#[derive(Debug, Deserialize)]
struct FactsJson {
    days_filed: i64,
    entries: i64,
    night_activities: i64,
    nights_stayed: i64,
    tasks_done: i64,
    tasks_open: i64,
}

#[derive(Debug, Deserialize)]
struct UnitMonth {
    rows: Vec<Row>,
}

/// What the reviewing left.
#[derive(Debug, Default)]
pub struct Reviewed {
    pub reviewed: usize,
    /// Names of those left unreviewed.
    pub left: Vec<String>,
}

/// Review `month` for everyone except `skip` (user ids).
pub async fn review_month(
    base: &str,
    county: &County,
    password: &str,
    month: &str,
    skip: &BTreeSet<String>,
    progress: impl Fn(usize, usize),
) -> anyhow::Result<Reviewed> {
    let client = http::client(std::time::Duration::from_secs(60))?;
    let reviewers: Vec<&Person> = std::iter::once(&county.supervisor)
        .chain(&county.leaders)
        .collect();
    let mut tokens = BTreeMap::new();
    for p in &reviewers {
        let device = Device {
            login: &p.login,
            password,
            device_id: &format!("demo-web-{}", p.id),
            device_name: "演示浏览器",
            actors: &[],
        };
        let token = http::login(&client, base, &device).await?.access;
        tokens.insert(p.id.clone(), token);
    }
    let supervisor = tokens
        .get(&county.supervisor.id)
        .ok_or_else(|| anyhow!("the supervisor did not log in"))?;
    let r = client
        .get(format!("{base}/api/v1/units/{COUNTY_ID}/reviews/{month}"))
        .bearer_auth(supervisor)
        .send()
        .await
        .context("reading the county's month")?;
    if !r.status().is_success() {
        bail!(
            "reading the county's month answered {}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    let month_rows: UnitMonth = r.json().await.context("the county's month is not JSON")?;
    let total = month_rows.rows.len();
    let mut out = Reviewed::default();
    for (i, row) in month_rows.rows.into_iter().enumerate() {
        let token = row.reviewer_id.as_ref().and_then(|id| tokens.get(id));
        match token {
            Some(token) if !skip.contains(&row.user_id) => {
                let body = review_of(&row, i as u64);
                let r = client
                    .put(format!("{base}/api/v1/reviews/{month}/{}", row.user_id))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .with_context(|| format!("reviewing {}", row.user_id))?;
                if !r.status().is_success() {
                    bail!(
                        "the review of {} was refused: {} {}",
                        row.user_id,
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                }
                out.reviewed += 1;
            }
            _ => out.left.push(row.name),
        }
        progress(i + 1, total);
    }
    Ok(out)
}

/// Scores that follow the facts, and the draft comment with a remark.
fn review_of(row: &Row, seed: u64) -> serde_json::Value {
    let f = &row.facts;
    let mut rng = Rng::new(seed.wrapping_mul(7919));
    let targets = (36 + f.days_filed * 2 + f.tasks_done * 3 + i64::from(rng.range(0, 6)))
        .clamp(0, MAX_TARGETS);
    let conduct = (8 + f.night_activities + f.nights_stayed + i64::from(rng.range(0, 3)))
        .clamp(0, MAX_CONDUCT);
    let facts = Facts {
        days_filed: f.days_filed,
        entries: f.entries,
        night_activities: f.night_activities,
        nights_stayed: f.nights_stayed,
        tasks_done: f.tasks_done,
        tasks_open: f.tasks_open,
        items: 0,
        items_overdue: 0,
        complaints_founded: 0,
        cases_overdue: 0,
    };
    let comment = format!("{}{}", facts.draft(), rng.pick(REMARKS));
    json!({"targets": targets, "conduct": conduct, "comment": comment})
}
