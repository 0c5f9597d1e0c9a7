//! A labelled corpus in the manner of a city leadership message board
//! (市长信箱 / 领导留言板): users, subject lines, dates and bodies, written
//! from how people write to such a board, not from what the detector reads.
//!
//! * Users write in one voice: the same salutation, self-introduction
//!   (with their district and estate) and closing in every letter. A few
//!   prolific users write about many unrelated matters (air quality,
//!   teachers' pay, the metro, prices, their estate, a shop).
//! * A matter is a set of facts (a place, an organization, a sum, a date,
//!   a detail); every letter about it is rendered anew from the facts:
//!   other sentences, other order, the sum written another way (7000元,
//!   七千元, 七千块, 0.7万元; 三万余元 for about 30000).
//! * Follow-ups refer back ("我于2019年3月12日反映过……至今未解决") and add
//!   new dates and details; some are short.
//! * Two-topic letters raise a new matter and repeat an earlier one.
//! * Short messages: one or two sentences.
//! * Names are long or unusual (聚捷飞迈网络有限公司, 龙湾国际社区,
//!   梅溪湖公园, 窑岭遗址, 望城站, 金星村3组); districts are anonymised
//!   (A3区), as on the published boards.
//!
//! Labels: each letter's matters (two for a two-topic letter); two letters
//! of one user are the same matter when they share one. Phenomena are
//! tagged per letter so that a harness reports per phenomenon.

use crate::petition_texts::Rng;

/// What a letter shows, for per-phenomenon figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phenomenon {
    /// Written by a user with many letters on unrelated matters.
    Prolific,
    /// Refers back to an earlier letter of the matter.
    FollowUp,
    /// A new letter on a matter already raised, without referring back.
    Reworded,
    /// A sum written in Chinese numerals or a mixed form.
    Numerals,
    /// The matter's place or organization has a long or unusual name.
    LongName,
    /// Raises two matters.
    TwoTopic,
    /// One or two sentences.
    Short,
    /// Another matter at the user's own estate or about the same kind of thing.
    SameTopic,
}

impl Phenomenon {
    pub const ALL: [Phenomenon; 8] = [
        Phenomenon::Prolific,
        Phenomenon::FollowUp,
        Phenomenon::Reworded,
        Phenomenon::Numerals,
        Phenomenon::LongName,
        Phenomenon::TwoTopic,
        Phenomenon::Short,
        Phenomenon::SameTopic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phenomenon::Prolific => "prolific user",
            Phenomenon::FollowUp => "follow-up",
            Phenomenon::Reworded => "reworded repeat",
            Phenomenon::Numerals => "numerals",
            Phenomenon::LongName => "long names",
            Phenomenon::TwoTopic => "two-topic",
            Phenomenon::Short => "short",
            Phenomenon::SameTopic => "same topic, other matter",
        }
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// One message to the board.
#[derive(Debug, Clone)]
pub struct Letter {
    pub user: usize,
    /// Days since 2019-01-01.
    pub day: u32,
    pub subject: String,
    pub body: String,
    /// The matters it raises (one, or two for a two-topic letter).
    pub matters: Vec<usize>,
    phenomena: u16,
}

impl Letter {
    pub fn has(&self, p: Phenomenon) -> bool {
        self.phenomena & p.bit() != 0
    }

    /// Subject line and body, as stored for a case.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.subject, self.body)
    }

    /// Same matter (for letters of one user).
    pub fn same_matter(&self, other: &Letter) -> bool {
        self.matters.iter().any(|m| other.matters.contains(m))
    }
}

#[derive(Debug, Clone)]
pub struct BoardCorpus {
    pub letters: Vec<Letter>,
    pub users: usize,
}

// ---------------------------------------------------------------------------
// Names

const BRAND: &[&str] = &[
    "聚捷", "飞迈", "龙湾", "梅溪", "金茂", "恒泰", "华润", "锦绣", "博雅", "星河", "鑫源", "盛世", "天悦", "云顶",
    "汇丰", "新月", "御景", "滨湖", "翠微", "康桥", "丰泽", "瑞达", "宏图", "君澜", "碧桂", "融创", "中梁", "阳光",
    "紫荆", "凤凰", "麓谷", "洋湖", "湘江", "岳麓", "望月", "枫林", "桐梓", "金霞", "高岭", "雨花", "暮云", "黎托",
    "洞井", "圭塘", "坪塘", "含浦", "白沙", "捞刀", "霞凝", "星沙", "榔梨", "黄兴", "安沙", "跳马", "同升", "东塘",
];
const INDUSTRY: &[&str] = &[
    "网络",
    "科技",
    "置业",
    "物业服务",
    "建设工程",
    "餐饮管理",
    "教育咨询",
    "健身服务",
    "房地产开发",
    "汽车销售",
    "信息技术",
    "环保科技",
    "商贸",
    "文化传媒",
    "劳务派遣",
    "装饰工程",
];
const ORG_END: &[&str] = &["有限公司", "有限责任公司", "股份有限公司"];
const ESTATE_END: &[&str] =
    &["国际社区", "花园", "小区", "苑", "城", "府", "湾", "家园", "新村", "华庭", "公馆", "壹号", "悦府", "雅苑"];
