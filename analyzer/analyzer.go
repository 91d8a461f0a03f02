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
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"yuqing/analyzer/classify"
	"yuqing/analyzer/models"
	"yuqing/analyzer/places"
	"yuqing/analyzer/segment"
	"yuqing/analyzer/taxonomy"
	"yuqing/analyzer/textnorm"
	"yuqing/domain"
)

// Router picks the unit answerable for a post from its region field, its
// author's location, its category (taxonomy) and the places the analyzer
// found, and says why.
type Router func(region, location, category string, found []places.Place) (unitID, reason string)

// Option configures an Analyzer.
type Option func(*Analyzer)

// WithRouter fills Analysis.Unit with the router's choice.
func WithRouter(r Router) Option { return func(a *Analyzer) { a.router = r } }

// WithSegmenter uses seg instead of segment.Default().
func WithSegmenter(seg *segment.Segmenter) Option { return func(a *Analyzer) { a.seg = seg } }

// WithTaxonomy sorts posts into t's categories instead of the embedded
// default taxonomy's.
func WithTaxonomy(t *taxonomy.Taxonomy) Option { return func(a *Analyzer) { a.tax = t } }

// WithNeutralThreshold overrides the sentiment model's neutral threshold: a
// text whose top sentiment probability is below it is neutral.
func WithNeutralThreshold(t float64) Option { return func(a *Analyzer) { a.neutral = t } }

// KeywordCount is how many keywords Analyze gives at most.
const KeywordCount = 8

// categoryZh names the category model's news classes in Chinese.
var categoryZh = map[string]string{
	"finance": "财经", "realty": "房产", "stocks": "股票", "education": "教育", "science": "科技",
	"society": "社会", "politics": "时政", "sports": "体育", "game": "游戏", "entertainment": "娱乐",
}

// CategoryZh gives the Chinese name of a news class of the category model,
// or the class itself.
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
	tax                        *taxonomy.Taxonomy
	joint                      *classify.Joint
	// wordIDF holds, by merged feature, the IDF of each vocabulary word of
	// the joint models, or -1 for a stop word, so keywords need no second
	// look-up of a word the models know
	wordIDF []float64
	// locations caches places.Normalize of region and location fields,
	// which repeat a great deal (one author's every post, a province's
	// many authors); about maxLocations entries at most
	locations sync.Map // string → normalized
	nLocs     atomic.Int32
	scratch   sync.Pool // *scratch
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
	if a.tax == nil {
		a.tax = taxonomy.Default()
	} else if a.tax != taxonomy.Default() {
		// the default's keywords are in the segmenter's vocabulary already
		a.seg.AddWords(a.tax.Words())
	}
	// every division's name is cut whole (钟公庙街道, not 钟公/庙街/道)
	a.seg.AddWords(places.OwnNames())
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
	a.wordIDF = make([]float64, a.joint.Features())
	a.joint.EachWord(func(w string, u int32) {
		if a.seg.IsStop(w) {
			a.wordIDF[u] = -1
		} else {
			a.wordIDF[u] = a.seg.IDF(w)
		}
	})
	a.scratch.New = func() any { return new(scratch) }
	return a, nil
}

// NeutralThreshold is the top sentiment probability below which a text is neutral.
func (a *Analyzer) NeutralThreshold() float64 { return a.neutral }

// Taxonomy gives the categories the analyzer sorts posts into.
func (a *Analyzer) Taxonomy() *taxonomy.Taxonomy { return a.tax }

// Segmenter gives the segmenter the analyzer cuts with.
func (a *Analyzer) Segmenter() *segment.Segmenter { return a.seg }

// maxLocations bounds the analyzer's cache of normalized location fields.
const maxLocations = 4096

type normalized struct {
	pl places.Place
	ok bool
}

// normalize is places.Normalize through the analyzer's bounded cache.
func (a *Analyzer) normalize(s string) (places.Place, bool) {
	if s == "" {
		return places.Place{}, false
	}
	if v, ok := a.locations.Load(s); ok {
		n := v.(*normalized)
		return n.pl, n.ok
	}
	pl, ok := places.Normalize(s)
	if a.nLocs.Load() < maxLocations {
		if _, loaded := a.locations.LoadOrStore(strings.Clone(s), &normalized{pl, ok}); !loaded {
			a.nLocs.Add(1)
		}
	}
	return pl, ok
}

// scratch is one Analyze call's reusable memory.
type scratch struct {
	jr      classify.JointResult
	buf     []byte     // every reason, back to back
	reasons []reason   // where each reason lies in buf
	words   []int32    // each token's merged feature in the joint models, or -1
	ev      []string   // evidence words
	kw      []kwCount  // keyword candidates
	kwTop   []kwWeight // best keywords
	tax     taxonomy.Scratch
	norm    textnorm.Text
}

