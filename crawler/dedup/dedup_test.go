package dedup

import (
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Tracking parameters.
		{"utm and spm", "https://www.example.com/a/b?utm_source=wechat&id=3&spm=a2c4g.11186623&utm_medium=share", "https://www.example.com/a/b?id=3"},
		{"upper-case utm", "http://www.example.com/a?UTM_Source=x&id=1", "http://www.example.com/a?id=1"},
		{"share markers", "https://www.example.com/a?share_token=abc&share_source=weixin&shareid=9&isappinstalled=0&scene=1&id=7", "https://www.example.com/a?id=7"},
		{"click ids", "https://www.example.com/a?fbclid=IwAR0&gclid=Cj0K&msclkid=1&id=7", "https://www.example.com/a?id=7"},
		{"baidu and bilibili", "https://www.bilibili.com/video/BV1xx?spm_id_from=333.337&vd_source=abc&p=2", "https://www.bilibili.com/video/BV1xx?p=2"},
		{"weibo and baidu", "https://www.example.com/a?wfr=spider&ivk_sa=1024320u&for=pc", "https://www.example.com/a?for=pc"},
		{"cache busters", "https://www.example.com/api/list?_=1718700000000&_t=1718700000&page=2", "https://www.example.com/api/list?page=2"},
		{"from share marker", "https://www.example.com/a?from=timeline&id=1", "https://www.example.com/a?id=1"},
		{"from paging offset kept", "https://www.example.com/list?from=20&size=10", "https://www.example.com/list?from=20&size=10"},
		{"only tracking", "https://www.example.com/a.html?utm_source=x&from=singlemessage", "https://www.example.com/a.html"},
		{"wechat article", "https://mp.weixin.qq.com/s?__biz=MzA3MDM3NjE5NQ==&mid=2650&idx=1&sn=5f3c&chksm=84c5&scene=21&pass_ticket=x%2By&key=k&uin=u#wechat_redirect", "https://mp.weixin.qq.com/s?__biz=MzA3MDM3NjE5NQ%3D%3D&idx=1&mid=2650&sn=5f3c"},
		{"wechat short link", "https://mp.weixin.qq.com/s/AbCdEf?scene=1", "https://mp.weixin.qq.com/s/AbCdEf"},

		// Query order and encoding.
		{"sorted", "http://news.example.com/p?b=2&a=1&c=3", "http://news.example.com/p?a=1&b=2&c=3"},
		{"stable for equal keys", "http://news.example.com/p?tag=b&x=1&tag=a", "http://news.example.com/p?tag=b&tag=a&x=1"},
		{"empty query", "http://news.example.com/p?", "http://news.example.com/p"},
		{"empty pairs", "http://news.example.com/p?&&a=1&", "http://news.example.com/p?a=1"},
		{"encoded value", "http://s.example.com/q?w=%E4%B8%AD%E5%9B%BD", "http://s.example.com/q?w=%E4%B8%AD%E5%9B%BD"},
		{"raw utf-8 value", "http://s.example.com/q?w=中国", "http://s.example.com/q?w=%E4%B8%AD%E5%9B%BD"},
		{"lower-case escape", "http://s.example.com/q?w=%e4%b8%ad%e5%9b%bd", "http://s.example.com/q?w=%E4%B8%AD%E5%9B%BD"},
		{"space as %20", "http://s.example.com/q?w=a%20b", "http://s.example.com/q?w=a+b"},
		{"key without value", "http://s.example.com/q?print&id=2", "http://s.example.com/q?id=2&print"},

		// Fragment, case, ports.
		{"fragment", "http://www.example.com/a.html#comments", "http://www.example.com/a.html"},
		{"hash-bang fragment", "http://www.example.com/#!/news/1", "http://www.example.com/"},
		{"case", "HTTPS://WWW.Example.COM/News/A.html", "https://www.example.com/News/A.html"},
		{"http default port", "http://www.example.com:80/a", "http://www.example.com/a"},
		{"https default port", "https://www.example.com:443/a", "https://www.example.com/a"},
		{"empty port", "https://www.example.com:/a", "https://www.example.com/a"},
		{"other port kept", "http://www.example.com:8080/a", "http://www.example.com:8080/a"},
		{"443 on http kept", "http://www.example.com:443/a", "http://www.example.com:443/a"},
		{"trailing dot", "http://www.example.com./a", "http://www.example.com/a"},
		{"ipv6 default port", "http://[::1]:80/x", "http://[::1]/x"},
		{"ipv6 other port", "http://[::1]:8080/x", "http://[::1]:8080/x"},
		{"ipv6 zone", "http://[fe80::1%25en0]:80/x", "http://[fe80::1%25en0]/x"},
		{"white space", "  https://www.example.com/a \n", "https://www.example.com/a"},
		{"user info kept", "http://user:pw@www.example.com/a", "http://user:pw@www.example.com/a"},

		// Mobile hosts.
		{"m.", "https://m.people.com.cn/n1/2024/0618/c1001-1.html", "https://www.people.com.cn/n1/2024/0618/c1001-1.html"},
		{"wap.", "http://wap.people.com.cn/n1/2024/0618/c1001-1.html", "http://www.people.com.cn/n1/2024/0618/c1001-1.html"},
		{"3g.", "http://3g.163.com/news/article/J1.html", "http://www.163.com/news/article/J1.html"},
		{"mobile.", "http://mobile.example.com", "http://www.example.com/"},
		{"wap.sina.cn", "https://wap.sina.cn/x", "https://www.sina.cn/x"},
		{"m.sina.cn", "https://m.sina.cn/x", "https://www.sina.cn/x"},
		{"upper-case mobile", "https://M.People.com.cn/a", "https://www.people.com.cn/a"},
		{"one label left", "http://m.cn/a", "http://m.cn/a"},
		{"public suffix left", "http://m.com.cn/a", "http://m.com.cn/a"},
		{"inner m label", "http://news.m.example.com/a", "http://news.m.example.com/a"},
		{"mp. is not m.", "http://mp.example.com/a", "http://mp.example.com/a"},
		{"bare domain not given www", "http://example.com/a", "http://example.com/a"},
		{"ip address", "http://10.1.2.3/a", "http://10.1.2.3/a"},

		// Paths.
		{"empty path", "http://www.example.com", "http://www.example.com/"},
		{"empty path with query", "http://www.example.com?id=1", "http://www.example.com/?id=1"},
		{"duplicate slashes", "http://www.example.com//news///2024//a.html", "http://www.example.com/news/2024/a.html"},
		{"trailing slash kept", "http://www.example.com/news/", "http://www.example.com/news/"},
		{"index.html kept", "http://www.example.com/news/index.html", "http://www.example.com/news/index.html"},
		{"index.shtml kept", "http://www.example.com/news/index.shtml", "http://www.example.com/news/index.shtml"},
		{"unreserved decoded", "http://www.example.com/%7euser/%41b%2dc", "http://www.example.com/~user/Ab-c"},
		{"hex upper-cased", "http://www.example.com/%e4%b8%ad", "http://www.example.com/%E4%B8%AD"},
		{"raw utf-8 path", "http://www.example.com/中文/a", "http://www.example.com/%E4%B8%AD%E6%96%87/a"},
		{"escaped slash kept", "http://www.example.com/a%2fb", "http://www.example.com/a%2Fb"},
		{"space in path", "http://www.example.com/a%20b", "http://www.example.com/a%20b"},
		{"dot segments", "http://www.example.com/a/./b/../c/%2e%2E/d", "http://www.example.com/a/d"},
		{"trailing dot segment", "http://www.example.com/a/b/..", "http://www.example.com/a/"},
		{"dot segment above root", "http://www.example.com/../a", "http://www.example.com/a"},
		{"dots in names kept", "http://www.example.com/a.b/..c/.d", "http://www.example.com/a.b/..c/.d"},

		// IDN hosts are left as they are.
		{"unicode idn", "http://新华网.中国/a", "http://新华网.中国/a"},
		{"punycode idn", "http://XN--XKRR14BOWS.xn--fiqs8s/a", "http://xn--xkrr14bows.xn--fiqs8s/a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonical(tc.in)
			if err != nil {
				t.Fatalf("Canonical(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Canonical(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			again, err := Canonical(got)
			if err != nil || again != got {
				t.Errorf("Canonical is not idempotent on %q: %q, %v", got, again, err)
			}
		})
	}
}