const PUBLIC_END: &[&str] = &["公园", "遗址", "广场", "湿地公园", "文化广场", "古城遗址"];
const VILLAGE_END: &[&str] = &["村", "社区"];
const ROAD_END: &[&str] = &["路", "大道", "街"];
const SCHOOL_END: &[&str] = &["小学", "中学", "实验学校", "幼儿园", "双语学校"];

/// One of `xs`, at random.
fn one(rng: &mut Rng, xs: &[&'static str]) -> &'static str {
    xs[rng.below(xs.len())]
}

fn brand(rng: &mut Rng) -> String {
    if rng.chance(0.3) { format!("{}{}", rng.pick(BRAND), rng.pick(BRAND)) } else { rng.pick(BRAND).to_string() }
}

fn district(rng: &mut Rng) -> String {
    format!("A{}区", rng.range(1, 9))
}

fn company(rng: &mut Rng) -> String {
    let b = brand(rng);
    format!("{b}{}{}", rng.pick(INDUSTRY), rng.pick(ORG_END))
}

fn estate(rng: &mut Rng) -> String {
    format!("{}{}", brand(rng), rng.pick(ESTATE_END))
}

// ---------------------------------------------------------------------------
// Numbers as people write them

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// A whole number below 10^8 in Chinese numerals (两 for a leading 2 of 千/万).
pub fn chinese(n: u64) -> String {
    fn below_10k(n: u64, out: &mut String, leading: bool) {
        let parts = [(1000, "千"), (100, "百"), (10, "十"), (1, "")];
        let mut zero = false;
        let mut started = !leading;
        for (unit, name) in parts {
            let d = (n / unit) % 10;
            if d == 0 {
                zero = started;
                continue;
            }
            if zero {
                out.push('零');
                zero = false;
            }
            if d == 2 && unit >= 1000 {
                out.push('两');
            } else if !(d == 1 && unit == 10 && !started) {
                out.push_str(DIGITS[d as usize]);
            }
            out.push_str(name);
            started = true;
        }
    }
    let mut out = String::new();
    let (wan, rest) = (n / 10_000, n % 10_000);
    if wan > 0 {
        if wan == 2 {
            out.push('两');
        } else {
            below_10k(wan, &mut out, true);
        }
        out.push('万');
        if rest > 0 {
            below_10k(rest, &mut out, false);
        }
    } else {
        below_10k(rest, &mut out, true);
    }
    if out.is_empty() { "零".to_owned() } else { out }
}

/// A sum of money as one person might write it: arabic, Chinese, mixed.
fn money(rng: &mut Rng, yuan: u64, about: bool) -> (String, bool) {
    let round_wan = yuan.is_multiple_of(10_000);
    let round_thousand = yuan.is_multiple_of(1000);
    let more = if about { *rng.pick(&["余", "多"]) } else { "" };
    match rng.below(6) {
        0 | 1 => (format!("{yuan}{more}元"), false),
        2 if round_wan => (format!("{}万{more}元", yuan / 10_000), true),
        2 | 3 if round_thousand && !round_wan && yuan > 10_000 => {
            (format!("{}万{more}元", yuan as f64 / 10_000.0), true)
        }
        3 if round_wan => (format!("{}{more}万", chinese(yuan / 10_000)), true),
        4 if round_thousand && yuan < 10_000 => (format!("{}{more}块", chinese(yuan)), true),
        _ => (format!("{}{more}元", chinese(yuan)), true),
    }
}

fn round_sum(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => rng.range(2, 9) * 1000,
        1 => rng.range(1, 30) * 10_000,
        2 => rng.range(11, 99) * 1000,
        _ => rng.range(21, 95) * 100,
    }
}

struct Date {
    day: u32,
}

impl Date {
    fn ymd(&self) -> (u32, u32, u32) {
        let y = 2018 + self.day / 360;
        let m = (self.day % 360) / 30 + 1;
        let d = self.day % 30 + 1;
        (y, m, d.min(28))
    }

    fn full(&self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y}年{m}月{d}日")
    }

    fn month(&self) -> String {
        let (y, m, _) = self.ymd();
        format!("{y}年{m}月")
    }

    fn short(&self) -> String {
        let (_, m, d) = self.ymd();
        format!("{m}月{d}日")
    }

    fn any(&self, rng: &mut Rng) -> String {
        match rng.below(3) {
            0 => self.full(),
            1 => self.month(),
            _ => self.short(),
        }
    }
}

