package classify

import (
	"strings"
	"unicode"

	"yuqing/analyzer/segment"
)

// TokenizeClean cuts a text that textnorm has already cleaned, dropping the
// tokens made only of spaces.
func TokenizeClean(seg *segment.Segmenter, clean string) []string {
	toks := seg.Cut(clean)
	out := toks[:0]
	for _, t := range toks {
		if strings.TrimFunc(t, unicode.IsSpace) != "" {
			out = append(out, t)
		}
	}
	return out
}
