package classify

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
	"yuqing/ingest/dataset"
)

func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, cnTime)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSpreadHandMade(t *testing.T) {
	root := SpreadRoot{At: cst("2012-09-13 08:00:00"), AuthorKnown: true, Followers: 1234, PicsKnown: true, Pics: 2}
	kids := []SpreadChild{
		{At: cst("2012-09-13 08:00:30"), User: "A", Text: "真的吗？"},
		{At: cst("2012-09-13 08:05:00"), User: "B", Nested: true},
		{At: cst("2012-09-13 08:10:00"), User: "A", Text: "这不是谣言，我亲眼看到"},
		{At: cst("2012-09-13 08:20:00"), User: "C", Text: "转发微博"},
		{At: cst("2012-09-13 08:59:59"), User: "D", Text: "辟谣：假的//@E:真的吗"},
		{At: cst("2012-09-13 09:00:00"), User: "E", Text: "谣言"}, // the hour is over
		{At: cst("2012-09-13 10:00:00"), User: "F", Text: "造谣"},
		{At: cst("2012-09-13 07:59:00"), User: "G"}, // before its post: clock skew
		{User: "H", Text: "谣言"},                     // no time
	}
	s := ExtractSpread(root, kids)
	want := Spread{Known: true, Children: 6, Users: 5, WithText: 3, Nested: 1, Doubt: 1, Refute: 1, Cued: 2,
		Cues: []string{"假的", "真的吗", "辟谣"}, First: 0, Tenth: -1,
		AuthorKnown: true, Followers: 1234, PicsKnown: true, Pics: 2}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("spread\n got %+v\nwant %+v", s, want)
	}

	// in any order, the root before or after its children
	var b SpreadBuilder
	for _, k := range slices.Backward(kids) {
		b.Add(k)
	}
	if b.Complete(cst("2012-09-13 09:30:00")) {
		t.Fatal("complete without a root")
	}
	b.SetRoot(root)
	if got := b.Spread(); !reflect.DeepEqual(got, want) {
		t.Fatalf("children before the root\n got %+v\nwant %+v", got, want)
	}
	if b.Complete(cst("2012-09-13 08:59:59")) || !b.Complete(cst("2012-09-13 09:00:00")) {
		t.Fatal("Complete is wrong about the end of the first hour")
	}

	// ten children: the tenth's delay
	var many []SpreadChild
	for i := range 12 {
		many = append(many, SpreadChild{At: root.At.Add(time.Duration(12-i) * time.Minute), User: fmt.Sprint(i % 4)})
	}
	s = ExtractSpread(root, many)
	if s.Children != 12 || s.Users != 4 || s.First != time.Minute || s.Tenth != 10*time.Minute {
		t.Fatalf("twelve children: %+v", s)
	}

	// no root time: nothing counted, and the layer takes it as average
	if s := ExtractSpread(SpreadRoot{}, kids); s.Known || s.Children != 0 {
		t.Fatalf("no root time: %+v", s)
	}
}

func TestSpreadOfPosts(t *testing.T) {
	at := cst("2013-01-13 14:58:24")
	root := domain.Post{ID: "r", PublishedAt: at, Author: domain.Author{ID: "u0", Followers: 10, Verified: true}}
	r := SpreadRootOfPost(&root)
	if !r.At.Equal(at) || !r.AuthorKnown || !r.Verified || r.Followers != 10 || r.PicsKnown {
		t.Fatalf("root %+v", r)
	}
	if r := SpreadRootOfPost(&domain.Post{PublishedAt: at}); r.AuthorKnown {
		t.Fatal("an author with no followers and no flag is known")
	}
	direct := domain.Post{ID: "c1", ParentID: "r", RootID: "r", PublishedAt: at.Add(time.Minute), Author: domain.Author{ID: "u1"}, Text: "求证"}
	nested := domain.Post{ID: "c2", ParentID: "c1", RootID: "r", PublishedAt: at.Add(2 * time.Minute), Author: domain.Author{Name: "网友"}}
	c1, c2 := SpreadChildOfPost(&direct, "r"), SpreadChildOfPost(&nested, "r")
	if c1.Nested || c1.User != "u1" || c1.Text != "求证" || !c2.Nested || c2.User != "网友" {
		t.Fatalf("children %+v %+v", c1, c2)
	}
	if s := ExtractSpread(r, []SpreadChild{c1, c2}); s.Children != 2 || s.Doubt != 1 || s.Users != 2 {
		t.Fatalf("spread %+v", s)
	}
}

