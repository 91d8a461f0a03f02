package parse

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"yuqing/crawler/extract"
)

const (
	// MaxSitemapBytes bounds a gunzipped sitemap (the protocol's own limit);
	// what lies beyond is not read.
	MaxSitemapBytes = 50 << 20
	// maxSitemapEntries bounds the entries considered in one sitemap (the
	// protocol allows 50,000).
	maxSitemapEntries = 200_000
)

// sitemapLimit is MaxSitemapBytes, lowered by tests.
var sitemapLimit = MaxSitemapBytes

// Sitemap reads a sitemap: a urlset gives items (URL from loc, PublishedAt
// from news:publication_date or else lastmod, Title from news:title), a
// sitemap index gives the nested sitemaps' URLs. A plain-text sitemap (one
// URL per line) gives items too. Gzipped bodies (magic 1f 8b) are gunzipped
// first, at most MaxSitemapBytes of them; the bytes may be in any Chinese
// encoding. Relative locations are resolved against base; only http(s) URLs
// are kept, each once, in document order.
//
// When a sitemap lists more than MaxItems URLs (or nested sitemaps), the
// MaxItems most recent by date are kept (undated ones count as oldest, ties
// go to the earlier entry), still in document order: news sitemaps append
// and prepend alike, and the newest entries are what a monitor wants.
//
// Like Feed, broken XML gives the entries read before the break; an error
// comes only when nothing could be read: empty body, corrupt gzip, not a
// sitemap (ErrFormat), or broken before the first entry. A well-formed empty
// urlset gives no items and no error.
func Sitemap(body []byte, base string) (items []Item, sitemaps []string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, fmt.Errorf("parse: sitemap: %w", ErrEmpty)
	}
	for range 2 { // a .gz served again with gzip transfer coding is gzipped twice
		if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
			break
		}
		body, err = gunzip(body)
		if err != nil && len(body) == 0 {
			return nil, nil, fmt.Errorf("parse: sitemap: corrupt gzip (gzip 数据损坏): %w", err)
		}
		err = nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, fmt.Errorf("parse: sitemap: %w", ErrEmpty)
	}
	b := parseBase(base)
	text, _ := extract.Decode(body)
	if t := strings.TrimLeft(text, " \t\r\n\ufeff"); !strings.HasPrefix(t, "<") {
		return textSitemap(t, b)
	}
	return xmlSitemap(text, b)
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(sitemapLimit)+1))
	if len(out) > sitemapLimit {
		return out[:sitemapLimit], nil
	}
	return out, err
}

// textSitemap reads one URL per line.
func textSitemap(s string, b *url.URL) ([]Item, []string, error) {
	var ents []smEntry
	seen := map[string]bool{}
	for line := range strings.Lines(s) {
		if len(ents) == maxSitemapEntries {
			break
		}
		line = strings.TrimSpace(line)
		low := strings.ToLower(line)
		if !strings.HasPrefix(low, "http://") && !strings.HasPrefix(low, "https://") {
			continue
		}
		if u := absURL(b, line); u != "" && !seen[u] {
			seen[u] = true
			ents = append(ents, smEntry{loc: u, idx: len(ents)})
		}
	}
	if len(ents) == 0 {
		return nil, nil, fmt.Errorf("parse: sitemap: neither XML nor a list of URLs (不是站点地图): %w", ErrFormat)
	}
	return smItems(ents), nil, nil
}

type smEntry struct {
	loc, title string
	when       time.Time
	idx        int
}

func xmlSitemap(text string, b *url.URL) ([]Item, []string, error) {
	d := newXMLDecoder(xmlClean(text))
	var (
		urls, maps []smEntry
		seen       = map[string]bool{}
		first      string
		sawRoot    bool
		inEntry    bool
		isIndex    bool
		depth, at  int
		field      string
		fieldAt    int
		buf        boundedBuilder
		loc        string
		dates      [2]string // publication_date, lastmod
		title      string
		readErr    error
	)
	for len(urls)+len(maps) < maxSitemapEntries {
		tok, err := d.Token()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			local := strings.ToLower(t.Name.Local)
			if first == "" {
				first = t.Name.Local
			}
			switch {
			case inEntry:
				if field != "" {
					break
				}
				switch {
				case depth == at+1 && local == "loc":
					field = "loc"
				case depth == at+1 && local == "lastmod":
					field = "lastmod"
				case local == "publication_date":
					field = "pubdate"
				case local == "title" && strings.Contains(strings.ToLower(t.Name.Space), "news"):
					field = "title"
				}
				if field != "" {
					fieldAt = depth
					buf.Reset()
				}
			case local == "urlset" || local == "sitemapindex":
				sawRoot = true
			case sawRoot && (local == "url" || local == "sitemap"):
				inEntry, isIndex, at = true, local == "sitemap", depth
				loc, title, dates = "", "", [2]string{}
			}
		case xml.EndElement:
			switch {
			case inEntry && depth == at:
				inEntry = false
				u := absURL(b, loc)
				if u == "" || seen[u] {
					break
				}
				seen[u] = true
				e := smEntry{loc: u, title: title}
				for _, s := range dates {
					if tm, ok := Time(s); ok {
						e.when = tm
						break
					}
				}
				if isIndex {
					e.idx = len(maps)
					maps = append(maps, e)
				} else {
					e.idx = len(urls)
					urls = append(urls, e)
				}
			case field != "" && depth == fieldAt:
				s := buf.String()
				switch field {
				case "loc":
					loc = s
				case "lastmod":
					dates[1] = s
				case "pubdate":
					dates[0] = s
				case "title":
					title = s
				}
				field = ""
			}
			depth--
		case xml.CharData:
			if field != "" {
				buf.add(t)
			}
		}
	}
	if len(urls)+len(maps) > 0 {
		return smItems(urls), smURLs(maps), nil
	}
	if !sawRoot {
		if first == "" {
			return nil, nil, formatErr("parse: sitemap: no XML element found (不是站点地图)", readErr)
		}
		return nil, nil, fmt.Errorf("parse: sitemap: root element <%s> is not urlset or sitemapindex (不是站点地图): %w", first, ErrFormat)
	}
	if readErr != nil {
		return nil, nil, fmt.Errorf("parse: sitemap: broken before its first entry (站点地图格式错误，未读到任何条目): %w", readErr)
	}
	return nil, nil, nil
}

// newest keeps the MaxItems most recent entries, in document order.
func newest(ents []smEntry) []smEntry {
	if len(ents) <= MaxItems {
		return ents
	}
	ents = slices.Clone(ents)
	slices.SortStableFunc(ents, func(a, b smEntry) int { return b.when.Compare(a.when) })
	ents = ents[:MaxItems]
	slices.SortFunc(ents, func(a, b smEntry) int { return a.idx - b.idx })
	return ents
}

func smItems(ents []smEntry) []Item {
	ents = newest(ents)
	if len(ents) == 0 {
		return nil
	}
	out := make([]Item, len(ents))
	for i, e := range ents {
		out[i] = Item{URL: e.loc, Title: cleanLine(e.title, MaxTitleRunes), PublishedAt: e.when}
	}
	return out
}

func smURLs(ents []smEntry) []string {
	ents = newest(ents)
	if len(ents) == 0 {
		return nil
	}
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.loc
	}
	return out
}
