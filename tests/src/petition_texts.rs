//! A generator of realistic Chinese petition texts (信访件), labelled: which
//! filings are the same matter filed again, by the same petitioner or by
//! others. The duplicate-detection quality harness (`dedup-quality`) and the
//! load benchmark (`bench dedup`) share it.
//!
//! Petitions are written across ten categories from templates whose slots
//! are filled from pools of Ganzhou-like places, estates, villages, roads,
//! organizations, people, amounts and dates, with lengths from a dozen to a
//! few thousand characters (median about 200) and the boilerplate sentences
//! petitioners reuse across unrelated matters. The generator plants
//! near-duplicates — paraphrase (other phrasings, synonyms, other formats
//! of dates and amounts), sentence reordering, insertions, typos (homophones
//! and look-alike characters), truncation, and a mix of paraphrase +
//! insertion + typos — filed by the same petitioner (repeats), the same
//! matter filed by other petitioners (related, not repeats), and hard
//! negatives: the same petitioner's other matters in the same category and
//! place with the same boilerplate, and "template twins" (same category,
//! region, complaint and phrasing, different estate, company, amounts and
//! dates), by the same or another petitioner. How often each is planted is
//! a [`Mix`]: the quality harness plants many ([`Mix::QUALITY`]), an archive
//! of a city's cases few ([`Mix::ARCHIVE`]).
//!
//! The corpus of a seed never changes with a dependency's version: the
//! generator has its own random numbers ([`Rng`]).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate};

// ---------------------------------------------------------------------------
// Random numbers (own generator: the corpus of a seed never changes with a
// dependency's version)

/// SplitMix64, seeded: the same seed gives the same corpus.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    /// A generator seeded from a process-wide counter: every call gets a
    /// different stream.
    pub fn fresh() -> Self {
        static SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x005e_ed0f_9e71_7104);
        Self::new(SEED.fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; the modulo bias is negligible here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A random element of `xs` (not empty).
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

// ---------------------------------------------------------------------------
// Pools

/// Ganzhou's county-level divisions.
pub const DISTRICTS: &[&str] = &[
    "章贡区",
    "南康区",
    "赣县区",
    "信丰县",
    "大余县",
    "上犹县",
    "崇义县",
    "安远县",
    "龙南市",
    "定南县",
    "全南县",
    "宁都县",
    "于都县",
    "兴国县",
    "会昌县",
    "寻乌县",
    "石城县",
    "瑞金市",
];
const NAME_FIRST: &[&str] = &[
    "水", "沙", "黄", "梅", "潭", "湖", "赤", "茅", "蟠", "龙", "凤", "白", "石", "长", "大", "新", "高", "横", "杨",
    "桃", "竹", "樟", "铁", "金", "青", "红", "古", "安", "永", "兴", "富", "和", "太", "吉", "瑞", "宁", "田", "社",
    "油", "麻", "罗", "唐", "埠", "洋", "坪", "禾", "柏", "松", "莲",
];
const NAME_SECOND: &[&str] = &[
    "东", "口", "坪", "溪", "江", "田", "岭", "坑", "塘", "坝", "埠", "洲", "湾", "岗", "陂", "头", "坊", "圩", "源",
    "林", "桥", "山", "丰", "城", "里", "背", "下", "上", "岽", "垅",
];
const ESTATE_PREFIX: &[&str] = &[
    "阳光", "翠湖", "滨江", "锦绣", "金色", "江南", "书香", "御景", "和谐", "幸福", "东方", "名都", "中央", "华府",
    "丽景", "碧水", "万象", "紫荆", "桂花", "香樟", "龙湾", "章江", "赣江", "嘉福", "恒基", "宏远", "瑞景", "城市",
    "未来", "时代", "世纪", "天虹", "明珠", "凯旋", "水岸", "绿地", "文华", "九龙", "金域", "蓝湾", "南门", "东门",
    "蓉江", "贡江", "桃源", "梅林", "杨梅", "光明", "红旗", "建设", "人民", "八一", "解放", "沿江", "滨湖", "华坚",
    "黄金", "章康", "客家", "宋城",
];
const ESTATE_SUFFIX: &[&str] =
    &["花园", "小区", "家园", "苑", "名城", "华庭", "公馆", "新城", "雅居", "山庄", "嘉园", "府"];
const ROAD_SUFFIX: &[&str] = &["路", "大道", "街", "路", "大道"];
const TRADE_NAMES: &[&str] = &[
    "宏达", "鑫源", "恒通", "华盛", "金泰", "远大", "瑞丰", "嘉禾", "盛世", "隆兴", "永安", "振华", "鼎盛", "弘信",
    "恒昌", "凯达", "天成", "中盛", "兴旺", "福鑫", "德润", "顺发", "华宇", "通达", "汇通", "昌盛", "锦程", "鸿运",
    "诚信", "晨光", "长青", "瑞祥", "聚源", "利民", "益康", "百川", "东升", "佳美", "荣盛", "赣南",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋",
    "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "钟", "谭", "廖", "赖", "温", "邱", "刁", "幸", "卢", "危",
];
const GIVEN: &[&str] = &[
    "建国", "建华", "国强", "志明", "秀英", "桂兰", "玉梅", "小红", "伟", "芳", "军", "勇", "敏", "静", "强", "磊",
    "洋", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "文华", "春生", "冬梅", "海燕", "德胜",
    "金华", "水生", "福生", "贵林", "发明", "远香", "梓涵",
];
const TITLES: &[&str] = &["书记", "主任", "镇长", "村长", "局长", "经理", "科长", "所长"];
const JOBS: &[&str] = &["木工", "钢筋工", "泥瓦工", "水电工", "杂工", "架子工", "油漆工", "焊工"];
const RELATIVES: &[&str] = &["父亲", "母亲", "妻子", "丈夫", "儿子", "女儿", "爷爷", "奶奶"];
const INDUSTRIES: &[&str] = &[
    "建筑工程",
    "劳务",
    "房地产开发",
    "电子科技",
    "食品",
    "建材",
    "运输",
    "矿业",
    "家具",
    "服装",
    "市政工程",
    "园林绿化",
];

fn two_char_name(rng: &mut Rng) -> String {
    loop {
        let a = rng.pick(NAME_FIRST);
        let b = rng.pick(NAME_SECOND);
        if a.chars().all(|c| !c.is_ascii()) {
            return format!("{a}{b}");
        }
    }
}

fn person_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

fn estate_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(ESTATE_PREFIX), rng.pick(ESTATE_SUFFIX))
}

fn road_name(rng: &mut Rng) -> String {
    let prefix = if rng.chance(0.5) { rng.pick(ESTATE_PREFIX).to_string() } else { two_char_name(rng) };
    format!("{prefix}{}", rng.pick(ROAD_SUFFIX))
}

fn company(rng: &mut Rng, industry: &str) -> String {
    let city = if rng.chance(0.5) { "赣州" } else { "" };
    let form = if rng.chance(0.7) { "有限公司" } else { "有限责任公司" };
    format!("{city}{}{industry}{form}", rng.pick(TRADE_NAMES))
}

// ---------------------------------------------------------------------------
// Slots: values of a matter and their surface forms

#[derive(Debug, Clone)]
enum Slot {
    Text(String),
    /// Yuan.
    Amount(u64),
    Date(NaiveDate),
    /// Year and month.
    Month(NaiveDate),
}

impl Slot {
    /// One surface form of the value; the same value may be written many ways.
    fn render(&self, rng: &mut Rng) -> String {
        match self {
            Slot::Text(s) => s.clone(),
            Slot::Amount(v) => {
                let r = rng.unit();
                if r < 0.5 || *v < 10_000 {
                    format!("{v}元")
                } else if r < 0.75 {
                    format!("{}万元", trim_float(*v as f64 / 10_000.0))
                } else if r < 0.87 {
                    format!("{},{:03}元", v / 1000, v % 1000)
                } else if r < 0.93 {
                    format!("{v}余元")
                } else {
                    format!("{}元", chinese_number(*v))
                }
            }
            Slot::Date(d) => {
                let r = rng.unit();
                let (y, m, day) = (d.year(), d.month(), d.day());
                if r < 0.5 {
                    format!("{y}年{m}月{day}日")
                } else if r < 0.65 {
                    format!("{y}年{m}月{day}号")
                } else if r < 0.75 {
                    format!("{y}.{m}.{day}")
                } else if r < 0.8 {
                    format!("{y}-{m:02}-{day:02}")
                } else {
                    format!("{m}月{day}日")
                }
            }
            Slot::Month(d) => {
                let (y, m) = (d.year(), d.month());
                if rng.chance(0.7) { format!("{y}年{m}月") } else { format!("{y}年{m}月份") }
            }
        }
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Chinese numerals for an amount below 10^8 (三万五千).
fn chinese_number(v: u64) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    fn below_10k(v: u64, out: &mut String) {
        const UNITS: [&str; 4] = ["千", "百", "十", ""];
        let ds = [v / 1000, v / 100 % 10, v / 10 % 10, v % 10];
        let mut zero = false;
        let mut started = false;
        for (d, u) in ds.iter().zip(UNITS) {
            if *d == 0 {
                zero = started;
                continue;
            }
            if zero {
                out.push('零');
                zero = false;
            }
            out.push_str(DIGITS[*d as usize]);
            out.push_str(u);
            started = true;
        }
    }
    let mut out = String::new();
    if v >= 10_000 {
        below_10k(v / 10_000, &mut out);
        out.push('万');
        let rest = v % 10_000;
        if rest > 0 && rest < 1000 {
            out.push('零');
        }
    }
    below_10k(v % 10_000, &mut out);
    if out.is_empty() { "零".to_owned() } else { out }
}

type Slots = HashMap<&'static str, Slot>;

fn date_between(rng: &mut Rng, from: NaiveDate, days: u64) -> NaiveDate {
    from + Duration::days(rng.range(0, days) as i64)
}

fn some_date(rng: &mut Rng) -> NaiveDate {
    date_between(rng, NaiveDate::from_ymd_opt(2018, 1, 1).expect("a date"), 6 * 365)
}

/// A plausible amount: round for large sums, exact for small ones.
fn amount(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    let v = rng.range(lo, hi);
    match rng.below(3) {
        0 => v / 1000 * 1000,
        1 => v / 100 * 100,
        _ => v,
    }
    .max(lo.min(100))
}

/// Fills `{slot}`s of `template`.
fn fill(template: &str, slots: &Slots, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).expect("closing brace");
        let name = &rest[open + 1..close];
        let slot = slots.get(name).unwrap_or_else(|| panic!("slot {name} missing for {template}"));
        out.push_str(&slot.render(rng));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------
// Categories

/// What a petition is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Property,
    Demolition,
    Wages,
    Land,
    Environment,
    Education,
    Medical,
    Traffic,
    Social,
    Discipline,
}

