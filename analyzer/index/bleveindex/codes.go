package bleveindex

import (
	"fmt"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"

	"yuqing/analyzer/index"
)

// codes gives the places and units short codes for the facet terms.
//
// A search decodes the doc values of every counted field of every match,
// snappy-compressed chunks of 1,024 documents, at a cost that grows with the
// bytes of the values. A full place name or unit is 15 to 30 bytes, a code 2
// to 4 ("p" or "u" and a base-62 number), so the facet terms cost a search
// little. A code's name is kept in Bleve's internal store under
// "yuqing_code/" + code, written in the batch of the first posts that use
// it (and again in each batch until one of them has succeeded), so it is
// durable when they are; Open finds the codes in use in the region field's
// dictionary and reads their names. Codes are given in this process under a
// lock; an Index that fails may leave a code unused, which is harmless.
//
// The codes of places also serve the Place filter: byTerm lists, for every
// name a place is found by (index.PlaceTerms), the codes of the places it
// finds, and the filter matches any of those codes among the facet terms,
// so a post carries no term per name of its places.
type codes struct {
	mu     sync.RWMutex
	byName map[string]string   // kind+name → code
	names  map[string]string   // code → name
	byTerm map[string][]string // place term → codes of the places it finds
	stored map[string]bool     // codes whose names a successful batch wrote
	next   int

	missing []string // codes in use found by load without a name
}

// codeKey is the internal key of a code's name.
func codeKey(code string) []byte { return []byte("yuqing_code/" + code) }

// Kinds of codes (their first byte) and the risk term prefix.
const (
	kindPlace = "p"
	kindUnit  = "u"
	kindRisk  = "r"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func encode62(n int) string {
	if n == 0 {
		return "0"
	}
	var b [12]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = base62[n%62]
		n /= 62
	}
	return string(b[i:])
}

func decode62(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base62, s[i])
		if d < 0 || n > 1<<40 {
			return 0, false
		}
		n = n*62 + d
	}
	return n, s != ""
}

func newCodes() *codes {
	return &codes{byName: map[string]string{}, names: map[string]string{}, byTerm: map[string][]string{}, stored: map[string]bool{}}
}

// load finds the codes in use in the region field's dictionary and reads
// their names.
func (c *codes) load(bi bleve.Index) error {
	adv, err := bi.Advanced()
	if err != nil {
		return err
	}
	r, err := adv.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	d, err := r.FieldDictPrefix(fRegion, []byte(facetMark))
	if err != nil {
		return err
	}
	defer d.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		e, err := d.Next()
		if err != nil {
			return err
		}
		if e == nil {
			return nil
		}
		code := strings.TrimPrefix(e.Term, facetMark)
		if len(code) < 2 || (code[:1] != kindPlace && code[:1] != kindUnit) {
			continue // a risk term
		}
		n, ok := decode62(code[1:])
		if !ok {
			return fmt.Errorf("bad code %q", code)
		}
		name, err := bi.GetInternal(codeKey(code))
		if err != nil {
			return err
		}
		if name == nil {
			c.missing = append(c.missing, code)
			name = []byte(code) // counted under its code
		}
		c.add(code[:1], string(name), code)
		c.stored[code] = true
		c.next = max(c.next, n+1)
	}
}

// code gives the code of a name of a kind, giving it a new one if needed.
func (c *codes) code(kind, name string) string {
	key := kind + name
	c.mu.RLock()
	code, ok := c.byName[key]
	c.mu.RUnlock()
	if ok {
		return code
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if code, ok := c.byName[key]; ok {
		return code
	}
	code = kind + encode62(c.next)
	c.next++
	c.add(kind, name, code)
	return code
}

// add records a code; c.mu is held.
func (c *codes) add(kind, name, code string) {
	c.byName[kind+name] = code
	c.names[code] = name
	if kind == kindPlace {
		for _, t := range index.PlaceTerms(name) {
			c.byTerm[t] = append(c.byTerm[t], code)
		}
	}
}

// placeCodes gives the codes of the places that a place name finds.
func (c *codes) placeCodes(term string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.byTerm[term]...)
}

// name gives the name of a code.
func (c *codes) name(code string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, ok := c.names[code]
	return n, ok
}

// unstored adds to b the names of the codes used that no successful batch
// has written yet, and gives those codes.
func (c *codes) unstored(b *bleve.Batch, used map[string]bool) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for code := range used {
		if !c.stored[code] {
			b.SetInternal(codeKey(code), []byte(c.names[code]))
			out = append(out, code)
		}
	}
	return out
}

// markStored records that a successful batch wrote the names of codes.
func (c *codes) markStored(codes []string) {
	if len(codes) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, code := range codes {
		c.stored[code] = true
	}
}
