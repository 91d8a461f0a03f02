package server

import (
	"context"
	"time"

	"yuqing/analyzer/segment"
	"yuqing/domain"
)

// unitsEvery is how often a process looks for units added through
// POST /api/v1/units by another process: its tree follows them, and its
// analyzer adds their names and places to the dictionary.
const unitsEvery = 30 * time.Second

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

// watchUnits reads the store's units at once and then every unitsEvery:
// when the units posted through the API changed, the organisation tree is
// rebuilt and swapped in place (refreshUnits); with seg (the analyzer runs
// in this process), the names and places of every unit of the tree and of
// the store go to the dictionary, so that 宁波市市场监督管理局 or 钟公庙街道
// are cut whole.
func (s *Server) watchUnits(ctx context.Context, seg *segment.Segmenter) error {
	if seg != nil {
		if n := seg.AddWords(unitWords(s.Tree.Units())); n > 0 {
			s.log.Info("分词词典加入组织树单位名和地名", "新词", n)
		}
	}
	t := time.NewTicker(unitsEvery)
	defer t.Stop()
	for {
		units, err := s.Store.ListUnits(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("读取单位列表失败，稍后重试", "err", err)
		} else {
			s.refreshUnits(units)
			if seg != nil {
				if n := seg.AddWords(unitWords(units)); n > 0 {
					s.log.Info("分词词典加入新单位名和地名", "新词", n)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
