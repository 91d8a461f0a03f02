// Package dataset reads files of posts for `yuqing ingest` and `yuqing replay`:
// JSON Lines of posts, CSV with a header naming post fields, and the CED Weibo
// rumour set (one original post per line with its reposts and comments).
// Gzip is detected by content, not by name.
package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"yuqing/domain"
)

var chinaTime = time.FixedZone("CST", 8*3600)

// Open opens a file, transparently gunzipping it.
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return readCloser{zr, f}, nil
	}
	return readCloser{br, f}, nil
}

type readCloser struct {
	io.Reader
	f *os.File
}

func (r readCloser) Close() error { return r.f.Close() }

// Line is one raw JSON line of a JSONL file, with its line number.
type Line struct {
	N    int
	Data []byte
}

// Kind of a file, sniffed from its first record.
const (
	KindPosts = "posts" // JSON Lines of posts as the API takes them
	KindCED   = "ced"   // the CED Weibo rumour set
	KindCSV   = "csv"
)

// Sniff tells what kind of file this is from its first bytes. The first
// record may be cut short (a CED line can be far longer than what is peeked
// at), so CED is recognised from the top-level keys "post" and "reposts"
// alone, without reading the whole line.
func Sniff(first []byte) string {
	t := bytes.TrimSpace(bytes.TrimPrefix(first, []byte(bom)))
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return KindCSV
	}
	if t[0] == '{' && hasCEDKeys(t) {
		return KindCED
	}
	return KindPosts
}

const bom = "\ufeff"

// hasCEDKeys walks the top level of the JSON object at the start of b and
// reports whether it has both "post" (an object) and "reposts" (an array).
func hasCEDKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	var post, reposts bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		// the value: its first token tells its kind; a nested one is skipped whole
		val, err := dec.Token()
		if err != nil {
			return false
		}
		switch key {
		case "post":
			post = val == json.Delim('{')
		case "reposts":
			reposts = val == json.Delim('[')
		}
		if post && reposts {
			return true
		}
		if d, ok := val.(json.Delim); ok && (d == '{' || d == '[') {
			for depth := 1; depth > 0; {
				tok, err := dec.Token()
				if err != nil {
					return false
				}
				switch tok {
				case json.Delim('{'), json.Delim('['):
					depth++
				case json.Delim('}'), json.Delim(']'):
					depth--
				}
			}
		}
	}
	return false
}

// ReadFile reads every post of a file of any supported kind. Items that
// cannot be read are reported through bad (with file and line) and skipped.
func ReadFile(path string, bad func(error)) ([]domain.Post, error) {
	rc, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	head, _ := br.Peek(64 << 10)
	switch Sniff(head) {
	case KindCED:
		return ReadCED(br, path, bad)
	case KindCSV:
		return ReadCSV(br, path, bad)
	}
	return ReadJSONL(br, path, bad)
}

// ReadJSONL reads JSON Lines of posts (the API's post shape).
func ReadJSONL(r io.Reader, name string, bad func(error)) ([]domain.Post, error) {
	var posts []domain.Post
	err := eachLine(r, func(n int, line []byte) {
		var p domain.Post
		if err := json.Unmarshal(line, &p); err != nil {
			bad(fmt.Errorf("%s:%d: %v", name, n, err))
			return
		}
		posts = append(posts, p)
	})
	return posts, err
}

func eachLine(r io.Reader, fn func(n int, line []byte)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte(bom))
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			fn(n, line)
		}
	}
	return sc.Err()
}

type cedLine struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Post  struct {
		Text     string          `json:"text"`
		Time     json.RawMessage `json:"time"`
		User     json.RawMessage `json:"user"` // an object, or the string "empty"
		Reposts  int64           `json:"reposts"`
		Comments int64           `json:"comments"`
		Likes    int64           `json:"likes"`
		Source   string          `json:"source"`
	} `json:"post"`
	Reposts []struct {
		Mid    string `json:"mid"`
		Parent string `json:"parent"`
		UID    string `json:"uid"`
		Text   string `json:"text"`
		Date   string `json:"date"`
	} `json:"reposts"`
}

