//! The demo county: its townships and villages, the cadres (Chinese names,
//! posts), a leader heading each township and the county's supervisor.
//! Created through `admin::create_unit` / `admin::create_user`, the path of
//! `jishi admin`.

use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sync_core::Role;
use tokio::task::JoinSet;

use super::content::person_name;
use crate::admin::{self, UserSpec};
use crate::storage::Store;

pub const COUNTY_ID: &str = "qingshan";
pub const COUNTY_NAME: &str = "青山县";

/// (id, name, villages (id suffix, name)).
type TownshipSpec = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const TOWNSHIPS: &[TownshipSpec] = &[
    (
        "shimen",
        "石门镇",
        &[
            ("qingshan", "青山村"),
            ("liuxi", "柳溪村"),
            ("fengshu", "枫树村"),
            ("shimen", "石门村"),
        ],
    ),
    (
        "baisha",
        "白沙镇",
        &[
            ("baisha", "白沙村"),
            ("hekou", "河口村"),
            ("yangliu", "杨柳村"),
        ],
    ),
    (
        "longtan",
        "龙潭镇",
        &[
            ("longtan", "龙潭村"),
            ("jinzhu", "金竹村"),
            ("xintang", "新塘村"),
        ],
    ),
];

const VILLAGE_POSTS: &[&str] = &["驻村第一书记", "驻村工作队员", "包村干部", "村党支部书记"];
const TOWNSHIP_POSTS: &[&str] = &["党政办干事", "乡村振兴办主任", "综治办干事"];

/// One person of the demo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub post: String,
    pub unit_id: String,
    /// Village or township name: where the person mostly works.
    pub place: String,
    pub township_id: String,
    pub township_name: String,
}

#[derive(Debug, Clone)]
pub struct Township {
    pub id: String,
    pub name: String,
    /// (unit id, name)
    pub villages: Vec<(String, String)>,
}

/// The whole demo organisation.
#[derive(Debug, Clone)]
pub struct County {
    pub townships: Vec<Township>,
    pub supervisor: Person,
    pub leaders: Vec<Person>,
    pub cadres: Vec<Person>,
}

impl County {
    /// The plan for `cadres` cadres (at least one) over up to three
    /// townships.
    pub fn plan(cadres: usize) -> County {
        let cadres = cadres.max(1);
        let townships: Vec<Township> = TOWNSHIPS
            .iter()
            .take(cadres.min(TOWNSHIPS.len()))
            .map(|(id, name, villages)| Township {
                id: (*id).to_owned(),
                name: (*name).to_owned(),
                villages: villages
                    .iter()
                    .map(|(v, n)| (format!("{id}-{v}"), (*n).to_owned()))
                    .collect(),
            })
            .collect();
        let mut names = 0..;
        let mut next_name = || person_name(names.next().unwrap_or(0));
        let supervisor = Person {
            id: "duban".into(),
            login: "duban".into(),
            name: next_name(),
            role: Role::Supervisor,
            post: "县委督查室主任".into(),
            unit_id: COUNTY_ID.into(),
            place: COUNTY_NAME.into(),
            township_id: COUNTY_ID.into(),
            township_name: COUNTY_NAME.into(),
        };
        let leaders = townships
            .iter()
            .map(|t| Person {
                id: format!("leader-{}", t.id),
                login: format!("leader-{}", t.id),
                name: next_name(),
                role: Role::Leader,
                post: "镇党委书记".into(),
                unit_id: t.id.clone(),
                place: t.name.clone(),
                township_id: t.id.clone(),
                township_name: t.name.clone(),
            })
            .collect();
        let cadres = (0..cadres)
            .map(|i| {
                let t = &townships[i % townships.len()];
                let j = i / townships.len();
                let id = format!("cadre{:02}", i + 1);
                let (unit_id, place, post) = if j % 6 == 5 {
                    let post = TOWNSHIP_POSTS[(j / 6) % TOWNSHIP_POSTS.len()];
                    (t.id.clone(), t.name.clone(), post)
                } else {
                    let (v, name) = &t.villages[j % t.villages.len()];
                    let post = VILLAGE_POSTS[(j / t.villages.len()) % VILLAGE_POSTS.len()];
                    (v.clone(), name.clone(), post)
                };
                Person {
                    login: id.clone(),
                    id,
                    name: next_name(),
                    role: Role::Cadre,
                    post: post.into(),
                    unit_id,
                    place,
                    township_id: t.id.clone(),
                    township_name: t.name.clone(),
                }
            })
            .collect();
        County {
            townships,
            supervisor,
            leaders,
            cadres,
        }
    }

