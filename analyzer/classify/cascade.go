package classify

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Cascade is one labelled Weibo post of the CED data with its reposts and
// comments.
type Cascade struct {
	ID, Text, Label string
	Root            SpreadRoot
	Children        []SpreadChild
	// group is the canonical text of the post's group of near-duplicates:
	// its split, validation slice and cross-validation fold.
	group string
}

// Spread gives the cascade's first-hour spread features.
func (c *Cascade) Spread() Spread { return ExtractSpread(c.Root, c.Children) }

// cnTime is China Standard Time, the zone of the CED repost dates.
var cnTime = time.FixedZone("CST", 8*3600)

// ReadCascades reads labelled Weibo cascades (JSONL, gzip'd or not) and keeps
// those of split. The split is by post: a post, its reposts and its comments
// go together. Posts whose texts are the same or nearly so (the same rumor
// posted by several accounts, a text quoted in a longer one; see
// nearDuplicateGroups) go together too: each group falls where InSplit puts
// its canonical text, the least of its members' texts, so a post without
// near-duplicates falls where InSplit puts its own text. Groups are found
// over all the files given, so give train and eval the same files.
func ReadCascades(files []string, split string) ([]Cascade, error) {
	var all []Cascade
	for _, path := range files {
		var err error
		if all, err = readCascadeFile(path, all); err != nil {
			return nil, err
		}
	}
	groups := nearDuplicateGroups(all)
	out := all[:0]
	for i := range all {
		all[i].group = groups[i]
		if InSplit(groups[i], split) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func examplesOf(cs []Cascade) []Example {
	out := make([]Example, len(cs))
	for i, c := range cs {
		out[i] = Example{Text: c.Text, Label: c.Label, group: c.group}
	}
	return out
}

func readCascadeFile(path string, out []Cascade) ([]Cascade, error) {
	f, err := open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	for n := 1; ; n++ {
		var rec struct {
			ID    string `json:"id"`
			Label string `json:"label"`
			Post  struct {
				Text string          `json:"text"`
				Time json.RawMessage `json:"time"`
				User json.RawMessage `json:"user"` // an object, or the string "empty"
				Pics *int            `json:"pics"`
			} `json:"post"`
			Reposts []struct {
				Mid    string `json:"mid"`
				Parent string `json:"parent"`
				UID    string `json:"uid"`
				Text   string `json:"text"`
				Date   string `json:"date"`
			} `json:"reposts"`
		}
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			return out, fmt.Errorf("classify: %s record %d: %w", path, n, err)
		}
		if rec.Label != "rumor" && rec.Label != "non-rumor" {
			return out, fmt.Errorf("classify: %s record %d: label %q is neither rumor nor non-rumor", path, n, rec.Label)
		}
		text := strings.TrimSpace(rec.Post.Text)
		if text == "" {
			continue
		}
		c := Cascade{ID: rec.ID, Text: text, Label: rec.Label}
		c.Root.At = cedTime(rec.Post.Time) // zero when unreadable: no spread counts
		if u := rec.Post.User; len(u) > 0 && u[0] == '{' {
			var user struct {
				Verified  bool  `json:"verified"`
				Followers int64 `json:"followers"`
			}
			if json.Unmarshal(u, &user) == nil {
				// known as SpreadRootOfPost knows it in use: an author
				// with no followers and no flag is taken as unknown
				c.Root.AuthorKnown = user.Followers > 0 || user.Verified
				c.Root.Verified, c.Root.Followers = user.Verified, user.Followers
			}
		}
		if rec.Post.Pics != nil {
			c.Root.PicsKnown, c.Root.Pics = true, *rec.Post.Pics
		}
		for _, rp := range rec.Reposts {
			at, ok := cedRepostTime(rp.Date, c.Root.At)
			if !ok {
				continue
			}
			c.Children = append(c.Children, SpreadChild{At: at, User: rp.UID, Text: rp.Text, Nested: rp.Parent != ""})
		}
		out = append(out, c)
	}
	return out, nil
}

// cedTime reads post.time: unix seconds, or a Weibo date string such as
// "Sun Jan 13 14:58:24 +0800 2013"; zero when it is neither.
func cedTime(raw json.RawMessage) time.Time {
	s := strings.Trim(string(raw), `"`)
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
		return time.Unix(int64(secs), 0).UTC()
	}
	if t, err := time.Parse("Mon Jan 02 15:04:05 -0700 2006", s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// cedRepostTime reads a repost's China-time date, "2012-09-13 08:38:09" or
// Weibo's short "02月06日 17:45" whose year is the original post's (the next
// year if that would put the repost before the original).
func cedRepostTime(s string, root time.Time) (time.Time, bool) {
	if t, err := time.ParseInLocation("2006-01-02 15:04:05", s, cnTime); err == nil {
		return t.UTC(), true
	}
	if root.IsZero() {
		return time.Time{}, false
	}
	year := root.In(cnTime).Year()
	t, err := time.ParseInLocation("2006年01月02日 15:04", strconv.Itoa(year)+"年"+s, cnTime)
	if err != nil {
		return time.Time{}, false
	}
	if t.Before(root.Truncate(time.Minute)) {
		t = t.AddDate(1, 0, 0)
	}
	return t.UTC(), true
}

// Near-duplicate texts: two posts are near-duplicates when their texts,
// reduced to letters and digits (links dropped), are equal, or when at least
// dupContainment of the shorter one's character 4-grams are in the other
// (one text copied into another with a few words changed, a prefix or a
// signature added). Groups are the transitive closure.
const (
	dupShingle     = 4
	dupContainment = 0.5
	dupMinShingles = 8   // shorter texts are grouped only when equal
	dupMaxPosting  = 200 // 4-grams in more posts than this are too common to tell
)

// nearDuplicateGroups gives, for each cascade, the canonical text of its
// group: the least (by byte order) of its members' texts.
func nearDuplicateGroups(cs []Cascade) []string {
	n := len(cs)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		if a, b = find(a), find(b); a != b {
			if a > b {
				a, b = b, a
			}
			parent[b] = a
		}
	}
	exact := map[string]int{}
	sets := make([][]uint64, n)
	for i, c := range cs {
		norm := dupNormalize(c.Text)
		if j, ok := exact[norm]; ok {
			union(i, j)
		} else {
			exact[norm] = i
		}
		sets[i] = shingles(norm)
	}
	posting := map[uint64][]int32{}
	for i, s := range sets {
		if len(s) < dupMinShingles {
			continue
		}
		for _, h := range s {
			posting[h] = append(posting[h], int32(i))
		}
	}
	shared := make([]int, n)
	var touched []int
	for i, s := range sets {
		if len(s) < dupMinShingles {
			continue
		}
		touched = touched[:0]
		for _, h := range s {
			p := posting[h]
			if len(p) > dupMaxPosting {
				continue
			}
			for _, j := range p {
				if int(j) >= i {
					break // postings ascend: only earlier posts
				}
				if shared[j] == 0 {
					touched = append(touched, int(j))
				}
				shared[j]++
			}
		}
		for _, j := range touched {
			if float64(shared[j]) >= dupContainment*float64(min(len(s), len(sets[j]))) {
				union(i, j)
			}
			shared[j] = 0
		}
	}
	canon := make([]string, n)
	for i, c := range cs {
		r := find(i)
		if canon[r] == "" || c.Text < canon[r] {
			canon[r] = c.Text
		}
	}
	out := make([]string, n)
	for i := range cs {
		out[i] = canon[find(i)]
	}
	return out
}

// dupNormalize keeps the letters and digits of a text, lower-cased, without
// links.
func dupNormalize(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		if i := strings.Index(s, "http"); i == 0 {
			j := 0
			for j < len(s) && s[j] < 0x80 && s[j] > ' ' {
				j++
			}
			s = s[j:]
			continue
		} else if i < 0 {
			i = len(s)
			writeWordRunes(&b, s)
			break
		} else {
			writeWordRunes(&b, s[:i])
			s = s[i:]
		}
	}
	return b.String()
}

func writeWordRunes(b *strings.Builder, s string) {
	for _, r := range s {
		if isWordRune(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
}

// shingles gives the distinct hashed character 4-grams of s.
func shingles(s string) []uint64 {
	rs := []rune(s)
	if len(rs) < dupShingle {
		return nil
	}
	seen := map[uint64]bool{}
	var out []uint64
	for i := 0; i+dupShingle <= len(rs); i++ {
		h := uint64(14695981039346656037)
		for _, r := range rs[i : i+dupShingle] {
			h ^= uint64(r)
			h *= 1099511628211
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