// ---------------------------------------------------------------------------
// Topics

/// A kind of matter and how people write about it. In the templates `{P}` is
/// the place, `{O}` the organization, `{D}` the district, `{M}` the sum,
/// `{T}` the date, `{N}` a count, `{X}` the matter's own detail.
struct Topic {
    subjects: &'static [&'static str],
    facts: &'static [&'static str],
    asks: &'static [&'static str],
    details: &'static [&'static str],
    place: PlaceKind,
    org: bool,
    sum: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum PlaceKind {
    /// The user's own estate.
    Home,
    Estate,
    Public,
    Village,
    Road,
    School,
    Station,
    /// No place: an opinion about the city.
    None,
}

const TOPICS: &[Topic] = &[
    Topic {
        subjects: &["{O}拖欠工资", "关于{O}拖欠农民工工资的问题", "请求帮助讨薪", "{P}项目欠薪问题"],
        facts: &[
            "我们{N}名工人从{T}开始在{O}承建的{P}项目上做事",
            "{O}到现在还欠我们工资{M}",
            "工程早就完工了，{O}一直拖着不给钱",
            "我们多次去{O}找负责人，对方总是推说资金没到位",
            "{X}",
            "劳动监察大队也去反映过，一直没有下文",
            "这笔钱是我们一家人的生活费",
        ],
        asks: &["恳请领导督促{O}尽快支付工资", "希望有关部门帮我们把工钱要回来", "请政府为我们农民工做主"],
        details: &[
            "包工头已经联系不上了",
            "公司说要等甲方付款才能结账",
            "年底回家的路费都没有",
            "有几位工友已经生病住院",
        ],
        place: PlaceKind::Estate,
        org: true,
        sum: true,
    },
    Topic {
        subjects: &["{P}物业乱收费", "{P}物业问题", "投诉{O}", "关于{P}物业服务的投诉"],
        facts: &[
            "{O}今年起把物业费涨到每平方米{N}元",
            "{O}还要每户收取{M}的停车管理费",
            "小区的{X}",
            "业主多次找物业沟通，物业态度很差",
            "物业服务质量很差，却一直涨价",
            "我们向街道反映过，没有结果",
        ],
        asks: &["请相关部门查处{O}的乱收费行为", "希望政府规范{P}的物业管理", "请领导关注我们业主的合法权益"],
        details: &["电梯经常坏，一坏就是半个月", "垃圾没人清理，臭气熏天", "地下车库积水严重", "门禁坏了一直没修"],
        place: PlaceKind::Home,
        org: true,
        sum: true,
    },
    Topic {
        subjects: &["{P}噪音扰民", "{P}晚上太吵", "关于{P}噪音问题", "投诉{P}扰民"],
        facts: &[
            "{P}每天晚上都有人跳广场舞，音响开得很大",
            "从晚上七点一直闹到十点多",
            "{X}",
            "附近居民无法正常休息，老人小孩深受其害",
            "我们打过12345，也报过警，管几天又照旧",
            "{T}晚上更是闹到十一点",
        ],
        asks: &["请有关部门管一管{P}的噪音", "希望政府出台措施治理噪音扰民", "恳请领导还我们一个安静的环境"],
        details: &["家里有高考的孩子", "有人还在用高音喇叭唱歌", "周边还有夜宵摊占道经营", "我母亲有心脏病受不了"],
        place: PlaceKind::Public,
        org: false,
        sum: false,
    },
    Topic {
        subjects: &["{P}延期交房", "{O}逾期交房", "关于{P}楼盘不能按时交房的问题", "{P}业主维权"],
        facts: &[
            "我于{T}购买了{O}开发的{P}的房子",
            "合同约定的交房时间早就过了，到现在还没交房",
            "我已经交了首付{M}，每月还在还房贷",
            "{X}",
            "开发商一直说在办手续，让我们等",
            "我们{N}多户业主都是这种情况",
        ],
        asks: &["请住建部门督促{O}尽快交房", "请求政府帮助我们业主维权", "希望领导过问{P}延期交房的事"],
        details: &[
            "工地已经停工好几个月",
            "样板房和实际的完全不一样",
            "开发商的售楼部已经关门",
            "小区的配套学校也没有建",
        ],
        place: PlaceKind::Estate,
        org: true,
        sum: true,
    },
    Topic {
        subjects: &["{P}乱收费", "{P}收取不合理费用", "关于{P}收费的问题", "反映{P}的问题"],
        facts: &[
            "我的孩子在{P}读书",
            "学校以各种名义向每位学生收取{M}的费用",
            "{X}",
            "家长们敢怒不敢言，怕孩子受影响",
            "这种收费没有任何收据",
            "{T}学校又通知交钱",
        ],
        asks: &["请教育局查处{P}的乱收费", "希望教育部门规范学校收费", "恳请领导关注{P}的问题"],
        details: &["说是资料费和辅导费", "老师在校外办补习班逼学生参加", "校服每套要几百元", "食堂的饭菜质量很差"],
        place: PlaceKind::School,
        org: false,
        sum: true,
    },
    Topic {
        subjects: &["{P}被破坏", "保护{P}", "关于{P}保护的建议", "{P}的问题"],
        facts: &[
            "{D}的{P}是我们这里的老地方",
            "最近有人在{P}里面{X}",
            "{P}的环境越来越差，游客也少了",
            "我们附近的居民都很痛心",
            "{T}我去看的时候情况更严重了",
        ],
        asks: &["请有关部门保护好{P}", "希望政府重视{P}的保护和管理", "请领导派人去{P}看一看"],
        details: &["挖土建房", "倾倒建筑垃圾", "砍树搭棚子", "开餐馆排污水"],
        place: PlaceKind::Public,
        org: false,
        sum: false,
    },
    Topic {
        subjects: &["{O}欺诈消费者", "{O}卷款跑路", "投诉{O}", "关于{O}退费的问题"],
        facts: &[
            "我在{O}办了一张卡，一次性交了{M}",
            "现在{O}的门店已经关门，人也找不到了",
            "{X}",
            "和我一样被骗的还有{N}多人",
            "我们去市场监管局投诉过，说让我们等",
            "{T}我还去店里看过，已经人去楼空",
        ],
        asks: &["请政府帮我们追回钱款", "请有关部门查处{O}", "希望领导关注预付卡消费的问题"],
        details: &[
            "店员当时保证可以随时退款",
            "老板换了个名字又开了一家店",
            "合同上写的公司和收款的不是一家",
            "客服电话一直打不通",
        ],
        place: PlaceKind::None,
        org: true,
        sum: true,
    },
    Topic {
        subjects: &["{P}征地补偿问题", "{P}拆迁补偿不合理", "关于{P}征收补偿的问题", "请求解决{P}征地款"],
        facts: &[
            "我是{P}的村民，家里的房子和地在{T}被征收",
            "房屋面积{N}平方米，只补偿了{M}",
            "{X}",
            "同样的情况别人家补偿得多得多",
            "我们找过镇里和区里，都说按政策办",
        ],
        asks: &["请政府按政策给我们合理补偿", "希望领导调查{P}的征地补偿问题", "请求有关部门公开补偿标准"],
        details: &["村干部的亲戚补偿了双倍", "青苗补偿到现在没有发", "安置房迟迟没有建好", "补偿协议是被逼着签的"],
        place: PlaceKind::Village,
        org: false,
        sum: true,
    },
    Topic {
        subjects: &["{P}附近{O}污染", "{O}排污问题", "关于{O}污染环境的投诉", "{P}空气污染"],
        facts: &[
            "{P}附近的{O}长期排放废气",
            "一到晚上气味特别刺鼻",
            "{X}",
            "周边{N}多户居民深受其害",
            "我们向环保部门反映过，说已经整改，但情况没有好转",
            "{T}又闻到了很大的气味",
        ],
        asks: &["请环保部门彻查{O}", "希望政府让{O}停产整改", "恳请领导重视我们的健康"],
        details: &["附近的鱼塘死了很多鱼", "很多孩子咳嗽不止", "废水直接排进河里", "晚上偷偷开工"],
        place: PlaceKind::Village,
        org: true,
        sum: false,
    },
    Topic {
        subjects: &["{P}交通问题", "建议在{P}增设红绿灯", "{P}一带拥堵", "关于{P}的交通建议"],
        facts: &[
            "{D}{P}和附近道路交叉的路口没有红绿灯",
            "上下班高峰期车辆拥堵严重",
            "{X}",
            "{T}这里又发生了一起车祸",
            "附近有学校，孩子过马路很危险",
        ],
        asks: &["建议交警部门在{P}增设信号灯", "希望有关部门尽快改善{P}的交通", "请领导重视{P}的交通安全"],
        details: &["大货车经常闯进来", "人行道被车占满了", "路面坑洼不平", "公交站设置不合理"],
        place: PlaceKind::Road,
        org: false,
        sum: false,
    },
    Topic {
        subjects: &["地铁{P}的问题", "建议{P}增加出口", "关于地铁{P}的建议", "{P}的问题"],
        facts: &[
            "地铁{P}只有一个出口开放",
            "{X}",
            "早晚高峰人挤人，非常不方便",
            "附近几个小区的居民都要绕很远的路",
            "{T}我在{P}等了很久",
        ],
        asks: &["建议地铁公司尽快开放{P}的其他出口", "希望有关部门改善{P}的设施", "请领导关注市民出行"],
        details: &["电梯经常停运", "站外没有公交接驳", "共享单车乱停乱放堵住出口", "站内指示牌不清楚"],
        place: PlaceKind::Station,
        org: false,
        sum: false,
    },
];