// TestCanonicalSpellings checks that the spellings of one page fold together.
func TestCanonicalSpellings(t *testing.T) {
	groups := [][]string{
		{
			"https://www.people.com.cn/n1/2024/0618/c1001-40259.html",
			"https://m.people.com.cn/n1/2024/0618/c1001-40259.html?from=singlemessage&isappinstalled=0",
			"HTTPS://WWW.PEOPLE.COM.CN:443/n1/2024/0618/c1001-40259.html#comment",
			"https://wap.people.com.cn//n1/2024/0618/c1001-40259.html?utm_source=wx&utm_medium=share",
		},
		{
			"http://news.example.com/list?page=2&cat=3",
			"http://news.example.com/list?cat=3&page=2&_=1718700000000",
			"http://news.example.com:80/list?spm=a.b.c&cat=3&page=2&",
		},
	}
	for _, g := range groups {
		want, err := Canonical(g[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range g[1:] {
			if got, err := Canonical(s); err != nil || got != want {
				t.Errorf("Canonical(%q) = %q, %v; want %q", s, got, err, want)
			}
		}
	}
}

func TestCanonicalErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"ftp://x", "unsupported scheme"},
		{"ftp://ftp.example.com/pub/a.txt", "unsupported scheme"},
		{"mailto:editor@example.com", "unsupported scheme"},
		{"javascript:void(0)", "unsupported scheme"},
		{"not a url", "not an absolute URL"},
		{"", "not an absolute URL"},
		{"/news/2024/a.html", "not an absolute URL"},
		{"../a.html", "not an absolute URL"},
		{"?page=2", "not an absolute URL"},
		{"//www.example.com/a", "not an absolute URL"},
		{"www.example.com/a", "not an absolute URL"},
		{"http://", "no host"},
		{"https:///a/b", "no host"},
		{"http://:80/a", "no host"},
		{"http:www.example.com", "no host"},
		{"http://%zz/", "cannot parse"},
		{"http://www.example.com/%zz", "cannot parse"},
		{"http://a b.com/", "cannot parse"},
		{"http://www.example.com:port/", "cannot parse"},
		{"http://www.exa\x00mple.com/", "cannot parse"},
	}
	for _, tc := range tests {
		got, err := Canonical(tc.in)
		if err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Canonical(%q) error %q, want it to say %q", tc.in, err, tc.msg)
		}
		if !strings.HasPrefix(err.Error(), "dedup: ") {
			t.Errorf("Canonical(%q) error %q lacks the package prefix", tc.in, err)
		}
	}
}