// normReason says what cleaning the text took, when it took anything.
func normReason(sc *scratch) {
	n := &sc.norm
	lo := len(sc.buf)
	item := func(label string, k int) {
		if k <= 0 {
			return
		}
		if len(sc.buf) > lo {
			sc.buf = append(sc.buf, "、"...)
		}
		sc.buf = append(sc.buf, label...)
		sc.buf = strconv.AppendInt(sc.buf, int64(k), 10)
	}
	item("繁体字转简体 ", n.Folded)
	item("修复无效字节或控制字符 ", n.Repaired)
	item("去掉表情 ", len(n.Emoticons))
	item("链接 ", len(n.URLs))
	item("@用户 ", len(n.Mentions))
	item("转发链 ", len(n.Quoted))
	item("话题 ", len(n.Topics))
	if len(sc.buf) > lo {
		sc.reasons = append(sc.reasons, reason{key: "text", lo: lo, hi: len(sc.buf)})
	}
}

type reason struct {
	key    string
	lo, hi int
}

type kwCount struct {
	w string
	u int32 // merged feature, or -1
	n int
}

type kwWeight struct {
	w string
	x float64
}

// Analyze analyses one post: its title and text are cut once, and every
// field is computed from those tokens.
func (a *Analyzer) Analyze(p *domain.Post) domain.Analysis {
	text := p.Text
	if p.Title != "" {
		text = p.Title + "\n" + p.Text
	}
	sc := a.scratch.Get().(*scratch)
	sc.buf, sc.reasons = sc.buf[:0], sc.reasons[:0]
	// markup, links and emoji out, traditional characters folded, bad
	// bytes repaired: the segmenter and the models read words only
	textnorm.NormalizeTo(&sc.norm, text)
	tokens := classify.TokenizeClean(a.seg, sc.norm.All())
	res := domain.Analysis{Tokens: tokens}
	normReason(sc)

	sc.words = sc.words[:0]
	for _, t := range tokens {
		sc.words = append(sc.words, a.joint.Word(t))
	}
	res.Keywords = a.keywords(tokens, sc)
	if len(res.Keywords) > 0 {
		sc.begin()
		sc.buf = append(sc.buf, "TF-IDF 最高: "...)
		for i, k := range res.Keywords {
			if i > 0 {
				sc.buf = append(sc.buf, "、"...)
			}
			sc.buf = append(sc.buf, k.Word...)
		}
		sc.end("keywords")
	}

	if len(tokens) == 0 {
		res.Sentiment = domain.SentimentResult{Label: domain.Neutral, Confidence: 1}
		sc.add("sentiment", "无正文, 按中性处理")
		sc.add("risk", "无正文, 不评估虚假信息风险")
	} else {
		a.joint.ScoreWords(tokens, sc.words, &sc.jr)
		a.sentimentOf(sc, &res)
		a.categoryOf(tokens, sc, &res)
		a.riskOf(sc, &res)
	}
	unitReason := a.placesOf(p, tokens, sc, &res)

	// one string holds every reason; the map's values are slices of it
	all := string(sc.buf)
	n := len(sc.reasons)
	if unitReason != "" {
		n++
	}
	res.Reasons = make(map[string]string, n)
	for _, r := range sc.reasons {
		res.Reasons[r.key] = all[r.lo:r.hi]
	}
	if unitReason != "" {
		res.Reasons["unit"] = unitReason
	}
	// drop the references into this post's text before pooling
	clear(sc.ev[:cap(sc.ev)])
	clear(sc.kw)
	clear(sc.kwTop[:cap(sc.kwTop)])
	textnorm.NormalizeTo(&sc.norm, "")
	a.scratch.Put(sc)
	return res
}

// begin starts a reason at the end of the buffer; end names it.
func (sc *scratch) begin() { sc.reasons = append(sc.reasons, reason{lo: len(sc.buf)}) }

func (sc *scratch) end(key string) {
	r := &sc.reasons[len(sc.reasons)-1]
	r.key, r.hi = key, len(sc.buf)
}

func (sc *scratch) add(key, s string) {
	sc.begin()
	sc.buf = append(sc.buf, s...)
	sc.end(key)
}

func (sc *scratch) float2(x float64) { sc.buf = strconv.AppendFloat(sc.buf, x, 'f', 2, 64) }

