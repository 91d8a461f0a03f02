// Package classify trains, evaluates and runs the analyzer's text classifiers:
// sentiment (positive/negative), news category and rumor (false-information)
// risk. A model is linear over two kinds of features of an already segmented
// text: its words (gojieba tokens, stop words never enter the vocabulary) and
// its character bigrams. Models are stored as gzip'd JSON holding the kind,
// the class names, the vocabulary and the weights, so they can be embedded in
// the binary and loaded without any file beside it.
//
// The rumor model adds a second stage (SpreadLayer, spread.go, layer.go):
// from the text probability and the first hour of a post's reposts and
// comments (Spread) it gives the risk with its reasons (RiskWithSpread).
package classify

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Algorithms a model file may hold.
const (
	AlgoNB = "naive_bayes"         // multinomial Naive Bayes: log-probabilities times counts
	AlgoLR = "logistic_regression" // softmax regression over length-normalised counts
)

// Model is a trained linear text classifier. It is read-only after Load and
// safe for concurrent use.
type Model struct {
	Kind    string   `json:"kind"`
	Algo    string   `json:"algo"`
	Classes []string `json:"classes"`
	// Words and Bigrams are the vocabulary; feature i is Words[i] for
	// i < len(Words), else Bigrams[i-len(Words)].
	Words   []string `json:"words"`
	Bigrams []string `json:"bigrams"`
	// Weights holds len(Classes) weights per feature, feature-major.
	Weights []float32 `json:"weights"`
	Bias    []float32 `json:"bias"`
	// Temperature divides the scores before the softmax (calibration for NB).
	Temperature float64 `json:"temperature"`
	// NeutralThreshold (sentiment only) is the top probability below which a
	// text is called neutral; chosen on a validation slice of the train split.
	NeutralThreshold float64 `json:"neutral_threshold,omitempty"`
	// Info records how the model was trained (rows, smoothing, etc.).
	Info map[string]string `json:"info,omitempty"`
	// Spread (rumor only) is the second stage over the text probability and
	// the first hour of a post's spread (RiskWithSpread); nil in files
	// trained before it, which load and score text as before.
	Spread *SpreadLayer `json:"spread,omitempty"`

	words   map[string]int32
	bigrams map[string]int32
}

// Load reads a gzip'd JSON model.
func Load(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("classify: model is not gzip: %w", err)
	}
	defer zr.Close()
	var m Model
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		return nil, fmt.Errorf("classify: decode model: %w", err)
	}
	if err := m.init(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Model) init() error {
	c := len(m.Classes)
	if c < 2 {
		return fmt.Errorf("classify: model %q has %d classes, need at least 2", m.Kind, c)
	}
	if len(m.Bias) != c {
		return fmt.Errorf("classify: model %q has %d biases for %d classes", m.Kind, len(m.Bias), c)
	}
	if n := len(m.Words) + len(m.Bigrams); len(m.Weights) != n*c {
		return fmt.Errorf("classify: model %q has %d weights, want %d features × %d classes", m.Kind, len(m.Weights), n, c)
	}
	if m.Temperature <= 0 {
		m.Temperature = 1
	}
	if m.Spread != nil {
		if err := m.Spread.init(); err != nil {
			return err
		}
	}
	m.words = make(map[string]int32, len(m.Words))
	for i, w := range m.Words {
		m.words[w] = int32(i)
	}
	m.bigrams = make(map[string]int32, len(m.Bigrams))
	for i, b := range m.Bigrams {
		m.bigrams[b] = int32(len(m.Words) + i)
	}
	return nil
}

// Save writes the model as gzip'd JSON.
func (m *Model) Save(w io.Writer) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		return fmt.Errorf("classify: encode model: %w", err)
	}
	return zw.Close()
}

// Class gives the index of a class name, or -1.
func (m *Model) Class(name string) int { return slices.Index(m.Classes, name) }

// forEachFeature calls fn with the feature index of every word and character
// bigram of tokens that is in the vocabulary. Bigrams run over the text the
// tokens spell, across token boundaries, and only join letters and digits.
func (m *Model) forEachFeature(tokens []string, fn func(f int32)) {
	var buf [8]byte
	var prev rune = -1
	for _, t := range tokens {
		if f, ok := m.words[t]; ok {
			fn(f)
		}
		for _, r := range t {
			if !isWordRune(r) {
				prev = -1
				continue
			}
			if prev >= 0 {
				n := utf8.EncodeRune(buf[:], prev)
				n += utf8.EncodeRune(buf[n:], r)
				if f, ok := m.bigrams[string(buf[:n])]; ok {
					fn(f)
				}
			}
			prev = r
		}
	}
}

// isWordRune reports whether r is a letter or a digit. The common cases
// (ASCII and the CJK Unified Ideographs, all letters) skip the Unicode tables.
func isWordRune(r rune) bool {
	switch {
	case r < 0x80:
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	case 0x4E00 <= r && r <= 0x9FFF:
		return true
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// hasWordRune reports whether s holds a letter or a digit.
func hasWordRune(s string) bool {
	for _, r := range s {
		if isWordRune(r) {
			return true
		}
	}
	return false
}

// Probs writes the class probabilities of a segmented text into dst (grown to
// len(Classes)) and returns it. It allocates nothing when dst is big enough.
func (m *Model) Probs(tokens []string, dst []float64) []float64 {
	c := len(m.Classes)
	dst = slices.Grow(dst[:0], c)[:c]
	for i := range dst {
		dst[i] = 0
	}
	var n float64
	m.forEachFeature(tokens, func(f int32) {
		w := m.Weights[int(f)*c : int(f)*c+c]
		for i := range dst {
			dst[i] += float64(w[i])
		}
		n++
	})
	if m.Algo == AlgoLR && n > 0 {
		s := 1 / math.Sqrt(n)
		for i := range dst {
			dst[i] *= s
		}
	}
	for i := range dst {
		dst[i] = (dst[i] + float64(m.Bias[i])) / m.Temperature
	}
	softmax(dst)
	return dst
}

// Predict gives the most probable class of a segmented text and every class's probability.
func (m *Model) Predict(tokens []string) (label string, probs map[string]float64) {
	var buf [16]float64
	p := m.Probs(tokens, buf[:0])
	best := argmax(p)
	probs = make(map[string]float64, len(p))
	for i, v := range p {
		probs[m.Classes[i]] = v
	}
	return m.Classes[best], probs
}

// Evidence gives up to k distinct words of tokens that speak most for class
// against the others, strongest first.
func (m *Model) Evidence(tokens []string, class, k int) []string {
	c := len(m.Classes)
	if class < 0 || class >= c || k <= 0 {
		return nil
	}
	type ev struct {
		w string
		s float32
	}
	var best []ev
	for _, t := range tokens {
		f, ok := m.words[t]
		if !ok {
			continue
		}
		w := m.Weights[int(f)*c : int(f)*c+c]
		var other float32 = -math.MaxFloat32
		for i, v := range w {
			if i != class && v > other {
				other = v
			}
		}
		s := w[class] - other
		if s <= 0 || slices.ContainsFunc(best, func(e ev) bool { return e.w == t }) {
			continue
		}
		best = append(best, ev{t, s})
	}
	slices.SortStableFunc(best, func(a, b ev) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return 0
	})
	out := make([]string, 0, min(k, len(best)))
	for _, e := range best[:min(k, len(best))] {
		out = append(out, e.w)
	}
	return out
}

func softmax(x []float64) {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		x[i] = math.Exp(v - mx)
		sum += x[i]
	}
	for i := range x {
		x[i] /= sum
	}
}

func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
