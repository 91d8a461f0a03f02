package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"yuqing/crawler/extract"
)

// JSONSpec says where a generic JSON API keeps its items and fields. Paths
// are dot-separated keys with numeric indices for arrays ("data.list",
// "result.0.items", "user.name"; "data[0].items" and a leading "$." are
// accepted too, and a negative index counts from the end). An empty Items
// path means the top-level value is the array; an empty field path means
// the item itself (an array of URL strings, say). A string holding JSON
// ("data": "{\"list\":[…]}", as some APIs double-encode) is decoded when a
// path goes through it.
type JSONSpec struct {
	Items  string            `yaml:"items"`
	Fields map[string]string `yaml:"fields"` // keys: id, url, title, text, author, published_at, region
	Cursor string            `yaml:"cursor"` // path of the next-page cursor in the response, if any
}

// jsonFields are the keys JSONSpec.Fields may use.
var jsonFields = []string{"id", "url", "title", "text", "author", "published_at", "region"}

const maxCursorBytes = 16 << 10

// JSON reads one response page of a JSON API described by spec. next is the
// value at spec.Cursor: "" when the path is absent, null, empty or false, or
// not a string or number (or longer than 16 KiB). Field values may be
// strings, numbers (ids often are: integers come back without exponent),
// booleans, or arrays of these (joined by "\n" for text, ", " otherwise).
// published_at is read with Time: RFC 3339, "2006-01-02 15:04:05", Chinese
// forms, or Unix seconds or milliseconds as a number or numeric string.
// HTML in title, text, author and region is stripped. url is kept when it is
// an http(s) URL; "//host/path" becomes https; a relative reference
// ("/a/1.html") is returned as given for the caller to resolve against the
// API's address. An item with neither url, title nor text is skipped, as is
// one that is not an object (unless a field path is empty); at most MaxItems
// are returned.
//
// The body may be in any Chinese encoding and may be wrapped as JSONP
// ("callback({…})", "try{cb({…})}catch(e){}"). Errors: an empty body
// (ErrEmpty); invalid JSON, with the byte offset of the fault in the
// UTF-8 body; a field key that is not one of id, url, title, text, author,
// published_at, region; an items path that is missing or does not lead to
// an array (null there gives no items and no error).
func JSON(body []byte, spec JSONSpec) (items []Item, next string, err error) {
	for k := range spec.Fields {
		if !slices.Contains(jsonFields, k) {
			return nil, "", fmt.Errorf("parse: JSON: unknown field %q in spec, want one of %s (字段名无效)", k, strings.Join(jsonFields, ", "))
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, "", fmt.Errorf("parse: JSON: %w", ErrEmpty)
	}
	text, _ := extract.Decode(body)
	shift := 0
	if bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}) {
		shift = 3
	}
	inner, off := unwrapJSONP(text)
	shift += off
	dec := json.NewDecoder(strings.NewReader(inner))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, "", jsonError(err, shift, len(inner))
	}

	if spec.Cursor != "" {
		if v, _, _ := walk(root, splitPath(spec.Cursor)); v != nil {
			next = cursorString(v)
		}
	}

	parts := splitPath(spec.Items)
	v, at, why := walk(root, parts)
	if at >= 0 {
		return nil, next, fmt.Errorf("parse: JSON: items path %q not found: %s (找不到条目路径 %q)", spec.Items, why, spec.Items)
	}
	var list []any
	switch x := unwrapString(v).(type) {
	case nil:
		return nil, next, nil
	case []any:
		list = x
	default:
		where := fmt.Sprintf("items path %q is", spec.Items)
		if len(parts) == 0 {
			where = "the top-level value is"
		}
		return nil, next, fmt.Errorf("parse: JSON: %s %s, not an array; set JSONSpec.Items (条目路径不是数组)", where, kind(x))
	}

	fields := make([][2]string, 0, len(spec.Fields))
	for _, k := range jsonFields { // a fixed order
		if p, ok := spec.Fields[k]; ok {
			fields = append(fields, [2]string{k, p})
		}
	}
	for _, el := range list {
		if len(items) == MaxItems {
			break
		}
		if it, ok := jsonItem(el, fields); ok {
			items = append(items, it)
		}
	}
	return items, next, nil
}

func jsonItem(el any, fields [][2]string) (Item, bool) {
	el = unwrapString(el)
	var it Item
	for _, f := range fields {
		parts := splitPath(f[1])
		if len(parts) > 0 {
			if _, obj := el.(map[string]any); !obj {
				if _, arr := el.([]any); !arr {
					continue
				}
			}
		}
		v, at, _ := walk(el, parts)
		if at >= 0 || v == nil {
			continue
		}
		sep := ", "
		if f[0] == "text" {
			sep = "\n"
		}
		s := scalarString(v, sep)
		if strings.TrimSpace(s) == "" {
			continue
		}
		switch f[0] {
		case "id":
			it.ID = cleanID(s)
		case "url":
			it.URL = jsonURL(s)
		case "title":
			it.Title = cleanLine(s, MaxTitleRunes)
		case "text":
			it.Text = cleanText(s)
		case "author":
			it.Author = cleanLine(s, maxAuthorRunes)
		case "published_at":
			if t, ok := Time(s); ok {
				it.PublishedAt = t
			}
		case "region":
			it.Region = cleanLine(s, maxRegionRunes)
		}
	}
	if it.URL == "" && it.Title == "" && it.Text == "" {
		return Item{}, false
	}
	return it, true
}

