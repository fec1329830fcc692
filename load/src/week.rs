//! One cadre's week written offline, through the same typed edits the app
//! makes: each day a diary of several entries (about 150 characters of
//! Chinese each, so about 4 KB of text with the day summary) and a night log
//! with one night activity and where the cadre stayed. Sentences, places,
//! people and numbers are drawn from a seeded generator, so the text differs
//! from cadre to cadre (verbatim repeats would flatter compression) while a
//! run stays repeatable.

use chrono::NaiveDate;
use sync_core::document::{ActivityFields, Category, EntryFields, NightKind, PhotoRef, TextTarget};
use sync_core::memory::MemoryReplica;
use sync_core::validate::{Location, TimeOfDay};
use sync_core::{CoreError, DocId, Edit, EditContext, ItemId, Role, UserId};

use crate::photos::{Album, PhotoFile};

/// Characters an entry's text reaches at least.
const ENTRY_CHARS: usize = 150;

/// Daytime work, with `#村` a village, `#人` a person and `#数` a number.
const SENTENCES: &[&str] = &[
    "上午到#村入户走访#数户，了解春耕备耕情况，重点查看化肥、种子储备和农机检修。",
    "宣传惠农补贴政策和城乡居民医保缴费办法，现场帮#人办理了线上缴费。",
    "群众反映#村村道排水沟堵塞，雨天积水严重，已联系镇交通办#数日内现场查看。",
    "走访独居老人#人家，检查用电用火安全，帮助更换了一段老化电线和两个插座。",
    "召开#村村民小组会议，#数名群众参加，讨论饮水安全工程选址，意见基本一致。",
    "协调处理#人与邻居宅基地边界纠纷，实地丈量后双方签字认可调解方案。",
    "到#村茶叶基地查看长势，与合作社负责人商量秋季采摘用工，预计需要#数人。",
    "收集群众对低保评议的意见#数条，登记在册，报村两委研究后三日内答复。",
    "参加镇里组织的防汛应急培训，学习转移避险流程、物资调配和值班报告要求。",
    "入户核实脱贫监测户#人家庭收入，填写帮扶手册，更新产业奖补台账。",
    "检查#村卫生室药品台账，督促家庭医生完成本月#数户慢病随访。",
    "与驻村工作队研究下周计划，明确#村道路维修、危房改造的责任人和完成时限。",
    "#人反映孩子上学路远，已与镇中心校联系，争取安排校车接送。",
    "到#村烤烟房查看设备，提醒农户注意用电安全，发放安全告知书#数份。",
    "组织#数名党员志愿者清理#村河道垃圾，劝导群众不往河里倒生活污水。",
    "调查#村外出务工人员返乡情况，登记有就业意愿的#数人，推荐到县工业园。",
    "陪同镇农技站技术员到#村查看水稻病虫害，指导农户科学用药，登记受灾面积#数亩。",
    "#人家屋顶瓦片被大风掀翻，联系村里的施工队下午修补，费用从应急资金列支。",
    "核对#村医保参保名单，发现#数人信息有误，已报镇医保站更正。",
    "到村小学了解留守儿童情况，与老师商定每月家访一次，重点关注#人的孙女。",
    "检查#村森林防火卡点值守情况，补充灭火器#数具，提醒护林员按时巡山。",
    "调解#人兄弟赡养老人的矛盾，约定轮流照顾，每月各出生活费三百元。",
    "走访#村养殖大户，了解生猪存栏和价格行情，帮助对接县里的冷链物流企业。",
    "统计#村秋粮收购意向，共有#数户愿意订单种植，已将名单报镇粮站。",
    "入户宣传电信诈骗防范知识，帮助#人卸载可疑软件，提醒不要向陌生人转账。",
    "察看#村滑坡隐患点，裂缝比上周略有增宽，已通知下方#数户做好撤离准备。",
    "协助镇民政办复核高龄津贴申请，#村新增符合条件老人#数名，材料已齐全。",
    "与#人商量土地流转合同续签事宜，对租金调整意见较大，约定下周再议。",
    "参加#村党支部主题党日活动，讲了一堂乡村振兴政策课，参加党员#数人。",
    "查看#村人居环境整治进度，房前屋后杂物基本清理，还有#数处旱厕待改造。",
    "接待来访群众#人，反映承包地被邻村占用，已调取确权图纸，明天到现场核实。",
    "到#村光伏电站查看发电数据，本月收益正常，分红名单需在村务公开栏公示。",
    "了解#村电商服务站运营情况，帮助上架土鸡蛋和腊肉，本周销售#数单。",
    "走访#村残疾人家庭，核实两项补贴发放情况，帮#人申请了一辆轮椅。",
    "督促#村完成自来水入户管网改造，还剩#数户未接通，施工队承诺周五前完成。",
    "召开村级财务公开会议，逐笔解释上季度支出，群众对修路开支提出#数个问题。",
    "帮助#人填写创业贷款申请表，计划扩大竹编作坊，需带动周边#数人就业。",
    "到#村敬老院送去过冬棉被#数床，与院长商量安装取暖设备的预算。",
    "与#人一起到田间查看灌溉渠，渠道淤塞约#数十米，安排村民投工清淤。",
    "协调#村与邻村的用水纠纷，约定轮灌时间表，双方村干部签字确认。",
];
const VILLAGES: &[&str] = &[
    "青山村",
    "石门村",
    "龙塘村",
    "白沙村",
    "枫木村",
    "桃源村",
    "马鞍村",
    "金竹村",
    "杨柳村",
    "大坪村",
    "新田村",
    "高桥村",
];
const PEOPLE: &[&str] = &[
    "张大爷",
    "李秀英",
    "王建国",
    "刘桂花",
    "陈明华",
    "杨德胜",
    "赵春兰",
    "周小军",
    "吴长生",
    "黄玉梅",
    "彭志强",
    "田秋菊",
];
const SUMMARIES: &[&str] = &[
    "今日小结：入户走访#数户，召开小组会一次，调解纠纷一起，收集问题#数条，已办结两条，其余限期办理。",
    "今日小结：重点抓了#村的安全隐患排查，发现问题#数处，已落实整改责任人，明日复查。",
    "今日小结：政策宣传和台账整理为主，群众诉求#数条全部登记，需镇里协调的已上报。",
];
/// Night visits: (issues raised, help given).
const NIGHTS: &[(&str, &str)] = &[
    (
        "群众反映#村路灯损坏#数处，夜间出行不便；#人的慢性病用药报销手续不清楚。",
        "登记路灯位置报村委会安排维修；现场帮#人整理报销材料，约定明日代办。",
    ),
    (
        "讨论饮水工程施工占用耕地补偿标准，#数户群众希望提高标准并尽快兑现。",
        "解释补偿政策依据，承诺三日内公示补偿明细，收集意见#数条上报镇里。",
    ),
    (
        "#人家里孩子在外打工，老人独自在家，冬季取暖和看病有困难。",
        "帮#人申请了临时救助，联系村医每周上门一次，留下了驻村干部的电话。",
    ),
    (
        "#村村民对今年低保名单有议论，认为评议过程不够公开，涉及#数户。",
        "现场讲解评议程序，约定在村务公开栏公示全部名单和得分，接受监督。",
    ),
];
const NIGHT_KINDS: &[NightKind] = &[
    NightKind::Visit,
    NightKind::Discussion,
    NightKind::Help,
    NightKind::Study,
];
const CATEGORIES: &[Category] = &[
    Category::Visit,
    Category::Meeting,
    Category::Mediation,
    Category::Project,
    Category::Duty,
];