// Three news-like articles written for these tests. textA and textC are both
// reports of a metro line opening, built on the same template: different
// articles that a weak hash would confuse.
const (
	textA = "本报讯（记者 李明）6月18日上午，江城市地铁5号线一期工程正式开通初期运营。该线路全长约32.6公里，共设车站24座，其中换乘站7座，连接城东新区、老城区和高铁南站三大客流集散地。市交通运输局相关负责人介绍，5号线采用6节编组A型列车，最高运行速度每小时100公里，开通初期高峰时段行车间隔为4分30秒，平峰时段为7分钟。为方便市民出行，沿线各站均设置了无障碍电梯、母婴室和自助充值设备，乘客可使用交通卡、手机扫码和银联闪付等多种方式进站。据测算，5号线开通后，城东新区至高铁南站的通行时间将由原来的70分钟缩短至40分钟左右，日均客流预计可达28万人次。当天首班车于6时整从城东新区站发出，不少市民专程赶来体验。家住附近的王女士说：“以前去南站要倒两趟公交，现在坐地铁半个多小时就到了，真是方便多了。”据悉，5号线二期工程已于去年开工建设，计划2026年底建成通车，届时将进一步完善城市轨道交通网络，缓解中心城区交通压力。"

	textB = "新华社消息，今年以来，河川省坚持把粮食安全作为头等大事，全力抓好夏粮生产。截至6月15日，全省已收获小麦2860万亩，占种植面积的九成以上，机收率稳定在98%左右。省农业农村厅发布的数据显示，今年全省小麦平均亩产预计达到452公斤，比上年增加6.3公斤，总产量有望再创历史新高。针对前期部分地区出现的干旱天气，各地及时启动抗旱应急响应，组织农技人员深入田间地头开展技术指导，推广“一喷三防”等关键措施，有效减轻了灾害损失。在南阳、驻马店等主产区，大型联合收割机来回穿梭，烘干塔满负荷运转，确保颗粒归仓。与此同时，各级粮食部门提前做好收购准备，共安排收购网点1500多个，落实收购资金120亿元，并严格执行最低收购价政策，切实保护种粮农民利益。农业专家表示，夏粮丰收为全年经济社会发展稳住了基本盘，下一步要抓紧抓好夏播夏管工作，为秋粮丰收打下坚实基础。"

	textC = "本报讯（记者 赵蕾）7月1日上午，海州市轨道交通3号线正式开通运营。该线路全长约28.4公里，共设车站21座，其中换乘站5座，串联起高新区、老城区和海州东站等重要区域。市轨道交通集团相关负责人介绍，3号线采用6节编组B型列车，设计最高时速80公里，开通初期高峰时段行车间隔为5分钟，平峰时段为8分钟。为方便乘客出行，沿线车站均配备了无障碍设施、母婴室和自助售票机，乘客可通过交通卡、手机扫码和银联闪付等方式乘车。据测算，3号线开通后，高新区至海州东站的通行时间将缩短至35分钟左右，日均客流预计可达20万人次。当天首班车于6时30分从高新区站发出，许多市民一早赶来乘坐。在高新区上班的陈先生说：“以前上下班要挤公交，路上经常堵车，现在有了地铁，每天能多睡半小时。”据悉，3号线南延工程正在加紧建设，预计2027年建成通车，届时将进一步提升城市轨道交通网络覆盖率。"
)

