package events

import (
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"yuqing/analyzer/places"
	"yuqing/domain"
)

// genericWords are words of social media that say nothing about what a post
// is about (the platform's own vocabulary, calls to share): they never
// join posts nor name events, whatever their IDF. The dictionary's IDF
// rates some of them rare (微博 and 晚安 are unknown to it).
var genericWords = map[string]struct{}{}

func init() {
	for _, w := range strings.Fields(`微博 长微博 新浪 新浪微博 腾讯微博 转发 转发给 转给 转载 转自 求转 求转发 扩散 求扩散 帮转
		分享 分享给 评论 回复 点赞 关注 粉丝 博主 楼主 小编 网友 网友们 亲们 童鞋 小伙伴 朋友们 大家 晚安 早安 午安
		哈哈 哈哈哈 呵呵 嘻嘻 围观 视频 图片 链接 网页 原文 全文 详情 点击 查看 秒拍 美拍 via cn http https www com
		今天 昨天 明天 刚刚 现在 真的 一个 这个 那个 什么 怎么 知道 觉得 看看 时候 已经 还是 就是 可以 没有 我们 你们 他们`) {
		genericWords[strings.ToLower(w)] = struct{}{}
	}
}

// rarity is what a shared word is worth as evidence that two posts are about
// the same happening: its IDF above CommonIDF, 0 for generic words and
// single characters.
func (g *Grouper) rarity(w string) float64 {
	if utf8.RuneCountInString(w) < 2 {
		return 0
	}
	if _, ok := genericWords[strings.ToLower(w)]; ok {
		return 0
	}
	return math.Max(0, g.idf(w)-g.cfg.CommonIDF)
}

func generic(w string) bool {
	_, ok := genericWords[strings.ToLower(w)]
	return ok
}

// term is one keyword of an original post with its share of the post's
// keyword weight (the heaviest keyword 10).
type term struct {
	word string
	n    int64
}

