//! What the simulated cadres write: diary entries, night activities, day
//! summaries, the month's tasks and reviewers' remarks, in Chinese, fit
//! for the season (no 春耕 in November, no 防汛 in January) and for the
//! place (the villages and village groups of the cadre's own township).
//!
//! Templates carry slots that are filled from the seeded [`Rng`]: `#村` a
//! village of the cadre's, `#人` a villager, `#户` a kind of household,
//! `#数` a small number, `#n` the entry's own number of households (so the
//! text and the field agree).

use chrono::{Datelike, NaiveDate};
use sync_core::document::{Category, NightKind};

use crate::Rng;

/// The seasons a text fits, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seasons(u8);

pub const SPRING: Seasons = Seasons(1);
pub const SUMMER: Seasons = Seasons(2);
pub const AUTUMN: Seasons = Seasons(4);
pub const WINTER: Seasons = Seasons(8);
pub const ALL: Seasons = Seasons(15);
/// Spring and summer: sowing, floods.
const WET: Seasons = Seasons(1 | 2);
/// Autumn and winter: harvest, cold, fire watch.
const COLD: Seasons = Seasons(4 | 8);
/// Autumn to spring: the forest fire season.
const FIRE: Seasons = Seasons(4 | 8 | 1);

impl Seasons {
    /// The season `day` is in (meteorological: spring is March to May).
    pub fn of(day: NaiveDate) -> Seasons {
        match day.month() {
            3..=5 => SPRING,
            6..=8 => SUMMER,
            9..=11 => AUTUMN,
            _ => WINTER,
        }
    }

    pub fn contains(self, season: Seasons) -> bool {
        self.0 & season.0 == season.0
    }
}

/// How often each kind of entry is written (by repetition).
pub const CATEGORIES: &[Category] = &[
    Category::Visit,
    Category::Visit,
    Category::Visit,
    Category::Meeting,
    Category::Project,
    Category::Project,
    Category::Mediation,
    Category::Study,
    Category::Duty,
    Category::Other,
];

/// How often each kind of night activity happens (by repetition).
pub const NIGHT_KINDS: &[NightKind] = &[
    NightKind::Study,
    NightKind::Visit,
    NightKind::Visit,
    NightKind::Discussion,
    NightKind::Help,
];

const HOUSEHOLDS: &[&str] = &[
    "脱贫户",
    "监测户",
    "低保户",
    "五保户",
    "留守老人",
    "独居老人",
    "残疾人家庭",
    "种粮大户",
];

const VILLAGERS: &[&str] = &[
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
    "罗大娘",
    "郑老汉",
    "谢桂英",
    "唐德明",
];

use Category as C;

