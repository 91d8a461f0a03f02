// Package textnorm cleans a post's text before analysis: what the models and
// the segmenter read is the author's own words, valid UTF-8, in simplified
// characters, without Weibo markup, links or emoji; the markup is kept aside.
//
//	t := textnorm.Normalize(post.Text)
//	t.Own         // the author's own words: what sentiment should read
//	t.Quoted      // the links of a //@name: repost chain, oldest last
//	t.Topics, t.Mentions, t.Emoticons, t.URLs
//
// The rules, in the order they apply:
//
//   - Invalid UTF-8 becomes U+FFFD, one per run of invalid bytes (a surrogate
//     pair written as two 3-byte sequences, CESU-8, becomes the character it
//     encodes); C0 and C1 controls, NUL, DEL, zero-width and bidi formatting
//     characters, BOMs and stray variation selectors are removed; tabs, line
//     breaks and the Unicode spaces (NBSP, U+3000 …) become a space. Repaired
//     counts the invalid bytes and the removed characters (stray emoji
//     components too). The result is always valid UTF-8, so the segmenter's
//     C++ side never sees a bad byte.
//   - Full-width ASCII (ＡＢＣ１２３＃＠．％) becomes half width, except the
//     full-width marks that are ordinary Chinese punctuation, ，！？：；（）,
//     which stay: the models ignore punctuation, and folding them would copy
//     four posts in ten for nothing.
//   - The text is cut at each //@name: into the reposter's own words (before
//     the first one) and the quoted links (Quote.Author is the name as
//     written). A "//@" not followed by a name and a colon (: or ：) is text.
//     回复@name: at the start of a part is dropped (the name goes to Mentions
//     and, for the own part, to ReplyTo).
//   - In each part: [泪]-style emoticons (1–6 Han characters or ASCII letters
//     between [ and ]) are removed and listed in Emoticons; media
//     placeholders like [图片] [视频] [超话] are removed and not listed;
//     other bracketed text ([1], [注释说明文字很长], [a b]) stays. #话题#
//     (1–50 characters once cleaned, no space, so "C# 和 F#" is text) loses
//     its #s: the topic words stay in the text as a phrase of their own,
//     since they are often the post's subject, and are listed in Topics;
//     Weibo's empty #请插入话题名称# is removed. @name (Han, ASCII
//     letters, digits, _ and -, at most 30, not after a letter or digit as
//     in an e-mail address) is removed with a colon that follows it and
//     listed in Mentions. Links
//     (http://, https://, www., t.cn/; up to a space, a non-ASCII character,
//     [, ] or @, less trailing punctuation) are removed and listed in
//     URLs; "http:" or "https:" without // (links the data source cut off)
//     is removed and not listed. Emoji (Unicode's
//     pictographs with their variation selectors, skin tones, ZWJ sequences,
//     flags and keycaps) are removed and listed in Emoticons.
//   - Traditional characters are folded to simplified (OpenCC's t2s tables,
//     see below) in the text, the topics and the emoticon names, but not in
//     names (@name, Quote.Author, ReplyTo), which are identifiers.
//   - Spaces are collapsed and trimmed; removed markup leaves a space so the
//     words around it do not run together. A part that is only 转发微博,
//     轉發微博, 转发, 转, Repost, 分享图片 or 分享视频 (a trailing 。 or !
//     aside) becomes empty.
//
// Topics, Mentions, Emoticons and URLs hold the whole post's, own part
// first; Emoticons[:OwnEmoticons] are those of the own part.
//
// Normalize is idempotent on Own and on each Quote.Text: normalizing them
// again gives them back unchanged.
//
// # Fast path
//
// A text with nothing to change (valid UTF-8, no markup, no traditional
// character, no emoji, no control or full-width character, no double space)
// is found by one scan and returned as it is: Own is the input string and
// nothing is allocated. Otherwise Own is a substring of the input where the
// changes are only at its ends, and one allocation where they are inside.
//
// # Traditional → simplified
//
// Fold and Normalize fold with tables generated from OpenCC's dictionaries
// (TSCharacters, TSPhrases, CJK_Compatibility_Ideographs; version
// OpenCCVersion) as shipped in the npm package opencc. A character that is
// never simplified (們 來 說 …) is always folded. One that is also a
// simplified character in its own right (乾 於 後 夥 薹 …, from GB 2312 and
// OpenCC's own candidates) and OpenCC's phrases (乾坤 stays, 上鍊 → 上链) are
// used only when the text holds at least one never-simplified traditional
// character: so folding simplified text changes nothing (a line with a
// traditional character typed in it has that character folded), and a
// traditional post is folded as OpenCC would. For one-to-many mappings the first of
// OpenCC's candidates is taken; mappings to characters outside the BMP are
// left out (rare forms that fonts and the segmenter's dictionary lack).
//
// The tables are generated into opencc_table.go, which is committed: nothing
// is fetched at run time or in tests. To regenerate them (npm fetches the
// pinned opencc@1.4.2 and the generator checks its sha512):
//
//	cd analyzer/textnorm && go generate .
//
// or offline from a tarball fetched before (npm pack opencc@1.4.2):
//
//	go run gen/main.go -tgz opencc-1.4.2.tgz
//
// To move to another OpenCC version, change pinned and integrity in
// gen/main.go (npm view opencc@VERSION dist.integrity).
package textnorm

