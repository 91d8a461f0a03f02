package textnorm

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// want is the part of a Text a table case checks; nil lists mean empty.
type want struct {
	own       string
	quoted    []Quote
	topics    []string
	mentions  []string
	emoticons []string
	urls      []string
	replyTo   string
	repaired  int
	folded    int
}

func check(t *testing.T, in string, w want) {
	t.Helper()
	got := Normalize(in)
	if got.Own != w.own {
		t.Errorf("Normalize(%q).Own = %q, want %q", in, got.Own, w.own)
	}
	eq := func(name string, a, b any) {
		t.Helper()
		va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
		if va.Len() == 0 && vb.Len() == 0 {
			return
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("Normalize(%q).%s = %q, want %q", in, name, a, b)
		}
	}
	eq("Quoted", got.Quoted, w.quoted)
	eq("Topics", got.Topics, w.topics)
	eq("Mentions", got.Mentions, w.mentions)
	eq("Emoticons", got.Emoticons, w.emoticons)
	eq("URLs", got.URLs, w.urls)
	if got.ReplyTo != w.replyTo {
		t.Errorf("Normalize(%q).ReplyTo = %q, want %q", in, got.ReplyTo, w.replyTo)
	}
	if got.Repaired != w.repaired {
		t.Errorf("Normalize(%q).Repaired = %d, want %d", in, got.Repaired, w.repaired)
	}
	if got.Folded != w.folded {
		t.Errorf("Normalize(%q).Folded = %d, want %d", in, got.Folded, w.folded)
	}
	invariants(t, in, got)
}

// invariants hold for every input.
func invariants(t *testing.T, in string, got Text) {
	t.Helper()
	texts := []string{got.Own, got.ReplyTo}
	for _, q := range got.Quoted {
		texts = append(texts, q.Author, q.Text)
	}
	texts = append(texts, got.Topics...)
	texts = append(texts, got.Mentions...)
	texts = append(texts, got.Emoticons...)
	texts = append(texts, got.URLs...)
	for _, s := range texts {
		if !utf8.ValidString(s) {
			t.Fatalf("Normalize(%q): invalid UTF-8 %q", in, s)
		}
		if strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("Normalize(%q): NUL in %q", in, s)
		}
	}
	for _, s := range append([]string{got.Own}, quoteTexts(got)...) {
		if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ") {
			t.Fatalf("Normalize(%q): untrimmed spaces in %q", in, s)
		}
		if again := Normalize(s); again.Own != s {
			t.Fatalf("Normalize(%q): not idempotent: %q → %q", in, s, again.Own)
		}
	}
	if got.OwnEmoticons > len(got.Emoticons) {
		t.Fatalf("Normalize(%q): OwnEmoticons %d > %d", in, got.OwnEmoticons, len(got.Emoticons))
	}
}

func quoteTexts(t Text) []string {
	var out []string
	for _, q := range t.Quoted {
		out = append(out, q.Text)
	}
	return out
}

func TestPlain(t *testing.T) {
	for _, s := range []string{
		"", "今天天气不错，出去走走！", "价格涨了 3.5%，大家怎么看？", "abc def", "（完）",
		"他说：“好的。”", "2012年9月13日 08:38", "C++ 和 Go", "a.b.c", "1+1=2",
	} {
		if !plain(s) {
			t.Errorf("plain(%q) = false", s)
		}
		got := Normalize(s)
		if got.Own != s || got.Repaired != 0 || got.Folded != 0 || got.Emoticons != nil {
			t.Errorf("Normalize(%q) = %+v, want it unchanged", s, got)
		}
		if s != "" && n(func() { Normalize(s) }) != 0 {
			t.Errorf("Normalize(%q) allocates", s)
		}
	}
}

func n(f func()) float64 { return testing.AllocsPerRun(100, f) }

