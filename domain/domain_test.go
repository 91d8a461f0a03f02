package domain

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGradeNames(t *testing.T) {
	cases := []struct {
		g       Grade
		str, zh string
		major   bool
	}{
		{GradeNone, "", "未达分级", false},
		{GradeI, "I", "特别重大", true},
		{GradeII, "II", "重大", true},
		{GradeIII, "III", "较大", false},
		{GradeIV, "IV", "一般", false},
		{Grade(9), "", "未达分级", false},
	}
	for _, c := range cases {
		t.Run(c.zh+c.str, func(t *testing.T) {
			if c.g.String() != c.str || c.g.Zh() != c.zh || c.g.Major() != c.major {
				t.Errorf("grade %d: String %q Zh %q Major %v; want %q %q %v", int(c.g), c.g.String(), c.g.Zh(), c.g.Major(), c.str, c.zh, c.major)
			}
		})
	}
}

func TestGradeAtLeast(t *testing.T) {
	cases := []struct {
		g, other Grade
		want     bool
	}{
		{GradeI, GradeI, true},
		{GradeI, GradeIV, true},
		{GradeII, GradeI, false},
		{GradeIII, GradeII, false},
		{GradeIII, GradeIII, true},
		{GradeIV, GradeIII, false},
		{GradeIV, GradeIV, true},
		{GradeIV, GradeNone, true}, // any grade is at least "below grading"
		{GradeI, GradeNone, true},
		{GradeNone, GradeIV, false}, // below grading is never at least a grade
		{GradeNone, GradeNone, false},
	}
	for _, c := range cases {
		t.Run(c.g.String()+">="+c.other.String(), func(t *testing.T) {
			if got := c.g.AtLeast(c.other); got != c.want {
				t.Errorf("%v.AtLeast(%v) = %v, want %v", c.g, c.other, got, c.want)
			}
		})
	}
}

func TestClocksFor(t *testing.T) {
	first := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	detected := first.Add(90 * time.Minute)
	type want struct {
		kind  string
		hours int
	}
	cases := []struct {
		g    Grade
		want []want
	}{
		{GradeI, []want{{ClockRelease, 5}, {ClockConference, 24}}},
		{GradeII, []want{{ClockRelease, 5}, {ClockConference, 24}}},
		{GradeIII, []want{{ClockResponse, 48}}},
		{GradeIV, []want{{ClockResponse, 48}}},
	}
	for _, c := range cases {
		t.Run(c.g.String(), func(t *testing.T) {
			clocks := ClocksFor(c.g, detected, first)
			if len(clocks) != len(c.want) {
				t.Fatalf("got %d clocks %+v, want %d", len(clocks), clocks, len(c.want))
			}
			for i, w := range c.want {
				k := clocks[i]
				if k.Kind != w.kind || k.Hours != w.hours || k.Name == "" {
					t.Errorf("clock %d = %s %dh %q, want %s %dh", i, k.Kind, k.Hours, k.Name, w.kind, w.hours)
				}
				if !k.StartedAt.Equal(detected) || !k.FirstPostAt.Equal(first) {
					t.Errorf("clock %d started %v, first post %v; want %v, %v", i, k.StartedAt, k.FirstPostAt, detected, first)
				}
				if due := detected.Add(time.Duration(w.hours) * time.Hour); !k.DueAt.Equal(due) {
					t.Errorf("clock %d due %v, want %v (from detection, not the first post)", i, k.DueAt, due)
				}
				if k.StoppedAt != nil || k.Overdue(detected) {
					t.Errorf("a new clock is stopped or overdue: %+v", k)
				}
			}
		})
	}
}

func TestClockOverdue(t *testing.T) {
	start := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	due := start.Add(5 * time.Hour)
	at := func(d time.Duration) *time.Time { t := start.Add(d); return &t }
	cases := []struct {
		name    string
		stopped *time.Time
		now     time.Time
		want    bool
	}{
		{"running, before due", nil, due.Add(-time.Minute), false},
		{"running, at due", nil, due, false},
		{"running, past due", nil, due.Add(time.Second), true},
		{"stopped in time, checked later", at(4 * time.Hour), due.Add(48 * time.Hour), false},
		{"stopped right at due", at(5 * time.Hour), due.Add(time.Hour), false},
		{"stopped late", at(5*time.Hour + time.Minute), due.Add(time.Hour), true},
		{"stopped late, checked before due", at(6 * time.Hour), start, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := Clock{Kind: ClockRelease, Hours: 5, StartedAt: start, DueAt: due, StoppedAt: c.stopped}
			if got := k.Overdue(c.now); got != c.want {
				t.Errorf("Overdue = %v, want %v", got, c.want)
			}
		})
	}
}

