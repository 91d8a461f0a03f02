package esindex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/registry"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.uber.org/goleak"

	"yuqing/analyzer/index"
	"yuqing/analyzer/index/bleveindex"
	"yuqing/analyzer/index/indextest"
	"yuqing/analyzer/segment"
	"yuqing/domain"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	code := m.Run()
	cleanupBench() // before the leak check: it closes the benchmark index
	if code == 0 {
		// Bleve (the reference backend of TestSameAsBleve) starts its shared
		// analysis workers once per process.
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// addresses gives the Elasticsearch of the integration tests, or skips.
func addresses(t testing.TB) []string {
	t.Helper()
	v := os.Getenv("YUQING_ES")
	if v == "" {
		t.Skip("esindex: YUQING_ES not set; run make test-integration")
	}
	return strings.Split(v, ",")
}

func randomPrefix(t testing.TB, kind string) string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "yqtest-" + kind + "-" + hex.EncodeToString(b)
}

// openES opens an index under a new random prefix; its indices and template
// are deleted when the test ends.
func openES(t testing.TB, opts ...Option) *Index {
	t.Helper()
	addrs := addresses(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ix, err := Open(ctx, addrs, append([]Option{WithPrefix(randomPrefix(t, "t"))}, opts...)...)
	if err != nil {
		t.Fatalf("Open(%v): %v", addrs, err)
	}
	t.Cleanup(func() {
		ix.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := ix.Drop(ctx); err != nil {
			t.Errorf("Drop: %v", err)
		}
	})
	return ix
}

func TestConformance(t *testing.T) {
	addresses(t)
	for _, mode := range []string{RefreshExplicit, RefreshWaitFor} {
		t.Run(mode, func(t *testing.T) {
			indextest.Run(t, func(t *testing.T) index.Index { return openES(t, WithRefresh(mode)) })
		})
	}
}

// TestSameAsBleve checks that the same posts give the same answers from
// Elasticsearch and from the embedded backend: totals, hit ids in order and
// every aggregation. The posts have distinct times, so the orders by time
// are total; for a text query the two backends score differently (BM25 here,
// TF-IDF in Bleve), so the hits are compared in order only where the scores
// cannot differ (one hit, or every hit with the same text statistics) and
// as sets otherwise.
func TestSameAsBleve(t *testing.T) {
	es := openES(t)
	bl, err := bleveindex.Open(filepath.Join(t.TempDir(), "bleve"))
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	ctx := context.Background()
	docs := indextest.Fixture()
	// More posts across months, days and hours, with empty fields, places
	// for the region rule, a shared keyword, English and a compound word.
	base := time.Date(2023, 11, 30, 23, 30, 0, 0, indextest.CST)
	texts := []string{
		"全国人民代表大会常务委员会召开会议。", "代表大会今天闭幕。", "宁波妇儿医院新增停车位。",
		"Apple 发布新款 iPhone，价格上涨。", "暴雨导致道路积水，交通中断。", "医院 医院 医院 反复出现的词。",
		"", "学校食堂食品安全检查合格。",
	}
	for i, text := range texts {
		p := domain.IndexedPost{
			Post: domain.Post{ID: "x" + string(rune('a'+i)), Source: "news", Text: text,
				PublishedAt: base.Add(time.Duration(i*i*37) * time.Hour).Add(time.Duration(i) * time.Millisecond)},
			Analysis: domain.Analysis{
				Sentiment: domain.SentimentResult{Label: []string{domain.Negative, domain.Neutral, domain.Positive}[i%3]},
				Category:  []string{"政务服务", "", "医疗卫生", "消费维权"}[i%4],
				Places:    []string{[]string{"宁波", "北京", "上海"}[i%3], []string{"浙江省宁波市鄞州区", "北京市朝阳区", "上海市", "浙江省宁波市"}[i%4]},
				Keywords:  []domain.Keyword{{Word: "共享", Weight: 1}, {Word: "词" + string(rune('甲'+i%3)), Weight: 0.5}},
				Unit:      []string{"", "宁波市卫健委", "北京市网信办"}[i%3],
				Risk:      float64(i) * 0.1,
			},
		}
		p.Author = domain.Author{Name: "作者" + string(rune('甲'+i%2)), ID: "a" + string(rune('0'+i%3))}
		if i == 6 {
			p.PublishedAt = time.Time{} // no time at all
		}
		docs = append(docs, p)
	}
	if err := es.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := bl.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, indextest.CST) }
	for _, tc := range []struct {
		name    string
		q       index.Query
		ordered bool // hits compared in order
	}{
		{"all", index.Query{Size: 100}, true},
		{"page", index.Query{Size: 3, Offset: 4}, true},
		{"sentiment", index.Query{Sentiment: domain.Negative}, true},
		{"region from places", index.Query{Region: "北京"}, true},
		{"category", index.Query{Category: "医疗卫生"}, true},
		{"hour range", index.Query{From: at(2024, 3, 10, 0), To: at(2024, 3, 11, 0)}, true},
		{"day range", index.Query{From: at(2023, 11, 1, 0), To: at(2024, 3, 1, 0)}, true},
		{"month range", index.Query{From: at(2023, 1, 1, 0), To: at(2025, 1, 1, 0)}, true},
		{"from only", index.Query{From: at(2024, 3, 11, 0)}, true},
		{"to only", index.Query{To: at(2024, 1, 1, 0)}, true},
		{"reversed", index.Query{From: at(2024, 3, 11, 0), To: at(2024, 3, 10, 0)}, true},
		{"no match", index.Query{Unit: "不存在"}, true},
		{"医院", index.Query{Q: "医院"}, false},
		{"宁波妇儿医院", index.Query{Q: "宁波妇儿医院"}, false},
		{"compound inside", index.Query{Q: "代表大会"}, false},
		{"compound whole", index.Query{Q: "人民代表大会"}, true},
		{"two words", index.Query{Q: "交通 拥堵"}, true},
		{"english", index.Query{Q: "IPHONE"}, false},
		{"text and range", index.Query{Q: "医院", From: at(2024, 3, 1, 0)}, false},
		{"punctuation", index.Query{Q: "！？"}, true},
		{"place", index.Query{Place: "宁波市"}, true},
		{"place province", index.Query{Place: "浙江省"}, true},
		{"place municipality", index.Query{Place: "北京市"}, true},
		{"keyword", index.Query{Keyword: "共享"}, true},
		{"keyword and text", index.Query{Keyword: "医院", Q: "医院"}, false},
		{"min risk", index.Query{MinRisk: 0.3}, true},
		{"min risk inside a hundredth", index.Query{MinRisk: 0.695}, true},
		{"min risk and range", index.Query{MinRisk: 0.2, From: at(2023, 11, 1, 0), To: at(2024, 3, 1, 0)}, true},
		{"author", index.Query{Author: "作者乙"}, true},
		{"author id is not a name", index.Query{Author: "a2"}, true},
		{"unit", index.Query{Unit: "北京市网信办"}, true},
		{"all new filters", index.Query{Place: "浙江省", Keyword: "共享", MinRisk: 0.1, Author: "作者甲"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := es.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := bl.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != want.Total {
				t.Errorf("total %d, bleve %d", got.Total, want.Total)
			}
			g, w := hitIDs(got), hitIDs(want)
			if !tc.ordered {
				g, w = sorted(g), sorted(w)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("hits %v, bleve %v", g, w)
			}
			for i := range got.Hits {
				if i < len(want.Hits) && got.Hits[i].ID == want.Hits[i].ID {
					if a, b := jsonOf(t, got.Hits[i].IndexedPost), jsonOf(t, want.Hits[i].IndexedPost); a != b {
						t.Errorf("hit %s differs:\n es    %s\n bleve %s", got.Hits[i].ID, a, b)
					}
				}
			}
			if a, b := jsonOf(t, got.Aggs), jsonOf(t, want.Aggs); a != b {
				t.Errorf("aggregations differ:\n es    %s\n bleve %s", a, b)
			}
		})
	}
}