// edit applies old->new replacements, each of which must occur in s.
func edit(t *testing.T, s string, oldnew ...string) string {
	t.Helper()
	for i := 0; i < len(oldnew); i += 2 {
		if !strings.Contains(s, oldnew[i]) {
			t.Fatalf("edit: %q not in text", oldnew[i])
		}
		s = strings.Replace(s, oldnew[i], oldnew[i+1], 1)
	}
	return s
}

// TestSimHashSyndicated compares textA with copies as other sites would
// publish it: their own headline line on top, the byline rewritten, a
// character or two changed, their own footer below. Most copies must be
// within distance 3, the Index's reach; the heavier ones must still be far
// nearer to textA than to any different article.
func TestSimHashSyndicated(t *testing.T) {
	const headline = "江城地铁5号线今日开通运营 城东到高铁南站只需40分钟\n"
	const footer = "\n来源：新华网 责任编辑：张三"
	orig := SimHash(textA)
	copies := []struct{ name, text string }{
		{"identical", textA},
		{"layout, full-width digits, quotes", strings.NewReplacer("，", ", ", "。", ".\n", "“", "\"", "”", "\"", "6", "６", "5", "５").Replace(textA)},
		{"headline line", headline + textA},
		{"original-title line", "原标题：江城地铁5号线一期工程开通初期运营\n" + textA},
		{"footer", textA + footer},
		{"byline rewritten", edit(t, textA, "本报讯（记者 李明）", "新华网江城6月18日电（记者 李明 通讯员 周洁）")},
		{"three characters changed", edit(t, textA, "本报讯", "本网讯", "不少市民", "很多市民", "真是方便", "真的方便")},
		{"headline, byline, one character, footer",
			"【民生】江城5号线正式开通\n" + edit(t, textA, "本报讯（记者 李明）", "", "不少市民", "许多市民") + "（完）\n【纠错】 【责任编辑：王五】"},
		{"headline, two characters, footer",
			"江城地铁5号线开通！城东新区到南站缩短30分钟\n" + edit(t, textA, "本报讯", "本网讯", "真是方便", "真的方便") + footer},
		{"headline, three characters, footer",
			headline + edit(t, textA, "本报讯", "本网讯", "不少市民", "很多市民", "真是方便", "真的方便") + footer},
		{"60-character disclaimer footer",
			textA + "\n（完）\n声明：转载此文是出于传递更多信息之目的。若有来源标注错误或侵犯了您的合法权益，请与本网联系，我们将及时更正、删除，谢谢。"},
		{"headline, original-title, footer and share prompt",
			"江城轨道交通再添新线\n原标题：江城地铁5号线一期工程开通初期运营\n" + textA + "\n本文来源：人民网-人民日报 编辑：李四 审核：王五\n分享到：微信 微博 QQ空间"},
	}
	within3 := 0
	for _, c := range copies {
		h := SimHash(c.text)
		d := Distance(orig, h)
		t.Logf("%-50s distance %d", c.name, d)
		if d <= 3 {
			within3++
		}
		if d > 8 {
			t.Errorf("%s: distance %d, want <= 8", c.name, d)
		}
		for _, other := range []string{textB, textC} {
			if o := Distance(h, SimHash(other)); o <= 10 {
				t.Errorf("%s: distance %d to a different article, want > 10", c.name, o)
			}
		}
	}
	t.Logf("%d of %d copies within distance 3", within3, len(copies))
	if 2*within3 <= len(copies) {
		t.Errorf("only %d of %d copies within distance 3, want most", within3, len(copies))
	}
	// Layout, quotes and full-width digits are normalised away entirely.
	if d := Distance(orig, SimHash(copies[1].text)); d != 0 {
		t.Errorf("re-laid-out copy at distance %d, want 0", d)
	}
}