/// Opinions about the city with no place of their own: what prolific
/// users write most.
const OPINIONS: &[(&str, &[&str])] = &[
    (
        "关于改善空气质量的建议",
        &[
            "最近A市的空气质量越来越差，雾霾天很多",
            "建议政府加大对工地扬尘和汽车尾气的治理",
            "很多市民出门都要戴口罩",
            "希望能像其他城市一样公布每天的污染源",
        ],
    ),
    (
        "关于提高教师待遇的建议",
        &[
            "我们这里的中小学教师工资偏低，还经常拖欠绩效",
            "教师的工资不低于公务员是国家的要求",
            "很多年轻老师因为待遇低都辞职了",
            "希望政府落实教师待遇，稳定教师队伍",
        ],
    ),
    (
        "关于地铁运营时间的建议",
        &[
            "A市地铁晚上十点半就停运了，太早了",
            "很多加班的市民只能打车回家",
            "建议地铁延长运营到晚上十二点",
            "节假日也应该适当延长运营时间",
        ],
    ),
    (
        "物价上涨太快",
        &[
            "最近猪肉和蔬菜的价格涨得太快",
            "普通老百姓的生活压力越来越大",
            "希望政府加强物价监管，稳定菜价",
            "有些超市趁机哄抬物价",
        ],
    ),
    (
        "关于垃圾分类的建议",
        &[
            "小区推行垃圾分类，但是垃圾桶设置不合理",
            "分好的垃圾又被混在一起运走",
            "建议先把后端的分类运输做好",
            "宣传也要跟上，很多老人不知道怎么分",
        ],
    ),
    (
        "停车难的问题",
        &[
            "老城区停车太难，车位严重不足",
            "路边停车收费越来越贵",
            "建议利用闲置地块多建公共停车场",
            "晚上回家经常找不到车位",
        ],
    ),
    (
        "关于医保报销的建议",
        &[
            "异地就医的医保报销手续太复杂",
            "老人跑好几趟都办不下来",
            "建议简化报销流程，推行网上办理",
            "门诊报销的比例也太低了",
        ],
    ),
    (
        "关于公积金贷款的问题",
        &[
            "公积金贷款额度太低，审批时间太长",
            "很多银行不愿意办理公积金贷款",
            "建议提高公积金贷款的额度",
            "希望公积金中心提高办事效率",
        ],
    ),
    (
        "关于学位紧张的问题",
        &[
            "我们片区的小学学位太紧张",
            "很多孩子只能去很远的学校读书",
            "新建的小区越来越多，学校却没有增加",
            "希望政府尽快规划建设新学校",
        ],
    ),
    (
        "共享单车乱停放",
        &[
            "街上共享单车越来越多，到处乱停",
            "人行道和盲道都被堵住了",
            "建议规定停放区域，加强管理",
            "坏掉的单车也没有人回收",
        ],
    ),
    (
        "关于夜市摊点的建议",
        &["晚上路边的夜市摊点越来越多", "油烟和噪音影响周边居民", "建议划定区域集中经营", "也要照顾摊贩的生计"],
    ),
    (
        "关于老旧小区改造的建议",
        &[
            "很多老旧小区没有电梯，老人上下楼很难",
            "外墙和水管也老化了",
            "建议政府加快老旧小区改造",
            "加装电梯的补贴标准应该公开",
        ],
    ),
];