func TestSanitize(t *testing.T) {
	for _, c := range []struct {
		in string
		w  want
	}{
		{"第一行\n第二行\r\n第三行\t完", want{own: "第一行 第二行 第三行 完"}},
		{"  前后空格   中间  ", want{own: "前后空格 中间"}},
		{"a\x00b\x01c\x7fd", want{own: "abcd", repaired: 3}},
		{"\x00\x00\x00", want{own: "", repaired: 3}},
		{"零\u200b宽\u200c字\ufeff符\u200e\u202e", want{own: "零宽字符", repaired: 5}},
		{"软\u00ad连字符", want{own: "软连字符", repaired: 1}},
		{"C1\u0085控制\u0090符", want{own: "C1 控制符", repaired: 1}},
		{"全角\u3000空格\u00a0不换行\u2003空格", want{own: "全角 空格 不换行 空格"}},
		{"ＡＢＣ１２３！ｘｙｚ", want{own: "ABC123！xyz"}},
		{"价格：１００元（含税）；好吗？", want{own: "价格：100元（含税）；好吗？"}},
		{"ＧＤＰ增长７．５％～８％", want{own: "GDP增长7.5%~8%"}},
		// invalid UTF-8: one U+FFFD per run, the bytes counted
		{"中\xe6\x96文", want{own: "中\ufffd文", repaired: 2}},
		{"中\xe6文", want{own: "中\ufffd文", repaired: 1}},
		{"\xff\xfe\xfd好", want{own: "\ufffd好", repaired: 3}},
		{"好\xc0\x80", want{own: "好\ufffd", repaired: 2}},
		{"尾\xe4\xb8", want{own: "尾\ufffd", repaired: 2}},
		{"\x80", want{own: "\ufffd", repaired: 1}},
		// a lone surrogate half written in UTF-8 is invalid
		{"前\xed\xa0\x80后", want{own: "前\ufffd后", repaired: 3}},
		{"前\xed\xbf\xbf后", want{own: "前\ufffd后", repaired: 3}},
		// a pair of them (CESU-8) is the character it encodes: here an emoji
		{"笑\xed\xa0\xbd\xed\xb8\x80了", want{own: "笑 了", emoticons: []string{"😀"}, repaired: 6}},
		{"字\xed\xa1\x80\xed\xb0\x80", want{own: "字𠀀", repaired: 6}},
		// an existing U+FFFD stays
		{"已有\ufffd替换符", want{own: "已有\ufffd替换符"}},
	} {
		check(t, c.in, c.w)
	}
}

