package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yuqing/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect gathers what a reader reports through bad.
type collect []error

func (c *collect) bad(err error) { *c = append(*c, err) }

func cst(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, chinaTime)
}

func byID(posts []domain.Post) map[string]domain.Post {
	m := make(map[string]domain.Post, len(posts))
	for _, p := range posts {
		m[p.ID] = p
	}
	return m
}

func TestReadCED(t *testing.T) {
	// 1347334462 = 2012-09-11 11:34:22 CST
	unixLine := `{"id":"A","label":"rumor","post":{"text":"宁波一医院发生纠纷","time":1347334462,"user":{"verified":true,"followers":227833,"location":"上海"},"reposts":225,"comments":55,"likes":3},"reposts":[` +
		`{"uid":"u1","parent":"","text":"","mid":"m1","date":"2012-09-13 08:38:09"},` +
		`{"uid":"u2","parent":"m1","text":"转发理由，含逗号","mid":"m2","date":"2012-09-14 01:24:55"},` +
		`{"uid":"u3","parent":"","text":"短日期","mid":"m3","date":"09月15日 10:05"},` +
		`{"uid":"u4","parent":"","text":"同一分钟","mid":"m4","date":"09月11日 11:34"}]}`
	// Weibo date string, user "empty", a short date in January after a December original.
	stringLine := `{"id":"B","label":"non-rumor","post":{"text":"年末通报","time":"Sun Dec 29 14:58:24 +0800 2013","user":"empty","reposts":1},"reposts":[` +
		`{"uid":"v1","parent":"","text":"新年转发","mid":"n1","date":"01月02日 09:00"},` +
		`{"uid":"v2","parent":"","text":"同年","mid":"n2","date":"12月30日 09:00"}]}`
	badLine := `{"id":"C","post":{"text":"坏行","time":` // truncated JSON
	badTime := `{"id":"D","post":{"text":"坏时间","time":"昨天"},"reposts":[]}`
	badRepost := `{"id":"E","post":{"text":"有坏转发","time":1347334462,"user":"empty"},"reposts":[{"uid":"w","parent":"","text":"","mid":"k1","date":"不是日期"},{"uid":"w","parent":"","text":"","mid":"","date":"2012-09-13 08:38:09"},{"uid":"w","parent":"","text":"好","mid":"k3","date":"2012-09-13 08:38:09"}]}`

	in := strings.Join([]string{unixLine, "", badLine, stringLine, badTime, badRepost}, "\n")
	var bad collect
	posts, err := ReadCED(strings.NewReader(in), "t.jsonl", bad.bad)
	if err != nil {
		t.Fatal(err)
	}
	// 1+4 from A, 1+2 from B, 1+1 from E; C and D skipped, two reposts of E skipped.
	if len(posts) != 10 {
		t.Fatalf("got %d posts, want 10: %+v", len(posts), posts)
	}
	if len(bad) != 4 {
		t.Fatalf("got %d bad reports, want 4: %v", len(bad), bad)
	}
	for i, want := range []string{"t.jsonl:3:", "t.jsonl:5: post.time", "t.jsonl:6: reposts[0]", "t.jsonl:6: reposts[1]"} {
		if !strings.HasPrefix(bad[i].Error(), want) {
			t.Errorf("bad[%d] = %q, want prefix %q", i, bad[i], want)
		}
	}
	m := byID(posts)

	cases := []struct {
		id, parent, root, text string
		at                     time.Time
	}{
		{"A", "", "", "宁波一医院发生纠纷", time.Unix(1347334462, 0)},
		{"m1", "A", "A", "", cst(2012, 9, 13, 8, 38, 9)},           // empty parent → original; plain repost
		{"m2", "m1", "A", "转发理由，含逗号", cst(2012, 9, 14, 1, 24, 55)}, // parent mid kept
		{"m3", "A", "A", "短日期", cst(2012, 9, 15, 10, 5, 0)},        // short form, year of the original
		{"m4", "A", "A", "同一分钟", cst(2012, 9, 11, 11, 34, 0)},      // same minute as the original: same year
		{"B", "", "", "年末通报", cst(2013, 12, 29, 14, 58, 24)},
		{"n1", "B", "B", "新年转发", cst(2014, 1, 2, 9, 0, 0)}, // would precede the original: next year
		{"n2", "B", "B", "同年", cst(2013, 12, 30, 9, 0, 0)},
		{"E", "", "", "有坏转发", time.Unix(1347334462, 0)},
		{"k3", "E", "E", "好", cst(2012, 9, 13, 8, 38, 9)},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			p, ok := m[c.id]
			if !ok {
				t.Fatalf("post %s missing", c.id)
			}
			if p.ParentID != c.parent || p.RootID != c.root || p.Text != c.text {
				t.Errorf("parent/root/text = %q/%q/%q, want %q/%q/%q", p.ParentID, p.RootID, p.Text, c.parent, c.root, c.text)
			}
			if !p.PublishedAt.Equal(c.at) {
				t.Errorf("published_at = %v, want %v", p.PublishedAt.In(chinaTime), c.at)
			}
			if p.Source != "weibo" {
				t.Errorf("source = %q", p.Source)
			}
		})
	}
	a := m["A"]
	if a.Author.Followers != 227833 || !a.Author.Verified || a.Author.Location != "上海" {
		t.Errorf("user object not read: %+v", a.Author)
	}
	if a.Metrics != (domain.Metrics{Reposts: 225, Comments: 55, Likes: 3}) {
		t.Errorf("metrics = %+v", a.Metrics)
	}
	if b := m["B"]; b.Author.Followers != 0 || b.Author.Verified || b.Author.ID == "" {
		t.Errorf(`user "empty" should give a bare author with an id: %+v`, b.Author)
	}
	if m["m2"].Author.ID != "u2" {
		t.Errorf("repost author = %q, want u2", m["m2"].Author.ID)
	}
}