func TestSimHashDifferent(t *testing.T) {
	texts := map[string]string{"A": textA, "B": textB, "C": textC}
	for _, p := range [][2]string{{"A", "B"}, {"A", "C"}, {"B", "C"}} {
		d := Distance(SimHash(texts[p[0]]), SimHash(texts[p[1]]))
		t.Logf("%s-%s distance %d", p[0], p[1], d)
		if d <= 10 {
			t.Errorf("different articles %s and %s at distance %d, want > 10", p[0], p[1], d)
		}
	}
	// Half an article is not a near-duplicate of the whole.
	half := string([]rune(textA)[:200])
	if d := Distance(SimHash(textA), SimHash(half)); d <= 3 {
		t.Errorf("half of textA at distance %d from the whole", d)
	}
}

// splitmix64 is a tiny deterministic generator, so that the study below
// gives the same figures on every Go release.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

func (s *splitmix64) intn(n int) int { return int(s.next() % uint64(n)) }

var (
	studyHeadlines = []string{
		"今日关注", "原标题：多地出台新举措",
		"江城地铁5号线今日开通运营 城东到高铁南站只需40分钟",
		"【关注】夏粮收购全面展开 农民增收有保障",
		"海州3号线开通首日客流超预期",
		"重磅！这项民生工程今天正式落地",
	}
	studyFooters = []string{
		"来源：新华网 责任编辑：张三",
		"（完）",
		"本文来源：人民网-人民日报 编辑：李四 审核：王五",
		"【纠错】 【责任编辑:张三】",
		"分享到：微信 微博 QQ空间",
		"声明：转载此文是出于传递更多信息之目的。若有来源标注错误或侵犯了您的合法权益，请与本网联系，我们将及时更正、删除，谢谢。",
	}
	studyRunes = []rune("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经")
)

// replaceHan replaces n randomly chosen Han characters of s.
func replaceHan(rng *splitmix64, s string, n int) string {
	rs := []rune(s)
	for range n {
		for {
			i := rng.intn(len(rs))
			if unicode.Is(unicode.Han, rs[i]) {
				rs[i] = studyRunes[rng.intn(len(studyRunes))]
				break
			}
		}
	}
	return string(rs)
}

// TestSimHashStudy measures, over seeded random copies of the three articles,
// how often each kind of change stays within distance 3, and checks that the
// rates do not fall below what the tapered weights were tuned to, nor any
// copy come near a different article.
func TestSimHashStudy(t *testing.T) {
	rng := splitmix64(20240618)
	arts := []string{textA, textB, textC}
	kinds := []struct {
		name string
		make func(s string) string
		min  float64 // minimum share within distance 3
	}{
		{"headline line", func(s string) string {
			return studyHeadlines[rng.intn(len(studyHeadlines))] + "\n" + s
		}, 0.90},
		{"footer", func(s string) string {
			return s + "\n" + studyFooters[rng.intn(len(studyFooters))]
		}, 0.80},
		{"headline and footer", func(s string) string {
			return studyHeadlines[rng.intn(len(studyHeadlines))] + "\n" + s + "\n" + studyFooters[rng.intn(len(studyFooters))]
		}, 0.80},
		{"1 character anywhere", func(s string) string { return replaceHan(&rng, s, 1) }, 0.80},
		{"2 characters anywhere", func(s string) string { return replaceHan(&rng, s, 2) }, 0.55},
		{"headline, 1 character, footer", func(s string) string {
			return studyHeadlines[rng.intn(len(studyHeadlines))] + "\n" + replaceHan(&rng, s, 1) + "\n" + studyFooters[rng.intn(len(studyFooters))]
		}, 0.55},
	}
	const trials = 300
	hashes := make([]uint64, len(arts))
	for i, a := range arts {
		hashes[i] = SimHash(a)
	}
	for _, k := range kinds {
		within, worst := 0, 0
		for i := range trials {
			a := i % len(arts)
			c := SimHash(k.make(arts[a]))
			d := Distance(hashes[a], c)
			if d <= 3 {
				within++
			}
			worst = max(worst, d)
			for b := range arts {
				if b != a {
					if o := Distance(hashes[b], c); o <= 10 {
						t.Errorf("%s: copy of article %d at distance %d from article %d", k.name, a, o, b)
					}
				}
			}
		}
		share := float64(within) / trials
		t.Logf("%-32s %5.1f%% within 3, worst %d", k.name, 100*share, worst)
		if share < k.min {
			t.Errorf("%s: %.1f%% within distance 3, want >= %.0f%%", k.name, 100*share, 100*k.min)
		}
	}
}

