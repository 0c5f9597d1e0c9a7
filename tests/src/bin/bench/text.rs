//! Realistic Chinese text for benchmark cases and citizens: what petitions
//! in a city's counties are about, in the words petitioners use.

use petition_sdk::pb;

use crate::support::Rng;

/// Where the matter arose: a residential compound, a village, a street.
pub const PLACES: &[&str] = &[
    "阳光花园小区",
    "解放街道和平村",
    "章江新区滨江苑",
    "红旗大道沿线",
    "长征大道某建筑工地",
    "水东镇虎岗村",
    "沙石镇火燃村",
    "城南农贸市场",
    "东门口老旧小区",
    "赣江源名都小区",
    "黄金岭工业园",
    "贡江镇城北社区",
    "罗坳镇步前村",
    "南外街道南河社区",
    "文清路商业街",
    "章贡中学周边",
    "翠微路公租房小区",
    "梓山镇潭头村",
    "火车站片区",
    "客家大道安置小区",
];

/// What the petition is about (the title follows the place).
pub const TITLES: &[&str] = &[
    "公共管道漏水长期无人维修",
    "拖欠农民工工资近半年未付",
    "征地补偿款迟迟未到位",
    "物业费上涨未经业主大会同意",
    "夜间施工噪音严重扰民",
    "餐饮油烟直排影响居民生活",
    "房屋办证难问题",
    "安置房质量问题",
    "电梯频繁故障存在安全隐患",
    "道路破损坑洼多年未修",
    "违章搭建侵占公共通道",
    "企业排污导致河水发黑",
    "社保断缴补缴问题",
    "子女入学划片不合理",
    "低保资格被取消有异议",
    "土地承包经营权纠纷",
    "小区停车位被开发商出售",
    "拆迁安置面积计算有误",
    "医保报销比例问题",
    "养老保险待遇核定有误",
    "村务财务不公开",
    "养殖场臭味影响周边村民",
    "自来水水压不足经常停水",
    "公交线路调整后出行不便",
    "工伤认定久拖不决",
    "商铺租金返还纠纷",
    "农村危房改造补助未发放",
    "学校周边占道经营",
];

/// Sentences of a petition's content, 25–45 characters each.
pub const SENTENCES: &[&str] = &[
    "我们小区的公共排水管道从今年春天开始漏水，至今已经三个多月。",
    "污水顺着墙面流到一楼住户家中，墙体发霉，家具也被泡坏了。",
    "业主多次向物业服务中心反映，物业只是派人来看了一下就没有下文。",
    "我在该工地做钢筋工，从去年十月干到今年三月，工资一直没有结清。",
    "包工头说开发商没有拨款，开发商又说钱已经付给了劳务公司。",
    "我们一共有二十多名工友，被拖欠的工资合计约四十六万元。",
    "家里老人生病住院急需用钱，孩子的学费也交不上，生活十分困难。",
    "二零二三年村里的耕地被征用修建道路，当时承诺半年内发放补偿款。",
    "到现在只发了一部分，剩余部分镇里说要等上级资金下来才能发放。",
    "今年一月物业公司张贴通知，将物业费从每平方米一元二角涨到一元八角。",
    "这次涨价没有召开业主大会，也没有征求大多数业主的意见。",
    "工地每天晚上施工到凌晨一两点，打桩机和渣土车的声音非常大。",
    "附近居民特别是老人和小孩根本无法正常休息，孩子第二天还要上学。",
    "我们打过环保热线，执法人员来了以后停一两天，过后照样施工。",
    "楼下新开的烧烤店油烟直接从窗户排出，整栋楼都能闻到油烟味。",
    "夏天根本不敢开窗，晾在外面的衣服也沾满了油污，严重影响生活。",
    "我们二零一八年购买的商品房，已经交房六年，至今办不了不动产证。",
    "开发商说是因为土地出让金没有缴清，我们购房者并没有任何过错。",
    "没有房产证，孩子上学和老人落户都受到影响，房子也无法交易。",
    "安置房交付不到两年，外墙瓷砖大面积脱落，多户家中天花板渗水。",
    "小区三号楼的电梯今年已经坏了十几次，上个月还困住了一位老人。",
    "物业说维修基金申请程序复杂，要等业主签字，迟迟没有彻底修好。",
    "村口到镇上的水泥路破损严重，下雨天到处是积水，电动车经常摔倒。",
    "这条路是学生上学的必经之路，家长们都很担心孩子的安全。",
    "有住户在楼道和消防通道搭建了储物间，消防车根本开不进来。",
    "上游一家企业长期往河里排放污水，河水发黑发臭，鱼虾大量死亡。",
    "我在原单位工作期间，单位有十四个月没有给我缴纳养老保险。",
    "现在我马上到了退休年龄，因为缴费年限不够，无法按时领取养老金。",
    "我家住在学校旁边不到五百米，却被划到了三公里外的另一所学校。",
    "我家一直享受最低生活保障，今年复核时被取消，理由是家里有车。",
    "那辆车是十几年前的旧面包车，早就报废了，根本不值什么钱。",
    "我家承包的三亩责任田被邻居占用种了果树，双方多次协商未果。",
    "开发商把规划中的小区公共停车位以每个十几万元的价格出售给业主。",
    "拆迁时测量的房屋面积比房产证上的面积少了二十多平方米。",
    "我母亲在市人民医院住院花了八万多元，医保只报销了不到一半。",
    "村里近几年的集体土地出租收入从来没有公示过，村民意见很大。",
    "附近新建的养猪场离村庄不到两百米，臭味很大，苍蝇蚊子特别多。",
    "我们这栋楼在高峰期经常停水，五楼以上基本上没有水压。",
    "公交线路调整后，我们村到县城要转两次车，老人看病特别不方便。",
    "我去年在厂里上班时手指被机器压伤，申请工伤认定一年多还没有结果。",
    "恳请有关部门高度重视，尽快调查核实，切实维护我们的合法权益。",
    "希望领导能够为我们群众做主，早日解决这个困扰大家多年的问题。",
];