/// Entries: (kind, seasons, template).
const ENTRIES: &[(Category, Seasons, &str)] = &[
    (
        C::Visit,
        ALL,
        "入户走访#户#n户，了解务工收入和家庭困难，宣传防返贫监测政策。",
    ),
    (
        C::Visit,
        ALL,
        "走访#户#n户，核实医保缴费和家庭医生签约情况，帮#人在手机上查询了报销进度。",
    ),
    (
        C::Visit,
        ALL,
        "到#人家中了解饮水安全问题，水压偏低，已联系水利站#数日内上门检修。",
    ),
    (
        C::Visit,
        ALL,
        "与#户#人谈心谈话，帮助梳理产业发展思路，记录需求#数条。",
    ),
    (
        C::Visit,
        ALL,
        "开展屋场会前入户摸底，在#村走访#n户收集意见建议。",
    ),
    (
        C::Visit,
        ALL,
        "入户核实监测户#人家庭收入，填写帮扶手册，更新产业奖补台账。",
    ),
    (
        C::Visit,
        ALL,
        "走访#村残疾人家庭#n户，核实两项补贴发放情况，帮#人申请了一辆轮椅。",
    ),
    (
        C::Visit,
        ALL,
        "到#村小学了解留守儿童情况，与老师商定每月家访一次，重点关注#人的孙女。",
    ),
    (
        C::Visit,
        ALL,
        "入户宣传电信诈骗防范知识#n户，帮助#人卸载可疑软件，提醒不要向陌生人转账。",
    ),
    (
        C::Visit,
        SPRING,
        "到#村入户走访#n户，了解春耕备耕情况，重点查看化肥、种子储备和农机检修。",
    ),
    (
        C::Visit,
        SPRING,
        "走访#村种粮大户#人，了解早稻育秧进度，协调农技员下周现场指导。",
    ),
    (
        C::Visit,
        SUMMER,
        "走访#村#n户，检查房前屋后排水沟，提醒汛期注意山洪和地质灾害。",
    ),
    (
        C::Visit,
        SUMMER,
        "到#人家查看中稻长势，登记病虫害情况，联系植保站统一防治。",
    ),
    (
        C::Visit,
        AUTUMN,
        "统计#村秋粮收购意向，走访#n户，有#数户愿意订单种植，名单已报镇粮站。",
    ),
    (
        C::Visit,
        AUTUMN,
        "走访#村养殖大户#人，了解生猪存栏和价格行情，帮助对接县里的冷链物流企业。",
    ),
    (
        C::Visit,
        COLD,
        "走访#户#n户，检查冬季取暖和用电用火安全，帮#人更换了一段老化电线。",
    ),
    (
        C::Visit,
        WINTER,
        "到#村敬老院送去过冬棉被#数床，与院长商量安装取暖设备的预算。",
    ),
    (
        C::Visit,
        WINTER,
        "调查#村外出务工人员返乡过年情况，登记有就业意愿的#数人，推荐到县工业园。",
    ),
    (
        C::Meeting,
        ALL,
        "参加镇党委扩大会议，传达学习县委全会精神，明确本月重点工作。",
    ),
    (
        C::Meeting,
        ALL,
        "组织召开#村“两委”会议，研究人居环境整治方案和责任分工。",
    ),
    (
        C::Meeting,
        ALL,
        "参加乡村振兴工作调度会，汇报驻村帮扶进展和#村存在的#数个问题。",
    ),
    (
        C::Meeting,
        ALL,
        "召开#村村民代表大会，讨论村规民约修订，#数名代表发言。",
    ),
    (
        C::Meeting,
        ALL,
        "召开#村村级财务公开会议，逐笔解释上季度支出，群众提出#数个问题。",
    ),
    (
        C::Meeting,
        SUMMER,
        "参加全镇防汛工作部署会，落实#村转移避险责任人和值班表。",
    ),
    (
        C::Meeting,
        WINTER,
        "参加镇里年终考核动员会，梳理全年工作台账，准备述职材料。",
    ),
    (
        C::Project,
        ALL,
        "现场督导#村通组公路硬化工程，检查路基压实质量，约定#数日内完成验收。",
    ),
    (
        C::Project,
        ALL,
        "跟进#村安全饮水提质工程，核对入户管网走向，还剩#数户未接通。",
    ),
    (
        C::Project,
        ALL,
        "查看#村人居环境整治进度，房前屋后杂物基本清理，还有#数处旱厕待改造。",
    ),
    (
        C::Project,
        ALL,
        "到#村光伏电站查看发电数据，本月收益正常，分红名单需在村务公开栏公示。",
    ),
    (
        C::Project,
        ALL,
        "了解#村电商服务站运营情况，帮助上架土鸡蛋和腊肉，本周销售#数单。",
    ),
    (
        C::Project,
        WET,
        "查看#村高标准农田建设进度，协调施工方解决灌溉渠占地问题。",
    ),
    (
        C::Project,
        SPRING,
        "到#村茶叶基地查看春茶长势，与合作社商量采摘用工，预计需要#数人。",
    ),
    (
        C::Project,
        SUMMER,
        "察看#村滑坡隐患点，裂缝比上周略有增宽，已通知下方#数户做好撤离准备。",
    ),
    (
        C::Project,
        AUTUMN,
        "到#村柑橘基地查看采摘进度，对接县城超市收购，约定每周发货#数吨。",
    ),
    (
        C::Project,
        COLD,
        "督促#村危房改造收尾，#数户已入住新房，剩余的在年前完工。",
    ),
    (
        C::Mediation,
        ALL,
        "调解#村两户邻里宅基地界址纠纷，实地丈量后双方签订调解协议。",
    ),
    (
        C::Mediation,
        ALL,
        "化解一起土地流转租金纠纷，与#人约定下周兑付。",
    ),
    (
        C::Mediation,
        ALL,
        "协调处理#村山林边界争议，组织双方现场指界，形成书面记录。",
    ),
    (
        C::Mediation,
        ALL,
        "调解#人兄弟赡养老人的矛盾，约定轮流照顾，每月各出生活费三百元。",
    ),
    (
        C::Mediation,
        WET,
        "协调#村与邻村的用水纠纷，约定轮灌时间表，双方村干部签字确认。",
    ),
    (
        C::Mediation,
        COLD,
        "调解#人与包工头的工钱纠纷，联系劳动保障所，争取年前结清#数千元。",
    ),
    (
        C::Study,
        ALL,
        "参加党支部“三会一课”，学习基层治理相关文件，作交流发言。",
    ),
    (
        C::Study,
        ALL,
        "自学《乡村振兴促进法》，结合#村实际撰写学习心得。",
    ),
    (
        C::Study,
        SUMMER,
        "参加县里组织的防汛应急业务培训，学习转移避险流程和物资调配。",
    ),
    (
        C::Study,
        WINTER,
        "参加党员冬训，学习党的创新理论，讨论明年#村产业发展思路。",
    ),
    (
        C::Duty,
        ALL,
        "在镇政务服务中心值班，接待群众来访#数人次，当场办结#数件。",
    ),
    (
        C::Duty,
        ALL,
        "在#村便民服务点代办社保认证#数件，帮#人办理了线上缴费。",
    ),
    (
        C::Duty,
        FIRE,
        "检查#村森林防火卡点值守情况，补充灭火器#数具，提醒护林员按时巡山。",
    ),
    (
        C::Duty,
        SUMMER,
        "防汛值班，巡查#村河堤和山塘水库，水位正常，做好值班记录。",
    ),
    (
        C::Duty,
        AUTUMN,
        "督促秸秆禁烧，巡查#村田间地头，劝导#数户不在田里焚烧秸秆。",
    ),
    (C::Other, ALL, "整理#村村级档案资料，更新农户基础信息台账。"),
    (
        C::Other,
        ALL,
        "配合镇卫生院开展老年人免费体检组织工作，#村参检#数人。",
    ),
    (
        C::Other,
        ALL,
        "核对#村医保参保名单，发现#数人信息有误，已报镇医保站更正。",
    ),
    (
        C::Other,
        COLD,
        "协助镇民政办复核高龄津贴申请，#村新增符合条件老人#数名，材料已齐全。",
    ),
];