// ---------------------------------------------------------------------------
// Users and matters

struct Voice {
    salutation: &'static str,
    intro: String,
    closing: &'static str,
    sign: String,
}

const SALUTATIONS: &[&str] = &[
    "尊敬的胡书记：",
    "尊敬的市委市政府领导：",
    "尊敬的市长您好！",
    "领导您好，",
    "尊敬的领导：",
    "胡书记您好！",
    "",
    "",
];
const CLOSINGS: &[&str] = &[
    "恳请市委市政府重视，谢谢！",
    "希望政府能够重视，尽快解决，谢谢领导！",
    "望领导百忙之中给予关注。",
    "谢谢！",
    "希望能得到回复。",
    "期盼早日解决，谢谢胡书记！",
    "",
];
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗";

struct User {
    district: String,
    home: String,
    voice: Voice,
}

fn user(rng: &mut Rng) -> User {
    let district = district(rng);
    let home = estate(rng);
    let surnames: Vec<char> = SURNAMES.chars().collect();
    let surname = *rng.pick(&surnames);
    let intro = match rng.below(5) {
        0 => format!("我是{district}{home}的一名业主。"),
        1 => format!("本人是A市{district}的一名普通市民，住在{home}。"),
        2 => format!("我是住在{district}{home}的居民。"),
        3 => "我是一名普通市民。".to_owned(),
        _ => String::new(),
    };
    let sign = if rng.chance(0.4) { format!("{district}市民{surname}先生") } else { String::new() };
    let voice = Voice { salutation: one(rng, SALUTATIONS), intro, closing: one(rng, CLOSINGS), sign };
    User { district, home, voice }
}

