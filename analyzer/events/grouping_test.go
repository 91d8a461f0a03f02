package events

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
)

// stubIDF rates the listed words common (IDF 3) and every other word rare
// (IDF 11), so that the tests below do not hang on the dictionary's figures.
func stubIDF(common ...string) func(string) float64 {
	m := map[string]bool{}
	for _, w := range common {
		m[w] = true
	}
	return func(w string) float64 {
		if m[w] {
			return 3
		}
		return 11
	}
}

var commonWords = []string{"中国", "今天", "发现", "孩子", "医院", "市民", "一个", "没有", "事情", "大家"}

// group runs batches of specs through a fresh Grouper and gives each post's
// event and the final events.
func group(t *testing.T, cfg Config, batches ...[]spec) (map[string]string, map[string]domain.Event) {
	t.Helper()
	if cfg.IDF == nil {
		cfg.IDF = stubIDF(commonWords...)
	}
	g := New(openStore(t), cfg)
	got := map[string]string{}
	ids := map[string]struct{}{}
	for _, b := range batches {
		ds := docs(b...)
		p := planCommit(t, g, ds)
		for _, d := range ds {
			got[d.ID] = d.EventID
		}
		for _, e := range p.Events {
			ids[e.ID] = struct{}{}
		}
	}
	var list []string
	for id := range ids {
		list = append(list, id)
	}
	evs, err := g.Store().GetEvents(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	return got, evs
}

func TestRareKeywordsAndPlaces(t *testing.T) {
	tests := []struct {
		name string
		a, b spec
		join bool
	}{
		{
			// Jaccard of the keyword sets is 3/13, but the three shared
			// words are the rare ones: the rest of the first post is common
			name: "shared rare words join where plain Jaccard would not",
			a:    spec{id: "p1", text: "地沟油 李翔 特供 记者 调查 中国 今天 发现 孩子 医院"},
			b:    spec{id: "p2", min: 30, text: "地沟油 李翔 特供 惨死 身中 余刀"},
			join: true,
		},
		{
			// Jaccard 8/12 with 8 words in common: the old rule joined these
			name: "generic words of social media do not join",
			a:    spec{id: "p1", text: "微博 转发 晚安 视频 网友 今天 图片 分享 苹果 发布会"},
			b:    spec{id: "p2", min: 30, text: "微博 转发 晚安 视频 网友 今天 图片 分享 台风 登陆"},
		},
		{
			name: "common words do not join",
			a:    spec{id: "p1", text: "中国 今天 发现 孩子 医院 市民 苹果 发布会"},
			b:    spec{id: "p2", min: 30, text: "中国 今天 发现 孩子 医院 市民 台风 登陆"},
		},
		{
			name: "two rare words are not enough",
			a:    spec{id: "p1", text: "化工厂 爆炸 巨响 浓烟"},
			b:    spec{id: "p2", min: 30, text: "化工厂 爆炸 疏散 伤亡"},
		},
		{
			name: "two rare words and the same city join",
			a:    spec{id: "p1", text: "宁波 化工厂 爆炸 巨响 浓烟", places: []string{"浙江省宁波市"}},
			b:    spec{id: "p2", min: 30, text: "宁波 化工厂 爆炸 疏散 伤亡", places: []string{"浙江省宁波市"}},
			join: true,
		},
		{
			name: "two rare words in different cities do not",
			a:    spec{id: "p1", text: "宁波 化工厂 爆炸 巨响 浓烟", places: []string{"浙江省宁波市"}},
			b:    spec{id: "p2", min: 30, text: "温州 化工厂 爆炸 疏散 伤亡", places: []string{"浙江省温州市"}},
		},
		{
			// the analyzer lists the author's location last among the
			// places: it says where the author lives, not what happened there
			name: "the authors' city is not a shared place",
			a:    spec{id: "p1", text: "化工厂 爆炸 巨响 浓烟", places: []string{"浙江省宁波市"}, location: "浙江 宁波"},
			b:    spec{id: "p2", min: 30, text: "化工厂 爆炸 疏散 伤亡", places: []string{"浙江省宁波市"}, location: "宁波"},
		},
		{
			name: "a province is too broad to count",
			a:    spec{id: "p1", text: "化工厂 爆炸 巨响 浓烟", places: []string{"浙江省"}},
			b:    spec{id: "p2", min: 30, text: "化工厂 爆炸 疏散 伤亡", places: []string{"浙江省"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := group(t, Config{}, []spec{tc.a}, []spec{tc.b})
			if joined := got["p2"] == "ev-p1"; joined != tc.join {
				t.Errorf("p2 went to %s; want joined %v", got["p2"], tc.join)
			}
		})
	}
}

// The drift scenario: a typhoon event whose later originals move on to a
// dam breach. The second of them in a row that no longer resembles the
// typhoon post starts an event of its own, linked to the typhoon's.
var driftSpecs = []spec{
	{id: "p1", min: 0, text: "台风 登陆 温州 转移 群众 暴雨"},
	{id: "p2", min: 60, text: "台风 登陆 转移 群众 水库 溃坝"},        // founding: 4 words of p1
	{id: "p3", min: 120, text: "水库 溃坝 群众 村庄 淹没 冲锋舟"},      // drifting: 1 of p1, 3 of p1+p2
	{id: "r3", parent: "p3", min: 125, text: "转发"},        // follows its parent
	{id: "p4", min: 180, text: "村庄 淹没 冲锋舟 水库 溃坝 救援"},      // drifting again: splits
	{id: "r4", parent: "p4", min: 185, text: "太惨了"},       // follows its parent
	{id: "p5", min: 240, text: "村庄 淹没 冲锋舟 救援 安置 帐篷"},      // founding of the split event
	{id: "p6", min: 300, text: "台风 登陆 温州 转移 群众 停课"},       // founding of the typhoon event
	{id: "r6", parent: "r3", min: 305, text: "这是 溃坝 的 事"}, // a reply to a reply: still p3's event
}

func TestDriftSplit(t *testing.T) {
	got, evs := group(t, Config{}, driftSpecs)
	want := map[string]string{
		"p1": "ev-p1", "p2": "ev-p1", "p3": "ev-p1", "r3": "ev-p1", "r6": "ev-p1",
		"p4": "ev-p4", "r4": "ev-p4", "p5": "ev-p4", "p6": "ev-p1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %v\nwant %v", got, want)
	}
	old, split := evs["ev-p1"], evs["ev-p4"]
	if split.SplitFrom != "ev-p1" || old.SplitFrom != "" {
		t.Errorf("split_from: ev-p4 %q, ev-p1 %q; want ev-p1 and none", split.SplitFrom, old.SplitFrom)
	}
	if old.Originals != 4 || split.Originals != 2 || old.Posts != 6 || split.Posts != 3 {
		t.Errorf("ev-p1 %d originals of %d posts, ev-p4 %d of %d; want 4 of 6 and 2 of 3", old.Originals, old.Posts, split.Originals, split.Posts)
	}
	if old.Drift != 0 {
		t.Errorf("ev-p1 drift %d after a founding post, want 0", old.Drift)
	}
	if !strings.Contains(old.Name, "台风") || !strings.Contains(split.Name, "冲锋舟") {
		t.Errorf("names %q and %q", old.Name, split.Name)
	}

	// in any batches, and all in one
	for _, size := range []int{1, 2, 4, len(driftSpecs)} {
		var batches [][]spec
		for i := 0; i < len(driftSpecs); i += size {
			batches = append(batches, driftSpecs[i:min(i+size, len(driftSpecs))])
		}
		if g, _ := group(t, Config{}, batches...); !reflect.DeepEqual(g, want) {
			t.Errorf("batches of %d: %v", size, g)
		}
	}

	// without the split the old event would absorb the dam breach
	got, _ = group(t, Config{DriftAfter: 1000}, driftSpecs)
	if got["p4"] != "ev-p1" || got["p5"] != "ev-p1" {
		t.Errorf("with DriftAfter 1000: p4 → %s, p5 → %s; want both absorbed by ev-p1", got["p4"], got["p5"])
	}
	// with DriftAfter 1 the first drifting post splits already
	got, evs = group(t, Config{DriftAfter: 1}, driftSpecs)
	if got["p3"] != "ev-p3" || got["p4"] != "ev-p3" || evs["ev-p3"].SplitFrom != "ev-p1" {
		t.Errorf("with DriftAfter 1: p3 → %s, p4 → %s, split from %q", got["p3"], got["p4"], evs["ev-p3"].SplitFrom)
	}
}

// A long run of posts, each sharing three rare words with the one before and
// none with those three back: compared with each event's founding post,
// they cannot chain into one event.
func TestNoChaining(t *testing.T) {
	var specs []spec
	word := func(i int) string { return fmt.Sprintf("词%03d", i) }
	for i := 0; i < 40; i++ {
		// words 3i … 3i+5: three shared with post i−1, three with post i+1
		var ws []string
		for k := 3 * i; k < 3*i+6; k++ {
			ws = append(ws, word(k))
		}
		specs = append(specs, spec{id: fmt.Sprintf("p%02d", i), min: i * 10, text: strings.Join(ws, " ")})
	}
	got, evs := group(t, Config{}, specs)
	sizes := map[string]int{}
	for _, e := range got {
		sizes[e]++
	}
	largest := 0
	for _, n := range sizes {
		largest = max(largest, n)
	}
	if largest > 3 {
		t.Errorf("largest event holds %d of the 40 chained posts: %v", largest, sizes)
	}
	linked := 0
	for _, e := range evs {
		if e.SplitFrom != "" {
			linked++
		}
	}
	if linked == 0 {
		t.Errorf("no event split off another: %v", sizes)
	}
	t.Logf("40 chained posts → %d events, largest %d, %d split off their predecessor", len(sizes), largest, linked)

	// nor can the generic words of social media make a catch-all event
	// (the posts differ in half their words: no near-duplicates)
	specs = specs[:0]
	for i := 0; i < 50; i++ {
		specs = append(specs, spec{id: fmt.Sprintf("g%02d", i), min: i,
			text: strings.Join([]string{"微博 转发 晚安 视频 网友 图片 分享 今天", word(1000 + i), word(2000 + i), word(3000 + i), word(4000 + i), word(5000 + i), word(6000 + i), word(7000 + i), word(8000 + i)}, " ")})
	}
	got, _ = group(t, Config{}, specs)
	if n := len(uniq(got)); n != 50 {
		t.Errorf("50 posts with the same generic words and nothing else in common → %d events, want 50", n)
	}
}

func uniq(m map[string]string) map[string]struct{} {
	out := map[string]struct{}{}
	for _, v := range m {
		out[v] = struct{}{}
	}
	return out
}

func hourly(start int64, counts ...int64) map[int64]int64 {
	m := map[int64]int64{}
	for i, n := range counts {
		if n > 0 {
			m[start+int64(i)] = n
		}
	}
	return m
}

func TestSpike(t *testing.T) {
	c := Config{SourceRates: map[string]HourlyRate{"": {Mean: 1, Std: 1}, "weibo": {Mean: 7, Std: 23}}}.withDefaults()
	h0 := t0.Unix() / 3600
	steady := make([]int64, 30)
	for i := range steady {
		steady[i] = 5 + 6*int64(i%2) // 5, 11, 5, 11…: mean 8, σ 3
	}

	// 120 posts after thirty hours of 8 ± 3: a spike over the event's own
	// baseline (8 + 3·3 = 17), which binds (the source's is 1 + 3·1 = 4)
	ev := domain.Event{FirstAt: t0, Hourly: hourly(h0, append(append([]int64(nil), steady...), 120)...)}
	s, ok := c.Spike(ev)
	if !ok || s.Hour != h0+30 || s.Count != 120 || !s.Own || s.OwnMean != 8 || s.OwnStd != 3 || s.Threshold != 17 || s.Excess != 103 {
		t.Fatalf("spike %+v %v; want hour 30, 120 posts over the own baseline 8 + 3·3", s, ok)
	}
	_, _, reasons := c.Rate(ev)
	if all := strings.Join(reasons, "；"); !strings.Contains(all, "每小时 120 条，超过该事件此前 24 小时均值 8.0 + 3σ（17.0）") {
		t.Errorf("reasons %q lack the spike", all)
	}

	// the same run without the jump: only the first hours, before the
	// event has a baseline, exceed the source's rate; later ones do not
	ev.Hourly = hourly(h0, steady...)
	if s, ok := c.Spike(ev); !ok || s.Own || s.Hour-h0 > 2 {
		t.Errorf("steady run: spike %+v %v; want one of its first hours over the source's rate", s, ok)
	}
	// …and on a busier source, none at all
	ev.Source = "weibo"
	if s, ok := c.Spike(ev); ok {
		t.Errorf("steady run on weibo: spike %+v", s)
	}
	_, _, reasons = c.Rate(ev)
	if all := strings.Join(reasons, "；"); !strings.Contains(all, "无突增") {
		t.Errorf("reasons %q lack 无突增", all)
	}

	// k is configurable: 20 posts after 8 ± 3 spike at k 3 (17), not at k 5 (23)
	ev = domain.Event{FirstAt: t0, Hourly: hourly(h0, append(append([]int64(nil), steady...), 20)...)}
	if _, ok := c.Spike(ev); !ok {
		t.Errorf("20 over 8 ± 3 at k 3: no spike")
	}
	c5 := c
	c5.SpikeK = 5
	if s, ok := c5.Spike(ev); ok && s.Hour == h0+30 {
		t.Errorf("20 over 8 ± 3 at k 5: spike %+v", s)
	}

	// the baseline is the BaselineHours before only: a burst long ago does
	// not hide a later one
	counts := make([]int64, 60)
	counts[0] = 400
	for i := 1; i < 59; i++ {
		counts[i] = 2
	}
	counts[59] = 60
	ev = domain.Event{FirstAt: t0, Source: "weibo", Hourly: hourly(h0, counts...)}
	if s, ok := c.Spike(ev); !ok || s.Hour != h0 || s.Count != 400 {
		t.Errorf("strongest spike %+v, want the first hour's 400", s)
	}
	ev.Source = ""
	counts[0] = 0
	ev.Hourly = hourly(h0, counts...)
	if s, ok := c.Spike(ev); !ok || s.Hour != h0+59 || !s.Own || s.OwnMean != 2 || s.OwnStd != 0 {
		t.Errorf("late spike %+v, want hour 59 over its own 24 hours of 2", s)
	}

	// an event at its first hour: against the source's usual rate
	ev = domain.Event{FirstAt: t0, Source: "weibo", Hourly: hourly(h0, 300)}
	s, ok = c.Spike(ev)
	if !ok || s.Own || s.Threshold != 76 || s.Excess != 224 {
		t.Errorf("first-hour burst: %+v %v; want over weibo's 7 + 3·23", s, ok)
	}
	_, _, reasons = c.Rate(ev)
	if all := strings.Join(reasons, "；"); !strings.Contains(all, "超过来源 weibo通常每小时均值 7.0 + 3σ（76.0），超出 224 条") {
		t.Errorf("reasons %q", all)
	}

	// the figures are the same whatever the order the hours were filled in
	a := domain.Event{FirstAt: t0, Posts: 500, Hourly: hourly(h0, 3, 9, 4, 2, 200, 40, 12)}
	b := a
	b.Hourly = map[int64]int64{}
	keys := []int64{6, 0, 4, 2, 5, 1, 3}
	for _, k := range keys {
		b.Hourly[h0+k] = a.Hourly[h0+k]
	}
	ha, _, ra := c.Rate(a)
	hb, _, rb := c.Rate(b)
	if ha != hb || !reflect.DeepEqual(ra, rb) {
		t.Errorf("the same hours in another order rate differently")
	}

	// a spike heats an event: the same posts, reach and peak with and without
	flat := domain.Event{FirstAt: t0, Posts: 600, PeakHourly: 40, Reach: 500_000, Source: "weibo", Hourly: hourly(h0, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40)}
	burst := flat
	burst.Hourly = hourly(h0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 572)
	burst.PeakHourly = 572
	hf, _, _ := c.Rate(flat)
	hs, _, _ := c.Rate(burst)
	if hs <= hf {
		t.Errorf("a 572-post spike heats %.1f, the same posts spread evenly %.1f", hs, hf)
	}
}

func TestName(t *testing.T) {
	_, evs := group(t, Config{}, []spec{
		{id: "p1", text: "温州 台风 登陆 转移 群众 停课"},
		{id: "p2", min: 30, text: "台风 温州 登陆 群众 暴雨 积水"},
		{id: "p3", min: 60, text: "台风 登陆 温州 群众 水库 满库"},
	})
	ev := evs["ev-p1"]
	if ev.Originals != 3 {
		t.Fatalf("one event of 3 originals expected, got %+v", evs)
	}
	// the four words all three carry, the rarest three of them in the
	// order of the founding post's title
	if ev.Name != "温州·台风·登陆" {
		t.Errorf("name %q, want 温州·台风·登陆 (terms %v)", ev.Name, ev.Terms)
	}
	g := New(openStore(t), Config{IDF: stubIDF(), NameWords: 2})
	for _, tc := range []struct {
		ev   domain.Event
		want string
	}{
		// a word inside another gives way to it
		{domain.Event{Title: "宁波妇儿医院跳楼", Terms: map[string]int64{"妇儿": 10, "妇儿医院": 9, "跳楼": 8, "宁波": 7}}, "妇儿医院·跳楼"},
		// before any original: the founding reply's rarest keywords
		{domain.Event{Title: "暴雨 积水", Keywords: []string{"积水", "暴雨", "微博"}}, "暴雨·积水"},
		{domain.Event{}, ""},
	} {
		if got := g.name(&tc.ev); got != tc.want {
			t.Errorf("name of %+v = %q, want %q", tc.ev, got, tc.want)
		}
	}
}

func TestAuthority(t *testing.T) {
	for _, tc := range []struct {
		p     domain.Post
		level int
		label string
	}{
		{domain.Post{Source: "宁波市人民政府", Record: &domain.RecordRef{}}, AuthorityGovernment, "政务来源 宁波市人民政府"},
		{domain.Post{URL: "https://www.ningbo.gov.cn/art/1.html"}, AuthorityGovernment, "政务来源 www.ningbo.gov.cn"},
		{domain.Post{Source: "weibo", Author: domain.Author{Name: "宁波发布", Verified: true}}, AuthorityGovernment, "政务来源 宁波发布"},
		{domain.Post{Source: "weibo", Author: domain.Author{Name: "人民日报", Verified: true}}, AuthorityMedia, "官方媒体 人民日报"},
		{domain.Post{Source: "新华网-时政", Author: domain.Author{Name: "记者 张三"}}, AuthorityMedia, "官方媒体 新华网-时政"},
		{domain.Post{URL: "http://society.people.com.cn/n1/x.html", Author: domain.Author{Name: "记者 李四"}}, AuthorityMedia, "官方媒体 记者 李四"},
		{domain.Post{Source: "weibo", Author: domain.Author{Verified: true}}, AuthorityVerified, "认证用户"},
		{domain.Post{Source: "weibo", Author: domain.Author{Name: "甬城网友"}}, AuthorityNone, ""},
	} {
		if level, label := SourceAuthority(&tc.p); level != tc.level || label != tc.label {
			t.Errorf("%+v: %d %q, want %d %q", tc.p, level, label, tc.level, tc.label)
		}
	}

	// the event keeps its most authoritative source, whatever the order
	c := DefaultConfig()
	_, evs := group(t, Config{}, []spec{{id: "p1", text: textB}, {id: "r1", parent: "p1", min: 1, author: "人民日报"}, {id: "r2", parent: "p1", min: 2, verified: true}})
	ev := evs["ev-p1"]
	if ev.Authority != AuthorityMedia || ev.AuthorityBy != "官方媒体 人民日报" || ev.Verified != 1 {
		t.Errorf("event authority %d %q, %d verified", ev.Authority, ev.AuthorityBy, ev.Verified)
	}
	// it heats a graded event, with its reason
	base := domain.Event{Posts: 300, PeakHourly: 30, Reach: 200_000}
	h0, _, _ := c.Rate(base)
	base.Authority, base.AuthorityBy = AuthorityMedia, "官方媒体 人民日报"
	h1, _, reasons := c.Rate(base)
	if h1 != h0+c.AuthorityPoints[AuthorityMedia] || !strings.Contains(strings.Join(reasons, "；"), "来源权威：官方媒体 人民日报，热度 +4.0") {
		t.Errorf("official media: heat %.1f → %.1f, reasons %v", h0, h1, reasons)
	}
}

// TestDeterminismTies: posts sharing their timestamps (four a minute), with
// drifting topics, replies and near-duplicates, give the same events in
// batches of any size and in any order within a batch.
func TestDeterminismTies(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	topics := [][]string{
		strings.Fields("台风 登陆 温州 转移 群众 暴雨 停课 渔船"),
		strings.Fields("水库 溃坝 村庄 淹没 冲锋舟 救援 安置 帐篷"),
		strings.Fields("化工厂 爆炸 巨响 浓烟 疏散 伤亡 环保 检测"),
		strings.Fields("地沟油 李翔 特供 记者 调查 惨死 身中 余刀"),
	}
	var specs []spec
	var originals []string
	for i := 0; len(specs) < 1500; i++ {
		at := i / 4 // four posts a minute
		id := fmt.Sprintf("%c%04d", "pr"[min(rng.Intn(3), 1)], i)
		if id[0] == 'p' || len(originals) == 0 {
			id = "p" + id[1:]
			// mostly one topic, now and then words of the next one
			k := (at / 120) % len(topics)
			var ws []string
			for _, j := range rng.Perm(8)[:5] {
				ws = append(ws, topics[k][j])
			}
			if rng.Intn(3) == 0 {
				next := topics[(k+1)%len(topics)]
				for _, j := range rng.Perm(8)[:3] {
					ws = append(ws, next[j])
				}
			}
			ws = append(ws, fmt.Sprintf("独有%d", i))
			specs = append(specs, spec{id: id, min: at, text: strings.Join(ws, " "), followers: rng.Int63n(100000),
				verified: rng.Intn(5) == 0, places: [][]string{nil, {"浙江省温州市"}, {"浙江省宁波市"}}[rng.Intn(3)]})
			originals = append(originals, id)
			continue
		}
		parent := originals[len(originals)-1-rng.Intn(min(len(originals), 6))]
		specs = append(specs, spec{id: id, parent: parent, min: at, neg: rng.Intn(3) == 0, followers: rng.Int63n(1000)})
	}
	stream := docs(specs...)
	sortStream(stream)
	want, wantAssign := replay(t, stream, 1, nil)
	splits := 0
	for _, e := range want {
		if e.SplitFrom != "" {
			splits++
		}
	}
	if splits == 0 {
		t.Fatalf("the stream makes %d events and no split: too simple to test", len(want))
	}
	for _, tc := range []struct {
		batch int
		seed  int64
	}{{4, 1}, {7, 2}, {64, 3}, {len(stream), 4}} {
		got, gotAssign := replay(t, stream, tc.batch, rand.New(rand.NewSource(tc.seed)))
		if !reflect.DeepEqual(gotAssign, wantAssign) || !reflect.DeepEqual(got, want) {
			n := 0
			for id, w := range want {
				if got[id] != w && n < 3 {
					t.Errorf("batch %d shuffled: event %s\n got %+v\nwant %+v", tc.batch, id, got[id], w)
					n++
				}
			}
			t.Errorf("batch %d shuffled: %d events, batch 1: %d", tc.batch, len(got), len(want))
		}
	}
	t.Logf("%d posts at %d timestamps → %d events, %d split off; identical in batches of 1, 4, 7, 64 and all, shuffled",
		len(stream), len(stream)/4, len(want), splits)
}

var _ = time.Second
