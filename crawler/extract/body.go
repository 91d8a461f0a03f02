package extract

import (
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Blocks whose class or id say they are not article text.
var (
	// negativeWords mark furniture in a class or id: a word that starts a
	// class token (or a part after "-") and ends it or is followed by "_"
	// or "-" ("comment", "share-box", "nav_top"; not "my_nav" or "navy").
	negativeWords = wordSet("comment comments share footer foot nav navbar sidebar side aside recommend related copyright breadcrumb crumb menu advert ad ads login social toolbar hotnews rank popup modal widget reply pinglun bottom")
	// positiveWords anywhere in a class or id mark content and win.
	positiveWords = strings.Fields("article content post-body main-text text entry detail artibody zhengwen neirong")
	punctSet      = "，。！？；：、,.!?;:“”\"（）《》"
)

// block holds the figures one element's subtree adds up to.
type block struct {
	text, link, punct, tags, linkTags, paras int
	score                                    float64
}

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// negative reports a furniture word in a class and id string.
func negative(ci string) bool {
	ci = strings.ToLower(ci)
	for _, tok := range strings.FieldsFunc(ci, func(r rune) bool { return r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' }) {
		if i := strings.IndexByte(tok, '_'); i >= 0 {
			tok = tok[:i]
		}
		if negativeWords[tok] {
			return true
		}
	}
	return false
}

// positive reports a content word anywhere in a class and id string.
func positive(ci string) bool {
	ci = strings.ToLower(ci)
	for _, w := range positiveWords {
		if strings.Contains(ci, w) {
			return true
		}
	}
	return false
}

// dropped reports elements whose subtree is left out of the body entirely.
func dropped(n *html.Node) bool {
	if n.Type == html.CommentNode {
		return true
	}
	if n.Type != html.ElementNode {
		return false
	}
	if skipTag(n) {
		return true
	}
	switch n.DataAtom {
	case atom.Nav, atom.Footer, atom.Aside, atom.Form, atom.Header, atom.Input, atom.Label:
		return true
	}
	if n.DataAtom == atom.Body || n.DataAtom == atom.Html {
		return false
	}
	ci := attr(n, "class") + " " + attr(n, "id")
	if strings.TrimSpace(ci) != "" && negative(ci) && !positive(ci) {
		return true
	}
	if strings.Contains(strings.ToLower(attr(n, "style")), "display:none") {
		return true
	}
	return false
}

func runeLen(s string) int {
	n := 0
	for _, r := range s {
		if !isSpace(r) {
			n++
		}
	}
	return n
}

func punctCount(s string) int {
	n := 0
	for _, r := range s {
		if r < utf8.RuneSelf && !strings.ContainsRune(",.!?;:\"", r) {
			continue
		}
		if strings.ContainsRune(punctSet, r) {
			n++
		}
	}
	return n
}

// body scores every element by text density (text outside links per tag),
// punctuation and paragraph count, as GeneralNewsExtractor does, and returns
// the paragraphs of the best one.
func (d *docInfo) body() string {
	stats := map[*html.Node]*block{}
	var best *html.Node
	bestScore := 0.0
	var walk func(n *html.Node, inLink bool) *block
	walk = func(n *html.Node, inLink bool) *block {
		b := &block{}
		if dropped(n) {
			return b
		}
		if n.Type == html.TextNode {
			l := runeLen(n.Data)
			b.text = l
			b.punct = punctCount(n.Data)
			if inLink {
				b.link = l
			}
			return b
		}
		isLink := n.Type == html.ElementNode && n.DataAtom == atom.A
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			cb := walk(c, inLink || isLink)
			b.text += cb.text
			b.link += cb.link
			b.punct += cb.punct
			b.tags += cb.tags
			b.linkTags += cb.linkTags
			b.paras += cb.paras
		}
		if n.Type != html.ElementNode {
			return b
		}
		if b.text > 0 {
			b.tags++ // only elements that carry text dilute density
		}
		if isLink && b.text > 0 {
			b.linkTags++
		}
		if n.DataAtom == atom.P {
			b.paras++
		}
		stats[n] = b
		own := b.text - b.link
		if own < 20 || n.DataAtom == atom.A || n.DataAtom == atom.Body || n.DataAtom == atom.Html {
			return b
		}
		density := float64(own) / float64(max(1, b.tags-b.linkTags))
		linkDensity := float64(b.link) / float64(max(1, b.text))
		b.score = density * math.Log10(float64(b.paras)+2) * math.Log(float64(b.punct)+2) * (1 - linkDensity) * math.Log(float64(own)+1)
		if b.score > bestScore {
			best, bestScore = n, b.score
		}
		return b
	}
	walk(d.root, false)
	if best == nil {
		return ""
	}
	// A lone paragraph or inline run beat its container: take the nearest
	// block ancestor holding its sibling paragraphs.
	for i := 0; i < 3 && best.Parent != nil && !isContainer(best); i++ {
		best = best.Parent
	}
	return strings.Join(trimBoiler(paragraphs(best, stats)), "\n")
}

// Short lines at the edges of a body that are page furniture, not text.
var (
	leadBoilerRe = regexp.MustCompile(`^(?:本文)?原标题[:：]|^划重点[:：]?$|客户端|^字号$`)
	tailBoilerRe = regexp.MustCompile(`责任编辑|责编|编辑[:：|]|来源[:：|]|点击进入|专题|返回.{0,8}首页|关注|扫描|二维码|本文来自|免责声明|未经授权|转载|^标签|^关键词|^相关|^评论|^分享`)
)

// trimBoiler drops editor lines, share prompts and the like from the start
// and end of a body; it never touches the middle.
func trimBoiler(ps []string) []string {
	for len(ps) > 1 && utf8.RuneCountInString(ps[0]) <= 60 && leadBoilerRe.MatchString(ps[0]) {
		ps = ps[1:]
	}
	for len(ps) > 1 && utf8.RuneCountInString(ps[len(ps)-1]) <= 60 && tailBoilerRe.MatchString(ps[len(ps)-1]) {
		ps = ps[:len(ps)-1]
	}
	return ps
}

// paragraphs lists the text blocks of n, leaving out blocks made mostly of
// links and dropped subtrees.
func paragraphs(n *html.Node, stats map[*html.Node]*block) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := cleanSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if dropped(n) {
			return
		}
		switch n.Type {
		case html.TextNode:
			cur.WriteString(n.Data)
			return
		case html.ElementNode:
			if n.DataAtom == atom.Br {
				flush()
				return
			}
		}
		blk := n.Type == html.ElementNode && isBlock(n)
		if blk {
			flush()
			if b := stats[n]; b != nil && b.text > 0 && b.link*2 > b.text && b.text-b.link < 40 {
				return // a list of links, not text
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if blk {
			flush()
		}
	}
	walk(n)
	flush()
	return out
}

// isContainer reports elements that hold paragraphs rather than being one.
func isContainer(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Div, atom.Section, atom.Article, atom.Main, atom.Td, atom.Body, atom.Center, atom.Blockquote:
		return true
	}
	return false
}
