// Package indextest is the conformance suite of the Index port: every backend
// (Bleve, Elasticsearch) must pass Run. It uses only the port, on a small
// hand-made set of Chinese posts whose expected results are counted by hand.
package indextest

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"

	"yuqing/analyzer/index"
	"yuqing/domain"
)

// CST is China time, the zone of the day and month buckets.
var CST = time.FixedZone("CST", 8*3600)

func at(month time.Month, day, hour, min int) time.Time {
	return time.Date(2024, month, day, hour, min, 0, 0, CST)
}

func post(id, title, text, sentiment, category, region, unit, event string, pub time.Time, kws ...string) domain.IndexedPost {
	p := domain.IndexedPost{
		Post: domain.Post{
			ID: id, Source: "weibo", Title: title, Text: text, Region: region, PublishedAt: pub,
			Author: domain.Author{Name: "网友" + id, ID: "u" + id, Followers: 100},
		},
		Analysis: domain.Analysis{Sentiment: domain.SentimentResult{Label: sentiment, Confidence: 0.9}, Category: category, Unit: unit},
		EventID:  event,
	}
	for i, k := range kws {
		p.Analysis.Keywords = append(p.Analysis.Keywords, domain.Keyword{Word: k, Weight: float64(len(kws) - i)})
	}
	return p
}

// Fixture is the hand-made set the suite searches. Expected counts:
// sentiment negative 3 (p1 p4 p6), positive 2 (p2 p3), neutral 1 (p5);
// category 医疗卫生 2, 交通出行 2, 住房保障 1, 消费维权 1; region 浙江 3,
// 江苏 2, 广东 1; keyword 医院 2, every other keyword 1; unit 宁波市卫健委 2,
// 南京市交通局 2, 杭州市住建局 1 (p6 has none); places 江苏省南京市 2 (p3
// p4), 浙江省杭州市 2 (p4 p5), 浙江省宁波市 1, 浙江省宁波市鄞州区 1,
// 广东省深圳市 1, 北京市 1 (p6 names two); risk p1 0.1 (low), p2 0.3 and
// p3 0.69 (medium), p4 0.7, p5 1.2 (taken as 1) and p6 0.7049 (high). The
// author of pN is 网友pN (id upN). p3 is published on 11 March China
// time, which is still 10 March in UTC.
func Fixture() []domain.IndexedPost {
	fx := fixture()
	for i, a := range []struct {
		risk   float64
		places []string
	}{
		{0.1, []string{"浙江省宁波市"}},
		{0.3, []string{"浙江省宁波市鄞州区"}},
		{0.69, []string{"江苏省南京市"}},
		{0.7, []string{"江苏省南京市", "浙江省杭州市"}},
		{1.2, []string{"浙江省杭州市"}},
		{0.7049, []string{"广东省深圳市", "北京市"}},
	} {
		fx[i].Analysis.Risk = a.risk
		fx[i].Analysis.Places = a.places
	}
	return fx
}

func fixture() []domain.IndexedPost {
	return []domain.IndexedPost{
		post("p1", "市民反映宁波妇儿医院停车难", "周末带孩子去宁波妇儿医院看病，停车场排队两个小时。",
			domain.Negative, "医疗卫生", "浙江", "宁波市卫健委", "e1", at(3, 10, 9, 0), "停车", "医院"),
		post("p2", "", "某医院的服务态度很好，医生很耐心。",
			domain.Positive, "医疗卫生", "浙江", "宁波市卫健委", "e1", at(3, 10, 10, 30), "医院", "服务"),
		post("p3", "", "地铁三号线今天开通，出行方便多了。",
			domain.Positive, "交通出行", "江苏", "南京市交通局", "e2", at(3, 11, 7, 0), "地铁", "出行"),
		post("p4", "", "学校门口道路施工，交通拥堵严重。",
			domain.Negative, "交通出行", "江苏", "南京市交通局", "e3", at(3, 12, 10, 0), "交通", "拥堵", "施工"),
		post("p5", "", "市政府发布新的住房补贴政策。",
			domain.Neutral, "住房保障", "浙江", "杭州市住建局", "", at(3, 20, 15, 0), "住房", "政策"),
		post("p6", "IPHONE 维修", "这家 iPhone 维修点收费不透明。",
			domain.Negative, "消费维权", "广东", "", "", at(4, 19, 20, 0), "维修", "收费"),
	}
}

