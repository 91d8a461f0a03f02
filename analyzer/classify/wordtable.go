package classify

import (
	"encoding/binary"
	"math/bits"
)

// wordTable maps words to merged features. Words of up to 16 bytes (nearly
// every Chinese word) sit inline in an open-addressing table, so a look-up
// touches one cache line instead of a Go map's control word, slot and key
// bytes; longer words go to a Go map.
type wordTable struct {
	slots []wordSlot
	sh    uint
	long  map[string]int32
}

type wordSlot struct {
	k0, k1 uint64 // the word's bytes, zero-padded
	u      int32  // merged feature + 1; 0 is an empty slot
	n      uint8  // the word's length
}

// wordKey packs a word of at most 16 bytes.
func wordKey(s string) (k0, k1 uint64) {
	var b [16]byte
	copy(b[:], s)
	return binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
}

func wordHash(k0, k1 uint64, n int, sh uint) uint64 {
	h := (k0 ^ bits.RotateLeft64(k1, 31) ^ uint64(n)<<56) * 0x9E3779B97F4A7C15
	h ^= h >> 29
	return (h * 0xBF58476D1CE4E5B9) >> sh
}

func newWordTable(words map[string]int32) *wordTable {
	size := 1024
	for size < 2*len(words) {
		size <<= 1
	}
	t := &wordTable{slots: make([]wordSlot, size), sh: uint(64 - bits.TrailingZeros(uint(size))), long: map[string]int32{}}
	mask := uint64(size - 1)
	for w, u := range words {
		if len(w) > 16 {
			t.long[w] = u
			continue
		}
		k0, k1 := wordKey(w)
		for h := wordHash(k0, k1, len(w), t.sh); ; h = (h + 1) & mask {
			if t.slots[h].u == 0 {
				t.slots[h] = wordSlot{k0, k1, u + 1, uint8(len(w))}
				break
			}
		}
	}
	return t
}

// get gives the merged feature of word s, or -1.
func (t *wordTable) get(s string) int32 {
	if len(s) > 16 {
		if u, ok := t.long[s]; ok {
			return u
		}
		return -1
	}
	k0, k1 := wordKey(s)
	n := uint8(len(s))
	mask := uint64(len(t.slots) - 1)
	for h := wordHash(k0, k1, len(s), t.sh); ; h = (h + 1) & mask {
		e := &t.slots[h]
		if e.u == 0 {
			return -1
		}
		if e.k0 == k0 && e.k1 == k1 && e.n == n {
			return e.u - 1
		}
	}
}
