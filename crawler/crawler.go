package crawler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"

	"yuqing/crawler/dedup"
	"yuqing/crawler/extract"
	"yuqing/crawler/parse"
	"yuqing/domain"
	"yuqing/ingest"
)

// Sink takes the posts the crawler found; it returns nil only once they are
// durable (on the Bus, or accepted by a yuqing server), and only then does
// the crawler record them as seen.
type Sink interface {
	Emit(ctx context.Context, posts []domain.Post) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, posts []domain.Post) error

// Emit calls f.
func (f SinkFunc) Emit(ctx context.Context, posts []domain.Post) error { return f(ctx, posts) }

// Crawler runs sources: it lists their items, fetches and extracts the new
// articles, recognises syndicated copies of a story, hands the posts to its
// Sink and remembers what it emitted.
type Crawler struct {
	Fetcher *Fetcher // replaced with SetFetcher while running
	State   *State
	Sink    Sink
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
	// MaxNearDistance is the SimHash distance (0..3) under which two
	// articles are one story; default 3.
	MaxNearDistance int

	fmu sync.RWMutex
	// smu makes story decisions one at a time across concurrent runs, so
	// that two sources carrying the same article never both become its
	// original: near holds every original's SimHash (decided, emitted or
	// not yet), inflight the originals decided but not yet recorded.
	smu      sync.Mutex
	near     *dedup.Index
	inflight map[string]Seen // content hash -> the first copy, until recorded
	batch    int
}