// ReadCED reads the CED Weibo set: each line's original post becomes a post,
// and each repost or comment a post with parent_id (its parent repost, or the
// original when it has none) and root_id (the original).
func ReadCED(r io.Reader, name string, bad func(error)) ([]domain.Post, error) {
	var posts []domain.Post
	err := eachLine(r, func(n int, line []byte) {
		var c cedLine
		if err := json.Unmarshal(line, &c); err != nil {
			bad(fmt.Errorf("%s:%d: %v", name, n, err))
			return
		}
		at, err := cedTime(c.Post.Time)
		if err != nil {
			bad(fmt.Errorf("%s:%d: post.time: %v", name, n, err))
			return
		}
		var user struct {
			Verified  bool   `json:"verified"`
			Followers int64  `json:"followers"`
			Location  string `json:"location"`
		}
		if len(c.Post.User) > 0 && c.Post.User[0] == '{' {
			if err := json.Unmarshal(c.Post.User, &user); err != nil {
				bad(fmt.Errorf("%s:%d: post.user: %v", name, n, err))
			}
		}
		root := domain.Post{
			ID: c.ID, Source: "weibo", Text: c.Post.Text, PublishedAt: at,
			Author:  domain.Author{ID: "weibo:" + c.ID, Followers: user.Followers, Verified: user.Verified, Location: user.Location},
			Metrics: domain.Metrics{Reposts: c.Post.Reposts, Comments: c.Post.Comments, Likes: c.Post.Likes},
		}
		posts = append(posts, root)
		for i, rp := range c.Reposts {
			t, err := repostTime(rp.Date, at)
			if err != nil || rp.Mid == "" {
				bad(fmt.Errorf("%s:%d: reposts[%d]: bad mid or date %q", name, n, i, rp.Date))
				continue
			}
			parent := rp.Parent
			if parent == "" {
				parent = c.ID
			}
			posts = append(posts, domain.Post{
				ID: rp.Mid, Source: "weibo", Text: rp.Text, PublishedAt: t, ParentID: parent, RootID: c.ID,
				Author: domain.Author{ID: rp.UID},
			})
		}
	})
	return posts, err
}

// repostTime reads a repost's China-time date; Weibo's short form "02月06日
// 17:45" has no year, which is taken from the original post (the next year if
// that would put the repost before the original).
func repostTime(s string, root time.Time) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02 15:04:05", s, chinaTime); err == nil {
		return t, nil
	}
	year := root.In(chinaTime).Year()
	t, err := time.ParseInLocation("2006年01月02日 15:04", strconv.Itoa(year)+"年"+s, chinaTime)
	if err != nil {
		return t, err
	}
	// the short form has minutes only: a repost in the original's own
	// minute is not before it
	if t.Before(root.Truncate(time.Minute)) {
		t = t.AddDate(1, 0, 0)
	}
	return t, nil
}

// cedTime reads post.time: unix seconds, or a Weibo date string.
func cedTime(raw json.RawMessage) (time.Time, error) {
	s := strings.Trim(string(raw), `"`)
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(int64(secs), 0).UTC(), nil
	}
	t, err := time.Parse("Mon Jan 02 15:04:05 -0700 2006", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("unreadable time %q", s)
	}
	return t.UTC(), nil
}

// ReadCSV reads posts from CSV whose header names post fields: id, source,
// url, title, text, published_at, region, parent_id, root_id, author (or
// author.name), author.id, author.followers, author.location, author.verified.
func ReadCSV(r io.Reader, name string, bad func(error)) ([]domain.Post, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: CSV header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	if _, ok := col["text"]; !ok {
		return nil, fmt.Errorf("%s: CSV header has no text column (got %v)", name, header)
	}
	get := func(rec []string, k string) string {
		if i, ok := col[k]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var posts []domain.Post
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return posts, nil
		}
		if err != nil {
			// with LazyQuotes and any field count, only a read error (a cut
			// gzip, a failing disk) is left, and it does not go away
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(fmt.Errorf("%s:%d: %v", name, pe.StartLine, err))
				continue
			}
			return posts, fmt.Errorf("%s: reading CSV: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		p := domain.Post{ID: get(rec, "id"), Source: get(rec, "source"), URL: get(rec, "url"), Title: get(rec, "title"),
			Text: get(rec, "text"), Region: get(rec, "region"), ParentID: get(rec, "parent_id"), RootID: get(rec, "root_id")}
		p.Author.Name = get(rec, "author")
		if v := get(rec, "author.name"); v != "" {
			p.Author.Name = v
		}
		p.Author.ID, p.Author.Location = get(rec, "author.id"), get(rec, "author.location")
		p.Author.Followers, _ = strconv.ParseInt(get(rec, "author.followers"), 10, 64)
		p.Author.Verified, _ = strconv.ParseBool(get(rec, "author.verified"))
		if s := get(rec, "published_at"); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t, err = time.ParseInLocation("2006-01-02 15:04:05", s, chinaTime)
			}
			if err != nil {
				bad(fmt.Errorf("%s:%d: published_at %q: not RFC 3339", name, line, s))
				continue
			}
			p.PublishedAt = t
		}
		posts = append(posts, p)
	}
}

// SortByTime orders posts by published_at, keeping file order for ties (so a
// parent that shares its child's second stays first).
func SortByTime(posts []domain.Post) {
	sort.SliceStable(posts, func(i, j int) bool { return posts[i].PublishedAt.Before(posts[j].PublishedAt) })
}