//go:generate go run gen/main.go -o opencc_table.go

import (
	"strings"
	"unicode/utf8"
)

// Quote is one earlier link of a repost chain.
type Quote struct {
	Author string // the name after //@, as written
	Text   string // that author's words, cleaned like Text.Own
}

// Text is a post's text cleaned for analysis.
type Text struct {
	// Own is the author's own words, with the markup removed and the
	// traditional characters folded: what sentiment should read.
	Own string
	// ReplyTo is the name of a leading 回复@name: of the own part.
	ReplyTo string
	// Quoted are the earlier links of a //@name: repost chain, the one
	// quoted directly first and the oldest last.
	Quoted []Quote
	// Topics are the #话题# texts, folded; the words stay in the text too.
	Topics []string
	// Mentions are the @names (and reply targets) as written, but not the
	// authors of Quoted.
	Mentions []string
	// Emoticons are the [蜡烛]-style emoticon names (folded, without the
	// brackets) and the Unicode emoji, in order; the first OwnEmoticons
	// are the own part's.
	Emoticons    []string
	OwnEmoticons int
	// URLs are the links.
	URLs []string
	// Repaired counts the invalid UTF-8 bytes replaced and the control,
	// zero-width and formatting characters removed.
	Repaired int
	// Folded counts the traditional (and compatibility) characters folded.
	Folded int
}

// All gives Own and the quoted texts, oldest last, one a line, the empty
// ones left out: the whole post, for models that judge what it passes on.
func (t *Text) All() string {
	if len(t.Quoted) == 0 {
		return t.Own
	}
	var b strings.Builder
	b.WriteString(t.Own)
	for _, q := range t.Quoted {
		if q.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(q.Text)
	}
	return b.String()
}

// Normalize cleans s; see the package doc.
func Normalize(s string) Text {
	if plain(s) {
		return Text{Own: s}
	}
	var t Text
	NormalizeTo(&t, s)
	return t
}

// NormalizeTo is Normalize into t, reusing the memory of t's slices: a
// caller that keeps a Text per worker allocates nothing for plain posts and
// nothing but the cleaned strings for the others. The strings of t may share
// memory with s.
func NormalizeTo(t *Text, s string) {
	t.reset()
	f := scan(s)
	if f == 0 {
		t.Own = s
		return
	}
	c, trad := s, f&fTrad != 0
	if f&fClean != 0 {
		c, trad = t.sanitize(s)
	}
	n := norm{c: c, t: t, trad: trad, gapEnd: -1}
	n.run()
}

func (t *Text) reset() {
	// what lies past the lengths was cleared when it was last in use
	clear(t.Quoted)
	clear(t.Topics)
	clear(t.Mentions)
	clear(t.Emoticons)
	clear(t.URLs)
	*t = Text{Quoted: t.Quoted[:0], Topics: t.Topics[:0], Mentions: t.Mentions[:0], Emoticons: t.Emoticons[:0], URLs: t.URLs[:0]}
}

// Fold folds traditional characters to simplified (and CJK compatibility
// ideographs to unified ones), nothing else; it gives s itself when there
// is nothing to fold. Invalid UTF-8 is passed through as it is.
func Fold(s string) string {
	out, _ := fold(s)
	return out
}

// FoldCount is Fold that also tells how many characters it folded.
func FoldCount(s string) (string, int) { return fold(s) }