/// Night activities: (kind, seasons, issues raised, help given), one story
/// each, so that the two fields read together.
const NIGHTS: &[(NightKind, Seasons, &str, &str)] = &[
    (
        NightKind::Study,
        ALL,
        "组织#村党员夜学，学习防返贫政策，群众问到监测户认定标准。",
        "讲解认定程序和惠农补贴申领流程，发放政策明白卡#数份。",
    ),
    (
        NightKind::Study,
        ALL,
        "夜学会上群众提出想学电商直播卖土特产。",
        "联系镇里安排电商培训，先登记有意愿的#数人。",
    ),
    (
        NightKind::Visit,
        ALL,
        "群众反映#村路灯损坏#数处，夜间出行不便。",
        "登记路灯位置报村委会，约定本周内维修。",
    ),
    (
        NightKind::Visit,
        ALL,
        "#人反映看病报销手续繁琐，慢性病用药报销不清楚。",
        "现场帮#人整理报销材料，约定明天代办异地就医备案。",
    ),
    (
        NightKind::Visit,
        WET,
        "#村农户反映灌溉用水紧张，上下游放水有矛盾。",
        "协调错峰放水，排出#数天的轮灌表。",
    ),
    (
        NightKind::Visit,
        COLD,
        "#人家里孩子在外打工，老人独自在家，冬季取暖和看病有困难。",
        "帮#人申请了临时救助，联系村医每周上门一次，留下驻村干部的电话。",
    ),
    (
        NightKind::Discussion,
        ALL,
        "#村屋场会议垃圾清运时间和保洁费收取办法，#数户参加。",
        "形成议事记录，按少数服从多数定下方案并在公开栏公示。",
    ),
    (
        NightKind::Discussion,
        ALL,
        "夜议#村村道拓宽占地补偿，#数户群众希望提高标准并尽快兑现。",
        "解释补偿政策依据，拟定补偿方案提交村民代表会，承诺三日内公示明细。",
    ),
    (
        NightKind::Discussion,
        ALL,
        "#村村民对今年低保名单有议论，认为评议过程不够公开，涉及#数户。",
        "现场讲解评议程序，约定在村务公开栏公示全部名单和得分，接受监督。",
    ),
    (
        NightKind::Help,
        ALL,
        "独居老人#人家中电线老化，插座发烫。",
        "联系电工连夜上门更换线路和插座，费用由村里应急资金列支。",
    ),
    (
        NightKind::Help,
        AUTUMN,
        "种植户#人的柑橘滞销，#数千斤卖不出去。",
        "对接县城超市和单位食堂收购，帮忙联系了货车。",
    ),
    (
        NightKind::Help,
        WINTER,
        "#人家屋顶瓦片被大风掀翻，夜里漏风，老人受冻。",
        "组织党员志愿者连夜用彩条布临时遮盖，明天安排施工队修补。",
    ),
    (
        NightKind::Help,
        SUMMER,
        "暴雨后#人家屋后排水沟堵塞，积水进屋。",
        "带领#数名党员志愿者清淤排水，转移贵重物品，第二天回访。",
    ),
];

