// Package models embeds the analyzer's trained classifiers (sentiment,
// category, rumor) so the binary needs no model file beside it. The files are
// produced by classify.Train on the train split of ../shared/data; rebuild
// them with `YUQING_RETRAIN=1 go test ./analyzer/models -run TestRetrain`.
package models

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"yuqing/analyzer/classify"
)

//go:embed *.model.gz
var files embed.FS

// Names of the embedded models, which are also their kinds.
const (
	Sentiment = classify.KindSentiment
	Category  = classify.KindCategory
	Rumor     = classify.KindRumor
)

var (
	mu     sync.Mutex
	loaded = map[string]*classify.Model{}
)

// Load gives the embedded model of a kind, decoding it on first use; the
// model is shared and read-only.
func Load(kind string) (*classify.Model, error) {
	mu.Lock()
	defer mu.Unlock()
	if m, ok := loaded[kind]; ok {
		return m, nil
	}
	b, err := files.ReadFile(kind + ".model.gz")
	if err != nil {
		return nil, fmt.Errorf("models: no embedded %q model: %w", kind, err)
	}
	m, err := classify.Load(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("models: embedded %s.model.gz: %w", kind, err)
	}
	if m.Kind != kind {
		return nil, fmt.Errorf("models: embedded %s.model.gz holds a %q model", kind, m.Kind)
	}
	loaded[kind] = m
	return m, nil
}
