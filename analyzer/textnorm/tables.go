package textnorm

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// bits is a set of BMP runes.
type bits [0x10000 / 64]uint64

func (b *bits) has(r rune) bool { return r < 0x10000 && b[r>>6]&(1<<(uint(r)&63)) != 0 }
func (b *bits) add(r rune) {
	if r < 0x10000 {
		b[r>>6] |= 1 << (uint(r) & 63)
	}
}
func (b *bits) addRange(lo, hi rune) {
	for r := lo; r <= hi; r++ {
		b.add(r)
	}
}

type phr struct {
	key, val string
	diff     int // runes that differ
}

var (
	// plainFold: traditional → simplified, keys never seen in simplified text
	plainFold map[rune]rune
	// ambigFold: keys that are also simplified characters; evidence only
	ambigFold map[rune]rune
	// compatFold: CJK compatibility ideograph → unified ideograph
	compatFold map[rune]rune
	// phrasesBy: phrases by first rune, longest first
	phrasesBy map[rune][]phr

	tradBits    bits // plainFold keys: evidence of traditional text, always folded
	compatBits  bits // compatFold keys
	evBits      bits // ambigFold keys and phrase first runes: looked at in traditional text only
	cleanBits   bits // runes the sanitizing pass changes or removes
	emojiBits   bits // emoji, emoji components and text-default pictographs (BMP)
	specialBits bits // any of the above but evBits: the fast path gives up on these
)

// keepFullWidth are the full-width forms that are ordinary Chinese
// punctuation (GB/T 15834); they stay as they are.
const keepFullWidth = "，！？：；（）"

func init() {
	plainFold = pairs(tsPlain)
	ambigFold = pairs(tsAmbiguous)
	compatFold = pairs(compatIdeographs)
	for k := range plainFold {
		tradBits.add(k)
	}
	for k := range compatFold {
		compatBits.add(k)
	}
	for k := range ambigFold {
		evBits.add(k)
	}
	phrasesBy = map[rune][]phr{}
	for line := range strings.SplitSeq(strings.TrimSuffix(tsPhrases, "\n"), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		p := phr{key: k, val: v}
		kr, vr := []rune(k), []rune(v)
		for i := range kr {
			if kr[i] != vr[i] {
				p.diff++
			}
		}
		first := kr[0]
		phrasesBy[first] = append(phrasesBy[first], p)
		evBits.add(first)
	}
	for _, ps := range phrasesBy {
		slices.SortFunc(ps, func(a, b phr) int { return len(b.key) - len(a.key) })
	}

	// the sanitizing pass
	cleanBits.addRange(0x80, 0xA0) // C1 controls, NBSP
	for _, r := range []rune{0xAD, 0x34F, 0x61C, 0x115F, 0x1160, 0x1680, 0x17B4, 0x17B5, 0x3000, 0x3164, 0xFEFF, 0xFFA0} {
		cleanBits.add(r)
	}
	cleanBits.addRange(0x180B, 0x180F)
	cleanBits.addRange(0x2000, 0x200C) // spaces, ZWSP, ZWNJ (ZWJ 200D is an emoji component)
	cleanBits.addRange(0x200E, 0x200F)
	cleanBits.addRange(0x2028, 0x202F)
	cleanBits.addRange(0x205F, 0x206F)
	cleanBits.addRange(0xFE00, 0xFE0D) // variation selectors but VS15, VS16
	cleanBits.addRange(0xFFF9, 0xFFFC)
	cleanBits.addRange(0xFF01, 0xFF5E)
	for _, r := range keepFullWidth {
		cleanBits[r>>6] &^= 1 << (uint(r) & 63)
	}

	// emoji: Extended_Pictographic of the BMP, and the components
	for _, rg := range emojiBMP {
		emojiBits.addRange(rg[0], rg[1])
	}
	for _, rg := range textDefaultBMP {
		emojiBits.addRange(rg[0], rg[1])
	}
	for _, r := range []rune{0x200D, 0x20E3, 0xFE0E, 0xFE0F} {
		emojiBits.add(r)
	}

	for i := range specialBits {
		specialBits[i] = tradBits[i] | compatBits[i] | cleanBits[i] | emojiBits[i]
	}
}