/// Day summaries: (seasons, template).
const SUMMARIES: &[(Seasons, &str)] = &[
    (
        ALL,
        "今天走访为主，群众反映的问题已逐条登记，明天跟进落实。",
    ),
    (ALL, "项目推进顺利，需协调的事项已向镇里汇报。"),
    (ALL, "工作按计划完成，晚上整理台账。"),
    (
        ALL,
        "今天事情较多，两件纠纷已调解完毕，收集问题#数条，其余限期办理。",
    ),
    (
        ALL,
        "政策宣传和台账整理为主，群众诉求#数条全部登记，需镇里协调的已上报。",
    ),
    (
        ALL,
        "重点抓了#村的安全隐患排查，发现问题#数处，已落实整改责任人，明日复查。",
    ),
    (SUMMER, "汛期值守不放松，#村转移避险名单已核实到户。"),
    (COLD, "天气转凉，重点关注独居老人取暖安全。"),
    (SPRING, "春耕备耕物资基本到位，下周重点跟进育秧进度。"),
];

/// The month's tasks: (seasons, title).
const TASKS: &[(Seasons, &str)] = &[
    (ALL, "完成辖区脱贫户、监测户全覆盖走访"),
    (ALL, "推进通组公路硬化项目按期完工"),
    (ALL, "化解辖区内积案纠纷两件"),
    (ALL, "开展人居环境整治“百日攻坚”"),
    (ALL, "完善村级“四议两公开”台账"),
    (ALL, "为村集体经济产业对接销售渠道"),
    (ALL, "收集并办结群众“微心愿”五件"),
    (COLD, "落实城乡居民医保缴费动员"),
    (WINTER, "组织开展党员冬训和主题党日活动"),
    (FIRE, "督促秸秆禁烧和森林防火巡查"),
    (WET, "落实汛期转移避险责任到户"),
    (SPRING, "做好春耕备耕物资和技术服务"),
];

pub const TASK_NOTES: &[&str] = &["已完成，台账已归档", "按期完成，群众满意", "已办结并回访"];

/// A reviewer's remark after the month's facts.
pub const REMARKS: &[&str] = &[
    "工作扎实，群众认可度高。",
    "走访深入，建议进一步加强台账规范。",
    "四夜活动开展较好，下月注意承诺事项按期销号。",
    "记录及时完整，继续保持。",
    "个别工作日未填报，请注意按时记录。",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任",
    "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦",
];
const GIVEN_FIRST: &[&str] = &[
    "建", "国", "志", "海", "秀", "春", "小", "文", "德", "玉", "明", "永", "晓", "红", "立", "家",
    "世", "春", "静", "思", "俊", "新", "长", "金", "雨", "丽", "学", "光", "振", "爱", "桂", "慧",
];
const GIVEN_SECOND: &[&str] = &[
    "华", "平", "军", "英", "芳", "强", "明", "梅", "伟", "勇", "兰", "辉", "敏", "杰", "燕", "涛",
    "斌", "霞", "磊", "琴", "峰", "娟", "波", "林", "鹏", "婷", "刚", "红", "丹", "生", "宇", "琳",
];