func hitIDs(r index.Result) []string {
	out := []string{}
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPartialFailure checks that a post Elasticsearch refuses makes Index
// fail with its id, while the others are written.
func TestPartialFailure(t *testing.T) {
	ix := openES(t)
	ctx := context.Background()
	fx := indextest.Fixture()
	bad := fx[1]
	bad.ID = "too-old"
	bad.PublishedAt = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) // before date_nanos' range
	err := ix.Index(ctx, []domain.IndexedPost{fx[0], bad, fx[2]})
	if err == nil || !strings.Contains(err.Error(), "too-old") || strings.Contains(err.Error(), "p1") {
		t.Fatalf("Index with a refused post: err %v; want an error naming too-old only", err)
	}
	if n, err := ix.Count(ctx); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want the 2 good posts", n, err)
	}
	// A post Elasticsearch itself refuses: its monthly index is closed.
	res, err := esapi.IndicesCloseRequest{Index: []string{ix.indexName(fx[0].PublishedAt)}}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		t.Fatal(err)
	}
	closeBody(res)
	err = ix.Index(ctx, []domain.IndexedPost{fx[3], fx[5]})
	if err == nil || !strings.Contains(err.Error(), "(ids p4)") {
		t.Fatalf("Index into a closed index: err %v; want an error naming p4 only", err)
	}
	if _, ok, err := ix.Get(ctx, "p6"); !ok || err != nil {
		t.Errorf("Get(p6) after a partial failure = %v, %v; want it indexed", ok, err)
	}
	if err := ix.Index(ctx, []domain.IndexedPost{{Post: domain.Post{Text: "无编号"}}}); err == nil {
		t.Error("Index of a post without id: no error")
	}
}

