package parse

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
)

const (
	atomNS    = "http://www.w3.org/2005/Atom"
	atom03NS  = "http://purl.org/atom/ns#"
	rss1NS    = "http://purl.org/rss/1.0/"
	rss09NS   = "http://my.netscape.com/rdf/simple/0.9/"
	dcNS      = "http://purl.org/dc/elements/1.1/"
	dctermsNS = "http://purl.org/dc/terms/"
	contentNS = "http://purl.org/rss/1.0/modules/content/"
	rdfNS     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
)

// Feed reads an RSS 2.0 (and 0.9x), RSS 1.0 (RDF) or Atom (1.0 and 0.3)
// feed; base resolves relative links, as does xml:base where the feed sets
// it. The bytes may be in any Chinese encoding whatever the XML declaration
// says (they are decoded with extract.Decode first).
//
// Item.URL is the entry's link (Atom: rel="alternate" or no rel, HTML
// preferred), else a guid, id or rdf:about that is itself an http(s) URL.
// Item.Text is content:encoded or Atom content when present, else the
// description or summary, as plain text. Author comes from the Atom author
// name, dc:creator or the RSS author ("mail@example.com (张三)" gives 张三).
// PublishedAt is read with Time from pubDate, published, dc:date, issued or
// created, else updated or modified. ID is the guid, Atom id or rdf:about.
// Entries with neither link, title nor text are skipped; at most MaxItems
// are returned.
//
// Parsing is lenient (bare &, HTML entities, unclosed tags). When the XML
// breaks off, the entries completed before the break are returned with a nil
// error; an error is returned only when no entry could be read from a body
// that is empty, is not a feed (ErrFormat), or breaks before its first entry.
// A well-formed feed without entries gives no items and no error.
func Feed(body []byte, base string) ([]Item, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("parse: feed: %w", ErrEmpty)
	}
	d := newXMLDecoder(xmlText(body))
	bases := []*url.URL{parseBase(base)}
	var (
		items   []Item
		first   string // name of the first element
		sawRoot bool
		cur     *feedItem
		depth   int // element depth
		at      int // depth of cur's element
		readErr error
	)
	for len(items) < MaxItems {
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
			b := xmlBase(bases[len(bases)-1], t)
			bases = append(bases, b)
			if first == "" {
				first = t.Name.Local
			}
			switch {
			case cur != nil:
				cur.start(t, depth-at, b)
			case isFeedRoot(t.Name.Local):
				sawRoot = true
			case sawRoot && (strings.EqualFold(t.Name.Local, "item") || strings.EqualFold(t.Name.Local, "entry")):
				cur, at = newFeedItem(t, b), depth
			}
		case xml.EndElement:
			if cur != nil {
				if depth == at {
					if it, ok := cur.item(); ok {
						items = append(items, it)
					}
					cur = nil
				} else {
					cur.end(t, depth-at)
				}
			}
			if len(bases) > 1 {
				bases = bases[:len(bases)-1]
			}
			depth--
		case xml.CharData:
			if cur != nil {
				cur.text(t)
			}
		}
	}
	if len(items) > 0 {
		return items, nil
	}
	if !sawRoot {
		if first == "" {
			return nil, formatErr("parse: feed: no XML element found (不是 XML 订阅源)", readErr)
		}
		return nil, fmt.Errorf("parse: feed: root element <%s> is not rss, feed or rdf:RDF (不是 RSS/Atom 订阅源): %w", first, ErrFormat)
	}
	if readErr != nil {
		return nil, fmt.Errorf("parse: feed: broken before its first entry (订阅源格式错误，未读到任何条目): %w", readErr)
	}
	return nil, nil
}

func isFeedRoot(local string) bool {
	switch strings.ToLower(local) {
	case "rss", "feed", "rdf", "channel":
		return true
	}
	return false
}

// feedItem gathers one <item> or <entry> as the tokens stream by.
type feedItem struct {
	base     *url.URL
	about    string // rdf:about
	link     string // best link so far, absolute
	linkRank int

	title, summary, content, guid, id, author, authorName, creator string
	dates, updates                                                 []string
	guidNotPerma                                                   bool

	field     string   // the child being read ("" when ignored)
	fieldBase *url.URL // base in force at that child
	buf       boundedBuilder
	name      boundedBuilder // atom author/name
	inName    bool
	skip      int // relative depth of a script/style being skipped, 0 if none
}

func newFeedItem(e xml.StartElement, b *url.URL) *feedItem {
	f := &feedItem{base: b}
	for _, a := range e.Attr {
		if a.Name.Local == "about" && (a.Name.Space == rdfNS || a.Name.Space == "rdf") {
			f.about = a.Value
		}
	}
	return f
}

// feedField names what an item child holds, or "" for children ignored
// (media:*, source, category, enclosure, comments …).
func feedField(n xml.Name) string {
	local := strings.ToLower(n.Local)
	sp := n.Space
	generic := sp == "" || sp == atomNS || sp == atom03NS || sp == rss1NS || sp == rss09NS || sp == "atom" ||
		strings.HasPrefix(sp, "http://backend.userland.com/")
	dc := sp == dcNS || sp == dctermsNS || sp == "dc" || sp == "dcterms"
	switch {
	case !generic && !dc && !(local == "encoded" && (sp == contentNS || sp == "content")):
		return ""
	case local == "title":
		return "title"
	case local == "link" && generic:
		return "link"
	case local == "description" || local == "summary" || local == "abstract":
		return "summary"
	case local == "encoded" || local == "content" && generic:
		return "content"
	case local == "guid" && generic:
		return "guid"
	case local == "id" && generic:
		return "id"
	case local == "pubdate" || local == "published" || local == "issued" || local == "created" || local == "date":
		return "date"
	case local == "updated" || local == "modified":
		return "updated"
	case local == "author" && generic:
		return "author"
	case local == "creator" && dc:
		return "creator"
	}
	return ""
}

