//! A unit's month: each person's facts and review, ranked by total score;
//! the bottom two of those reviewed are marked (末位).

use serde::Serialize;

use crate::storage::ReviewRow;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    pub days_filed: i64,
    pub entries: i64,
    pub night_activities: i64,
    pub nights_stayed: i64,
    pub tasks_done: i64,
    pub tasks_open: i64,
    /// 督办 items the person is responsible for that fell due in the month
    /// (or before it and were still open), and of them those not done by
    /// their 时限 ([`crate::items::month_counts`]).
    pub items: i64,
    pub items_overdue: i64,
    /// Complaints about the person that the month's 销号 found founded
    /// (属实).
    #[serde(default)]
    pub complaints_founded: i64,
    /// Cases the person handles that fell due in the month (or before it,
    /// still open) and were not answered by their 时限.
    #[serde(default)]
    pub cases_overdue: i64,
}

impl Facts {
    /// The draft comment a reviewer starts from.
    pub fn draft(&self) -> String {
        let items = if self.items > 0 {
            format!("；督办事项{}项、逾期{}项", self.items, self.items_overdue)
        } else {
            String::new()
        };
        let mut cases = String::new();
        if self.complaints_founded > 0 {
            cases.push_str(&format!(
                "；群众投诉经核实属实{}件",
                self.complaints_founded
            ));
        }
        if self.cases_overdue > 0 {
            cases.push_str(&format!("；群众反映超期未办结{}件", self.cases_overdue));
        }
        format!(
            "本月填报工作纪实{}天、工作记录{}条，开展“四夜”活动{}次，住村{}晚；承诺事项已销号{}项、未完成{}项{items}{cases}。",
            self.days_filed,
            self.entries,
            self.night_activities,
            self.nights_stayed,
            self.tasks_done,
            self.tasks_open
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultRow {
    pub user_id: String,
    pub name: String,
    /// The person's post (职务), as the users table has it.
    pub post: String,
    pub unit_name: String,
    pub reviewer_id: Option<String>,
    /// The name of `reviewer_id`; empty when there is none or it is unknown.
    pub reviewer_name: String,
    /// The name of who wrote the review (an admin may, not only
    /// `reviewer_id`); empty while unreviewed or when unknown.
    pub reviewed_by_name: String,
    /// 表态 of a 末位 person, once entered.
    pub statement: Option<Statement>,
    pub facts: Facts,
    pub review: Option<ReviewRow>,
    pub total: Option<i64>,
    /// 1 for the highest total; none while unreviewed.
    pub rank: Option<u32>,
    /// 末位: in the bottom two ranks of those reviewed in the group.
    pub bottom: bool,
    /// The group the person is ranked in (`一般干部`, `班子成员`, `主要负责人`,
    /// on a county's page after the township's name).
    pub group: String,
    /// How many in the group were reviewed (ranked).
    pub ranked_of: u32,
    /// Where the group comes on the page (groups sort by it, then name).
    #[serde(skip)]
    pub group_order: (String, u8),
}

/// A 表态 as the results show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    pub text: String,
    /// The name of who entered it (the person, or a leader over them).
    pub by: String,
    /// ms since the epoch.
    pub at: i64,
}

/// Where a group a unit configured comes on the page: after the groups by
/// role.
pub const CONFIGURED_GROUP_ORDER: u8 = 3;

/// The default groups, by role: the unit's leadership (班子成员) and its
/// other cadres (一般干部) are ranked apart.
pub fn role_group(role: sync_core::Role) -> (&'static str, u8) {
    match role {
        sync_core::Role::Leader => ("班子成员", 1),
        _ => ("一般干部", 2),
    }
}

/// The group of those who reviewed people of their own group: a reviewer
/// is never ranked among those he scored.
pub const HEADS_GROUP: &str = "主要负责人";

/// Move every reviewer out of the group of the people they reviewed, into
/// their own `主要负责人` group (same prefix, first on the page).
pub fn separate_reviewers(rows: &mut [ResultRow]) {
    let reviewers: Vec<(String, String)> = rows
        .iter()
        .filter_map(|r| Some((r.group.clone(), r.reviewer_id.clone()?)))
        .collect();
    for r in rows.iter_mut() {
        let scored_in_group = reviewers
            .iter()
            .any(|(group, reviewer)| *group == r.group && *reviewer == r.user_id);
        if scored_in_group {
            let prefix = r
                .group
                .rsplit_once(' ')
                .map(|(p, _)| format!("{p} "))
                .unwrap_or_default();
            r.group = format!("{prefix}{HEADS_GROUP}");
            r.group_order.1 = 0;
        }
    }
}

/// Rank each group's rows by total (highest first; ties share a rank);
/// unreviewed rows come last in their group, unranked. Groups come in
/// `group_order`, then by name. In a group of more than two reviewed, the
/// bottom two ranks are 末位, everyone in them (equal totals are never told
/// apart by the order of their ids); never the top rank, so when everyone
/// reviewed has the same total, nobody is last.
pub fn rank(rows: Vec<ResultRow>) -> Vec<ResultRow> {
    let mut groups: Vec<((String, u8), String, Vec<ResultRow>)> = Vec::new();
    for r in rows {
        match groups.iter_mut().find(|(_, g, _)| *g == r.group) {
            Some((_, _, members)) => members.push(r),
            None => groups.push((r.group_order.clone(), r.group.clone(), vec![r])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    groups
        .into_iter()
        .flat_map(|(_, _, members)| rank_group(members))
        .collect()
}

fn rank_group(mut rows: Vec<ResultRow>) -> Vec<ResultRow> {
    for r in &mut rows {
        r.total = r.review.as_ref().map(|v| v.targets + v.conduct);
        r.rank = None;
        r.bottom = false;
    }
    rows.sort_by(|a, b| {
        b.total
            .is_some()
            .cmp(&a.total.is_some())
            .then(b.total.cmp(&a.total))
            .then(a.user_id.cmp(&b.user_id))
    });
    let reviewed = rows.iter().filter(|r| r.total.is_some()).count();
    // The distinct totals, highest first: one per rank.
    let mut distinct: Vec<i64> = rows.iter().filter_map(|r| r.total).collect();
    distinct.dedup();
    // The bottom two ranks, but never the first: at and below this total.
    let threshold = match distinct.len() {
        n if reviewed > 2 && n >= 2 => Some(distinct[(n - 2).max(1)]),
        _ => None,
    };
    let mut last: Option<(i64, u32)> = None;
    for (i, r) in rows.iter_mut().enumerate() {
        r.ranked_of = reviewed as u32;
        let Some(total) = r.total else { continue };
        let rank = match last {
            Some((t, rank)) if t == total => rank,
            _ => i as u32 + 1,
        };
        last = Some((total, rank));
        r.rank = Some(rank);
        r.bottom = threshold.is_some_and(|t| total <= t);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, score: Option<i64>) -> ResultRow {
        ResultRow {
            user_id: id.into(),
            name: id.into(),
            post: String::new(),
            unit_name: String::new(),
            reviewer_id: None,
            reviewer_name: String::new(),
            reviewed_by_name: String::new(),
            statement: None,
            facts: Facts::default(),
            review: score.map(|s| ReviewRow {
                user_id: id.into(),
                month: "2026-11".into(),
                reviewer_id: "l1".into(),
                targets: s - 10,
                conduct: 10,
                comment: String::new(),
                submitted_at: 0,
                late: false,
            }),
            total: None,
            rank: None,
            bottom: false,
            group: "一般干部".into(),
            ranked_of: 0,
            group_order: (String::new(), 2),
        }
    }

    #[test]
    fn ranking_shares_ties_and_marks_the_bottom_two() {
        let ranked = rank(vec![
            row("a", Some(70)),
            row("b", Some(90)),
            row("c", None),
            row("d", Some(70)),
            row("e", Some(60)),
        ]);
        let got: Vec<_> = ranked
            .iter()
            .map(|r| (r.user_id.as_str(), r.rank, r.bottom))
            .collect();
        assert_eq!(
            got,
            vec![
                ("b", Some(1), false),
                // Tied at the second place from the bottom: both are 末位,
                // whatever their ids (a bug marked only `d`).
                ("a", Some(2), true),
                ("d", Some(2), true),
                ("e", Some(4), true),
                ("c", None, false),
            ]
        );
        let two = rank(vec![row("a", Some(70)), row("b", Some(60))]);
        assert!(two.iter().all(|r| !r.bottom));
        // Two tied at the very bottom, named in either order.
        for names in [["x", "y"], ["y", "x"]] {
            let ranked = rank(vec![
                row("m", Some(90)),
                row("n", Some(80)),
                row(names[0], Some(60)),
                row(names[1], Some(60)),
            ]);
            let bottom: Vec<_> = ranked
                .iter()
                .filter(|r| r.bottom)
                .map(|r| r.user_id.as_str())
                .collect();
            // The bottom two ranks are 3 (x, y) and 2 (n).
            assert_eq!(bottom, ["n", "x", "y"]);
        }
        // Three tied at the bottom below one: the top is never 末位.
        let three = rank(vec![
            row("a", Some(90)),
            row("b", Some(60)),
            row("c", Some(60)),
            row("d", Some(60)),
        ]);
        let got: Vec<_> = three.iter().map(|r| (r.rank, r.bottom)).collect();
        assert_eq!(
            got,
            [
                (Some(1), false),
                (Some(2), true),
                (Some(2), true),
                (Some(2), true)
            ]
        );
        assert!(three.iter().all(|r| r.ranked_of == 4));
        // Everyone equal: nobody is last.
        let equal = rank(vec![
            row("a", Some(70)),
            row("b", Some(70)),
            row("c", Some(70)),
        ]);
        assert!(equal.iter().all(|r| !r.bottom && r.rank == Some(1)));
    }

    #[test]
    fn groups_are_ranked_apart_and_a_reviewer_never_among_those_he_scored() {
        let mut rows = vec![
            // The secretary reviewed everyone else, including the deputy.
            row("sec", Some(99)),
            row("dep", Some(80)),
            row("c1", Some(95)),
            row("c2", Some(70)),
            row("c3", Some(60)),
        ];
        for r in &mut rows {
            if r.user_id != "sec" {
                r.review.as_mut().unwrap().reviewer_id = "sec".into();
                r.reviewer_id = Some("sec".into());
            }
            if r.user_id == "sec" || r.user_id == "dep" {
                let (g, o) = role_group(sync_core::Role::Leader);
                r.group = g.into();
                r.group_order.1 = o;
            }
        }
        separate_reviewers(&mut rows);
        let ranked = rank(rows);
        let got: Vec<_> = ranked
            .iter()
            .map(|r| {
                (
                    r.group.as_str(),
                    r.user_id.as_str(),
                    r.rank,
                    r.ranked_of,
                    r.bottom,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("主要负责人", "sec", Some(1), 1, false),
                ("班子成员", "dep", Some(1), 1, false),
                ("一般干部", "c1", Some(1), 3, false),
                ("一般干部", "c2", Some(2), 3, true),
                ("一般干部", "c3", Some(3), 3, true),
            ]
        );
        // On a county's page the township prefixes the group.
        let mut county = vec![row("h", Some(90)), row("x", Some(80))];
        for r in &mut county {
            r.group = "石门镇 一般干部".into();
        }
        county[1].reviewer_id = Some("h".into());
        separate_reviewers(&mut county);
        assert_eq!(county[0].group, "石门镇 主要负责人");
        assert_eq!(county[1].group, "石门镇 一般干部");
    }

    #[test]
    fn the_draft_states_the_facts() {
        let f = Facts {
            days_filed: 20,
            entries: 45,
            night_activities: 6,
            nights_stayed: 4,
            tasks_done: 3,
            tasks_open: 1,
            items: 0,
            items_overdue: 0,
            complaints_founded: 0,
            cases_overdue: 0,
        };
        assert!(f.draft().contains("填报工作纪实20天"));
        assert!(!f.draft().contains("投诉"));
        assert!(f.draft().contains("未完成1项"));
        assert!(!f.draft().contains("督办"));
        let f = Facts {
            items: 2,
            items_overdue: 1,
            ..f
        };
        assert!(f.draft().contains("督办事项2项、逾期1项"), "{}", f.draft());
        let f = Facts {
            complaints_founded: 1,
            cases_overdue: 2,
            ..f
        };
        assert!(
            f.draft()
                .ends_with("群众投诉经核实属实1件；群众反映超期未办结2件。"),
            "{}",
            f.draft()
        );
    }
}
