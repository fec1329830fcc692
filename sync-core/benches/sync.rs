//! Benchmarks of sync-core (issue 2): saving and loading one document, a
//! first sync of 1,000 diaries from a phone to an empty server through
//! encoded batches, and the bytes a sync puts on the wire per document
//! compared with the document's own saved size. The fixtures are fixed
//! (fixed actor and item ids) so the sizes printed are the same on every run;
//! the figures are recorded in `BENCHMARKS.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sync_core::document::{ActivityFields, Category, EntryFields, ItemText, NightKind, TextTarget};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::Batch;
use sync_core::session::{serve, AllowAll, ClientSession, ClientStore, SyncStats};
use sync_core::validate::{Location, TimeOfDay};
use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, Role, UserId};

/// Diaries in the full-sync benchmark: about three years of one cadre's days.
const DOCS: usize = 1_000;
/// Entries in one benchmark diary: a busy day.
const ENTRIES: usize = 10;
/// Sentences in one entry's text (about 150 characters).
const SENTENCES_PER_ENTRY: usize = 4;

/// Sentences an entry's text is made of: enough that the ten entries of a
/// diary, and the one added after a sync, share none (real entries are
/// written afresh, and verbatim repeats would flatter compression). Places,
/// people and numbers also change from document to document.
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
    "核对#村新型农村合作医疗参保名单，发现#数人信息有误，已报镇医保站更正。",
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
    "陪同县里检查组到#村检查耕地保护，未发现新增违法占地，整改旧问题一处。",
    "帮助#人填写创业贷款申请表，计划扩大竹编作坊，需带动周边#数人就业。",
    "到#村敬老院送去过冬棉被#数床，与院长商量安装取暖设备的预算。",
    "入户排查#村燃气使用安全，发现一户软管老化，现场更换并讲解安全常识。",
    "与#人一起到田间查看灌溉渠，渠道淤塞约#数十米，安排村民投工清淤。",
    "整理本周走访记录，汇总群众诉求#数条，其中道路三条、就医两条，分类交办。",
    "协调#村与邻村的用水纠纷，约定轮灌时间表，双方村干部签字确认。",
    "走访#村新返乡大学生#人，了解其开办民宿的想法，介绍县里的扶持政策。",
];
const VILLAGES: &[&str] = &[
    "青山村",
    "石门村",
    "龙塘村",
    "白沙村",
    "枫木村",
    "桃源村",
    "马鞍村",
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
];

fn user() -> UserId {
    UserId::parse("u1").unwrap()
}

fn day(n: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(n as u64)
}

fn cadre() -> EditContext {
    EditContext {
        user: user(),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    }
}

/// The phone's actor, fixed so that sizes repeat from run to run.
fn phone_actor() -> Actor {
    Actor::from_bytes(&[7u8; 16]).unwrap()
}

/// Item ids as the app makes them (32 hex digits), but deterministic.
fn item(doc: usize, n: usize) -> ItemId {
    ItemId::parse(&format!("{:016x}{:016x}", doc as u64 + 1, n as u64 + 1)).unwrap()
}

fn entry_text(doc: usize, n: usize) -> String {
    (0..SENTENCES_PER_ENTRY)
        .map(|k| {
            let i = n * SENTENCES_PER_ENTRY + k + doc;
            SENTENCES[i % SENTENCES.len()]
                .replace("#村", VILLAGES[(i + doc) % VILLAGES.len()])
                .replace("#人", PEOPLE[(i * 5 + doc) % PEOPLE.len()])
                .replace("#数", &(2 + (i * 7 + doc) % 13).to_string())
        })
        .collect()
}

fn add_entry(doc: usize, n: usize) -> Edit {
    Edit::AddEntry {
        id: item(doc, n),
        fields: EntryFields {
            time: TimeOfDay::from_hm(8 + (n % 10) as u16, (n * 7 % 60) as u16).unwrap(),
            category: [Category::Visit, Category::Meeting, Category::Mediation][n % 3],
            place: format!("{}第{}组", VILLAGES[(doc + n) % VILLAGES.len()], n % 8 + 1),
            text: entry_text(doc, n),
            households: (n % 7) as u32 + 1,
            location: Some(Location {
                lat: 27.0 + n as f64 / 1000.0,
                lon: 109.5 - n as f64 / 1000.0,
                accuracy_m: 12.0,
            }),
        },
    }
}