// Result is what one run of a source did.
type Result struct {
	Source      string        `json:"source"`
	Pages       int           `json:"pages"`        // list, feed, sitemap or API pages fetched
	NotModified int           `json:"not_modified"` // of which unchanged (304)
	Found       int           `json:"found"`        // items listed
	New         int           `json:"new"`          // posts emitted
	Seen        int           `json:"seen"`         // already emitted before (by URL or identical content)
	Skipped     int           `json:"skipped"`      // not news: attachments, gone (4xx), older than max_age
	Syndicated  int           `json:"syndicated"`   // new copies of an earlier story (emitted with parent_id)
	Errors      []string      `json:"errors,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	Posts       []domain.Post `json:"-"`
	Failed      bool          `json:"failed"` // nothing could be listed at all
}

// SetFetcher replaces the fetcher (after the sources file changed); runs
// under way finish with the old one.
func (c *Crawler) SetFetcher(f *Fetcher) {
	c.fmu.Lock()
	c.Fetcher = f
	c.fmu.Unlock()
}

func (c *Crawler) fetcher() *Fetcher {
	c.fmu.RLock()
	defer c.fmu.RUnlock()
	return c.Fetcher
}

func (c *Crawler) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Crawler) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// loadIndex loads the near-duplicate index from the last 30 days of
// state, once it succeeds; the caller holds smu.
func (c *Crawler) loadIndex(ctx context.Context) error {
	if c.near != nil {
		return nil
	}
	near := dedup.NewIndex(c.maxDist())
	err := c.State.Recent(ctx, c.now().Add(-30*24*time.Hour), func(s Seen) {
		if s.Story == s.PostID { // originals only: copies and skipped pages point elsewhere
			near.Add(s.SimHash, s.Story)
		}
	})
	if err != nil {
		return err
	}
	c.near, c.inflight = near, map[string]Seen{}
	return nil
}

// candidate is a listed item on its way to becoming a post.
type candidate struct {
	parse.Item
	key    string // canonical URL, or source:id for items without a URL
	record string // record kind of the column it came from
}

// RunOnce runs one source: lists it (following pagination within its
// limits), fetches the articles it has not emitted before, and emits them.
// A run lasts at most the source's run_timeout.
func (c *Crawler) RunOnce(ctx context.Context, src *Source) (res Result) {
	start := c.now()
	res.Source = src.Name
	defer func() { res.Duration = c.now().Sub(start) }()
	runTimeout := src.RunTimeout
	if runTimeout <= 0 {
		runTimeout = builtinLimits.RunTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	durable := context.WithoutCancel(ctx) // records what was already emitted, even while stopping
	c.smu.Lock()
	err := c.loadIndex(ctx)
	c.smu.Unlock()
	if err != nil {
		res.Failed = true
		res.Errors = append(res.Errors, "读取抓取状态: "+err.Error())
		return res
	}
	var cands []candidate
	var validators []pageValidators
	listed := false
	for _, col := range src.Starts() {
		items, vs, ok := c.list(ctx, src, col, &res)
		listed = listed || ok
		cands = append(cands, items...)
		validators = append(validators, vs...)
	}
	res.Found = len(cands)
	if !listed {
		res.Failed = true
		return res
	}
	var pending []domain.Post
	var marks []Seen
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if err := c.Sink.Emit(ctx, pending); err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("发送 %d 条失败（下次重试）: %v", len(pending), err))
			res.Failed = true
		} else if err := c.State.MarkSeen(durable, marks...); err != nil {
			res.Errors = append(res.Errors, "记录已抓取失败（重启后可能重发，帖子 id 不变）: "+err.Error())
			res.Failed = true
		} else {
			res.New += len(pending)
			res.Posts = append(res.Posts, pending...)
		}
		c.smu.Lock()
		for _, m := range marks {
			delete(c.inflight, m.Hash)
		}
		c.smu.Unlock()
		pending, marks = pending[:0], marks[:0]
	}
	skip := func(key, why string) {
		res.Skipped++
		if why != "" {
			res.Errors = append(res.Errors, why)
		}
		// remembered, so it is not fetched again; Story "" is never an original
		if err := c.State.MarkSeen(durable, Seen{URL: key, Source: src.Name, At: c.now()}); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	batch := c.batch
	if batch <= 0 {
		batch = 20
	}
	oldest := time.Time{} // no age limit unless the source sets one (the file's default is 30 days)
	if src.MaxAge > 0 {
		oldest = c.now().Add(-src.MaxAge)
	}
	inRun := map[string]bool{}
	complete := true // every listed item was dealt with
	for _, cand := range cands {
		if ctx.Err() != nil || res.Failed || res.New+len(pending) >= src.MaxItems {
			complete = false
			break
		}
		if inRun[cand.key] {
			continue
		}
		inRun[cand.key] = true
		seen, err := c.State.SeenURL(ctx, cand.key)
		if err != nil {
			res.Errors = append(res.Errors, "读取抓取状态: "+err.Error())
			complete = false
			continue
		}
		if seen {
			res.Seen++
			continue
		}
		if t := cand.PublishedAt; !t.IsZero() && t.Before(oldest) {
			skip(cand.key, "")
			continue
		}
		post, outcome := c.article(ctx, src, cand, &res)
		switch {
		case outcome == articleRetry:
			complete = false
			continue
		case outcome == articleSkip:
			skip(cand.key, "")
			continue
		case post.PublishedAt.Before(oldest):
			skip(cand.key, "")
			continue
		}
		mark, dup, err := c.story(ctx, src, &post, cand.key)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			complete = false
			continue
		}
		if dup {
			res.Seen++
			if err := c.State.MarkSeen(durable, mark); err != nil {
				res.Errors = append(res.Errors, err.Error())
			}
			continue
		}
		if post.ParentID != "" {
			res.Syndicated++
		}
		pending = append(pending, post)
		marks = append(marks, mark)
		if len(pending) >= batch {
			flush()
		}
	}
	flush()
	// a list page's validators are kept only once everything it listed is
	// dealt with; otherwise a 304 next time would hide what is left
	if complete && !res.Failed && ctx.Err() == nil {
		for _, v := range validators {
			if err := c.State.SetValidators(durable, v.url, v.v); err != nil {
				c.log().Warn("记录 ETag 失败", "url", v.url, "err", err)
			}
		}
	}
	return res
}

// pageValidators are a list page's ETag and Last-Modified, to keep once
// the run has dealt with what the page listed.
type pageValidators struct {
	url string
	v   Validators
}

// story decides whether post is new, a copy of an article the same source
// already gave (dup: not emitted again), or a copy of another source's
// story — identical or near-identical text — which is emitted with the
// story's first post as parent_id and root_id, so that a story syndicated
// by twenty sites is one event with twenty sources. Decisions are made one
// at a time across runs (smu).
func (c *Crawler) story(ctx context.Context, src *Source, post *domain.Post, key string) (Seen, bool, error) {
	sum := sha256.Sum256([]byte(normalise(post.Title + "\n" + post.Text)))
	m := Seen{URL: key, Source: src.Name, PostID: post.ID, Hash: hex.EncodeToString(sum[:]),
		SimHash: dedup.SimHash(post.Text), At: c.now()}
	m.Story = m.PostID
	c.smu.Lock()
	defer c.smu.Unlock()
	story, sameSource, ok := "", false, false
	if first, found := c.inflight[m.Hash]; found { // identical content decided moments ago
		story, sameSource, ok = first.Story, first.Source == src.Name, true
	} else {
		var err error
		if story, sameSource, ok, err = c.State.ByHash(ctx, m.Hash, src.Name); err != nil {
			return m, false, fmt.Errorf("读取抓取状态: %w", err)
		}
	}
	if ok { // identical content
		m.Story = story
		if sameSource {
			return m, true, nil
		}
	} else if utf8.RuneCountInString(post.Text) >= 50 {
		// near-duplicates: only for texts long enough for SimHash to mean something
		if id, _, ok := c.near.Near(m.SimHash); ok {
			m.Story = id
		}
	}
	if m.Story != m.PostID {
		post.ParentID, post.RootID = m.Story, m.Story
	} else {
		c.near.Add(m.SimHash, m.Story)
	}
	if _, found := c.inflight[m.Hash]; !found {
		c.inflight[m.Hash] = m
	}
	return m, false, nil
}

func (c *Crawler) maxDist() int {
	if c.MaxNearDistance <= 0 || c.MaxNearDistance > 3 {
		return 3
	}
	return c.MaxNearDistance
}

// normalise keeps letters and digits only, for the content hash.
func normalise(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// list reads one start URL of a source into candidates, with the
// validators of the pages it fetched conditionally; ok is false when
// nothing could be listed (the source is broken, not quiet).
func (c *Crawler) list(ctx context.Context, src *Source, col Column, res *Result) (_ []candidate, vs []pageValidators, ok bool) {
	header := http.Header{}
	for k, v := range src.Headers {
		header.Set(k, v)
	}
	var out []candidate
	add := func(items []parse.Item) int {
		fresh := 0
		for _, it := range items {
			key := ""
			if it.URL != "" {
				u, err := dedup.Canonical(it.URL)
				if err != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("链接 %q 无效: %v", clip(it.URL, 200), err))
					continue
				}
				key = u // fetched at the URL the site gave; remembered by its canonical form
			} else if it.ID != "" {
				key = src.Name + ":" + it.ID
			} else {
				key = src.Name + ":" + hashOf(it.Title+"\n"+it.Text)
			}
			if seen, _ := c.State.SeenURL(ctx, key); !seen {
				fresh++
			}
			out = append(out, candidate{Item: it, key: key, record: col.Kind})
		}
		return fresh
	}
	// get fetches a listing page; conditional ones note their validators
	get := func(u string, conditional bool) (*Page, bool) {
		var v Validators
		if conditional {
			v, _ = c.State.Validators(ctx, u)
		}
		p, err := c.fetcher().Get(ctx, c.request(src, u, v, header))
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			return nil, false
		}
		res.Pages++
		if p.NotModified {
			res.NotModified++
		} else if conditional {
			vs = append(vs, pageValidators{url: u, v: Validators{ETag: p.ETag, LastModified: p.LastModified}})
		}
		return p, true
	}
	switch src.Type {
	case TypeHTML, TypePortal:
		visited := map[string]bool{}
		next := col.URL
		for page := 0; page < src.MaxPages && next != "" && !visited[next]; page++ {
			visited[next] = true
			p, fetched := get(next, page == 0)
			if !fetched {
				break
			}
			ok = true
			if p.NotModified {
				break
			}
			links, nxt, err := parse.Links(p.Body, p.URL, src.List)
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", p.URL, err))
				break
			}
			items := make([]parse.Item, len(links))
			for i, l := range links {
				items[i] = parse.Item{URL: l}
			}
			if add(items) == 0 {
				break // a whole page already seen: older pages hold nothing new
			}
			next = nxt
		}
	case TypeFeed:
		p, fetched := get(col.URL, true)
		if !fetched {
			break
		}
		ok = true
		if p.NotModified {
			break
		}
		items, err := parse.Feed(p.Body, p.URL)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", p.URL, err))
			ok = false
			break
		}
		add(items)
	case TypeSitemap:
		queue := []string{col.URL}
		visited := map[string]bool{}
		for pages := 0; len(queue) > 0 && pages < src.MaxPages; pages++ {
			u := queue[0]
			queue = queue[1:]
			if visited[u] {
				continue
			}
			visited[u] = true
			// not conditional: an index that did not change still
			// leads to sitemaps that did
			p, fetched := get(u, false)
			if !fetched {
				continue
			}
			ok = true
			items, nested, err := parse.Sitemap(p.Body, p.URL)
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", p.URL, err))
				continue
			}
			add(items)
			queue = append(queue, nested...)
		}
	case TypeJSON:
		cursor := ""
		pageNo := src.JSON.PageStart
		if pageNo == 0 && src.JSON.PageParam != "" {
			pageNo = 1
		}
		seenCursor := map[string]bool{}
		for page := 0; page < src.MaxPages; page++ {
			u, err := withParams(col.URL, src.JSON, cursor, pageNo)
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
				break
			}
			p, fetched := get(u, false)
			if !fetched {
				break
			}
			ok = true
			items, nxt, err := parse.JSON(p.Body, src.JSON.JSONSpec)
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", u, err))
				if page == 0 {
					ok = false
				}
				break
			}
			for i := range items {
				if items[i].URL != "" {
					if abs, err := resolve(p.URL, items[i].URL); err == nil {
						items[i].URL = abs
					}
				}
			}
			if len(items) == 0 || add(items) == 0 {
				break // an empty or wholly seen page: nothing newer further on
			}
			switch {
			case src.JSON.CursorParam != "":
				if nxt == "" || seenCursor[nxt] {
					page = src.MaxPages
				}
				seenCursor[nxt] = true
				cursor = nxt
			case src.JSON.PageParam != "":
				pageNo++
			default:
				page = src.MaxPages // one page only
			}
		}
	}
	return out, vs, ok
}

// request is a fetch of u within the source's limits.
func (c *Crawler) request(src *Source, u string, v Validators, header http.Header) Request {
	return Request{URL: u, Validators: v, Header: header, MaxBytes: src.MaxBytes, Timeout: src.Timeout, IgnoreRobots: src.IgnoreRobots}
}

// What became of a listed item.
const (
	articleOK    = iota
	articleSkip  // not news, or gone: remembered and not fetched again
	articleRetry // a failure that may pass: tried again next run
)

// article turns a candidate into a post, fetching and extracting its page
// when the listing did not carry the full text.
func (c *Crawler) article(ctx context.Context, src *Source, cand candidate, res *Result) (domain.Post, int) {
	it := cand.Item
	fetch := false
	switch src.FetchArticles {
	case "always":
		fetch = it.URL != ""
	case "never":
	default:
		fetch = it.URL != "" && (src.Type == TypeHTML || src.Type == TypePortal || src.Type == TypeSitemap ||
			utf8.RuneCountInString(it.Text) < 200)
	}
	if fetch {
		p, err := c.fetcher().Get(ctx, c.request(src, it.URL, Validators{}, nil))
		var se *StatusError
		switch {
		case err != nil && it.Text == "" && it.Title == "":
			res.Errors = append(res.Errors, err.Error())
			if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && se.Status != http.StatusTooManyRequests {
				return domain.Post{}, articleSkip // gone or forbidden: asking again will not help
			}
			if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrRobots) || errors.Is(err, ErrPrivateAddress) {
				return domain.Post{}, articleSkip
			}
			return domain.Post{}, articleRetry
		case err != nil:
			res.Errors = append(res.Errors, err.Error()) // the listing's own text will do
		case !isPage(p):
			res.Errors = append(res.Errors, fmt.Sprintf("%s: 不是网页（%s），跳过", clip(it.URL, 200), clip(p.ContentType, 60)))
			return domain.Post{}, articleSkip
		default:
			a, err := c.extract(src, p)
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
			}
			if it.Title == "" {
				it.Title = a.Title
			}
			if utf8.RuneCountInString(a.Text) > utf8.RuneCountInString(it.Text) {
				it.Text = a.Text
			}
			if it.PublishedAt.IsZero() {
				it.PublishedAt = a.PublishedAt
			}
			if it.Author == "" {
				it.Author = a.Author
			}
		}
	}
	text := strings.TrimSpace(it.Text)
	if text == "" {
		text = strings.TrimSpace(it.Title)
	}
	if text == "" {
		res.Errors = append(res.Errors, fmt.Sprintf("%s: 没有找到标题或正文，跳过", clip(cand.key, 200)))
		return domain.Post{}, articleSkip
	}
	at := it.PublishedAt
	if at.IsZero() || at.After(c.now().Add(time.Hour)) {
		at = c.now() // no time, or one in the future: when we found it
	}
	post := domain.Post{
		Source: clipBytes(src.Name, ingest.MaxShortBytes), Title: clipBytes(strings.TrimSpace(it.Title), ingest.MaxTitleBytes),
		Text: clipBytes(text, ingest.MaxTextBytes), Author: domain.Author{Name: clipBytes(it.Author, ingest.MaxShortBytes)},
		PublishedAt: at.UTC(), Region: clipBytes(firstNonEmpty(it.Region, src.Region), ingest.MaxShortBytes), ReceivedAt: c.now().UTC(),
	}
	if u, _, _ := strings.Cut(it.URL, "#"); len(u) <= ingest.MaxURLBytes {
		post.URL = u // as the site gave it (the canonical form is only a key: it may fold hosts)
	}
	if k := recordKind(cand.record); k != "" {
		post.Record = &domain.RecordRef{Kind: k, UnitID: src.Unit}
	}
	switch {
	case strings.HasPrefix(cand.key, "http"): // the same article under another spelling gets the same id
		post.ID = (&domain.Post{URL: cand.key}).DeriveID()
	case it.ID != "":
		post.ID = "s" + hashOf(src.Name+"\x00"+it.ID)
	default:
		post.ID = post.DeriveID()
	}
	return post, articleOK
}

// isPage reports whether a fetched page is text (HTML, XML or plain), not
// an attachment (PDF, Word, images, archives).
func isPage(p *Page) bool {
	ct := p.ContentType
	if ct == "" {
		ct = http.DetectContentType(p.Body)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/xhtml+xml" || mt == "application/xml"
}

// extract finds the article in a page, with the source's selectors
// overriding the automatic choice where given.
func (c *Crawler) extract(src *Source, p *Page) (extract.Article, error) {
	a, err := extract.PageAt(p.Body, p.URL, c.now())
	sel := src.Article
	if sel == (Selectors{}) {
		return a, err
	}
	text, _ := extract.Decode(p.Body)
	doc, derr := goquery.NewDocumentFromReader(strings.NewReader(text))
	if derr != nil {
		return a, err
	}
	pick := func(css string) string {
		if css == "" {
			return ""
		}
		s := doc.Find(css).First()
		if v, ok := s.Attr("content"); ok {
			return strings.TrimSpace(v)
		}
		if v, ok := s.Attr("datetime"); ok {
			return strings.TrimSpace(v)
		}
		return strings.TrimSpace(collapse(s.Text()))
	}
	if v := pick(sel.Title); v != "" {
		a.Title = v
	}
	if v := pick(sel.Author); v != "" {
		a.Author = v
	}
	if v := pick(sel.Time); v != "" {
		if t, ok := parse.Time(v); ok {
			a.PublishedAt = t
		}
	}
	if sel.Body != "" {
		var paras []string
		doc.Find(sel.Body).First().Find("script,style,noscript").Remove()
		doc.Find(sel.Body).First().Find("p,h2,h3,li").Each(func(_ int, s *goquery.Selection) {
			if t := strings.TrimSpace(collapse(s.Text())); t != "" {
				paras = append(paras, t)
			}
		})
		if len(paras) == 0 {
			paras = []string{strings.TrimSpace(collapse(doc.Find(sel.Body).First().Text()))}
		}
		if b := strings.TrimSpace(strings.Join(paras, "\n")); b != "" {
			a.Text = b
		}
	}
	if a.Title == "" && a.Text == "" {
		return a, err
	}
	return a, nil
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func withParams(base string, api JSONAPI, cursor string, page int) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("接口地址 %q 无效: %w", base, err)
	}
	q := u.Query()
	if api.CursorParam != "" && cursor != "" {
		q.Set(api.CursorParam, cursor)
	}
	if api.PageParam != "" {
		q.Set(api.PageParam, strconv.Itoa(page))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	return b.ResolveReference(r).String(), nil
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return clipBytes(s, n) + "…"
}

// clipBytes cuts s to at most n bytes on a rune boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