/// The `i`th person's name: distinct for the first few hundred.
pub fn person_name(i: usize) -> String {
    let surname = SURNAMES[(i * 7) % SURNAMES.len()];
    let first = GIVEN_FIRST[(i * 5 + i / SURNAMES.len()) % GIVEN_FIRST.len()];
    let second = GIVEN_SECOND[(i * 11 + i / 3) % GIVEN_SECOND.len()];
    if i % 5 == 3 {
        // Some people have one-character given names.
        format!("{surname}{second}")
    } else {
        format!("{surname}{first}{second}")
    }
}

/// Where a cadre works: the villages whose names fill `#村`.
#[derive(Debug, Clone, Copy)]
pub struct Where<'a> {
    pub villages: &'a [String],
    pub day: NaiveDate,
}

impl Where<'_> {
    /// A village group (村民小组) of one of the cadre's villages, e.g.
    /// 柳溪村3组; groups exist only under villages.
    pub fn village_group(&self, rng: &mut Rng) -> String {
        format!("{}{}组", self.village(rng), rng.range(1, 9))
    }

    pub fn village(&self, rng: &mut Rng) -> String {
        match self.villages {
            [] => "本村".to_owned(),
            v => rng.pick(v).clone(),
        }
    }
}

/// Fill the slots of `template`.
fn fill(rng: &mut Rng, template: &str, at: &Where<'_>, households: u32) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let slot = &rest[i..];
        let (value, len) = if slot.starts_with("#村") {
            (at.village(rng), "#村".len())
        } else if slot.starts_with("#人") {
            ((*rng.pick(VILLAGERS)).to_owned(), "#人".len())
        } else if slot.starts_with("#户") {
            ((*rng.pick(HOUSEHOLDS)).to_owned(), "#户".len())
        } else if slot.starts_with("#数") {
            (rng.range(2, 19).to_string(), "#数".len())
        } else if slot.starts_with("#n") {
            (households.max(1).to_string(), 2)
        } else {
            ("#".to_owned(), 1)
        };
        out.push_str(&value);
        rest = &slot[len..];
    }
    out.push_str(rest);
    out
}

/// The templates of `category` for the season of `day`.
fn entries_for(category: Category, day: NaiveDate) -> impl Iterator<Item = &'static str> {
    let season = Seasons::of(day);
    ENTRIES
        .iter()
        .filter(move |(c, s, _)| *c == category && s.contains(season))
        .map(|(_, _, t)| *t)
}

/// One entry's text of `category`, with `households` households in it.
pub fn entry_text(rng: &mut Rng, category: Category, households: u32, at: &Where<'_>) -> String {
    let fitting: Vec<&str> = entries_for(category, at.day).collect();
    let template = rng_pick(rng, &fitting);
    fill(rng, template, at, households)
}

/// An entry's text of at least `min_chars` characters: sentences of
/// `category` for the season, never the same one twice in a row (a load
/// test's diary of realistic size).
pub fn long_entry_text(
    rng: &mut Rng,
    category: Category,
    households: u32,
    at: &Where<'_>,
    min_chars: usize,
) -> String {
    let fitting: Vec<&str> = entries_for(category, at.day).collect();
    let mut text = String::new();
    let mut last = usize::MAX;
    while text.chars().count() < min_chars {
        let mut k = rng.below(fitting.len());
        if k == last && fitting.len() > 1 {
            k = (k + 1) % fitting.len();
        }
        last = k;
        text.push_str(&fill(
            rng,
            fitting.get(k).copied().unwrap_or("。"),
            at,
            households,
        ));
    }
    text
}

fn rng_pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items.get(rng.below(items.len())).copied().unwrap_or("")
}

/// A night activity of `kind` for the season: (issues raised, help given),
/// one story.
pub fn night_story(rng: &mut Rng, kind: NightKind, at: &Where<'_>) -> (String, String) {
    let season = Seasons::of(at.day);
    let fitting: Vec<(&str, &str)> = NIGHTS
        .iter()
        .filter(|(k, s, _, _)| *k == kind && s.contains(season))
        .map(|(_, _, i, h)| (*i, *h))
        .collect();
    let (issues, help) = fitting
        .get(rng.below(fitting.len()))
        .copied()
        .unwrap_or(("", ""));
    // The same villager in both halves of the story.
    let person = *rng.pick(VILLAGERS);
    let (issues, help) = (issues.replace("#人", person), help.replace("#人", person));
    (fill(rng, &issues, at, 0), fill(rng, &help, at, 0))
}