pub const CATEGORIES: [Category; 10] = [
    Category::Property,
    Category::Demolition,
    Category::Wages,
    Category::Land,
    Category::Environment,
    Category::Education,
    Category::Medical,
    Category::Traffic,
    Category::Social,
    Category::Discipline,
];

/// The words of one category: complaint subjects, fact sentences (each with
/// its alternative phrasings), demands, short forms, law citations.
struct Words {
    role: &'static str,
    /// (the complaint, details of it)
    subjects: &'static [(&'static str, &'static [&'static str])],
    /// The first fact is always told; the others are optional.
    facts: &'static [&'static [&'static str]],
    demands: &'static [&'static str],
    shorts: &'static [&'static str],
    laws: &'static [&'static str],
}

fn words(c: Category) -> &'static Words {
    match c {
        Category::Property => &PROPERTY,
        Category::Demolition => &DEMOLITION,
        Category::Wages => &WAGES,
        Category::Land => &LAND,
        Category::Environment => &ENVIRONMENT,
        Category::Education => &EDUCATION,
        Category::Medical => &MEDICAL,
        Category::Traffic => &TRAFFIC,
        Category::Social => &SOCIAL,
        Category::Discipline => &DISCIPLINE,
    }
}

static PROPERTY: Words = Words {
    role: "业主",
    subjects: &[
        (
            "楼顶防水层老化，一下雨家里就漏水",
            &["卧室和客厅天花板大面积发霉，墙皮成块脱落。", "雨季时屋里要摆好几个盆接水，家具电器都被泡坏了。"],
        ),
        (
            "电梯经常故障停运",
            &["电梯隔三差五就坏，多次有人被困在电梯里。", "家里老人腿脚不便，电梯一坏只能困在家里出不了门。"],
        ),
        (
            "小区车位被开发商高价出售",
            &["开发商把规划中的公共车位划成产权车位高价出售。", "业主不买车位，车辆就不让进入小区。"],
        ),
        (
            "物业费未经业主大会同意擅自上涨",
            &["物业费从每平方米1.2元涨到1.8元，服务却越来越差。", "物业公司单方面发通知涨价，根本没有征求业主意见。"],
        ),
        (
            "房产证迟迟办不下来",
            &["交房好几年了，开发商一直以各种理由拖着不给办证。", "孩子上学需要房产证，没有证入学都成了问题。"],
        ),
        ("地下室长期积水发臭", &["积水深的地方有半米多，蚊虫滋生，臭味直冲楼上。", "物业抽过两次水，没几天又积满了。"]),
        (
            "二次供水水质发黄有异味",
            &["打开水龙头流出来的水是黄色的，烧开后有很多沉淀。", "很多住户都不敢直接喝自来水，只能买桶装水。"],
        ),
        (
            "楼下商铺违规搭建占用消防通道",
            &["商铺在楼下私自搭建彩钢棚，把消防通道堵死了。", "一旦发生火灾后果不堪设想。"],
        ),
    ],
    facts: &[
        &[
            "我是{place}的业主，{date1}以来，{issue}。",
            "本人家住{place}，从{date1}开始{issue}。",
            "{date1}起，我家所在的{place}出现了问题：{issue}。",
        ],
        &["{detail}"],
        &[
            "小区由{org}负责物业管理，我们多次找物业，对方总是推脱。",
            "负责小区物业的{org}一直不作为，每次去找都说没有办法。",
            "{org}收了物业费却不办事，问题一拖再拖。",
        ],
        &[
            "由此造成的经济损失约{amount}，至今无人赔偿。",
            "这给我家造成了{amount}的损失，没有任何人负责。",
            "我家因此损失了{amount}，物业和开发商都不管。",
        ],
        &["小区共有{num}户居民受到影响。", "受影响的住户有{num}户之多。", "全小区{num}户业主都深受其害。"],
        &[
            "开发商{org2}当初交房时承诺会负责到底，现在却找不到人了。",
            "我们也找过开发商{org2}，对方说房子已经过了保修期。",
            "房子是{org2}开发的，开发商和物业互相踢皮球。",
        ],
        &[
            "{date2}，{official}到小区看过一次，说会尽快协调，后来就没有下文了。",
            "{date2}，{official}曾答应我们一个月内解决，到现在也没有兑现。",
        ],
    ],
    demands: &[
        "请求责令{org}立即整改，并赔偿业主损失。",
        "希望有关部门督促{org}尽快处理，给业主一个交代。",
        "要求物业公司限期解决问题，退还多收的费用。",
    ],
    shorts: &["{estate}{issue}", "{estate}{issue}，物业不管", "反映{estate}{issue}的问题"],
    laws: &[
        "根据《物业管理条例》第三十五条，物业服务企业应当按照物业服务合同的约定提供相应的服务。",
        "《民法典》第九百四十二条规定，物业服务人应当妥善维修、养护、清洁、绿化和经营管理物业服务区域内的共有部分。",
    ],
};

static DEMOLITION: Words = Words {
    role: "村民",
    subjects: &[
        ("补偿款至今没有足额发放", &["签协议时说好三个月内付清，结果一拖就是两年。"]),
        ("房屋面积认定有误，补偿标准明显偏低", &["评估公司只按主房面积算，附属房和院子都没算进去。"]),
        ("安置房迟迟不交付", &["说好两年交房，现在已经过了四年，安置房还是一片空地。"]),
        ("过渡费被停发", &["从去年开始过渡费就停了，我们只能自己掏钱租房。"]),
        ("房屋被强制拆除，没有任何补偿", &["趁家里没人的时候，拆迁队直接把房子推倒了。"]),
    ],
    facts: &[
        &[
            "我家位于{place}，房屋在{project}征收范围内。",
            "因为{project}建设，我家在{place}的房屋被列入征收范围。",
            "{project}征收了我家位于{place}的房子。",
        ],
        &[
            "我家房屋合法面积有{area}，{date1}签订了征收补偿协议。",
            "{date1}我和{dept}签了补偿协议，房屋面积{area}。",
            "按照{date1}签订的协议，我家被征收房屋面积为{area}。",
        ],
        &["问题是{issue}。", "但是{issue}。", "现在的情况是{issue}。"],
        &[
            "协议约定的补偿款为{amount}，到现在只拿到一部分。",
            "按协议应补偿{amount}，{dept}一直拖着不给。",
            "{amount}的补偿款至今没有到位。",
        ],
        &["同样条件的邻居拿到了{amount2}，对我家却区别对待。", "周边同类房屋的补偿都在{amount2}左右，我家明显偏低。"],
        &["{date2}房屋被拆除后，我们一家{num}口人只能在外面租房住。", "房子{date2}就拆了，一家{num}口至今没有安置。"],
        &["{detail}"],
    ],
    demands: &[
        "请求{dept}按协议足额支付补偿款。",
        "要求重新评估，依法依规给予合理补偿。",
        "希望政府督促相关部门尽快落实安置。",
    ],
    shorts: &["{project}{issue}", "{place}拆迁{issue}", "反映{project}{issue}"],
    laws: &[
        "根据《国有土地上房屋征收与补偿条例》第二十七条，实施房屋征收应当先补偿、后搬迁。",
        "《土地管理法》第四十八条规定，征收土地应当给予公平、合理的补偿，保障被征地农民原有生活水平不降低。",
    ],
};

static WAGES: Words = Words {
    role: "农民工",
    subjects: &[
        ("工程完工后工资一直没有结清", &["当初说好完工后一次性结清，现在公司一拖再拖。"]),
        ("包工头卷款跑路", &["公司说工资已经拨给包工头，包工头却拿着钱不见了。"]),
        ("公司以工程款未到位为由拒付工资", &["公司说甲方没有付工程款，所以发不了工资。"]),
        ("每月的工资被公司扣押", &["公司每个月只发生活费，工资说要押到年底。"]),
    ],
    facts: &[
        &[
            "{date1}起，我在{org}承建的{project}做{job}。",
            "我从{date1}开始在{org}的{project}工地上干{job}。",
            "{date1}，我经人介绍到{org}承接的{project}从事{job}工作。",
        ],
        &["{date2}工程完工后，{issue}。", "干到{date2}，{issue}。", "到{date2}为止，{issue}。"],
        &["公司至今拖欠我工资{amount}。", "{org}到现在还欠我工钱{amount}。", "算下来我被拖欠的工资共计{amount}。"],
        &["同一班组还有{num}名工友也被欠薪，总数约{amount2}。", "和我一起被拖欠工资的工人有{num}人，加起来{amount2}。"],
        &[
            "带我们干活的包工头{person}一开始说年底结清，后来电话也不接了。",
            "我们多次找包工头{person}讨薪，他总说公司没给钱。",
            "{person}是带我们干活的班组长，现在也联系不上。",
        ],
        &["我们去找过{dept}，答复说会调查处理，但一直没有结果。", "{dept}受理了投诉，但过去几个月都没有进展。"],
        &["{detail}"],
    ],
    demands: &[
        "请求责令{org}立即支付拖欠的工资。",
        "希望劳动监察部门为我们讨回血汗钱。",
        "要求公司尽快结清工资，不要再拖了。",
    ],
    shorts: &["{org}拖欠工资{amount}", "{project}欠薪{amount}", "讨要{org}欠的工资{amount}"],
    laws: &[
        "根据《保障农民工工资支付条例》第十五条，用人单位应当按照与农民工书面约定的工资支付周期和具体支付日期足额支付工资。",
        "《劳动合同法》第三十条规定，用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。",
    ],
};

