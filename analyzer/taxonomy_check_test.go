package analyzer

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"yuqing/domain"

	"yuqing/analyzer/classify"
	"yuqing/analyzer/taxonomy"
)

// TestTaxonomyCheck measures the shipped categorisation (taxonomy keywords,
// then the news-class model) on 155 hand-labelled CED posts that were not
// used to write the rules: go test -count=1 -v -run TestTaxonomyCheck ./analyzer
func TestTaxonomyCheck(t *testing.T) {
	f, err := os.Open("taxonomy/testdata/ced_check.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, conf, err := analyzer(t).TaxonomyConfusion(f)
	if err != nil {
		t.Fatal(err)
	}
	r := classify.Score(conf)
	var b strings.Builder
	var macro float64
	present := 0
	for i, n := range names {
		if r.Support[i] == 0 {
			continue
		}
		present++
		macro += r.F1[i]
		fmt.Fprintf(&b, "%s\tP %.2f R %.2f F1 %.2f n=%d\t预测:", n, r.Precision[i], r.Recall[i], r.F1[i], r.Support[i])
		for j, c := range conf[i] {
			if c > 0 && j != i {
				fmt.Fprintf(&b, " %s×%d", names[j], c)
			}
		}
		b.WriteByte('\n')
	}
	t.Logf("舆情分类核对集（CED 原帖 %d 条）：accuracy=%.4f，有样本的 %d 类 macro_f1=%.4f\n%s",
		sum(r.Support), r.Accuracy, present, macro/float64(present), b.String())
	// the same without keywords: the news-class model mapped alone
	var y strings.Builder
	y.WriteString("categories:\n")
	for _, n := range names {
		fmt.Fprintf(&y, "  - name: %s\n", n)
		switch n {
		case "政府作为与政策":
			y.WriteString("    model_classes: [politics]\n")
		case "教育":
			y.WriteString("    model_classes: [education]\n")
		case "住房与土地":
			y.WriteString("    model_classes: [realty]\n")
		case "金融与非法集资":
			y.WriteString("    model_classes: [finance, stocks]\n")
		}
	}
	tax, err := taxonomy.Load(strings.NewReader(y.String()))
	if err != nil {
		t.Fatal(err)
	}
	base, err := New(WithTaxonomy(tax))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	_, bconf, err := base.TaxonomyConfusion(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("同一核对集，只用新闻分类模型映射（不用关键词）：accuracy=%.4f", classify.Score(bconf).Accuracy)
	if r.Accuracy < 0.6 {
		t.Errorf("accuracy %.3f on the check set, below 0.6", r.Accuracy)
	}
}

func sum(xs []int) (s int) {
	for _, x := range xs {
		s += x
	}
	return s
}

// TestTaxonomyOnHeadlines shows where the held-out THUCNews headlines (the
// category model's test split) land in the taxonomy, class by class: the
// classes the taxonomy maps (realty, education, politics, finance, stocks)
// should mostly land in their category, sports, games and entertainment in
// 其他. go test -count=1 -v -run TestTaxonomyOnHeadlines ./analyzer
func TestTaxonomyOnHeadlines(t *testing.T) {
	const data = "../../shared/data/topics/thucnews_dev.txt"
	exs, err := classify.ReadExamples(classify.KindCategory, []string{data}, "test")
	if err != nil {
		t.Skipf("no headlines: %v", err)
	}
	a := analyzer(t)
	counts := map[string]map[string]int{}
	total := map[string]int{}
	for _, e := range exs {
		res := a.Analyze(&domain.Post{Text: e.Text})
		if counts[e.Label] == nil {
			counts[e.Label] = map[string]int{}
		}
		counts[e.Label][res.Category]++
		total[e.Label]++
	}
	share := func(class, cat string) float64 { return float64(counts[class][cat]) / float64(max(1, total[class])) }
	var b strings.Builder
	for _, class := range []string{"realty", "education", "politics", "finance", "stocks", "society", "science", "sports", "game", "entertainment"} {
		fmt.Fprintf(&b, "%s (%d):", class, total[class])
		type kv struct {
			k string
			v int
		}
		var kvs []kv
		for k, v := range counts[class] {
			kvs = append(kvs, kv{k, v})
		}
		slices.SortFunc(kvs, func(x, y kv) int { return y.v - x.v })
		for i, p := range kvs {
			if i == 4 {
				break
			}
			fmt.Fprintf(&b, " %s %.0f%%", p.k, 100*float64(p.v)/float64(total[class]))
		}
		b.WriteByte('\n')
	}
	t.Logf("THUCNews 测试划分 %d 条标题在舆情分类中的去向:\n%s", len(exs), b.String())
	for class, cat := range map[string]string{"realty": "住房与土地", "education": "教育", "sports": "其他", "entertainment": "其他"} {
		if s := share(class, cat); s < 0.6 {
			t.Errorf("%s headlines: %.0f%% in %s, want at least 60%%", class, 100*s, cat)
		}
	}
}