// Run runs the suite. open must return a new, empty index each time it is
// called; Run closes it.
func Run(t *testing.T, open func(t *testing.T) index.Index) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, open(t)) })
	t.Run("Count", func(t *testing.T) { testCount(t, open(t)) })
	t.Run("Text", func(t *testing.T) { testText(t, loaded(t, open)) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, loaded(t, open)) })
	t.Run("TimeRange", func(t *testing.T) { testTimeRange(t, loaded(t, open)) })
	t.Run("MatchAll", func(t *testing.T) { testMatchAll(t, loaded(t, open)) })
	t.Run("Aggregations", func(t *testing.T) { testAggregations(t, loaded(t, open)) })
	t.Run("AnalysisFilters", func(t *testing.T) { testAnalysisFilters(t, loaded(t, open)) })
	t.Run("AnalysisAggregations", func(t *testing.T) { testAnalysisAggregations(t, loaded(t, open)) })
	t.Run("RiskEdges", func(t *testing.T) { testRiskEdges(t, open(t)) })
	t.Run("OverTime", func(t *testing.T) { testOverTime(t, loaded(t, open)) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, loaded(t, open)) })
	t.Run("IntervalThresholds", func(t *testing.T) { testThresholds(t, open) })
	RunEvents(t, open)
}

func loaded(t *testing.T, open func(t *testing.T) index.Index) index.Index {
	t.Helper()
	ix := open(t)
	if err := ix.Index(context.Background(), Fixture()); err != nil {
		ix.Close()
		t.Fatalf("Index(fixture): %v", err)
	}
	return ix
}