static LAND: Words = Words {
    role: "村民",
    subjects: &[
        ("承包地被他人强行占用", &["对方在我家地里挖了地基，庄稼全毁了。"]),
        ("征地补偿款被村组截留", &["村小组说补偿款要统一用于修路，一直不发给农户。"]),
        ("宅基地审批不公", &["我家的建房申请交上去三年都没批，别人后交的早就批了。"]),
        ("山林权属发生纠纷", &["林权证上写的是我家，对方却说山是他家祖上的。"]),
    ],
    facts: &[
        &[
            "我家在{place}有承包地{area}，地名叫{field}。",
            "我家承包的{field}那块地有{area}，位于{place}。",
            "{place}{field}的{area}土地是我家的承包地。",
        ],
        &["{date1}，{issue}。", "从{date1}开始，{issue}。"],
        &[
            "占地的是同村的{person}，他在地上盖了房子。",
            "{person}仗着家里有人，强行把地占了。",
            "对方{person}说这块地是村里分给他的。",
        ],
        &["村里的{official}不但不制止，反而偏袒对方。", "我去找{official}评理，他说这事不归他管。"],
        &["这块地每年的收入有{amount}，现在全没了。", "按标准应得补偿款{amount}，我家一分钱也没拿到。"],
        &["{date2}，镇里派人来调解过一次，没有结果。", "{date2}我向镇政府递交了书面材料，至今没有答复。"],
        &["{detail}"],
    ],
    demands: &[
        "请求依法确认我家的土地承包经营权，责令{person}退还土地。",
        "希望政府主持公道，把补偿款发到农户手中。",
        "要求查清事实，依法处理。",
    ],
    shorts: &["{place}{field}{issue}", "{place}土地纠纷：{issue}", "反映{place}{issue}"],
    laws: &[
        "根据《农村土地承包法》第五十七条，侵害承包方的承包经营权的，应当承担停止侵害、返还原物、恢复原状、赔偿损失等民事责任。",
        "《土地管理法》第十四条规定，土地所有权和使用权争议，由当事人协商解决；协商不成的，由人民政府处理。",
    ],
};

static ENVIRONMENT: Words = Words {
    role: "居民",
    subjects: &[
        ("夜间施工噪音严重扰民", &["机器轰鸣声、打桩声一直响到后半夜。"]),
        ("工厂排放废气刺鼻难闻", &["一到晚上就偷偷排放废气，气味刺鼻，很多人咳嗽头晕。"]),
        ("养殖场臭味熏天，污水直排河里", &["养殖污水直接排到河里，河水发黑发臭，鱼都死了。"]),
        ("砂石厂粉尘污染严重", &["家里的窗台每天都落一层灰，衣服都不敢晒在外面。"]),
        ("餐馆油烟直排，噪音扰民", &["油烟直接排到居民楼里，抽油烟机的噪音吵得人睡不着。"]),
    ],
    facts: &[
        &[
            "我家住在{place}，离{org}只有{distance}。",
            "{org}就在我们{place}旁边，距离居民楼{distance}。",
            "我们{place}附近的{org}，离住户不到{distance}。",
        ],
        &["从{date1}开始，{issue}。", "{date1}以来，{issue}。"],
        &["每天{time}都不停，大人小孩都无法休息。", "尤其是{time}这段时间最严重，根本睡不着觉。"],
        &["周边{num}户居民深受其害，不少老人孩子生了病。", "附近{num}户人家都受到影响。"],
        &["我们多次向{dept}反映，来检查的时候停一下，走了又照旧。", "{dept}来过几次，罚了款，但问题一直没有根治。"],
        &["{detail}"],
    ],
    demands: &[
        "请求{dept}依法查处，责令{org}停产整改。",
        "希望相关部门彻底整治，还我们一个安静的生活环境。",
        "要求{org}搬迁或者采取有效措施。",
    ],
    shorts: &["{org}{issue}", "{place}附近{issue}", "投诉{org}：{issue}"],
    laws: &[
        "根据《环境噪声污染防治法》第三十条，在城市市区噪声敏感建筑物集中区域内，禁止夜间进行产生环境噪声污染的建筑施工作业。",
        "《大气污染防治法》第四十八条规定，工业生产企业应当采取密闭、围挡、遮盖等措施，减少粉尘和气态污染物的排放。",
    ],
};

static EDUCATION: Words = Words {
    role: "家长",
    subjects: &[
        ("学校违规收取补课费", &["老师在课堂上不讲重点，要学生课后去补课。"]),
        ("孩子在学校被老师体罚", &["孩子回家后说被罚站了一整天，身上还有伤。"]),
        ("划片入学不合理，孩子被拒收", &["我家就在学校旁边，却被划到了五公里外的学校。"]),
        ("校车超载存在安全隐患", &["一辆核载十几人的校车挤了三十多个孩子。"]),
        ("学校食堂饭菜质量差", &["孩子经常反映饭菜是凉的，还吃出过虫子。"]),
    ],
    facts: &[
        &[
            "我的孩子{child}在{school}读{grade}。",
            "我家孩子{child}是{school}{grade}的学生。",
            "我小孩{child}目前就读于{school}{grade}。",
        ],
        &["{date1}，{issue}。", "{date1}开始，{issue}。"],
        &[
            "学校每学期收取{amount}，没有任何收据。",
            "每个学生要交{amount}，不交就不给上课。",
            "这学期已经交了{amount}。",
        ],
        &["我们找过{official}，他说这是学校的规定。", "{official}态度很强硬，说不满意可以转学。"],
        &["全班{num}个学生的家长都有意见，但怕孩子被穿小鞋不敢说。", "班上{num}名家长都反映过这个问题。"],
        &["{detail}"],
    ],
    demands: &[
        "请求{dept}调查处理，退还违规收取的费用。",
        "希望教育部门加强管理，保障孩子的合法权益。",
        "要求学校公开道歉并整改。",
    ],
    shorts: &["{school}{issue}", "反映{school}{issue}", "{school}{grade}{issue}"],
    laws: &[
        "根据《义务教育法》第二条，实施义务教育，不收学费、杂费。",
        "《未成年人保护法》第二十七条规定，学校、幼儿园的教职员工不得对未成年人实施体罚、变相体罚。",
    ],
};

static MEDICAL: Words = Words {
    role: "患者家属",
    subjects: &[
        ("手术后出现严重并发症", &["术后高烧不退，医院一直说是正常反应。"]),
        ("被误诊耽误了治疗", &["一开始说是普通感冒，后来转院才查出是肺炎。"]),
        ("住院费用明显过高", &["清单上有很多根本没做过的检查项目。"]),
        ("医保报销被拒", &["医保窗口说我们的药不在目录里，一分钱都不给报。"]),
        ("医生态度恶劣", &["问几句病情就被医生骂，说不想治就出院。"]),
    ],
    facts: &[
        &[
            "{date1}，我{relative}{patient}因病到{hospital}住院治疗。",
            "我{relative}{patient}于{date1}住进了{hospital}。",
            "{date1}我带{relative}{patient}去{hospital}看病并住院。",
        ],
        &["住院期间，{issue}。", "治疗过程中{issue}。"],
        &["主治医生是{doctor}，出了问题后一直推卸责任。", "{doctor}当时说没什么大问题，结果病情越来越重。"],
        &["前后一共花了{amount}，大部分是自费。", "医疗费用已经超过{amount}，家里为此欠了很多债。"],
        &[
            "{date2}出院后，我们要求医院给个说法，院方至今没有答复。",
            "{date2}我们申请了医疗事故鉴定，到现在还没有结果。",
        ],
        &["{detail}"],
    ],
    demands: &[
        "请求{dept}介入调查，依法追究责任。",
        "要求{hospital}赔偿损失并公开道歉。",
        "希望有关部门依法处理，维护患者的合法权益。",
    ],
    shorts: &["{hospital}{issue}", "反映{hospital}{issue}", "{relative}在{hospital}{issue}"],
    laws: &[
        "根据《医疗纠纷预防和处理条例》第二十二条，发生医疗纠纷，医患双方可以申请医疗纠纷人民调解。",
        "《民法典》第一千二百一十八条规定，患者在诊疗活动中受到损害，医疗机构或者其医务人员有过错的，由医疗机构承担赔偿责任。",
    ],
};

static TRAFFIC: Words = Words {
    role: "市民",
    subjects: &[
        ("交警的事故责任认定不公", &["对方明明闯了红灯，认定书上却写我负主要责任。"]),
        ("车辆被违规扣押", &["手续齐全的车被扣了两个月，每天还要交停车费。"]),
        ("被罚款没有任何依据", &["现场既没有测速标志也没有执法记录，就开了罚单。"]),
        ("事故对方拒不赔偿", &["对方没有买保险，一直躲着不见面。"]),
    ],
    facts: &[
        &[
            "{date1}，我驾驶{plate}在{road}与{person}的车发生了碰撞。",
            "{date1}我开着{plate}在{road}行驶时，被{person}驾驶的车辆撞了。",
            "我的车{plate}于{date1}在{road}出了交通事故，对方司机是{person}。",
        ],
        &["事后{issue}。", "事故发生后，{issue}。"],
        &["{dept}作出的认定明显偏袒对方。", "我对{dept}的处理结果不服。"],
        &["我的车辆维修和医疗花费了{amount}。", "各项损失合计{amount}，对方一分钱没赔。"],
        &["{road}这一段路况很差，已经发生过{num}起事故。", "{road}路段事故频发，今年已有{num}起。"],
        &["{detail}"],
    ],
    demands: &[
        "请求重新调查事故经过，依法作出公正认定。",
        "希望{dept}依法处理，保障当事人的合法权益。",
        "要求退还违规罚款，返还被扣车辆。",
    ],
    shorts: &["{road}交通事故：{issue}", "{plate}{issue}", "反映{dept}{issue}"],
    laws: &[
        "根据《道路交通安全法》第七十三条，公安机关交通管理部门应当根据交通事故现场勘验、检查、调查情况和有关的检验、鉴定结论，及时制作交通事故认定书。",
        "《道路交通事故处理程序规定》第七十一条规定，当事人对道路交通事故认定有异议的，可以申请复核。",
    ],
};