/// The facts of one matter.
struct Matter {
    /// Index in [`TOPICS`], or `TOPICS.len() + i` for opinion `i`.
    topic: usize,
    place: String,
    org: String,
    sum: u64,
    about: bool,
    count: u64,
    date: Date,
    detail: &'static str,
    long_name: bool,
}

fn matter(rng: &mut Rng, user: &User, topic: usize, day: u32) -> Matter {
    let date = Date { day: day.saturating_sub(rng.range(3, 60) as u32) };
    let Some(t) = TOPICS.get(topic) else {
        return Matter {
            topic,
            place: String::new(),
            org: String::new(),
            sum: 0,
            about: false,
            count: 0,
            date,
            detail: "",
            long_name: false,
        };
    };
    let place = match t.place {
        PlaceKind::Home => user.home.clone(),
        PlaceKind::Estate => estate(rng),
        PlaceKind::Public => format!("{}{}", brand(rng), rng.pick(PUBLIC_END)),
        PlaceKind::Village => {
            let v = format!("{}{}", brand(rng), rng.pick(VILLAGE_END));
            if rng.chance(0.5) { format!("{v}{}组", rng.range(1, 12)) } else { v }
        }
        PlaceKind::Road => format!("{}{}", brand(rng), rng.pick(ROAD_END)),
        PlaceKind::School => format!("{}{}", brand(rng), rng.pick(SCHOOL_END)),
        PlaceKind::Station => format!("{}站", brand(rng)),
        PlaceKind::None => String::new(),
    };
    let org = if t.org { company(rng) } else { String::new() };
    let long_name = place.chars().count() >= 5 || org.chars().count() >= 8;
    Matter {
        topic,
        place,
        org,
        sum: if t.sum { round_sum(rng) } else { 0 },
        about: rng.chance(0.25),
        count: rng.range(3, 60),
        date,
        detail: one(rng, t.details),
        long_name,
    }
}

/// How a letter is written.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    First,
    Reworded,
    FollowUp,
    Short,
}

struct Rendered {
    subject: String,
    body: String,
    numerals: bool,
}

fn fill(template: &str, m: &Matter, user: &User, sum: &str, date: &str) -> String {
    let mut out = template.to_owned();
    for (k, v) in [
        ("{P}", m.place.as_str()),
        ("{O}", m.org.as_str()),
        ("{D}", user.district.as_str()),
        ("{M}", sum),
        ("{T}", date),
        ("{X}", m.detail),
    ] {
        out = out.replace(k, v);
    }
    out.replace("{N}", &m.count.to_string())
}

/// A short name for what the matter is about (in subjects and references).
fn gist(m: &Matter, rng: &mut Rng, user: &User) -> String {
    match TOPICS.get(m.topic) {
        Some(t) => fill(one(rng, t.subjects), m, user, "", ""),
        None => OPINIONS[m.topic - TOPICS.len()].0.to_owned(),
    }
}

/// The gist as referred back to: `关于……的问题` without its own 关于 and 的问题.
fn referred(m: &Matter, rng: &mut Rng, user: &User) -> String {
    let g = gist(m, rng, user);
    let g = g.strip_prefix("关于").unwrap_or(&g);
    let g = g.strip_suffix("的问题").unwrap_or(g);
    g.to_owned()
}

