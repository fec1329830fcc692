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
}

impl Facts {
    /// The draft comment a reviewer starts from.
    pub fn draft(&self) -> String {
        format!(
            "本月填报工作纪实{}天、工作记录{}条，开展“四夜”活动{}次，住村{}晚；承诺事项已销号{}项、未完成{}项。",
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
    pub unit_name: String,
    pub reviewer_id: Option<String>,
    pub facts: Facts,
    pub review: Option<ReviewRow>,
    pub total: Option<i64>,
    /// 1 for the highest total; none while unreviewed.
    pub rank: Option<u32>,
    /// 末位: among the bottom two of those reviewed.
    pub bottom: bool,
}

/// Rank rows by total (highest first; ties share a rank); unreviewed rows
/// come last, unranked. With more than two reviewed, the last two places
/// are marked 末位, and so is everyone tied with them: equal totals are
/// never told apart by the order of their ids. When everyone reviewed has
/// the same total, nobody is last.
pub fn rank(mut rows: Vec<ResultRow>) -> Vec<ResultRow> {
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
    // The total of the second place from the bottom: it and all below are
    // the bottom two places, with their ties.
    let totals: Vec<i64> = rows.iter().filter_map(|r| r.total).collect();
    let second_last = reviewed.checked_sub(2).and_then(|i| totals.get(i));
    let threshold = match (totals.first(), second_last) {
        (Some(top), Some(t)) if reviewed > 2 && t < top => Some(*t),
        _ => None,
    };
    let mut last: Option<(i64, u32)> = None;
    for (i, r) in rows.iter_mut().enumerate() {
        let Some(total) = r.total else { break };
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
            unit_name: String::new(),
            reviewer_id: None,
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
            assert_eq!(bottom, ["x", "y"]);
        }
        // Everyone equal: nobody is last.
        let equal = rank(vec![
            row("a", Some(70)),
            row("b", Some(70)),
            row("c", Some(70)),
        ]);
        assert!(equal.iter().all(|r| !r.bottom && r.rank == Some(1)));
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
        };
        assert!(f.draft().contains("填报工作纪实20天"));
        assert!(f.draft().contains("未完成1项"));
    }
}