/// The edits of one busy day's diary: ten entries, then the day summary.
fn diary_edits(doc: usize) -> Vec<Edit> {
    let mut edits: Vec<Edit> = (0..ENTRIES).map(|n| add_entry(doc, n)).collect();
    edits.push(Edit::SetText {
        target: TextTarget::Summary,
        text: "今日小结：入户走访十二户，召开小组会一次，调解纠纷一起，收集问题五条，已办结两条，其余限期办理。".into(),
    });
    edits
}

/// The edits of one night log: two of the four night activities and where
/// the cadre stayed.
fn night_edits(doc: usize) -> Vec<Edit> {
    let activity = |n: usize, kind, issues: &str, help: &str| Edit::AddActivity {
        id: item(doc, n),
        fields: ActivityFields {
            kind,
            start: TimeOfDay::from_hm(19 + n as u16, 30).unwrap(),
            end: Some(TimeOfDay::from_hm(20 + n as u16, 45).unwrap()),
            place: format!("青山村第{}组", n + 3),
            households: 3 + n as u32,
            issues: issues.into(),
            help: help.into(),
        },
    };
    vec![
        activity(
            0,
            NightKind::Visit,
            "群众反映村道路灯损坏三处，夜间出行不便；一户老人慢性病用药报销手续不清楚。",
            "登记路灯位置报村委会安排维修；现场帮老人整理报销材料，约定明日代办。",
        ),
        activity(
            1,
            NightKind::Discussion,
            "讨论饮水工程施工占用耕地补偿标准，部分群众希望提高标准并尽快兑现。",
            "解释补偿政策依据，承诺三日内公示补偿明细，收集意见两条上报镇里。",
        ),
        Edit::SetOvernight {
            stayed: true,
            place: Some("青山村村委会".into()),
        },
    ]
}

fn build(id: DocId, edits: &[Edit]) -> Document {
    let mut doc = Document::create(id, &phone_actor());
    for e in edits {
        doc.apply(e, &cadre()).unwrap();
    }
    doc
}

fn diary(doc: usize) -> Document {
    build(DocId::diary(&user(), day(doc)), &diary_edits(doc))
}

fn night(doc: usize) -> Document {
    build(DocId::night(&user(), day(doc)), &night_edits(doc))
}

/// A phone holding `DOCS` diaries not yet synced, with its in-memory caches
/// dropped so a sync loads every document from its saved bytes
/// (`Document::load_stored`), as the SQLite replica does. Built once (it
/// takes seconds); callers clone it.
fn phone_with_diaries() -> &'static MemoryReplica {
    static PHONE: OnceLock<MemoryReplica> = OnceLock::new();
    PHONE.get_or_init(|| {
        let mut phone = MemoryReplica::new(phone_actor());
        for d in 0..DOCS {
            let id = DocId::diary(&user(), day(d));
            for e in diary_edits(d) {
                phone.edit(&id, &e, &cadre()).unwrap();
            }
        }
        phone.restart(true);
        phone
    })
}

/// One whole client session against an in-memory server, through encoded
/// bytes both ways (the driver of `tests/it/common.rs`, which benches cannot
/// import).
fn sync_once(client: &mut impl ClientStore, server: &mut MemoryServer, peer: &str) -> SyncStats {
    let mut session = ClientSession::new(client).unwrap();
    while let Some(request) = session.next_request(client).unwrap() {
        let up = request.encode();
        let reply = serve(server, &AllowAll, peer, &Batch::decode(&up).unwrap()).unwrap();
        let down = reply.encode();
        session.record_bytes(up.len(), down.len());
        session
            .handle_reply(client, Batch::decode(&down).unwrap())
            .unwrap();
    }
    assert!(session.problems().is_empty(), "{:?}", session.problems());
    session.stats().clone()
}

