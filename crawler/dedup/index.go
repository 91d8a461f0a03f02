package dedup

import (
	"fmt"
	"sync"
)

const (
	bands    = 4
	bandBits = 64 / bands
)

// Index finds near-duplicates among stored hashes. It splits each 64-bit hash
// into 4 bands of 16 bits; by the pigeonhole principle two hashes within
// distance 3 agree exactly on at least one band, so Near looks candidates up
// by band and checks only their full distance. With random-looking hashes a
// bucket holds about Len()/65536 entries, so a lookup stays cheap into the
// millions. It is safe for concurrent use.
type Index struct {
	maxDist int

	mu      sync.RWMutex
	entries []entry                   // in the order added
	seen    map[entry]struct{}        // makes Add idempotent
	buckets [bands]map[uint16][]int32 // band value -> indices into entries
}

type entry struct {
	h  uint64
	id string
}

// NewIndex returns an empty Index that reports hashes within maxDist bits.
// maxDist must be 0..3, the range in which the 4-band lookup is exact; any
// other value panics, as it is a programming error that clamping would hide.
func NewIndex(maxDist int) *Index {
	if maxDist < 0 || maxDist > bands-1 {
		panic(fmt.Sprintf("dedup: NewIndex: maxDist %d out of range 0..%d (4 bands of 16 bits find every hash within 3 bits, no further)", maxDist, bands-1))
	}
	x := &Index{maxDist: maxDist, seen: make(map[entry]struct{})}
	for i := range x.buckets {
		x.buckets[i] = make(map[uint16][]int32)
	}
	return x
}

func band(h uint64, i int) uint16 {
	return uint16(h >> (i * bandBits))
}

// Add records the hash h under id, the story's id. Adding the same (h, id)
// pair again is a no-op; one hash may be stored under several ids, and one id
// under several hashes. The hash 0, SimHash of empty text, is not stored.
func (x *Index) Add(h uint64, id string) {
	if h == 0 {
		return
	}
	e := entry{h, id}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, dup := x.seen[e]; dup {
		return
	}
	if len(x.entries) == 1<<31-1 {
		panic("dedup: Index is full (2^31-1 entries)")
	}
	x.seen[e] = struct{}{}
	n := int32(len(x.entries))
	x.entries = append(x.entries, e)
	for i := range x.buckets {
		b := band(h, i)
		x.buckets[i][b] = append(x.buckets[i][b], n)
	}
}

// Near returns the id of the stored hash closest to h, provided it is within
// maxDist bits, with its distance and ok set. Of equally close hashes it
// returns the one added first. h == 0 (empty text) never matches.
// Near followed by Add is not one atomic step: two goroutines may both miss
// and both add, so a caller that needs check-and-add must serialise it.
func (x *Index) Near(h uint64) (id string, dist int, ok bool) {
	if h == 0 {
		return "", 0, false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	best, bestDist := int32(-1), x.maxDist+1
	for i := range x.buckets {
		for _, n := range x.buckets[i][band(h, i)] {
			d := Distance(h, x.entries[n].h)
			if d < bestDist || d == bestDist && best >= 0 && n < best {
				best, bestDist = n, d
			}
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return x.entries[best].id, bestDist, true
}

// Len returns the number of stored (hash, id) pairs.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}
