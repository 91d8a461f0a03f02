package taxonomy_test

import (
	"slices"
	"testing"
	"unicode/utf8"

	"yuqing/analyzer/segment"
	"yuqing/analyzer/taxonomy"
)

// TestKeywordsAreCutWhole keeps the segmenter's vocabulary
// (analyzer/segment/dict/yuqing.dict.utf8.gz) in step with the default
// taxonomy: a keyword that gojieba cuts apart could never match a token.
func TestKeywordsAreCutWhole(t *testing.T) {
	seg := segment.MustDefault()
	var split []string
	for _, w := range taxonomy.Default().Words() {
		if utf8.RuneCountInString(w) < 2 {
			continue
		}
		if got := seg.Cut(w); !slices.Equal(got, []string{w}) {
			split = append(split, w)
			t.Errorf("%q is cut as %q", w, got)
		}
	}
	if len(split) > 0 {
		t.Log("add them to analyzer/segment/dict/yuqing.dict.utf8.gz (one word a line)")
	}
}