func closeIx(t *testing.T, ix index.Index) {
	if err := ix.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func search(t *testing.T, ix index.Index, q index.Query) index.Result {
	t.Helper()
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func ids(res index.Result) []string {
	out := make([]string, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	return out
}

func sortedIDs(res index.Result) []string {
	out := ids(res)
	sort.Strings(out)
	return out
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func full() domain.IndexedPost {
	pub := time.Date(2024, 5, 1, 8, 30, 15, 123456789, CST)
	return domain.IndexedPost{
		Post: domain.Post{
			ID: "full-1", Source: "news", URL: "https://example.gov.cn/a/1.html",
			Title: "宁波妇儿医院回应停车难", Text: "医院表示将新建停车楼。",
			Author:      domain.Author{Name: "宁波发布", ID: "nb001", Followers: 1234567, Verified: true, Location: "浙江 宁波"},
			PublishedAt: pub, Region: "浙江",
			Metrics:    domain.Metrics{Reposts: 12, Comments: 34, Likes: 56},
			ParentID:   "root-9",
			ReceivedAt: time.Date(2024, 5, 1, 0, 31, 0, 987654321, time.UTC),
		},
		Analysis: domain.Analysis{
			Tokens:    []string{"宁波", "妇儿", "医院", "回应", "停车难"},
			Keywords:  []domain.Keyword{{Word: "停车", Weight: 0.8}, {Word: "医院", Weight: 0.5}},
			Sentiment: domain.SentimentResult{Label: domain.Neutral, Confidence: 0.61},
			Category:  "医疗卫生", Risk: 0.07, Places: []string{"宁波"}, Unit: "宁波市卫健委",
			Reasons: map[string]string{"sentiment": "无明显褒贬词", "unit": "地名“宁波”属宁波市"},
		},
		EventID: "ev-42",
	}
}

func testRoundTrip(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	ctx := context.Background()
	want := full()
	if err := ix.Index(ctx, nil); err != nil {
		t.Fatalf("Index(nil): %v", err)
	}
	if err := ix.Index(ctx, []domain.IndexedPost{want}); err != nil {
		t.Fatalf("Index: %v", err)
	}
	got, ok, err := ix.Get(ctx, want.ID)
	if err != nil || !ok {
		t.Fatalf("Get(%s) = ok %v, err %v", want.ID, ok, err)
	}
	if g, w := asJSON(t, got), asJSON(t, want); g != w {
		t.Errorf("Get round trip differs:\n got %s\nwant %s", g, w)
	}
	if !got.PublishedAt.Equal(want.PublishedAt) || !reflect.DeepEqual(got.Analysis, want.Analysis) {
		t.Errorf("Get: published_at or analysis differ: %v %+v", got.PublishedAt, got.Analysis)
	}
	res := search(t, ix, index.Query{Q: "停车楼"})
	if len(res.Hits) != 1 {
		t.Fatalf("search 停车楼: %d hits, want 1", len(res.Hits))
	}
	if g, w := asJSON(t, res.Hits[0].IndexedPost), asJSON(t, want); g != w {
		t.Errorf("search hit differs from indexed post:\n got %s\nwant %s", g, w)
	}
	if _, ok, err := ix.Get(ctx, "no-such-id"); ok || err != nil {
		t.Errorf("Get(missing) = ok %v, err %v; want false, nil", ok, err)
	}
}

func testOverwrite(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	ctx := context.Background()
	p := Fixture()[0]
	if err := ix.Index(ctx, []domain.IndexedPost{p}); err != nil {
		t.Fatal(err)
	}
	p.Title, p.Text = "", "图书馆开放时间延长到晚上十点。"
	p.Analysis.Sentiment.Label = domain.Positive
	if err := ix.Index(ctx, []domain.IndexedPost{p}); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count after overwrite = %d, %v; want 1", n, err)
	}
	got, ok, err := ix.Get(ctx, p.ID)
	if err != nil || !ok || got.Text != p.Text || got.Analysis.Sentiment.Label != domain.Positive {
		t.Errorf("Get after overwrite = %q %q ok %v err %v", got.Text, got.Analysis.Sentiment.Label, ok, err)
	}
	if res := search(t, ix, index.Query{Q: "停车"}); res.Total != 0 {
		t.Errorf("old text still found: total %d", res.Total)
	}
	if res := search(t, ix, index.Query{Q: "图书馆"}); res.Total != 1 {
		t.Errorf("new text: total %d, want 1", res.Total)
	}
	if res := search(t, ix, index.Query{Sentiment: domain.Negative}); res.Total != 0 {
		t.Errorf("old sentiment still found: total %d", res.Total)
	}
}

func testCount(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	ctx := context.Background()
	if n, err := ix.Count(ctx); err != nil || n != 0 {
		t.Fatalf("Count(empty) = %d, %v", n, err)
	}
	fx := Fixture()
	if err := ix.Index(ctx, fx[:4]); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Count(ctx); err != nil || n != 4 {
		t.Errorf("Count = %d, %v; want 4", n, err)
	}
	if err := ix.Index(ctx, fx); err != nil { // four again, two new
		t.Fatal(err)
	}
	if n, err := ix.Count(ctx); err != nil || n != 6 {
		t.Errorf("Count = %d, %v; want 6", n, err)
	}
}

func testText(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	for _, tc := range []struct {
		name string
		q    index.Query
		want []string
	}{
		{"word inside a longer word", index.Query{Q: "医院"}, []string{"p1", "p2"}},
		{"whole name", index.Query{Q: "宁波妇儿医院"}, []string{"p1"}},
		{"all words must match", index.Query{Q: "医院 停车"}, []string{"p1"}},
		{"phrase cut into words", index.Query{Q: "医院停车"}, []string{"p1"}},
		{"no post has both", index.Query{Q: "医院 地铁"}, nil},
		{"title is searched", index.Query{Q: "市民反映"}, []string{"p1"}},
		{"case folded", index.Query{Q: "iphone"}, []string{"p6"}},
		{"case folded upper", index.Query{Q: "IPhone"}, []string{"p6"}},
		{"absent word", index.Query{Q: "火车站"}, nil},
		{"text and filter", index.Query{Q: "医院", Sentiment: domain.Positive}, []string{"p2"}},
		{"text and time", index.Query{Q: "医院", To: at(3, 10, 10, 0)}, []string{"p1"}},
		{"punctuation only is empty", index.Query{Q: "，。！ "}, []string{"p1", "p2", "p3", "p4", "p5", "p6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := search(t, ix, tc.q)
			got := sortedIDs(res)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) || res.Total != int64(len(tc.want)) {
				t.Errorf("Search(%q) = %v (total %d), want %v", tc.q.Q, got, res.Total, tc.want)
			}
			for _, h := range res.Hits {
				if tc.q.Q == "医院" && h.Score <= 0 {
					t.Errorf("hit %s has score %v, want > 0", h.ID, h.Score)
				}
			}
		})
	}
}

func testFilters(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	for _, tc := range []struct {
		name string
		q    index.Query
		want []string
	}{
		{"sentiment", index.Query{Sentiment: domain.Negative}, []string{"p1", "p4", "p6"}},
		{"category", index.Query{Category: "交通出行"}, []string{"p3", "p4"}},
		{"region", index.Query{Region: "江苏"}, []string{"p3", "p4"}},
		{"unit", index.Query{Unit: "杭州市住建局"}, []string{"p5"}},
		{"event", index.Query{EventID: "e1"}, []string{"p1", "p2"}},
		{"region and sentiment", index.Query{Region: "浙江", Sentiment: domain.Negative}, []string{"p1"}},
		{"exact value only", index.Query{Category: "交通"}, nil},
		{"no match", index.Query{Unit: "不存在的单位"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := search(t, ix, tc.q)
			got := sortedIDs(res)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) || res.Total != int64(len(tc.want)) {
				t.Errorf("Search(%+v) = %v (total %d), want %v", tc.q, got, res.Total, tc.want)
			}
		})
	}
}

func testTimeRange(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	fx := Fixture()
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"from inclusive, to exclusive", fx[0].PublishedAt, fx[3].PublishedAt, []string{"p1", "p2", "p3"}},
		{"one nanosecond later", fx[0].PublishedAt.Add(time.Nanosecond), fx[3].PublishedAt.Add(time.Nanosecond), []string{"p2", "p3", "p4"}},
		{"from only", fx[4].PublishedAt, time.Time{}, []string{"p5", "p6"}},
		{"to only", time.Time{}, fx[1].PublishedAt, []string{"p1"}},
		{"other zone, same instant", fx[2].PublishedAt.UTC(), fx[2].PublishedAt.UTC().Add(time.Second), []string{"p3"}},
		{"empty range", fx[2].PublishedAt, fx[2].PublishedAt, nil},
		{"reversed range", fx[3].PublishedAt, fx[0].PublishedAt, nil},
		{"across days, partial hours", at(3, 10, 10, 0), at(3, 12, 10, 0).Add(500 * time.Millisecond), []string{"p2", "p3", "p4"}},
		{"across a month, partial hours", fx[0].PublishedAt.Add(time.Nanosecond), fx[5].PublishedAt, []string{"p2", "p3", "p4", "p5"}},
		{"whole months", at(3, 1, 0, 0), at(5, 1, 0, 0), []string{"p1", "p2", "p3", "p4", "p5", "p6"}},
		{"whole days in China time", at(3, 11, 0, 0), at(3, 12, 0, 0), []string{"p3"}},
		{"within one hour", at(4, 19, 19, 59), at(4, 19, 20, 1), []string{"p6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := search(t, ix, index.Query{From: tc.from, To: tc.to})
			got := sortedIDs(res)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) || res.Total != int64(len(tc.want)) {
				t.Errorf("[%v, %v) = %v (total %d), want %v", tc.from, tc.to, got, res.Total, tc.want)
			}
		})
	}
}