// TestUnreachable checks the errors when Elasticsearch is not there.
func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Open(ctx, []string{"http://127.0.0.1:1"}, WithPrefix("yqtest-none")); err == nil {
		t.Error("Open of a closed port: no error")
	}
	for _, opts := range [][]Option{{WithPrefix("Upper")}, {WithPrefix("")}, {WithShards(0)}, {WithRefresh("soon")}} {
		if _, err := Open(ctx, []string{"http://127.0.0.1:1"}, opts...); err == nil || !strings.Contains(err.Error(), "esindex: open") {
			t.Errorf("Open with a bad option: err %v", err)
		}
	}
	if _, err := Open(ctx, nil); err == nil {
		t.Error("Open without addresses: no error")
	}
}

func TestClosed(t *testing.T) {
	ix := openES(t)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := ix.Index(ctx, indextest.Fixture()); err == nil {
		t.Error("Index after Close: no error")
	}
	if _, err := ix.Search(ctx, index.Query{}); err == nil {
		t.Error("Search after Close: no error")
	}
	if err := ix.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestTokens checks the content_tokens against bleveindex's tokenizer rules.
func TestTokens(t *testing.T) {
	seg := segment.MustDefault()
	for _, tc := range []struct {
		title, text string
		want        string
	}{
		{"", "去宁波妇儿医院看病。", "去 宁波 妇儿 医院 看病"},
		{"", "中华人民共和国", "中华 华人 人民 共和 共和国 中华人民共和国"},
		{"IPHONE 维修", "这家 iPhone 维修点！！", "iphone 维修 这家 iphone 维修 维修点"},
		{"", "  ，。 ", ""},
		{"", "", ""},
	} {
		if got := strings.Join(contentTokens(seg, tc.title, tc.text), " "); got != tc.want {
			t.Errorf("contentTokens(%q, %q) = %q, want %q", tc.title, tc.text, got, tc.want)
		}
	}
	for _, tc := range []struct {
		q    string
		want [][]string
	}{
		{"医院停车", [][]string{{"医院"}, {"停车"}}},
		{"人民代表大会", [][]string{{"人民", "代表", "大会", "人民代表大会"}}},
		{"IPhone！", [][]string{{"iphone"}}},
		{"，。 ", nil},
	} {
		if got := index.QueryGroups(seg, tc.q); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("index.QueryGroups(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

// TestTokensSameAsBleve checks that content_tokens holds exactly the terms
// of bleveindex's analyzer, on hand-picked texts and on 2,000 real posts.
func TestTokensSameAsBleve(t *testing.T) {
	an, err := registry.NewCache().AnalyzerNamed(bleveindex.AnalyzerName)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"去宁波妇儿医院看病。", "IPHONE 维修\n这家 iPhone 维修点！！", "2024年3月10日，ＡＢＣ全角字母；emoji😀和#话题#", "http://t.cn/abc 转发微博"}
	if _, err := os.Stat(indextest.CorpusPath()); err == nil {
		docs, err := indextest.Corpus(2000)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			texts = append(texts, d.Text)
		}
	}
	seg := segment.MustDefault()
	for _, text := range texts {
		var want []string
		for _, tok := range an.Analyze([]byte(text)) {
			want = append(want, string(tok.Term))
		}
		if got := contentTokens(seg, "", text); !reflect.DeepEqual(got, want) {
			t.Errorf("contentTokens(%q) =\n %q\nbleve:\n %q", text, got, want)
		}
	}
}

func TestDefaultRegion(t *testing.T) {
	for _, p := range []domain.IndexedPost{
		{Post: domain.Post{Region: "浙江"}, Analysis: domain.Analysis{Places: []string{"北京"}}},
		{Analysis: domain.Analysis{Places: []string{"北京", "上海"}}},
		{},
	} {
		if g, w := DefaultRegion(p), bleveindex.DefaultRegion(p); g != w {
			t.Errorf("DefaultRegion = %q, bleveindex gives %q", g, w)
		}
	}
}

func TestBucketStarts(t *testing.T) {
	cst := indextest.CST
	for _, tc := range []struct {
		lo, hi    time.Time
		inclusive bool
		interval  string
		n         int
	}{
		{time.Date(2024, 3, 10, 9, 30, 0, 0, cst), time.Date(2024, 3, 10, 12, 0, 0, 0, cst), false, index.IntervalHour, 3},
		{time.Date(2024, 3, 10, 9, 30, 0, 0, cst), time.Date(2024, 3, 10, 12, 0, 0, 0, cst), true, index.IntervalHour, 4},
		{time.Date(2024, 3, 10, 23, 30, 0, 0, time.UTC), time.Date(2024, 3, 12, 0, 0, 0, 0, cst), false, index.IntervalDay, 1}, // 11 Mar 07:30 CST
		{time.Date(2024, 1, 31, 0, 0, 0, 0, cst), time.Date(2024, 3, 1, 0, 0, 0, 0, cst), false, index.IntervalMonth, 2},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, cst), time.Date(2024, 1, 1, 0, 0, 0, 0, cst), false, index.IntervalDay, 0},
		{time.Date(1800, 1, 1, 0, 0, 0, 0, cst), time.Date(2100, 1, 1, 0, 0, 0, 0, cst), false, index.IntervalMonth, index.MaxBuckets},
	} {
		got := index.BucketStarts(tc.lo, tc.hi, tc.inclusive, tc.interval)
		if len(got) != tc.n {
			t.Errorf("index.BucketStarts(%v, %v, %v, %s) = %d buckets, want %d", tc.lo, tc.hi, tc.inclusive, tc.interval, len(got), tc.n)
		}
		for _, s := range got {
			if s.Format("-07:00") != "+08:00" {
				t.Errorf("bucket %v not in China time", s)
			}
		}
	}
}