func fold(s string) (string, int) {
	trad, need := false, false
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, sz := next(s, i)
		if isTrad(r) {
			trad, need = true, true
			break
		}
		need = need || foldable(r, false)
		i += sz
	}
	if !need {
		return s, 0
	}
	var e emitter
	e.init(s, len(s)+8)
	n := 0
	keep := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, sz := next(s, i)
		if foldable(r, trad) {
			e.text(keep, i)
			keep = i
			j, ok := foldAt(&e, s, i, len(s), r, sz, trad, &n)
			if ok {
				i, keep = j, j
				continue
			}
		}
		i += sz
	}
	e.text(keep, len(s))
	out, _, _ := e.result()
	return out, n
}

// next decodes the character at s[i], s[i] ≥ 0x80, as utf8.DecodeRuneInString
// does (size 1 for an invalid byte), the 3-byte ones of Chinese text inline.
func next(s string, i int) (rune, int) {
	if b := s[i]; b >= 0xE0 && b < 0xF0 && i+2 < len(s) {
		b1, b2 := s[i+1], s[i+2]
		if b1&0xC0 == 0x80 && b2&0xC0 == 0x80 {
			r := rune(b&0x0F)<<12 | rune(b1&0x3F)<<6 | rune(b2&0x3F)
			if r >= 0x800 && (r < 0xD800 || r > 0xDFFF) {
				return r, 3
			}
		}
	}
	return utf8.DecodeRuneInString(s[i:])
}

// isTrad tells whether r is a traditional character never used as simplified.
func isTrad(r rune) bool {
	if r < 0x10000 {
		return tradBits.has(r)
	}
	_, ok := plainFold[r]
	return ok
}

// foldable tells whether foldAt may change r (in traditional text if trad).
func foldable(r rune, trad bool) bool {
	if r < 0x10000 {
		return tradBits.has(r) || compatBits.has(r) || trad && evBits.has(r)
	}
	if _, ok := plainFold[r]; ok {
		return true
	}
	if _, ok := compatFold[r]; ok {
		return true
	}
	return trad && (phrasesBy[r] != nil || ambigFold[r] != 0)
}

// foldAt folds the character r (of sz bytes) at s[i], or the phrase that
// starts there, into e, counting the characters changed in *n; it gives
// the index past what it folded, or false when r stays.
func foldAt(e *emitter, s string, i, hi int, r rune, sz int, trad bool, n *int) (int, bool) {
	if trad {
		for _, p := range phrasesBy[r] {
			if strings.HasPrefix(s[i:hi], p.key) {
				if p.diff == 0 {
					e.text(i, i+len(p.key))
				} else {
					e.lit(p.val)
					*n += p.diff
				}
				return i + len(p.key), true
			}
		}
	}
	v, ok := compatFold[r]
	if ok {
		if w, ok := plainFold[v]; ok {
			v = w
		} else if w, ok := ambigFold[v]; ok && trad {
			v = w
		}
	} else if v, ok = plainFold[r]; !ok && trad {
		v, ok = ambigFold[r]
	}
	if !ok {
		return i, false
	}
	e.litRune(v)
	*n++
	return i + sz, true
}

// scan flags
const (
	fClean = 1 << iota // the sanitizing pass has work
	fTrad              // a never-simplified traditional character
	fMark              // anything else: markup, emoji, spaces to trim …
)

// scan reads s once and tells what Normalize has to do with it; 0 is
// nothing: s is its own Own.
func scan(s string) (f int) {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if asciiStop[b] {
				switch b {
				case ' ':
					if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
						f |= fMark
					}
				case '.':
					if i >= 3 && s[i-1]|0x20 == 'w' && s[i-2]|0x20 == 'w' && s[i-3]|0x20 == 'w' {
						f |= fMark
					}
				case ':':
					if i >= 4 && s[i-1]|0x20 == 'p' && s[i-2]|0x20 == 't' || i >= 5 && s[i-1]|0x20 == 's' && s[i-2]|0x20 == 'p' {
						f |= fMark
					}
				default:
					if b < 0x20 || b == 0x7F {
						f |= fClean
					} else {
						f |= fMark
					}
				}
			}
			i++
			continue
		}
		var r rune
		// inline decoding of the 3-byte sequences of Chinese text
		if b >= 0xE0 && b < 0xF0 && i+2 < len(s) {
			b1, b2 := s[i+1], s[i+2]
			r = rune(b&0x0F)<<12 | rune(b1&0x3F)<<6 | rune(b2&0x3F)
			if b1&0xC0 == 0x80 && b2&0xC0 == 0x80 && r >= 0x800 && (r < 0xD800 || r > 0xDFFF) {
				i += 3
			} else {
				f |= fClean
				i++
				continue
			}
		} else {
			var sz int
			if r, sz = utf8.DecodeRuneInString(s[i:]); sz == 1 {
				f |= fClean
				i++
				continue
			}
			i += sz
			if r >= 0x10000 {
				f |= fMark
				switch {
				case isComponent(r) || r == 0xE0001 || r >= 0xE0100 && r <= 0xE01EF:
					f |= fClean
				case isTrad(r):
					f |= fTrad
				}
				continue
			}
		}
		if specialBits.has(r) {
			switch {
			case tradBits.has(r):
				f |= fTrad
			case cleanBits.has(r) || isComponent(r):
				f |= fClean
			default:
				f |= fMark
			}
		}
	}
	if f == 0 && len(s) <= 24 && boilerplate(s) {
		f |= fMark
	}
	return f
}