func TestSimHashNormalisation(t *testing.T) {
	tests := []struct {
		name, a, b string
	}{
		{"ascii case", "Apple发布iPhone新品", "APPLE发布IPHONE新品"},
		{"full-width", "２０２４年ＧＤＰ增长５％", "2024年gdp增长5"},
		{"white space and punctuation", "江城，地铁 5号线\n开通。", "江城地铁5号线开通"},
		{"zero-width space and ideographic space", "江城\u200b地铁\u30005号线", "江城地铁5号线"},
		{"symbols", "★江城地铁5号线→开通！【图】", "江城地铁5号线开通图"},
		{"invalid utf-8", "江城\xff地铁", "江城地铁"},
	}
	for _, tc := range tests {
		if a, b := SimHash(tc.a), SimHash(tc.b); a != b {
			t.Errorf("%s: SimHash(%q) = %#x, SimHash(%q) = %#x, want equal", tc.name, tc.a, a, tc.b, b)
		}
	}
	for _, s := range []string{"", " \n\t", "，。！？……——", "★☆→←", "\u200b"} {
		if h := SimHash(s); h != 0 {
			t.Errorf("SimHash(%q) = %#x, want 0", s, h)
		}
	}
}

// fnv1a is FNV-1a 64 as hash/fnv computes it, written out for the test.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func TestSimHashShort(t *testing.T) {
	// A text of at most three runes is a single shingle, so its SimHash is
	// the FNV-1a hash of its normalised form.
	for _, s := range []string{"中", "中国", "新华网", "Ab", "a b"} {
		norm := strings.ToLower(strings.ReplaceAll(s, " ", ""))
		if got, want := SimHash(s), fnv1a(norm); got != want {
			t.Errorf("SimHash(%q) = %#x, want FNV-1a %#x", s, got, want)
		}
	}
	if SimHash("新华网") == SimHash("新华社") {
		t.Error("different short texts hash alike")
	}
	// Deterministic across calls.
	if SimHash(textA) != SimHash(textA) {
		t.Error("SimHash is not deterministic")
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b uint64
		want int
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0, ^uint64(0), 64},
		{0xF0F0, 0x0F0F, 16},
		{1 << 63, 1, 2},
	}
	for _, tc := range tests {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%#x, %#x) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if Distance(tc.a, tc.b) != Distance(tc.b, tc.a) {
			t.Errorf("Distance(%#x, %#x) not symmetric", tc.a, tc.b)
		}
	}
}

const h0 = uint64(0x0123456789ABCDEF)

func TestIndexNear(t *testing.T) {
	tests := []struct {
		name    string
		maxDist int
		add     []uint64 // ids are "0", "1", … in this order
		query   uint64
		wantID  string
		wantD   int
		wantOK  bool
	}{
		{"empty index", 3, nil, h0, "", 0, false},
		{"exact", 3, []uint64{h0}, h0, "0", 0, true},
		{"distance 1", 3, []uint64{h0}, h0 ^ 1<<5, "0", 1, true},
		{"distance 2 in one band", 3, []uint64{h0}, h0 ^ 0b11, "0", 2, true},
		{"distance 3 in one band", 3, []uint64{h0}, h0 ^ 0b111, "0", 3, true},
		{"distance 3 across three bands", 3, []uint64{h0}, h0 ^ (1 | 1<<16 | 1<<32), "0", 3, true},
		{"distance 4 in one band", 3, []uint64{h0}, h0 ^ 0b1111, "", 0, false},
		{"distance 4 across four bands", 3, []uint64{h0}, h0 ^ (1 | 1<<16 | 1<<32 | 1<<48), "", 0, false},
		{"far", 3, []uint64{h0}, ^h0, "", 0, false},
		{"closest wins", 3, []uint64{h0 ^ 0b111, h0 ^ 1<<40, h0 ^ 0b11}, h0, "1", 1, true},
		{"tie: earliest added", 3, []uint64{h0 ^ 1<<63, h0 ^ 1, h0 ^ 1<<20}, h0, "0", 1, true},
		{"tie: earliest added, other band order", 3, []uint64{h0 ^ 1, h0 ^ 1<<63}, h0, "0", 1, true},
		{"maxDist 0 exact", 0, []uint64{h0}, h0, "0", 0, true},
		{"maxDist 0 distance 1", 0, []uint64{h0}, h0 ^ 1, "", 0, false},
		{"maxDist 1 distance 2", 1, []uint64{h0}, h0 ^ 0b11, "", 0, false},
		{"maxDist 2 distance 2", 2, []uint64{h0}, h0 ^ 1<<1 ^ 1<<60, "0", 2, true},
		{"zero query never matches", 3, []uint64{1, 0b11}, 0, "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := NewIndex(tc.maxDist)
			for i, h := range tc.add {
				x.Add(h, fmt.Sprint(i))
			}
			id, d, ok := x.Near(tc.query)
			if id != tc.wantID || d != tc.wantD || ok != tc.wantOK {
				t.Errorf("Near(%#x) = %q, %d, %v; want %q, %d, %v", tc.query, id, d, ok, tc.wantID, tc.wantD, tc.wantOK)
			}
		})
	}
}

