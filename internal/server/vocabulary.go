package server

import (
	"context"
	"time"

	"yuqing/analyzer/segment"
	"yuqing/domain"
)

// vocabularyEvery is how often the analyzer role looks for units added
// through POST /api/v1/units (perhaps by another process).
const vocabularyEvery = 30 * time.Second

// unitWords gives the words of the organisation's units that the segmenter
// should cut whole: their names and places.
func unitWords(units []domain.Unit) []string {
	words := make([]string, 0, 2*len(units))
	for _, u := range units {
		words = append(words, u.Name)
		words = append(words, u.Places...)
	}
	return words
}

// watchVocabulary adds the names and places of every unit of the tree and
// of the store to the analyzer's dictionary, at once and then as units are
// added, so that 宁波市市场监督管理局 or 钟公庙街道 are cut whole.
func (s *Server) watchVocabulary(ctx context.Context, seg *segment.Segmenter) error {
	if n := seg.AddWords(unitWords(s.Tree.Units())); n > 0 {
		s.log.Info("分词词典加入组织树单位名和地名", "新词", n)
	}
	t := time.NewTicker(vocabularyEvery)
	defer t.Stop()
	for {
		units, err := s.Store.ListUnits(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("读取单位列表失败，稍后重试", "err", err)
		} else if n := seg.AddWords(unitWords(units)); n > 0 {
			s.log.Info("分词词典加入新单位名和地名", "新词", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
