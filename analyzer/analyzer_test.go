package analyzer

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"go.uber.org/goleak"

	"yuqing/analyzer/places"
	"yuqing/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var shared struct {
	once sync.Once
	a    *Analyzer
	err  error
}

func analyzer(t testing.TB) *Analyzer {
	t.Helper()
	shared.once.Do(func() { shared.a, shared.err = New() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.a
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name      string
		post      domain.Post
		sentiment string
		category  string
		places    []string
		keywords  []string // each must be among the keywords
		notKw     []string // none may be among the keywords
		riskAbove float64
		riskBelow float64
	}{
		{
			name:      "tragedy rumor in Ningbo",
			post:      domain.Post{Text: "人间惨剧：今天下午约14点，宁波妇儿医院，一妇女携带一婴儿在住院楼跳楼，后抢救无效死亡。具体情况有关部门正在调查。[蜡烛] 底层民众的医疗费用猛于虎，国人的性命其何等脆弱！[泪]", Author: domain.Author{Location: "上海"}},
			sentiment: domain.Negative, category: "医疗卫生",
			places:    []string{"浙江省宁波市", "上海市"},
			keywords:  []string{"跳楼", "惨剧", "住院楼"},
			notKw:     []string{"蜡烛", "14", "泪"},
			riskAbove: 0.5, riskBelow: 1.01,
		},
		{
			name:      "praise",
			post:      domain.Post{Text: "今天的服务非常好，环境干净，工作人员热情，点赞！"},
			sentiment: domain.Positive,
			keywords:  []string{"点赞", "干净"},
			riskAbove: -1, riskBelow: 0.5,
		},
		{
			name:      "complaint",
			post:      domain.Post{Title: "投诉", Text: "太差了，等了两个小时，饭菜都凉了，再也不会来了"},
			sentiment: domain.Negative,
			riskAbove: -1, riskBelow: 1.01,
		},
		{
			name:      "sports headline with region field",
			post:      domain.Post{Title: "国足2比0战胜泰国队", Text: "晋级世界杯预选赛下一阶段", Region: "北京"},
			category:  "其他",
			places:    []string{"北京市"},
			keywords:  []string{"国足", "世界杯"},
			riskAbove: -1, riskBelow: 1.01,
		},
		{
			name:      "url and mention dropped",
			post:      domain.Post{Text: "湖北武汉暴雨致多处内涝，市政部门连夜抢险 http://t.cn/zWxyzAB @人民日报"},
			places:    []string{"湖北省武汉市"},
			keywords:  []string{"内涝", "抢险"},
			notKw:     []string{"人民日报", "http", "cn", "zWxyzAB"},
			riskAbove: -1, riskBelow: 1.01,
		},
	}
	a := analyzer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.Analyze(&tt.post)
			if len(got.Tokens) == 0 || strings.Join(got.Tokens, "") == "" {
				t.Fatal("no tokens")
			}
			for _, tok := range got.Tokens {
				if strings.TrimSpace(tok) == "" {
					t.Fatalf("whitespace token in %q", got.Tokens)
				}
			}
			if tt.sentiment != "" && got.Sentiment.Label != tt.sentiment {
				t.Errorf("sentiment %+v (%s), want %s", got.Sentiment, got.Reasons["sentiment"], tt.sentiment)
			}
			if got.Sentiment.Confidence <= 0 || got.Sentiment.Confidence > 1 {
				t.Errorf("confidence %v outside (0,1]", got.Sentiment.Confidence)
			}
			if tt.category != "" && got.Category != tt.category {
				t.Errorf("category %q (%s), want %q", got.Category, got.Reasons["category"], tt.category)
			}
			if tt.places != nil && !slices.Equal(got.Places, tt.places) {
				t.Errorf("places %q, want %q", got.Places, tt.places)
			}
			var kws []string
			for _, k := range got.Keywords {
				kws = append(kws, k.Word)
			}
			if len(kws) > KeywordCount {
				t.Errorf("%d keywords, want at most %d", len(kws), KeywordCount)
			}
			for _, k := range tt.keywords {
				if !slices.Contains(kws, k) {
					t.Errorf("keyword %q missing from %q", k, kws)
				}
			}
			for _, k := range tt.notKw {
				if slices.Contains(kws, k) {
					t.Errorf("keyword %q should not be in %q", k, kws)
				}
			}
			if got.Risk <= tt.riskAbove || got.Risk >= tt.riskBelow {
				t.Errorf("risk %v not in (%v, %v): %s", got.Risk, tt.riskAbove, tt.riskBelow, got.Reasons["risk"])
			}
			for _, field := range []string{"sentiment", "category", "risk", "keywords"} {
				if got.Reasons[field] == "" {
					t.Errorf("no reason for %s: %v", field, got.Reasons)
				}
			}
			if len(got.Places) > 0 && !strings.Contains(got.Reasons["places"], "提到") && !strings.Contains(got.Reasons["places"], "字段") && !strings.Contains(got.Reasons["places"], "所在地") {
				t.Errorf("places reason %q", got.Reasons["places"])
			}
			if got.Unit != "" {
				t.Errorf("unit %q without a router", got.Unit)
			}
		})
	}
}