// TestOlderMappings checks that a monthly index made by an older version
// (strict mappings without places, place_terms, author and risk) gets the
// new fields when Open runs, with a warning, and then takes new posts.
func TestOlderMappings(t *testing.T) {
	addrs := addresses(t)
	ctx := context.Background()
	prefix := randomPrefix(t, "old")
	fx := indextest.Fixture()
	old := properties()
	for _, f := range []string{fPlaces, fPlaceTerm, fAuthor, fRisk} {
		delete(old, f)
	}
	body, _ := json.Marshal(map[string]any{
		"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0},
		"mappings": map[string]any{"dynamic": "strict", "_source": map[string]any{"excludes": []string{fContent}}, "properties": old},
		"aliases":  map[string]any{prefix: map[string]any{}},
	})
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	first, err := Open(ctx, addrs, WithPrefix(prefix), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := first.Drop(context.Background()); err != nil {
			t.Errorf("Drop: %v", err)
		}
	})
	// an older version's template lacked the fields too: without this, the
	// current template would add them to the index created below
	res, err := esapi.IndicesDeleteIndexTemplateRequest{Name: first.templateName()}.Do(ctx, first.es)
	if err := check(res, err); err != nil {
		t.Fatal(err)
	}
	closeBody(res)
	name := first.indexName(fx[0].PublishedAt)
	res, err = esapi.IndicesCreateRequest{Index: name, Body: strings.NewReader(string(body)), WaitForActiveShards: "1"}.Do(ctx, first.es)
	if err := check(res, err); err != nil {
		t.Fatal(err)
	}
	closeBody(res)
	first.Close()
	if strings.Contains(buf.String(), "older version") {
		t.Errorf("empty prefix reported as older: %s", buf.String())
	}

	ix, err := Open(ctx, addrs, WithPrefix(prefix), WithLogger(logger))
	if err != nil {
		t.Fatalf("Open over an older index: %v", err)
	}
	defer ix.Close()
	if !strings.Contains(buf.String(), "older version") || !strings.Contains(buf.String(), name) {
		t.Errorf("older index not reported: %s", buf.String())
	}
	if err := ix.Index(ctx, fx); err != nil {
		t.Fatalf("Index into an upgraded index: %v", err)
	}
	r, err := ix.Search(ctx, index.Query{Place: "浙江省", MinRisk: 0.7})
	if err != nil || r.Total != 2 {
		t.Errorf("place and risk in an upgraded index: total %d, err %v; want 2 (p4 p5)", r.Total, err)
	}
	// Opening again finds nothing to upgrade.
	buf.Reset()
	again, err := Open(ctx, addrs, WithPrefix(prefix), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if strings.Contains(buf.String(), "older version") {
		t.Errorf("upgraded index reported again: %s", buf.String())
	}
}

