package parse

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strings"

	"yuqing/crawler/extract"
)

const xmlNS = "http://www.w3.org/XML/1998/namespace"

// xmlText decodes raw XML bytes of any Chinese encoding to UTF-8 and removes
// what encoding/xml refuses outright: characters outside the XML character
// range (control characters copied in from word processors are common) and
// anything before the first '<' (BOMs, blank lines, PHP notices).
func xmlText(raw []byte) string {
	s, _ := extract.Decode(raw)
	return xmlClean(s)
}

// xmlClean is xmlText for text already decoded.
func xmlClean(s string) string {
	if i := strings.IndexByte(s, '<'); i > 0 {
		s = s[i:]
	}
	if xmlValid(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if xmlChar(r) {
			return r
		}
		return -1
	}, s)
}

// xmlValid reports whether valid UTF-8 s holds only XML characters: no C0
// controls but tab and line ends, no U+FFFE or U+FFFF.
func xmlValid(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return false
		case c == 0xEF && i+2 < len(s) && s[i+1] == 0xBF && s[i+2] >= 0xBE:
			return false
		}
	}
	return true
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// newXMLDecoder is a lenient decoder over UTF-8 text: not strict (bare &,
// unknown entities, mismatched end tags and unquoted attributes pass), HTML
// entities known, and whatever encoding the declaration names accepted as
// is, since the text has already been decoded.
func newXMLDecoder(s string) *xml.Decoder {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	return d
}

func xmlAttr(e xml.StartElement, local string) (string, bool) {
	for _, a := range e.Attr {
		if strings.EqualFold(a.Name.Local, local) {
			return a.Value, true
		}
	}
	return "", false
}

// xmlBase applies an xml:base attribute of e to the enclosing base.
func xmlBase(parent *url.URL, e xml.StartElement) *url.URL {
	for _, a := range e.Attr {
		if a.Name.Local == "base" && (a.Name.Space == xmlNS || a.Name.Space == "xml") {
			if u := resolve(parent, a.Value); u != nil {
				return u
			}
		}
	}
	return parent
}

// boundedBuilder gathers character data up to maxFieldBytes.
type boundedBuilder struct{ strings.Builder }

func (b *boundedBuilder) add(p []byte) {
	if room := maxFieldBytes - b.Len(); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		b.Write(p)
	}
}

func (b *boundedBuilder) addString(s string) { b.add([]byte(s)) }

// formatErr wraps ErrFormat, and the read error if there was one.
func formatErr(msg string, readErr error) error {
	if readErr != nil {
		return fmt.Errorf("%s: %w: %w", msg, ErrFormat, readErr)
	}
	return fmt.Errorf("%s: %w", msg, ErrFormat)
}