// plain tells whether Normalize gives s back unchanged, with nothing listed.
func plain(s string) bool { return scan(s) == 0 }

// asciiStop marks the ASCII bytes the fast path looks at.
var asciiStop = func() (t [utf8.RuneSelf]bool) {
	for b := 0; b < 0x20; b++ {
		t[b] = true
	}
	for _, b := range "\x7f[#@/ .:" {
		t[b] = true
	}
	return t
}()

// lazy is a copy of src made only once something in it changes.
type lazy struct {
	src    string
	b      strings.Builder
	last   int
	copied bool
}

func (l *lazy) replace(i, j int, with string) {
	if !l.copied {
		l.copied = true
		l.b.Grow(len(l.src) + 8)
	}
	l.b.WriteString(l.src[l.last:i])
	l.b.WriteString(with)
	l.last = j
}

func (l *lazy) done() string {
	if !l.copied {
		return l.src
	}
	l.b.WriteString(l.src[l.last:])
	return l.b.String()
}

// sanitize repairs UTF-8, removes controls and invisible characters, turns
// the spaces into ' ' and full-width ASCII into ASCII; it tells whether s
// holds a never-simplified traditional character.
func (t *Text) sanitize(s string) (string, bool) {
	l := lazy{src: s}
	trad := false
	// emoji tells whether the last character kept can carry an emoji
	// component (ZWJ, VS15/16, keycap, skin tone, tag); the components after
	// any other character go here, before the markup is read, so that their
	// removal cannot join a name or a link to what stood before them
	emoji := false
	var buf [4]byte
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b < 0x20 || b == 0x7F {
				if b >= '\t' && b <= '\r' {
					l.replace(i, i+1, " ")
				} else {
					l.replace(i, i+1, "")
					t.Repaired++
				}
				emoji = false
			} else {
				emoji = b >= '0' && b <= '9' || b == '#' || b == '*'
			}
			i++
			continue
		}
		r, sz := next(s, i)
		if sz == 1 {
			if r, ok := cesu(s[i:]); ok {
				l.replace(i, i+6, string(buf[:utf8.EncodeRune(buf[:], r)]))
				t.Repaired += 6
				i += 6
				emoji = emojiStart(r) || isRegional(r) || isComponent(r) && emoji
				continue
			}
			j := i + 1
			for j < len(s) && s[j] >= utf8.RuneSelf {
				if _, sz := utf8.DecodeRuneInString(s[j:]); sz > 1 {
					break
				}
				if _, ok := cesu(s[j:]); ok {
					break
				}
				j++
			}
			l.replace(i, j, "\uFFFD")
			t.Repaired += j - i
			i = j
			emoji = false
			continue
		}
		switch {
		case r >= 0x10000:
			switch {
			case r == 0xE0001 || r >= 0xE0100 && r <= 0xE01EF || (isSkinTone(r) || isEmojiTag(r)) && !emoji:
				l.replace(i, i+sz, "")
				t.Repaired++
			case isComponent(r):
			default:
				emoji = emojiStart(r) || isRegional(r)
				if !trad && !emoji && isTrad(r) {
					trad = true
				}
			}
		case emojiBits.has(r):
			if isComponent(r) {
				if !emoji {
					l.replace(i, i+sz, "")
					t.Repaired++
				}
			} else {
				emoji = true
			}
		case tradBits.has(r):
			trad = true
			emoji = false
		case cleanBits.has(r):
			emoji = false
			switch {
			case r >= 0xFF01 && r <= 0xFF5E:
				buf[0] = byte(r - 0xFEE0)
				l.replace(i, i+sz, string(buf[:1]))
				emoji = buf[0] >= '0' && buf[0] <= '9' || buf[0] == '#' || buf[0] == '*'
			case r == 0x85 || r == 0xA0 || r == 0x1680 || r >= 0x2000 && r <= 0x200A ||
				r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000:
				l.replace(i, i+sz, " ")
			default:
				l.replace(i, i+sz, "")
				t.Repaired++
				emoji = false
			}
		default:
			emoji = false
		}
		i += sz
	}
	return l.done(), trad
}