static SOCIAL: Words = Words {
    role: "职工",
    subjects: &[
        ("单位多年没有给我缴纳社保", &["入职时说好交五险，后来才发现一直没交。"]),
        ("养老金待遇核定有误", &["视同缴费年限没有算进去，每月养老金少了一大截。"]),
        ("工伤认定久拖不决", &["在车间干活时手被机器压伤，单位不承认是工伤。"]),
        ("低保资格被无故取消", &["家里的情况一点没变，低保却突然被停了。"]),
    ],
    facts: &[
        &[
            "我在{org}工作了{years}，{date1}离职。",
            "我从{date1}起在{org}上班，前后干了{years}。",
            "本人是{org}的职工，{date1}入职，工龄{years}。",
        ],
        &["{issue}。", "现在的问题是{issue}。"],
        &["单位欠缴的社保费有{num}个月，金额约{amount}。", "算下来每月少发{amount}，已经少了{num}个月。"],
        &["{date2}我到{dept}咨询，工作人员说要单位出证明。", "{date2}我向{dept}提交了申请，至今没有答复。"],
        &["单位和社保部门互相推诿，谁都不管。", "单位说归社保管，社保说归单位管。"],
        &["{detail}"],
    ],
    demands: &[
        "请求{dept}依法核查，责令{org}补缴社保费。",
        "希望重新核定待遇，补发少发的部分。",
        "要求尽快作出认定结论。",
    ],
    shorts: &["{org}{issue}", "反映{issue}，{dept}不管", "{org}职工{issue}"],
    laws: &[
        "根据《社会保险法》第五十八条，用人单位应当自用工之日起三十日内为其职工申请办理社会保险登记。",
        "《工伤保险条例》第二十条规定，社会保险行政部门应当自受理工伤认定申请之日起60日内作出工伤认定的决定。",
    ],
};

static DISCIPLINE: Words = Words {
    role: "村民",
    subjects: &[
        ("虚报冒领惠农补贴", &["很多补贴名单上的人根本不知道自己领过钱。"]),
        ("在工程招标中收受好处费", &["工程没有公开招标，私下就定给了关系户。"]),
        ("优亲厚友，把低保指标给了亲戚", &["他的亲戚家里有楼房有小车，照样吃低保。"]),
        ("侵占集体资金", &["村里的集体收入从来不公布，账目一团糟。"]),
    ],
    facts: &[
        &["我要检举{official}，{issue}。", "现实名举报{official}{issue}的问题。", "{official}{issue}，群众意见很大。"],
        &[
            "{date1}，{project}的资金{amount}被他截留。",
            "{project}共涉及资金{amount}，账目从来没有公开过。",
            "{date1}实施的{project}，有{amount}去向不明。",
        ],
        &["工程交给了他亲戚开的{org}来做，质量很差。", "他让自己亲戚的{org}承包了工程。"],
        &["全村有{num}户群众可以作证。", "我们{num}户村民联名反映过此事。"],
        &["{date2}我们向镇纪委反映过，至今没有结果。", "{date2}已向上级纪委寄过举报信，石沉大海。"],
        &["{detail}"],
    ],
    demands: &[
        "请求纪委监委彻查，严肃处理。",
        "希望上级纪检部门调查核实，还群众一个公道。",
        "要求追回被侵占的资金，依纪依法处理。",
    ],
    shorts: &["举报{official}{issue}", "{official}{issue}", "检举{project}问题：{issue}"],
    laws: &[
        "根据《中国共产党纪律处分条例》，利用职务上的便利为他人谋取利益的，应当依纪给予处分。",
        "《监察法》第十一条规定，监察委员会依照法律规定对公职人员依法履职、秉公用权、廉洁从政从业进行监督检查。",
    ],
};

/// Sentences petitioners reuse across unrelated matters.
const OPENINGS: &[&str] =
    &["尊敬的领导：", "尊敬的市长：您好！", "尊敬的书记：", "各位领导好！", "领导您好，", "尊敬的信访局领导："];
const INTROS: &[&str] = &[
    "我是{home}的{role}{name}，现向领导反映一个问题。",
    "本人{name}，家住{home}。",
    "我叫{name}，是{home}的{role}。",
    "我是{home}{role}，名叫{name}。",
];
const BOILERPLATE: &[&str] = &[
    "本人多次反映未果，实在没有办法才向领导写信。",
    "我们先后找过村里、镇里和县里，相关部门互相推诿，问题至今没有得到解决。",
    "我们是普通老百姓，只想讨个说法。",
    "此事已拖了很久，严重影响了我们的正常生活。",
    "为此我已经多次到相关部门反映，都没有结果。",
    "希望领导能够体察民情，为我们做主。",
    "我们相信党和政府一定会给我们一个公道。",
    "反映的情况句句属实，有相关证据为证。",
    "相关部门一直在踢皮球，谁也不愿意管。",
    "本人多次反映未果，只好再次向上级反映。",
];
const CLOSINGS: &[&str] = &[
    "恳请领导高度重视，尽快解决为盼！",
    "望领导在百忙之中给予关注，谢谢！",
    "以上情况属实，如有虚假愿承担法律责任。",
    "盼复！",
    "此致敬礼！",
    "恳请领导为民做主，尽快给我们一个答复。",
    "请领导帮帮我们，万分感谢！",
];
/// Extra complaints (insertions and long texts).
const HARDSHIPS: &[&str] = &[
    "这件事已经给我们家带来了很大的困扰。",
    "家里还有年迈的老人需要照顾，生活非常困难。",
    "孩子马上要开学了，急需这笔钱。",
    "我身体不好，经不起这样来回折腾。",
    "有关部门的工作人员态度十分恶劣。",
    "为了这件事我已经请了好几次假，工作都快丢了。",
    "我们不想闹事，只希望问题能依法解决。",
    "每次去问都说在研究，不知道还要等多久。",
];
/// History of a matter, each with its own date.
const EVENTS: &[&str] = &[
    "{d}，我到{dept}反映情况，工作人员答复会研究处理。",
    "{d}，我再次找到{official}，他说还在协调。",
    "{d}，我拨打12345市民热线反映，工单编号{ticket}，回复说已转交相关部门。",
    "{d}，我们{n}户联名写信给{dept}，没有任何回音。",
    "{d}，{official}带人到现场查看，答应一个月内给答复。",
    "{d}，我向{dept}递交了书面材料，对方收下后再也没有联系我。",
    "{d}，我打电话询问进展，对方说领导出差了。",
    "{d}，我又一次到{dept}，接待的工作人员让我回去等通知。",
    "{d}，我在网上信访平台提交了诉求，回复说已经办结，但问题根本没有解决。",
    "{d}，相关部门组织了一次协调会，对方没有到场。",
];
/// Synonyms a paraphrase swaps (both ways) in the template text.
const SYNONYMS: &[(&str, &str)] = &[
    ("多次", "屡次"),
    ("至今", "到现在"),
    ("要求", "请求"),
    ("解决", "处理"),
    ("尽快", "早日"),
    ("严重", "十分"),
    ("工资", "工钱"),
    ("务工", "打工"),
    ("相关部门", "有关部门"),
    ("答复", "回复"),
    ("希望", "恳请"),
    ("一直", "始终"),
    ("居民", "住户"),
    ("维修", "修理"),
    ("房屋", "房子"),
    ("孩子", "小孩"),
    ("导致", "造成"),
    ("非常", "特别"),
    ("推脱", "推诿"),
    ("没有", "未"),
    ("反映", "反应"),
    ("现在", "如今"),
    ("找过", "找了"),
    ("我们", "咱们"),
    ("立即", "马上"),
    ("损失", "损害"),
    ("依法", "按照法律"),
    ("问题", "事情"),
];
/// Typos: homophones and look-alike characters.
const TYPOS: &[(char, char)] = &[
    ('的', '得'),
    ('在', '再'),
    ('已', '己'),
    ('未', '末'),
    ('做', '作'),
    ('映', '应'),
    ('账', '帐'),
    ('工', '公'),
    ('资', '姿'),
    ('钱', '前'),
    ('领', '岭'),
    ('导', '倒'),
    ('决', '绝'),
    ('重', '种'),
    ('视', '是'),
    ('请', '情'),
    ('求', '球'),
    ('理', '里'),
    ('欠', '歉'),
    ('拖', '托'),
    ('修', '休'),
    ('维', '为'),
    ('漏', '露'),
    ('补', '不'),
    ('偿', '尝'),
    ('款', '宽'),
    ('房', '方'),
    ('区', '曲'),
    ('村', '存'),
    ('镇', '振'),
    ('局', '句'),
    ('号', '好'),
    ('栋', '动'),
    ('室', '是'),
    ('部', '步'),
    ('门', '们'),
    ('反', '返'),
    ('到', '道'),
    ('意', '义'),
    ('见', '件'),
    ('阳', '杨'),
    ('光', '广'),
    ('花', '化'),
    ('园', '圆'),
    ('江', '将'),
    ('金', '今'),
    ('华', '化'),
    ('建', '见'),
    ('达', '大'),
    ('源', '原'),
];

// ---------------------------------------------------------------------------
// The corpus

