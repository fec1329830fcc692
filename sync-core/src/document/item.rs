//! 督办 items and the problems of a 问题清单: documents one person opens
//! for others (`../shared/DESIGN.md`, "Documents that others assign").
//!
//! An item's brief (what, why, by when, who) is written once, by its issuer,
//! in the change that opens it. Everything after is a step — progress, a
//! request to close, a confirmation (销号) or a sending back — each made
//! once by its author and never changed: the item's history is its list of
//! steps, and its status is read from them. Who may take which step is
//! [`may_take`], asked by the phone's typed edits and by the server's write
//! policy alike.

use serde::{Deserialize, Serialize};

use super::model::{str_enum, Comment, Photo, PhotoRef};
use crate::ids::{DocId, Role, UserId};

/// Which list an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemList {
    /// 督办事项: handed down, followed by the issuer.
    Supervision,
    /// 问题清单: a problem found, with its 整改措施.
    Problem,
    /// 固定任务 handed down into the responsible person's month plan (the
    /// month of its 时限): closed, like every item, only when the issuer
    /// confirms.
    Task,
    /// 投诉举报: the public complains of a cadre or a unit. Confirmed
    /// closed with a verdict, 属实 or 不属实.
    Complaint,
    /// 便民诉求: the public asks for something to be done.
    Request,
}

impl ItemList {
    /// A case the public filed (a complaint or a request): answered within
    /// three working days, its filer kept apart by the server.
    pub fn is_case(self) -> bool {
        matches!(self, ItemList::Complaint | ItemList::Request)
    }
    /// Does its 销号 carry a verdict (属实 / 不属实)?
    pub fn needs_verdict(self) -> bool {
        self == ItemList::Complaint
    }
}

/// Where an item comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemSource {
    /// 会议交办
    Meeting,
    /// 上级交办
    Superior,
    /// 信访
    Petition,
    /// 明察暗访
    Inspection,
    /// 自查
    SelfCheck,
    /// 群众扫码或网上提交: filed by the public from a card or a notice.
    Public,
    /// 便民热线: taken by a clerk from a call.
    Hotline,
}

/// What the 销号 of a complaint found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 属实
    Founded,
    /// 不属实
    Unfounded,
}

impl Verdict {
    pub fn zh(self) -> &'static str {
        match self {
            Verdict::Founded => "属实",
            Verdict::Unfounded => "不属实",
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// 进展: what was done.
    Progress,
    /// 申请销号: the responsible person asks to close.
    RequestClose,
    /// 确认销号: the issuer (or the level above) closes the item.
    Confirm,
    /// 退回: the issuer (or the level above) sends it back, with a reason.
    SendBack,
}

str_enum!(ItemList, "list", {
    Supervision => "supervision", Problem => "problem", Task => "task",
    Complaint => "complaint", Request => "request",
});
str_enum!(ItemSource, "source", {
    Meeting => "meeting", Superior => "superior", Petition => "petition",
    Inspection => "inspection", SelfCheck => "self_check", Public => "public",
    Hotline => "hotline",
});
str_enum!(Verdict, "verdict", { Founded => "founded", Unfounded => "unfounded" });
str_enum!(StepAction, "action", {
    Progress => "progress", RequestClose => "request_close", Confirm => "confirm",
    SendBack => "send_back",
});

/// The most collaborators one item names.
pub const MAX_COLLABORATORS: usize = 20;

/// What the issuer writes when opening an item (the issuer is the editor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemBrief {
    pub list: ItemList,
    pub source: ItemSource,
    pub title: String,
    /// 事项内容 / 问题描述
    pub content: String,
    /// 整改措施 (may be empty for a plain task)
    pub measures: String,
    /// 时限: the last day.
    pub due: chrono::NaiveDate,
    /// The unit the item concerns (its id).
    pub unit: String,
    pub responsible: UserId,
    pub collaborators: Vec<UserId>,
}

/// A step to take on an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepFields {
    pub action: StepAction,
    /// The note, the request's summary, or the reason for sending back.
    pub text: String,
    pub photos: Vec<PhotoRef>,
    /// 属实 / 不属实: on the 销号 of a complaint, and nowhere else.
    #[serde(default)]
    pub verdict: Option<Verdict>,
}

/// Where an item stands, read from its steps in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// 办理中
    Open,
    /// 待确认: the responsible person asked to close.
    AwaitingConfirmation,
    /// 已退回: sent back; open again.
    Returned,
    /// 已销号
    Closed,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Open => "open",
            ItemStatus::AwaitingConfirmation => "awaiting_confirmation",
            ItemStatus::Returned => "returned",
            ItemStatus::Closed => "closed",
        }
    }
    pub fn is_closed(self) -> bool {
        self == ItemStatus::Closed
    }
}