func (a *Analyzer) sentimentOf(sc *scratch, res *domain.Analysis) {
	pr := sc.jr.Probs[jSentiment]
	neg, pos := pr[a.neg], pr[a.pos]
	top := max(neg, pos)
	switch {
	case top < a.neutral:
		res.Sentiment = domain.SentimentResult{Label: domain.Neutral, Confidence: round3(1 - math.Abs(pos-neg))}
		sc.begin()
		sc.buf = append(sc.buf, "倾向不明显: 负面 "...)
		sc.float2(neg)
		sc.buf = append(sc.buf, " / 正面 "...)
		sc.float2(pos)
		sc.buf = append(sc.buf, ", 低于阈值 "...)
		sc.float2(a.neutral)
		sc.end("sentiment")
	case neg >= pos:
		res.Sentiment = domain.SentimentResult{Label: domain.Negative, Confidence: round3(neg)}
		a.evidenceReason(sc, "sentiment", "负面词", "", jSentiment, a.neg, "负面概率", neg)
	default:
		res.Sentiment = domain.SentimentResult{Label: domain.Positive, Confidence: round3(pos)}
		a.evidenceReason(sc, "sentiment", "正面词", "", jSentiment, a.pos, "正面概率", pos)
	}
}

// categoryOf sorts the post into the taxonomy: its keywords first, then the
// news-class model's verdict (analyzer/taxonomy).
func (a *Analyzer) categoryOf(tokens []string, sc *scratch, res *domain.Analysis) {
	pr := sc.jr.Probs[jCategory]
	best := 0
	for i, v := range pr {
		if v > pr[best] {
			best = i
		}
	}
	r := a.tax.Classify(tokens, a.category.Classes[best], pr[best], &sc.tax)
	res.Category = r.Category
	sc.add("category", a.tax.Reason(r, CategoryZh))
}

func (a *Analyzer) riskOf(sc *scratch, res *domain.Analysis) {
	pr := sc.jr.Probs[jRumor]
	res.Risk = round3(pr[a.rumorClass])
	a.evidenceReason(sc, "risk", "谣言特征词", "", jRumor, a.rumorClass, "虚假信息概率", pr[a.rumorClass])
}

// evidenceReason writes the reason key: "label: w1、w2 (probName p)" with the
// words that speak most for class of model k, or "probName p" without them.
func (a *Analyzer) evidenceReason(sc *scratch, key, label, label2 string, k, class int, probName string, p float64) {
	sc.ev = a.joint.AppendEvidence(sc.ev[:0], &sc.jr, k, class, 5)
	sc.begin()
	if len(sc.ev) > 0 {
		sc.buf = append(sc.buf, label...)
		sc.buf = append(sc.buf, label2...)
		sc.buf = append(sc.buf, ": "...)
		for i, w := range sc.ev {
			if i > 0 {
				sc.buf = append(sc.buf, "、"...)
			}
			sc.buf = append(sc.buf, w...)
		}
		sc.buf = append(sc.buf, " ("...)
	}
	sc.buf = append(sc.buf, probName...)
	sc.buf = append(sc.buf, ' ')
	sc.float2(p)
	if len(sc.ev) > 0 {
		sc.buf = append(sc.buf, ')')
	}
	sc.end(key)
}

// placesOf fills res.Places and the places reason, and asks the router for
// the unit; it gives the router's reason.
func (a *Analyzer) placesOf(p *domain.Post, tokens []string, sc *scratch, res *domain.Analysis) (unitReason string) {
	var arr [8]places.Place
	found := arr[:0]
	add := func(pl places.Place) bool {
		for i, q := range found {
			switch {
			case q.Name == pl.Name || places.Contains(pl, q):
				// known, or a finer place of it is already there
				return false
			case places.Contains(q, pl):
				// a finer place refines one named earlier: 浙江 then 宁波
				found[i] = pl
				return true
			}
		}
		found = append(found, pl)
		return true
	}
	lo := len(sc.buf)
	sep := func() {
		if len(sc.buf) > lo {
			sc.buf = append(sc.buf, "; "...)
		}
	}
	// the region and the location tell which of several places of one
	// name the text means (鼓楼区 of 南京 or of 福州)
	var ctxArr [2]places.Place
	context := ctxArr[:0]
	if pl, ok := a.normalize(p.Region); ok && pl != places.Overseas {
		add(pl)
		context = append(context, pl)
		sc.buf = append(sc.buf, "地区字段 "...)
		sc.buf = append(sc.buf, p.Region...)
	}
	loc, locOK := a.normalize(p.Author.Location)
	if locOK && loc != places.Overseas {
		context = append(context, loc)
	}
	var inText [8]places.Place
	named := 0
	inTextFound, ambiguous := places.AppendFindContext(inText[:0], tokens, context)
	for _, pl := range inTextFound {
		if add(pl) {
			if named == 0 {
				sep()
				sc.buf = append(sc.buf, "正文提到 "...)
			} else {
				sc.buf = append(sc.buf, "、"...)
			}
			sc.buf = append(sc.buf, shortName(pl)...)
			named++
		}
	}
	// the author's location comes last: where a post is about says more
	// about the event than where its author lives
	for _, amb := range ambiguous {
		sep()
		sc.buf = append(sc.buf, amb.Reason()...)
	}
	about := len(found)
	if pl := loc; locOK && pl != places.Overseas {
		if add(pl) {
			sep()
			sc.buf = append(sc.buf, "作者所在地 "...)
			sc.buf = append(sc.buf, p.Author.Location...)
		}
	}
	if len(found) > 0 {
		res.Places = make([]string, len(found))
		for i, pl := range found {
			res.Places[i] = pl.Name
		}
		sc.reasons = append(sc.reasons, reason{key: "places", lo: lo, hi: len(sc.buf)})
	} else {
		sc.buf = sc.buf[:lo]
	}
	if a.router != nil {
		unit, why := a.router(p.Region, p.Author.Location, res.Category, slices.Clone(found[:about]))
		res.Unit = unit
		unitReason = why
	}
	return unitReason
}