func pairs(s string) map[rune]rune {
	m := make(map[rune]rune, utf8.RuneCountInString(s)/2)
	for len(s) > 0 {
		k, n := utf8.DecodeRuneInString(s)
		v, n2 := utf8.DecodeRuneInString(s[n:])
		m[k] = v
		s = s[n+n2:]
	}
	return m
}

// emojiBMP are the BMP code points of Unicode's Extended_Pictographic that
// show as emoji by default (and the dingbats and symbols of 2600–27BF that
// Weibo users write as emoji with or without VS16).
var emojiBMP = [][2]rune{
	{0x231A, 0x231B}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0}, {0x23F3, 0x23F3}, {0x25FD, 0x25FE},
	{0x2600, 0x2605}, {0x2607, 0x2612}, {0x2614, 0x2685}, {0x2690, 0x2705}, {0x2708, 0x2712},
	{0x2714, 0x2714}, {0x2716, 0x2716}, {0x271D, 0x271D}, {0x2721, 0x2721}, {0x2728, 0x2728},
	{0x2733, 0x2734}, {0x2744, 0x2744}, {0x2747, 0x2747}, {0x274C, 0x274C}, {0x274E, 0x274E},
	{0x2753, 0x2755}, {0x2757, 0x2757}, {0x2763, 0x2767}, {0x2795, 0x2797}, {0x27A1, 0x27A1},
	{0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55},
}

// textDefaultBMP are Extended_Pictographic code points that are ordinary
// text symbols (©, ™, ↔, ▶, ㊙ …) unless VS16 follows them.
var textDefaultBMP = [][2]rune{
	{0xA9, 0xA9}, {0xAE, 0xAE}, {0x203C, 0x203C}, {0x2049, 0x2049}, {0x2122, 0x2122},
	{0x2139, 0x2139}, {0x2194, 0x2199}, {0x21A9, 0x21AA}, {0x2328, 0x2328}, {0x2388, 0x2388},
	{0x23CF, 0x23CF}, {0x23ED, 0x23EF}, {0x23F1, 0x23F2}, {0x23F8, 0x23FA}, {0x24C2, 0x24C2},
	{0x25AA, 0x25AB}, {0x25B6, 0x25B6}, {0x25C0, 0x25C0}, {0x25FB, 0x25FC}, {0x2934, 0x2935},
	{0x2B05, 0x2B07}, {0x3030, 0x3030}, {0x303D, 0x303D}, {0x3297, 0x3297}, {0x3299, 0x3299},
}

func inRanges(r rune, rs [][2]rune) bool {
	for _, rg := range rs {
		if r < rg[0] {
			return false
		}
		if r <= rg[1] {
			return true
		}
	}
	return false
}

// emojiStart tells whether r begins an emoji by itself.
func emojiStart(r rune) bool {
	if r < 0x10000 {
		return inRanges(r, emojiBMP)
	}
	switch {
	case r < 0x1F000 || r > 0x1FAFF:
		return false
	case r < 0x1F100: // mahjong, dominoes, cards
		return true
	case r < 0x1F200: // enclosed alphanumerics: a few are emoji
		return r >= 0x1F170 && r <= 0x1F171 || r >= 0x1F17E && r <= 0x1F17F || r == 0x1F18E || r >= 0x1F191 && r <= 0x1F19A
	case r < 0x1F300: // enclosed ideographic supplement
		return r >= 0x1F201 && r <= 0x1F20F || r == 0x1F21A || r == 0x1F22F || r >= 0x1F232 && r <= 0x1F23A ||
			r >= 0x1F23C && r <= 0x1F23F || r >= 0x1F249
	case r < 0x1F700:
		return r < 0x1F3FB || r > 0x1F3FF // not the skin tones
	case r < 0x1F800:
		return r >= 0x1F7E0
	case r < 0x1F900:
		return false
	}
	return true
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isSkinTone(r rune) bool { return r >= 0x1F3FB && r <= 0x1F3FF }
func isEmojiTag(r rune) bool { return r >= 0xE0020 && r <= 0xE007F }
func isEmojiMod(r rune) bool {
	return r == 0xFE0F || r == 0xFE0E || r == 0x20E3 || isSkinTone(r) || isEmojiTag(r)
}
func isComponent(r rune) bool { return isEmojiMod(r) || r == 0x200D }

// isHan tells whether r is a CJK ideograph (unified, extensions, compatibility).
func isHan(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r >= 0xF900 && r <= 0xFAFF ||
		r >= 0x20000 && r <= 0x323AF || r == 0x3007
}