/// How a person stands to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Issuer,
    Responsible,
    Collaborator,
    /// Someone else who may read it: a leader or supervisor over the
    /// responsible person's unit (the level above), or a cadre who only
    /// comments.
    Reader,
}

/// May someone in `part` with `role` take `action`? An assignee works the
/// item and the responsible person asks to close it; only the issuer or the
/// level above (a leader, supervisor or admin who reads it) closes it or
/// sends it back, and never the responsible person themselves.
pub fn may_take(action: StepAction, part: Part, role: Role) -> bool {
    let above = part == Part::Reader && role != Role::Cadre;
    match action {
        StepAction::Progress => part != Part::Reader || above,
        StepAction::RequestClose => part == Part::Responsible,
        StepAction::Confirm | StepAction::SendBack => part == Part::Issuer || above,
    }
}

/// [`may_take`] on an item of `list`: a case's 销号 and sending back are
/// its confirmer's (the issuer's) alone, not any leader's who reads it: a
/// township's leader does not close a complaint about their own cadre.
pub fn may_take_on(list: Option<ItemList>, action: StepAction, part: Part, role: Role) -> bool {
    let answers = matches!(action, StepAction::Confirm | StepAction::SendBack);
    let case = list.is_some_and(ItemList::is_case);
    may_take(action, part, role) && !(case && answers && part != Part::Issuer)
}

/// Does a step carry the verdict it must: one on the 销号 of a complaint,
/// none anywhere else? Asked by the phone's typed edits and by the
/// server's write policy alike.
pub fn check_verdict(
    list: ItemList,
    action: StepAction,
    verdict: Option<Verdict>,
) -> Result<(), &'static str> {
    match (
        list.needs_verdict() && action == StepAction::Confirm,
        verdict,
    ) {
        (true, None) => Err("the 销号 of a complaint says whether it was founded (属实 / 不属实)"),
        (false, Some(_)) => Err("only the 销号 of a complaint carries a verdict"),
        _ => Ok(()),
    }
}

/// The brief as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brief {
    pub list: ItemList,
    pub source: ItemSource,
    pub title: String,
    pub content: String,
    pub measures: String,
    /// `YYYY-MM-DD`
    pub due: String,
    pub unit: String,
    pub issuer: String,
    pub issuer_role: String,
    pub issued_at: i64,
    pub responsible: String,
    pub collaborators: Vec<String>,
}

/// One step as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub action: StepAction,
    pub by: String,
    pub role: String,
    pub at: i64,
    pub text: String,
    pub photos: Vec<Photo>,
    /// The verdict a complaint's 销号 gave.
    #[serde(default)]
    pub verdict: Option<Verdict>,
}

/// An item as plain values. `brief` is `None` only for a document whose
/// opening change has not arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: DocId,
    pub schema: u64,
    pub brief: Option<Brief>,
    /// In time order (then id).
    pub steps: Vec<Step>,
    pub comments: Vec<Comment>,
}

/// What the steps say of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub status: ItemStatus,
    /// When the standing request to close was made (while it awaits
    /// confirmation, and once confirmed): the day the work was done.
    pub done_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    pub sent_back: u32,
    /// The last reason for sending back, while the item is returned.
    pub returned_because: Option<String>,
    /// What the 销号 found (a complaint's, once closed).
    pub verdict: Option<Verdict>,
    /// The answer the standing request to close gave (for a case: what
    /// the filer is told), while it awaits confirmation and once closed.
    pub answer: Option<String>,
}

impl Item {
    pub fn part_of(&self, user: &str) -> Part {
        let Some(b) = &self.brief else {
            return Part::Reader;
        };
        if b.issuer == user {
            Part::Issuer
        } else if b.responsible == user {
            Part::Responsible
        } else if b.collaborators.iter().any(|c| c == user) {
            Part::Collaborator
        } else {
            Part::Reader
        }
    }

    /// The steps `user` in `role` may take now: what their part allows
    /// ([`may_take`]) and what makes sense where the item stands (销号 and
    /// sending back answer a request; nothing but a note once closed).
    pub fn may_now(&self, user: &str, role: Role) -> Vec<StepAction> {
        let part = self.part_of(user);
        let status = self.standing().status;
        [
            StepAction::Progress,
            StepAction::RequestClose,
            StepAction::Confirm,
            StepAction::SendBack,
        ]
        .into_iter()
        .filter(|a| may_take_on(self.brief.as_ref().map(|b| b.list), *a, part, role))
        .filter(|a| match a {
            StepAction::Progress => !status.is_closed(),
            StepAction::RequestClose => matches!(status, ItemStatus::Open | ItemStatus::Returned),
            StepAction::Confirm | StepAction::SendBack => {
                status == ItemStatus::AwaitingConfirmation
            }
        })
        .collect()
    }