func TestIndexAddAndLen(t *testing.T) {
	x := NewIndex(3)
	if x.Len() != 0 {
		t.Fatalf("new index Len %d", x.Len())
	}
	x.Add(h0, "a")
	x.Add(h0, "a") // no-op
	if x.Len() != 1 {
		t.Fatalf("Len after adding one pair twice = %d, want 1", x.Len())
	}
	x.Add(h0, "b") // same hash, another id
	x.Add(h0^1, "a")
	x.Add(0, "empty") // the hash of empty text is not stored
	if x.Len() != 3 {
		t.Fatalf("Len = %d, want 3", x.Len())
	}
	if id, d, ok := x.Near(h0); id != "a" || d != 0 || !ok {
		t.Errorf("Near(h0) = %q, %d, %v; want a, 0, true", id, d, ok)
	}
	if _, _, ok := x.Near(0); ok {
		t.Error("Near(0) matched")
	}
}

// TestIndexBruteForce compares Near with a linear scan over random hashes
// and random queries near them.
func TestIndexBruteForce(t *testing.T) {
	rng := splitmix64(7)
	for maxDist := 0; maxDist <= 3; maxDist++ {
		x := NewIndex(maxDist)
		var hs []uint64
		for i := range 2000 {
			h := rng.next()
			if i%10 == 0 && len(hs) > 0 { // some near-duplicates among the stored
				h = hs[rng.intn(len(hs))] ^ 1<<rng.intn(64)
			}
			hs = append(hs, h)
			x.Add(h, fmt.Sprint(i))
		}
		for range 5000 {
			q := hs[rng.intn(len(hs))]
			for range rng.intn(6) {
				q ^= 1 << rng.intn(64)
			}
			wantID, wantD, wantOK := "", 0, false
			best := maxDist + 1
			for i, h := range hs {
				if d := bits.OnesCount64(h ^ q); d < best {
					best, wantID, wantD, wantOK = d, fmt.Sprint(i), d, true
				}
			}
			id, d, ok := x.Near(q)
			if id != wantID || d != wantD || ok != wantOK {
				t.Fatalf("maxDist %d: Near(%#x) = %q, %d, %v; linear scan %q, %d, %v", maxDist, q, id, d, ok, wantID, wantD, wantOK)
			}
		}
	}
}

func TestIndexConcurrent(t *testing.T) {
	x := NewIndex(3)
	const writers, perWriter = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rng := splitmix64(w)
			for i := range perWriter {
				x.Add(rng.next()|1, fmt.Sprintf("w%d-%d", w, i))
			}
		}()
		go func() {
			defer wg.Done()
			rng := splitmix64(w)
			for range perWriter {
				x.Near(rng.next() | 1)
				x.Len()
			}
		}()
	}
	wg.Wait()
	if got := x.Len(); got != writers*perWriter {
		t.Fatalf("Len = %d, want %d", got, writers*perWriter)
	}
	// Every stored hash is found exactly, under the id it was added with
	// (the writers' hashes are all different).
	for w := range writers {
		rng := splitmix64(w)
		for i := range perWriter {
			h := rng.next() | 1
			if id, d, ok := x.Near(h); !ok || d != 0 || id != fmt.Sprintf("w%d-%d", w, i) {
				t.Fatalf("Near(%#x) = %q, %d, %v", h, id, d, ok)
			}
		}
	}
}