    pub fn villages(&self) -> usize {
        self.townships.iter().map(|t| t.villages.len()).sum()
    }

    /// Everyone who keeps records on a phone: the cadres and the leaders.
    pub fn phones(&self) -> impl Iterator<Item = &Person> {
        self.cadres.iter().chain(&self.leaders)
    }

    /// Create the units and users in `store`; `on_user` after each user.
    pub async fn create(
        &self,
        store: &Store,
        password: &str,
        on_user: impl Fn(usize, usize),
    ) -> anyhow::Result<()> {
        let unit = |id: &str, parent: Option<&str>, name: &str, level: &str| {
            let (id, parent, name, level) = (
                id.to_owned(),
                parent.map(str::to_owned),
                name.to_owned(),
                level.to_owned(),
            );
            async move {
                admin::create_unit(store, &id, parent.as_deref(), &name, &level)
                    .await
                    .with_context(|| format!("creating the unit {id} ({name})"))
            }
        };
        unit(COUNTY_ID, None, COUNTY_NAME, "county").await?;
        for t in &self.townships {
            unit(&t.id, Some(COUNTY_ID), &t.name, "township").await?;
            for (v, name) in &t.villages {
                unit(v, Some(&t.id), name, "village").await?;
            }
        }
        // Password hashing is slow on purpose: hash several at once (the
        // server limits it to the number of cores).
        let people: Vec<Person> = std::iter::once(&self.supervisor)
            .chain(&self.leaders)
            .chain(&self.cadres)
            .cloned()
            .collect();
        let total = people.len();
        let password: Arc<str> = password.into();
        let mut tasks = JoinSet::new();
        for p in people {
            let (store, password) = (store.clone(), password.clone());
            tasks.spawn(async move {
                let scope =
                    matches!(p.role, Role::Leader | Role::Supervisor).then(|| p.unit_id.clone());
                let spec = UserSpec {
                    id: p.id.clone(),
                    login: p.login.clone(),
                    name: p.name.clone(),
                    phone: String::new(),
                    post: p.post.clone(),
                    duties: String::new(),
                    unit: p.unit_id.clone(),
                    role: p.role.as_str().to_owned(),
                    scope,
                    password: password.to_string(),
                };
                admin::create_user(&store, spec)
                    .await
                    .with_context(|| format!("creating the user {} ({})", p.id, p.name))
            });
        }
        let mut done = 0;
        while let Some(joined) = tasks.join_next().await {
            joined.context("a user-creating task failed")??;
            done += 1;
            on_user(done, total);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_cadres_spread_over_three_townships_and_their_villages() {
        let c = County::plan(50);
        assert_eq!(
            (c.townships.len(), c.villages(), c.leaders.len()),
            (3, 10, 3)
        );
        assert_eq!(c.cadres.len(), 50);
        let at_township = c.cadres.iter().filter(|p| !p.unit_id.contains('-')).count();
        assert!((3..=12).contains(&at_township), "{at_township}");
        let mut names: Vec<&str> = c.phones().map(|p| p.name.as_str()).collect();
        names.push(&c.supervisor.name);
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "names are distinct");
    }

    #[test]
    fn a_tiny_county_still_has_a_township() {
        let c = County::plan(1);
        assert_eq!((c.townships.len(), c.cadres.len()), (1, 1));
    }
}