/// How a filing relates to the filings before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// First filing of a fresh matter.
    Original,
    /// First filing of a template twin: same category, region, complaint,
    /// phrasing and boilerplate as an earlier matter, other specifics.
    Twin,
    /// First filing of the same petitioner's other matter (same category
    /// and home, other complaint).
    OtherMatter,
    Paraphrase,
    Reorder,
    Insertion,
    Typo,
    Truncation,
    /// Paraphrase + insertion + typos.
    Mixed,
    /// The same matter from another petitioner.
    Related,
}

/// The ways a petitioner files the same matter again.
pub const REPEAT_KINDS: [Kind; 6] =
    [Kind::Paraphrase, Kind::Reorder, Kind::Insertion, Kind::Typo, Kind::Truncation, Kind::Mixed];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Original => "original",
            Kind::Twin => "twin (hard neg.)",
            Kind::OtherMatter => "other matter (hard neg.)",
            Kind::Paraphrase => "paraphrase",
            Kind::Reorder => "reorder",
            Kind::Insertion => "insertion",
            Kind::Typo => "typo",
            Kind::Truncation => "truncation",
            Kind::Mixed => "mixed",
            Kind::Related => "related (other petitioner)",
        }
    }
}

/// Who files: a person, their home and their writing habits.
#[derive(Debug, Clone)]
pub struct Petitioner {
    pub name: String,
    district: usize,
    town: String,
    /// Village or estate.
    place: String,
    /// 3栋2单元502室 or 5组.
    address: String,
    urban: bool,
    /// Their habits: opening, intro, boilerplate and closing they reuse.
    opening: Option<usize>,
    intro: usize,
    boiler: Vec<usize>,
    closing: usize,
}

impl Petitioner {
    fn new(rng: &mut Rng, district: usize, urban: Option<bool>) -> Self {
        let urban = urban.unwrap_or_else(|| rng.chance(0.55));
        let town_suffix = if urban {
            "街道"
        } else if rng.chance(0.8) {
            "镇"
        } else {
            "乡"
        };
        let town = format!("{}{town_suffix}", two_char_name(rng));
        let (place, address) = if urban {
            (
                estate_name(rng),
                format!("{}栋{}单元{}{:02}室", rng.range(1, 30), rng.range(1, 4), rng.range(1, 30), rng.range(1, 4)),
            )
        } else {
            (format!("{}村", two_char_name(rng)), format!("{}组", rng.range(1, 15)))
        };
        let mut boiler: Vec<usize> = (0..BOILERPLATE.len()).collect();
        rng.shuffle(&mut boiler);
        boiler.truncate(rng.range(1, 3) as usize);
        Self {
            name: person_name(rng),
            district,
            town,
            place,
            address,
            urban,
            opening: rng.chance(0.6).then(|| rng.below(OPENINGS.len())),
            intro: rng.below(INTROS.len()),
            boiler,
            closing: rng.below(CLOSINGS.len()),
        }
    }

    fn home(&self) -> String {
        format!("{}{}{}", DISTRICTS[self.district], self.town, self.place)
    }

    /// A neighbour: same district, town and place, other name and address.
    pub fn neighbour(&self, rng: &mut Rng) -> Self {
        let mut n = Self::new(rng, self.district, Some(self.urban));
        n.town = self.town.clone();
        n.place = self.place.clone();
        n.urban = self.urban;
        if self.urban {
            n.address =
                format!("{}栋{}单元{}{:02}室", rng.range(1, 30), rng.range(1, 4), rng.range(1, 30), rng.range(1, 4));
        } else {
            n.address = format!("{}组", rng.range(1, 15));
        }
        n
    }
}

/// What a petition is about in particular: a complaint, its places, people, amounts and dates.
#[derive(Debug, Clone)]
pub struct Matter {
    pub category: Category,
    /// Index into [`DISTRICTS`].
    pub district: usize,
    subject: usize,
    /// The organization complained about (for the same-respondent cue).
    pub respondent: String,
    slots: Slots,
    /// Optional facts told, in order (after fact 0).
    facts: Vec<usize>,
    /// Phrasing of each fact in the original.
    phrasing: Vec<usize>,
    /// Dated history for long texts (template, slots).
    events: Vec<(usize, Slots)>,
    /// Law citations and hardships for long texts.
    extras: Vec<String>,
    demand: usize,
    short: Option<usize>,
    target_len: usize,
}

/// One generated petition.
#[derive(Debug, Clone)]
pub struct Filing {
    pub text: String,
    /// Index into [`Corpus::matters`].
    pub matter: usize,
    /// Index into [`Corpus::petitioners`].
    pub petitioner: usize,
    pub kind: Kind,
    /// The filing this one was made from (repeats and related).
    pub source: Option<usize>,
    /// Day of filing, counted from the corpus's first day.
    pub day: u32,
}

/// Filings in time order, with the matters and petitioners they refer to.
pub struct Corpus {
    pub filings: Vec<Filing>,
    pub matters: Vec<Matter>,
    pub petitioners: Vec<Petitioner>,
}

/// Text length in characters: log-normal, median 200, from 12 to 5000.
fn target_length(rng: &mut Rng) -> usize {
    (200.0 * (rng.normal() * 1.0).exp()).clamp(12.0, 5000.0) as usize
}