/// The matter's own sentences, `n` of them in some order.
fn sentences(m: &Matter, rng: &mut Rng, user: &User, n: usize, numerals: &mut bool) -> Vec<String> {
    let (sum, chinese) = money(rng, m.sum, m.about);
    *numerals |= chinese && m.sum > 0;
    let date = m.date.any(rng);
    let mut out: Vec<String> = match TOPICS.get(m.topic) {
        Some(t) => {
            let mut facts: Vec<&str> = t.facts.to_vec();
            rng.shuffle(&mut facts[1..]);
            facts.into_iter().map(|f| fill(f, m, user, &sum, &date)).collect()
        }
        None => {
            let mut facts: Vec<String> = OPINIONS[m.topic - TOPICS.len()].1.iter().map(|s| s.to_string()).collect();
            rng.shuffle(&mut facts);
            facts
        }
    };
    out.truncate(n.max(1));
    // The sum must be stated in letters that state one: people name it.
    if m.sum > 0 && !out.iter().any(|s| s.contains(&sum)) && rng.chance(0.7) {
        let t = &TOPICS[m.topic];
        if let Some(f) = t.facts.iter().find(|f| f.contains("{M}")) {
            out.push(fill(f, m, user, &sum, &date));
        }
    }
    out
}

fn render(m: &Matter, rng: &mut Rng, user: &User, style: Style, letter_day: u32) -> Rendered {
    let mut numerals = false;
    let asks = TOPICS.get(m.topic).map(|t| t.asks).unwrap_or(&["希望政府重视", "请领导考虑我的建议"]);
    let subject = gist(m, rng, user);
    let body = match style {
        Style::Short => {
            let s = sentences(m, rng, user, 1, &mut numerals);
            let ask = fill(one(rng, asks), m, user, "", "");
            format!("{}，{}。", s[0], ask)
        }
        Style::First | Style::Reworded => {
            let n = rng.range(3, 6) as usize;
            let s = sentences(m, rng, user, n, &mut numerals);
            format!("{}。{}。", s.join("，"), fill(one(rng, asks), m, user, "", ""))
        }
        Style::FollowUp => {
            let when = Date { day: m.date.day + rng.range(5, 30) as u32 };
            let back = match rng.below(4) {
                0 => format!("我于{}在留言板反映过{}的问题，", when.any(rng), referred(m, rng, user)),
                1 => format!("{}我曾反映过{}，", when.month(), referred(m, rng, user)),
                2 => format!("关于{}的问题，我之前已经反映过多次，", referred(m, rng, user)),
                _ => "上次反映的问题，".to_owned(),
            };
            let status =
                rng.pick(&["至今没有解决", "到现在还没有任何进展", "回复说已经处理，但情况依旧", "相关部门一直推诿"]);
            let new_date = Date { day: letter_day.saturating_sub(rng.range(1, 6) as u32) };
            let news = rng.pick(&["{T}情况更加严重了", "{T}我又去问过，还是没有结果", "{T}又发生了同样的事情"]);
            let news = news.replace("{T}", &new_date.any(rng));
            let n = rng.range(1, 4) as usize;
            let s = sentences(m, rng, user, n, &mut numerals);
            format!("{back}{status}。{news}。{}。现再次反映，{}。", s.join("，"), fill(one(rng, asks), m, user, "", ""))
        }
    };
    let subject = match style {
        Style::FollowUp => format!("{}{subject}", rng.pick(&["再次反映", "再次投诉", "", "还是"])),
        _ => subject,
    };
    Rendered { subject, body, numerals }
}

fn wrap(user: &User, body: &str, rng: &mut Rng, short: bool) -> String {
    let v = &user.voice;
    if short {
        return body.to_owned();
    }
    let mut out = String::new();
    out.push_str(v.salutation);
    out.push_str(&v.intro);
    out.push_str(body);
    out.push_str(v.closing);
    if !v.sign.is_empty() && rng.chance(0.8) {
        out.push_str(&v.sign);
    }
    out
}

