//! Cases the public brought, in every state, over the API as the public
//! form, the hotline desk and the phones make them: in each township, a
//! request to a cadre just received, one answered and awaiting 销号, and a
//! complaint about a cadre confirmed founded and one unfounded. The first
//! is filed on the public form with its proof of work, the rest taken by
//! the township's leader from the hotline (the public form's limits per
//! address would stop a demo run from one machine).

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::items::token;
use jishi_world::county::{County, Person};
use jishi_world::http;

/// How many cases were made in each state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CasesMade {
    pub received: usize,
    pub answered: usize,
    pub founded: usize,
    pub unfounded: usize,
}

impl CasesMade {
    pub fn total(&self) -> usize {
        self.received + self.answered + self.founded + self.unfounded
    }
}

/// (kind, what happened, the answer) in turn.
const CASES: [(&str, &str, &str); 4] = [
    (
        "request",
        "家里老人的养老保险认证不会在手机上操作，想请村干部帮忙。",
        "",
    ),
    (
        "request",
        "组里的自来水管冻裂了，三天没水，请帮忙联系维修。",
        "已联系水务站，今天下午修复，已回访确认通水。",
    ),
    (
        "complaint",
        "上周到村委会办事，值班干部不在岗，电话也打不通。",
        "经调查，当日该干部未请假离岗，已批评教育并责令整改。",
    ),
    (
        "complaint",
        "反映村干部优亲厚友，低保名额给了亲戚。",
        "经入户核查和查阅评议记录，该户符合低保条件，评议程序规范，反映不属实，已向反映人说明。",
    ),
];

/// The device the cases are worked from.
const DEVICE: (&str, &str) = ("cases", "演示群众反映");

/// `GET` (no body) or `POST` `body` to `url`, as `token` if given;
/// anything but `want` is an error naming `what`.
async fn call(
    client: &http::Client,
    url: String,
    token: Option<&str>,
    body: Option<&Value>,
    want: u16,
    what: &str,
) -> anyhow::Result<Value> {
    let mut req = match body {
        Some(b) => client.post(&url).json(b),
        None => client.get(&url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status.as_u16() != want {
        bail!("{what} answered {status}: {body}");
    }
    Ok(body)
}

/// File and work the cases; `progress(done, total)` after each.
pub async fn make(
    base: &str,
    county: &County,
    password: &str,
    progress: impl Fn(usize, usize),
) -> anyhow::Result<CasesMade> {
    let client = http::client(std::time::Duration::from_secs(60))?;
    let mut made = CasesMade::default();
    let supervisor = token(&client, base, &county.supervisor, password, DEVICE).await?;
    let mut plan: Vec<(&Person, &Person, usize)> = Vec::new();
    for leader in &county.leaders {
        let cadres = county
            .cadres
            .iter()
            .filter(|c| c.township_id == leader.township_id);
        // The states in turn across the county, so that a small county
        // has each of them too.
        for cadre in cadres.take(CASES.len()) {
            plan.push((leader, cadre, plan.len() % CASES.len()));
        }
    }
    for (n, (leader, cadre, i)) in plan.iter().enumerate() {
        let lt = token(&client, base, leader, password, DEVICE).await?;
        let ct = token(&client, base, cadre, password, DEVICE).await?;
        let card = call(
            &client,
            format!("{base}/api/v1/me/card"),
            Some(&ct),
            None,
            200,
            "the cadre's card",
        )
        .await?;
        let card = card["card_id"].as_str().context("a card id")?.to_owned();
        let (kind, content, answer) = CASES[*i];
        let mut filing = json!({
            "kind": kind, "card": card, "content": content,
            "name": "群众", "phone": format!("1390000{:04}", n % 10_000),
        });
        let filed = if n == 0 {
            let c = call(
                &client,
                format!("{base}/api/v1/public/cases/challenge"),
                None,
                None,
                200,
                "a challenge",
            )
            .await?;
            let challenge = c["challenge"].as_str().context("a challenge")?;
            filing["challenge"] = json!(challenge);
            filing["answer"] =
                json!(crate::cases::pow::solve(challenge).context("a solvable challenge")?);
            call(
                &client,
                format!("{base}/api/v1/public/cases"),
                None,
                Some(&filing),
                201,
                "the public form",
            )
            .await?
        } else {
            call(
                &client,
                format!("{base}/api/v1/cases"),
                Some(&lt),
                Some(&filing),
                201,
                "a hotline call",
            )
            .await
            .with_context(|| format!("{} taking a call about {}", leader.name, cadre.name))?
        };
        let id = filed["id"].as_str().context("a case id")?.to_owned();
        let steps = format!("{base}/api/v1/items/{id}/steps");
        let step = |token: String, body: Value| {
            let (client, url) = (client.clone(), steps.clone());
            async move { call(&client, url, Some(&token), Some(&body), 201, "a step").await }
        };
        match i {
            0 => made.received += 1,
            1 => {
                step(
                    ct.clone(),
                    json!({"action": "progress", "text": "已电话联系反映人，正在处理。"}),
                )
                .await?;
                step(
                    ct.clone(),
                    json!({"action": "request_close", "text": answer}),
                )
                .await?;
                made.answered += 1;
            }
            _ => {
                step(
                    lt.clone(),
                    json!({"action": "progress", "text": "已约谈当事干部，正在核查。"}),
                )
                .await?;
                step(
                    lt.clone(),
                    json!({"action": "request_close", "text": answer}),
                )
                .await?;
                let verdict = if *i == 2 { "founded" } else { "unfounded" };
                step(
                    supervisor.clone(),
                    json!({"action": "confirm", "verdict": verdict, "text": "经核实，同意办结。"}),
                )
                .await?;
                if *i == 2 {
                    made.founded += 1;
                } else {
                    made.unfounded += 1;
                }
            }
        }
        progress(n + 1, plan.len());
    }
    Ok(made)
}