func testMatchAll(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	res := search(t, ix, index.Query{})
	want := []string{"p6", "p5", "p4", "p3", "p2", "p1"} // newest first
	if got := ids(res); !reflect.DeepEqual(got, want) || res.Total != 6 {
		t.Errorf("empty q = %v (total %d), want %v", got, res.Total, want)
	}
}

func counts(tcs []index.TermCount) map[string]int64 {
	m := map[string]int64{}
	for _, tc := range tcs {
		m[tc.Term] = tc.Count
	}
	return m
}

func testAggregations(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	// Size 1: the aggregations still count every match.
	res := search(t, ix, index.Query{Size: 1})
	if len(res.Hits) != 1 || res.Total != 6 {
		t.Fatalf("size 1: %d hits, total %d", len(res.Hits), res.Total)
	}
	for _, tc := range []struct {
		name string
		got  []index.TermCount
		want map[string]int64
	}{
		{"sentiment", res.Aggs.BySentiment, map[string]int64{domain.Negative: 3, domain.Positive: 2, domain.Neutral: 1}},
		{"category", res.Aggs.ByCategory, map[string]int64{"医疗卫生": 2, "交通出行": 2, "住房保障": 1, "消费维权": 1}},
		{"region", res.Aggs.ByRegion, map[string]int64{"浙江": 3, "江苏": 2, "广东": 1}},
		{"keywords", res.Aggs.TopKeywords, map[string]int64{"医院": 2, "停车": 1, "服务": 1, "地铁": 1, "出行": 1, "交通": 1, "拥堵": 1, "施工": 1, "住房": 1, "政策": 1, "维修": 1, "收费": 1}},
	} {
		if g := counts(tc.got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, g, tc.want)
		}
		for i := 1; i < len(tc.got); i++ {
			if tc.got[i].Count > tc.got[i-1].Count {
				t.Errorf("%s not ordered by count: %v", tc.name, tc.got)
			}
		}
	}
	// With a filter and a query the aggregations follow the matches.
	res = search(t, ix, index.Query{Q: "医院"})
	if g, w := counts(res.Aggs.BySentiment), map[string]int64{domain.Negative: 1, domain.Positive: 1}; !reflect.DeepEqual(g, w) {
		t.Errorf("q=医院 sentiment = %v, want %v", g, w)
	}
	res = search(t, ix, index.Query{Region: "浙江"})
	if g, w := counts(res.Aggs.ByCategory), map[string]int64{"医疗卫生": 2, "住房保障": 1}; !reflect.DeepEqual(g, w) {
		t.Errorf("region=浙江 category = %v, want %v", g, w)
	}
	if g := res.Aggs.TopKeywords; len(g) == 0 || g[0] != (index.TermCount{Term: "医院", Count: 2}) {
		t.Errorf("region=浙江 top keyword = %v, want 医院 2 first", g)
	}
	res = search(t, ix, index.Query{Unit: "不存在的单位"})
	if res.Total != 0 || len(res.Aggs.BySentiment) != 0 || len(res.Aggs.OverTime) != 0 {
		t.Errorf("no match: total %d, aggs %+v", res.Total, res.Aggs)
	}
}