// cesu decodes a UTF-16 surrogate pair written as two 3-byte sequences.
func cesu(s string) (rune, bool) {
	if len(s) < 6 || s[0] != 0xED || s[1] < 0xA0 || s[1] > 0xAF || s[2]&0xC0 != 0x80 ||
		s[3] != 0xED || s[4] < 0xB0 || s[4] > 0xBF || s[5]&0xC0 != 0x80 {
		return 0, false
	}
	hi := rune(s[1]&0x0F)<<6 | rune(s[2]&0x3F)
	lo := rune(s[4]&0x0F)<<6 | rune(s[5]&0x3F)
	return 0x10000 + hi<<10 + lo, true
}

// norm is one post's second pass, over the sanitized text c.
type norm struct {
	c    string
	t    *Text
	trad bool
	// gapEnd is where the last markup removed ended: what stood before it
	// is no longer next to what follows
	gapEnd int
}

// after tells whether c[i-1] is a byte b for which is(b), and not removed
// markup.
func (n *norm) after(i int, is func(byte) bool) bool {
	return i > 0 && i != n.gapEnd && is(n.c[i-1])
}

func (n *norm) run() {
	c := n.c
	at, nl, nh, body, ok := nextLink(c, 0)
	end := len(c)
	if ok {
		end = at
	}
	n.t.Own = n.part(0, end, true)
	n.t.OwnEmoticons = len(n.t.Emoticons)
	for ok {
		author, start := c[nl:nh], body
		at, nl, nh, body, ok = nextLink(c, body)
		end = len(c)
		if ok {
			end = at
		}
		n.t.Quoted = append(n.t.Quoted, Quote{Author: author, Text: n.part(start, end, false)})
	}
}

// nextLink finds the first //@name: at or after from: where it starts, the
// name, and where the quoted text starts.
func nextLink(c string, from int) (at, nameLo, nameHi, body int, ok bool) {
	for {
		k := strings.Index(c[from:], "//@")
		if k < 0 {
			return 0, 0, 0, 0, false
		}
		at = from + k
		nameLo = at + 3
		if nameHi, ok = nameEnd(c, nameLo, len(c)); ok {
			if w := colon(c, nameHi); w > 0 {
				return at, nameLo, nameHi, nameHi + w, true
			}
		}
		from = at + 1
	}
}

// colon gives the length of the colon (: or ：) at c[i], or 0.
func colon(c string, i int) int {
	switch {
	case i < len(c) && c[i] == ':':
		return 1
	case strings.HasPrefix(c[i:], "："):
		return len("：")
	}
	return 0
}

// maxName is the longest @name, in characters.
const maxName = 30

// nameEnd gives the end of the @name starting at c[i], which is not one when
// empty or longer than maxName.
func nameEnd(c string, i, hi int) (int, bool) {
	for k := 0; ; k++ {
		if i >= hi {
			return i, k > 0
		}
		var r rune
		sz := 1
		if b := c[i]; b < utf8.RuneSelf {
			if !isASCIIAlnum(b) && b != '_' && b != '-' {
				return i, k > 0
			}
		} else if r, sz = utf8.DecodeRuneInString(c[i:hi]); !isHan(r) {
			return i, k > 0
		}
		if k == maxName {
			return i, false
		}
		i += sz
	}
}

func isASCIIAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b|0x20 >= 'a' && b|0x20 <= 'z'
}

// part cleans one part of the chain, c[lo:hi].
func (n *norm) part(lo, hi int, own bool) string {
	c := n.c
	i := lo
	for i < hi && c[i] == ' ' {
		i++
	}
	for _, p := range []string{"回复", "回覆", "回復"} {
		if !strings.HasPrefix(c[i:hi], p) {
			continue
		}
		j := i + len(p)
		if j < hi && c[j] == ' ' {
			j++
		}
		if j < hi && c[j] == '@' {
			if e, ok := nameEnd(c, j+1, hi); ok {
				if w := colon(c[:hi], e); w > 0 {
					name := c[j+1 : e]
					n.t.Mentions = append(n.t.Mentions, name)
					if own {
						n.t.ReplyTo = name
					}
					i = e + w
					n.gapEnd = i
				}
			}
		}
		break
	}
	s, _, _ := n.clean(i, hi, false)
	if len(s) <= 24 && boilerplate(s) {
		return ""
	}
	return s
}

