//! What the demo's cadres write: a small deterministic random source and
//! the Chinese texts of entries, night activities, summaries and tasks.

use sync_core::document::{Category, NightKind};

/// SplitMix64: deterministic, tiny, good enough to vary a demo.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        let span = u64::from(hi.saturating_sub(lo)) + 1;
        lo + (self.next_u64() % span) as u32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len().max(1) as u64) as usize]
    }
}

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
const VISIT: &[&str] = &[
    "入户走访{h}{n}户，了解春耕备耕和务工收入情况，宣传防返贫监测政策",
    "走访{h}{n}户，核实医保缴费和家庭医生签约情况",
    "到{h}家中了解饮水安全问题，联系水利站下周上门检修",
    "与{h}谈心谈话，帮助梳理产业发展思路，记录需求{n}条",
    "开展“屋场会”前入户摸底，走访{n}户收集意见建议",
];
const MEETING: &[&str] = &[
    "参加镇党委扩大会议，传达学习县委全会精神",
    "组织召开村“两委”会议，研究人居环境整治方案",
    "参加乡村振兴工作调度会，汇报驻村帮扶进展",
    "召开村民代表大会，讨论村规民约修订",
];
const PROJECT: &[&str] = &[
    "查看高标准农田建设进度，协调施工方解决灌溉渠占地问题",
    "现场督导通组公路硬化工程，检查路基压实质量",
    "到村集体经济茶叶基地查看长势，对接销售渠道",
    "跟进安全饮水提质工程，核对入户管网走向",
];
const MEDIATION: &[&str] = &[
    "调解两户邻里宅基地界址纠纷，双方签订调解协议",
    "化解一起土地流转租金纠纷，约定下周兑付",
    "协调处理山林边界争议，组织双方现场指界",
];
const STUDY: &[&str] = &[
    "参加党支部“三会一课”，学习基层治理相关文件",
    "自学《乡村振兴促进法》，撰写学习心得",
    "参加县里组织的防汛应急业务培训",
];
const DUTY: &[&str] = &[
    "在镇政务服务中心值班，接待群众来访{n}人次",
    "参加森林防火巡查值班，巡查重点林区",
    "在村便民服务点代办社保认证{n}件",
];
const OTHER: &[&str] = &[
    "整理村级档案资料，更新农户基础信息台账",
    "协助开展人口普查数据核对",
    "配合镇卫生院开展老年人免费体检组织工作",
];

/// The text of an entry of `category`.
pub fn entry_text(rng: &mut Rng, category: Category, households: u32) -> String {
    let list = match category {
        Category::Visit => VISIT,
        Category::Meeting => MEETING,
        Category::Project => PROJECT,
        Category::Mediation => MEDIATION,
        Category::Study => STUDY,
        Category::Duty => DUTY,
        Category::Other => OTHER,
    };
    let household = rng.pick(HOUSEHOLDS);
    rng.pick(list)
        .replace("{h}", household)
        .replace("{n}", &households.max(1).to_string())
}

pub const NIGHT_KINDS: &[NightKind] = &[
    NightKind::Study,
    NightKind::Visit,
    NightKind::Visit,
    NightKind::Discussion,
    NightKind::Help,
];

/// (issues raised, help given) of a night activity.
pub fn night_texts(rng: &mut Rng, kind: NightKind) -> (String, String) {
    let (issues, help): (&[&str], &[&str]) = match kind {
        NightKind::Study => (
            &[
                "组织党员夜学，学习防返贫政策",
                "夜学会上群众提出想学电商直播",
            ],
            &["讲解惠农补贴申领流程", "联系镇里安排电商培训"],
        ),
        NightKind::Visit => (
            &[
                "群众反映路灯不亮",
                "农户反映灌溉用水紧张",
                "老人反映看病报销手续繁琐",
            ],
            &["登记后报村委会维修", "协调错峰放水", "帮助办理异地就医备案"],
        ),
        NightKind::Discussion => (
            &["屋场会议定垃圾清运时间", "夜议村道拓宽占地补偿"],
            &["形成议事记录并公示", "拟定补偿方案提交村民代表会"],
        ),
        NightKind::Help => (
            &["独居老人家中电线老化", "种植户农产品滞销"],
            &["联系电工上门更换线路", "对接县城超市收购"],
        ),
    };
    (rng.pick(issues).to_string(), rng.pick(help).to_string())
}

const SUMMARIES: &[&str] = &[
    "今天走访为主，群众反映的问题已逐条登记，明天跟进落实。",
    "项目推进顺利，需协调的事项已向镇里汇报。",
    "工作按计划完成，晚上整理台账。",
    "天气转凉，重点关注独居老人取暖安全。",
    "今天事情较多，两件纠纷已调解完毕。",
];

pub fn day_summary(rng: &mut Rng) -> String {
    rng.pick(SUMMARIES).to_string()
}

pub const TASKS: &[&str] = &[
    "完成辖区脱贫户、监测户全覆盖走访",
    "推进通组公路硬化项目按期完工",
    "组织开展党员冬训和主题党日活动",
    "化解辖区内积案纠纷两件",
    "落实城乡居民医保缴费动员",
    "开展人居环境整治“百日攻坚”",
    "完善村级“四议两公开”台账",
    "督促秸秆禁烧和森林防火巡查",
    "为村集体经济产业对接销售渠道",
    "收集并办结群众“微心愿”五件",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_for_a_county() {
        let names: std::collections::BTreeSet<String> = (0..120).map(person_name).collect();
        assert_eq!(names.len(), 120);
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..10 {
            assert_eq!(a.range(1, 6), b.range(1, 6));
        }
        assert!((0..100).all(|_| (3..=5).contains(&a.range(3, 5))));
    }
}