type bucket struct {
	start time.Time
	count int64
}

func testOverTime(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	for _, tc := range []struct {
		name     string
		q        index.Query
		interval string
		n        int      // number of buckets
		some     []bucket // buckets that must be there with these counts
	}{
		{"span of matches picks day", index.Query{}, "day", 41, []bucket{
			{at(3, 10, 0, 0), 2}, {at(3, 11, 0, 0), 1}, {at(3, 12, 0, 0), 1}, {at(3, 13, 0, 0), 0}, {at(3, 20, 0, 0), 1}, {at(4, 19, 0, 0), 1}}},
		{"short range picks hour", index.Query{From: at(3, 10, 9, 0), To: at(3, 10, 12, 0)}, "hour", 3, []bucket{
			{at(3, 10, 9, 0), 1}, {at(3, 10, 10, 0), 1}, {at(3, 10, 11, 0), 0}}},
		{"three days is still hours", index.Query{From: at(3, 10, 0, 0), To: at(3, 13, 0, 0)}, "hour", 72, []bucket{
			{at(3, 10, 9, 0), 1}, {at(3, 11, 7, 0), 1}, {at(3, 12, 10, 0), 1}}},
		{"long range picks month", index.Query{From: at(1, 1, 0, 0), To: at(12, 1, 0, 0)}, "month", 11, []bucket{
			{at(1, 1, 0, 0), 0}, {at(3, 1, 0, 0), 5}, {at(4, 1, 0, 0), 1}, {at(11, 1, 0, 0), 0}}},
		{"filtered matches span hours", index.Query{EventID: "e1"}, "hour", 2, []bucket{
			{at(3, 10, 9, 0), 1}, {at(3, 10, 10, 0), 1}}},
		{"from only: span to the last match", index.Query{From: at(3, 11, 0, 0)}, "day", 40, []bucket{
			{at(3, 11, 0, 0), 1}, {at(4, 19, 0, 0), 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := search(t, ix, tc.q)
			ot := res.Aggs.OverTime
			if res.Aggs.Interval != tc.interval {
				t.Errorf("interval = %q, want %q", res.Aggs.Interval, tc.interval)
			}
			if len(ot) != tc.n {
				t.Errorf("%d buckets, want %d", len(ot), tc.n)
			}
			var sum int64
			byStart := map[int64]int64{}
			for i, b := range ot {
				sum += b.Count
				byStart[b.Start.Unix()] = b.Count
				if i > 0 && !b.Start.After(ot[i-1].Start) {
					t.Errorf("buckets out of order at %d: %v then %v", i, ot[i-1].Start, b.Start)
				}
			}
			if sum != res.Total {
				t.Errorf("buckets sum to %d, total is %d", sum, res.Total)
			}
			for _, b := range tc.some {
				c, ok := byStart[b.start.Unix()]
				if !ok || c != b.count {
					t.Errorf("bucket %v: count %d (present %v), want %d", b.start, c, ok, b.count)
				}
			}
		})
	}
}

func testPaging(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	var all []string
	for off := 0; off < 8; off += 2 {
		res := search(t, ix, index.Query{Size: 2, Offset: off})
		if res.Total != 6 {
			t.Errorf("offset %d: total %d, want 6", off, res.Total)
		}
		if want := min(2, max(0, 6-off)); len(res.Hits) != want {
			t.Errorf("offset %d: %d hits, want %d", off, len(res.Hits), want)
		}
		if s := counts(res.Aggs.BySentiment); s[domain.Negative] != 3 {
			t.Errorf("offset %d: aggregations not over all matches: %v", off, s)
		}
		all = append(all, ids(res)...)
	}
	if want := []string{"p6", "p5", "p4", "p3", "p2", "p1"}; !reflect.DeepEqual(all, want) {
		t.Errorf("pages = %v, want %v", all, want)
	}
	if res := search(t, ix, index.Query{Size: 0}); len(res.Hits) != 6 {
		t.Errorf("size 0 (default 20): %d hits, want 6", len(res.Hits))
	}
	res := search(t, ix, index.Query{Q: "医院", Size: 1, Offset: 1})
	if res.Total != 2 || len(res.Hits) != 1 {
		t.Errorf("q page 2: total %d, %d hits", res.Total, len(res.Hits))
	}
	first := search(t, ix, index.Query{Q: "医院", Size: 1})
	if len(first.Hits) == 1 && len(res.Hits) == 1 && first.Hits[0].ID == res.Hits[0].ID {
		t.Errorf("q pages 1 and 2 both give %s", res.Hits[0].ID)
	}
	// NoAggs (exports): the same pages and total, no aggregations
	for _, q := range []index.Query{{Size: 4, Offset: 2}, {Q: "医院", Size: 1, Offset: 1}, {Size: 3, From: at(1, 1, 0, 0), To: at(12, 31, 0, 0)}} {
		with := search(t, ix, q)
		q.NoAggs = true
		without := search(t, ix, q)
		if !reflect.DeepEqual(ids(with), ids(without)) || with.Total != without.Total {
			t.Errorf("%+v: hits %v total %d, with aggregations %v total %d", q, ids(without), without.Total, ids(with), with.Total)
		}
		if a := without.Aggs; len(a.BySentiment)+len(a.ByCategory)+len(a.ByRegion)+len(a.TopKeywords)+len(a.ByPlace)+len(a.ByUnit)+len(a.OverTime) > 0 || a.Interval != "" {
			t.Errorf("%+v: aggregations counted: %+v", q, a)
		}
	}
}

// testThresholds checks the interval at its bounds, from the matches' own
// span: up to 72 hours is hourly, up to 180 days daily, beyond monthly.
func testThresholds(t *testing.T, open func(t *testing.T) index.Index) {
	ix := open(t)
	defer closeIx(t, ix)
	start := at(1, 1, 9, 0)
	mk := func(id, event string, pub time.Time) domain.IndexedPost {
		return post(id, "", "测试文本", domain.Neutral, "其他", "北京", "", event, pub)
	}
	docs := []domain.IndexedPost{
		mk("h1", "72h", start), mk("h2", "72h", start.Add(72*time.Hour)),
		mk("d1", "73h", start), mk("d2", "73h", start.Add(73*time.Hour)),
		mk("e1", "180d", start), mk("e2", "180d", start.AddDate(0, 0, 180)),
		mk("m1", "181d", start), mk("m2", "181d", start.AddDate(0, 0, 180).Add(time.Hour)),
	}
	if err := ix.Index(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		event, interval string
		n               int
	}{
		{"72h", "hour", 73}, {"73h", "day", 4}, {"180d", "day", 181}, {"181d", "month", 6},
	} {
		res := search(t, ix, index.Query{EventID: tc.event})
		if res.Aggs.Interval != tc.interval || len(res.Aggs.OverTime) != tc.n {
			t.Errorf("span %s: interval %q with %d buckets, want %q with %d", tc.event, res.Aggs.Interval, len(res.Aggs.OverTime), tc.interval, tc.n)
			continue
		}
		ot := res.Aggs.OverTime
		if ot[0].Count != 1 || ot[len(ot)-1].Count != 1 {
			t.Errorf("span %s: first and last buckets %d, %d; want 1, 1", tc.event, ot[0].Count, ot[len(ot)-1].Count)
		}
	}
}

// testAnalysisFilters checks the filters on the analysis: places (by any
// level of the name), keywords, risk and author.
func testAnalysisFilters(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	for _, tc := range []struct {
		name string
		q    index.Query
		want []string
	}{
		{"place city", index.Query{Place: "宁波市"}, []string{"p1", "p2"}},
		{"place full name", index.Query{Place: "浙江省宁波市"}, []string{"p1", "p2"}},
		{"place province", index.Query{Place: "浙江省"}, []string{"p1", "p2", "p4", "p5"}},
		{"place district", index.Query{Place: "鄞州区"}, []string{"p2"}},
		{"place district full", index.Query{Place: "浙江省宁波市鄞州区"}, []string{"p2"}},
		{"place city and district", index.Query{Place: "宁波市鄞州区"}, []string{"p2"}},
		{"place second of two", index.Query{Place: "浙江省杭州市"}, []string{"p4", "p5"}},
		{"place municipality", index.Query{Place: "北京市"}, []string{"p6"}},
		{"place short form is not a name", index.Query{Place: "宁波"}, nil},
		{"place and sentiment", index.Query{Place: "江苏省", Sentiment: domain.Negative}, []string{"p4"}},
		{"place and region", index.Query{Place: "浙江省杭州市", Region: "江苏"}, []string{"p4"}},
		{"keyword", index.Query{Keyword: "医院"}, []string{"p1", "p2"}},
		{"keyword exact only", index.Query{Keyword: "医"}, nil},
		{"keyword and text", index.Query{Keyword: "医院", Q: "停车"}, []string{"p1"}},
		{"keyword not in text", index.Query{Keyword: "拥堵", Q: "医院"}, nil},
		{"min risk 0.7", index.Query{MinRisk: 0.7}, []string{"p4", "p5", "p6"}},
		{"min risk 0.3 inclusive", index.Query{MinRisk: 0.3}, []string{"p2", "p3", "p4", "p5", "p6"}},
		{"min risk 0.69", index.Query{MinRisk: 0.69}, []string{"p3", "p4", "p5", "p6"}},
		{"min risk inside a hundredth", index.Query{MinRisk: 0.6901}, []string{"p4", "p5", "p6"}},
		{"min risk equal to an odd risk", index.Query{MinRisk: 0.7049}, []string{"p5", "p6"}},
		{"min risk just above", index.Query{MinRisk: 0.70491}, []string{"p5"}},
		{"min risk 1 takes risk above 1 as 1", index.Query{MinRisk: 1}, []string{"p5"}},
		{"min risk above 1", index.Query{MinRisk: 1.01}, nil},
		{"min risk small", index.Query{MinRisk: 0.0001}, []string{"p1", "p2", "p3", "p4", "p5", "p6"}},
		{"min risk zero does not filter", index.Query{MinRisk: 0}, []string{"p1", "p2", "p3", "p4", "p5", "p6"}},
		{"min risk and text", index.Query{MinRisk: 0.2, Q: "医院"}, []string{"p2"}},
		{"author name", index.Query{Author: "网友p3"}, []string{"p3"}},
		{"author name of another", index.Query{Author: "网友p4"}, []string{"p4"}},
		{"author id is not a name", index.Query{Author: "up4"}, nil},
		{"author exact only", index.Query{Author: "网友"}, nil},
		{"all new filters", index.Query{Place: "浙江省", Keyword: "住房", MinRisk: 0.9, Author: "网友p5"}, []string{"p5"}},
		{"all new filters, one fails", index.Query{Place: "浙江省", Keyword: "住房", MinRisk: 0.9, Author: "网友p4"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := search(t, ix, tc.q)
			got := sortedIDs(res)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) || res.Total != int64(len(tc.want)) {
				t.Errorf("Search(%+v) = %v (total %d), want %v", tc.q, got, res.Total, tc.want)
			}
		})
	}
}

