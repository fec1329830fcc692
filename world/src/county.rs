//! The simulated county: its townships and villages, the cadres (Chinese
//! names, posts, the villages they work in), a leader heading each
//! township and the county's supervisor. Data only: the server's side
//! creates them (`jishi demo` through `admin::create_user`, the path of
//! `jishi admin`).

use serde::{Deserialize, Serialize};
use sync_core::Role;

use crate::content::person_name;

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
    /// The villages the person's work takes them to: their own village, or
    /// every village of their township.
    pub villages: Vec<String>,
}

impl Person {
    /// Posted to a village (not to the township or county office).
    pub fn in_village(&self) -> bool {
        self.unit_id.contains('-')
    }
}

#[derive(Debug, Clone)]
pub struct Township {
    pub id: String,
    pub name: String,
    /// (unit id, name)
    pub villages: Vec<(String, String)>,
}

impl Township {
    pub fn village_names(&self) -> Vec<String> {
        self.villages.iter().map(|v| v.1.clone()).collect()
    }
}

/// Village names for counties larger than the demo's (the load
/// generator's thousands of villages): `i` past the list gets a number.
pub fn village_name(i: usize) -> String {
    const NAMES: &[&str] = &[
        "青山", "石门", "龙塘", "白沙", "枫木", "桃源", "马鞍", "金竹", "杨柳", "大坪", "新田",
        "高桥", "柳溪", "河口", "新塘", "松林", "竹园", "梅子", "双溪", "清水", "凤凰", "长岭",
    ];
    let name = NAMES[i % NAMES.len()];
    match i / NAMES.len() {
        0 => format!("{name}村"),
        n => format!("{name}{}村", n + 1),
    }
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
            villages: townships
                .iter()
                .flat_map(|t| t.villages.iter().map(|v| v.1.clone()))
                .collect(),
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
                villages: t.village_names(),
            })
            .collect();
        let cadres = (0..cadres)
            .map(|i| {
                let t = &townships[i % townships.len()];
                let j = i / townships.len();
                let id = format!("cadre{:02}", i + 1);
                let (unit_id, place, post, villages) = if j % 6 == 5 {
                    let post = TOWNSHIP_POSTS[(j / 6) % TOWNSHIP_POSTS.len()];
                    (t.id.clone(), t.name.clone(), post, t.village_names())
                } else {
                    let (v, name) = &t.villages[j % t.villages.len()];
                    let post = VILLAGE_POSTS[(j / t.villages.len()) % VILLAGE_POSTS.len()];
                    (v.clone(), name.clone(), post, vec![name.clone()])
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
                    villages,
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
        for p in c.phones() {
            assert!(!p.villages.is_empty(), "{} works somewhere", p.id);
            let township = c.townships.iter().find(|t| t.id == p.township_id).unwrap();
            assert!(p
                .villages
                .iter()
                .all(|v| township.village_names().contains(v)));
            if p.in_village() {
                assert_eq!(p.villages, vec![p.place.clone()]);
            }
        }
    }

    #[test]
    fn village_names_are_distinct() {
        let names: std::collections::BTreeSet<String> = (0..500).map(village_name).collect();
        assert_eq!(names.len(), 500);
    }

    #[test]
    fn a_tiny_county_still_has_a_township() {
        let c = County::plan(1);
        assert_eq!((c.townships.len(), c.cadres.len()), (1, 1));
    }
}
