package analyzer

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"yuqing/domain"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden.json from the current analyzer (needs ../shared/data)")

// goldenFile pins the analysis of real Weibo texts (the inputs are stored in
// it too, so the test runs without the shared data).
var goldenFile = filepath.Join("testdata", "golden.json")

type goldenCase struct {
	Post     domain.Post     `json:"post"`
	Analysis domain.Analysis `json:"analysis"`
}

// goldenPosts picks texts spread over the first 5,000 benchmark texts, and
// gives some of them a title, a region field or an author location so every
// step of Analyze is pinned.
func goldenPosts(t *testing.T) []domain.Post {
	texts := benchTexts(t, 5000)
	locs := []string{"", "北京 朝阳区", "浙江 宁波", "海外 美国", "", "广东", "其他"}
	var out []domain.Post
	for i := 0; i < len(texts) && len(out) < 24; i += len(texts) / 24 {
		p := domain.Post{Text: texts[i], Author: domain.Author{Location: locs[len(out)%len(locs)]}}
		switch len(out) % 4 {
		case 1:
			p.Title = "网友爆料"
		case 2:
			p.Region = "湖北"
		}
		out = append(out, p)
	}
	// edge cases: empty text, only an emoticon, only a URL
	out = append(out,
		domain.Post{Author: domain.Author{Location: "浙江 杭州"}},
		domain.Post{Text: "[泪][泪]"},
		domain.Post{Text: "http://t.cn/zWxyzAB @人民日报"},
	)
	return out
}

// TestGolden checks that Analyze gives the pinned outputs: every field the
// same, floats equal to 1e-9.
func TestGolden(t *testing.T) {
	a := analyzer(t)
	if *updateGolden {
		var cases []goldenCase
		for _, p := range goldenPosts(t) {
			cases = append(cases, goldenCase{p, a.Analyze(&p)})
		}
		b, err := json.MarshalIndent(cases, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d cases to %s", len(cases), goldenFile)
		return
	}
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("golden outputs: %v (run with -update to create them)", err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	if len(cases) < 20 {
		t.Fatalf("%s holds %d cases, want at least 20", goldenFile, len(cases))
	}
	for i, c := range cases {
		got := a.Analyze(&c.Post)
		if d := diffAnalysis(got, c.Analysis); d != "" {
			t.Errorf("case %d (%.40q): %s", i, c.Post.Text, d)
		}
	}
}

func near(x, y float64) bool { return math.Abs(x-y) <= 1e-9 }

// diffAnalysis says how got differs from want, or gives "".
func diffAnalysis(got, want domain.Analysis) string {
	switch {
	case !slices.Equal(got.Tokens, want.Tokens) && len(got.Tokens)+len(want.Tokens) > 0:
		return "tokens differ"
	case len(got.Keywords) != len(want.Keywords):
		return "keyword count differs"
	case got.Sentiment.Label != want.Sentiment.Label || !near(got.Sentiment.Confidence, want.Sentiment.Confidence):
		return "sentiment differs"
	case got.Category != want.Category:
		return "category differs"
	case !near(got.Risk, want.Risk):
		return "risk differs"
	case !slices.Equal(got.Places, want.Places):
		return "places differ"
	case got.Unit != want.Unit:
		return "unit differs"
	case len(got.Reasons) != len(want.Reasons):
		return "reason keys differ"
	}
	for i, k := range got.Keywords {
		if k.Word != want.Keywords[i].Word || !near(k.Weight, want.Keywords[i].Weight) {
			return "keywords differ"
		}
	}
	for k, v := range want.Reasons {
		if got.Reasons[k] != v {
			return "reason " + k + " is " + got.Reasons[k] + ", want " + v
		}
	}
	return ""
}