func TestRepostTime(t *testing.T) {
	root := cst(2013, 2, 6, 17, 45, 30)
	cases := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2013-02-07 08:00:00", cst(2013, 2, 7, 8, 0, 0), false},
		{"02月06日 17:45", cst(2013, 2, 6, 17, 45, 0), false}, // same minute: not a year later
		{"02月06日 17:46", cst(2013, 2, 6, 17, 46, 0), false},
		{"02月06日 17:44", cst(2014, 2, 6, 17, 44, 0), false}, // before the original: next year
		{"01月01日 00:00", cst(2014, 1, 1, 0, 0, 0), false},
		{"2013/02/07", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := repostTime(c.in, root.UTC())
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if !c.wantErr && !got.Equal(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestCEDTime(t *testing.T) {
	cases := []struct {
		raw     string
		want    time.Time
		wantErr bool
	}{
		{`1347334462`, time.Unix(1347334462, 0), false},
		{`"1347334462"`, time.Unix(1347334462, 0), false},
		{`1347334462.0`, time.Unix(1347334462, 0), false},
		{`"Sun Jan 13 14:58:24 +0800 2013"`, cst(2013, 1, 13, 14, 58, 24), false},
		{`"2013-01-13"`, time.Time{}, true},
		{`null`, time.Time{}, true},
		{``, time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.raw, func(t *testing.T) {
			got, err := cedTime([]byte(c.raw))
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if !c.wantErr && (!got.Equal(c.want) || got.Location() != time.UTC) {
				t.Errorf("got %v, want %v in UTC", got, c.want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	ced := `{"id":"A","label":"rumor","post":{"text":"x","time":1},"reposts":[]}`
	// A CED line far longer than what ReadFile peeks at (real lines reach 170 kB).
	var long strings.Builder
	long.WriteString(`{"id":"A","label":"rumor","post":{"text":"长","time":1},"reposts":[`)
	for i := 0; long.Len() < 80<<10; i++ {
		if i > 0 {
			long.WriteByte(',')
		}
		long.WriteString(`{"uid":"u","parent":"","text":"转发转发转发","mid":"m","date":"2012-09-13 08:38:09"}`)
	}
	cases := []struct {
		name, in, want string
	}{
		{"ced", ced + "\n" + ced, KindCED},
		{"ced single line", ced, KindCED},
		{"ced first line cut short", long.String()[:64<<10], KindCED},
		{"posts", `{"id":"1","text":"新闻","published_at":"2024-05-01T08:30:00+08:00"}` + "\n", KindPosts},
		{"post with metrics.reposts", `{"text":"a","metrics":{"reposts":3},"post":1}`, KindPosts},
		{"posts array", `[{"text":"a"}]`, KindPosts},
		{"posts with bom", "\ufeff" + `{"text":"a"}`, KindPosts},
		{"csv", "id,text,published_at\n1,你好,2024-05-01T08:30:00+08:00\n", KindCSV},
		{"csv with bom", "\ufeffid,text\n1,a\n", KindCSV},
		{"empty", "", KindCSV},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Sniff([]byte(c.in)); got != c.want {
				t.Errorf("Sniff = %q, want %q", got, c.want)
			}
		})
	}
}

func TestReadCSV(t *testing.T) {
	in := "\ufeffID,text,published_at,author,author.followers,author.verified,region,parent_id\n" +
		`1,"宁波市一医院发生医患纠纷，多人受伤，警方已介入",2024-05-01T08:30:00+08:00,张三,1200,true,浙江省宁波市,` + "\n" +
		`2,"他说：""不要转发""，然后走了",2024-05-01 09:00:00,李四,abc,false,,1` + "\n" +
		`3,坏时间,五月一日,王五,0,false,,` + "\n" +
		`4,没有时间,,赵六,7,,,` + "\n"
	var bad collect
	posts, err := ReadCSV(strings.NewReader(in), "t.csv", bad.bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !strings.Contains(bad[0].Error(), "t.csv:4:") || !strings.Contains(bad[0].Error(), "published_at") {
		t.Fatalf("bad = %v, want one published_at report on line 4", bad)
	}
	want := []domain.Post{
		{ID: "1", Text: "宁波市一医院发生医患纠纷，多人受伤，警方已介入", PublishedAt: cst(2024, 5, 1, 8, 30, 0), Region: "浙江省宁波市",
			Author: domain.Author{Name: "张三", Followers: 1200, Verified: true}},
		{ID: "2", Text: `他说："不要转发"，然后走了`, PublishedAt: cst(2024, 5, 1, 9, 0, 0), ParentID: "1",
			Author: domain.Author{Name: "李四"}},
		{ID: "4", Text: "没有时间", Author: domain.Author{Name: "赵六", Followers: 7}},
	}
	if len(posts) != len(want) {
		t.Fatalf("got %d posts, want %d: %+v", len(posts), len(want), posts)
	}
	for i := range want {
		g, w := posts[i], want[i]
		if !g.PublishedAt.Equal(w.PublishedAt) {
			t.Errorf("post %s published_at = %v, want %v", w.ID, g.PublishedAt, w.PublishedAt)
		}
		g.PublishedAt, w.PublishedAt = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("post %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestReadCSVHeaderErrors(t *testing.T) {
	cases := []struct{ name, in string }{
		{"no text column", "id,title\n1,a\n"},
		{"empty", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ReadCSV(strings.NewReader(c.in), "t.csv", func(error) {}); err == nil || !strings.Contains(err.Error(), "t.csv") {
				t.Fatalf("err = %v, want an error naming the file", err)
			}
		})
	}
}

// failingReader gives its data, then fails for ever, as a truncated gzip does.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadCSVReadError(t *testing.T) {
	boom := errors.New("unexpected EOF in gzip")
	r := &failingReader{data: []byte("id,text\n1,好\n2,也好\n"), err: boom}
	done := make(chan struct{})
	var posts []domain.Post
	var err error
	go func() {
		defer close(done)
		posts, err = ReadCSV(r, "t.csv.gz", func(error) {})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReadCSV does not stop on a reader that keeps failing")
	}
	if !errors.Is(err, boom) || len(posts) != 2 {
		t.Fatalf("posts %d, err %v; want 2 posts and the read error", len(posts), err)
	}
}

func TestReadJSONL(t *testing.T) {
	in := "\ufeff" + `{"id":"1","text":"一"}` + "\n\n" + `{"id":"2","text":` + "\n" + `{"id":"3","text":"三"}` + "\n"
	var bad collect
	posts, err := ReadJSONL(strings.NewReader(in), "p.jsonl", bad.bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) != 2 || posts[0].ID != "1" || posts[1].ID != "3" {
		t.Fatalf("posts = %+v, want ids 1 and 3", posts)
	}
	if len(bad) != 1 || !strings.HasPrefix(bad[0].Error(), "p.jsonl:3:") {
		t.Fatalf("bad = %v, want one report for line 3", bad)
	}
}

func writeFile(t *testing.T, name string, data []byte, gz bool) string {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadFile(t *testing.T) {
	ced := `{"id":"A","label":"rumor","post":{"text":"原帖","time":1347334462,"user":"empty"},"reposts":[{"uid":"u","parent":"","text":"","mid":"m1","date":"2012-09-13 08:38:09"}]}` + "\n"
	jsonl := `{"id":"1","text":"一"}` + "\n" + `{"id":"2","text":"二"}` + "\n" + `{"id":"3","text":"三"}` + "\n"
	csvData := "\ufeffid,text\n1,\"一，二\"\n"
	cases := []struct {
		name, file, data string
		gz               bool
		want             int
	}{
		{"ced gzip, plain name", "ced.jsonl", ced, true, 2},
		{"ced plain", "ced.jsonl", ced, false, 2},
		{"jsonl gzip", "p.jsonl.gz", jsonl, true, 3},
		{"jsonl plain named .gz", "p.jsonl.gz", jsonl, false, 3},
		{"csv gzip", "p.csv", csvData, true, 1},
		{"csv plain", "p.csv", csvData, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.file, []byte(c.data), c.gz)
			var bad collect
			posts, err := ReadFile(path, bad.bad)
			if err != nil || len(bad) > 0 {
				t.Fatalf("err %v, bad %v", err, bad)
			}
			if len(posts) != c.want {
				t.Fatalf("got %d posts, want %d: %+v", len(posts), c.want, posts)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := ReadFile(filepath.Join(t.TempDir(), "nope.jsonl"), func(error) {}); err == nil {
			t.Fatal("no error for a missing file")
		}
	})
	t.Run("truncated gzip", func(t *testing.T) {
		path := writeFile(t, "cut.jsonl.gz", []byte(strings.Repeat(jsonl, 1000)), true)
		data, _ := os.ReadFile(path)
		if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFile(path, func(error) {}); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want unexpected EOF", err)
		}
	})
}

func TestSortByTime(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	in := []domain.Post{
		{ID: "c", PublishedAt: t0.Add(2 * time.Second)},
		{ID: "parent", PublishedAt: t0.Add(time.Second)},
		{ID: "child", PublishedAt: t0.Add(time.Second)},
		{ID: "a", PublishedAt: t0},
		{ID: "child2", PublishedAt: t0.Add(time.Second)},
		{ID: "b", PublishedAt: t0.Add(time.Second).In(chinaTime)}, // same instant, other zone
	}
	SortByTime(in)
	var got []string
	for _, p := range in {
		got = append(got, p.ID)
	}
	if want := "a parent child child2 b c"; strings.Join(got, " ") != want {
		t.Fatalf("order = %v, want %s", got, want)
	}
}

func TestReadRealCED(t *testing.T) {
	const path = "../../../shared/data/weibo/ced_dev.jsonl.gz"
	if _, err := os.Stat(path); err != nil {
		t.Skip("weibo/ced_dev.jsonl.gz: ../shared/data absent")
	}
	var bad collect
	posts, err := ReadFile(path, bad.bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 0 {
		t.Errorf("%d bad items, first: %v", len(bad), bad[0])
	}
	roots := 0
	for i := range posts {
		p := &posts[i]
		if p.ParentID == "" {
			roots++
			if p.RootID != "" {
				t.Fatalf("original %s has root_id %s", p.ID, p.RootID)
			}
		} else if p.RootID == "" {
			t.Fatalf("repost %s has no root_id", p.ID)
		}
		if p.PublishedAt.IsZero() || p.PublishedAt.Year() < 2010 || p.PublishedAt.Year() > 2015 {
			t.Fatalf("post %s at %v, outside Dec 2010 – 2015", p.ID, p.PublishedAt)
		}
	}
	if len(posts) != 763656 || roots != 2019 {
		t.Fatalf("got %d posts, %d without parent; want 763656 and 2019", len(posts), roots)
	}
}
