package indextest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"yuqing/analyzer/index"
	"yuqing/domain"
)

// Events is the hand-made set of events the suite searches. Expected:
// grade I 1 (e1), II 1 (e2), III 2 (e3 e4), IV 1 (e5), none 1 (e6);
// category 突发事件与灾害 2 (e1 e2), 医疗卫生 2 (e3 e5), 教育 1, 其他 1;
// region 浙江 3 (e1 e3 e5), 江苏 2 (e2 e4), "" 1; unit 宁波市人民政府 2
// (e1 e5), 南京市人民政府 2 (e2 e4), 杭州市卫生健康委员会 1; places
// 浙江省宁波市 2 (e1 e5), 江苏省南京市 2 (e2 e4), 浙江省杭州市 1 (e3),
// 浙江省宁波市鄞州区 1 (e5); heat e1 85 > e2 70 > e3 64 = e4 64 > e5 40 > e6 5.
// e1 runs 1–3 March, e2 2–2 March, e3 5–9 March, e4 10 March, e5 12–20
// March, e6 1 April (China time).
func Events() []domain.Event {
	ev := func(id, name, title string, grade domain.Grade, heat float64, category, region, unit string,
		first, last time.Time, places []string, kws ...string) domain.Event {
		return domain.Event{
			ID: id, RootPostID: id + "-root", Name: name, Title: title, Keywords: kws,
			FirstAt: first, LastAt: last, Posts: int64(heat * 10), Negative: int64(heat * 3), Heat: heat, Grade: grade,
			Reasons: []string{"热度 " + name}, Region: region, Unit: unit, Category: category, Places: places,
			Risk: heat / 100, Version: 3, UpdatedAt: last.Add(time.Minute),
			Hourly: map[int64]int64{first.Unix() / 3600: 7},
		}
	}
	return []domain.Event{
		ev("e1", "宁波·化工厂·爆炸", "宁波某化工厂发生爆炸", domain.GradeI, 85, "突发事件与灾害", "浙江", "宁波市人民政府",
			at(3, 1, 8, 0), at(3, 3, 20, 0), []string{"浙江省宁波市"}, "化工厂", "爆炸", "疏散"),
		ev("e2", "南京·暴雨·内涝", "南京暴雨多处内涝", domain.GradeII, 70, "突发事件与灾害", "江苏", "南京市人民政府",
			at(3, 2, 6, 0), at(3, 2, 23, 0), []string{"江苏省南京市"}, "暴雨", "内涝"),
		ev("e3", "杭州·医院·停车难", "杭州某医院停车难", domain.GradeIII, 64, "医疗卫生", "浙江", "杭州市卫生健康委员会",
			at(3, 5, 9, 0), at(3, 9, 9, 0), []string{"浙江省杭州市"}, "医院", "停车"),
		ev("e4", "南京·学校·食堂", "南京一学校食堂饭菜变质", domain.GradeIII, 64, "教育", "江苏", "南京市人民政府",
			at(3, 10, 11, 0), at(3, 10, 18, 0), []string{"江苏省南京市"}, "学校", "食堂"),
		ev("e5", "鄞州·医院·纠纷", "鄞州区医院医疗纠纷", domain.GradeIV, 40, "医疗卫生", "浙江", "宁波市人民政府",
			at(3, 12, 9, 0), at(3, 20, 9, 0), []string{"浙江省宁波市", "浙江省宁波市鄞州区"}, "医院", "纠纷"),
		ev("e6", "网友·手机·维修", "手机维修收费不透明", domain.GradeNone, 5, "其他", "", "",
			at(4, 1, 20, 0), at(4, 1, 21, 0), nil, "维修", "收费"),
	}
}

func loadedEvents(t *testing.T, open func(t *testing.T) index.Index) index.Index {
	t.Helper()
	ix := open(t)
	if err := ix.IndexEvents(context.Background(), Events()); err != nil {
		ix.Close()
		t.Fatalf("IndexEvents(fixture): %v", err)
	}
	return ix
}

func searchEvents(t *testing.T, ix index.Index, q index.EventQuery) index.EventResult {
	t.Helper()
	res, err := ix.SearchEvents(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchEvents(%+v): %v", q, err)
	}
	return res
}