/// `sync_once` with a stopwatch on each step of each round trip: where the
/// time of a sync goes. One run, so rougher than the criterion figures.
fn sync_phases(
    client: &mut impl ClientStore,
    server: &mut MemoryServer,
) -> Vec<(String, Duration)> {
    let mut laps = Vec::new();
    let mut session = ClientSession::new(client).unwrap();
    for round in 1.. {
        let mut lap = |what: &str, start: Instant| {
            laps.push((format!("round {round}: {what}"), start.elapsed()));
        };
        let s = Instant::now();
        let request = session.next_request(client).unwrap();
        lap("client next_request (load, generate)", s);
        let Some(request) = request else { break };
        let s = Instant::now();
        let up = request.encode();
        let request = Batch::decode(&up).unwrap();
        lap("request encode + decode", s);
        let s = Instant::now();
        let reply = serve(server, &AllowAll, "bench", &request).unwrap();
        lap("server serve (receive, check, generate, commit)", s);
        let s = Instant::now();
        let down = reply.encode();
        let reply = Batch::decode(&down).unwrap();
        lap("reply encode + decode", s);
        let s = Instant::now();
        session.handle_reply(client, reply).unwrap();
        lap("client handle_reply (receive, commit)", s);
    }
    assert!(session.problems().is_empty(), "{:?}", session.problems());
    laps
}

fn save_and_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("document");
    for (name, mut doc) in [("diary", diary(0)), ("night", night(0))] {
        let bytes = doc.save();
        let id = doc.id().clone();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("save/{name}"), |b| b.iter(|| black_box(doc.save())));
        // Bytes from outside: loaded, then checked to save and load again.
        group.bench_function(format!("load/{name}"), |b| {
            b.iter(|| Document::load(id.clone(), black_box(&bytes), &phone_actor()).unwrap())
        });
        // Bytes a replica saved itself: what every sync loads.
        group.bench_function(format!("load_stored/{name}"), |b| {
            b.iter(|| Document::load_stored(id.clone(), black_box(&bytes), &phone_actor()).unwrap())
        });
    }
    group.finish();
}

/// What the server's write checks read of a new document (issue 7): the
/// new operations scanned from the document chunk it arrived as, against
/// Automerge rebuilding every change; and the genesis hash each check
/// computes.
fn write_check_reads(c: &mut Criterion) {
    let mut group = c.benchmark_group("write_check");
    for (name, mut doc) in [("diary", diary(0)), ("night", night(0))] {
        let bytes = doc.save();
        let id = doc.id().clone();
        let mut loaded = Document::load_stored(id.clone(), &bytes, &phone_actor()).unwrap();
        group.bench_function(format!("new_ops_scanned/{name}"), |b| {
            b.iter(|| black_box(loaded.new_ops(&[], Some(&bytes)).unwrap()))
        });
        group.bench_function(format!("new_ops_rebuilt/{name}"), |b| {
            b.iter(|| black_box(loaded.new_ops(&[], None).unwrap()))
        });
        group.bench_function(format!("read/{name}"), |b| {
            b.iter(|| black_box(loaded.read()))
        });
        group.bench_function(format!("genesis_hash/{name}"), |b| {
            b.iter(|| black_box(sync_core::document::genesis_hash(&id)))
        });
    }
    group.finish();
}

/// One key typed into a busy day's summary on the SQLite replica (issue
/// 31): kept in the document's draft (checked on a copy of the document,
/// one row written durably), and a key that ends the draft as a change.
fn typing(c: &mut Criterion) {
    use sync_core::replica::Replica;
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Replica::open(&dir.path().join("bench.db")).unwrap();
    let id = DocId::diary(&user(), day(0));
    for e in diary_edits(0) {
        phone.edit(&id, &e, &cadre()).unwrap();
    }
    let mut group = c.benchmark_group("replica");
    let mut typed = String::new();
    let key = |typed: &mut String| {
        if typed.chars().count() >= 400 {
            typed.clear();
        }
        typed.push('访');
        Edit::SetText {
            target: TextTarget::Summary,
            text: typed.clone(),
        }
    };
    group.bench_function("type_a_key/draft", |b| {
        b.iter(|| phone.edit(&id, &key(&mut typed), &cadre()).unwrap())
    });
    // Worst case: every key in another field than the last, so each one
    // makes the other field's draft a change first (what every key cost
    // before drafts, and a little more).
    let fields = [item(0, 0), item(0, 1)].map(|id| TextTarget::Item {
        id,
        field: ItemText::Text,
    });
    let mut n = 0usize;
    group.bench_function("type_a_key/switching_fields", |b| {
        b.iter(|| {
            n += 1;
            let edit = Edit::SetText {
                target: fields[n % 2].clone(),
                text: format!("第{n}次入户走访"),
            };
            phone.edit(&id, &edit, &cadre()).unwrap();
        })
    });
    group.finish();
}