func TestAnalyzeReasonsNameEvidence(t *testing.T) {
	got := analyzer(t).Analyze(&domain.Post{Text: "太难吃了，送餐还慢，差评，再也不点了"})
	if got.Sentiment.Label != domain.Negative || !strings.HasPrefix(got.Reasons["sentiment"], "负面词: ") {
		t.Fatalf("sentiment %+v, reason %q", got.Sentiment, got.Reasons["sentiment"])
	}
	if got := analyzer(t).Analyze(&domain.Post{Text: "宁波今天"}); got.Reasons["places"] != "正文提到 宁波" {
		t.Fatalf("places reason %q", got.Reasons["places"])
	}
}

func TestAnalyzeEmptyRepost(t *testing.T) {
	got := analyzer(t).Analyze(&domain.Post{ParentID: "x", Author: domain.Author{Location: "浙江 杭州"}})
	if got.Sentiment.Label != domain.Neutral || got.Risk != 0 || len(got.Keywords) != 0 || got.Category != "" {
		t.Fatalf("empty repost analysed as %+v", got)
	}
	if !slices.Equal(got.Places, []string{"浙江省杭州市"}) {
		t.Fatalf("places %q", got.Places)
	}
}

func TestRouter(t *testing.T) {
	var gotRegion, gotLoc string
	var gotPlaces []places.Place
	a, err := New(WithRouter(func(region, location, _ string, ps []places.Place) (string, string) {
		gotRegion, gotLoc, gotPlaces = region, location, ps
		if len(ps) > 0 && ps[0].Province == "浙江省" {
			return "zj", "属地: 浙江省"
		}
		return "", ""
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := a.Analyze(&domain.Post{Text: "宁波一小区起火", Region: "浙江", Author: domain.Author{Location: "海外 美国"}})
	if got.Unit != "zj" || got.Reasons["unit"] != "属地: 浙江省" {
		t.Fatalf("unit %q reason %q", got.Unit, got.Reasons["unit"])
	}
	if gotRegion != "浙江" || gotLoc != "海外 美国" || len(gotPlaces) != 1 || gotPlaces[0].Name != "浙江省宁波市" {
		t.Fatalf("router saw %q %q %+v", gotRegion, gotLoc, gotPlaces)
	}
}

func TestNeutralThresholdOption(t *testing.T) {
	a, err := New(WithNeutralThreshold(1.01))
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Analyze(&domain.Post{Text: "非常好，点赞"}); got.Sentiment.Label != domain.Neutral {
		t.Fatalf("threshold above 1 still gave %+v", got.Sentiment)
	}
	if th := analyzer(t).NeutralThreshold(); th < 0.5 || th >= 1 {
		t.Fatalf("embedded neutral threshold %v", th)
	}
}

func TestAnalyzeConcurrent(t *testing.T) {
	a := analyzer(t)
	texts := []string{"人间惨剧：宁波妇儿医院一妇女跳楼", "今天的服务非常好，点赞！", "央行宣布降准"}
	want := make([]domain.Analysis, len(texts))
	for i, s := range texts {
		want[i] = a.Analyze(&domain.Post{Text: s})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(texts))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, s := range texts {
				got := a.Analyze(&domain.Post{Text: s})
				if got.Sentiment != want[i].Sentiment || got.Risk != want[i].Risk || !slices.Equal(got.Tokens, want[i].Tokens) {
					errs <- s
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("concurrent Analyze of %q differs", s)
	}
}

// TestIsLetterFastPath checks isLetter against the Unicode tables it skips.
func TestIsLetterFastPath(t *testing.T) {
	for r := rune(0); r <= 0x10FFFF; r++ {
		if want := unicode.Is(unicode.Han, r) || unicode.IsLetter(r); isLetter(r) != want {
			t.Fatalf("isLetter(%U) = %v, want %v", r, !want, want)
		}
	}
}

// TestNormalizeCache checks that cached location fields give what
// places.Normalize gives, and that the cache stays bounded.
func TestNormalizeCache(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"北京 朝阳区", "浙江 宁波", "海外 美国", "其他", "", "湖北"} {
		for range 2 { // the second time from the cache
			pl, ok := a.normalize(s)
			wpl, wok := places.Normalize(s)
			if pl != wpl || ok != wok {
				t.Fatalf("normalize(%q) = %+v %v, want %+v %v", s, pl, ok, wpl, wok)
			}
		}
	}
	for i := range maxLocations + 100 {
		a.normalize("某地 " + strconv.Itoa(i))
	}
	if n := a.nLocs.Load(); n > maxLocations {
		t.Fatalf("%d cached locations, bound %d", n, maxLocations)
	}
}

func TestAnalyzeCleansText(t *testing.T) {
	a := analyzer(t)
	simp := a.Analyze(&domain.Post{Text: "宁波一小区发生火灾，消防正在救援，暂无人员伤亡"})
	trad := a.Analyze(&domain.Post{Text: "寧波一小區發生火災，消防正在救援，暫無人員傷亡"})
	if !slices.Equal(simp.Tokens, trad.Tokens) || simp.Category != trad.Category || !slices.Equal(simp.Places, trad.Places) {
		t.Errorf("traditional text analysed differently:\n%q %s %v\n%q %s %v", simp.Tokens, simp.Category, simp.Places, trad.Tokens, trad.Category, trad.Places)
	}
	if !strings.Contains(trad.Reasons["text"], "繁体字转简体") {
		t.Errorf("text reason %q", trad.Reasons["text"])
	}
	if _, ok := simp.Reasons["text"]; ok {
		t.Errorf("plain text has a text reason: %q", simp.Reasons["text"])
	}
	// markup is not fed to the models: names, links and emoticons are no tokens
	res := a.Analyze(&domain.Post{Text: "太可怕了[蜡烛][泪] //@张三:#宁波爆炸# 现场视频 http://t.cn/zAbCdEf //@李四四: 转发微博"})
	for _, tok := range res.Tokens {
		if strings.Contains(tok, "张三") || strings.Contains(tok, "李四四") || strings.Contains(tok, "蜡烛") || strings.Contains(tok, "t.cn") || strings.Contains(tok, "//") {
			t.Errorf("markup token %q in %q", tok, res.Tokens)
		}
	}
	if !slices.Contains(res.Tokens, "爆炸") || res.Category != "突发事件与灾害" {
		t.Errorf("quoted chain lost: %q %s", res.Tokens, res.Category)
	}
	if why := res.Reasons["text"]; !strings.Contains(why, "转发链 2") || !strings.Contains(why, "链接 1") || !strings.Contains(why, "去掉表情 2") {
		t.Errorf("text reason %q", why)
	}
	// invalid UTF-8 never reaches the segmenter and comes out valid
	bad := a.Analyze(&domain.Post{Text: "宁波\xff\xfe爆炸\xe5\xae事故\x00"})
	for _, tok := range bad.Tokens {
		if !utf8.ValidString(tok) {
			t.Errorf("invalid token %q", tok)
		}
	}
	if !slices.Contains(bad.Tokens, "爆炸") {
		t.Errorf("tokens %q", bad.Tokens)
	}
}
