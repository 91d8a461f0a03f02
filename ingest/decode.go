// Package ingest takes posts in: it decodes and validates what senders push
// (one JSON post, an array, or NDJSON), gives each post its id, and publishes
// the good ones durably to the Bus before answering. Bad items get an error
// that names the item and the field; good items of the same batch are kept.
package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"yuqing/domain"
)

// Limits on one post's fields, in bytes.
const (
	MaxTextBytes  = 256 << 10 // a long news article fits; a field of megabytes does not
	MaxTitleBytes = 2 << 10
	MaxURLBytes   = 4 << 10
	MaxShortBytes = 1 << 10 // ids, names, source, region, location
)

// China time, for timestamps sent without a zone.
var chinaTime = time.FixedZone("CST", 8*3600)

// ItemError says what is wrong with one item of a batch.
type ItemError struct {
	Item  int    `json:"item"` // 0-based position in the batch (line for NDJSON, minus blank lines)
	Line  int    `json:"line,omitempty"`
	ID    string `json:"id,omitempty"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

func (e ItemError) String() string {
	where := fmt.Sprintf("第 %d 条", e.Item+1)
	if e.Line > 0 {
		where += fmt.Sprintf("（第 %d 行）", e.Line)
	}
	if e.Field != "" {
		where += "字段 " + e.Field
	}
	return where + ": " + e.Error
}

// wirePost is a post as senders write it: published_at is kept as text so a
// bad date is reported against its field instead of failing the whole item.
type wirePost struct {
	ID          string            `json:"id"`
	Source      string            `json:"source"`
	URL         string            `json:"url"`
	Title       string            `json:"title"`
	Text        string            `json:"text"`
	Author      domain.Author     `json:"author"`
	PublishedAt string            `json:"published_at"`
	Region      string            `json:"region"`
	Metrics     domain.Metrics    `json:"metrics"`
	ParentID    string            `json:"parent_id"`
	RootID      string            `json:"root_id"`
	Record      *domain.RecordRef `json:"record"`
}

// Decode reads a body holding one post, a JSON array of posts, or NDJSON (one
// post per line), and returns the valid posts (with ids and ReceivedAt set) and
// an error for each bad item. Duplicate ids within the body are reported on
// the later item. A body that is not JSON at all gives one error for item 0.
func Decode(body []byte, now time.Time) ([]domain.Post, []ItemError) {
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	trimmed = bytes.TrimPrefix(trimmed, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(trimmed)) == 0 {
		return nil, []ItemError{{Error: "请求体为空 (empty body)"}}
	}
	var items []rawItem
	if trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			if !utf8.Valid(trimmed) {
				return nil, []ItemError{{Error: "请求体不是合法的 UTF-8 编码 (invalid UTF-8)"}}
			}
			return nil, []ItemError{{Error: "JSON 数组格式错误: " + jsonErr(err)}}
		}
		for i, r := range arr {
			items = append(items, rawItem{index: i, raw: r})
		}
	} else {
		items = splitLines(trimmed)
	}
	posts := make([]domain.Post, 0, len(items))
	var errs []ItemError
	seen := make(map[string]int, len(items))
	for _, it := range items {
		p, ie := decodeItem(it.raw)
		if ie != nil {
			ie.Item, ie.Line = it.index, it.line
			errs = append(errs, *ie)
			continue
		}
		p.ReceivedAt = now
		if p.PublishedAt.IsZero() {
			p.PublishedAt = now
		}
		if p.ID == "" {
			p.ID = p.DeriveID()
		}
		if first, dup := seen[p.ID]; dup {
			errs = append(errs, ItemError{Item: it.index, Line: it.line, ID: p.ID, Field: "id",
				Error: fmt.Sprintf("与第 %d 条的 id 重复，已忽略 (duplicate id in this batch)", first+1)})
			continue
		}
		seen[p.ID] = it.index
		posts = append(posts, p)
	}
	return posts, errs
}

type rawItem struct {
	index int
	line  int
	raw   []byte
}

// splitLines treats the body as NDJSON; a single object spread over several
// lines is recognised and kept whole.
func splitLines(body []byte) []rawItem {
	if json.Valid(body) {
		return []rawItem{{index: 0, line: 1, raw: body}}
	}
	var items []rawItem
	line := 0
	for len(body) > 0 {
		var l []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			l, body = body[:i], body[i+1:]
		} else {
			l, body = body, nil
		}
		line++
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		items = append(items, rawItem{index: len(items), line: line, raw: l})
	}
	return items
}

func decodeItem(raw []byte) (domain.Post, *ItemError) {
	raw = bytes.TrimSpace(raw)
	if !utf8.Valid(raw) {
		return domain.Post{}, &ItemError{Error: fmt.Sprintf("不是合法的 UTF-8 编码，位置在第 %d 字节 (invalid UTF-8)", invalidAt(raw))}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return domain.Post{}, &ItemError{Error: "应为 JSON 对象 (expected a JSON object)"}
	}
	var w wirePost
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&w); err != nil {
		ie := &ItemError{Error: "JSON 格式错误: " + jsonErr(err)}
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			ie.Field = te.Field
		}
		return domain.Post{}, ie
	}
	if dec.More() {
		return domain.Post{}, &ItemError{Error: "一行只能有一个 JSON 对象 (trailing data after the object)"}
	}
	p := domain.Post{
		ID: strings.TrimSpace(w.ID), Source: strings.TrimSpace(w.Source), URL: strings.TrimSpace(w.URL),
		Title: strings.TrimSpace(w.Title), Text: strings.TrimSpace(w.Text), Author: w.Author,
		Region: strings.TrimSpace(w.Region), Metrics: w.Metrics,
		ParentID: strings.TrimSpace(w.ParentID), RootID: strings.TrimSpace(w.RootID), Record: w.Record,
	}
	fieldErr := func(field, msg string) *ItemError { return &ItemError{ID: p.ID, Field: field, Error: msg} }
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"id", p.ID, MaxShortBytes}, {"source", p.Source, MaxShortBytes}, {"url", p.URL, MaxURLBytes},
		{"title", p.Title, MaxTitleBytes}, {"text", p.Text, MaxTextBytes},
		{"author.name", p.Author.Name, MaxShortBytes}, {"author.id", p.Author.ID, MaxShortBytes},
		{"author.location", p.Author.Location, MaxShortBytes}, {"region", p.Region, MaxShortBytes},
		{"parent_id", p.ParentID, MaxShortBytes}, {"root_id", p.RootID, MaxShortBytes},
	} {
		if len(f.value) > f.max {
			return p, fieldErr(f.name, fmt.Sprintf("过长: %d 字节，上限 %d 字节 (field too long)", len(f.value), f.max))
		}
	}
	if p.Text == "" && p.ParentID == "" {
		return p, fieldErr("text", "不能为空；只有带 parent_id 的纯转发可以没有正文 (text is required)")
	}
	if p.ParentID != "" && p.ParentID == p.ID {
		return p, fieldErr("parent_id", "不能等于帖子自己的 id (a post cannot be its own parent)")
	}
	if r := p.Record; r != nil && r.Kind != domain.RecordDisclosure && r.Kind != domain.RecordInterpretation {
		return p, fieldErr("record.kind", fmt.Sprintf("%q 不是 disclosure 或 interpretation (unknown record kind)", clip(r.Kind, 40)))
	}
	if p.Author.Followers < 0 || p.Metrics.Reposts < 0 || p.Metrics.Comments < 0 || p.Metrics.Likes < 0 {
		return p, fieldErr("metrics", "计数不能为负数 (negative count)")
	}
	if s := strings.TrimSpace(w.PublishedAt); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return p, fieldErr("published_at", fmt.Sprintf("时间格式无法识别 %q，应为 RFC 3339，如 2024-05-01T08:30:00+08:00", clip(s, 40)))
		}
		p.PublishedAt = t
	}
	return p, nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// parseTime reads RFC 3339, and also the zone-less forms Chinese sites use,
// which are taken as China time.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, l := range timeLayouts[1:] {
		if t, err := time.ParseInLocation(l, s, chinaTime); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

func jsonErr(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%v（第 %d 字节）", se, se.Offset)
	}
	return err.Error()
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