func eventIDs(res index.EventResult) []string {
	out := make([]string, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	return out
}

// RunEvents runs the events part of the suite (Run calls it).
func RunEvents(t *testing.T, open func(t *testing.T) index.Index) {
	t.Run("EventRoundTrip", func(t *testing.T) { testEventRoundTrip(t, open(t)) })
	t.Run("EventVersions", func(t *testing.T) { testEventVersions(t, open(t)) })
	t.Run("EventText", func(t *testing.T) { testEventText(t, loadedEvents(t, open)) })
	t.Run("EventFilters", func(t *testing.T) { testEventFilters(t, loadedEvents(t, open)) })
	t.Run("EventSortAndPaging", func(t *testing.T) { testEventSort(t, loadedEvents(t, open)) })
	t.Run("EventAggregations", func(t *testing.T) { testEventAggregations(t, loadedEvents(t, open)) })
	t.Run("EventsApartFromPosts", func(t *testing.T) { testEventsApart(t, open(t)) })
}

func testEventRoundTrip(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	ctx := context.Background()
	if err := ix.IndexEvents(ctx, nil); err != nil {
		t.Fatalf("IndexEvents(nil): %v", err)
	}
	want := Events()[4]
	want.Spread = &domain.SpreadState{RootID: "e5-root", RootAt: want.FirstAt, TextRisk: 0.42, Children: 12, WithText: 5, Doubt: 2}
	want.Terms = map[string]int64{"医院": 20, "纠纷": 10}
	want.Authority, want.AuthorityBy, want.SplitFrom = 2, "官方媒体 人民日报", "e3"
	if err := ix.IndexEvents(ctx, []domain.Event{want}); err != nil {
		t.Fatalf("IndexEvents: %v", err)
	}
	res := searchEvents(t, ix, index.EventQuery{})
	if res.Total != 1 || len(res.Hits) != 1 {
		t.Fatalf("match all: total %d, %d hits, want 1", res.Total, len(res.Hits))
	}
	got := res.Hits[0]
	want = index.EventForIndex(want)
	if g, w := asJSON(t, got), asJSON(t, want); g != w {
		t.Errorf("event round trip differs:\n got %s\nwant %s", g, w)
	}
	if got.Hourly != nil {
		t.Errorf("hit has Hourly %v, want none", got.Hourly)
	}
	if !got.FirstAt.Equal(want.FirstAt) || !got.LastAt.Equal(want.LastAt) {
		t.Errorf("times differ: %v %v", got.FirstAt, got.LastAt)
	}
	// the posts' side is untouched
	if n, err := ix.Count(ctx); err != nil || n != 0 {
		t.Errorf("Count after indexing an event = %d, %v; want 0 posts", n, err)
	}
}

func testEventVersions(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	ctx := context.Background()
	ev := Events()[0]
	ev.Version, ev.Heat, ev.Posts = 5, 85, 850
	if err := ix.IndexEvents(ctx, []domain.Event{ev}); err != nil {
		t.Fatal(err)
	}
	newer := ev
	newer.Version, newer.Heat, newer.Posts, newer.Grade = 6, 90, 900, domain.GradeI
	newer.Keywords = []string{"化工厂", "爆炸", "伤亡"}
	if err := ix.IndexEvents(ctx, []domain.Event{newer}); err != nil {
		t.Fatal(err)
	}
	older := ev
	older.Version, older.Heat, older.Posts = 4, 50, 500
	older.Keywords = []string{"化工厂", "冒烟"}
	if err := ix.IndexEvents(ctx, []domain.Event{older}); err != nil {
		t.Fatalf("an older state answered %v, want it skipped without error", err)
	}
	res := searchEvents(t, ix, index.EventQuery{})
	if res.Total != 1 || res.Hits[0].Version != 6 || res.Hits[0].Posts != 900 {
		t.Fatalf("after newer then older: %d hits, %+v", res.Total, res.Hits)
	}
	if n := searchEvents(t, ix, index.EventQuery{Q: "伤亡"}).Total; n != 1 {
		t.Errorf("the newer state's keyword 伤亡 found %d, want 1", n)
	}
	if n := searchEvents(t, ix, index.EventQuery{Q: "冒烟"}).Total; n != 0 {
		t.Errorf("the skipped older state's keyword 冒烟 found %d, want 0", n)
	}
	// the same version again (a redelivered batch) is accepted and changes nothing
	if err := ix.IndexEvents(ctx, []domain.Event{newer}); err != nil {
		t.Fatalf("the same state again: %v", err)
	}
	// two states of one event in one call: the newer wins whatever the order
	e2 := Events()[1]
	e2a, e2b := e2, e2
	e2a.Version, e2a.Heat = 8, 71
	e2b.Version, e2b.Heat = 7, 60
	if err := ix.IndexEvents(ctx, []domain.Event{e2a, e2b}); err != nil {
		t.Fatal(err)
	}
	res = searchEvents(t, ix, index.EventQuery{Category: "突发事件与灾害"})
	if res.Total != 2 {
		t.Fatalf("two events, found %d", res.Total)
	}
	for _, h := range res.Hits {
		if h.ID == "e2" && (h.Version != 8 || h.Heat != 71) {
			t.Errorf("e2 indexed as version %d heat %v, want 8 and 71", h.Version, h.Heat)
		}
	}
}

func testEventText(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"爆炸", []string{"e1"}},       // name and keywords
		{"化工厂爆炸", []string{"e1"}},    // words cut as a query
		{"医院", []string{"e3", "e5"}}, // hottest first
		{"医疗纠纷", []string{"e5"}},     // title only
		{"食堂", []string{"e4"}},
		{"医院 停车", []string{"e3"}}, // every word must match
		{"地震", []string{}},
		{"，。！", []string{"e1", "e2", "e4", "e3", "e5", "e6"}}, // nothing indexable: everything
	} {
		res := searchEvents(t, ix, index.EventQuery{Q: tc.q})
		if got := eventIDs(res); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("q %q = %v, want %v", tc.q, got, tc.want)
		}
		if res.Total != int64(len(tc.want)) {
			t.Errorf("q %q total %d, want %d", tc.q, res.Total, len(tc.want))
		}
	}
}