// termsOf gives a post's top keywords with their weights on a 1..10 scale,
// generic words and single characters left out.
func termsOf(kws []domain.Keyword, n int) []term {
	top := topKeywords(kws, n)
	if len(top) == 0 {
		return nil
	}
	max := top[0].Weight
	out := make([]term, 0, len(top))
	for _, kw := range top {
		if generic(kw.Word) || utf8.RuneCountInString(kw.Word) < 2 {
			continue
		}
		v := int64(10)
		if max > 0 {
			v = int64(math.Round(10 * kw.Weight / max))
		}
		out = append(out, term{kw.Word, max64(v, 1)})
	}
	return out
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// topKeywords gives the n heaviest distinct keywords, heaviest first (ties
// by word).
func topKeywords(kws []domain.Keyword, n int) []domain.Keyword {
	k := make([]domain.Keyword, 0, len(kws))
	for _, kw := range kws {
		kw.Word = strings.TrimSpace(kw.Word)
		if kw.Word != "" {
			k = append(k, kw)
		}
	}
	sort.SliceStable(k, func(a, b int) bool {
		if k[a].Weight != k[b].Weight {
			return k[a].Weight > k[b].Weight
		}
		return k[a].Word < k[b].Word
	})
	out := k[:0]
	seen := make(map[string]struct{}, n)
	for _, kw := range k {
		if len(out) == n {
			break
		}
		if _, ok := seen[kw.Word]; ok {
			continue
		}
		seen[kw.Word] = struct{}{}
		out = append(out, kw)
	}
	return out
}

// addTerms counts an original post's keywords into the event's terms and
// keeps the TermsCap heaviest (then the rarest, then by word).
func (g *Grouper) addTerms(ev *domain.Event, ts []term) {
	if len(ts) == 0 {
		return
	}
	if ev.Terms == nil {
		ev.Terms = make(map[string]int64, len(ts))
	}
	for _, t := range ts {
		ev.Terms[t.word] += t.n
	}
	if len(ev.Terms) <= g.cfg.TermsCap {
		return
	}
	ws := g.rankTerms(ev.Terms)
	for _, w := range ws[g.cfg.TermsCap:] {
		delete(ev.Terms, w)
	}
}

// rankTerms orders terms by weight, then rarity, then word.
func (g *Grouper) rankTerms(terms map[string]int64) []string {
	ws := make([]string, 0, len(terms))
	r := make(map[string]float64, len(terms))
	for w := range terms {
		ws = append(ws, w)
		r[w] = g.rarity(w)
	}
	sort.Slice(ws, func(a, b int) bool {
		x, y := ws[a], ws[b]
		if terms[x] != terms[y] {
			return terms[x] > terms[y]
		}
		if r[x] != r[y] {
			return r[x] > r[y]
		}
		return x < y
	})
	return ws
}

// specificPlaces gives the cities (below the provincial level) a post is
// about: its analysed places without its author's location, unless the text
// names that too. Provinces and municipalities are too broad to tell two
// happenings apart.
func specificPlaces(d *domain.IndexedPost) []string {
	if len(d.Analysis.Places) == 0 {
		return nil
	}
	author := ""
	if pl, ok := places.Normalize(d.Author.Location); ok {
		author = pl.Name
	}
	var out []string
	for _, name := range d.Analysis.Places {
		pl, ok := places.Normalize(name)
		if !ok || pl.City == "" || pl.City == pl.Province {
			continue
		}
		if pl.Name == author && !mentions(d, pl.City) {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == pl.Name
		}
		if !dup {
			out = append(out, pl.Name)
		}
	}
	return out
}

// mentions reports whether the post's title or text names the city (宁波市
// or 宁波).
func mentions(d *domain.IndexedPost, city string) bool {
	short := city
	for _, suf := range []string{"自治州", "地区", "盟", "市"} {
		if s, ok := strings.CutSuffix(city, suf); ok && utf8.RuneCountInString(s) >= 2 {
			short = s
			break
		}
	}
	return strings.Contains(d.Text, short) || strings.Contains(d.Title, short)
}

// Resemblance of an original post to an event.
const (
	resembleNone     = iota
	resembleProfile  // only what the event has drifted to: its later posts' keywords
	resembleFounding // its founding post: near-duplicate, or rare keywords (and places) in common
)

// resemble tells how an original post resembles an event: a near-duplicate
// of the founding post, or sharing enough of its rare keywords and places,
// is founding; sharing them with the event's later originals only is
// profile (a drift).
func (g *Grouper) resemble(it *item, ev *domain.Event) int {
	if it.sim != 0 && ev.Simhash != 0 && Hamming(it.sim, ev.Simhash) <= g.cfg.MaxHamming {
		return resembleFounding
	}
	if len(it.words) == 0 {
		return resembleNone
	}
	inFounding := func(w string) bool {
		for _, k := range ev.Keywords {
			if k == w {
				return true
			}
		}
		return false
	}
	placeShared := false
	for _, p := range it.places {
		for _, q := range ev.Places {
			placeShared = placeShared || p == q
		}
	}
	placeMass := g.cfg.PlaceMass * float64(len(ev.Places))
	var founding float64
	for _, w := range ev.Keywords {
		founding += g.rarity(w)
	}
	if g.overlaps(it, inFounding, founding+placeMass, placeShared) {
		return resembleFounding
	}
	if len(ev.Terms) == 0 {
		return resembleNone
	}
	profile := founding
	for w := range ev.Terms {
		if !inFounding(w) {
			profile += g.rarity(w)
		}
	}
	inProfile := func(w string) bool {
		_, ok := ev.Terms[w]
		return ok || inFounding(w)
	}
	if g.overlaps(it, inProfile, profile+placeMass, placeShared) {
		return resembleProfile
	}
	return resembleNone
}

// overlaps reports whether a post's rare keywords overlap a set of words
// strongly: at least MinShared rare words in common (one fewer with a city in
// common), worth at least MinRareMass, and at least MinJaccard of the
// smaller side's worth (the post's or the set's, places counted).
func (g *Grouper) overlaps(it *item, in func(string) bool, setMass float64, placeShared bool) bool {
	shared, mass := 0, 0.0
	for i, w := range it.words {
		if r := it.rare[i]; r > 0 && in(w) {
			shared++
			mass += r
		}
	}
	need := g.cfg.MinShared
	if placeShared {
		need--
		mass += g.cfg.PlaceMass
	}
	if shared < need || shared == 0 || mass < g.cfg.MinRareMass {
		return false
	}
	own := it.mass + g.cfg.PlaceMass*float64(len(it.places))
	return mass >= g.cfg.MinJaccard*math.Min(own, setMass)
}

// name names an event by its heaviest terms (or, before any original has
// arrived, its rarest keywords), NameWords of them, a word inside another
// left out, in the order the title mentions them.
func (g *Grouper) name(ev *domain.Event) string {
	var ranked []string
	if len(ev.Terms) > 0 {
		ranked = g.rankTerms(ev.Terms)
	} else {
		ranked = make([]string, 0, len(ev.Keywords))
		for _, w := range ev.Keywords {
			if !generic(w) {
				ranked = append(ranked, w)
			}
		}
		sort.SliceStable(ranked, func(a, b int) bool {
			ra, rb := g.rarity(ranked[a]), g.rarity(ranked[b])
			if ra != rb {
				return ra > rb
			}
			return ranked[a] < ranked[b]
		})
	}
	var picked []string
	for _, w := range ranked {
		if len(picked) == g.cfg.NameWords {
			break
		}
		inside := false
		for i, p := range picked {
			if strings.Contains(p, w) {
				inside = true
				break
			}
			if strings.Contains(w, p) {
				picked[i], inside = w, true // the longer word says more
				break
			}
		}
		if !inside {
			picked = append(picked, w)
		}
	}
	if len(picked) == 0 {
		return ""
	}
	rank := make(map[string]int, len(picked))
	for i, w := range picked {
		rank[w] = i
	}
	pos := func(w string) int {
		if i := strings.Index(ev.Title, w); i >= 0 {
			return i
		}
		return len(ev.Title) + rank[w]
	}
	sort.SliceStable(picked, func(a, b int) bool { return pos(picked[a]) < pos(picked[b]) })
	return strings.Join(picked, "·")
}