fn full_sync(c: &mut Criterion) {
    let template = phone_with_diaries();
    let mut group = c.benchmark_group("sync");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(DOCS as u64));
    group.bench_function(format!("first_sync/{DOCS}_diaries"), |b| {
        b.iter_batched_ref(
            || (template.clone(), MemoryServer::new()),
            |(phone, server)| {
                let stats = sync_once(phone, server, "bench");
                assert_eq!(stats.docs_sent, DOCS as u64);
                stats
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Bytes on the wire, printed once: they are sizes, not times.
fn wire_sizes(_: &mut Criterion) {
    let report = |what: &str, stats: &SyncStats, docs: usize, saved: usize| {
        let (up, down) = (stats.bytes_sent as f64, stats.bytes_received as f64);
        let docs = docs as f64;
        eprintln!(
            "wire/{what}: {:.0} B up + {:.0} B down per doc, {} round trip(s); \
             save() {saved} B; up/save {:.2}, (up+down)/save {:.2}",
            up / docs,
            down / docs,
            stats.round_trips,
            up / docs / saved as f64,
            (up + down) / docs / saved as f64,
        );
    };

    let help_at_night = Edit::AddActivity {
        id: item(0, 9),
        fields: ActivityFields {
            kind: NightKind::Help,
            start: TimeOfDay::from_hm(21, 0).unwrap(),
            end: None,
            place: "青山村第六组".into(),
            households: 1,
            issues: "一户房屋漏雨，老人行动不便。".into(),
            help: "帮助联系维修队，约定明日上门修补。".into(),
        },
    };
    let cases = [
        (
            "diary",
            DocId::diary(&user(), day(0)),
            diary_edits(0),
            add_entry(0, ENTRIES),
        ),
        (
            "night",
            DocId::night(&user(), day(0)),
            night_edits(0),
            help_at_night,
        ),
    ];
    for (name, id, edits, extra) in cases {
        // A first sync of one document: the server has never seen it.
        let mut phone = MemoryReplica::new(phone_actor());
        for e in &edits {
            phone.edit(&id, e, &cadre()).unwrap();
        }
        let saved = phone.document(&id).unwrap().unwrap().save().len();
        let mut server = MemoryServer::new();
        let stats = sync_once(&mut phone, &mut server, "bench");
        report(&format!("first_sync/{name}"), &stats, 1, saved);

        // One more item after that sync: only the new change should travel.
        phone.edit(&id, &extra, &cadre()).unwrap();
        let saved_after = phone.document(&id).unwrap().unwrap().save().len();
        let stats = sync_once(&mut phone, &mut server, "bench");
        report(&format!("new_item/{name}"), &stats, 1, saved_after);
        let mut alone = build(id.clone(), &edits);
        alone.save();
        alone.apply(&extra, &cadre()).unwrap();
        let change = alone.save_incremental().len();
        eprintln!("wire/new_item/{name}: the change alone is {change} B (save_incremental)");
    }

    // The same first sync, 1,000 diaries in one batch.
    let mut phone = phone_with_diaries().clone();
    let saved: usize = (0..DOCS)
        .map(|d| {
            let id = DocId::diary(&user(), day(d));
            phone.document(&id).unwrap().unwrap().save().len()
        })
        .sum();
    let mut server = MemoryServer::new();
    let stats = sync_once(&mut phone, &mut server, "bench");
    report(
        &format!("first_sync/{DOCS}_diaries"),
        &stats,
        DOCS,
        saved / DOCS,
    );

    let phases = sync_phases(&mut phone_with_diaries().clone(), &mut MemoryServer::new());
    let total: Duration = phases.iter().map(|(_, d)| *d).sum();
    for (what, d) in phases {
        eprintln!(
            "phase/first_sync/{DOCS}_diaries: {what}: {:.0} ms ({:.0}%)",
            d.as_secs_f64() * 1e3,
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
}

criterion_group!(
    benches,
    wire_sizes,
    save_and_load,
    write_check_reads,
    typing,
    full_sync
);
criterion_main!(benches);