/// A day's summary (当日小结) for the season.
pub fn day_summary(rng: &mut Rng, at: &Where<'_>) -> String {
    let season = Seasons::of(at.day);
    let fitting: Vec<&str> = SUMMARIES
        .iter()
        .filter(|(s, _)| s.contains(season))
        .map(|(_, t)| *t)
        .collect();
    let template = rng_pick(rng, &fitting);
    fill(rng, template, at, 0)
}

/// The tasks fit for a plan of the month of `day`.
pub fn tasks_for(day: NaiveDate) -> Vec<&'static str> {
    let season = Seasons::of(day);
    TASKS
        .iter()
        .filter(|(s, _)| s.contains(season))
        .map(|(_, t)| *t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn names_are_distinct_for_a_county() {
        let names: std::collections::BTreeSet<String> = (0..120).map(person_name).collect();
        assert_eq!(names.len(), 120);
    }

    #[test]
    fn every_kind_has_a_text_in_every_season() {
        for month in 1..=12 {
            let d = day(2026, month, 15);
            let season = Seasons::of(d);
            for c in CATEGORIES {
                assert!(entries_for(*c, d).count() >= 2, "{c:?} in month {month}");
            }
            for k in NIGHT_KINDS {
                let n = NIGHTS
                    .iter()
                    .filter(|(kk, s, _, _)| kk == k && s.contains(season));
                assert!(n.count() >= 1, "{k:?} in month {month}");
            }
            assert!(tasks_for(d).len() >= 6, "tasks in month {month}");
        }
    }

    #[test]
    fn no_spring_sowing_in_november_and_no_floods_in_january() {
        let villages = vec!["柳溪村".to_owned()];
        let mut rng = Rng::new(3);
        for (d, never) in [(day(2026, 11, 20), "春耕"), (day(2027, 1, 10), "汛")] {
            let at = Where {
                villages: &villages,
                day: d,
            };
            for _ in 0..500 {
                for c in CATEGORIES {
                    let t = entry_text(&mut rng, *c, 3, &at);
                    assert!(!t.contains(never), "{d}: {t}");
                }
                let s = day_summary(&mut rng, &at);
                assert!(!s.contains(never), "{d}: {s}");
            }
            assert!(tasks_for(d).iter().all(|t| !t.contains(never)));
        }
    }

    #[test]
    fn slots_are_filled_from_the_cadres_own_villages() {
        let villages = vec!["柳溪村".to_owned(), "枫树村".to_owned()];
        let at = Where {
            villages: &villages,
            day: day(2026, 11, 20),
        };
        let mut rng = Rng::new(9);
        for _ in 0..300 {
            let t = entry_text(&mut rng, Category::Visit, 4, &at);
            assert!(!t.contains('#'), "{t}");
            let g = at.village_group(&mut rng);
            assert!(g.starts_with("柳溪村") || g.starts_with("枫树村"), "{g}");
            assert!(g.ends_with('组'));
        }
        // The entry's households appear in a text that counts them.
        let t = fill(&mut rng, "走访#n户", &at, 7);
        assert_eq!(t, "走访7户");
    }

    #[test]
    fn a_night_story_names_one_villager_in_both_halves() {
        let villages = vec!["柳溪村".to_owned()];
        let at = Where {
            villages: &villages,
            day: day(2026, 12, 3),
        };
        let mut rng = Rng::new(5);
        let mut both = 0;
        for _ in 0..300 {
            for kind in NIGHT_KINDS {
                let (issues, help) = night_story(&mut rng, *kind, &at);
                assert!(!issues.is_empty() && !help.is_empty(), "{kind:?}");
                assert!(!issues.contains('#') && !help.contains('#'));
                for v in VILLAGERS.iter().filter(|v| help.contains(*v)) {
                    assert!(issues.contains(v), "{issues} / {help}");
                    both += 1;
                }
            }
        }
        assert!(both > 0, "some stories name a villager in both halves");
    }

    #[test]
    fn long_entries_reach_their_length() {
        let villages = vec!["柳溪村".to_owned()];
        let at = Where {
            villages: &villages,
            day: day(2026, 11, 20),
        };
        let mut rng = Rng::new(11);
        let t = long_entry_text(&mut rng, Category::Duty, 2, &at, 150);
        assert!(t.chars().count() >= 150, "{t}");
    }
}