func riskCounts(rcs []index.RiskCount) map[string]int64 {
	m := map[string]int64{}
	for _, rc := range rcs {
		m[rc.Band] = rc.Count
	}
	return m
}

// testAnalysisAggregations checks the counts by place, unit and risk band.
func testAnalysisAggregations(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	checkBands := func(name string, got []index.RiskCount, want map[string]int64) {
		t.Helper()
		if len(got) != len(index.RiskBands) {
			t.Errorf("%s: %d risk bands, want %d: %+v", name, len(got), len(index.RiskBands), got)
			return
		}
		for i, b := range got {
			w := index.RiskBands[i]
			if b.Band != w.Band || b.From != w.From || b.To != w.To {
				t.Errorf("%s: band %d is %+v, want %+v", name, i, b, w)
			}
		}
		if g := riskCounts(got); !reflect.DeepEqual(g, want) {
			t.Errorf("%s: by risk = %v, want %v", name, g, want)
		}
	}
	res := search(t, ix, index.Query{Size: 1})
	for _, tc := range []struct {
		name string
		got  []index.TermCount
		want map[string]int64
	}{
		{"place", res.Aggs.ByPlace, map[string]int64{"江苏省南京市": 2, "浙江省杭州市": 2, "浙江省宁波市": 1, "浙江省宁波市鄞州区": 1, "广东省深圳市": 1, "北京市": 1}},
		{"unit", res.Aggs.ByUnit, map[string]int64{"宁波市卫健委": 2, "南京市交通局": 2, "杭州市住建局": 1}},
	} {
		if g := counts(tc.got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, g, tc.want)
		}
		for i := 1; i < len(tc.got); i++ {
			a, b := tc.got[i-1], tc.got[i]
			if b.Count > a.Count || b.Count == a.Count && b.Term < a.Term {
				t.Errorf("%s not ordered by count, then term: %v", tc.name, tc.got)
			}
		}
	}
	checkBands("all", res.Aggs.ByRisk, map[string]int64{index.RiskLow: 1, index.RiskMedium: 2, index.RiskHigh: 3})

	// The aggregations follow the new filters and the old ones.
	res = search(t, ix, index.Query{Place: "浙江省"})
	if g, w := counts(res.Aggs.ByUnit), map[string]int64{"宁波市卫健委": 2, "南京市交通局": 1, "杭州市住建局": 1}; !reflect.DeepEqual(g, w) {
		t.Errorf("place=浙江省 unit = %v, want %v", g, w)
	}
	if g, w := counts(res.Aggs.ByPlace), map[string]int64{"浙江省宁波市": 1, "浙江省宁波市鄞州区": 1, "浙江省杭州市": 2, "江苏省南京市": 1}; !reflect.DeepEqual(g, w) {
		t.Errorf("place=浙江省 place = %v, want %v", g, w)
	}
	checkBands("place=浙江省", res.Aggs.ByRisk, map[string]int64{index.RiskLow: 1, index.RiskMedium: 1, index.RiskHigh: 2})
	res = search(t, ix, index.Query{MinRisk: 0.7})
	if g, w := counts(res.Aggs.BySentiment), map[string]int64{domain.Negative: 2, domain.Neutral: 1}; !reflect.DeepEqual(g, w) {
		t.Errorf("min_risk=0.7 sentiment = %v, want %v", g, w)
	}
	checkBands("min_risk=0.7", res.Aggs.ByRisk, map[string]int64{index.RiskLow: 0, index.RiskMedium: 0, index.RiskHigh: 3})
	res = search(t, ix, index.Query{Q: "医院"})
	checkBands("q=医院", res.Aggs.ByRisk, map[string]int64{index.RiskLow: 1, index.RiskMedium: 1, index.RiskHigh: 0})
	if g, w := counts(res.Aggs.ByUnit), map[string]int64{"宁波市卫健委": 2}; !reflect.DeepEqual(g, w) {
		t.Errorf("q=医院 unit = %v, want %v", g, w)
	}
	res = search(t, ix, index.Query{Keyword: "维修"})
	if len(res.Aggs.ByUnit) != 0 {
		t.Errorf("keyword=维修 (no unit) unit = %v, want none", res.Aggs.ByUnit)
	}
	if g, w := counts(res.Aggs.ByPlace), map[string]int64{"广东省深圳市": 1, "北京市": 1}; !reflect.DeepEqual(g, w) {
		t.Errorf("keyword=维修 place = %v, want %v", g, w)
	}
	res = search(t, ix, index.Query{Unit: "不存在的单位"})
	if len(res.Aggs.ByPlace) != 0 || len(res.Aggs.ByUnit) != 0 {
		t.Errorf("no match: by place %v, by unit %v", res.Aggs.ByPlace, res.Aggs.ByUnit)
	}
	checkBands("no match", res.Aggs.ByRisk, map[string]int64{index.RiskLow: 0, index.RiskMedium: 0, index.RiskHigh: 0})
}