func TestDeriveID(t *testing.T) {
	at := time.Date(2024, 5, 1, 8, 30, 0, 0, time.FixedZone("CST", 8*3600))
	base := Post{Source: "weibo", Text: "宁波一医院发生纠纷", Author: Author{ID: "u1", Name: "张三"}, PublishedAt: at, Title: "标题"}
	baseID := base.DeriveID()
	with := func(f func(*Post)) Post { p := base; f(&p); return p }

	same := []struct {
		name string
		p    Post
	}{
		{"same post again", base},
		{"same instant in UTC", with(func(p *Post) { p.PublishedAt = at.UTC() })},
		{"metrics do not count", with(func(p *Post) { p.Metrics.Likes = 9 })},
		{"received_at does not count", with(func(p *Post) { p.ReceivedAt = time.Now() })},
	}
	for _, c := range same {
		t.Run(c.name, func(t *testing.T) {
			if id := c.p.DeriveID(); id != baseID {
				t.Errorf("id %s, want %s", id, baseID)
			}
		})
	}
	differ := []struct {
		name string
		p    Post
	}{
		{"text", with(func(p *Post) { p.Text += "。" })},
		{"author id", with(func(p *Post) { p.Author.ID = "u2" })},
		{"author name", with(func(p *Post) { p.Author.Name = "李四" })},
		{"time", with(func(p *Post) { p.PublishedAt = at.Add(time.Second) })},
		{"parent", with(func(p *Post) { p.ParentID = "x" })},
		{"source", with(func(p *Post) { p.Source = "news" })},
		{"title", with(func(p *Post) { p.Title = "" })},
		// the parts are length-prefixed: moving text between fields changes the id
		{"field boundary", with(func(p *Post) { p.Title, p.Text = "标题宁波", "一医院发生纠纷" })},
		{"url", with(func(p *Post) { p.URL = "https://example.cn/a" })},
	}
	for _, c := range differ {
		t.Run("differs by "+c.name, func(t *testing.T) {
			if id := c.p.DeriveID(); id == baseID {
				t.Errorf("id unchanged: %s", id)
			}
		})
	}
	if !strings.HasPrefix(baseID, "c") || len(baseID) != 25 {
		t.Errorf("content id %q, want c + 24 hex digits", baseID)
	}

	urls := []struct {
		name string
		a, b Post
		same bool
	}{
		{"trailing slash", Post{URL: "https://news.cn/a/1"}, Post{URL: "https://news.cn/a/1/"}, true},
		{"spaces around", Post{URL: " https://news.cn/a/1 "}, Post{URL: "https://news.cn/a/1"}, true},
		{"url wins over content", Post{URL: "https://news.cn/a/1", Text: "甲"}, Post{URL: "https://news.cn/a/1", Text: "乙", PublishedAt: at}, true},
		{"other url", Post{URL: "https://news.cn/a/1"}, Post{URL: "https://news.cn/a/2"}, false},
		{"url id is not the content id", Post{URL: "https://news.cn/a/1"}, Post{Text: "https://news.cn/a/1"}, false},
	}
	for _, c := range urls {
		t.Run(c.name, func(t *testing.T) {
			a, b := c.a.DeriveID(), c.b.DeriveID()
			if (a == b) != c.same {
				t.Errorf("ids %s and %s: same = %v, want %v", a, b, a == b, c.same)
			}
		})
	}
	if id := (&Post{URL: "https://news.cn/a/1"}).DeriveID(); !strings.HasPrefix(id, "u") || len(id) != 25 {
		t.Errorf("url id %q, want u + 24 hex digits", id)
	}
}

func TestEventJSON(t *testing.T) {
	at := time.Date(2024, 5, 1, 8, 30, 0, 0, time.UTC)
	ev := Event{
		ID: "e1", RootPostID: "p1", Title: "宁波一医院发生纠纷", Keywords: []string{"医院", "纠纷"},
		Simhash: 0xfedcba9876543210, // above 2^53: would lose bits as a JSON number
		FirstAt: at, LastAt: at.Add(3 * time.Hour), Posts: 120, Negative: 80, Reach: 1_000_000,
		Hourly:     map[int64]int64{at.Unix() / 3600: 100, at.Unix()/3600 + 3: 20},
		PeakHourly: 100, Heat: 73.5, Grade: GradeIII, Reasons: []string{"负面占比 67%"},
		Region: "浙江省宁波市", Unit: "nb", Risk: 0.8, UpdatedAt: at.Add(4 * time.Hour),
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["simhash"] != "18364758544493064720" {
		t.Errorf("simhash encoded as %#v, want the decimal string", raw["simhash"])
	}
	if h, ok := raw["hourly"].(map[string]any); !ok || len(h) != 2 {
		t.Errorf("hourly encoded as %#v", raw["hourly"])
	}
	if raw["grade"] != float64(3) {
		t.Errorf("grade encoded as %#v", raw["grade"])
	}
	var back Event
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ev) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, ev)
	}

	t.Run("no hourly is omitted", func(t *testing.T) {
		data, _ := json.Marshal(Event{ID: "e2"})
		if strings.Contains(string(data), `"hourly"`) {
			t.Errorf("empty hourly encoded: %s", data)
		}
	})
	t.Run("simhash as a number is refused", func(t *testing.T) {
		var e Event
		if err := json.Unmarshal([]byte(`{"simhash":12}`), &e); err == nil {
			t.Error("a bare number simhash was taken")
		}
	})
}