func TestNewIndexPanics(t *testing.T) {
	for _, d := range []int{-1, 4, 64} {
		func() {
			defer func() {
				r := recover()
				if r == nil {
					t.Errorf("NewIndex(%d) did not panic", d)
					return
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, "out of range 0..3") {
					t.Errorf("NewIndex(%d) panic %q", d, msg)
				}
			}()
			NewIndex(d)
		}()
	}
}

// benchText is a 2,000-character article-like text.
func benchText() string {
	rs := []rune(strings.Repeat(textA+textB+textC, 2))
	return string(rs[:2000])
}

func BenchmarkSimHash(b *testing.B) {
	text := benchText()
	if n := utf8.RuneCountInString(text); n != 2000 {
		b.Fatalf("bench text has %d runes", n)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		SimHash(text)
	}
}

func BenchmarkIndexNear(b *testing.B) {
	rng := splitmix64(1)
	x := NewIndex(3)
	hs := make([]uint64, 100_000)
	for i := range hs {
		hs[i] = rng.next()
		x.Add(hs[i], fmt.Sprint(i))
	}
	// Half the queries are near a stored hash, half are random misses.
	qs := make([]uint64, 1024)
	for i := range qs {
		if i%2 == 0 {
			qs[i] = hs[rng.intn(len(hs))] ^ 1<<rng.intn(64) ^ 1<<rng.intn(64)
		} else {
			qs[i] = rng.next()
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		x.Near(qs[i%len(qs)])
		i++
	}
}

func ExampleCanonical() {
	for _, u := range []string{
		"https://m.people.com.cn/n1/2024/0618/c1001-40259.html?from=singlemessage&isappinstalled=0",
		"HTTPS://www.people.com.cn:443/n1/2024/0618/c1001-40259.html#comment",
		"http://news.example.com//list?page=2&utm_source=wx&cat=3",
	} {
		c, err := Canonical(u)
		fmt.Println(c, err)
	}
	// Output:
	// https://www.people.com.cn/n1/2024/0618/c1001-40259.html <nil>
	// https://www.people.com.cn/n1/2024/0618/c1001-40259.html <nil>
	// http://news.example.com/list?cat=3&page=2 <nil>
}

func ExampleIndex() {
	x := NewIndex(3)
	x.Add(SimHash(textA), "story-1")
	x.Add(SimHash(textB), "story-2")

	copied := "江城地铁5号线今日开通运营\n" + textA + "\n来源：新华网 责任编辑：张三"
	id, _, ok := x.Near(SimHash(copied))
	fmt.Println(id, ok)
	_, _, ok = x.Near(SimHash(textC))
	fmt.Println(ok)
	// Output:
	// story-1 true
	// false
}

// simHashReference is SimHash written as its documentation describes it,
// one shingle and one bit at a time, to check the fast version against.
func simHashReference(text string) uint64 {
	var rs []rune
	for _, r := range text {
		if r = normRune(r); r >= 0 {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return 0
	}
	n := max(len(rs)-2, 1)
	var sums [64]int
	for i := range n {
		h := fnv1a(string(rs[i:min(i+3, len(rs))]))
		d := min(i, n-1-i) + 1 // distance from the nearer end, in shingles
		w := min(d, 128)
		for b := range sums {
			if h>>b&1 == 1 {
				sums[b] += w
			} else {
				sums[b] -= w
			}
		}
	}
	var out uint64
	for b, s := range sums {
		if s > 0 {
			out |= 1 << b
		}
	}
	return out
}

func TestSimHashReference(t *testing.T) {
	long := strings.Repeat(textA+textB+textC, 20) // past the lane flush and the stack buffers
	texts := []string{"", "a", "中国", "新华网", "新华网讯", textA, textB, textC, benchText(), long}
	rng := splitmix64(3)
	for range 200 {
		rs := []rune(long)
		i := rng.intn(len(rs))
		texts = append(texts, string(rs[i:min(len(rs), i+rng.intn(3000))]))
	}
	for _, s := range texts {
		if got, want := SimHash(s), simHashReference(s); got != want {
			t.Fatalf("SimHash = %#x, reference %#x, for %d runes", got, want, utf8.RuneCountInString(s))
		}
	}
}
