// Package analyzer turns a post into its analysis: the text is cut once with
// gojieba, and from those tokens come the keywords (TF-IDF), the sentiment,
// the news category and the false-information risk (the embedded classifiers
// of analyzer/models), and the places named (analyzer/places), each with the
// reasons behind it in Chinese. An Analyzer is safe for concurrent use.
package analyzer

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"yuqing/analyzer/classify"
	"yuqing/analyzer/models"
	"yuqing/analyzer/places"
	"yuqing/analyzer/segment"
	"yuqing/domain"
)

// Router picks the unit answerable for a post from its region field, its
// author's location and the places the analyzer found, and says why.
type Router func(region, location string, found []places.Place) (unitID, reason string)

// Option configures an Analyzer.
type Option func(*Analyzer)

// WithRouter fills Analysis.Unit with the router's choice.
func WithRouter(r Router) Option { return func(a *Analyzer) { a.router = r } }

// WithSegmenter uses seg instead of segment.Default().
func WithSegmenter(seg *segment.Segmenter) Option { return func(a *Analyzer) { a.seg = seg } }

// WithNeutralThreshold overrides the sentiment model's neutral threshold: a
// text whose top sentiment probability is below it is neutral.
func WithNeutralThreshold(t float64) Option { return func(a *Analyzer) { a.neutral = t } }

// KeywordCount is how many keywords Analyze gives at most.
const KeywordCount = 8

// MinCategoryProb is the category probability below which a post's category
// is CategoryOther: the news-headline model is unsure, often because the text
// is about something its ten classes do not cover.
const MinCategoryProb = 0.5

// CategoryOther is the category of a post the category model is unsure of.
const CategoryOther = "其他"

// categoryZh names the category model's classes in Chinese.
var categoryZh = map[string]string{
	"finance": "财经", "realty": "房产", "stocks": "股票", "education": "教育", "science": "科技",
	"society": "社会", "politics": "时政", "sports": "体育", "game": "游戏", "entertainment": "娱乐",
}

// CategoryZh gives the Chinese name of a category class, or the class itself.
func CategoryZh(class string) string {
	if zh, ok := categoryZh[class]; ok {
		return zh
	}
	return class
}

// Analyzer analyses posts. Build one with New and share it.
type Analyzer struct {
	seg                        *segment.Segmenter
	sentiment, category, rumor *classify.Model
	neg, pos, rumorClass       int
	neutral                    float64
	router                     Router
	joint                      *classify.Joint
	scratch                    sync.Pool // *classify.JointResult
}

// model indexes in the Joint
const (
	jSentiment = iota
	jCategory
	jRumor
)

// New loads the segmenter and the embedded models.
func New(opts ...Option) (*Analyzer, error) {
	a := &Analyzer{neutral: -1}
	for _, o := range opts {
		o(a)
	}
	if a.seg == nil {
		seg, err := segment.Default()
		if err != nil {
			return nil, fmt.Errorf("analyzer: segmenter: %w", err)
		}
		a.seg = seg
	}
	var err error
	if a.sentiment, err = models.Load(models.Sentiment); err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	if a.category, err = models.Load(models.Category); err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	if a.rumor, err = models.Load(models.Rumor); err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	a.neg, a.pos = a.sentiment.Class(domain.Negative), a.sentiment.Class(domain.Positive)
	if a.neg < 0 || a.pos < 0 || len(a.sentiment.Classes) != 2 {
		return nil, fmt.Errorf("analyzer: sentiment model classes %v, want negative and positive", a.sentiment.Classes)
	}
	if a.rumorClass = a.rumor.Class("rumor"); a.rumorClass < 0 {
		return nil, fmt.Errorf("analyzer: rumor model classes %v lack \"rumor\"", a.rumor.Classes)
	}
	if a.neutral < 0 {
		a.neutral = a.sentiment.NeutralThreshold
	}
	a.joint = classify.NewJoint(a.sentiment, a.category, a.rumor)
	a.scratch.New = func() any { return new(classify.JointResult) }
	return a, nil
}

// NeutralThreshold is the top sentiment probability below which a text is neutral.
func (a *Analyzer) NeutralThreshold() float64 { return a.neutral }

// Segmenter gives the segmenter the analyzer cuts with.
func (a *Analyzer) Segmenter() *segment.Segmenter { return a.seg }

