package bleveindex

import (
	"bytes"
	"fmt"
	"unicode"
	"unsafe"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/yanyiwu/gojieba"

	"yuqing/analyzer/index"
	"yuqing/analyzer/segment"
)

// Names registered with Bleve's registry.
const (
	TokenizerName = "gojieba"
	AnalyzerName  = "zh"
)

func init() {
	registry.RegisterTokenizer(TokenizerName, func(map[string]interface{}, *registry.Cache) (analysis.Tokenizer, error) {
		seg, err := segment.Default()
		if err != nil {
			return nil, fmt.Errorf("bleveindex: gojieba tokenizer: %w", err)
		}
		return &Tokenizer{seg: seg}, nil
	})
	registry.RegisterAnalyzer(AnalyzerName, func(_ map[string]interface{}, cache *registry.Cache) (analysis.Analyzer, error) {
		tok, err := cache.TokenizerNamed(TokenizerName)
		if err != nil {
			return nil, err
		}
		lc, err := cache.TokenFilterNamed(lowercase.Name)
		if err != nil {
			return nil, err
		}
		return &analysis.DefaultAnalyzer{Tokenizer: tok, TokenFilters: []analysis.TokenFilter{lc}}, nil
	})
}

// Tokenizer cuts text in gojieba's search mode (segment's CutForSearch, with
// byte offsets): every word plus the dictionary words inside long ones.
// Tokens made only of spaces, punctuation or symbols are dropped. The short
// words found inside a longer one share its position, so positions count the
// words of the precise segmentation.
type Tokenizer struct {
	seg *segment.Segmenter
}

// Tokenize implements analysis.Tokenizer. It allocates little: gojieba's
// words are substrings of the input, which is not copied, and the tokens
// share one backing array.
func (t *Tokenizer) Tokenize(input []byte) analysis.TokenStream {
	if len(input) == 0 {
		return nil
	}
	// gojieba copies the text into C memory and its words only slice it, so
	// the input need not be copied into a string first.
	words := t.seg.Tokenize(unsafe.String(&input[0], len(input)), gojieba.SearchMode, true)
	kept := words[:0]
	for _, w := range words {
		if w.Start >= 0 && w.End <= len(input) && w.Start < w.End && index.IsWord(w.Str) {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	toks := make([]analysis.Token, len(kept))
	out := make(analysis.TokenStream, len(kept))
	// Search mode emits the words inside a compound just before it, all
	// within its bytes: walking backwards, a token that overlaps the group
	// seen so far belongs to it. Position holds the group counted from the
	// end until the number of groups is known.
	groups, groupStart := 0, -1
	for i := len(kept) - 1; i >= 0; i-- {
		w := kept[i]
		if groups == 0 || w.End <= groupStart {
			groups++
			groupStart = w.Start
		} else if w.Start < groupStart {
			groupStart = w.Start
		}
		toks[i] = analysis.Token{
			Term:     input[w.Start:w.End:w.End],
			Start:    w.Start,
			End:      w.End,
			Position: groups,
			Type:     tokenType(w.Str),
		}
	}
	for i := range toks {
		toks[i].Position = groups - toks[i].Position + 1
		out[i] = &toks[i]
	}
	return out
}

func tokenType(s string) analysis.TokenType {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return analysis.Ideographic
		}
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return analysis.AlphaNumeric
		}
	}
	return analysis.Numeric
}

// termSep separates the terms of a value that splitAnalyzer cuts.
const termSep = '\x1f'

// splitAnalyzer makes a term of each part of a value between termSep bytes
// (empty parts are skipped), so that one field value of a document
// carries many terms.
type splitAnalyzer struct{}

func (splitAnalyzer) Analyze(input []byte) analysis.TokenStream {
	n := bytes.Count(input, []byte{termSep}) + 1
	toks := make([]analysis.Token, 0, n)
	for start := 0; start < len(input); {
		end := bytes.IndexByte(input[start:], termSep)
		if end < 0 {
			end = len(input)
		} else {
			end += start
		}
		if end > start {
			toks = append(toks, analysis.Token{Term: input[start:end:end], Start: start, End: end, Position: len(toks) + 1, Type: analysis.AlphaNumeric})
		}
		start = end + 1
	}
	out := make(analysis.TokenStream, len(toks))
	for i := range toks {
		out[i] = &toks[i]
	}
	return out
}