// TestEventDocument checks the indexed fields of an event.
func TestEventDocument(t *testing.T) {
	ix := &Index{seg: segment.MustDefault()}
	for _, tc := range []struct {
		grade domain.Grade
		want  int
	}{{domain.GradeI, 1}, {domain.GradeIV, 4}, {domain.GradeNone, 5}, {domain.Grade(9), 5}} {
		ev := indextest.Events()[4]
		ev.Grade = tc.grade
		b, err := ix.eventDocument(&ev)
		if err != nil {
			t.Fatal(err)
		}
		var d esEvent
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if d.Grade != tc.want {
			t.Errorf("grade %d indexed as %d, want %d", tc.grade, d.Grade, tc.want)
		}
		if !reflect.DeepEqual(d.Places, ev.Places) || !reflect.DeepEqual(d.PlaceTerms, []string{"浙江省", "浙江省宁波市", "宁波市", "浙江省宁波市鄞州区", "宁波市鄞州区", "鄞州区"}) {
			t.Errorf("places %q, place terms %q", d.Places, d.PlaceTerms)
		}
		if got := strings.Join(d.Content, " "); got != "鄞州 医院 纠纷 鄞州区 医院 医疗 纠纷 医疗纠纷 医院 纠纷" {
			t.Errorf("content tokens %q", got)
		}
		var doc domain.Event
		if err := json.Unmarshal(d.Doc, &doc); err != nil || doc.Hourly != nil || doc.ID != ev.ID {
			t.Errorf("doc %s: %v", d.Doc, err)
		}
	}
	b, err := ix.eventDocument(&domain.Event{ID: "bare"})
	var d map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(b, &d)
	}
	for _, f := range []string{fFirstAt, fLastAt, fContent, fPlaces, fCategory} {
		if _, ok := d[f]; ok || err != nil {
			t.Errorf("bare event has %s: %s, %v", f, b, err)
		}
	}
}