func TestCues(t *testing.T) {
	for _, tc := range []struct {
		text          string
		doubt, refute []string
	}{
		{"真的假的？求证", []string{"真的假的", "求证"}, []string{"假的"}}, // a question that names the lie
		{"不信谣不传谣", []string{"不信"}, []string{"传谣"}},
		{"这不是谣言", nil, nil},
		{"官方回应了：不实消息", nil, []string{"不实", "官方回应"}},
		{"//@某人:谣言", nil, nil}, // someone else's words
		{"", nil, nil},
	} {
		d, r := cues(tc.text)
		if !slices.Equal(d, tc.doubt) || !slices.Equal(r, tc.refute) {
			t.Errorf("cues(%q) = %q %q, want %q %q", tc.text, d, r, tc.doubt, tc.refute)
		}
	}
	for _, w := range append(DoubtWords(), RefuteWords()...) {
		if strings.TrimSpace(w) != w || w == "" {
			t.Errorf("lexicon word %q", w)
		}
	}
}

// cedRecord is one line of the CED format.
type cedRecord struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Post  struct {
		Text string `json:"text"`
		Time any    `json:"time"`
		User any    `json:"user"`
		Pics int    `json:"pics"`
	} `json:"post"`
	Reposts []cedRepost `json:"reposts"`
}

type cedRepost struct {
	Mid    string `json:"mid"`
	Parent string `json:"parent"`
	UID    string `json:"uid"`
	Text   string `json:"text"`
	Date   string `json:"date"`
}