// testRiskEdges checks the risk bands and MinRisk at the bounds of the
// bands, the hundredths and [0, 1], on posts with no other field.
func testRiskEdges(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	risks := []float64{0, 0.0001, 0.01, 0.29999999999999993, 0.3, 0.30000000000000004, 0.695, 0.6999, 0.7, 1, -0.5, 3}
	var docs []domain.IndexedPost
	for i, r := range risks {
		docs = append(docs, domain.IndexedPost{
			Post:     domain.Post{ID: "r" + string(rune('a'+i)), Text: "风险", PublishedAt: at(6, 1, i, 0)},
			Analysis: domain.Analysis{Risk: r},
		})
	}
	if err := ix.Index(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
	res := search(t, ix, index.Query{})
	// -0.5 is taken as 0 and 3 as 1.
	if g, w := riskCounts(res.Aggs.ByRisk), map[string]int64{index.RiskLow: 5, index.RiskMedium: 4, index.RiskHigh: 3}; !reflect.DeepEqual(g, w) {
		t.Errorf("by risk = %v, want %v", g, w)
	}
	for _, min := range []float64{0.0001, 0.005, 0.01, 0.29999999999999993, 0.3, 0.30000000000000004, 0.31, 0.6951, 0.695, 0.7, 0.99, 1} {
		var want []string
		for i, r := range risks {
			if index.ClampRisk(r) >= min {
				want = append(want, docs[i].ID)
			}
		}
		sort.Strings(want)
		got := sortedIDs(search(t, ix, index.Query{MinRisk: min, Size: 100}))
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("min risk %v = %v, want %v", min, got, want)
		}
	}
}
