// Package dedup keeps the crawler's incremental crawling from doing work twice.
// Canonical folds the many spellings of one article URL (tracking parameters,
// parameter order, fragments, default ports, mobile hosts, …) into one key, so
// that a restarted crawl does not refetch a page it has already seen; SimHash,
// Distance and Index recognise near-duplicate texts, so that a story
// syndicated by twenty sites, each with its own headline line and footer, is
// counted as one story.
//
// Typical use in the crawler:
//
//	key, err := dedup.Canonical(link) // seen-set key; fetch link itself
//	...
//	h := dedup.SimHash(article.Text)   // the body, after extraction
//	if id, _, ok := index.Near(h); ok {
//		// a copy of story id
//	} else {
//		index.Add(h, storyID)
//	}
package dedup
