package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yuqing/alerting/store"
	"yuqing/alerting/store/sqlitestore"
	"yuqing/domain"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatalf("open sqlitestore: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var t0 = time.Date(2013, 5, 1, 8, 0, 0, 0, time.UTC)

// words makes tokens and keywords from a space-separated list, the first
// words weighing most.
func analysis(text string) domain.Analysis {
	var a domain.Analysis
	for i, w := range strings.Fields(text) {
		a.Tokens = append(a.Tokens, w)
		a.Keywords = append(a.Keywords, domain.Keyword{Word: w, Weight: float64(100 - i)})
	}
	return a
}

type spec struct {
	id, parent string
	min        int // minutes after t0
	text       string
	followers  int64
	neg        bool
	risk       float64
	places     []string
	location   string // the author's
	author     string // the author's name
	verified   bool
}

func (s spec) doc() domain.IndexedPost {
	d := domain.IndexedPost{Post: domain.Post{
		ID: s.id, ParentID: s.parent, Text: s.text,
		PublishedAt: t0.Add(time.Duration(s.min) * time.Minute),
		Author:      domain.Author{ID: "u" + s.id, Name: s.author, Followers: s.followers, Location: s.location, Verified: s.verified},
	}}
	d.Analysis = analysis(s.text)
	d.Analysis.Risk = s.risk
	d.Analysis.Places = s.places
	if s.neg {
		d.Analysis.Sentiment = domain.SentimentResult{Label: domain.Negative, Confidence: 0.9}
	} else {
		d.Analysis.Sentiment = domain.SentimentResult{Label: domain.Neutral, Confidence: 0.6}
	}
	return d
}

func docs(specs ...spec) []domain.IndexedPost {
	out := make([]domain.IndexedPost, len(specs))
	for i, s := range specs {
		out[i] = s.doc()
	}
	return out
}

func planCommit(t testing.TB, g *Grouper, ds []domain.IndexedPost) Plan {
	t.Helper()
	ctx := context.Background()
	p, err := g.Plan(ctx, ds)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if err := g.Commit(ctx, p); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return p
}

const (
	textA  = "宁波 妇儿 医院 妇女 婴儿 跳楼 人间惨剧 今天下午 约 14 点 一 携带 在 住院楼 后 抢救 无效 死亡 具体 情况 有关部门 正在 调查 据 现场 网友 称 因 小孩 病重 加上 负担 不起 昂贵 的 医疗费 带着 刚 满月 宝宝 从 12 楼 身亡"
	textA2 = "宁波 妇儿 医院 妇女 婴儿 跳楼 人间惨剧 今天下午 约 14 点 一 携带 在 住院楼 后 抢救 无效 死亡 具体 情况 有关部门 正在 核实 据 现场 网友 称 因 小孩 病重 加上 负担 不起 昂贵 的 医疗费 带着 刚 满月 宝宝 从 12 楼 身亡" // one word differs
	textB  = "北京 暴雨 积水 地铁 停运 市民 出行 受阻 救援 展开 排水 抢险"
	textB2 = "暴雨 积水 地铁 救援 天气 预报 明天 放晴 气温 回升 注意 防暑" // shares 4 of 10 keywords with textB... see test
)

func TestRules(t *testing.T) {
	tests := []struct {
		name    string
		batches [][]spec
		want    map[string]string // post → event
	}{
		{
			name: "reply joins parent in the same batch",
			batches: [][]spec{{
				{id: "r1", parent: "p1", min: 5, text: "转发"},
				{id: "p1", min: 0, text: textA},
				{id: "r2", parent: "r1", min: 6, text: "回复"},
			}},
			want: map[string]string{"p1": "ev-p1", "r1": "ev-p1", "r2": "ev-p1"},
		},
		{
			name: "reply joins parent from the store",
			batches: [][]spec{
				{{id: "p1", min: 0, text: textA}, {id: "r1", parent: "p1", min: 1}},
				{{id: "r2", parent: "r1", min: 9}, {id: "r3", parent: "p1", min: 10}},
			},
			want: map[string]string{"p1": "ev-p1", "r1": "ev-p1", "r2": "ev-p1", "r3": "ev-p1"},
		},
		{
			name: "reply before its parent: parent lands in the same event",
			batches: [][]spec{
				{{id: "r1", parent: "p1", min: 1, text: "转发"}},
				{{id: "r2", parent: "p1", min: 2}},
				{{id: "p1", min: 3, text: textA}},
			},
			want: map[string]string{"p1": "ev-p1", "r1": "ev-p1", "r2": "ev-p1"},
		},
		{
			name: "near-duplicate joins a recent event",
			batches: [][]spec{
				{{id: "p1", min: 0, text: textA}},
				{{id: "p2", min: 600, text: textA2}},
			},
			want: map[string]string{"p1": "ev-p1", "p2": "ev-p1"},
		},
		{
			name: "near-duplicate outside the window starts its own event",
			batches: [][]spec{
				{{id: "p1", min: 0, text: textA}},
				{{id: "p2", min: 73 * 60, text: textA2}},
			},
			want: map[string]string{"p1": "ev-p1", "p2": "ev-p2"},
		},
		{
			name: "window counts from the event's last post",
			batches: [][]spec{
				{{id: "p1", min: 0, text: textA}, {id: "r1", parent: "p1", min: 70 * 60}},
				{{id: "p2", min: 100 * 60, text: textA2}},
			},
			want: map[string]string{"p1": "ev-p1", "r1": "ev-p1", "p2": "ev-p1"},
		},
		{
			name: "strong keyword overlap joins",
			batches: [][]spec{{
				{id: "p1", min: 0, text: "北京 暴雨 积水 地铁 停运 市民"},
				{id: "p2", min: 30, text: "暴雨 积水 地铁 停运 市民 北京 救援"},
			}},
			want: map[string]string{"p1": "ev-p1", "p2": "ev-p1"},
		},
		{
			name: "weak keyword overlap does not join",
			batches: [][]spec{{
				{id: "p1", min: 0, text: textB},
				{id: "p2", min: 30, text: textB2},
			}},
			want: map[string]string{"p1": "ev-p1", "p2": "ev-p2"},
		},
		{
			name: "two shared words are not enough even at Jaccard 1",
			batches: [][]spec{{
				{id: "p1", min: 0, text: "暴雨 积水"},
				{id: "p2", min: 30, text: "积水 暴雨"},
			}},
			want: map[string]string{"p1": "ev-p1", "p2": "ev-p2"},
		},
		{
			name: "empty texts never merge",
			batches: [][]spec{{
				{id: "p1", min: 0},
				{id: "p2", min: 1},
			}},
			want: map[string]string{"p1": "ev-p1", "p2": "ev-p2"},
		},
		{
			name: "ties go to the earliest event",
			batches: [][]spec{
				{{id: "p9", min: 0, text: "北京 暴雨 积水 地铁 停运 市民"}, {id: "p1", min: 10, text: "地铁 停运 市民 出行 受阻 救援"}},
				// p3 matches both events by keywords: p9's began first
				{{id: "p3", min: 20, text: "北京 暴雨 积水 地铁 停运 市民 出行 受阻 救援"}},
			},
			want: map[string]string{"p9": "ev-p9", "p1": "ev-p1", "p3": "ev-p9"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New(openStore(t), Config{})
			got := map[string]string{}
			for _, b := range tc.batches {
				ds := docs(b...)
				planCommit(t, g, ds)
				for _, d := range ds {
					got[d.ID] = d.EventID
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSimilarityPrimitives(t *testing.T) {
	a := Simhash(strings.Fields(textA), 8)
	a2 := Simhash(strings.Fields(textA2), 8)
	b := Simhash(strings.Fields(textB), 8)
	if a == 0 || a2 == 0 || b == 0 {
		t.Fatalf("simhash of a 12-word text is 0")
	}
	if d := Hamming(a, a2); d > 3 {
		t.Errorf("near-duplicates at Hamming %d, want ≤ 3", d)
	}
	if d := Hamming(a, b); d <= 3 {
		t.Errorf("different texts at Hamming %d, want > 3", d)
	}
	if s := Simhash([]string{"，", "。", "的"}, 1); s == 0 {
		t.Errorf("one word with minDistinct 1 gave no fingerprint")
	}
	if s := Simhash([]string{"，", "。", " "}, 1); s != 0 {
		t.Errorf("punctuation only gave fingerprint %x", s)
	}
	for _, tc := range []struct {
		a, b   []string
		shared int
		j      float64
	}{
		{[]string{"a", "b", "c"}, []string{"a", "b", "c"}, 3, 1},
		{[]string{"a", "b", "c", "d"}, []string{"a", "b", "c", "e"}, 3, 0.6},
		{[]string{"a"}, nil, 0, 0},
	} {
		s, j := Jaccard(tc.a, tc.b)
		if s != tc.shared || j != tc.j {
			t.Errorf("Jaccard(%v, %v) = %d, %v; want %d, %v", tc.a, tc.b, s, j, tc.shared, tc.j)
		}
	}
}

func TestFigures(t *testing.T) {
	g := New(openStore(t), Config{ReachCap: 1_000_000})
	// replies arrive first, the root last: the figures and the description
	// must end as if the root had come first.
	planCommit(t, g, docs(
		spec{id: "r1", parent: "p1", min: 5, text: "太可怕了 真的吗", followers: 300, neg: true, risk: 0.9},
		spec{id: "r2", parent: "p1", min: 50, text: "", followers: 5_000_000},
	))
	ev, err := g.st.GetEvent(context.Background(), "ev-p1")
	if err != nil {
		t.Fatal(err)
	}
	if ev.RootPostID != "r1" || ev.Title != "太可怕了 真的吗" || ev.Risk != 0.9 {
		t.Errorf("before the root: described by %q %q risk %v; want the earliest post r1, risk 0.9", ev.RootPostID, ev.Title, ev.Risk)
	}
	planCommit(t, g, docs(
		spec{id: "p1", min: 0, text: textA, followers: 2000, risk: 0.3, places: []string{"宁波市"}},
		spec{id: "r3", parent: "r2", min: 61, followers: 10, neg: true, risk: 0.95},
		spec{id: "r4", parent: "p1", min: 119, followers: -5},
	))
	ev, err = g.st.GetEvent(context.Background(), "ev-p1")
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Event{
		ID: "ev-p1", RootPostID: "p1", Title: strings.TrimSpace(string([]rune(textA)[:60])),
		Keywords: topWords(analysis(textA).Keywords, 10), Simhash: Simhash(strings.Fields(textA), 8),
		FirstAt: t0, LastAt: t0.Add(119 * time.Minute),
		Posts: 5, Negative: 2, Reach: 300 + 1_000_000 + 2000 + 10,
		Hourly:     map[int64]int64{t0.Unix() / 3600: 3, t0.Unix()/3600 + 1: 2},
		PeakHourly: 3, Risk: 0.3, Region: "宁波市",
		Name: "妇儿·婴儿·跳楼", Originals: 1, Places: []string{"浙江省宁波市"}, Terms: map[string]int64{},
	}
	for _, tm := range termsOf(analysis(textA).Keywords, 10) {
		want.Terms[tm.word] = tm.n
	}
	if ev.Version != 2 {
		t.Errorf("event written twice is at version %d", ev.Version)
	}
	ev.Heat, ev.Grade, ev.Reasons, ev.UpdatedAt, ev.Version = 0, 0, nil, time.Time{}, 0
	ev.FirstAt, ev.LastAt = ev.FirstAt.UTC(), ev.LastAt.UTC()
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event\n got %+v\nwant %+v", ev, want)
	}
	if got := Province("浙江省宁波市"); got != "浙江省" {
		t.Errorf("Province(浙江省宁波市) = %q", got)
	}
}

func TestRate(t *testing.T) {
	c := DefaultConfig()
	tests := []struct {
		name      string
		ev        domain.Event
		grade     domain.Grade
		reasonsIn []string
	}{
		{"a lone post", domain.Event{Posts: 1, PeakHourly: 1, Reach: 500}, domain.GradeNone, []string{"帖文不足 20 条"}},
		{"quiet", domain.Event{Posts: 30, PeakHourly: 3, Reach: 2000}, domain.GradeNone, []string{"低于 IV 级阈值"}},
		{"a usual cascade", domain.Event{Posts: 330, PeakHourly: 100, Reach: 260_000, Source: "weibo"}, domain.GradeIV,
			[]string{"帖文及转评 330 条", "覆盖粉丝约 26.0 万", "超出 24 条", "拟定 IV 级（一般）"}},
		{"big", domain.Event{Posts: 1234, PeakHourly: 410, Reach: 4_500_000, Negative: 506, Risk: 0.83, Verified: 3, Reposts: 1300, Source: "weibo"}, domain.GradeIII,
			[]string{"帖文及转评 1,234 条", "峰值 1 小时 410 条", "每小时 410 条，超过来源 weibo通常每小时均值 7.0 + 3σ（76.0），超出 334 条",
				"覆盖粉丝约 450.0 万，认证作者发帖 3 条，来源显示转发 1,300 次", "负面占比 41%", "谣言风险 0.83", "谣言风险高，加权", "拟定 III 级（较大）"}},
		{"huge", domain.Event{Posts: 60_000, PeakHourly: 8_000, Reach: 150_000_000, Negative: 30_000, Risk: 0.9}, domain.GradeI, []string{"覆盖粉丝约 1.5 亿", "特别重大"}},
	}
	prevHeat := -1.0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			heat, grade, reasons := c.Rate(tc.ev)
			if heat < 0 || heat > 100 {
				t.Errorf("heat %v out of 0..100", heat)
			}
			if heat <= prevHeat {
				t.Errorf("heat %v not above the smaller event's %v", heat, prevHeat)
			}
			prevHeat = heat
			if grade != tc.grade {
				t.Errorf("grade %v, want %v (heat %v, reasons %v)", grade, tc.grade, heat, reasons)
			}
			all := strings.Join(reasons, "；")
			for _, w := range tc.reasonsIn {
				if !strings.Contains(all, w) {
					t.Errorf("reasons %q lack %q", all, w)
				}
			}
		})
	}
	// the same figures with a high rumour risk grade higher at the same heat;
	// with a high negative share they are hotter
	base := domain.Event{Posts: 1200, PeakHourly: 400, Reach: 4_000_000, Source: "weibo"}
	h1, g1, _ := c.Rate(base)
	risky := base
	risky.Risk = 0.95
	h2, g2, _ := c.Rate(risky)
	if h1 != h2 || !g2.AtLeast(g1) || g2 == g1 {
		t.Errorf("rumour risk: heat %v→%v grade %v→%v; want the same heat and a higher grade", h1, h2, g1, g2)
	}
	negative := base
	negative.Negative = 600
	h3, _, reasons := c.Rate(negative)
	if h3 <= h1 || !strings.Contains(strings.Join(reasons, "；"), "负面占比高（超过 40%），热度 +") {
		t.Errorf("negative share 67%%: heat %v→%v, reasons %v", h1, h3, reasons)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1234: "1,234", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRedelivery(t *testing.T) {
	ctx := context.Background()
	g := New(openStore(t), Config{})
	batch := docs(
		spec{id: "p1", min: 0, text: textA, followers: 100},
		spec{id: "r1", parent: "p1", min: 1},
		spec{id: "r1", parent: "p1", min: 1}, // twice in one batch: counted once
		spec{id: "p2", min: 2, text: textB},
	)
	p := planCommit(t, g, batch)
	if len(p.Assign) != 3 {
		t.Errorf("assigned %d posts, want 3: %v", len(p.Assign), p.Assign)
	}
	if batch[1].EventID != "ev-p1" || batch[2].EventID != "ev-p1" {
		t.Errorf("duplicate post got events %q and %q", batch[1].EventID, batch[2].EventID)
	}
	before, err := g.st.GetEvents(ctx, []string{"ev-p1", "ev-p2"})
	if err != nil {
		t.Fatal(err)
	}
	if before["ev-p1"].Posts != 2 {
		t.Errorf("ev-p1 has %d posts, want 2", before["ev-p1"].Posts)
	}

	again := docs(
		spec{id: "p1", min: 0, text: textA, followers: 100},
		spec{id: "r1", parent: "p1", min: 1},
		spec{id: "p2", min: 2, text: textB},
	)
	p2, err := g.Plan(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Events) != 0 || len(p2.Assign) != 0 {
		t.Errorf("redelivered batch changed %d events and assigned %v", len(p2.Events), p2.Assign)
	}
	for _, d := range again {
		if want := map[string]string{"p1": "ev-p1", "r1": "ev-p1", "p2": "ev-p2"}[d.ID]; d.EventID != want {
			t.Errorf("redelivered %s got event %q, want %q", d.ID, d.EventID, want)
		}
	}
	if err := g.Commit(ctx, p2); err != nil {
		t.Fatal(err)
	}
	// a redelivered batch with one new post changes only that post's event, by one
	p3 := planCommit(t, g, docs(spec{id: "r1", parent: "p1", min: 1}, spec{id: "r2", parent: "p1", min: 3}))
	if len(p3.Events) != 1 || p3.Events[0].Posts != 3 || len(p3.Assign) != 1 {
		t.Errorf("partial redelivery: events %+v assign %v", p3.Events, p3.Assign)
	}
}

func TestStalePlan(t *testing.T) {
	ctx := context.Background()
	g := New(openStore(t), Config{})
	a, err := g.Plan(ctx, docs(spec{id: "p1", text: textA}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Plan(ctx, docs(spec{id: "r1", parent: "p1", min: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Commit(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := g.Commit(ctx, b); !errors.Is(err, ErrStalePlan) {
		t.Errorf("commit of a plan made before another commit: %v, want ErrStalePlan", err)
	}
	if err := g.Commit(ctx, Plan{}); err == nil {
		t.Errorf("commit of a zero Plan succeeded")
	}
	p := planCommit(t, g, docs(spec{id: "r1", parent: "p1", min: 1}))
	if p.Events[0].Posts != 2 {
		t.Errorf("after re-planning ev-p1 has %d posts, want 2", p.Events[0].Posts)
	}
}

// A new Grouper on the same store (a restart) finds recent events for
// similarity from the store.
func TestRestartLoadsCandidates(t *testing.T) {
	st := openStore(t)
	planCommit(t, New(st, Config{}), docs(spec{id: "p1", text: textA}, spec{id: "q1", min: 1, text: textB}))
	g := New(st, Config{})
	ds := docs(spec{id: "p2", min: 60, text: textA2})
	planCommit(t, g, ds)
	if ds[0].EventID != "ev-p1" {
		t.Errorf("after a restart the near-duplicate went to %q, want ev-p1", ds[0].EventID)
	}
}

// synthetic makes a stream of cascades: roots (some near-duplicates of each
// other, some sharing keywords), replies and replies to replies, a few
// replies dated before their parent, all in (time, id) order.
func synthetic(n int, seed int64) []domain.IndexedPost {
	rng := rand.New(rand.NewSource(seed))
	vocab := strings.Fields(textA + " " + textB + " 台风 登陆 转移 群众 学校 食堂 食品 安全 检查 通报 处理 物价 上涨 房价 调控 政策 解读 交通 事故 伤亡 环境 污染 化工 排放 整改")
	var out []domain.IndexedPost
	var roots []spec
	for i := 0; len(out) < n; i++ {
		min := i * 7
		var s spec
		switch {
		case i%10 == 0 || len(roots) == 0:
			k := 8 + rng.Intn(6)
			ws := make([]string, k)
			for j := range ws {
				ws[j] = vocab[rng.Intn(len(vocab))]
			}
			if len(roots) > 0 && rng.Intn(3) == 0 { // a near copy of an earlier root
				ws = strings.Fields(roots[rng.Intn(len(roots))].text)
				ws[rng.Intn(len(ws))] = vocab[rng.Intn(len(vocab))]
			}
			s = spec{id: fmt.Sprintf("p%05d", i), min: min, text: strings.Join(ws, " "), followers: rng.Int63n(3_000_000), risk: rng.Float64()}
			roots = append(roots, s)
		default:
			parent := roots[len(roots)-1-rng.Intn(min1(len(roots), 5))].id
			if len(out) > 0 && rng.Intn(3) == 0 && out[len(out)-1].ParentID != "" {
				parent = out[len(out)-1].ID
			}
			s = spec{id: fmt.Sprintf("r%05d", i), parent: parent, min: min, followers: rng.Int63n(5000), neg: rng.Intn(3) == 0}
			if rng.Intn(2) == 0 {
				s.text = "转发 " + vocab[rng.Intn(len(vocab))]
			}
			if rng.Intn(50) == 0 {
				s.min -= 3 * 7 // dated before its parent, as real data sometimes is
			}
		}
		out = append(out, s.doc())
	}
	sortStream(out)
	return out
}

func min1(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func sortStream(ds []domain.IndexedPost) {
	sort.SliceStable(ds, func(a, b int) bool {
		if !ds[a].PublishedAt.Equal(ds[b].PublishedAt) {
			return ds[a].PublishedAt.Before(ds[b].PublishedAt)
		}
		return ds[a].ID < ds[b].ID
	})
}

type eventFacts struct {
	ID, Root, Title        string
	Posts, Negative, Reach int64
	Peak                   int64
	Heat                   float64
	Grade                  domain.Grade
	Reasons                string
	FirstAt, LastAt        time.Time
	Risk                   float64
	Simhash                uint64
	Keywords               string
	Name, SplitFrom        string
	Originals, Drift       int64
	Terms, Places          string
	Verified, Reposts      int64
	Authority              int
	AuthorityBy, Source    string
}

func termsString(m map[string]int64) string {
	var ws []string
	for w, n := range m {
		ws = append(ws, fmt.Sprintf("%s:%d", w, n))
	}
	sort.Strings(ws)
	return strings.Join(ws, " ")
}

// replay runs the stream through a fresh Grouper and store in batches and
// gives the final events and the post → event map.
func replay(t testing.TB, stream []domain.IndexedPost, batch int, shuffle *rand.Rand) (map[string]eventFacts, map[string]string) {
	t.Helper()
	st := openStore(t)
	g := New(st, Config{})
	assign := map[string]string{}
	touched := map[string]struct{}{}
	for i := 0; i < len(stream); i += batch {
		b := append([]domain.IndexedPost(nil), stream[i:min(i+batch, len(stream))]...)
		if shuffle != nil {
			shuffle.Shuffle(len(b), func(x, y int) { b[x], b[y] = b[y], b[x] })
		}
		p := planCommit(t, g, b)
		for _, d := range b {
			assign[d.ID] = d.EventID
		}
		for _, e := range p.Events {
			touched[e.ID] = struct{}{}
		}
	}
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	evs, err := st.GetEvents(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]eventFacts{}
	for id, e := range evs {
		out[id] = eventFacts{e.ID, e.RootPostID, e.Title, e.Posts, e.Negative, e.Reach, e.PeakHourly, e.Heat, e.Grade,
			strings.Join(e.Reasons, "；"), e.FirstAt.UTC(), e.LastAt.UTC(), e.Risk, e.Simhash, strings.Join(e.Keywords, " "),
			e.Name, e.SplitFrom, e.Originals, e.Drift, termsString(e.Terms), strings.Join(e.Places, " "),
			e.Verified, e.Reposts, e.Authority, e.AuthorityBy, e.Source}
	}
	return out, assign
}

func TestDeterminism(t *testing.T) {
	stream := synthetic(3000, 7)
	want, wantAssign := replay(t, stream, 1, nil)
	var merged int
	for _, e := range want {
		if e.Posts > 1 && strings.HasPrefix(e.Root, "p") {
			merged++
		}
	}
	if len(want) < 50 || merged == 0 {
		t.Fatalf("the synthetic stream makes %d events (%d with replies): too simple to test", len(want), merged)
	}
	for _, tc := range []struct {
		name  string
		batch int
		rng   *rand.Rand
	}{
		{"batch 97", 97, nil},
		{"batch 1000", 1000, nil},
		{"batch 97 shuffled", 97, rand.New(rand.NewSource(1))},
		{"batch 1000 shuffled", 1000, rand.New(rand.NewSource(2))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, gotAssign := replay(t, stream, tc.batch, tc.rng)
			if !reflect.DeepEqual(gotAssign, wantAssign) {
				n := 0
				for id, e := range wantAssign {
					if gotAssign[id] != e && n < 5 {
						t.Errorf("post %s: event %q, with batch 1 %q", id, gotAssign[id], e)
						n++
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d events, with batch 1 %d", len(got), len(want))
			}
			n := 0
			for id, w := range want {
				if g := got[id]; g != w && n < 5 {
					t.Errorf("event %s:\n got %+v\nwant %+v", id, g, w)
					n++
				}
			}
		})
	}
}

// TestRootIDKeepsCascadeWhole: a comment whose parent (a middle repost) has
// not arrived joins the cascade's root event through root_id, and so does
// the late middle repost.
func TestRootIDKeepsCascadeWhole(t *testing.T) {
	g := New(openStore(t), Config{})
	planCommit(t, g, docs(spec{id: "root", min: 0, text: textB}))
	orphan := spec{id: "c2", parent: "mid", min: 5, text: "评论"}.doc()
	orphan.RootID = "root"
	planCommit(t, g, []domain.IndexedPost{orphan})
	mid := spec{id: "mid", parent: "root", min: 7, text: "转发"}.doc()
	mid.RootID = "root"
	p := planCommit(t, g, []domain.IndexedPost{mid})
	if p.Assign["mid"] != "ev-root" {
		t.Fatalf("middle repost went to %q", p.Assign["mid"])
	}
	got, err := g.Store().PostEvents(context.Background(), []string{"c2", "mid"})
	if err != nil || got["c2"] != "ev-root" || got["mid"] != "ev-root" {
		t.Fatalf("assignments %v %v, want both in ev-root", got, err)
	}
	// without root_id the orphan waits in its parent's event, as before
	lone := spec{id: "c3", parent: "gone", min: 9, text: "评论"}.doc()
	if p := planCommit(t, g, []domain.IndexedPost{lone}); p.Assign["c3"] != "ev-gone" {
		t.Fatalf("orphan without root went to %q", p.Assign["c3"])
	}
}

// TestTwoGroupersShareTheStore: two analyzers (two Groupers on one store)
// touch the same event; the second to commit gets a conflict, plans again
// from the store's state, and the final event counts every post once.
func TestTwoGroupersShareTheStore(t *testing.T) {
	st := openStore(t)
	a, b := New(st, Config{}), New(st, Config{})
	ctx := context.Background()
	planCommit(t, a, docs(spec{id: "root", min: 0, text: textB}))
	pa, err := a.Plan(ctx, docs(spec{id: "ra", parent: "root", min: 1}))
	if err != nil {
		t.Fatal(err)
	}
	rb := docs(spec{id: "rb", parent: "root", min: 2}, spec{id: "rc", parent: "root", min: 3})
	pb, err := b.Plan(ctx, rb)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx, pa); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx, pb); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second analyzer's commit: %v, want a conflict", err)
	}
	planCommit(t, b, rb) // again, from the store's state
	ev, err := st.GetEvent(ctx, "ev-root")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Posts != 4 {
		t.Fatalf("event counts %d posts, want 4 (root, ra, rb, rc)", ev.Posts)
	}
	// the first analyzer's cached copy is stale now; its next commit on the
	// event conflicts once and then succeeds
	rd := docs(spec{id: "rd", parent: "root", min: 4})
	p, err := a.Plan(ctx, rd)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx, p); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale cache commit: %v, want a conflict", err)
	}
	planCommit(t, a, rd)
	if ev, _ := st.GetEvent(ctx, "ev-root"); ev.Posts != 5 {
		t.Fatalf("event counts %d posts, want 5", ev.Posts)
	}
}

// TestSyncSeesOtherAnalyzersEvents: an original post planned by one analyzer
// joins the near-duplicate event another analyzer started after the first
// loaded its cache.
func TestSyncSeesOtherAnalyzersEvents(t *testing.T) {
	st := openStore(t)
	a, b := New(st, Config{}), New(st, Config{SyncInterval: time.Nanosecond})
	planCommit(t, b, docs(spec{id: "early", min: 0, text: textB})) // b's cache is loaded now
	planCommit(t, a, docs(spec{id: "x", min: 10, text: textA}))
	p := planCommit(t, b, docs(spec{id: "y", min: 20, text: textA2}))
	if p.Assign["y"] != "ev-x" {
		t.Fatalf("near-duplicate went to %q, want the other analyzer's ev-x", p.Assign["y"])
	}
}
