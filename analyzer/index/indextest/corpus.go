package indextest

import (
	"hash/fnv"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"unicode/utf8"

	"yuqing/analyzer/segment"
	"yuqing/domain"
	"yuqing/ingest/dataset"
)

// CorpusPath is the CED Weibo set in the shared data beside the repository.
func CorpusPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "data", "weibo", "ced_dev.jsonl.gz")
}

// Corpus gives up to max realistic posts for benchmarks, made from the CED
// Weibo cascades (the original posts and the reposts and comments that have
// text): the real text, time, author and cascade, with analysis fields filled
// the way the analyzer would (keywords from the segmentation; sentiment,
// category and region spread over the usual values). Every backend's
// benchmarks use the same posts. The error is the file's when it is absent.
func Corpus(max int) ([]domain.IndexedPost, error) {
	posts, err := dataset.ReadFile(CorpusPath(), func(error) {})
	if err != nil {
		return nil, err
	}
	seg := segment.MustDefault()
	sentiments := []string{domain.Negative, domain.Neutral, domain.Neutral, domain.Positive}
	categories := []string{"医疗卫生", "交通出行", "教育", "住房保障", "社会治安", "环境保护", "食品安全", "劳动就业", "消费维权", "政务服务", "灾害事故", "其他"}
	regions := []string{"北京", "上海", "广东", "浙江", "江苏", "四川", "湖北", "山东", "河南", "福建", "陕西", "辽宁"}
	var out []domain.IndexedPost
	for _, p := range posts {
		if len(out) >= max {
			break
		}
		root := p.RootID
		if p.ParentID == "" {
			root = p.ID
		} else {
			if p.Text == "" {
				continue
			}
			p.ID = root + "/" + p.ID // mids repeat across cascades
		}
		h := fnv.New32a()
		h.Write([]byte(p.ID))
		r := int(h.Sum32())
		var kws []domain.Keyword
		seen := map[string]bool{}
		for _, w := range seg.Cut(p.Text) {
			if utf8.RuneCountInString(w) < 2 || seg.IsStop(w) || seen[w] {
				continue
			}
			seen[w] = true
			kws = append(kws, domain.Keyword{Word: w, Weight: seg.IDF(w)})
		}
		sort.SliceStable(kws, func(i, j int) bool { return kws[i].Weight > kws[j].Weight })
		if len(kws) > 5 {
			kws = kws[:5]
		}
		p.Author.ID = "u" + strconv.Itoa(r%100000)
		region := regions[(r/7)%len(regions)]
		out = append(out, domain.IndexedPost{
			Post: p,
			Analysis: domain.Analysis{
				Keywords:  kws,
				Sentiment: domain.SentimentResult{Label: sentiments[r%len(sentiments)], Confidence: 0.8},
				Category:  categories[r%len(categories)],
				Unit:      region + "网信办",
				Places:    []string{region},
			},
			EventID: "ev-" + root,
		})
	}
	return out, nil
}