// placeSuffixes are cut from a place's name by shortName, longest first.
var placeSuffixes = []string{"特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"}

// shortName gives the most specific part of a place's name (宁波市 → 宁波).
func shortName(p places.Place) string {
	if p.Town != "" {
		return p.Town
	}
	if p.County != "" && p.County != p.City {
		return p.County
	}
	n := p.City
	if n == "" {
		n = p.Province
	}
	for _, suf := range placeSuffixes {
		if s, ok := strings.CutSuffix(n, suf); ok && utf8.RuneCountInString(s) >= 2 {
			return s
		}
	}
	return n
}

// keywords ranks the tokens by TF-IDF, leaving out stop words, single
// characters, numbers, URLs, @mentions and Weibo emoticons ([泪]).
func (a *Analyzer) keywords(tokens []string, sc *scratch) []domain.Keyword {
	counts := sc.kw[:0]
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
		u := sc.words[i]
		if !a.keywordCandidate(t, u) {
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
		if index == nil && len(counts) == 64 {
			index = make(map[string]int, 128)
			for i, c := range counts {
				index[c.w] = i
			}
		}
		if index != nil {
			index[t] = len(counts)
		}
		counts = append(counts, kwCount{t, u, 1})
	}
	sc.kw = counts
	if len(counts) == 0 {
		return nil
	}
	// the KeywordCount heaviest, in a stable descending order (ties keep
	// the order of first mention)
	top := sc.kwTop[:0]
	for _, c := range counts {
		var idf float64
		if c.u >= 0 {
			idf = a.wordIDF[c.u]
		} else {
			idf = a.seg.IDF(c.w)
		}
		x := float64(c.n) / float64(total) * idf
		if len(top) == KeywordCount && x <= top[KeywordCount-1].x {
			continue
		}
		at := len(top)
		for at > 0 && top[at-1].x < x {
			at--
		}
		if len(top) < KeywordCount {
			top = append(top, kwWeight{})
		}
		copy(top[at+1:], top[at:len(top)-1])
		top[at] = kwWeight{c.w, x}
	}
	sc.kwTop = top
	out := make([]domain.Keyword, len(top))
	for i, k := range top {
		out[i] = domain.Keyword{Word: k.w, Weight: round3(k.x)}
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

// keywordCandidate reports whether token t, of merged feature u (or -1), can
// be a keyword.
func (a *Analyzer) keywordCandidate(t string, u int32) bool {
	if utf8.RuneCountInString(t) < 2 {
		return false
	}
	letters := 0
	for _, r := range t {
		if isLetter(r) {
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
	if u >= 0 {
		if a.wordIDF[u] < 0 {
			return false // a stop word
		}
	} else if a.seg.IsStop(t) {
		return false
	}
	return !strings.Contains(t, "www.") && !strings.HasPrefix(t, "http")
}

// isLetter reports whether r is a Han character or a letter, with the common
// cases (ASCII, CJK Unified Ideographs) before the Unicode tables.
func isLetter(r rune) bool {
	switch {
	case r < 0x80:
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	case 0x4E00 <= r && r <= 0x9FFF:
		return true
	}
	return unicode.Is(unicode.Han, r) || unicode.IsLetter(r)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// SpreadRisk rates an original post's false-information risk from its text
// risk and the first hour of its cascade (the rumour model's spread layer),
// with the reasons; events.Config.SpreadRisk takes it.
func (a *Analyzer) SpreadRisk(textRisk float64, st *domain.SpreadState) (float64, []string) {
	return a.rumor.RiskWithSpread(textRisk, classify.SpreadFromState(st).Spread())
}
