package crawler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
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

	fmu   sync.RWMutex
	once  sync.Once
	near  *dedup.Index
	nerr  error
	nmu   sync.Mutex // one run at a time decides stories, so two copies never both become originals
	batch int
}

// Result is what one run of a source did.
type Result struct {
	Source      string        `json:"source"`
	Pages       int           `json:"pages"`        // list, feed, sitemap or API pages fetched
	NotModified int           `json:"not_modified"` // of which unchanged (304)
	Found       int           `json:"found"`        // items listed
	New         int           `json:"new"`          // posts emitted
	Seen        int           `json:"seen"`         // already emitted before (by URL or identical content)
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

// index loads the near-duplicate index from the last 30 days of state.
func (c *Crawler) index(ctx context.Context) (*dedup.Index, error) {
	c.once.Do(func() {
		c.near = dedup.NewIndex(c.maxDist())
		c.nerr = c.State.Recent(ctx, c.now().Add(-30*24*time.Hour), func(s Seen) {
			if s.Story == s.PostID { // originals only: copies point at them
				c.near.Add(s.SimHash, s.Story)
			}
		})
	})
	return c.near, c.nerr
}

// candidate is a listed item on its way to becoming a post.
type candidate struct {
	parse.Item
	key    string // canonical URL, or source:id for items without a URL
	record string // record kind of the column it came from
}

// RunOnce runs one source: lists it (following pagination within its
// limits), fetches the articles it has not emitted before, and emits them.
func (c *Crawler) RunOnce(ctx context.Context, src *Source) (res Result) {
	start := c.now()
	res.Source = src.Name
	defer func() { res.Duration = c.now().Sub(start) }()
	near, err := c.index(ctx)
	if err != nil {
		res.Failed = true
		res.Errors = append(res.Errors, "读取抓取状态: "+err.Error())
		return res
	}
	var cands []candidate
	listed := false
	for _, col := range src.Starts() {
		items, ok := c.list(ctx, src, col, &res)
		listed = listed || ok
		cands = append(cands, items...)
	}
	res.Found = len(cands)
	if !listed {
		res.Failed = true
		return res
	}
	inRun := map[string]bool{}
	var pending []domain.Post
	var marks []Seen
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if err := c.Sink.Emit(ctx, pending); err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("发送 %d 条失败（下次重试）: %v", len(pending), err))
			res.Failed = true
		} else if err := c.State.MarkSeen(ctx, marks...); err != nil {
			res.Errors = append(res.Errors, "记录已抓取失败: "+err.Error())
		} else {
			res.New += len(pending)
			res.Posts = append(res.Posts, pending...)
			c.nmu.Lock()
			for _, m := range marks {
				if m.Story == m.PostID {
					near.Add(m.SimHash, m.Story)
				}
			}
			c.nmu.Unlock()
		}
		pending, marks = pending[:0], marks[:0]
	}
	batch := c.batch
	if batch <= 0 {
		batch = 20
	}
	for _, cand := range cands {
		if ctx.Err() != nil || res.Failed {
			break
		}
		if res.New+len(pending) >= src.MaxItems {
			break
		}
		if inRun[cand.key] {
			continue
		}
		inRun[cand.key] = true
		seen, err := c.State.SeenURL(ctx, cand.key)
		if err != nil {
			res.Errors = append(res.Errors, "读取抓取状态: "+err.Error())
			continue
		}
		if seen {
			res.Seen++
			continue
		}
		post, ok := c.article(ctx, src, cand, &res)
		if !ok {
			continue
		}
		mark, dup, err := c.story(ctx, src, &post, cand.key, near, marks)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		if dup {
			res.Seen++
			// remember the URL so it is not fetched again, without emitting
			if err := c.State.MarkSeen(ctx, mark); err != nil {
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
	return res
}

// story decides whether post is new, a copy of an article the same source
// already gave (dup: not emitted again), or a copy of another source's
// story — identical or near-identical text — which is emitted with the
// story's first post as parent_id and root_id, so that a story syndicated
// by twenty sites is one event with twenty sources. batch holds what this
// run is about to emit.
func (c *Crawler) story(ctx context.Context, src *Source, post *domain.Post, key string, near *dedup.Index, batch []Seen) (Seen, bool, error) {
	sum := sha256.Sum256([]byte(normalise(post.Title + "\n" + post.Text)))
	m := Seen{URL: key, Source: src.Name, PostID: post.ID, Hash: hex.EncodeToString(sum[:]),
		SimHash: dedup.SimHash(post.Text), At: c.now()}
	m.Story = m.PostID
	for _, b := range batch { // identical content in this batch
		if b.Hash == m.Hash {
			if b.Source == src.Name {
				return m, true, nil
			}
			m.Story = b.Story
			break
		}
	}
	if m.Story == m.PostID { // identical content emitted before
		story, ok, err := c.State.ByHash(ctx, m.Hash, src.Name)
		if err != nil {
			return m, false, fmt.Errorf("读取抓取状态: %w", err)
		}
		if ok && story == "" {
			return m, true, nil
		}
		if ok {
			m.Story = story
		}
	}
	if m.Story == m.PostID && utf8.RuneCountInString(post.Text) >= 50 {
		// near-duplicates: only for texts long enough for SimHash to mean something
		c.nmu.Lock()
		id, _, ok := near.Near(m.SimHash)
		c.nmu.Unlock()
		for i := 0; !ok && i < len(batch); i++ {
			b := batch[i]
			if b.Story == b.PostID && b.SimHash != 0 && dedup.Distance(b.SimHash, m.SimHash) <= c.maxDist() {
				id, ok = b.Story, true
			}
		}
		if ok {
			m.Story = id
		}
	}
	if m.Story != m.PostID {
		post.ParentID, post.RootID = m.Story, m.Story
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

// list reads one start URL of a source into candidates; ok is false when
// nothing could be listed (the source is broken, not quiet).
func (c *Crawler) list(ctx context.Context, src *Source, col Column, res *Result) ([]candidate, bool) {
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
				it.URL, key = u, u
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
	ok := false
	switch src.Type {
	case TypeHTML, TypePortal:
		visited := map[string]bool{}
		next := col.URL
		for page := 0; page < src.MaxPages && next != "" && !visited[next]; page++ {
			visited[next] = true
			p, err := c.get(ctx, src, next, header, page == 0, res)
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
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
		p, err := c.get(ctx, src, col.URL, header, true, res)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
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
			p, err := c.get(ctx, src, u, header, true, res)
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
				continue
			}
			ok = true
			if p.NotModified {
				continue
			}
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
			p, err := c.get(ctx, src, u, header, false, res)
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
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
	return out, ok
}

// get fetches a page; list pages (conditional) use and refresh the stored
// validators.
func (c *Crawler) get(ctx context.Context, src *Source, u string, header http.Header, conditional bool, res *Result) (*Page, error) {
	var v Validators
	if conditional {
		v, _ = c.State.Validators(ctx, u)
	}
	p, err := c.fetcher().Get(ctx, Request{URL: u, Validators: v, Header: header, MaxBytes: src.MaxBytes, Timeout: src.Timeout, IgnoreRobots: src.IgnoreRobots})
	if err != nil {
		return nil, err
	}
	res.Pages++
	if p.NotModified {
		res.NotModified++
		return p, nil
	}
	if conditional {
		if err := c.State.SetValidators(ctx, u, Validators{ETag: p.ETag, LastModified: p.LastModified}); err != nil {
			c.log().Warn("记录 ETag 失败", "url", u, "err", err)
		}
	}
	return p, nil
}

// article turns a candidate into a post, fetching and extracting its page
// when the listing did not carry the full text.
func (c *Crawler) article(ctx context.Context, src *Source, cand candidate, res *Result) (domain.Post, bool) {
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
		p, err := c.fetcher().Get(ctx, Request{URL: it.URL, MaxBytes: src.MaxBytes, Timeout: src.Timeout, IgnoreRobots: src.IgnoreRobots})
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			if it.Text == "" && it.Title == "" {
				return domain.Post{}, false
			}
		} else {
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
		return domain.Post{}, false
	}
	at := it.PublishedAt
	if at.IsZero() || at.After(c.now().Add(time.Hour)) {
		at = c.now() // no time, or one in the future: when we found it
	}
	post := domain.Post{
		Source: src.Name, URL: it.URL, Title: clipBytes(strings.TrimSpace(it.Title), 2<<10),
		Text: clipBytes(text, 256<<10), Author: domain.Author{Name: clipBytes(it.Author, 1<<10)},
		PublishedAt: at.UTC(), Region: firstNonEmpty(it.Region, src.Region), ReceivedAt: c.now().UTC(),
	}
	if k := recordKind(cand.record); k != "" {
		post.Record = &domain.RecordRef{Kind: k, UnitID: src.Unit}
	}
	if post.URL == "" && it.ID != "" {
		post.ID = "s" + hashOf(src.Name+"\x00"+it.ID)
	} else {
		post.ID = post.DeriveID()
	}
	return post, true
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