/// A small seeded generator (splitmix64): repeatable text without a
/// dependency.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// Fill the `#村`, `#人`, `#数` slots of a template.
    fn fill(&mut self, template: &str) -> String {
        let mut out = template.to_owned();
        while out.contains("#村") {
            let village = *self.pick(VILLAGES);
            out = out.replacen("#村", village, 1);
        }
        while out.contains("#人") {
            let person = *self.pick(PEOPLE);
            out = out.replacen("#人", person, 1);
        }
        while out.contains("#数") {
            out = out.replacen("#数", &(2 + self.below(18)).to_string(), 1);
        }
        out
    }
}

/// What a week looks like.
#[derive(Debug, Clone, Copy)]
pub struct WeekShape {
    pub first_day: NaiveDate,
    pub days: usize,
    pub entries_per_diary: usize,
}

/// What writing a week produced, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub docs: u64,
    pub diaries: u64,
    /// UTF-8 bytes of text typed into the diaries.
    pub diary_text_bytes: u64,
    /// Saved (compressed Automerge) bytes of all documents.
    pub saved_bytes: u64,
    pub diary_saved_bytes: u64,
}

/// Write cadre `index`'s week (0-based, as `seed` numbers them) into
/// `replica`: the seed comes from the index, so `run` and `export` write
/// the same text for the same cadre.
pub fn write_cadre_week(
    replica: &mut MemoryReplica,
    user: &UserId,
    index: usize,
    shape: WeekShape,
) -> Result<Written, CoreError> {
    write_week(replica, user, shape, 0x5eed_0000 + index as u64, None).map(|(w, _)| w)
}