// inlineBreaks are (X)HTML elements inside an unescaped description or
// xhtml content that end a line of text.
var inlineBreaks = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"h5": true, "h6": true, "tr": true, "blockquote": true, "section": true, "article": true, "pre": true,
	"ul": true, "ol": true, "table": true, "hr": true,
}

var hiddenXML = map[string]bool{"script": true, "style": true, "iframe": true, "noscript": true, "template": true}

func (f *feedItem) start(e xml.StartElement, rel int, b *url.URL) {
	if rel == 1 {
		f.field, f.fieldBase, f.skip, f.inName = feedField(e.Name), b, 0, false
		f.buf.Reset()
		f.name.Reset()
		switch f.field {
		case "link":
			if href, ok := xmlAttr(e, "href"); ok {
				f.field = ""
				rel, _ := xmlAttr(e, "rel")
				typ, _ := xmlAttr(e, "type")
				rank := 0
				switch strings.ToLower(strings.TrimSpace(rel)) {
				case "", "alternate":
					rank = 2
					if typ == "" || strings.Contains(strings.ToLower(typ), "html") {
						rank = 3
					}
				}
				f.addLink(b, href, rank)
			}
		case "guid":
			if p, ok := xmlAttr(e, "isPermaLink"); ok && strings.EqualFold(strings.TrimSpace(p), "false") {
				f.guidNotPerma = true
			}
		case "content":
			if src, ok := xmlAttr(e, "src"); ok {
				f.field = ""
				f.addLink(b, src, 1)
			}
		}
		return
	}
	if f.field == "" {
		return
	}
	local := strings.ToLower(e.Name.Local)
	switch {
	case f.skip > 0:
	case hiddenXML[local]:
		f.skip = rel
	case f.field == "author" && rel == 2 && local == "name":
		f.inName = true
	case inlineBreaks[local]:
		f.buf.addString("\n")
	}
}

func (f *feedItem) end(e xml.EndElement, rel int) {
	if rel == 1 {
		f.commit()
		f.field = ""
		return
	}
	if f.skip == rel {
		f.skip = 0
		return
	}
	if rel == 2 {
		f.inName = false
	}
	if f.skip == 0 && f.field != "" && inlineBreaks[strings.ToLower(e.Name.Local)] {
		f.buf.addString("\n")
	}
}

func (f *feedItem) text(c xml.CharData) {
	if f.field == "" || f.skip > 0 {
		return
	}
	f.buf.add(c)
	if f.inName {
		f.name.add(c)
	}
}

func (f *feedItem) addLink(b *url.URL, ref string, rank int) {
	if rank <= f.linkRank {
		return
	}
	if u := absURL(b, ref); u != "" {
		f.link, f.linkRank = u, rank
	}
}

func (f *feedItem) commit() {
	s := f.buf.String()
	switch f.field {
	case "title":
		if strings.TrimSpace(f.title) == "" {
			f.title = s
		}
	case "link":
		f.addLink(f.fieldBase, s, 3)
	case "summary":
		if strings.TrimSpace(f.summary) == "" {
			f.summary = s
		}
	case "content":
		if strings.TrimSpace(f.content) == "" {
			f.content = s
		}
	case "guid":
		f.guid = s
	case "id":
		f.id = s
	case "date":
		if len(f.dates) < 4 {
			f.dates = append(f.dates, s)
		}
	case "updated":
		if len(f.updates) < 4 {
			f.updates = append(f.updates, s)
		}
	case "author":
		if f.author == "" {
			f.author, f.authorName = s, f.name.String()
		}
	case "creator":
		if strings.TrimSpace(f.creator) == "" {
			f.creator = s
		}
	}
}

var mailNameRe = regexp.MustCompile(`^\s*\S+@\S+\s*\(([^()]+)\)\s*$`)

func (f *feedItem) item() (Item, bool) {
	it := Item{URL: f.link}
	if it.URL == "" {
		cands := []string{f.id, f.about}
		if !f.guidNotPerma {
			cands = append([]string{f.guid}, cands...)
		}
		for _, c := range cands {
			if u := absURL(nil, c); u != "" {
				it.URL = u
				break
			}
		}
	}
	for _, id := range []string{f.guid, f.id, f.about} {
		if id = cleanID(id); id != "" {
			it.ID = id
			break
		}
	}
	it.Title = cleanLine(f.title, MaxTitleRunes)
	if it.Text = cleanText(f.content); it.Text == "" {
		it.Text = cleanText(f.summary)
	}
	author := f.authorName
	if strings.TrimSpace(author) == "" {
		author = f.creator
	}
	if strings.TrimSpace(author) == "" {
		author = f.author
		if m := mailNameRe.FindStringSubmatch(author); m != nil {
			author = m[1]
		}
	}
	it.Author = cleanLine(author, maxAuthorRunes)
	for _, s := range append(f.dates, f.updates...) {
		if t, ok := Time(s); ok {
			it.PublishedAt = t
			break
		}
	}
	if it.URL == "" && it.Title == "" && it.Text == "" {
		return Item{}, false
	}
	return it, true
}
