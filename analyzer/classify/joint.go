package classify

import (
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// Joint runs several models over one text with a single pass of vocabulary
// look-ups: the models' vocabularies are merged, and each merged feature
// knows its index in every model. It gives exactly what each model's Probs
// and Evidence give, several times faster than calling them one by one.
type Joint struct {
	models []*Model
	words  map[string]int32 // while building
	wt     *wordTable
	// wordy: every vocabulary word holds a letter or digit (training keeps
	// no other), so tokens without one need no look-up
	wordy bool
	// bigrams is an open-addressing hash table of the character bigrams:
	// each slot packs the two runes (21 bits each) in its low 42 bits and
	// the merged feature in the high 22; zero is an empty slot (a bigram
	// only joins letters and digits, never rune 0). It is several times
	// faster than a Go map for the mostly missing look-ups of a text.
	bigrams   []uint64
	bigramSh  uint             // 64 - log2(len(bigrams))
	bigramMap map[uint64]int32 // while building; and the table when features do not fit in 22 bits
	idx       []int32          // merged feature u, model k → feature of model k, or -1
	// w holds, per merged feature, every model's class weights side by side
	// (zero where a model lacks the feature); mask says which models have it.
	w      []float32
	mask   []uint8
	off    []int // model k's classes start at off[k] in a row
	stride int
}

// NewJoint merges the vocabularies of models.
func NewJoint(models ...*Model) *Joint {
	if len(models) > 8 {
		panic("classify: NewJoint takes at most 8 models")
	}
	j := &Joint{models: models, words: map[string]int32{}, bigramMap: map[uint64]int32{}}
	k := len(models)
	next := func() int32 {
		u := int32(len(j.idx) / k)
		for range k {
			j.idx = append(j.idx, -1)
		}
		return u
	}
	j.wordy = true
	for mi, m := range models {
		for s, f := range m.words {
			j.wordy = j.wordy && hasWordRune(s)
			u, ok := j.words[s]
			if !ok {
				u = next()
				j.words[s] = u
			}
			j.idx[int(u)*k+mi] = f
		}
		for s, f := range m.bigrams {
			r1, n := utf8.DecodeRuneInString(s)
			r2, _ := utf8.DecodeRuneInString(s[n:])
			key := bigramKey(r1, r2)
			u, ok := j.bigramMap[key]
			if !ok {
				u = next()
				j.bigramMap[key] = u
			}
			j.idx[int(u)*k+mi] = f
		}
	}
	j.off = make([]int, k)
	for mi, m := range models {
		j.off[mi] = j.stride
		j.stride += len(m.Classes)
	}
	// a row of 16 float32 is one 64-byte cache line (large allocations are
	// page-aligned), so a feature's weights cost a single line
	j.stride = (j.stride + 15) &^ 15
	nu := len(j.idx) / k
	j.wt = newWordTable(j.words)
	if nu < 1<<bigramValBits {
		j.buildBigramTable()
	}
	j.w = make([]float32, nu*j.stride)
	j.mask = make([]uint8, nu)
	for u := range nu {
		for mi, m := range models {
			f := j.idx[u*k+mi]
			if f < 0 {
				continue
			}
			j.mask[u] |= 1 << mi
			c := len(m.Classes)
			copy(j.w[u*j.stride+j.off[mi]:], m.Weights[int(f)*c:int(f)*c+c])
		}
	}
	return j
}

const (
	bigramKeyBits = 42 // two 21-bit runes
	bigramKeyMask = 1<<bigramKeyBits - 1
	bigramValBits = 64 - bigramKeyBits
)

func bigramKey(r1, r2 rune) uint64 { return uint64(r1)<<21 | uint64(r2) }

// buildBigramTable moves bigramMap into the open-addressing table, at most
// half full.
func (j *Joint) buildBigramTable() {
	size := 1024
	for size < 2*len(j.bigramMap) {
		size <<= 1
	}
	j.bigrams = make([]uint64, size)
	j.bigramSh = uint(64 - bits.TrailingZeros(uint(size)))
	mask := uint64(size - 1)
	for key, u := range j.bigramMap {
		for h := bigramHash(key, j.bigramSh); ; h = (h + 1) & mask {
			if j.bigrams[h] == 0 {
				j.bigrams[h] = key | uint64(u)<<bigramKeyBits
				break
			}
		}
	}
	j.bigramMap = nil
}

func bigramHash(key uint64, sh uint) uint64 { return (key * 0x9E3779B97F4A7C15) >> sh }

// bigram gives the merged feature of a bigram key, or -1.
func (j *Joint) bigram(key uint64) int32 {
	if j.bigrams == nil {
		if u, ok := j.bigramMap[key]; ok {
			return u
		}
		return -1
	}
	mask := uint64(len(j.bigrams) - 1)
	for h := bigramHash(key, j.bigramSh); ; h = (h + 1) & mask {
		e := j.bigrams[h]
		if e&bigramKeyMask == key {
			return int32(e >> bigramKeyBits)
		}
		if e == 0 {
			return -1
		}
	}
}

// JointResult holds one text's scores from every model of a Joint; reuse it
// across calls to avoid allocating.
type JointResult struct {
	// Probs[k] are model k's class probabilities.
	Probs [][]float64
	hits  []int32 // merged word features, in token order (for Evidence)
	toks  []string
	words []int32 // Score's look-ups
}

// Features gives the number of merged features; a word's merged feature is
// below it.
func (j *Joint) Features() int { return len(j.mask) }

// EachWord calls fn with every vocabulary word and its merged feature.
func (j *Joint) EachWord(fn func(word string, u int32)) {
	for w, u := range j.words {
		fn(w, u)
	}
}

// Word gives the merged feature of a vocabulary word, or -1.
func (j *Joint) Word(t string) int32 {
	if j.wordy && !hasWordRune(t) {
		return -1
	}
	return j.wt.get(t)
}

// Score fills r with every model's class probabilities for tokens.
func (j *Joint) Score(tokens []string, r *JointResult) {
	r.words = r.words[:0]
	for _, t := range tokens {
		r.words = append(r.words, j.Word(t))
	}
	j.ScoreWords(tokens, r.words, r)
}

// ScoreWords is Score for a caller that already looked the tokens up:
// words[i] is Word(tokens[i]).
func (j *Joint) ScoreWords(tokens []string, words []int32, r *JointResult) {
	k := len(j.models)
	if len(r.Probs) != k {
		r.Probs = make([][]float64, k)
	}
	var accBuf [32]float32
	acc := accBuf[:0]
	if j.stride > len(accBuf) {
		acc = make([]float32, j.stride)
	} else {
		acc = accBuf[:j.stride]
	}
	var n [8]int
	r.hits, r.toks = r.hits[:0], r.toks[:0]
	hit := func(u int32) {
		row := j.w[int(u)*j.stride : int(u)*j.stride+j.stride]
		for i, v := range row {
			acc[i] += v
		}
		for m := j.mask[u]; m != 0; m &= m - 1 {
			n[bits.TrailingZeros8(m)]++
		}
	}
	var prev rune = -1
	for i, t := range tokens {
		if u := words[i]; u >= 0 {
			hit(u)
			r.hits = append(r.hits, u)
			r.toks = append(r.toks, t)
		}
		for _, ru := range t {
			if !isWordRune(ru) {
				prev = -1
				continue
			}
			if prev >= 0 {
				if u := j.bigram(bigramKey(prev, ru)); u >= 0 {
					hit(u)
				}
			}
			prev = ru
		}
	}
	for mi, m := range j.models {
		c := len(m.Classes)
		p := slices.Grow(r.Probs[mi][:0], c)[:c]
		r.Probs[mi] = p
		s := 1.0
		if m.Algo == AlgoLR && n[mi] > 0 {
			s = 1 / math.Sqrt(float64(n[mi]))
		}
		for i := range p {
			p[i] = (float64(acc[j.off[mi]+i])*s + float64(m.Bias[i])) / m.Temperature
		}
		softmax(p)
	}
}

// Evidence is Model.Evidence for model k of the Joint, over the text last
// scored into r.
func (j *Joint) Evidence(r *JointResult, k, class, limit int) []string {
	if limit <= 0 {
		return nil
	}
	var buf [8]string
	out := j.AppendEvidence(buf[:0], r, k, class, limit)
	return append(make([]string, 0, len(out)), out...)
}

// AppendEvidence appends Evidence(r, k, class, limit) to dst. It keeps only
// the best limit words as it goes instead of sorting them all, and
// allocates nothing when limit is at most 16 and dst has room.
func (j *Joint) AppendEvidence(dst []string, r *JointResult, k, class, limit int) []string {
	m := j.models[k]
	c := len(m.Classes)
	if class < 0 || class >= c || limit <= 0 {
		return dst
	}
	type ev struct {
		w string
		s float32
	}
	var arr [16]ev
	best := arr[:0]
	if limit > len(arr) {
		best = make([]ev, 0, limit)
	}
	bit := uint8(1) << k
	lo := j.off[k]
	for h, u := range r.hits {
		if j.mask[u]&bit == 0 {
			continue
		}
		// model k's weights, as NewJoint copied them into the row Score read
		row := int(u)*j.stride + lo
		w := j.w[row : row+c]
		var other float32 = -math.MaxFloat32
		for i, v := range w {
			if i != class && v > other {
				other = v
			}
		}
		s := w[class] - other
		if s <= 0 || (len(best) == limit && s <= best[limit-1].s) {
			continue
		}
		t := r.toks[h]
		if slices.ContainsFunc(best, func(e ev) bool { return e.w == t }) {
			continue
		}
		// after every word scoring at least s: a stable descending order
		at := len(best)
		for at > 0 && best[at-1].s < s {
			at--
		}
		if len(best) < limit {
			best = append(best, ev{})
		}
		copy(best[at+1:], best[at:len(best)-1])
		best[at] = ev{t, s}
	}
	for _, e := range best {
		dst = append(dst, e.w)
	}
	return dst
}
