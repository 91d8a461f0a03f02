package bleveindex

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/registry"
	"go.uber.org/goleak"

	"yuqing/analyzer/index"
	"yuqing/analyzer/index/indextest"
	"yuqing/domain"
)

const childEnv = "BLEVEINDEX_KILL_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(killChild(dir))
	}
	slog.SetDefault(slog.New(slog.DiscardHandler))
	code := 0
	func() {
		defer cleanupBench()
		code = m.Run()
	}()
	if code == 0 {
		// Bleve starts its shared analysis workers once per process.
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func openTemp(t testing.TB) *Index {
	t.Helper()
	ix, err := Open(filepath.Join(t.TempDir(), "idx"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return ix
}

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return openTemp(t) })
}

func TestTokenizer(t *testing.T) {
	cache := registry.NewCache()
	an, err := cache.AnalyzerNamed(AnalyzerName)
	if err != nil {
		t.Fatalf("analyzer %q not registered: %v", AnalyzerName, err)
	}
	for _, tc := range []struct {
		text      string
		want      []string // terms in order
		positions []int
	}{
		{"去宁波妇儿医院看病。", []string{"去", "宁波", "妇儿", "医院", "看病"}, []int{1, 2, 3, 4, 5}},
		{"中华人民共和国", []string{"中华", "华人", "人民", "共和", "共和国", "中华人民共和国"}, []int{1, 1, 1, 1, 1, 1}},
		{"iPhone 维修！！", []string{"iphone", "维修"}, []int{1, 2}},
		{"  ，。 ", nil, nil},
	} {
		ts := an.Analyze([]byte(tc.text))
		var got []string
		var pos []int
		for _, tok := range ts {
			got = append(got, string(tok.Term))
			pos = append(pos, tok.Position)
			if !strings.EqualFold(tc.text[tok.Start:tok.End], string(tok.Term)) {
				t.Errorf("%q: token %q has offsets [%d,%d) = %q", tc.text, tok.Term, tok.Start, tok.End, tc.text[tok.Start:tok.End])
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || fmt.Sprint(pos) != fmt.Sprint(tc.positions) {
			t.Errorf("%q: terms %v positions %v, want %v %v", tc.text, got, pos, tc.want, tc.positions)
		}
	}
}

func TestRegionFallback(t *testing.T) {
	ctx := context.Background()
	mk := func(id, region string, places ...string) domain.IndexedPost {
		p := domain.IndexedPost{Post: domain.Post{ID: id, Text: "测试", Region: region, PublishedAt: time.Now()}}
		p.Analysis.Places = places
		return p
	}
	for _, tc := range []struct {
		name string
		opts []Option
		want map[string]int64
	}{
		{"default: region, else first place", nil, map[string]int64{"浙江": 2, "宁波": 1}},
		{"custom rule", []Option{WithRegion(func(p domain.IndexedPost) string { return "全国" })}, map[string]int64{"全国": 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := Open(filepath.Join(t.TempDir(), "idx"), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if err := ix.Index(ctx, []domain.IndexedPost{mk("a", "浙江"), mk("b", "浙江", "江苏"), mk("c", "", "宁波", "杭州"), mk("d", "")}); err != nil {
				t.Fatal(err)
			}
			res, err := ix.Search(ctx, index.Query{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, tc := range res.Aggs.ByRegion {
				got[tc.Term] = tc.Count
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("by region = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	ix := openTemp(t)
	if err := ix.Index(ctx, []domain.IndexedPost{{Post: domain.Post{Text: "没有编号"}}}); err == nil {
		t.Error("Index of a post without id: want error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := ix.Index(cctx, indextest.Fixture()); err == nil {
		t.Error("Index with cancelled context: want error")
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := ix.Search(ctx, index.Query{}); err == nil {
		t.Error("Search after Close: want error")
	}
	if err := ix.Index(ctx, indextest.Fixture()); err == nil {
		t.Error("Index after Close: want error")
	}
}

// TestDurability indexes, closes and reopens: everything is there.
func TestDurability(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fx := indextest.Fixture()
	if err := ix.Index(ctx, fx); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer ix.Close()
	if n, err := ix.Count(ctx); err != nil || n != int64(len(fx)) {
		t.Fatalf("Count after reopen = %d, %v; want %d", n, err, len(fx))
	}
	for _, p := range fx {
		if got, ok, err := ix.Get(ctx, p.ID); err != nil || !ok || got.Text != p.Text {
			t.Errorf("Get(%s) after reopen: ok %v err %v", p.ID, ok, err)
		}
	}
	if res, err := ix.Search(ctx, index.Query{Q: "医院"}); err != nil || res.Total != 2 {
		t.Errorf("search after reopen: total %d, %v", res.Total, err)
	}
}

// killChild indexes batches until killed, printing each batch's ids once Index returned.
func killChild(dir string) int {
	ix, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for b := 0; ; b++ {
		batch := make([]domain.IndexedPost, 200)
		ids := make([]string, len(batch))
		for i := range batch {
			id := fmt.Sprintf("k%d-%d", b, i)
			ids[i] = id
			batch[i] = domain.IndexedPost{Post: domain.Post{ID: id, Text: fmt.Sprintf("第%d批第%d条：医院门口交通拥堵", b, i), PublishedAt: base.Add(time.Duration(b*200+i) * time.Second)}}
		}
		if err := ix.Index(ctx, batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println(strings.Join(ids, " "))
	}
}

// TestKill9 kills a process that is indexing and checks that every batch it
// reported as indexed survives.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "idx")
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for batches := 0; batches < 8 && sc.Scan(); batches++ {
		acked = append(acked, strings.Fields(sc.Text())...)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // lines written before the kill count too
		acked = append(acked, strings.Fields(sc.Text())...)
	}
	_ = cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("child indexed nothing")
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer ix.Close()
	ctx := context.Background()
	missing := 0
	for _, id := range acked {
		if _, ok, err := ix.Get(ctx, id); err != nil || !ok {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged post %s lost after kill -9 (err %v)", id, err)
			}
		}
	}
	n, err := ix.Count(ctx)
	if err != nil || n < int64(len(acked)) {
		t.Errorf("Count after kill -9 = %d, %v; at least %d acknowledged", n, err, len(acked))
	}
	res, err := ix.Search(ctx, index.Query{Q: "医院 拥堵", Size: 1})
	if err != nil || res.Total < int64(len(acked)) {
		t.Errorf("search after kill -9: total %d, %v; want ≥ %d", res.Total, err, len(acked))
	}
	t.Logf("%d acknowledged posts, %d in the index after kill -9, %d missing", len(acked), n, missing)
}

// TestTimeRangeExact checks the cut of a time range into months, days, hours
// and partial hours against a plain comparison, on posts around the
// boundaries of hours, days (China time), months and years.
func TestTimeRangeExact(t *testing.T) {
	ctx := context.Background()
	ix := openTemp(t)
	defer ix.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var times []time.Time
	for _, b := range []time.Time{
		time.Date(2023, 12, 31, 23, 0, 0, 0, cst), time.Date(2024, 2, 29, 23, 0, 0, 0, cst),
		time.Date(2024, 3, 1, 0, 0, 0, 0, cst), time.Date(2024, 3, 10, 15, 0, 0, 0, cst),
		time.Date(2024, 3, 31, 16, 0, 0, 0, time.UTC), time.Date(2024, 7, 1, 0, 0, 0, 0, cst),
	} {
		for _, d := range []time.Duration{-time.Hour - 1, -time.Nanosecond, 0, 1, time.Minute, 59 * time.Minute, time.Hour, 25 * time.Hour} {
			times = append(times, b.Add(d))
		}
	}
	for len(times) < 300 {
		times = append(times, time.Date(2023, 11, 1, 0, 0, 0, 0, cst).Add(time.Duration(rng.Int64N(int64(300*24*time.Hour)))))
	}
	posts := make([]domain.IndexedPost, len(times))
	for i, ts := range times {
		posts[i] = domain.IndexedPost{Post: domain.Post{ID: fmt.Sprintf("t%03d", i), Text: "时间", PublishedAt: ts}}
	}
	posts = append(posts, domain.IndexedPost{Post: domain.Post{ID: "no-time", Text: "时间"}})
	if err := ix.Index(ctx, posts); err != nil {
		t.Fatal(err)
	}
	check := func(from, to time.Time) {
		t.Helper()
		want := 0
		for _, ts := range times {
			if (from.IsZero() || !ts.Before(from)) && (to.IsZero() || ts.Before(to)) {
				want++
			}
		}
		res, err := ix.Search(ctx, index.Query{From: from, To: to, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != int64(want) {
			t.Errorf("[%v, %v): %d posts, want %d", from, to, res.Total, want)
		}
	}
	for i := 0; i < 300; i++ {
		a := times[rng.IntN(len(times))].Add(time.Duration(rng.IntN(3)-1) * time.Nanosecond)
		var b time.Time
		switch rng.IntN(4) {
		case 0:
			b = times[rng.IntN(len(times))]
		case 1:
			b = a.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
		case 2:
			b = a.Add(time.Duration(rng.Int64N(int64(40 * 24 * time.Hour))))
		default:
			b = a.Add(time.Duration(rng.Int64N(int64(200 * 24 * time.Hour))))
		}
		check(a, b)
		check(a, time.Time{})
		check(time.Time{}, b)
	}
}

// TestOlderSchema checks that an index made before the place, author and
// risk fields (no schema version) opens with a warning and keeps answering,
// and that a new index opens without one.
func TestOlderSchema(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Index(ctx, indextest.Fixture()); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	reopen := func() (*Index, string) {
		t.Helper()
		var buf strings.Builder
		ix, err := Open(dir, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
		if err != nil {
			t.Fatal(err)
		}
		return ix, buf.String()
	}
	ix, logged := reopen()
	if strings.Contains(logged, "older version") {
		t.Errorf("current index reported as older: %s", logged)
	}
	if err := ix.bi.DeleteInternal([]byte(schemaKey)); err != nil { // as version 1 left it
		t.Fatal(err)
	}
	ix.Close()
	ix, logged = reopen()
	defer ix.Close()
	if !strings.Contains(logged, "level=WARN") || !strings.Contains(logged, "older version") {
		t.Errorf("older index not reported: %q", logged)
	}
	res, err := ix.Search(ctx, index.Query{Q: "医院", Place: "宁波市"})
	if err != nil || res.Total != 2 {
		t.Errorf("search in an older index: total %d, err %v; want 2", res.Total, err)
	}
}

// TestFacetCodes checks that the short codes of places and units in the
// facets field survive a reopen, and that the names given after it get new
// codes rather than old ones.
func TestFacetCodes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Index(ctx, indextest.Fixture()); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	if ix, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	p := domain.IndexedPost{Post: domain.Post{ID: "new", Text: "新的帖子", PublishedAt: time.Date(2024, 3, 15, 0, 0, 0, 0, cst)}}
	p.Analysis.Places = []string{"新疆维吾尔自治区乌鲁木齐市", "浙江省宁波市"}
	p.Analysis.Unit = "乌鲁木齐市网信办"
	if err := ix.Index(ctx, []domain.IndexedPost{p}); err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(ctx, index.Query{})
	if err != nil {
		t.Fatal(err)
	}
	places, units := map[string]int64{}, map[string]int64{}
	for _, tc := range res.Aggs.ByPlace {
		places[tc.Term] = tc.Count
	}
	for _, tc := range res.Aggs.ByUnit {
		units[tc.Term] = tc.Count
	}
	if w := map[string]int64{"江苏省南京市": 2, "浙江省杭州市": 2, "浙江省宁波市": 2, "浙江省宁波市鄞州区": 1, "广东省深圳市": 1, "北京市": 1, "新疆维吾尔自治区乌鲁木齐市": 1}; fmt.Sprint(places) != fmt.Sprint(w) {
		t.Errorf("by place after reopen = %v, want %v", places, w)
	}
	if w := map[string]int64{"宁波市卫健委": 2, "南京市交通局": 2, "杭州市住建局": 1, "乌鲁木齐市网信办": 1}; fmt.Sprint(units) != fmt.Sprint(w) {
		t.Errorf("by unit after reopen = %v, want %v", units, w)
	}
	// The Place filter finds the places of before and after the reopen.
	for name, want := range map[string]int64{"宁波市": 3, "浙江省": 5, "乌鲁木齐市": 1, "新疆维吾尔自治区": 1, "江苏省南京市": 2, "宁波": 0} {
		res, err := ix.Search(ctx, index.Query{Place: name})
		if err != nil || res.Total != want {
			t.Errorf("place %s after reopen: total %d, err %v; want %d", name, res.Total, err, want)
		}
	}
	for n := range 200 {
		if got, ok := decode62(encode62(n)); !ok || got != n {
			t.Fatalf("base 62: %d gives %q gives %d", n, encode62(n), got)
		}
	}
}

// TestFacetCodeWithoutName checks that a code whose name is lost is
// reported and counted under the code, not fatal.
func TestFacetCodeWithoutName(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Index(ctx, indextest.Fixture()[:1]); err != nil {
		t.Fatal(err)
	}
	code := ix.codes.code(kindPlace, "浙江省宁波市")
	if err := ix.bi.DeleteInternal(codeKey(code)); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	var buf strings.Builder
	if ix, err = Open(dir, WithLogger(slog.New(slog.NewTextHandler(&buf, nil)))); err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if !strings.Contains(buf.String(), "without their names") || !strings.Contains(buf.String(), code) {
		t.Errorf("lost name not reported: %s", buf.String())
	}
	res, err := ix.Search(ctx, index.Query{})
	if err != nil || len(res.Aggs.ByPlace) != 1 || res.Aggs.ByPlace[0].Term != code {
		t.Errorf("by place = %v, %v; want the code %s", res.Aggs.ByPlace, err, code)
	}
}
