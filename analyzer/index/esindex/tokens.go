package esindex

import (
	"strings"

	"yuqing/analyzer/index"
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
		if index.IsWord(w) {
			out = append(out, strings.ToLower(w))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