var (
	jsonpRe   = regexp.MustCompile(`^\s*(?:/\*\*/\s*)?(?:try\s*\{\s*)?[A-Za-z_$][\w$.]*\s*\(`)
	bracketRe = regexp.MustCompile(`\[\s*(?:"([^"]*)"|'([^']*)'|(-?[0-9]+))\s*\]`)
	schemeRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// unwrapJSONP returns the JSON inside a JSONP wrapper or an XSSI guard, and
// its byte offset in s.
func unwrapJSONP(s string) (string, int) {
	if strings.HasPrefix(s, ")]}'") {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			return s[i+1:], i + 1
		}
	}
	if m := jsonpRe.FindStringIndex(s); m != nil {
		if j := strings.LastIndexByte(s, ')'); j >= m[1] {
			return s[m[1]:j], m[1]
		}
	}
	return s, 0
}

func jsonError(err error, shift, n int) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		off := int(se.Offset) + shift
		return fmt.Errorf("parse: JSON: invalid at byte offset %d (JSON 格式错误，第 %d 字节): %w", off, off, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("parse: JSON: truncated at byte offset %d (JSON 不完整): %w", n+shift, err)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("parse: JSON: %w", ErrEmpty)
	}
	return fmt.Errorf("parse: JSON: invalid (JSON 格式错误): %w", err)
}

// splitPath splits "data.list", "data[0].items" or "$.a.b" into keys.
func splitPath(p string) []string {
	p = strings.TrimSpace(p)
	p = strings.TrimPrefix(p, "$")
	if strings.Contains(p, "[") {
		p = bracketRe.ReplaceAllString(p, ".$1$2$3")
	}
	var out []string
	for k := range strings.SplitSeq(p, ".") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// walk follows parts from v. at is -1 on success, else the index of the
// part that could not be followed, and why says what was found instead.
func walk(v any, parts []string) (out any, at int, why string) {
	for i, k := range parts {
		v = unwrapString(v)
		where := "the top level"
		if i > 0 {
			where = strconv.Quote(strings.Join(parts[:i], "."))
		}
		switch x := v.(type) {
		case map[string]any:
			nv, ok := x[k]
			if !ok {
				return nil, i, fmt.Sprintf("no key %q at %s", k, where)
			}
			v = nv
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil {
				return nil, i, fmt.Sprintf("%s is an array, %q is not an index", where, k)
			}
			if n < 0 {
				n += len(x)
			}
			if n < 0 || n >= len(x) {
				return nil, i, fmt.Sprintf("index %s out of range at %s (length %d)", k, where, len(x))
			}
			v = x[n]
		default:
			return nil, i, fmt.Sprintf("%s is %s, no key %q", where, kind(v), k)
		}
	}
	return v, -1, ""
}

// unwrapString decodes a string value that holds a JSON object or array.
func unwrapString(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	t := strings.TrimSpace(s)
	if len(t) < 2 || (t[0] != '{' || t[len(t)-1] != '}') && (t[0] != '[' || t[len(t)-1] != ']') {
		return v
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var inner any
	if dec.Decode(&inner) != nil || dec.More() {
		return v
	}
	return inner
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// scalarString renders a field value; arrays of scalars are joined by sep,
// objects give "".
func scalarString(v any, sep string) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return numString(x)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		var parts []string
		for _, e := range x {
			if len(parts) == 200 {
				break
			}
			switch e.(type) {
			case map[string]any, []any, nil:
				continue
			}
			if s := strings.TrimSpace(scalarString(e, sep)); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, sep)
	}
	return ""
}

// numString writes a JSON number as an API means it: integers as digits,
// never with an exponent (1.5e+18 → "1500000000000000000").
func numString(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) >= 1e21 {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func cursorString(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = numString(x)
	case bool:
		if x {
			s = "true"
		}
	}
	if len(s) > maxCursorBytes {
		return ""
	}
	return s
}

// jsonURL keeps http(s) URLs (normalised), makes "//host/…" https, and
// returns relative references as given; other schemes give "".
func jsonURL(s string) string {
	s = trimURL(s)
	if s == "" || len(s) > MaxURLBytes {
		return ""
	}
	if strings.HasPrefix(s, "//") {
		return absURL(nil, "https:"+s)
	}
	if schemeRe.MatchString(s) {
		return absURL(nil, s)
	}
	if strings.ContainsAny(s, " <>\"") {
		return ""
	}
	return strings.ToValidUTF8(s, "")
}