/// The photos a phone takes in its week.
#[derive(Clone, Copy)]
pub struct Camera<'a> {
    pub album: &'a Album,
    pub per_week: usize,
}

/// [`write_cadre_week`], and `camera.per_week` photos attached to the
/// diaries' entries: photo `k` to day `k % days`, entry `k / days`
/// (wrapping), so that they spread over the week. The same text as without
/// photos; the photos to upload are returned.
pub fn write_cadre_week_with_photos(
    replica: &mut MemoryReplica,
    user: &UserId,
    index: usize,
    shape: WeekShape,
    camera: Camera<'_>,
) -> Result<(Written, Vec<PhotoFile>), CoreError> {
    write_week(
        replica,
        user,
        shape,
        0x5eed_0000 + index as u64,
        Some((index, camera)),
    )
}

/// Write `shape` into `replica` as `user` would, offline; with a camera,
/// cadre `index`'s photos too.
fn write_week(
    replica: &mut MemoryReplica,
    user: &UserId,
    shape: WeekShape,
    seed: u64,
    camera: Option<(usize, Camera<'_>)>,
) -> Result<(Written, Vec<PhotoFile>), CoreError> {
    let mut dice = Dice(seed);
    let mut written = Written::default();
    let mut photos = Vec::new();
    let days = shape.days.max(1);
    let entries = shape.entries_per_diary.max(1);
    for d in 0..shape.days {
        let date = shape.first_day + chrono::Days::new(d as u64);
        // Phone clocks: the evening of that day.
        let day_ms = date
            .and_hms_opt(21, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(0);
        let ctx = EditContext {
            user: user.clone(),
            role: Role::Cadre,
            now_ms: day_ms,
        };

        let diary = DocId::diary(user, date);
        for n in 0..shape.entries_per_diary {
            let mut text = String::new();
            while text.chars().count() < ENTRY_CHARS {
                let sentence = *dice.pick(SENTENCES);
                text.push_str(&dice.fill(sentence));
            }
            written.diary_text_bytes += text.len() as u64;
            let minutes = 8 * 60 + (n as u16) * 75 + dice.below(20) as u16;
            let fields = EntryFields {
                time: time(minutes)?,
                category: *dice.pick(CATEGORIES),
                place: format!("{}第{}组", dice.pick(VILLAGES), 1 + dice.below(9)),
                text,
                households: 1 + dice.below(8) as u32,
                location: Some(Location {
                    lat: 27.0 + dice.below(10_000) as f64 / 10_000.0,
                    lon: 109.0 + dice.below(10_000) as f64 / 10_000.0,
                    accuracy_m: 5.0 + dice.below(30) as f64,
                }),
            };
            let id = ItemId::random();
            let edit = Edit::AddEntry {
                id: id.clone(),
                fields,
            };
            replica.edit(&diary, &edit, &ctx)?;
            if let Some((index, camera)) = camera {
                // Photos k with k % days == d and (k / days) % entries == n.
                let taken = (d..camera.per_week)
                    .step_by(days)
                    .filter(|k| (k / days) % entries == n);
                for k in taken {
                    let photo = camera.album.photo(index, k);
                    let edit = Edit::AttachPhoto {
                        item: id.clone(),
                        photo: PhotoRef {
                            hash: photo.hash.clone(),
                            captured_at: Some(day_ms - 3_600_000),
                            location: None,
                        },
                    };
                    replica.edit(&diary, &edit, &ctx)?;
                    photos.push(photo);
                }
            }
        }
        let template = *dice.pick(SUMMARIES);
        let summary = dice.fill(template);
        written.diary_text_bytes += summary.len() as u64;
        replica.edit(
            &diary,
            &Edit::SetText {
                target: TextTarget::Summary,
                text: summary,
            },
            &ctx,
        )?;

        let night = DocId::night(user, date);
        let (issues, help) = *dice.pick(NIGHTS);
        let start = 19 * 60 + 30 + dice.below(30) as u16;
        let activity = Edit::AddActivity {
            id: ItemId::random(),
            fields: ActivityFields {
                kind: *dice.pick(NIGHT_KINDS),
                start: time(start)?,
                end: Some(time(start + 60 + dice.below(60) as u16)?),
                place: format!("{}第{}组", dice.pick(VILLAGES), 1 + dice.below(9)),
                households: 2 + dice.below(6) as u32,
                issues: dice.fill(issues),
                help: dice.fill(help),
            },
        };
        replica.edit(&night, &activity, &ctx)?;
        let stay = Edit::SetOvernight {
            stayed: true,
            place: Some(format!("{}村委会", dice.pick(VILLAGES))),
        };
        replica.edit(&night, &stay, &ctx)?;

        for (id, is_diary) in [(&diary, true), (&night, false)] {
            let bytes = replica
                .document(id)?
                .map(|mut doc| doc.save().len() as u64)
                .unwrap_or(0);
            written.docs += 1;
            written.saved_bytes += bytes;
            if is_diary {
                written.diaries += 1;
                written.diary_saved_bytes += bytes;
            }
        }
    }
    Ok((written, photos))
}

fn time(minutes: u16) -> Result<TimeOfDay, CoreError> {
    TimeOfDay::from_hm(minutes / 60 % 24, minutes % 60).map_err(CoreError::from)
}

impl std::ops::AddAssign for Written {
    fn add_assign(&mut self, o: Written) {
        self.docs += o.docs;
        self.diaries += o.diaries;
        self.diary_text_bytes += o.diary_text_bytes;
        self.saved_bytes += o.saved_bytes;
        self.diary_saved_bytes += o.diary_saved_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::session::ClientStore;
    use sync_core::{Actor, Record};

    #[test]
    fn a_week_is_fourteen_documents_of_about_four_kilobytes_of_diary_text() {
        let mut replica = MemoryReplica::new(Actor::random());
        let user = UserId::parse("cadre00001").unwrap();
        let shape = WeekShape {
            first_day: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            days: 7,
            entries_per_diary: 8,
        };
        let (w, photos) = write_week(&mut replica, &user, shape, 1, None).unwrap();
        assert!(photos.is_empty());
        assert_eq!(w.docs, 14);
        assert_eq!(replica.pending().unwrap().len(), 14);
        let bytes_per_diary = w.diary_text_bytes / w.diaries;
        assert!(
            (3_500..5_500).contains(&bytes_per_diary),
            "{bytes_per_diary}"
        );
    }

    #[test]
    fn photos_spread_over_the_week_attached_to_diary_entries() {
        let mut replica = MemoryReplica::new(Actor::random());
        let user = UserId::parse("cadre00002").unwrap();
        let shape = WeekShape {
            first_day: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            days: 7,
            entries_per_diary: 2,
        };
        let album = Album::new(64, 2).unwrap();
        let camera = Camera {
            album: &album,
            per_week: 16,
        };
        let (w, photos) =
            write_cadre_week_with_photos(&mut replica, &user, 1, shape, camera).unwrap();
        assert_eq!(w.docs, 14);
        assert_eq!(photos.len(), 16);
        let mut hashes: Vec<String> = photos.iter().map(|p| p.hash.to_string()).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), 16, "every photo is its own file");
        let mut attached = Vec::new();
        for d in 0..7 {
            let id = DocId::diary(&user, shape.first_day + chrono::Days::new(d));
            let Record::Diary(diary) = replica.document(&id).unwrap().unwrap().read() else {
                panic!("{id} is not a diary");
            };
            let on_day: Vec<String> = diary
                .entries
                .iter()
                .flat_map(|e| e.photos.iter().map(|p| p.hash.clone()))
                .collect();
            // 16 photos over 7 days: days 0 and 1 have three, the rest two.
            assert_eq!(on_day.len(), if d < 2 { 3 } else { 2 }, "day {d}");
            attached.extend(on_day);
        }
        attached.sort();
        assert_eq!(attached, hashes);
    }
}
