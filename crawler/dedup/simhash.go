package dedup

import (
	"math/bits"
	"unicode"
	"unicode/utf8"
)

const (
	// shingleLen is the number of runes in one shingle. Three runes are about
	// one and a half Chinese words: long enough that different articles on
	// one subject share few shingles (with 2-rune shingles the test's two
	// look-alike metro-opening reports came within 8-12 bits of each other),
	// short enough that a changed character touches only three shingles (with
	// 4-rune shingles only 48% of copies with two changed characters stayed
	// within distance 3, against 66% with 3-rune shingles).
	shingleLen = 3

	// taper is the number of shingles over which weights ramp up from each
	// end of the text (see SimHash).
	taper = 128

	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// SimHash returns a 64-bit SimHash of text; near-identical texts get hashes a
// small Hamming Distance apart. Empty text, or text with nothing but
// punctuation, symbols and space, gives 0.
//
// The text is normalised first: full-width ASCII forms (ＡＢＣ１２３) become
// ASCII, letters are lower-cased, and white space, punctuation, symbols,
// control and format characters (such as the zero-width space) are dropped,
// so layout, quotes and full-width/half-width digits do not count. The
// remaining runes are cut into overlapping 3-rune shingles (text shorter than
// 3 runes is one shingle), each hashed with FNV-1a 64 over its UTF-8 bytes;
// every shingle adds its weight to the bits that are set in its hash and
// subtracts it from the others, and the result has the bits whose sums are
// positive.
//
// Weights are not equal: a shingle's weight is its distance, counted in
// shingles, from the nearer end of the text, capped at 128, so weights ramp
// linearly from 1 up to 128 over the first and the last 128 shingles. The
// reason is that syndicated copies of one story differ mostly at the ends: a
// headline, "原标题" or dateline line in front, a "来源：… 责任编辑：…" line, a
// disclaimer or share prompt behind. With equal weights SimHash is too
// sensitive for Index's reach of 3 bits: the chance that a bit flips is the
// angle between the two weight vectors over π, so a 15-20 character headline
// line in front of a 400-character article flips about 3 of the 64 bits on
// average, and often more. Measured on
// the three test articles plus the 24 distinct bodies of the project's sample
// pages cut to 400 characters, with realistic headline and footer lines,
// copies within distance 3 rose from 62% to 94% with a headline line added,
// from 59% to 80% with a footer line and from 38% to 78% with both; for the
// full-length bodies from 86% to 98%, 83% to 91% and 74% to 95%. Different
// articles stayed 19 or more bits apart either way (median 31). Characters
// changed in the middle of the body still count fully, as they should: one
// changed character keeps about 85% of copies within distance 3, two about
// 65% (400 characters; 97% and 88% at full length).
func SimHash(text string) uint64 {
	// Normalise into UTF-8 bytes, remembering where each rune starts; stack
	// buffers cover texts of a few hundred characters without allocating.
	var bbuf [1536]byte
	var obuf [512]int32
	norm, starts := bbuf[:0], obuf[:0]
	if len(text) > len(bbuf) {
		norm = make([]byte, 0, len(text))
	}
	if n := len(text)/2 + 1; n > len(obuf) { // Chinese text: 3 bytes a rune
		starts = make([]int32, 0, n)
	}
	for _, r := range text {
		if r = normRune(r); r >= 0 {
			starts = append(starts, int32(len(norm)))
			norm = utf8.AppendRune(norm, r)
		}
	}
	if len(starts) == 0 {
		return 0
	}
	starts = append(starts, int32(len(norm))) // end of the last rune
	runes := len(starts) - 1
	n := max(runes-shingleLen+1, 1) // number of shingles

	// The sum for bit b is Σ(+w where set) + Σ(-w where clear), which is
	// 2·count[b] - total with count[b] the weight of the shingles that set
	// bit b. The counts are gathered four bits at a time in 16-bit lanes
	// (16 multiply-adds per shingle instead of 64 branches) and flushed
	// before a lane can overflow.
	var count [64]int64
	var lanes [16]uint64
	var total int64
	pending := 0
	for i := range n {
		h := uint64(fnvOffset)
		for _, c := range norm[starts[i]:starts[min(i+shingleLen, runes)]] {
			h ^= uint64(c)
			h *= fnvPrime
		}
		w := uint64(min(i, n-1-i, taper-1) + 1)
		total += int64(w)
		for j := range lanes {
			lanes[j] += w * nibbleLanes[h>>(4*j)&0xF]
		}
		if pending++; pending == flushEvery {
			flushLanes(&lanes, &count)
			pending = 0
		}
	}
	flushLanes(&lanes, &count)
	var out uint64
	for b, c := range count {
		if 2*c > total {
			out |= 1 << b
		}
	}
	return out
}

// flushEvery is how many shingles the 16-bit lanes can take: each adds at
// most taper (128), and 511·128 < 65536.
const flushEvery = (1<<16 - 1) / taper

// nibbleLanes[v] has, in 16-bit lane k, bit k of v.
var nibbleLanes = func() (t [16]uint64) {
	for v := range t {
		for k := range 4 {
			t[v] |= uint64(v>>k&1) << (16 * k)
		}
	}
	return t
}()

// flushLanes adds the lane counts to count and clears the lanes.
func flushLanes(lanes *[16]uint64, count *[64]int64) {
	for j, l := range lanes {
		for k := range 4 {
			count[4*j+k] += int64(l >> (16 * k) & 0xFFFF)
		}
		lanes[j] = 0
	}
}

// normRune maps a rune to its normalised form, or -1 when it is dropped.
func normRune(r rune) rune {
	if r < utf8.RuneSelf {
		switch {
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		default:
			return -1 // ASCII space, punctuation, symbols and controls
		}
	}
	if 0x4E00 <= r && r <= 0x9FFF { // CJK Unified Ideographs: letters, no case
		return r
	}
	if 0xFF01 <= r && r <= 0xFF5E { // full-width ASCII forms
		return normRune(r - 0xFEE0)
	}
	if r == 0x3000 || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) ||
		unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
		return -1
	}
	return unicode.ToLower(r)
}

// Distance returns the Hamming distance between two hashes: the number of
// bits in which they differ.
func Distance(a, b uint64) int {
	return bits.OnesCount64(a ^ b)
}