// boilerplate tells whether s is a repost's default text.
func boilerplate(s string) bool {
	s = strings.TrimRight(s, "。.!！~～… ")
	switch s {
	case "转发微博", "轉發微博", "转发", "轉發", "转", "轉", "分享图片", "分享圖片", "分享视频", "分享視頻":
		return true
	}
	return strings.EqualFold(s, "repost")
}

// maxTopic is the longest #话题#, in characters.
const maxTopic = 50

// placeholders are bracketed names that stand for media, not emoticons.
var placeholders = map[string]bool{
	"图片": true, "视频": true, "超话": true, "链接": true, "网页链接": true, "语音": true,
	"动画表情": true, "位置": true, "地点": true, "音乐": true, "文章": true, "长图": true,
	"组图": true, "多图": true, "图文": true,
}

// clean is the second pass over c[lo:hi]: markup, emoji, folding, spaces.
// In a topic (inTopic) a # is text. It gives the result, and where it lies
// in c when it is a substring of c (else -1, -1).
func (n *norm) clean(lo, hi int, inTopic bool) (string, int, int) {
	c, t := n.c, n.t
	var e emitter
	e.init(c, hi-lo+8)
	keep := lo // start of the text not yet given to e
	for i := lo; i < hi; {
		b := c[i]
		if b < utf8.RuneSelf {
			if b == ' ' {
				e.text(keep, i)
				e.sp(i)
				i++
				keep = i
				continue
			}
			if !asciiEvent[b] {
				i++
				continue
			}
			e.text(keep, i)
			keep = i
			if j := keycap(c, i, hi); j > 0 {
				t.Emoticons = append(t.Emoticons, c[i:j])
				e.gap()
				i, keep, n.gapEnd = j, j, j
				continue
			}
			j := 0
			switch b {
			case '[':
				j = n.emoticon(&e, i, hi)
			case '#':
				if !inTopic {
					j = n.topic(&e, i, hi)
				}
			case '@':
				j = n.mention(&e, i, hi)
			case 'h', 'H', 'w', 'W', 't', 'T':
				j = n.url(&e, i, hi)
			}
			if j > 0 {
				i, keep, n.gapEnd = j, j, j
			} else {
				i++
			}
			continue
		}
		r, sz := next(c[:hi], i)
		if r < 0x10000 && !specialBits.has(r) && !(n.trad && evBits.has(r)) {
			i += sz
			continue
		}
		e.text(keep, i)
		keep = i
		switch {
		case emojiStart(r) || isRegional(r) ||
			r < 0x10000 && emojiBits.has(r) && strings.HasPrefix(c[i+sz:hi], "\uFE0F") && !isComponent(r):
			j := emojiEnd(c, i, hi)
			t.Emoticons = append(t.Emoticons, c[i:j])
			e.gap()
			i, keep, n.gapEnd = j, j, j
		case isComponent(r):
			t.Repaired++
			i += sz
			keep = i
		case foldable(r, n.trad):
			if j, ok := foldAt(&e, c, i, hi, r, sz, n.trad, &t.Folded); ok {
				i, keep = j, j
			} else {
				i += sz
			}
		default:
			i += sz
		}
	}
	e.text(keep, hi)
	return e.result()
}

// asciiEvent marks the ASCII bytes clean looks at (besides the space).
var asciiEvent = func() (t [utf8.RuneSelf]bool) {
	for _, b := range "[#@hHwWtT*0123456789" {
		t[b] = true
	}
	return t
}()

// keycap gives the end of a keycap emoji (1️⃣, #⃣) at c[i], or 0.
func keycap(c string, i, hi int) int {
	b := c[i]
	if b != '#' && b != '*' && (b < '0' || b > '9') {
		return 0
	}
	j := i + 1
	if strings.HasPrefix(c[j:hi], "\uFE0F") {
		j += 3
	}
	if !strings.HasPrefix(c[j:hi], "\u20E3") {
		return 0
	}
	return emojiEnd(c, i, hi)
}

