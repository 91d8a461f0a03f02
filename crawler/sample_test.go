package crawler

import "testing"

// The sample sources file in deploy/ must always load.
func TestSampleSourcesFileLoads(t *testing.T) {
	f, err := LoadSources("../deploy/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, s := range f.Sources {
		types[s.Type]++
	}
	for _, typ := range []string{TypeHTML, TypeFeed, TypeJSON, TypePortal} {
		if types[typ] == 0 {
			t.Errorf("the sample has no %s source", typ)
		}
	}
	if _, err := NewFetcherFor(f); err != nil {
		t.Fatal(err)
	}
}