// Analyze analyses one post: its title and text are cut once, and every
// field is computed from those tokens.
func (a *Analyzer) Analyze(p *domain.Post) domain.Analysis {
	text := p.Text
	if p.Title != "" {
		text = p.Title + "\n" + p.Text
	}
	tokens := classify.Tokenize(a.seg, text)
	res := domain.Analysis{Tokens: tokens, Reasons: make(map[string]string, 6)}
	res.Keywords = a.keywords(tokens)
	if len(res.Keywords) > 0 {
		ws := make([]string, len(res.Keywords))
		for i, k := range res.Keywords {
			ws[i] = k.Word
		}
		res.Reasons["keywords"] = "TF-IDF 最高: " + strings.Join(ws, "、")
	}

	if len(tokens) == 0 {
		res.Sentiment = domain.SentimentResult{Label: domain.Neutral, Confidence: 1}
		res.Reasons["sentiment"] = "无正文, 按中性处理"
		res.Reasons["risk"] = "无正文, 不评估虚假信息风险"
	} else {
		jr := a.scratch.Get().(*classify.JointResult)
		a.joint.Score(tokens, jr)
		a.sentimentOf(jr, &res)
		a.categoryOf(jr, &res)
		a.riskOf(jr, &res)
		a.scratch.Put(jr)
	}
	a.placesOf(p, tokens, &res)
	return res
}

func (a *Analyzer) sentimentOf(jr *classify.JointResult, res *domain.Analysis) {
	pr := jr.Probs[jSentiment]
	neg, pos := pr[a.neg], pr[a.pos]
	top := max(neg, pos)
	switch {
	case top < a.neutral:
		res.Sentiment = domain.SentimentResult{Label: domain.Neutral, Confidence: round3(1 - math.Abs(pos-neg))}
		res.Reasons["sentiment"] = fmt.Sprintf("倾向不明显: 负面 %.2f / 正面 %.2f, 低于阈值 %.2f", neg, pos, a.neutral)
	case neg >= pos:
		res.Sentiment = domain.SentimentResult{Label: domain.Negative, Confidence: round3(neg)}
		res.Reasons["sentiment"] = evidenceReason("负面词", a.joint.Evidence(jr, jSentiment, a.neg, 5), "负面概率", neg)
	default:
		res.Sentiment = domain.SentimentResult{Label: domain.Positive, Confidence: round3(pos)}
		res.Reasons["sentiment"] = evidenceReason("正面词", a.joint.Evidence(jr, jSentiment, a.pos, 5), "正面概率", pos)
	}
}

func (a *Analyzer) categoryOf(jr *classify.JointResult, res *domain.Analysis) {
	pr := jr.Probs[jCategory]
	best := 0
	for i, v := range pr {
		if v > pr[best] {
			best = i
		}
	}
	zh := CategoryZh(a.category.Classes[best])
	if pr[best] < MinCategoryProb {
		res.Category = CategoryOther
		res.Reasons["category"] = fmt.Sprintf("类别不明确: 最可能为%s (概率 %.2f, 低于 %.2f)", zh, pr[best], MinCategoryProb)
		return
	}
	res.Category = zh
	res.Reasons["category"] = evidenceReason(zh+"类词", a.joint.Evidence(jr, jCategory, best, 5), "概率", pr[best])
}

func (a *Analyzer) riskOf(jr *classify.JointResult, res *domain.Analysis) {
	pr := jr.Probs[jRumor]
	res.Risk = round3(pr[a.rumorClass])
	res.Reasons["risk"] = evidenceReason("谣言特征词", a.joint.Evidence(jr, jRumor, a.rumorClass, 5), "虚假信息概率", pr[a.rumorClass])
}

func evidenceReason(label string, words []string, probName string, p float64) string {
	b := make([]byte, 0, 96)
	if len(words) > 0 {
		b = append(b, label...)
		b = append(b, ": "...)
		for i, w := range words {
			if i > 0 {
				b = append(b, "、"...)
			}
			b = append(b, w...)
		}
		b = append(b, " ("...)
	}
	b = append(b, probName...)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, p, 'f', 2, 64)
	if len(words) > 0 {
		b = append(b, ')')
	}
	return string(b)
}