fn make_matter(rng: &mut Rng, category: Category, p: &Petitioner) -> Matter {
    let w = words(category);
    let district = DISTRICTS[p.district];
    let district_short: String = district.chars().take(2).collect();
    let mut s = Slots::new();
    let text = |v: String| Slot::Text(v);
    let date1 = some_date(rng);
    let date2 = date1 + Duration::days(rng.range(30, 700) as i64);
    s.insert("date1", if rng.chance(0.3) { Slot::Month(date1) } else { Slot::Date(date1) });
    s.insert("date2", Slot::Date(date2));
    s.insert("num", text(rng.range(3, 300).to_string()));
    let official = format!("{}{}", rng.pick(SURNAMES), rng.pick(TITLES));
    s.insert("official", text(official.clone()));
    let respondent = match category {
        Category::Property => {
            let place = if p.urban { p.place.clone() } else { estate_name(rng) };
            let address =
                format!("{}栋{}单元{}{:02}室", rng.range(1, 30), rng.range(1, 4), rng.range(1, 30), rng.range(1, 4));
            s.insert("estate", text(place.clone()));
            s.insert("place", text(format!("{place}{}", if p.urban { &p.address } else { &address })));
            let org = format!("{}物业服务有限公司", rng.pick(TRADE_NAMES));
            s.insert("org", text(org.clone()));
            s.insert("org2", text(company(rng, "房地产开发")));
            s.insert("amount", Slot::Amount(amount(rng, 800, 60_000)));
            s.insert("dept", text(format!("{district}住建局")));
            org
        }
        Category::Demolition => {
            let place = format!("{}{}", p.place, p.address);
            s.insert("place", text(place));
            let project = match rng.below(3) {
                0 => format!("{}拓宽改造项目", road_name(rng)),
                1 => format!("{}棚户区改造项目", two_char_name(rng)),
                _ => format!("{}片区旧城改造项目", two_char_name(rng)),
            };
            s.insert("project", text(project));
            let dept = format!("{district}房屋征收办");
            s.insert("dept", text(dept.clone()));
            s.insert("area", text(format!("{}平方米", rng.range(60, 420))));
            let a = amount(rng, 80_000, 2_000_000);
            s.insert("amount", Slot::Amount(a));
            s.insert("amount2", Slot::Amount(a + amount(rng, 20_000, 500_000)));
            s.insert("num", text(rng.range(2, 9).to_string()));
            dept
        }
        Category::Wages => {
            let org = {
                let industry = *rng.pick(&["建筑工程", "劳务", "市政工程", "建材", "园林绿化"]);
                company(rng, industry)
            };
            s.insert("org", text(org.clone()));
            let project = match rng.below(3) {
                0 => format!("{}项目", estate_name(rng)),
                1 => format!("{}改造工程", road_name(rng)),
                _ => format!("{}工业园厂房工程", two_char_name(rng)),
            };
            s.insert("project", text(project));
            s.insert("job", text(rng.pick(JOBS).to_string()));
            s.insert("person", text(person_name(rng)));
            let a = amount(rng, 3_000, 200_000);
            s.insert("amount", Slot::Amount(a));
            s.insert("amount2", Slot::Amount(a * rng.range(5, 40)));
            s.insert("num", text(rng.range(3, 60).to_string()));
            s.insert("dept", text(format!("{district}人社局劳动监察大队")));
            org
        }
        Category::Land => {
            s.insert("place", text(format!("{}{}", p.place, p.address)));
            s.insert("field", text(format!("{}{}", two_char_name(rng), rng.pick(&["垅", "坑", "坝", "岭"]))));
            s.insert("area", text(format!("{}.{}亩", rng.range(0, 12), rng.range(1, 9))));
            s.insert("person", text(person_name(rng)));
            s.insert("amount", Slot::Amount(amount(rng, 2_000, 150_000)));
            let dept = format!("{}人民政府", p.town.trim_end_matches("街道"));
            s.insert("dept", text(dept));
            format!("{}村委会", p.place)
        }
        Category::Environment => {
            let place = if p.urban { p.place.clone() } else { format!("{}{}", p.place, p.address) };
            s.insert("place", text(place));
            let org = match rng.below(4) {
                0 => {
                    let industry = *rng.pick(&["食品", "建材", "电子科技", "家具"]);
                    company(rng, industry)
                }
                1 => format!("{}养殖场", two_char_name(rng)),
                2 => format!("{}砂石厂", two_char_name(rng)),
                _ => format!("{}项目建筑工地", estate_name(rng)),
            };
            s.insert("org", text(org.clone()));
            s.insert("distance", text(format!("{}米", rng.range(2, 50) * 10)));
            let h1 = rng.range(8, 11);
            s.insert("time", text(format!("晚上{h1}点到凌晨{}点", rng.range(1, 5))));
            s.insert("dept", text(format!("{district}生态环境局")));
            org
        }
        Category::Education => {
            let school = match rng.below(3) {
                0 => format!("{}小学", two_char_name(rng)),
                1 => format!("{district_short}{}中学", rng.pick(&["第一", "第二", "第三", "第五", "实验"])),
                _ => format!("{}幼儿园", estate_name(rng)),
            };
            s.insert("school", text(school.clone()));
            s.insert("child", text(person_name(rng)));
            s.insert("grade", text(format!("{}年级", rng.range(1, 9))));
            s.insert("amount", Slot::Amount(amount(rng, 200, 9_000)));
            s.insert("official", text(format!("{}校长", rng.pick(SURNAMES))));
            s.insert("num", text(rng.range(5, 60).to_string()));
            s.insert("dept", text(format!("{district}教育局")));
            school
        }
        Category::Medical => {
            let hospital = match rng.below(3) {
                0 => format!("{district}人民医院"),
                1 => format!("{}卫生院", p.town.trim_end_matches("街道")),
                _ => format!("赣州{}医院", rng.pick(TRADE_NAMES)),
            };
            s.insert("hospital", text(hospital.clone()));
            s.insert("relative", text(rng.pick(RELATIVES).to_string()));
            s.insert("patient", text(person_name(rng)));
            s.insert("doctor", text(format!("{}医生", rng.pick(SURNAMES))));
            s.insert("amount", Slot::Amount(amount(rng, 3_000, 400_000)));
            s.insert("dept", text(format!("{district}卫健委")));
            hospital
        }
        Category::Traffic => {
            let letters = ["a", "b", "c", "d", "e", "f", "g", "h", "k"];
            s.insert(
                "plate",
                text(format!(
                    "赣{}{}{:04}",
                    rng.pick(&letters).to_uppercase(),
                    rng.pick(&letters).to_uppercase(),
                    rng.range(0, 9999)
                )),
            );
            s.insert("road", text(road_name(rng)));
            s.insert("person", text(person_name(rng)));
            s.insert("amount", Slot::Amount(amount(rng, 500, 120_000)));
            s.insert("num", text(rng.range(2, 30).to_string()));
            let dept = format!("{district}交警大队");
            s.insert("dept", text(dept.clone()));
            dept
        }
        Category::Social => {
            let org = {
                let industry = *rng.pick(INDUSTRIES);
                company(rng, industry)
            };
            s.insert("org", text(org.clone()));
            s.insert("years", text(format!("{}年", rng.range(2, 30))));
            s.insert("amount", Slot::Amount(amount(rng, 300, 90_000)));
            s.insert("num", text(rng.range(3, 120).to_string()));
            s.insert("dept", text(format!("{district}人社局")));
            org
        }
        Category::Discipline => {
            let official = if !p.urban && rng.chance(0.6) {
                format!("{}{}村支书{}", p.town, p.place, person_name(rng))
            } else {
                format!(
                    "{district}{}副局长{}",
                    rng.pick(&["水利局", "农业农村局", "民政局", "交通局"]),
                    person_name(rng)
                )
            };
            s.insert("official", text(official.clone()));
            let project = match rng.below(3) {
                0 => format!("{}道路硬化工程", if p.urban { two_char_name(rng) + "村" } else { p.place.clone() }),
                1 => format!("{}年危房改造补助", date1.year()),
                _ => format!("{}高标准农田建设项目", two_char_name(rng)),
            };
            s.insert("project", text(project));
            s.insert("amount", Slot::Amount(amount(rng, 20_000, 3_000_000)));
            s.insert(
                "org",
                text({
                    let industry = *rng.pick(&["建筑工程", "市政工程", "园林绿化"]);
                    company(rng, industry)
                }),
            );
            official
        }
    };
    let subject = rng.below(w.subjects.len());
    let (issue, details) = w.subjects[subject];
    s.insert("issue", text(issue.to_owned()));
    s.insert("detail", text(rng.pick(details).to_string()));
    if !s.contains_key("dept") {
        s.insert("dept", text(format!("{district}信访局")));
    }

    let target_len = target_length(rng);
    let mut facts: Vec<usize> = (1..w.facts.len()).filter(|_| rng.chance(0.6)).collect();
    if facts.is_empty() && w.facts.len() > 1 {
        facts.push(rng.range(1, w.facts.len() as u64 - 1) as usize);
    }
    let phrasing = w.facts.iter().map(|f| rng.below(f.len())).collect();
    // Long texts tell the history: roughly one dated event per 60 characters beyond 300.
    let n_events = target_len.saturating_sub(300) / 60 + usize::from(target_len > 220 && rng.chance(0.5));
    let templates: Vec<usize> = (0..n_events).map(|_| rng.below(EVENTS.len())).collect();
    let events = dated_events(rng, &templates, date2);
    let n_extras = target_len.saturating_sub(500) / 250;
    let extras = (0..n_extras)
        .map(|_| if rng.chance(0.5) { rng.pick(w.laws).to_string() } else { rng.pick(HARDSHIPS).to_string() })
        .collect();
    Matter {
        category,
        district: p.district,
        subject,
        respondent,
        slots: s,
        facts,
        phrasing,
        events,
        extras,
        demand: rng.below(w.demands.len()),
        short: (target_len < 45).then(|| rng.below(w.shorts.len())),
        target_len,
    }
}

/// The history of a matter: the event `templates`, each on its own date after `start`.
fn dated_events(rng: &mut Rng, templates: &[usize], start: NaiveDate) -> Vec<(usize, Slots)> {
    let mut day = start;
    templates
        .iter()
        .map(|&t| {
            day += Duration::days(rng.range(5, 60) as i64);
            let mut es = Slots::new();
            es.insert("d", Slot::Date(day));
            es.insert("n", Slot::Text(rng.range(3, 80).to_string()));
            es.insert(
                "ticket",
                Slot::Text(format!("{}{:02}{:02}{:05}", day.year(), day.month(), day.day(), rng.range(0, 99_999))),
            );
            (t, es)
        })
        .collect()
}

/// How a rendering varies from the matter's first telling.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rendering {
    /// Probability of another phrasing per fact (0 for the original).
    rephrase: f64,
    /// Probability of swapping each synonym.
    synonyms: f64,
    /// Probability of leaving out each optional part.
    omit: f64,
    /// Keep the petitioner's habitual boilerplate.
    habits: bool,
}

const ORIGINAL: Rendering = Rendering { rephrase: 0.0, synonyms: 0.0, omit: 0.0, habits: true };

fn swap_synonyms(template: &str, p: f64, rng: &mut Rng) -> String {
    if p == 0.0 {
        return template.to_owned();
    }
    let mut t = template.to_owned();
    for (a, b) in SYNONYMS {
        if t.contains(a) && rng.chance(p) {
            t = t.replace(a, b);
        } else if t.contains(b) && rng.chance(p) {
            t = t.replace(b, a);
        }
    }
    t
}

/// The sentences of one telling of `m` by `p`.
fn render(m: &Matter, p: &Petitioner, r: Rendering, rng: &mut Rng) -> Vec<String> {
    let w = words(m.category);
    let mut slots = m.slots.clone();
    slots.insert("name", Slot::Text(p.name.clone()));
    slots.insert("home", Slot::Text(format!("{}{}", p.home(), p.address)));
    slots.insert("role", Slot::Text(w.role.to_owned()));
    let say =
        |template: &str, slots: &Slots, rng: &mut Rng| fill(&swap_synonyms(template, r.synonyms, rng), slots, rng);
    if let Some(short) = m.short {
        let idx = if rng.chance(r.rephrase) { rng.below(w.shorts.len()) } else { short };
        let mut s = say(w.shorts[idx], &slots, rng);
        if rng.chance(0.3) {
            s.push('，');
            s.push_str(if rng.chance(0.5) { "请领导解决" } else { "盼复" });
        }
        return vec![s];
    }
    let mut out = Vec::new();
    let habits = r.habits || rng.chance(0.5);
    let opening = if habits { p.opening } else { rng.chance(0.6).then(|| rng.below(OPENINGS.len())) };
    if let Some(o) = opening {
        out.push(OPENINGS[o].to_owned());
    }
    let intro = if habits { p.intro } else { rng.below(INTROS.len()) };
    if m.target_len > 70 || rng.chance(0.3) {
        out.push(say(INTROS[intro], &slots, rng));
    }
    let phrase = |f: usize, rng: &mut Rng| {
        if rng.chance(r.rephrase) { rng.below(w.facts[f].len()) } else { m.phrasing[f] }
    };
    let first = phrase(0, rng);
    out.push(say(w.facts[0][first], &slots, rng));
    for &f in &m.facts {
        if rng.chance(r.omit) {
            continue;
        }
        let ph = phrase(f, rng);
        out.push(say(w.facts[f][ph], &slots, rng));
    }
    for (t, es) in &m.events {
        if rng.chance(r.omit) {
            continue;
        }
        let mut all = slots.clone();
        all.extend(es.iter().map(|(k, v)| (*k, v.clone())));
        out.push(say(EVENTS[*t], &all, rng));
    }
    for e in &m.extras {
        if !rng.chance(r.omit) {
            out.push(e.clone());
        }
    }
    if m.target_len > 100 {
        let boiler: Vec<usize> = if habits { p.boiler.clone() } else { vec![rng.below(BOILERPLATE.len())] };
        for b in boiler {
            out.push(BOILERPLATE[b].to_owned());
        }
    }
    let demand = if rng.chance(r.rephrase) { rng.below(w.demands.len()) } else { m.demand };
    out.push(say(w.demands[demand], &slots, rng));
    if m.target_len > 60 {
        let closing = if habits { p.closing } else { rng.below(CLOSINGS.len()) };
        out.push(CLOSINGS[closing].to_owned());
    }
    out
}

fn typos(text: &str, rate: f64, rng: &mut Rng) -> String {
    let table: HashMap<char, char> = TYPOS.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !petition_server::similarity::normalize::is_han(c) || !rng.chance(rate) {
            out.push(c);
            continue;
        }
        match rng.below(10) {
            0 => {} // dropped
            1 => {
                out.push(c);
                out.push(c);
            }
            _ => out.push(*table.get(&c).unwrap_or(&c)),
        }
    }
    out
}

