// Package parse reads what a source serves — RSS and Atom feeds, sitemaps,
// generic JSON APIs and HTML list pages — into items and links, without
// fetching anything itself. Every input is attacker-controlled: parsers never
// fail on malformed content they can partly read, and return plain text only.
package parse

import "time"

// Item is one thing a source lists: an article, a feed entry, a record of a
// JSON API. Text is plain text (never HTML); it may be only a summary, in
// which case the crawler fetches URL for the full article.
type Item struct {
	ID          string    `json:"id,omitempty"` // the source's own id, when it gives one
	URL         string    `json:"url,omitempty"`
	Title       string    `json:"title,omitempty"`
	Text        string    `json:"text,omitempty"`
	Author      string    `json:"author,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	Region      string    `json:"region,omitempty"`
}
