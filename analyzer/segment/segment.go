// Package segment cuts Chinese text into words with gojieba. The dictionaries
// are embedded in the binary and written once to a cache folder at first use,
// so a built binary needs neither the Go module cache nor any file beside it.
//
// Besides gojieba's own dictionaries, dict/yuqing.dict.utf8.gz holds the
// product's vocabulary: government and public-opinion terms (舆情, 督办函,
// 政策解读 …) and the keywords of the default taxonomy (analyzer/taxonomy),
// so that they are cut whole (a test keeps the two in step). AddWords adds
// more at run time, for example the names of the organisation tree's units.
//
// One Segmenter is safe for concurrent use; Default shares one per process.
// A Segmenter holds about 150 MB of dictionaries: share it.
package segment

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/yanyiwu/gojieba"
)

//go:embed dict/*.gz
var dicts embed.FS

// dictFiles in the order gojieba.NewJieba takes them.
var dictFiles = []string{"jieba.dict.utf8", "hmm_model.utf8", "user.dict.utf8", "idf.utf8", "stop_words.utf8"}

// vocabularyFile is the product's vocabulary, one word a line, added to the
// dictionary after loading.
const vocabularyFile = "dict/yuqing.dict.utf8.gz"

// Segmenter cuts text into words and knows each word's IDF and whether it is a stop word.
type Segmenter struct {
	// mu guards jieba's dictionary against AddWords during a cut
	mu        sync.RWMutex
	jieba     *gojieba.Jieba
	idf       map[string]float64
	medianIDF float64
	stop      map[string]struct{}
	added     map[string]struct{} // by AddWords
}

var (
	defaultOnce sync.Once
	defaultSeg  *Segmenter
	defaultErr  error
)

// Default gives the process-wide segmenter, loading it on first use.
func Default() (*Segmenter, error) {
	defaultOnce.Do(func() { defaultSeg, defaultErr = New("") })
	return defaultSeg, defaultErr
}

// MustDefault is Default for places where a missing dictionary is a programming error.
func MustDefault() *Segmenter {
	s, err := Default()
	if err != nil {
		panic(err)
	}
	return s
}

// New loads a segmenter, writing the embedded dictionaries under dir (the
// user's cache folder when dir is empty).
func New(dir string) (*Segmenter, error) {
	paths, err := materialize(dir)
	if err != nil {
		return nil, err
	}
	s := &Segmenter{jieba: gojieba.NewJieba(paths...)}
	words, err := vocabulary()
	if err != nil {
		return nil, err
	}
	s.AddWords(words)
	if s.idf, s.medianIDF, err = loadIDF(paths[3]); err != nil {
		return nil, err
	}
	if s.stop, err = loadStop(paths[4]); err != nil {
		return nil, err
	}
	return s, nil
}

// Cut segments text in gojieba's default (precise) mode with the HMM for unknown words.
func (s *Segmenter) Cut(text string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jieba.Cut(text, true)
}

// CutForSearch also emits the shorter words inside long ones, for search queries and index terms.
func (s *Segmenter) CutForSearch(text string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jieba.CutForSearch(text, true)
}

// AddedWordFreq is the frequency AddWords gives a word, as in gojieba's
// dictionary (where 着 has 188,584, 社会 43,401 and 火 8,518): enough for
// 黑社会 or 着火 to beat their parts, and no more.
const AddedWordFreq = 3000

// AddWords adds words to the dictionary so that they are cut whole from now
// on (words with whitespace, empty or longer than 32 characters are
// skipped); it gives how many were new. Cuts wait while it runs.
func (s *Segmenter) AddWords(words []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added == nil {
		s.added = map[string]struct{}{}
	}
	n := 0
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" || strings.ContainsAny(w, " \t\r\n") || !utf8.ValidString(w) || utf8.RuneCountInString(w) > 32 {
			continue
		}
		if _, ok := s.added[w]; ok {
			continue
		}
		s.added[w] = struct{}{}
		s.jieba.AddWordEx(w, AddedWordFreq, "")
		n++
	}
	return n
}

// Tokenize is gojieba's Tokenize (words with their byte offsets) under the
// dictionary lock.
func (s *Segmenter) Tokenize(text string, mode gojieba.TokenizeMode, hmm bool) []gojieba.Word {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jieba.Tokenize(text, mode, hmm)
}

// Jieba exposes the underlying gojieba instance, for benchmarks against raw
// segmentation only: it is not guarded against AddWords.
func (s *Segmenter) Jieba() *gojieba.Jieba { return s.jieba }

// IDF gives a word's inverse document frequency; unknown words get the median.
func (s *Segmenter) IDF(word string) float64 {
	if v, ok := s.idf[word]; ok {
		return v
	}
	return s.medianIDF
}

// IsStop reports whether a word is a stop word (including punctuation).
func (s *Segmenter) IsStop(word string) bool {
	_, ok := s.stop[word]
	return ok
}

// vocabulary reads the embedded product vocabulary.
func vocabulary() ([]string, error) {
	b, err := dicts.ReadFile(vocabularyFile)
	if err != nil {
		return nil, fmt.Errorf("segment: embedded vocabulary: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("segment: embedded vocabulary: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("segment: embedded vocabulary: %w", err)
	}
	return strings.Fields(string(data)), nil
}

// materialize writes the embedded dictionaries to a folder named after their
// content hash and returns their paths, in gojieba's order.
func materialize(dir string) ([]string, error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil || base == "" {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "yuqing")
	}
	h := sha256.New()
	raw := make([][]byte, len(dictFiles))
	for i, name := range dictFiles {
		b, err := dicts.ReadFile("dict/" + name + ".gz")
		if err != nil {
			return nil, fmt.Errorf("segment: embedded dictionary %s: %w", name, err)
		}
		raw[i] = b
		h.Write(b)
	}
	dir = filepath.Join(dir, "jieba-"+hex.EncodeToString(h.Sum(nil))[:12])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("segment: dictionary folder: %w", err)
	}
	paths := make([]string, len(dictFiles))
	for i, name := range dictFiles {
		p := filepath.Join(dir, name)
		paths[i] = p
		if _, err := os.Stat(p); err == nil {
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw[i]))
		if err != nil {
			return nil, fmt.Errorf("segment: dictionary %s: %w", name, err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("segment: dictionary %s: %w", name, err)
		}
		tmp, err := os.CreateTemp(dir, name+".tmp*")
		if err != nil {
			return nil, fmt.Errorf("segment: write dictionary: %w", err)
		}
		if _, err := tmp.Write(data); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return nil, fmt.Errorf("segment: write dictionary %s: %w", p, err)
		}
		tmp.Close()
		if err := os.Rename(tmp.Name(), p); err != nil {
			return nil, fmt.Errorf("segment: write dictionary %s: %w", p, err)
		}
	}
	return paths, nil
}

func loadIDF(path string) (map[string]float64, float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	idf := make(map[string]float64, 270000)
	var vals []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		word, num, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil {
			continue
		}
		idf[word] = v
		vals = append(vals, v)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	median := 10.0
	if len(vals) > 0 {
		// a rough median is enough: the mean of the values is close for this dictionary
		var sum float64
		for _, v := range vals {
			sum += v
		}
		median = sum / float64(len(vals))
	}
	return idf, median, nil
}

func loadStop(path string) (map[string]struct{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	stop := map[string]struct{}{" ": {}, "\t": {}, "\n": {}, "\r": {}}
	for _, w := range strings.Split(string(b), "\n") {
		if w = strings.TrimRight(w, "\r"); w != "" {
			stop[w] = struct{}{}
		}
	}
	return stop, nil
}