func TestFoldTable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"简体中文不变：干净的饼干，乾坤，著名，蒜薹，瞭望，慰藉，于是", "简体中文不变：干净的饼干，乾坤，著名，蒜薹，瞭望，慰藉，于是"},
		{"我們說這個東西很好", "我们说这个东西很好"},
		{"乾淨的餅乾", "干净的饼干"},         // 乾 folds in traditional text
		{"乾坤未定，後來於是", "乾坤未定，后来于是"}, // OpenCC's phrase keeps 乾坤; 來 makes it traditional
		{"乾坤", "乾坤"}, // no evidence: simplified text is left alone
		{"蒜薹", "蒜薹"},
		{"蒜薹很貴", "蒜薹很贵"}, // OpenCC's phrase keeps 蒜薹
		{"薹很貴", "苔很贵"},
		{"上鍊", "上链"}, // a phrase: 鍊 alone would be 炼
		{"鍊子", "链子"},
		{"鍊鋼", "炼钢"},
		{"臺灣", "台湾"},
		{"上好的來", "上好的来"}, // 上 starts phrases, none of which is here
		{"不可貲計", "不可赀计"}, // OpenCC's phrase would keep 計
		{"\uf900", "岂"},  // a compatibility ideograph, then 豈 → 岂
		{"\ufa0c", "兀"},
		{"壞\xff", "坏\xff"},
		{"𡞱", "𡞱"},
	} {
		if got := Fold(c.in); got != c.want {
			t.Errorf("Fold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	s := "完全是简体的一句话"
	if Fold(s) != s || n(func() { Fold(s) }) != 0 {
		t.Errorf("Fold on simplified text copies")
	}
	if _, k := FoldCount("我們說"); k != 2 {
		t.Errorf("FoldCount(我們說) = %d, want 2", k)
	}
	// the generated tables never map to a key of the always-folded table,
	// so folding twice is folding once
	for k, v := range plainFold {
		if _, ok := plainFold[v]; ok {
			t.Errorf("%c → %c → %c", k, v, plainFold[v])
		}
	}
	if len(plainFold) < 2500 || len(phrasesBy) == 0 || len(compatFold) < 900 {
		t.Errorf("tables: %d plain, %d phrase starts, %d compat", len(plainFold), len(phrasesBy), len(compatFold))
	}
}

func TestTraditional(t *testing.T) {
	for _, c := range []struct {
		in string
		w  want
	}{
		{"這個問題們應該[淚]", want{own: "这个问题们应该", emoticons: []string{"泪"}, folded: 7}},
		{"#臺灣新聞#報導", want{own: "台湾新闻 报导", topics: []string{"台湾新闻"}, folded: 5}},
		{"@張三 說得對", want{own: "说得对", mentions: []string{"張三"}, folded: 2}},
		{"轉發微博", want{folded: 2}},
		{"轉發微博。", want{folded: 2}},
		{"龍\uf900", want{own: "龙岂", folded: 2}},
	} {
		check(t, c.in, c.w)
	}
}

func TestEmoticons(t *testing.T) {
	for _, c := range []struct {
		in string
		w  want
	}{
		{"太惨了[蜡烛][蜡烛] 走好[泪]", want{own: "太惨了 走好", emoticons: []string{"蜡烛", "蜡烛", "泪"}}},
		{"[哈哈]", want{emoticons: []string{"哈哈"}}},
		{"好[good]", want{own: "好", emoticons: []string{"good"}}},
		{"[爱心传递]大家", want{own: "大家", emoticons: []string{"爱心传递"}}},
		{"[c财神]", want{emoticons: []string{"c财神"}}},
		// not emoticons
		{"参考文献[1]", want{own: "参考文献[1]"}},
		{"[a b]", want{own: "[a b]"}},
		{"[abc123]", want{own: "[abc123]"}},
		{"[七个字的长括号]", want{own: "[七个字的长括号]"}},
		{"[]", want{own: "[]"}},
		{"[", want{own: "["}},
		{"【突发】消息", want{own: "【突发】消息"}},
		// media placeholders go, unlisted
		{"看[图片]", want{own: "看"}},
		{"[视频]现场", want{own: "现场"}},
		// removal keeps words apart and does not make new markup
		{"[[泪]哈]", want{own: "[ 哈]", emoticons: []string{"泪"}}},
		{"@[泪]张三", want{own: "@ 张三", emoticons: []string{"泪"}}},
	} {
		check(t, c.in, c.w)
	}
}

func TestEmoji(t *testing.T) {
	for _, c := range []struct {
		in string
		w  want
	}{
		{"开心😀😀", want{own: "开心", emoticons: []string{"😀", "😀"}}},
		{"点赞👍🏽了", want{own: "点赞 了", emoticons: []string{"👍🏽"}}},
		{"一家人👨\u200d👩\u200d👧好", want{own: "一家人 好", emoticons: []string{"👨\u200d👩\u200d👧"}}},
		{"爱你❤️", want{own: "爱你", emoticons: []string{"❤️"}}},
		{"爱你❤", want{own: "爱你", emoticons: []string{"❤"}}},
		{"🇨🇳加油", want{own: "加油", emoticons: []string{"🇨🇳"}}},
		{"第1️⃣名", want{own: "第 名", emoticons: []string{"1️⃣"}}},
		{"#⃣", want{emoticons: []string{"#⃣"}}},
		{"🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", want{emoticons: []string{"🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"}}},
		{"♀️", want{emoticons: []string{"♀️"}}},
		{"🏃\u200d♀️跑", want{own: "跑", emoticons: []string{"🏃\u200d♀️"}}},
		// text symbols stay unless VS16 makes them emoji
		{"©新华社 ™ ↔", want{own: "©新华社 ™ ↔"}},
		{"©️", want{emoticons: []string{"©️"}}},
		{"箭头→和●○", want{own: "箭头→和●○"}},
		// stray components go
		{"字\ufe0f\u200d\u20e3", want{own: "字", repaired: 3}},
		{"\U0001F3FB", want{repaired: 1}},
		{"🇨", want{emoticons: []string{"🇨"}}},
	} {
		check(t, c.in, c.w)
	}
}

func TestTopics(t *testing.T) {
	for _, c := range []struct {
		in string
		w  want
	}{
		{"#北京暴雨# 今天雨很大", want{own: "北京暴雨 今天雨很大", topics: []string{"北京暴雨"}}},
		{"今天#北京暴雨#很大", want{own: "今天 北京暴雨 很大", topics: []string{"北京暴雨"}}},
		{"＃全角话题＃", want{own: "全角话题", topics: []string{"全角话题"}}},
		{"#a##b#", want{own: "a b", topics: []string{"a", "b"}}},
		{"#话题[泪]#", want{own: "话题", topics: []string{"话题"}, emoticons: []string{"泪"}}},
		{"#请插入话题名称#", want{}},
		{"#肖战[超话]#", want{own: "肖战", topics: []string{"肖战"}}},
		// not topics
		{"C# 和 F#", want{own: "C# 和 F#"}},
		{"#", want{own: "#"}},
		{"##", want{own: "##"}},
		{"# 空格开头#", want{own: "# 空格开头#"}},
		{"第#1 名", want{own: "第#1 名"}},
		{"#" + strings.Repeat("长", 51) + "#", want{own: "#" + strings.Repeat("长", 51) + "#"}},
		{"#" + strings.Repeat("长", 40) + "[泪][泪][泪]" + strings.Repeat("长", 8) + "#", want{
			own: strings.Repeat("长", 40) + " " + strings.Repeat("长", 8), topics: []string{strings.Repeat("长", 40) + " " + strings.Repeat("长", 8)},
			emoticons: []string{"泪", "泪", "泪"}}},
		{"#" + strings.Repeat("长", 48) + "张三李四[泪]#", want{
			own: "#" + strings.Repeat("长", 48) + "张三李四 #", emoticons: []string{"泪"}}},
		{"#" + strings.Repeat("长", 50) + "#", want{own: strings.Repeat("长", 50), topics: []string{strings.Repeat("长", 50)}}},
	} {
		check(t, c.in, c.w)
	}
}

func TestMentions(t *testing.T) {
	long := strings.Repeat("名", 31)
	for _, c := range []struct {
		in string
		w  want
	}{
		{"@人民日报 说得好", want{own: "说得好", mentions: []string{"人民日报"}}},
		{"谢谢@张三_abc-1 和@李四：你们", want{own: "谢谢 和 你们", mentions: []string{"张三_abc-1", "李四"}}},
		{"@a@b", want{mentions: []string{"a", "b"}}},
		{"！@-K_i-@核电和尚 @215-氓流兔", want{own: "！", mentions: []string{"-K_i-", "核电和尚", "215-氓流兔"}}},
		{"看@" + long, want{own: "看@" + long}},
		{"@" + long[:30*3], want{mentions: []string{long[:30*3]}}},
		{"邮箱 someone@example.com", want{own: "邮箱 someone@example.com"}},
		{"结尾@", want{own: "结尾@"}},
		{"@", want{own: "@"}},
		{"@ 空格", want{own: "@ 空格"}},
		{"@@@@", want{own: "@@@@"}},
		{"回复@王剑云68:还有故宫", want{own: "还有故宫", replyTo: "王剑云68", mentions: []string{"王剑云68"}}},
		{"回复 @小明：好的", want{own: "好的", replyTo: "小明", mentions: []string{"小明"}}},
		{"回复@小明 好的", want{own: "回复 好的", mentions: []string{"小明"}}},
	} {
		check(t, c.in, c.w)
	}
}

func TestRepostChain(t *testing.T) {
	for _, c := range []struct {
		in string
		w  want
	}{
		{"说得对//@张三:不实报道//@李四: 原文在此[泪]", want{
			own:       "说得对",
			quoted:    []Quote{{"张三", "不实报道"}, {"李四", "原文在此"}},
			emoticons: []string{"泪"},
		}},
		{"//@张三:转发微博", want{quoted: []Quote{{"张三", ""}}}},
		{"转发微博//@张三：真的吗", want{quoted: []Quote{{"张三", "真的吗"}}}},
		{"[怒]//@张三:[哈哈]", want{quoted: []Quote{{"张三", ""}}, emoticons: []string{"怒", "哈哈"}}},
		{"//@張三:我們說", want{quoted: []Quote{{"張三", "我们说"}}, folded: 2}},
		{"好//@张三:回复@李四:对的", want{own: "好", quoted: []Quote{{"张三", "对的"}}, mentions: []string{"李四"}}},
		{"见 http://t.cn/zWxyz//@张三:好", want{own: "见", quoted: []Quote{{"张三", "好"}}, urls: []string{"http://t.cn/zWxyz"}}},
		// not links
		{"//@张三 没有冒号", want{own: "// 没有冒号", mentions: []string{"张三"}}},
		{"//@", want{own: "//@"}},
		{"//@:空名", want{own: "//@:空名"}},
		{"a//b", want{own: "a//b"}},
	} {
		check(t, c.in, c.w)
	}
	if got := Normalize("[怒]//@张三:[哈哈]"); got.OwnEmoticons != 1 {
		t.Errorf("OwnEmoticons = %d, want 1", got.OwnEmoticons)
	}
	got := Normalize("看//@甲:乙说//@乙:原文")
	if all := got.All(); all != "看\n乙说\n原文" {
		t.Errorf("All() = %q", all)
	}
}

func TestURLs(t *testing.T) {
	long := "http://example.com/" + strings.Repeat("a", 100000)
	for _, c := range []struct {
		in string
		w  want
	}{
		{"详情见http://t.cn/zWxyzAb 转发", want{own: "详情见 转发", urls: []string{"http://t.cn/zWxyzAb"}}},
		{"HTTPS://Example.com/a?b=1&c=2.", want{own: ".", urls: []string{"HTTPS://Example.com/a?b=1&c=2"}}},
		{"(见 https://a.cn/x)", want{own: "(见 )", urls: []string{"https://a.cn/x"}}},
		{"看www.sina.com.cn/x和t.cn/abc吧", want{own: "看 和 吧", urls: []string{"www.sina.com.cn/x", "t.cn/abc"}}},
		{"链接http://t.cn/a[泪]", want{own: "链接", urls: []string{"http://t.cn/a"}, emoticons: []string{"泪"}}},
		{"出卖中华利益.http:", want{own: "出卖中华利益."}},
		{"话题详情:http:完", want{own: "话题详情: 完"}},
		{"话题详情:http: 完", want{own: "话题详情: 完"}},
		{"HTTP: 协议", want{own: "协议"}},
		{"http://", want{}},
		{"t.Cn///@000", want{urls: []string{"t.Cn///"}, mentions: []string{"000"}}},
		{"http://a.cn/x//@张三 好", want{own: "好", urls: []string{"http://a.cn/x//"}, mentions: []string{"张三"}}},
		{long + " 后", want{own: "后", urls: []string{long}}},
		// not links
		{"xhttp: header", want{own: "xhttp: header"}},
		{"abc.www.x", want{own: "abc.www.x"}},
		{"www.", want{own: "www."}},
		{"at.cn/x", want{own: "at.cn/x"}},
		{"what", want{own: "what"}},
	} {
		check(t, c.in, c.w)
	}
}

func TestBoilerplate(t *testing.T) {
	for _, s := range []string{"转发微博", "转发微博。", "轉發微博", "Repost", "repost", "分享图片", "转", " 转发微博 ", "[泪]转发微博"} {
		if got := Normalize(s); got.Own != "" {
			t.Errorf("Normalize(%q).Own = %q, want empty", s, got.Own)
		}
	}
	for _, s := range []string{"转发微博不好", "请转发", "转发微博的人"} {
		if got := Normalize(s); got.Own != s {
			t.Errorf("Normalize(%q).Own = %q", s, got.Own)
		}
	}
}

func TestHostile(t *testing.T) {
	for name, s := range map[string]string{
		"brackets":  strings.Repeat("[", 1<<20),
		"brackets2": strings.Repeat("[[泪", 1<<18),
		"hashes":    strings.Repeat("#", 1<<20),
		"hashes2":   strings.Repeat("#话题 ", 1<<18),
		"ats":       strings.Repeat("@", 1<<20),
		"links":     strings.Repeat("//@", 1<<18),
		"links2":    strings.Repeat("//@名字", 1<<17),
		"chain":     strings.Repeat("//@名:", 1<<16),
		"invalid":   strings.Repeat("\xff", 1<<20),
		"halves":    strings.Repeat("中\xe4\xb8", 1<<18),
		"zwj":       strings.Repeat("\u200d", 1<<18),
		"emojizwj":  strings.Repeat("👨\u200d", 1<<17),
		"flags":     strings.Repeat("🇨", 1<<17),
		"url":       "http://" + strings.Repeat("x", 1<<20),
		"nul":       strings.Repeat("\x00", 1<<20),
		"trad":      strings.Repeat("乾坤說", 1<<17),
	} {
		t.Run(name, func(t *testing.T) {
			got := Normalize(s)
			invariants(t, name, got)
		})
	}
	if got := Normalize(strings.Repeat("//@名:", 1000)); len(got.Quoted) != 1000 {
		t.Errorf("chain: %d quotes, want 1000", len(got.Quoted))
	}
}

func TestNormalizeTo(t *testing.T) {
	var x Text
	NormalizeTo(&x, "好[泪] #话题# @张三 http://t.cn/a//@李四:嗯")
	NormalizeTo(&x, "第二条")
	if x.Own != "第二条" || len(x.Emoticons)+len(x.Topics)+len(x.Mentions)+len(x.URLs)+len(x.Quoted) != 0 {
		t.Errorf("NormalizeTo kept the last post's: %+v", x)
	}
	s := "好[泪] @张三 看"
	NormalizeTo(&x, s)
	if a := n(func() { NormalizeTo(&x, s) }); a > 1 {
		t.Errorf("NormalizeTo with markup: %v allocs, want ≤ 1 (Own)", a)
	}
}

// The simplified corpora stay as they are: Fold changes only characters
// that are never simplified (typed in traditional by their authors).
func TestFoldSimplifiedCorpora(t *testing.T) {
	const dir = "../../../shared/data/"
	var lines []string
	read := func(path string, field func(string) string) {
		f, err := os.Open(dir + path)
		if err != nil {
			t.Skipf("%s: ../shared/data absent", path)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, field(sc.Text()))
		}
	}
	read("sentiment/waimai_10k.csv", func(l string) string { _, s, _ := strings.Cut(l, ","); return s })
	read("topics/thucnews_dev.txt", func(l string) string { s, _, _ := strings.Cut(l, "\t"); return s })
	var runes, changed, changedLines, ambiguous int
	seen := map[string]int{}
	for _, l := range lines {
		runes += utf8.RuneCountInString(l)
		f, k := FoldCount(l)
		if k == 0 {
			if f != l {
				t.Fatalf("Fold(%q) = %q without counting", l, f)
			}
			continue
		}
		changed += k
		changedLines++
		a, b := []rune(l), []rune(f)
		for i := range a {
			if a[i] != b[i] {
				seen[string(a[i])+"→"+string(b[i])]++
				if !isTrad(a[i]) && compatFold[a[i]] == 0 {
					ambiguous++
				}
			}
		}
	}
	t.Logf("%d lines, %d characters: %d characters changed (%.4f%%) in %d lines, %d of them simplified characters folded because the line has traditional ones",
		len(lines), runes, changed, 100*float64(changed)/float64(runes), changedLines, ambiguous)
	t.Logf("changes: %v", seen)
	if float64(changed) > 0.0005*float64(runes) {
		t.Errorf("Fold changed %d of %d characters of simplified text", changed, runes)
	}
}

// weiboTexts reads up to max non-empty texts of posts and reposts.
func weiboTexts(tb testing.TB, max int) []string {
	f, err := os.Open("../../../shared/data/weibo/ced_dev.jsonl.gz")
	if err != nil {
		tb.Skip("weibo/ced_dev.jsonl.gz: ../shared/data absent")
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	dec := json.NewDecoder(zr)
	for len(out) < max {
		var rec struct {
			Post    struct{ Text string }
			Reposts []struct{ Text string }
		}
		if err := dec.Decode(&rec); err != nil {
			break
		}
		if rec.Post.Text != "" {
			out = append(out, rec.Post.Text)
		}
		for _, r := range rec.Reposts {
			if r.Text != "" && len(out) < max {
				out = append(out, r.Text)
			}
		}
	}
	return out
}

// TestWeibo runs the real posts through Normalize: the invariants hold and
// the share of posts on the fast path is logged.
func TestWeibo(t *testing.T) {
	texts := weiboTexts(t, 50000)
	var fast, changed, quoted, folded int
	for _, s := range texts {
		got := Normalize(s)
		invariants(t, s, got)
		if plain(s) {
			fast++
		}
		if got.Own != s {
			changed++
		}
		if len(got.Quoted) > 0 {
			quoted++
		}
		if got.Folded > 0 {
			folded++
		}
	}
	t.Logf("%d texts: %d on the fast path, %d with Own changed, %d with a repost chain, %d with traditional characters folded",
		len(texts), fast, changed, quoted, folded)
}
