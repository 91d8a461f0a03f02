package demosite

import (
	"encoding/xml"
	"net/http"
	"time"
)

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate"`
	TTL           int       `xml:"ttl"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	Description string  `xml:"description"`
	Category    string  `xml:"category"`
	PubDate     string  `xml:"pubDate"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title     string     `xml:"title"`
	ID        string     `xml:"id"`
	Link      atomLink   `xml:"link"`
	Published string     `xml:"published"`
	Updated   string     `xml:"updated"`
	Author    atomPerson `xml:"author"`
	Summary   string     `xml:"summary"`
}

type urlset struct {
	XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc        string `xml:"loc"`
	LastMod    string `xml:"lastmod"`
	ChangeFreq string `xml:"changefreq"`
}

// serveXML marshals doc (encoding/xml escapes every text) and serves it.
func serveXML(w http.ResponseWriter, r *http.Request, ctype string, doc any, mod time.Time) {
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	serve(w, r, ctype, append([]byte(xml.Header), append(out, '\n')...), mod)
}

func (v *view) rss(w http.ResponseWriter, r *http.Request) {
	doc := rssDoc{Version: "2.0", Channel: rssChannel{
		Title:         siteName,
		Link:          v.url("/news/"),
		Description:   "临江新闻网最新新闻",
		Language:      "zh-cn",
		LastBuildDate: v.base.Format(time.RFC1123Z),
		TTL:           10,
	}}
	for _, e := range newsEntries[:feedItems] {
		u := v.url(v.path(e))
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title:       e.title,
			Link:        u,
			GUID:        rssGUID{IsPermaLink: "true", Value: u},
			Description: summary(e, 80),
			Category:    e.column,
			PubDate:     v.time(e).Format(time.RFC1123Z),
		})
	}
	serveXML(w, r, "application/rss+xml; charset=utf-8", doc, v.base)
}

func (v *view) atom(w http.ResponseWriter, r *http.Request) {
	doc := atomFeed{
		Title:   siteName,
		ID:      v.url("/"),
		Updated: v.base.Format(time.RFC3339),
		Links: []atomLink{
			{Href: v.url("/atom.xml"), Rel: "self", Type: "application/atom+xml"},
			{Href: v.url("/news/"), Rel: "alternate", Type: "text/html"},
		},
		Author: atomPerson{Name: siteName},
	}
	for _, e := range newsEntries[:feedItems] {
		u := v.url(v.path(e))
		t := v.time(e).Format(time.RFC3339)
		doc.Entries = append(doc.Entries, atomEntry{
			Title:     e.title,
			ID:        u,
			Link:      atomLink{Href: u, Rel: "alternate", Type: "text/html"},
			Published: t,
			Updated:   t,
			Author:    atomPerson{Name: e.author},
			Summary:   summary(e, 80),
		})
	}
	serveXML(w, r, "application/atom+xml; charset=utf-8", doc, v.base)
}

func (v *view) sitemap(w http.ResponseWriter, r *http.Request) {
	var doc urlset
	for _, list := range [][]*entry{newsEntries, gbkEntries, govEntries} {
		for _, e := range list {
			doc.URLs = append(doc.URLs, sitemapURL{
				Loc:        v.url(v.path(e)),
				LastMod:    v.time(e).Format(time.RFC3339),
				ChangeFreq: "never",
			})
		}
	}
	serveXML(w, r, "application/xml; charset=utf-8", doc, v.base)
}
