package esindex

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yanyiwu/gojieba"

	"yuqing/analyzer/segment"
)

// contentTokens gives the content_tokens of a post: title and text cut in
// gojieba's search mode (every word plus the dictionary words inside long
// ones), lowercased, tokens made only of spaces, punctuation or symbols
// dropped: the terms of bleveindex's gojieba analyzer, in order. They are
// indexed as the values of a keyword field, one term each, so no analyzer
// and no Elasticsearch plugin is involved.
func contentTokens(seg *segment.Segmenter, title, text string) []string {
	content := title
	if text != "" {
		if content != "" {
			content += "\n"
		}
		content += text
	}
	if content == "" {
		return nil
	}
	words := seg.CutForSearch(content)
	out := words[:0]
	for _, w := range words {
		if isWord(w) {
			out = append(out, strings.ToLower(w))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// isWord reports whether s has a rune that is not a space, punctuation,
// symbol or control (the rule of bleveindex's tokenizer).
func isWord(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError {
			continue
		}
		if !unicode.IsSpace(r) && !unicode.IsPunct(r) && !unicode.IsSymbol(r) && !unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// queryGroups segments a query like bleveindex does: one group per word of
// the precise segmentation, each with the search-mode words inside it
// (lowercased, the whole word last when it is one of them). A word with
// nothing indexable is skipped.
func queryGroups(seg *segment.Segmenter, q string) [][]string {
	var groups [][]string
	for _, w := range seg.Cut(q) {
		if !isWord(w) {
			continue
		}
		var terms []string
		seen := map[string]bool{}
		for _, sw := range seg.Jieba().Tokenize(w, gojieba.SearchMode, true) {
			if !isWord(sw.Str) {
				continue
			}
			term := strings.ToLower(sw.Str)
			if !seen[term] {
				seen[term] = true
				terms = append(terms, term)
			}
		}
		if len(terms) > 0 {
			groups = append(groups, terms)
		}
	}
	return groups
}