/// A corpus of about `users` users' letters, deterministic in `seed`.
pub fn generate(users: usize, seed: u64) -> BoardCorpus {
    let mut rng = Rng::new(seed ^ 0x626f_6172_6421);
    let mut letters = Vec::new();
    let opinion_base = TOPICS.len();
    let mut next_matter = 0usize;
    for u in 0..users {
        let prolific = rng.chance(0.04);
        let who = user(&mut rng);
        let matters_n = if prolific { rng.range(6, 16) as usize } else { *rng.pick(&[1, 1, 1, 2, 2, 3]) };
        let mut day = rng.range(0, 300) as u32;
        // What this user has raised, with its matter id, for repeats.
        let mut raised: Vec<(usize, Matter)> = Vec::new();
        let mut topics_used: Vec<usize> = Vec::new();
        for _ in 0..matters_n {
            day += rng.range(3, 40) as u32;
            let topic = if prolific && rng.chance(0.5) {
                opinion_base + rng.below(OPINIONS.len())
            } else if !topics_used.is_empty() && rng.chance(0.25) {
                // Another matter of a kind already written about.
                *rng.pick(&topics_used)
            } else {
                rng.below(TOPICS.len())
            };
            if topic >= opinion_base && raised.iter().any(|(_, m)| m.topic == topic) {
                continue; // one matter per opinion
            }
            let same_topic = topics_used.contains(&topic);
            topics_used.push(topic);
            let m = matter(&mut rng, &who, topic, day);
            let id = next_matter;
            next_matter += 1;
            let short = rng.chance(0.12);
            let r = render(&m, &mut rng, &who, if short { Style::Short } else { Style::First }, day);
            let mut tags = 0;
            tag(&mut tags, Phenomenon::Prolific, prolific);
            tag(&mut tags, Phenomenon::Short, short);
            tag(&mut tags, Phenomenon::Numerals, r.numerals);
            tag(&mut tags, Phenomenon::LongName, m.long_name);
            tag(&mut tags, Phenomenon::SameTopic, same_topic);
            // A two-topic letter: this new matter and an earlier one again.
            let mut matters = vec![id];
            let mut body = r.body;
            if !short && !raised.is_empty() && rng.chance(0.12) {
                let (old_id, old) = &raised[rng.below(raised.len())];
                let again = render(old, &mut rng, &who, Style::Reworded, day);
                let joint = rng.pick(&["另外，还有一件事想反映：", "还有，", "另外，"]);
                body = format!("{body}{joint}{}", again.body);
                matters.push(*old_id);
                tag(&mut tags, Phenomenon::TwoTopic, true);
                tag(&mut tags, Phenomenon::Numerals, again.numerals);
                tag(&mut tags, Phenomenon::LongName, old.long_name);
            }
            letters.push(Letter {
                user: u,
                day,
                subject: r.subject,
                body: wrap(&who, &body, &mut rng, short),
                matters,
                phenomena: tags,
            });
            // Further letters on this matter.
            let more = if prolific { *rng.pick(&[0, 0, 0, 1]) } else { *rng.pick(&[0, 0, 1, 1, 2]) };
            for _ in 0..more {
                day += rng.range(10, 90) as u32;
                let style = match rng.below(10) {
                    0..=4 => Style::FollowUp,
                    5 | 6 => Style::Short,
                    _ => Style::Reworded,
                };
                let r = render(&m, &mut rng, &who, style, day);
                let mut tags = 0;
                tag(&mut tags, Phenomenon::Prolific, prolific);
                tag(&mut tags, Phenomenon::Short, style == Style::Short);
                tag(&mut tags, Phenomenon::FollowUp, style == Style::FollowUp);
                tag(&mut tags, Phenomenon::Reworded, style == Style::Reworded);
                tag(&mut tags, Phenomenon::Numerals, r.numerals);
                tag(&mut tags, Phenomenon::LongName, m.long_name);
                letters.push(Letter {
                    user: u,
                    day,
                    subject: r.subject,
                    body: wrap(&who, &r.body, &mut rng, style == Style::Short),
                    matters: vec![id],
                    phenomena: tags,
                });
            }
            raised.push((id, m));
        }
    }
    letters.sort_by_key(|l| (l.day, l.user));
    BoardCorpus { letters, users }
}

fn tag(tags: &mut u16, p: Phenomenon, on: bool) {
    if on {
        *tags |= p.bit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_numerals() {
        assert_eq!(chinese(7000), "七千");
        assert_eq!(chinese(50000), "五万");
        assert_eq!(chinese(2500), "两千五百");
        assert_eq!(chinese(12000), "一万两千");
        assert_eq!(chinese(10), "十");
        assert_eq!(chinese(15), "十五");
        assert_eq!(chinese(2050), "两千零五十");
        assert_eq!(chinese(100_000), "十万");
        assert_eq!(chinese(20_000), "两万");
        assert_eq!(chinese(30_500), "三万零五百");
    }

    #[test]
    fn deterministic_and_labelled() {
        let a = generate(200, 7);
        let b = generate(200, 7);
        assert_eq!(a.letters.len(), b.letters.len());
        assert!(a.letters.iter().zip(&b.letters).all(|(x, y)| x.body == y.body));
        assert!(a.letters.iter().any(|l| l.has(Phenomenon::FollowUp)));
        assert!(a.letters.iter().any(|l| l.matters.len() == 2));
    }
}