func testEventFilters(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	for _, tc := range []struct {
		name string
		q    index.EventQuery
		want []string
	}{
		{"grade II or graver", index.EventQuery{MinGrade: domain.GradeII}, []string{"e1", "e2"}},
		{"grade III or graver", index.EventQuery{MinGrade: domain.GradeIII}, []string{"e1", "e2", "e4", "e3"}},
		{"grade IV or graver", index.EventQuery{MinGrade: domain.GradeIV}, []string{"e1", "e2", "e4", "e3", "e5"}},
		{"category", index.EventQuery{Category: "医疗卫生"}, []string{"e3", "e5"}},
		{"region", index.EventQuery{Region: "江苏"}, []string{"e2", "e4"}},
		{"unit", index.EventQuery{Unit: "宁波市人民政府"}, []string{"e1", "e5"}},
		{"place province", index.EventQuery{Place: "浙江省"}, []string{"e1", "e3", "e5"}},
		{"place city full", index.EventQuery{Place: "浙江省宁波市"}, []string{"e1", "e5"}},
		{"place city level", index.EventQuery{Place: "宁波市"}, []string{"e1", "e5"}},
		{"place county", index.EventQuery{Place: "鄞州区"}, []string{"e5"}},
		{"min heat", index.EventQuery{MinHeat: 64}, []string{"e1", "e2", "e4", "e3"}},
		{"min heat exact", index.EventQuery{MinHeat: 85}, []string{"e1"}},
		// active in [From, To): last post at or after From, first before To
		{"active from", index.EventQuery{From: at(3, 9, 9, 0)}, []string{"e4", "e3", "e5", "e6"}},
		{"active to", index.EventQuery{To: at(3, 2, 6, 0)}, []string{"e1"}},
		{"active window", index.EventQuery{From: at(3, 3, 0, 0), To: at(3, 11, 0, 0)}, []string{"e1", "e4", "e3"}},
		{"text and filter", index.EventQuery{Q: "医院", Unit: "宁波市人民政府"}, []string{"e5"}},
		{"no match", index.EventQuery{Category: "金融与非法集资"}, []string{}},
	} {
		res := searchEvents(t, ix, tc.q)
		if got := eventIDs(res); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if res.Total != int64(len(tc.want)) {
			t.Errorf("%s: total %d, want %d", tc.name, res.Total, len(tc.want))
		}
	}
}