// TestEventsIndex checks that the events index has the events' mappings
// only (not merged with the posts' template) and stays out of the alias.
func TestEventsIndex(t *testing.T) {
	ix := openES(t)
	ctx := context.Background()
	res, err := esapi.IndicesGetMappingRequest{Index: []string{ix.EventsIndex()}}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		t.Fatal(err)
	}
	var got map[string]struct {
		Mappings struct {
			Dynamic    string                     `json:"dynamic"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if err := decode(res, &got); err != nil {
		t.Fatal(err)
	}
	m := got[ix.EventsIndex()].Mappings
	var fields []string
	for f := range m.Properties {
		fields = append(fields, f)
	}
	var want []string
	for f := range eventProperties() {
		want = append(want, f)
	}
	if m.Dynamic != "strict" || !reflect.DeepEqual(sorted(fields), sorted(want)) {
		t.Errorf("events mappings: dynamic %q, fields %v; want strict, %v", m.Dynamic, sorted(fields), sorted(want))
	}
	if err := ix.Index(ctx, indextest.Fixture()[:1]); err != nil { // makes the alias
		t.Fatal(err)
	}
	res, err = esapi.IndicesGetAliasRequest{Name: []string{ix.Alias()}}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		t.Fatal(err)
	}
	var in map[string]json.RawMessage
	if err := decode(res, &in); err != nil {
		t.Fatal(err)
	}
	if _, ok := in[ix.EventsIndex()]; ok || len(in) != 1 {
		t.Errorf("the alias %s holds %v, want the monthly index only", ix.Alias(), in)
	}
}

// TestEventsTwoWriters checks that two Index handles (two analyzers) writing
// the states of one event at once, in any order, leave the newest.
func TestEventsTwoWriters(t *testing.T) {
	a := openES(t)
	b, err := Open(context.Background(), addresses(t), WithPrefix(a.Alias()), WithRefresh(RefreshWaitFor))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	const states = 30
	errs := make(chan error, states)
	for v := states; v >= 1; v-- { // the older states mostly last
		ix := a
		if v%2 == 0 {
			ix = b
		}
		go func(ix *Index, v int) {
			ev := indextest.Events()[0]
			ev.Version, ev.Heat = int64(v), float64(v)
			errs <- ix.IndexEvents(ctx, []domain.Event{ev})
		}(ix, v)
	}
	for range states {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	res, err := a.SearchEvents(ctx, index.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Hits[0].Version != states || res.Hits[0].Heat != states {
		t.Errorf("after %d states from two writers: %d hits, %+v; want version %d", states, res.Total, res.Hits, states)
	}
	// an event never stored (version 0): the later state wins
	ev := indextest.Events()[1]
	ev.Version, ev.Heat = 0, 1
	if err := a.IndexEvents(ctx, []domain.Event{ev}); err != nil {
		t.Fatal(err)
	}
	ev.Heat = 2
	if err := b.IndexEvents(ctx, []domain.Event{ev}); err != nil {
		t.Fatal(err)
	}
	res, err = a.SearchEvents(ctx, index.EventQuery{Q: "暴雨"})
	if err != nil || res.Total != 1 || res.Hits[0].Heat != 2 {
		t.Errorf("version 0 twice: %+v, %v; want heat 2", res.Hits, err)
	}
	if err := a.IndexEvents(ctx, []domain.Event{{ID: "neg", Version: -1}}); err == nil {
		t.Error("IndexEvents of a negative version: no error")
	}
}

// TestOlderEventMappings checks that an events index made by an older
// version (without places and place_terms) gets the new fields when Open
// runs, with a warning, and that indexing the events again fills them.
func TestOlderEventMappings(t *testing.T) {
	addrs := addresses(t)
	ctx := context.Background()
	prefix := randomPrefix(t, "oldev")
	old := eventProperties()
	delete(old, fPlaces)
	delete(old, fPlaceTerm)
	body, _ := json.Marshal(map[string]any{
		"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0},
		"mappings": map[string]any{"dynamic": "strict", "properties": old},
	})
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	first, err := Open(ctx, addrs, WithPrefix(prefix), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := first.Drop(context.Background()); err != nil {
			t.Errorf("Drop: %v", err)
		}
	})
	// an older version had neither template's fields: without deleting
	// both, a template would add them to the index created below
	for _, req := range []esapi.Request{
		esapi.IndicesDeleteIndexTemplateRequest{Name: first.eventsTemplateName()},
		esapi.IndicesDeleteIndexTemplateRequest{Name: first.templateName()},
		esapi.IndicesDeleteRequest{Index: []string{first.EventsIndex()}},
		esapi.IndicesCreateRequest{Index: first.EventsIndex(), Body: strings.NewReader(string(body)), WaitForActiveShards: "1"},
	} {
		res, err := req.Do(ctx, first.es)
		if err := check(res, err); err != nil {
			t.Fatal(err)
		}
		closeBody(res)
	}
	first.Close()
	if strings.Contains(buf.String(), "older version") {
		t.Errorf("new index reported as older: %s", buf.String())
	}
	ix, err := Open(ctx, addrs, WithPrefix(prefix), WithLogger(logger))
	if err != nil {
		t.Fatalf("Open over an older events index: %v", err)
	}
	defer ix.Close()
	if !strings.Contains(buf.String(), "older version") || !strings.Contains(buf.String(), ix.EventsIndex()) {
		t.Errorf("older events index not reported: %s", buf.String())
	}
	if err := ix.IndexEvents(ctx, indextest.Events()); err != nil {
		t.Fatalf("IndexEvents into an upgraded index: %v", err)
	}
	r, err := ix.SearchEvents(ctx, index.EventQuery{Place: "鄞州区"})
	if err != nil || r.Total != 1 {
		t.Errorf("place in an upgraded events index: total %d, err %v; want 1 (e5)", r.Total, err)
	}
}
