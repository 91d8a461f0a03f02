package extract

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

var (
	bomUTF8     = []byte{0xEF, 0xBB, 0xBF}
	charsetRe   = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)`)
	replacement = string(utf8.RuneError)
)

// Decode turns raw page bytes into UTF-8 text and names the encoding it used.
// The bytes win over the declaration: valid UTF-8 stays UTF-8 whatever the
// page claims. Otherwise the declared charset is used if it decodes cleanly,
// then GB18030, then Big5; the candidate with the fewest replacement
// characters wins. It never fails: invalid sequences become U+FFFD.
func Decode(raw []byte) (string, string) {
	raw = bytes.TrimPrefix(raw, bomUTF8)
	if utf8.Valid(raw) {
		return string(raw), "utf-8"
	}
	type cand struct {
		name string
		enc  encoding.Encoding
	}
	var cands []cand
	if name := declaredCharset(raw); name != "" {
		if enc, err := htmlindex.Get(name); err == nil {
			canon, _ := htmlindex.Name(enc)
			cands = append(cands, cand{canon, enc})
		}
	}
	cands = append(cands, cand{"gb18030", simplifiedchinese.GB18030}, cand{"big5", traditionalchinese.Big5})
	best, bestName, bestBad := "", "", -1
	for _, c := range cands {
		out, err := c.enc.NewDecoder().Bytes(raw)
		if err != nil {
			continue
		}
		s := string(out)
		bad := strings.Count(s, replacement)
		if bad == 0 {
			return s, c.name
		}
		if bestBad < 0 || bad < bestBad {
			best, bestName, bestBad = s, c.name, bad
		}
	}
	if bestBad >= 0 && bestBad*100 < len(raw) {
		return best, bestName
	}
	return strings.ToValidUTF8(string(raw), replacement), "utf-8"
}

// declaredCharset returns the charset named by a <meta charset> or
// http-equiv Content-Type in the first 8 KB, lower-cased, or "".
func declaredCharset(raw []byte) string {
	head := raw
	if len(head) > 8192 {
		head = head[:8192]
	}
	m := charsetRe.FindSubmatch(head)
	if m == nil {
		return ""
	}
	return strings.ToLower(string(m[1]))
}