func testEventSort(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	// by heat, ties (e3 e4 at 64) by the latest activity
	if got := eventIDs(searchEvents(t, ix, index.EventQuery{})); !reflect.DeepEqual(got, []string{"e1", "e2", "e4", "e3", "e5", "e6"}) {
		t.Errorf("by heat: %v", got)
	}
	if got := eventIDs(searchEvents(t, ix, index.EventQuery{Sort: index.EventsByLast})); !reflect.DeepEqual(got, []string{"e6", "e5", "e4", "e3", "e1", "e2"}) {
		t.Errorf("by last activity: %v", got)
	}
	res := searchEvents(t, ix, index.EventQuery{Size: 2, Offset: 2})
	if got := eventIDs(res); !reflect.DeepEqual(got, []string{"e4", "e3"}) || res.Total != 6 {
		t.Errorf("page 2 of 2: %v total %d", got, res.Total)
	}
	if res := searchEvents(t, ix, index.EventQuery{Offset: 10}); len(res.Hits) != 0 || res.Total != 6 {
		t.Errorf("past the end: %d hits total %d", len(res.Hits), res.Total)
	}
}

func testEventAggregations(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	res := searchEvents(t, ix, index.EventQuery{Size: 1})
	if len(res.Hits) != 1 || res.Total != 6 {
		t.Fatalf("size 1: %d hits total %d", len(res.Hits), res.Total)
	}
	wantGrades := []index.TermCount{{Term: "I", Count: 1}, {Term: "II", Count: 1}, {Term: "III", Count: 2}, {Term: "IV", Count: 1}, {Term: "", Count: 1}}
	if !reflect.DeepEqual(res.Aggs.ByGrade, wantGrades) {
		t.Errorf("by grade %v, want %v", res.Aggs.ByGrade, wantGrades)
	}
	for _, tc := range []struct {
		name string
		got  []index.TermCount
		want map[string]int64
	}{
		{"category", res.Aggs.ByCategory, map[string]int64{"突发事件与灾害": 2, "医疗卫生": 2, "教育": 1, "其他": 1}},
		{"region", res.Aggs.ByRegion, map[string]int64{"浙江": 3, "江苏": 2}},
		{"unit", res.Aggs.ByUnit, map[string]int64{"宁波市人民政府": 2, "南京市人民政府": 2, "杭州市卫生健康委员会": 1}},
		{"place", res.Aggs.ByPlace, map[string]int64{"浙江省宁波市": 2, "江苏省南京市": 2, "浙江省杭州市": 1, "浙江省宁波市鄞州区": 1}},
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
	// the aggregations count the matches only
	res = searchEvents(t, ix, index.EventQuery{Q: "医院"})
	wantGrades = []index.TermCount{{Term: "I"}, {Term: "II"}, {Term: "III", Count: 1}, {Term: "IV", Count: 1}, {Term: ""}}
	if !reflect.DeepEqual(res.Aggs.ByGrade, wantGrades) {
		t.Errorf("医院 by grade %v, want %v", res.Aggs.ByGrade, wantGrades)
	}
	if g := counts(res.Aggs.ByUnit); !reflect.DeepEqual(g, map[string]int64{"宁波市人民政府": 1, "杭州市卫生健康委员会": 1}) {
		t.Errorf("医院 by unit %v", g)
	}
	res = searchEvents(t, ix, index.EventQuery{Category: "金融与非法集资"})
	if !reflect.DeepEqual(res.Aggs.ByGrade, index.NewGradeCounts()) || len(res.Aggs.ByUnit) != 0 {
		t.Errorf("no match: aggregations %+v", res.Aggs)
	}
}

// testEventsApart checks that posts and events do not mix: a post search
// finds no event and an event search no post, and Count counts posts.
func testEventsApart(t *testing.T, ix index.Index) {
	defer closeIx(t, ix)
	ctx := context.Background()
	if err := ix.Index(ctx, Fixture()); err != nil {
		t.Fatal(err)
	}
	if err := ix.IndexEvents(ctx, Events()); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Count(ctx); err != nil || n != int64(len(Fixture())) {
		t.Errorf("Count = %d, %v; want %d posts", n, err, len(Fixture()))
	}
	if res := search(t, ix, index.Query{Q: "爆炸"}); res.Total != 0 {
		t.Errorf("post search 爆炸 found %d (events leak into posts)", res.Total)
	}
	if res := search(t, ix, index.Query{}); res.Total != int64(len(Fixture())) {
		t.Errorf("post match all = %d", res.Total)
	}
	if res := searchEvents(t, ix, index.EventQuery{Q: "停车"}); !reflect.DeepEqual(eventIDs(res), []string{"e3"}) {
		t.Errorf("event search 停车 = %v (posts leak into events?)", eventIDs(res))
	}
}