// emojiEnd gives the end of the emoji sequence starting at c[i].
func emojiEnd(c string, i, hi int) int {
	r, sz := utf8.DecodeRuneInString(c[i:hi])
	j := i + sz
	if isRegional(r) {
		if r2, sz2 := utf8.DecodeRuneInString(c[j:hi]); isRegional(r2) {
			j += sz2
		}
		return j
	}
	for {
		for j < hi {
			r2, sz2 := utf8.DecodeRuneInString(c[j:hi])
			if !isEmojiMod(r2) {
				break
			}
			j += sz2
		}
		if !strings.HasPrefix(c[j:hi], "\u200D") {
			return j
		}
		r3, sz3 := utf8.DecodeRuneInString(c[j+3 : hi])
		if !emojiStart(r3) && !(r3 < 0x10000 && emojiBits.has(r3) && !isComponent(r3)) {
			return j
		}
		j += 3 + sz3
	}
}

// emoticon handles a [name] at c[i]; it gives the index past it, or 0.
func (n *norm) emoticon(e *emitter, i, hi int) int {
	c := n.c
	j, k := i+1, 0
	for ; j < hi && c[j] != ']'; k++ {
		if k == 6 {
			return 0
		}
		if b := c[j]; b < utf8.RuneSelf {
			if b|0x20 < 'a' || b|0x20 > 'z' {
				return 0
			}
			j++
			continue
		}
		r, sz := utf8.DecodeRuneInString(c[j:hi])
		if !isHan(r) {
			return 0
		}
		j += sz
	}
	if j >= hi || k == 0 {
		return 0
	}
	name, _ := fold1(c[i+1:j], n.trad)
	if !placeholders[name] {
		n.t.Emoticons = append(n.t.Emoticons, name)
	}
	e.gap()
	return j + 1
}

// fold1 folds s as part of a text that is traditional if trad.
func fold1(s string, trad bool) (string, int) {
	if !trad {
		// only the compatibility ideographs and never-simplified characters
		return fold(s)
	}
	var e emitter
	e.init(s, len(s))
	n, keep := 0, 0
	for i := 0; i < len(s); {
		r, sz := utf8.DecodeRuneInString(s[i:])
		if foldable(r, true) {
			e.text(keep, i)
			keep = i
			if j, ok := foldAt(&e, s, i, len(s), r, sz, true, &n); ok {
				i, keep = j, j
				continue
			}
		}
		i += sz
	}
	e.text(keep, len(s))
	out, _, _ := e.result()
	return out, n
}

// topic handles a #话题# at c[i]; it gives the index past it, or 0.
func (n *norm) topic(e *emitter, i, hi int) int {
	c := n.c
	// the scan is unbounded but linear: a failed one stops at the next #,
	// where the next scan starts
	j := i + 1 + strings.IndexByte(c[i+1:hi], '#')
	if j <= i+1 || strings.IndexByte(c[i+1:j], ' ') >= 0 {
		return 0 // none, empty, or with a space: "C# 和 F#"
	}
	// the length is the cleaned topic's, which a second pass sees
	t := n.t
	mark := [...]int{len(t.Emoticons), len(t.Mentions), len(t.URLs), t.Folded, t.Repaired, n.gapEnd}
	s, lo, hi2 := n.clean(i+1, j, true)
	if utf8.RuneCountInString(s) > maxTopic {
		// not a topic: its content is cleaned again as text
		clear(t.Emoticons[mark[0]:])
		clear(t.Mentions[mark[1]:])
		clear(t.URLs[mark[2]:])
		t.Emoticons, t.Mentions, t.URLs = t.Emoticons[:mark[0]], t.Mentions[:mark[1]], t.URLs[:mark[2]]
		t.Folded, t.Repaired, n.gapEnd = mark[3], mark[4], mark[5]
		return 0
	}
	if s == "" || s == "请插入话题名称" {
		e.gap()
		return j + 1
	}
	n.t.Topics = append(n.t.Topics, s)
	e.gap()
	if lo >= 0 {
		e.text(lo, hi2)
	} else {
		e.lit(s)
	}
	e.gap()
	return j + 1
}

// mention handles an @name at c[i]; it gives the index past it, or 0.
func (n *norm) mention(e *emitter, i, hi int) int {
	c := n.c
	if n.after(i, func(p byte) bool { return isASCIIAlnum(p) || p == '_' || p == '.' || p == '-' }) {
		return 0 // an e-mail address
	}
	end, ok := nameEnd(c, i+1, hi)
	if !ok {
		return 0
	}
	n.t.Mentions = append(n.t.Mentions, c[i+1:end])
	e.gap()
	return end + colon(c[:hi], end)
}