fn insertion(m: &Matter, rng: &mut Rng) -> String {
    if rng.chance(0.5) {
        return rng.pick(HARDSHIPS).to_string();
    }
    // A new event with a new date.
    let mut slots = m.slots.clone();
    let base = match m.slots.get("date2") {
        Some(Slot::Date(d)) => *d,
        _ => some_date(rng),
    };
    slots.insert("d", Slot::Date(base + Duration::days(rng.range(30, 400) as i64)));
    slots.insert("n", Slot::Text(rng.range(3, 80).to_string()));
    slots.insert("ticket", Slot::Text(format!("{}", rng.range(10_000_000, 99_999_999))));
    let template = *rng.pick(EVENTS);
    fill(template, &slots, rng)
}

fn variant(kind: Kind, m: &Matter, p: &Petitioner, source: &[String], rng: &mut Rng) -> Vec<String> {
    let paraphrase = Rendering { rephrase: 0.8, synonyms: 0.5, omit: 0.15, habits: false };
    match kind {
        Kind::Paraphrase => render(m, p, paraphrase, rng),
        Kind::Reorder => {
            let mut s = source.to_vec();
            if s.len() <= 2 {
                // One sentence: reorder its clauses.
                let joined = s.join("");
                let mut parts: Vec<&str> = joined.split('，').collect();
                rng.shuffle(&mut parts);
                return vec![parts.join("，")];
            }
            let (lo, hi) = (1, s.len() - 1);
            rng.shuffle(&mut s[lo..hi]);
            s
        }
        Kind::Insertion => {
            let mut s = source.to_vec();
            for _ in 0..rng.range(1, 3) {
                let at = rng.range(if s.len() > 1 { 1 } else { 0 }, s.len() as u64) as usize;
                s.insert(at, insertion(m, rng));
            }
            s
        }
        Kind::Typo => source.iter().map(|x| typos(x, 0.04, rng)).collect(),
        Kind::Truncation => {
            if source.len() <= 2 {
                let joined: Vec<char> = source.join("").chars().collect();
                let keep = (joined.len() as f64 * (0.6 + 0.25 * rng.unit())).ceil() as usize;
                return vec![joined[..keep.max(6).min(joined.len())].iter().collect()];
            }
            let keep = ((source.len() as f64) * (0.4 + 0.3 * rng.unit())).ceil() as usize;
            source[..keep.clamp(2, source.len())].to_vec()
        }
        Kind::Mixed => {
            let mut s = render(m, p, paraphrase, rng);
            let at = rng.range(if s.len() > 1 { 1 } else { 0 }, s.len() as u64) as usize;
            s.insert(at, insertion(m, rng));
            s.iter().map(|x| typos(x, 0.03, rng)).collect()
        }
        Kind::Related => render(m, p, Rendering { rephrase: 0.7, synonyms: 0.4, omit: 0.2, habits: true }, rng),
        Kind::Original | Kind::Twin | Kind::OtherMatter => render(m, p, ORIGINAL, rng),
    }
}

fn join(sentences: &[String]) -> String {
    sentences.concat()
}

/// Generates `n` filings with the mix of kinds of the quality harness ([`Mix::QUALITY`]).
pub fn generate(n: usize, seed: u64) -> Corpus {
    generate_with(n, seed, &Mix::QUALITY)
}

/// Generates `n` filings with the kinds planted as often as `mix` says.
pub fn generate_with(n: usize, seed: u64, mix: &Mix) -> Corpus {
    let mut rng = Rng::new(seed);
    let mut matters: Vec<Matter> = Vec::new();
    let mut petitioners: Vec<Petitioner> = Vec::new();
    let mut filings: Vec<Filing> = Vec::new();
    let mut used: HashSet<(Category, String, usize)> = HashSet::new();
    // Two fresh matters never share category, location and complaint.
    let location = Matter::location;
    let horizon = (n as u32 / 10).max(60);
    while filings.len() < n {
        let day = rng.range(0, horizon as u64) as u32;
        let category = *rng.pick(&CATEGORIES);
        let r = rng.unit();
        let (kind, pid, matter) = if r < mix.twin && !matters.is_empty() {
            // Template twin of an earlier matter of any petitioner.
            let base_filing = rng.below(filings.len());
            let base = &filings[base_filing];
            if base.kind != Kind::Original {
                continue;
            }
            let bm = matters[base.matter].clone();
            let same_person = rng.chance(0.4);
            let pid = if same_person {
                base.petitioner
            } else {
                let mut np = petitioners[base.petitioner].neighbour(&mut rng);
                np.opening = petitioners[base.petitioner].opening;
                np.intro = petitioners[base.petitioner].intro;
                np.boiler = petitioners[base.petitioner].boiler.clone();
                np.closing = petitioners[base.petitioner].closing;
                petitioners.push(np);
                petitioners.len() - 1
            };
            let mut m = make_matter(&mut rng, bm.category, &petitioners[pid]);
            // Same complaint, phrasing, plan and demand; other specifics.
            m.subject = bm.subject;
            m.slots.insert("issue", bm.slots["issue"].clone());
            m.slots.insert("detail", bm.slots["detail"].clone());
            m.facts = bm.facts.clone();
            m.phrasing = bm.phrasing.clone();
            m.demand = bm.demand;
            m.short = bm.short;
            m.target_len = bm.target_len;
            m.extras = bm.extras.clone();
            let templates: Vec<usize> = bm.events.iter().map(|(t, _)| *t).collect();
            let start = match m.slots.get("date2") {
                Some(Slot::Date(d)) => *d,
                _ => some_date(&mut rng),
            };
            m.events = dated_events(&mut rng, &templates, start);
            if !used.insert((m.category, location(&m), m.subject)) {
                continue;
            }
            (Kind::Twin, pid, m)
        } else if r < mix.twin + mix.other_matter && !filings.is_empty() {
            // The same petitioner's other matter: same category and home, other complaint.
            let base = &filings[rng.below(filings.len())];
            if base.kind != Kind::Original {
                continue;
            }
            let pid = base.petitioner;
            let bm = &matters[base.matter];
            let mut m = make_matter(&mut rng, bm.category, &petitioners[pid]);
            let subjects = words(bm.category).subjects;
            m.subject = (bm.subject + 1 + rng.below(subjects.len() - 1)) % subjects.len();
            let (issue, details) = subjects[m.subject];
            m.slots.insert("issue", Slot::Text(issue.to_owned()));
            m.slots.insert("detail", Slot::Text(rng.pick(details).to_string()));
            // Often about the same home, unit, school or official as the first matter.
            let (keep, p_keep): (&[&str], f64) = match bm.category {
                Category::Property => (&["estate", "place", "org", "org2"], 1.0),
                Category::Environment => (&["org"], 0.5),
                Category::Education => (&["school", "child", "grade", "official"], 0.5),
                Category::Medical => (&["hospital", "relative", "patient"], 0.5),
                Category::Social => (&["org"], 0.5),
                Category::Wages => (&["org"], 0.3),
                Category::Discipline => (&["official"], 0.5),
                _ => (&[], 0.0),
            };
            if rng.chance(p_keep) {
                for k in keep {
                    if let Some(v) = bm.slots.get(k) {
                        m.slots.insert(*k, v.clone());
                    }
                }
                m.respondent = bm.respondent.clone();
            }
            if !used.insert((m.category, location(&m), m.subject)) {
                continue;
            }
            (Kind::OtherMatter, pid, m)
        } else {
            let district = rng.below(DISTRICTS.len());
            // Land disputes and village officials are rural matters.
            let urban = matches!(category, Category::Land).then_some(false);
            let p = Petitioner::new(&mut rng, district, urban);
            petitioners.push(p);
            let pid = petitioners.len() - 1;
            let m = make_matter(&mut rng, category, &petitioners[pid]);
            if !used.insert((m.category, location(&m), m.subject)) {
                petitioners.pop();
                continue;
            }
            (Kind::Original, pid, m)
        };
        matters.push(matter);
        let mid = matters.len() - 1;
        let sentences = variant(kind, &matters[mid], &petitioners[pid], &[], &mut rng);
        filings.push(Filing { text: join(&sentences), matter: mid, petitioner: pid, kind, source: None, day });
        let first = filings.len() - 1;
        // Repeats by the same petitioner.
        if rng.chance(mix.repeats) {
            for _ in 0..rng.range(1, 3) {
                let kind = *rng.pick(&REPEAT_KINDS);
                let v = variant(kind, &matters[mid], &petitioners[pid], &sentences, &mut rng);
                let day = day + rng.range(1, 120) as u32;
                filings.push(Filing { text: join(&v), matter: mid, petitioner: pid, kind, source: Some(first), day });
            }
        }
        // The same matter from other petitioners.
        if rng.chance(mix.related) {
            for _ in 0..rng.range(1, 2) {
                let np = petitioners[pid].neighbour(&mut rng);
                petitioners.push(np);
                let npid = petitioners.len() - 1;
                let v = variant(Kind::Related, &matters[mid], &petitioners[npid], &sentences, &mut rng);
                let day = day + rng.range(0, 90) as u32;
                filings.push(Filing {
                    text: join(&v),
                    matter: mid,
                    petitioner: npid,
                    kind: Kind::Related,
                    source: Some(first),
                    day,
                });
            }
        }
    }
    filings.truncate(n);
    // File in time order (a variant never before its source: ties keep generation order).
    let mut order: Vec<usize> = (0..filings.len()).collect();
    order.sort_by_key(|&i| (filings[i].day, i));
    let position: HashMap<usize, usize> = order.iter().enumerate().map(|(new, &old)| (old, new)).collect();
    let mut sorted: Vec<Filing> = order.iter().map(|&i| filings[i].clone()).collect();
    for f in &mut sorted {
        f.source = f.source.and_then(|s| position.get(&s).copied());
    }
    // A variant whose source was cut off by the truncation to n has none.
    for (i, f) in sorted.iter_mut().enumerate() {
        if f.source.is_some_and(|s| s > i) {
            f.source = None;
        }
    }
    Corpus { filings: sorted, matters, petitioners }
}