// smallCED writes a CED-format sample whose labels the text tells in half
// the posts and the first hour's spread tells always. The texts are drawn
// from word pools so that they are not near-duplicates of each other.
func smallCED(t *testing.T, gz bool) string {
	t.Helper()
	neutral := strings.Fields("今天 昨天 我们 大家 朋友 城市 学校 医院 公司 家里 路上 晚上 早上 孩子 老人 同学 老师 司机 记者 网友 " +
		"看到 听说 发现 知道 觉得 希望 认为 表示 参加 准备 开始 结束 出门 回家 吃饭 睡觉 工作 学习 比赛 旅游")
	rumorWords := strings.Fields("紧急扩散 拐走 致癌 收费 地震预报 转发救人 千万别吃 速看 内部消息 注意安全")
	newsWords := strings.Fields("发布会 通报 统计局 数据显示 冠军 气象台 央行 记者获悉 官方网站 会议")
	rng := uint64(42)
	next := func(n int) int {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return int(rng % uint64(n))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	base := cst("2013-05-01 08:00:00")
	for i := range 480 {
		rumor := i%2 == 0
		var rec cedRecord
		rec.ID = fmt.Sprintf("p%d", i)
		at := base.Add(time.Duration(i) * time.Hour)
		rec.Post.Time = at.Unix()
		if i%7 == 3 {
			rec.Post.Time = at.In(cnTime).Format("Mon Jan 02 15:04:05 -0700 2006")
		}
		rec.Post.Pics = i % 3 % 2
		var words []string
		for range 7 {
			words = append(words, neutral[next(len(neutral))])
		}
		if i%4 == 0 || i%4 == 3 { // half the texts say which they are
			pool := map[bool][]string{true: rumorWords, false: newsWords}[rumor]
			for k := range 3 {
				words[next(len(words))] = pool[(i+k*3)%len(pool)]
			}
		}
		rec.Post.Text = strings.Join(words, "，")
		if i%11 == 5 {
			rec.Post.User = "empty"
		} else {
			rec.Post.User = map[string]any{"verified": i%3 == 0, "followers": 1000 * (i%5 + 1), "location": "北京"}
		}
		n, step := 40, 30*time.Second
		if rumor {
			n, step = 8, 7*time.Minute
		}
		for k := range n {
			rp := cedRepost{Mid: fmt.Sprintf("m%d_%d", i, k), UID: fmt.Sprintf("u%d", (i*7+k)%50), Date: at.Add(time.Duration(k+1) * step).In(cnTime).Format("2006-01-02 15:04:05")}
			switch {
			case rumor && k%3 == 0:
				rp.Text = []string{"真的吗？求证", "这是谣言吧", "假的，已辟谣"}[k%3+(k/3)%2]
			case k%2 == 0:
				rp.Text = "支持，说得好"
			}
			if k > 0 && k%4 == 0 {
				rp.Parent = fmt.Sprintf("m%d_%d", i, k-1)
			}
			rec.Reposts = append(rec.Reposts, rp)
		}
		if !rumor { // doubt after the first hour does not count
			rec.Reposts = append(rec.Reposts, cedRepost{Mid: fmt.Sprintf("late%d", i), UID: "late", Text: "谣言", Date: at.Add(2 * time.Hour).In(cnTime).Format("2006-01-02 15:04:05")})
		}
		rec.Label = map[bool]string{true: "rumor", false: "non-rumor"}[rumor]
		if err := enc.Encode(rec); err != nil {
			t.Fatal(err)
		}
	}
	name := "small.jsonl"
	data := buf.Bytes()
	if gz {
		name += ".gz"
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRumorTrainEvalSpread(t *testing.T) {
	data := smallCED(t, true)
	dir := t.TempDir()
	out := filepath.Join(dir, "rumor.model.gz")
	var progress bytes.Buffer
	if err := Train(KindRumor, []string{data}, out, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "传播层选用") {
		t.Fatalf("progress says nothing of the spread layer:\n%s", progress.String())
	}
	var w bytes.Buffer
	if err := Eval(KindRumor, out, []string{data}, &w); err != nil {
		t.Fatal(err)
	}
	report := w.String()
	lines := strings.Split(strings.TrimRight(report, "\n"), "\n")
	last := lines[len(lines)-1]
	if !lastLineFull.MatchString(last) || strings.Count(report, "\naccuracy=") != 1 {
		t.Fatalf("last line %q, or more than one accuracy= line:\n%s", last, report)
	}
	for _, want := range []string{"只用正文", "首小时", "text_only accuracy=", "with_first_hour accuracy=", "混淆矩阵", "rumor", "precision"} {
		if !strings.Contains(report, want) {
			t.Fatalf("eval output lacks %q:\n%s", want, report)
		}
	}
	var textAcc, acc, f1 float64
	for _, l := range lines {
		if strings.HasPrefix(l, "text_only ") {
			fmt.Sscanf(l, "text_only accuracy=%f", &textAcc)
		}
	}
	fmt.Sscanf(last, "accuracy=%f macro_f1=%f", &acc, &f1)
	if textAcc > 0.9 || acc < 0.95 || acc <= textAcc {
		t.Fatalf("text alone %.4f, with the first hour %.4f; want the spread to tell what the text cannot:\n%s", textAcc, acc, report)
	}

	f, _ := os.Open(out)
	m, err := Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasSpread() || !slices.Equal(m.Spread.Features, DefaultSpreadFeatures) {
		t.Fatalf("model spread layer %+v", m.Spread)
	}
	root := SpreadRoot{At: cst("2014-01-01 10:00:00"), AuthorKnown: true, Followers: 150}
	var doubtful []SpreadChild
	for k := range 6 {
		doubtful = append(doubtful, SpreadChild{At: root.At.Add(time.Duration(k*9+1) * time.Minute), User: fmt.Sprint(k), Text: "真的吗？这是谣言吧"})
	}
	risk, reasons := m.RiskWithSpread(0.5, ExtractSpread(root, doubtful))
	if risk < 0.8 || len(reasons) == 0 || len(reasons) > 4 {
		t.Fatalf("doubted slow post: risk %.3f reasons %q", risk, reasons)
	}
	joined := strings.Join(reasons, "；")
	if !strings.Contains(joined, "（+") || !strings.ContainsAny(joined, "首作") {
		t.Fatalf("reasons %q do not say what raised the risk", reasons)
	}
	t.Logf("risk %.3f: %s", risk, joined)
	// nothing known beyond the text: the layer leans on the text
	lo, _ := m.RiskWithSpread(0.05, Spread{})
	hi, _ := m.RiskWithSpread(0.95, Spread{})
	if !(lo < 0.5 && hi > 0.5) {
		t.Fatalf("unknown spread: risk %.3f for text 0.05, %.3f for 0.95", lo, hi)
	}

	// the same data gives the same bytes, and the text model is unchanged
	// by the layer
	again := filepath.Join(dir, "again.model.gz")
	if err := Train(KindRumor, []string{data}, again, nil); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Fatal("training twice on the same data gave different model files")
	}
	textOnly := filepath.Join(dir, "text.model.gz")
	if err := TrainWith(KindRumor, []string{data}, textOnly, nil, TrainOptions{NoSpread: true}); err != nil {
		t.Fatal(err)
	}
	f, _ = os.Open(textOnly)
	old, err := Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if old.HasSpread() || !slices.Equal(old.Weights, m.Weights) {
		t.Fatal("the text model differs with and without the layer")
	}
	// a model without a layer (as files before it): text risk, no reasons,
	// and eval reports the text alone
	if p, r := old.RiskWithSpread(0.3, ExtractSpread(root, doubtful)); p != 0.3 || r != nil {
		t.Fatalf("no layer: %v %v", p, r)
	}
	w.Reset()
	if err := Eval(KindRumor, textOnly, []string{data}, &w); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w.String(), "首小时") || !lastLineFull.MatchString(strings.TrimSpace(w.String())[strings.LastIndex(strings.TrimSpace(w.String()), "\n")+1:]) {
		t.Fatalf("eval of a text-only model:\n%s", w.String())
	}
}

func TestSpreadLayerLoadErrors(t *testing.T) {
	for _, l := range []*SpreadLayer{
		{Features: []string{"text", "nonsense"}, Mean: []float64{0, 0}, Scale: []float64{1, 1}, Weights: []float64{1, 1}},
		{Features: []string{"text", "experiment"}, Mean: []float64{0, 0}, Scale: []float64{1, 1}, Weights: []float64{1, 1}},
		{Features: []string{"text"}, Mean: []float64{0}, Scale: []float64{1}, Weights: []float64{1, 2}},
		{Features: []string{"text"}, Mean: []float64{0}, Scale: []float64{0}, Weights: []float64{1}},
	} {
		m := &Model{Kind: KindRumor, Algo: AlgoNB, Classes: []string{"non-rumor", "rumor"}, Bias: []float32{0, 0}, Spread: l}
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(&buf); err == nil {
			t.Errorf("layer %+v loaded", l)
		}
	}
}

func TestRumorSplitByPost(t *testing.T) {
	texts := []string{
		"【紧急扩散】今天上午一个小女孩在大润发超市附近被人拐走了，穿红色衣服，请大家帮忙转发留意！",
		"【紧急扩散】今天上午一个小女孩在大润发超市附近被人拐走了，穿红色衣服，请大家帮忙转发留意！", // the same
		"帮忙转发 今天上午一个小女孩在大润发超市附近被人拐走了，穿红色衣服，请大家帮忙转发留意 http://t.cn/abc",
		"今天上午一个小女孩在大润发超市附近被人拐走了",             // quoted in the others
		"市政府今天召开新闻发布会，通报今年上半年经济运行情况，各项指标平稳。", // unrelated
		"好",
		"好！",
	}
	var cs []Cascade
	for i, s := range texts {
		cs = append(cs, Cascade{ID: fmt.Sprint(i), Text: s})
	}
	g := nearDuplicateGroups(cs)
	for i := 1; i < 4; i++ {
		if g[i] != g[0] {
			t.Errorf("text %d in group %q, want %q", i, g[i], g[0])
		}
	}
	if g[4] == g[0] || g[4] != texts[4] {
		t.Errorf("unrelated text grouped: %q", g[4])
	}
	if g[5] != g[6] {
		t.Errorf("texts equal but for punctuation in groups %q and %q", g[5], g[6])
	}
	if min(texts[0], texts[2], texts[3]) != g[0] {
		t.Errorf("canonical text %q is not the least", g[0])
	}

	// on the shared data: every post and its whole cascade in one split,
	// near-duplicates together, the same posts each time
	path := filepath.Join("..", "..", "..", "shared", "data", "weibo", "ced_dev.jsonl.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skip("shared data absent")
	}
	if testing.Short() {
		t.Skip("reads the shared data twice")
	}
	train, err := ReadCascades([]string{path}, SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	test, _ := ReadCascades([]string{path}, SplitTest)
	all := append(slices.Clone(train), test...)
	if len(all) != 2019 || len(test) < len(all)/6 || len(test) > len(all)/4 {
		t.Fatalf("%d posts: %d train, %d test", len(all), len(train), len(test))
	}
	inTrain := map[string]bool{}
	trainText := map[string]bool{}
	trainNorm := map[string]bool{}
	for _, c := range train {
		inTrain[c.ID] = true
		trainText[c.Text] = true
		trainNorm[dupNormalize(c.Text)] = true
	}
	for _, c := range test {
		if inTrain[c.ID] || trainText[c.Text] || trainNorm[dupNormalize(c.Text)] {
			t.Errorf("test post %s (%.30q) has its id or text in train", c.ID, c.Text)
		}
	}
	kids := 0
	for _, c := range all {
		kids += len(c.Children)
	}
	if kids < 700000 {
		t.Fatalf("%d reposts and comments read", kids)
	}
}

// TestSpreadRuntimeMatchesTraining reads the shared CED data the way the
// product ingests it (ingest/dataset: each repost and comment a post with
// parent_id and its own published_at), builds each post's Spread as the
// event grouper would, and checks it equals the Spread training saw, but
// for the picture count, which posts do not carry.
func TestSpreadRuntimeMatchesTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the shared data twice")
	}
	path := filepath.Join("..", "..", "..", "shared", "data", "weibo", "ced_dev.jsonl.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skip("shared data absent")
	}
	f, err := dataset.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	posts, err := dataset.ReadCED(f, path, func(err error) { t.Log(err) })
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	builders := map[string]*SpreadBuilder{}
	order := []string{}
	for i := range posts {
		p := &posts[i]
		root := p.RootID
		if root == "" {
			root = p.ID
		}
		b := builders[root]
		if b == nil {
			b = NewSpreadBuilder()
			builders[root] = b
			order = append(order, root)
		}
		if p.ParentID == "" {
			b.SetRoot(SpreadRootOfPost(p))
		} else {
			b.Add(SpreadChildOfPost(p, root))
		}
	}
	all, err := ReadCascades([]string{path}, SplitAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(order) {
		t.Fatalf("%d cascades, %d roots", len(all), len(order))
	}
	for i := range all {
		c := &all[i]
		want := c.Spread()
		want.PicsKnown, want.Pics = false, 0
		if got := builders[c.ID].Spread(); !reflect.DeepEqual(got, want) {
			t.Fatalf("post %s: grouper's spread\n%+v\ntraining's\n%+v", c.ID, got, want)
		}
	}
}
