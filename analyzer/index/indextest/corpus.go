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
// category, unit, places and risk spread over the usual values: the region
// is a short province name, as a post's own region field gives it, and the
// places are full names, a city of that province and now and then a second
// place; most risks are low). Every backend's benchmarks use the same posts. The error is the file's when it is absent.
func Corpus(max int) ([]domain.IndexedPost, error) {
	posts, err := dataset.ReadFile(CorpusPath(), func(error) {})
	if err != nil {
		return nil, err
	}
	seg := segment.MustDefault()
	sentiments := []string{domain.Negative, domain.Neutral, domain.Neutral, domain.Positive}
	categories := []string{"医疗卫生", "交通出行", "教育", "住房保障", "社会治安", "环境保护", "食品安全", "劳动就业", "消费维权", "政务服务", "灾害事故", "其他"}
	regions := []string{"北京", "上海", "广东", "浙江", "江苏", "四川", "湖北", "山东", "河南", "福建", "陕西", "辽宁"}
	cities := [][]string{
		{"北京市", "北京市朝阳区", "北京市海淀区"}, {"上海市", "上海市浦东新区"}, {"广东省广州市", "广东省深圳市", "广东省东莞市"},
		{"浙江省杭州市", "浙江省宁波市", "浙江省温州市"}, {"江苏省南京市", "江苏省苏州市"}, {"四川省成都市", "四川省绵阳市"},
		{"湖北省武汉市", "湖北省宜昌市"}, {"山东省济南市", "山东省青岛市"}, {"河南省郑州市", "河南省洛阳市"},
		{"福建省福州市", "福建省厦门市"}, {"陕西省西安市", "陕西省宝鸡市"}, {"辽宁省沈阳市", "辽宁省大连市"},
	}
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
		ri := (r / 7) % len(regions)
		region := regions[ri]
		places := []string{cities[ri][(r/11)%len(cities[ri])]}
		if r%5 == 0 {
			other := cities[(ri+1+(r/13)%(len(regions)-1))%len(regions)]
			places = append(places, other[(r/17)%len(other)])
		}
		u := float64((r/19)%100_000) / 100_000
		risk := u * u * u // mostly low, a few high
		if p.Region == "" {
			p.Region = region
		}
		out = append(out, domain.IndexedPost{
			Post: p,
			Analysis: domain.Analysis{
				Keywords:  kws,
				Sentiment: domain.SentimentResult{Label: sentiments[r%len(sentiments)], Confidence: 0.8},
				Category:  categories[r%len(categories)],
				Unit:      region + "网信办",
				Places:    places,
				Risk:      risk,
			},
			EventID: "ev-" + root,
		})
	}
	return out, nil
}