// url handles a link at c[i]; it gives the index past it, or 0.
func (n *norm) url(e *emitter, i, hi int) int {
	c := n.c
	rest := c[i:hi]
	pre, bare := 0, false
	switch c[i] | 0x20 {
	case 'h':
		switch {
		case hasPrefixFold(rest, "https://"):
			pre = 8
		case hasPrefixFold(rest, "http://"):
			pre = 7
		case hasPrefixFold(rest, "https:"):
			pre, bare = 6, true
		case hasPrefixFold(rest, "http:"):
			pre, bare = 5, true
		}
		if bare && n.after(i, isASCIIAlnum) {
			return 0
		}
	case 'w':
		if hasPrefixFold(rest, "www.") {
			pre = 4
		}
	case 't':
		if hasPrefixFold(rest, "t.cn/") {
			pre = 5
		}
	}
	if pre == 0 {
		return 0
	}
	if c[i]|0x20 != 'h' && n.after(i, func(p byte) bool { return isASCIIAlnum(p) || p == '.' || p == '-' || p == '/' || p == '_' }) {
		return 0
	}
	if bare {
		e.gap()
		return i + pre
	}
	j := i + pre
	for j < hi && urlByte[c[j]] {
		j++
	}
	for j > i+pre && strings.IndexByte(".,;:!?'\")}", c[j-1]) >= 0 {
		j--
	}
	if j == i+pre {
		if c[i]|0x20 != 'h' {
			return 0 // "www." alone is text
		}
	} else {
		n.t.URLs = append(n.t.URLs, c[i:j])
	}
	e.gap()
	return j
}

// urlByte marks the bytes a link is made of here.
var urlByte = func() (t [256]bool) {
	for b := 0x21; b < 0x7F; b++ {
		t[b] = true
	}
	for _, b := range "\"<>\\^`{|}[]@" {
		t[b] = false
	}
	return t
}()

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// emitter builds a cleaned text from spans of src and literal pieces,
// copying only once the output stops being one span of src; it collapses
// spaces and trims them at both ends.
type emitter struct {
	src     string
	b       strings.Builder
	lo, hi  int // span of src not yet copied into b
	started bool
	copied  bool
	space   int // spNone, spSynth, or the index in src of a pending space
	hint    int
}

const (
	spNone  = -1
	spSynth = -2
)

func (e *emitter) init(src string, hint int) {
	e.src, e.space, e.hint = src, spNone, hint
}

// pre resolves a pending space before content at src[i] (i < 0: a literal);
// it gives where the content starts.
func (e *emitter) pre(i int) int {
	if e.space == spNone {
		return i
	}
	sp := e.space
	e.space = spNone
	if !e.started {
		return i
	}
	if i > 0 && sp == i-1 {
		return i - 1
	}
	e.flush()
	e.b.WriteByte(' ')
	return i
}

// text appends src[i:j].
func (e *emitter) text(i, j int) {
	if i >= j {
		return
	}
	i = e.pre(i)
	switch {
	case !e.started:
		e.lo, e.hi, e.started = i, j, true
	case e.hi == i:
		e.hi = j
	default:
		e.flush()
		e.lo, e.hi = i, j
	}
}

func (e *emitter) lit(s string) {
	if s == "" {
		return
	}
	e.pre(-1)
	e.flush()
	e.b.WriteString(s)
	e.started = true
}

func (e *emitter) litRune(r rune) {
	e.pre(-1)
	e.flush()
	e.b.WriteRune(r)
	e.started = true
}

// sp is a space at src[i]; gap is where markup was removed.
func (e *emitter) sp(i int) { e.space = i }
func (e *emitter) gap() {
	if e.space == spNone {
		e.space = spSynth
	}
}

func (e *emitter) flush() {
	if !e.copied {
		e.copied = true
		e.b.Grow(e.hint)
	}
	e.b.WriteString(e.src[e.lo:e.hi])
	e.lo = e.hi
}

// result gives the text, and its span in src when it is one (else -1, -1).
func (e *emitter) result() (string, int, int) {
	if !e.copied {
		return e.src[e.lo:e.hi], e.lo, e.hi
	}
	e.flush()
	return e.b.String(), -1, -1
}
