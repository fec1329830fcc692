//! 督办 items in every state, over the API as the web pages and phones
//! make them: each township's leader hands up to four of its cadres one
//! item each, in turn being worked, awaiting 销号, sent back, closed.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use jishi_world::county::{County, Person};
use jishi_world::http::{self, Device};

/// (title, content, measures, list, source) of the items, in turn.
const ITEMS: [(&str, &str, &str, &str, &str); 4] = [
    (
        "落实冬季森林防火巡查",
        "县防火指挥部通知：入冬以来山林火险等级升高，要求各村落实巡山和野外用火管理。",
        "每周巡山不少于两次，重点时段值守，巡查情况拍照回传。",
        "supervision",
        "superior",
    ),
    (
        "化解组内土地边界纠纷信访件",
        "群众来信反映两户因承包地边界发生纠纷，多次协调未果。",
        "会同司法所现场勘界，组织双方调解，形成书面协议。",
        "supervision",
        "petition",
    ),
    (
        "整改村务公开栏内容过期问题",
        "明察暗访发现村务公开栏仍张贴上季度内容，财务公开不及时。",
        "三日内更新公开栏，此后每月5日前公开上月财务收支。",
        "problem",
        "inspection",
    ),
    (
        "完成低保户年度入户核查",
        "按民政部门要求，对在册低保户逐户入户核查家庭收入和人口变化。",
        "逐户填写核查表，发现不符合条件的按程序退出。",
        "supervision",
        "meeting",
    ),
];

/// How many items were made in each state: open, awaiting 销号, sent
/// back, closed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemsMade {
    pub open: usize,
    pub awaiting: usize,
    pub returned: usize,
    pub closed: usize,
}

impl ItemsMade {
    pub fn total(&self) -> usize {
        self.open + self.awaiting + self.returned + self.closed
    }
}

/// An access token of `p` on a device of the demo's `what` (`items`,
/// `cases`), named `name`.
pub(super) async fn token(
    client: &http::Client,
    base: &str,
    p: &Person,
    password: &str,
    (what, name): (&str, &str),
) -> anyhow::Result<String> {
    let device = Device {
        login: &p.login,
        password,
        device_id: &format!("demo-{what}-{}", p.id),
        device_name: name,
        actors: &[],
    };
    Ok(http::login(client, base, &device).await?.access)
}

async fn post(
    client: &http::Client,
    url: String,
    token: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let r = client
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status.as_u16() != 201 {
        bail!("POST {url} answered {status}: {body}");
    }
    Ok(body)
}

/// The device the items are worked from.
const DEVICE: (&str, &str) = ("items", "演示督办");

/// Issue and work the items; `progress(done, total)` after each.
pub async fn make(
    base: &str,
    county: &County,
    password: &str,
    progress: impl Fn(usize, usize),
) -> anyhow::Result<ItemsMade> {
    let client = http::client(std::time::Duration::from_secs(60))?;
    let mut made = ItemsMade::default();
    // The states in turn across the county, so that a small county has
    // each of them too.
    let mut plan: Vec<(&Person, &Person, usize)> = Vec::new();
    for leader in &county.leaders {
        let cadres = county
            .cadres
            .iter()
            .filter(|c| c.township_id == leader.township_id);
        for cadre in cadres.take(ITEMS.len()) {
            plan.push((leader, cadre, plan.len() % ITEMS.len()));
        }
    }
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    for (n, (leader, cadre, i)) in plan.iter().enumerate() {
        for p in [*leader, *cadre] {
            if !tokens.contains_key(&p.id) {
                let t = token(&client, base, p, password, DEVICE).await?;
                tokens.insert(p.id.clone(), t);
            }
        }
        let (lt, ct) = (&tokens[&leader.id], &tokens[&cadre.id]);
        let (title, content, measures, list, source) = ITEMS[*i];
        let item = post(
            &client,
            format!("{base}/api/v1/items"),
            lt,
            json!({
                "list": list, "source": source, "title": title, "content": content,
                "measures": measures, "due_workdays": 5 + 5 * i, "responsible": cadre.id,
            }),
        )
        .await
        .with_context(|| format!("{} issuing to {}", leader.name, cadre.name))?;
        let id = item["id"]
            .as_str()
            .context("an issued item has an id")?
            .to_owned();
        let steps = format!("{base}/api/v1/items/{id}/steps");
        let step = |who: &'static str, action: &'static str, text: &'static str| {
            let token = if who == "leader" {
                lt.clone()
            } else {
                ct.clone()
            };
            let (client, url) = (client.clone(), steps.clone());
            async move {
                post(
                    &client,
                    url,
                    &token,
                    json!({"action": action, "text": text}),
                )
                .await
            }
        };
        step("cadre", "progress", "已安排专人办理，正在推进。").await?;
        match i {
            0 => made.open += 1,
            1 => {
                step("cadre", "request_close", "已按要求办结，申请销号。").await?;
                made.awaiting += 1;
            }
            2 => {
                step("cadre", "request_close", "公开栏已更新，申请销号。").await?;
                step(
                    "leader",
                    "send_back",
                    "请补充整改前后对比照片和财务公开内容。",
                )
                .await?;
                made.returned += 1;
            }
            _ => {
                step("cadre", "request_close", "核查表已全部填写上报，申请销号。").await?;
                step("leader", "confirm", "经核实，同意销号。").await?;
                made.closed += 1;
            }
        }
        progress(n + 1, plan.len());
    }
    Ok(made)
}