func (a *Analyzer) placesOf(p *domain.Post, tokens []string, res *domain.Analysis) {
	var found []places.Place
	var why []string
	add := func(pl places.Place) bool {
		for _, q := range found {
			if q.Name == pl.Name {
				return false
			}
		}
		// a city refines its own province named earlier
		for i, q := range found {
			if q.City == "" && q.Province == pl.Province && pl.City != "" {
				found[i] = pl
				return true
			}
		}
		found = append(found, pl)
		return true
	}
	if pl, ok := places.Normalize(p.Region); ok && pl != places.Overseas {
		add(pl)
		why = append(why, "地区字段 "+p.Region)
	}
	if pl, ok := places.Normalize(p.Author.Location); ok && pl != places.Overseas {
		if add(pl) {
			why = append(why, "作者所在地 "+p.Author.Location)
		}
	}
	var named []string
	for _, pl := range places.Find(tokens, "") {
		if add(pl) {
			named = append(named, shortName(pl))
		}
	}
	if len(named) > 0 {
		why = append(why, "正文提到 "+strings.Join(named, "、"))
	}
	if len(found) > 0 {
		res.Places = make([]string, len(found))
		for i, pl := range found {
			res.Places[i] = pl.Name
		}
		res.Reasons["places"] = strings.Join(why, "; ")
	}
	if a.router != nil {
		unit, reason := a.router(p.Region, p.Author.Location, found)
		res.Unit = unit
		if reason != "" {
			res.Reasons["unit"] = reason
		}
	}
}

// shortName gives the most specific part of a place's name (宁波市 → 宁波).
func shortName(p places.Place) string {
	n := p.City
	if n == "" {
		n = p.Province
	}
	for _, suf := range []string{"特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"} {
		if s, ok := strings.CutSuffix(n, suf); ok && utf8.RuneCountInString(s) >= 2 {
			return s
		}
	}
	return n
}

// keywords ranks the tokens by TF-IDF, leaving out stop words, single
// characters, numbers, URLs, @mentions and Weibo emoticons ([泪]).
func (a *Analyzer) keywords(tokens []string) []domain.Keyword {
	type kw struct {
		w string
		n int
	}
	var arr [64]kw
	counts := arr[:0]
	var index map[string]int // only for texts with many distinct candidates
	total := 0
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		switch {
		case t == "[":
			// a Weibo emoticon: [泪], [蜡烛], [哈哈]
			if j := closeBracket(tokens, i); j > 0 {
				i = j
				continue
			}
		case t == "@":
			i++ // the user name after @
			continue
		case (t == "http" || t == "https") && i+1 < len(tokens) && tokens[i+1] == ":":
			for i+1 < len(tokens) && isURLPart(tokens[i+1]) {
				i++
			}
			continue
		}
		if !a.keywordCandidate(t) {
			continue
		}
		total++
		k := -1
		if index != nil {
			if v, ok := index[t]; ok {
				k = v
			}
		} else {
			for i := range counts {
				if counts[i].w == t {
					k = i
					break
				}
			}
		}
		if k >= 0 {
			counts[k].n++
			continue
		}
		if index == nil && len(counts) == len(arr) {
			index = make(map[string]int, 2*len(arr))
			for i, c := range counts {
				index[c.w] = i
			}
		}
		if index != nil {
			index[t] = len(counts)
		}
		counts = append(counts, kw{t, 1})
	}
	if len(counts) == 0 {
		return nil
	}
	out := make([]domain.Keyword, len(counts))
	for i, c := range counts {
		out[i] = domain.Keyword{Word: c.w, Weight: float64(c.n) / float64(total) * a.seg.IDF(c.w)}
	}
	slices.SortStableFunc(out, func(x, y domain.Keyword) int {
		switch {
		case x.Weight > y.Weight:
			return -1
		case x.Weight < y.Weight:
			return 1
		}
		return 0
	})
	out = out[:min(KeywordCount, len(out))]
	for i := range out {
		out[i].Weight = round3(out[i].Weight)
	}
	return out
}

func closeBracket(tokens []string, i int) int {
	for j := i + 1; j < len(tokens) && j <= i+4; j++ {
		if tokens[j] == "]" {
			return j
		}
	}
	return -1
}

// isURLPart reports whether a token can continue a URL that gojieba cut up.
func isURLPart(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '@' || c == '[' || c == '#' {
			return false
		}
	}
	return s != ""
}

func (a *Analyzer) keywordCandidate(t string) bool {
	if utf8.RuneCountInString(t) < 2 || a.seg.IsStop(t) {
		return false
	}
	letters := 0
	for _, r := range t {
		if unicode.Is(unicode.Han, r) || unicode.IsLetter(r) {
			letters++
		} else if !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return false // punctuation runs, emoji
		}
	}
	if letters == 0 {
		return false // a number
	}
	// a number with a unit: 2012年, 14点, 3月
	if r, _ := utf8.DecodeRuneInString(t); unicode.IsDigit(r) {
		return false
	}
	return !strings.Contains(t, "www.") && !strings.HasPrefix(t, "http")
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