    /// The status, folding the steps in time order: a request makes an
    /// open item await confirmation, a confirmation closes it for good
    /// (confirming wins over a concurrent sending back), a sending back
    /// returns an item that awaits confirmation.
    pub fn standing(&self) -> Standing {
        let mut s = Standing {
            status: ItemStatus::Open,
            done_at: None,
            closed_at: None,
            closed_by: None,
            sent_back: 0,
            returned_because: None,
            verdict: None,
            answer: None,
        };
        let mut requested_at = None;
        for step in &self.steps {
            if s.status.is_closed() {
                break;
            }
            match step.action {
                StepAction::Progress => {}
                StepAction::RequestClose => {
                    s.status = ItemStatus::AwaitingConfirmation;
                    requested_at = Some(step.at);
                    s.done_at = requested_at;
                    s.returned_because = None;
                    s.answer = Some(step.text.clone());
                }
                // A confirmation answers a request (the write policy
                // refuses one that answers none).
                StepAction::Confirm if s.status == ItemStatus::Open => {}
                StepAction::Confirm => {
                    s.status = ItemStatus::Closed;
                    s.done_at = Some(requested_at.unwrap_or(step.at));
                    s.closed_at = Some(step.at);
                    s.closed_by = Some(step.by.clone());
                    s.returned_because = None;
                    s.verdict = step.verdict;
                }
                StepAction::SendBack => {
                    if s.status == ItemStatus::AwaitingConfirmation {
                        s.status = ItemStatus::Returned;
                        s.sent_back += 1;
                        requested_at = None;
                        s.done_at = None;
                        s.answer = None;
                        s.returned_because = Some(step.text.clone());
                    }
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(action: StepAction, at: i64) -> Step {
        Step {
            id: format!("s{at}"),
            action,
            by: "x".into(),
            role: "leader".into(),
            at,
            text: format!("t{at}"),
            photos: Vec::new(),
            verdict: None,
        }
    }

    fn item(steps: Vec<Step>) -> Item {
        Item {
            id: DocId::new_item(),
            schema: 1,
            brief: None,
            steps,
            comments: Vec::new(),
        }
    }

    #[test]
    fn a_request_then_a_confirmation_closes_with_the_request_as_done() {
        let s = item(vec![
            step(StepAction::Progress, 1),
            step(StepAction::RequestClose, 2),
            step(StepAction::Confirm, 3),
        ])
        .standing();
        assert_eq!(s.status, ItemStatus::Closed);
        assert_eq!((s.done_at, s.closed_at), (Some(2), Some(3)));
    }

    #[test]
    fn sending_back_returns_and_counts_and_a_new_request_clears_it() {
        let s = item(vec![
            step(StepAction::RequestClose, 1),
            step(StepAction::SendBack, 2),
        ])
        .standing();
        assert_eq!(s.status, ItemStatus::Returned);
        assert_eq!(s.returned_because.as_deref(), Some("t2"));
        let s = item(vec![
            step(StepAction::RequestClose, 1),
            step(StepAction::SendBack, 2),
            step(StepAction::RequestClose, 3),
        ])
        .standing();
        assert_eq!(s.status, ItemStatus::AwaitingConfirmation);
        assert_eq!(s.sent_back, 1);
        assert_eq!(
            s.done_at,
            Some(3),
            "awaiting: done when asked, if confirmed"
        );
    }

    #[test]
    fn a_confirmation_wins_over_a_later_sending_back_and_later_progress() {
        let s = item(vec![
            step(StepAction::RequestClose, 1),
            step(StepAction::Confirm, 2),
            step(StepAction::SendBack, 3),
            step(StepAction::Progress, 4),
        ])
        .standing();
        assert_eq!(s.status, ItemStatus::Closed);
        assert_eq!(s.sent_back, 0);
    }

    #[test]
    fn rights_by_part() {
        use Part::*;
        use StepAction::*;
        assert!(may_take(RequestClose, Responsible, Role::Cadre));
        assert!(!may_take(RequestClose, Collaborator, Role::Cadre));
        assert!(!may_take(Confirm, Responsible, Role::Leader));
        assert!(may_take(Confirm, Issuer, Role::Leader));
        assert!(may_take(SendBack, Reader, Role::Supervisor));
        assert!(!may_take(Confirm, Reader, Role::Cadre));
        assert!(!may_take(Progress, Reader, Role::Cadre));
        assert!(may_take(Progress, Collaborator, Role::Cadre));
        let case = Some(ItemList::Complaint);
        assert!(
            !may_take_on(case, Confirm, Reader, Role::Leader),
            "a peer leader"
        );
        assert!(!may_take_on(case, SendBack, Reader, Role::Supervisor));
        assert!(may_take_on(case, Confirm, Issuer, Role::Supervisor));
        assert!(may_take_on(case, Progress, Reader, Role::Leader));
        assert!(may_take_on(
            Some(ItemList::Supervision),
            Confirm,
            Reader,
            Role::Leader
        ));
    }
}
