package classify

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Kinds of model.
const (
	KindSentiment = "sentiment"
	KindCategory  = "category"
	KindRumor     = "rumor"
)

// Kinds lists the kinds Train and Eval know.
var Kinds = []string{KindSentiment, KindCategory, KindRumor}

// Example is one labelled text.
type Example struct {
	Text  string
	Label string
	// group is the text whose hash decides the example's split, fold and
	// validation slice: the text itself, or for Weibo posts the canonical
	// text of its group of near-duplicates (see ReadCascades).
	group string
}

// Splits of a data set. Every example falls in train or test by a hash of its
// text, so the same text always lands in the same split; validation is a
// slice of train used for tuning. Weibo posts (rumor) are split by post,
// with their reposts and comments, and by group of near-duplicate texts
// (ReadCascades): InSplit of the group's canonical text.
const (
	SplitTrain = "train"
	SplitTest  = "test"
	SplitAll   = "all"
)

func textHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// InSplit reports whether a text belongs to split: 80% of texts are train and 20% test.
func InSplit(text, split string) bool {
	switch split {
	case SplitAll:
		return true
	case SplitTest:
		return textHash(text)%10 >= 8
	default:
		return textHash(text)%10 < 8
	}
}

// inValidation reports whether a train text is in the validation slice (1/8 of train).
func inValidation(text string) bool { return (textHash(text)/10)%8 == 0 }

// ReadExamples reads the labelled texts of kind from files in the formats of
// the shared data: CSV "label,review" (sentiment), TSV "title<TAB>class-index"
// with thucnews_class.txt beside it (category), Weibo JSONL, gzip'd or not
// (rumor). Only the examples of split are kept.
func ReadExamples(kind string, files []string, split string) ([]Example, error) {
	if len(files) == 0 {
		return nil, errors.New("classify: no data files given")
	}
	var out []Example
	for _, path := range files {
		var err error
		switch kind {
		case KindSentiment:
			out, err = readSentiment(path, split, out)
		case KindCategory:
			out, err = readCategory(path, split, out)
		case KindRumor:
			// Weibo posts are split by group of near-duplicates over all
			// the files at once
			cs, err := ReadCascades(files, split)
			if err != nil {
				return nil, err
			}
			return append(out, examplesOf(cs)...), nil
		default:
			return nil, fmt.Errorf("classify: unknown kind %q (want one of %s)", kind, strings.Join(Kinds, ", "))
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("classify: %s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

func readSentiment(path, split string, out []Example) ([]Example, error) {
	f, err := open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	line := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return out, fmt.Errorf("classify: %s: %w", path, err)
		}
		if len(rec) < 2 {
			continue
		}
		var label string
		switch strings.TrimSpace(rec[0]) {
		case "1":
			label = "positive"
		case "0":
			label = "negative"
		case "label":
			if line == 1 {
				continue
			}
			fallthrough
		default:
			return out, fmt.Errorf("classify: %s line %d: label %q is neither 1 nor 0", path, line, rec[0])
		}
		text := strings.TrimSpace(strings.Join(rec[1:], ","))
		if text != "" && InSplit(text, split) {
			out = append(out, Example{Text: text, Label: label, group: text})
		}
	}
	return out, nil
}

func readCategory(path, split string, out []Example) ([]Example, error) {
	classFile := filepath.Join(filepath.Dir(path), "thucnews_class.txt")
	cb, err := os.ReadFile(classFile)
	if err != nil {
		return out, fmt.Errorf("classify: class names for %s: %w", path, err)
	}
	var names []string
	for _, l := range strings.Split(string(cb), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	f, err := open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		i := strings.LastIndexByte(l, '\t')
		if i < 0 {
			return out, fmt.Errorf("classify: %s line %d: no tab between title and class", path, line)
		}
		idx, err := strconv.Atoi(strings.TrimSpace(l[i+1:]))
		if err != nil || idx < 0 || idx >= len(names) {
			return out, fmt.Errorf("classify: %s line %d: class %q is not an index into %s", path, line, l[i+1:], classFile)
		}
		text := strings.TrimSpace(l[:i])
		if text != "" && InSplit(text, split) {
			out = append(out, Example{Text: text, Label: names[idx], group: text})
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("classify: %s: %w", path, err)
	}
	return out, nil
}