/// What the petitioner asks for.
pub const REQUESTS: &[&str] = &[
    "请求督促物业尽快维修。",
    "请求责令用人单位依法支付拖欠的工资。",
    "请求尽快发放剩余的征地补偿款。",
    "请求撤销未经业主大会同意的涨价决定。",
    "请求依法查处夜间违规施工行为。",
    "请求责令商户安装油烟净化设施。",
    "请求协调相关部门尽快为我们办理不动产权证。",
    "请求对安置房质量问题进行鉴定并督促整改。",
    "请求彻底检修或更换故障电梯。",
    "请求尽快修复破损道路。",
    "请求依法拆除违章搭建，恢复消防通道。",
    "请求依法查处企业违法排污行为。",
    "请求督促原单位补缴养老保险。",
    "请求重新审核低保资格。",
    "请求依法确认土地承包经营权。",
    "请求重新测量并按实际面积给予安置。",
];

/// Facts and reasons given for the request.
pub const FACTS: &[&str] = &[
    "多次向物业反映无果。",
    "已向街道办和社区反映过三次，均未得到答复。",
    "有工资条、考勤记录和工友证言为证。",
    "有当时签订的征地补偿协议为证。",
    "业主群里大多数业主都表示反对。",
    "已多次拨打12345热线，问题反复出现。",
    "购房合同和缴款凭证齐全。",
    "有现场照片和视频可以证明。",
    "相关法规规定应当由建设单位负责整改。",
    "根据劳动合同法，用人单位应当按时足额支付劳动报酬。",
    "附有医院诊断证明和费用清单。",
    "村民代表二十余人联名反映。",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "钟", "曾",
    "谢",
];
const GIVEN_NAMES: &[&str] = &[
    "建国", "秀英", "桂兰", "志强", "海燕", "文华", "小红", "国平", "玉梅", "春生", "丽萍", "德明", "淑芬", "晓东",
    "金凤", "永福", "红梅", "伟", "芳", "军",
];

/// A distinct real name for the `i`th benchmark citizen (names may hold
/// only letters, so the index is spelled with the heavenly stems).
pub fn citizen_name(i: usize) -> String {
    const STEMS: [char; 10] = ['甲', '乙', '丙', '丁', '戊', '己', '庚', '辛', '壬', '癸'];
    let mut name = String::from("压测");
    name.push(STEMS[(i / 100) % 10]);
    name.push(STEMS[(i / 10) % 10]);
    name.push(STEMS[i % 10]);
    name
}

/// A plausible Chinese name for the `i`th petitioner (names repeat after 400).
pub fn person_name(i: usize) -> String {
    format!("{}{}", SURNAMES[i % SURNAMES.len()], GIVEN_NAMES[(i / SURNAMES.len() + i) % GIVEN_NAMES.len()])
}

/// Content of `sentences` random sentences, at most 500 characters.
pub fn content(rng: &mut Rng, sentences: usize) -> String {
    let text: String = (0..sentences).map(|_| *rng.pick(SENTENCES)).collect();
    text.chars().take(500).collect()
}

/// A case draft as a citizen would file it, in one of `regions`.
pub fn draft(rng: &mut Rng, regions: &[&str]) -> pb::CaseDraft {
    let kind = if rng.below(5) == 0 { pb::CaseKind::Suggestion } else { pb::CaseKind::Claim };
    let facts: String = (0..1 + rng.below(3)).map(|_| *rng.pick(FACTS)).collect();
    pb::CaseDraft {
        kind: kind.into(),
        category_code: if rng.below(5) < 3 { "housing" } else { "labor" }.into(),
        region_code: (*rng.pick(regions)).into(),
        title: format!("{}{}", rng.pick(PLACES), rng.pick(TITLES)),
        content: {
            let sentences = 2 + rng.below(11);
            content(rng, sentences)
        },
        requests: (*rng.pick(REQUESTS)).into(),
        facts_and_reasons: facts,
        attachments: vec![],
        respondent_organization_id: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_lengths_make_50_to_500_characters() {
        for s in SENTENCES {
            assert!((25..=45).contains(&s.chars().count()), "{s}");
        }
        for t in TITLES {
            for p in PLACES {
                assert!(format!("{p}{t}").chars().count() <= 100);
            }
        }
    }
}