// ---------------------------------------------------------------------------
// Mixes, and what a filing needs beyond its text

/// How often the generator plants each kind of filing. Each draw makes a
/// template twin of an earlier matter (`twin`), the same petitioner's other
/// matter (`other_matter`), or else a fresh matter; a fresh matter is filed
/// again by its petitioner 1–3 times with probability `repeats`, and by 1–2
/// neighbours with probability `related`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    pub twin: f64,
    pub other_matter: f64,
    pub repeats: f64,
    pub related: f64,
}

impl Mix {
    /// The quality harness's: many planted repeats (about 40% of the
    /// filings) and related filings (about 9%), to measure them.
    pub const QUALITY: Mix = Mix { twin: 0.12, other_matter: 0.13, repeats: 0.4, related: 0.12 };
    /// A city's archive: mostly distinct matters, about 5% repeats and 3%
    /// related filings, with the same hard negatives.
    pub const ARCHIVE: Mix = Mix { twin: 0.12, other_matter: 0.13, repeats: 0.025, related: 0.02 };
}

impl Category {
    /// A taxonomy code for it (`^[a-z0-9][a-z0-9._-]{1,63}$`).
    pub fn code(self) -> &'static str {
        match self {
            Category::Property => "property",
            Category::Demolition => "demolition",
            Category::Wages => "wages",
            Category::Land => "land",
            Category::Environment => "environment",
            Category::Education => "education",
            Category::Medical => "medical",
            Category::Traffic => "traffic",
            Category::Social => "social",
            Category::Discipline => "discipline",
        }
    }

    /// Its name in a taxonomy.
    pub fn name(self) -> &'static str {
        match self {
            Category::Property => "物业管理",
            Category::Demolition => "房屋征收",
            Category::Wages => "劳动工资",
            Category::Land => "土地承包",
            Category::Environment => "生态环境",
            Category::Education => "教育",
            Category::Medical => "医疗卫生",
            Category::Traffic => "交通管理",
            Category::Social => "社会保障",
            Category::Discipline => "党纪政纪",
        }
    }
}

impl Matter {
    /// Where the matter is: its estate, place, unit, school, hospital,
    /// project, road or official (what makes two matters of one complaint
    /// different).
    pub fn location(&self) -> String {
        ["estate", "place", "org", "school", "hospital", "project", "road", "official"]
            .iter()
            .find_map(|k| match self.slots.get(k) {
                Some(Slot::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// A title for a filing of it: where, and the complaint (at most 100 characters).
    pub fn title(&self) -> String {
        let issue = match self.slots.get("issue") {
            Some(Slot::Text(t)) => t.as_str(),
            _ => "",
        };
        format!("{}{issue}", self.location()).chars().take(100).collect()
    }

    /// What `p` asks for, as the separate requests of a filing (the text
    /// asks too, maybe in other words).
    pub fn requests(&self, p: &Petitioner, rng: &mut Rng) -> String {
        let w = words(self.category);
        let mut slots = self.slots.clone();
        slots.insert("name", Slot::Text(p.name.clone()));
        slots.insert("home", Slot::Text(format!("{}{}", p.home(), p.address)));
        slots.insert("role", Slot::Text(w.role.to_owned()));
        fill(w.demands[self.demand], &slots, rng)
    }
}

/// The sentences of a text, each with its closing mark.
fn sentences_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut sentence = String::new();
    for c in text.chars() {
        sentence.push(c);
        if matches!(c, '。' | '！' | '？') {
            out.push(std::mem::take(&mut sentence));
        }
    }
    if !sentence.is_empty() {
        out.push(sentence);
    }
    out
}

impl Corpus {
    pub fn new() -> Self {
        Self { filings: Vec::new(), matters: Vec::new(), petitioners: Vec::new() }
    }

    /// Appends `other`'s filings after these (its matters and petitioners
    /// are others: corpora of different seeds share nobody).
    pub fn append(&mut self, other: Corpus) {
        let (filings, matters, petitioners) = (self.filings.len(), self.matters.len(), self.petitioners.len());
        self.filings.extend(other.filings.into_iter().map(|mut f| {
            f.matter += matters;
            f.petitioner += petitioners;
            f.source = f.source.map(|s| s + filings);
            f
        }));
        self.matters.extend(other.matters);
        self.petitioners.extend(other.petitioners);
    }

    /// Filing `i` written again as `kind`: by its petitioner for one of
    /// [`REPEAT_KINDS`], by a neighbour of theirs for [`Kind::Related`].
    pub fn rewrite(&self, i: usize, kind: Kind, rng: &mut Rng) -> String {
        let f = &self.filings[i];
        let (m, p) = (&self.matters[f.matter], &self.petitioners[f.petitioner]);
        let source = sentences_of(&f.text);
        if kind == Kind::Related {
            let neighbour = p.neighbour(rng);
            join(&variant(kind, m, &neighbour, &source, rng))
        } else {
            join(&variant(kind, m, p, &source, rng))
        }
    }
}

impl Default for Corpus {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use petition_server::similarity::normalize::Normalized;
    use petition_server::similarity::shingles::{SpecificKind, specifics};

    use super::*;

    fn specific_texts(text: &str) -> Vec<(SpecificKind, String)> {
        specifics(&Normalized::new(text)).into_iter().map(|s| (s.kind, s.text)).collect()
    }

    #[test]
    fn chinese_numbers() {
        assert_eq!(chinese_number(35_000), "三万五千");
        assert_eq!(chinese_number(10_005), "一万零五");
        assert_eq!(chinese_number(120), "一百二十");
        assert_eq!(chinese_number(1_005), "一千零五");
        assert_eq!(chinese_number(5_148_000), "五百一十四万八千");
        assert_eq!(chinese_number(0), "零");
    }

    #[test]
    fn every_arabic_amount_form_reads_as_the_same_amount() {
        let mut rng = Rng::new(1);
        // Multiples of 100: the 万元 form keeps two decimals (a petitioner rounds the rest away).
        for v in [35_000u64, 12_800, 999, 2_040_200] {
            for _ in 0..50 {
                let written = Slot::Amount(v).render(&mut rng);
                if written.chars().any(|c| c.is_ascii_digit()) {
                    let found = specific_texts(&written);
                    assert!(found.contains(&(SpecificKind::Amount, format!("{v}元"))), "{written}: {found:?}");
                }
            }
        }
    }

    #[test]
    fn every_date_form_keeps_month_and_day() {
        let mut rng = Rng::new(2);
        let d = NaiveDate::from_ymd_opt(2023, 5, 12).expect("a date");
        for _ in 0..50 {
            let written = Slot::Date(d).render(&mut rng);
            let found = specific_texts(&format!("于{written}签订"));
            assert!(found.contains(&(SpecificKind::Date, "5月12日".to_owned())), "{written}: {found:?}");
        }
    }

    #[test]
    fn fill_replaces_slots() {
        let mut rng = Rng::new(3);
        let mut slots = Slots::new();
        slots.insert("org", Slot::Text("宏达公司".to_owned()));
        assert_eq!(fill("找{org}讨薪，{org}不理", &slots, &mut rng), "找宏达公司讨薪，宏达公司不理");
    }

    #[test]
    fn corpus_is_deterministic_labelled_and_in_time_order() {
        let a = generate(600, 7);
        let b = generate(600, 7);
        assert_eq!(a.filings.len(), 600);
        assert!(a.filings.iter().zip(&b.filings).all(|(x, y)| x.text == y.text && x.kind == y.kind));
        assert!(a.filings.windows(2).all(|w| w[0].day <= w[1].day));
        for (i, f) in a.filings.iter().enumerate() {
            assert!(!f.text.is_empty());
            if let Some(s) = f.source {
                assert!(s < i);
                assert_eq!(a.filings[s].matter, f.matter);
                assert_eq!(f.kind == Kind::Related, a.filings[s].petitioner != f.petitioner);
            }
        }
        let kinds: HashSet<Kind> = a.filings.iter().map(|f| f.kind).collect();
        for k in REPEAT_KINDS.iter().chain(&[Kind::Original, Kind::Related, Kind::Twin, Kind::OtherMatter]) {
            assert!(kinds.contains(k), "{k:?} missing");
        }
    }

    #[test]
    fn an_archive_is_mostly_distinct_matters() {
        let corpus = generate_with(5000, 11, &Mix::ARCHIVE);
        let planted = corpus.filings.iter().filter(|f| f.source.is_some()).count();
        let share = planted as f64 / corpus.filings.len() as f64;
        assert!((0.03..0.15).contains(&share), "{share}");
    }

    #[test]
    fn appended_corpora_keep_their_links() {
        let mut all = generate(300, 1);
        let second = generate(200, 2);
        let (texts, matters) = (second.filings[150].text.clone(), second.matters.len());
        all.append(second);
        assert_eq!(all.filings.len(), 500);
        assert_eq!(all.filings[450].text, texts);
        assert_eq!(all.matters.len(), generate(300, 1).matters.len() + matters);
        for (i, f) in all.filings.iter().enumerate() {
            if let Some(s) = f.source {
                assert!(s < i && all.filings[s].matter == f.matter);
            }
        }
    }

    #[test]
    fn titles_requests_and_rewrites_fit_a_filing() {
        let corpus = generate(400, 5);
        let mut rng = Rng::new(9);
        for (i, f) in corpus.filings.iter().enumerate() {
            let m = &corpus.matters[f.matter];
            let title = m.title();
            assert!((1..=100).contains(&title.chars().count()), "{title}");
            let requests = m.requests(&corpus.petitioners[f.petitioner], &mut rng);
            assert!(!requests.is_empty() && !requests.contains('{'), "{requests}");
            for kind in REPEAT_KINDS.iter().chain(&[Kind::Related]) {
                assert!(!corpus.rewrite(i, *kind, &mut rng).is_empty());
            }
        }
    }
}
