package server

import (
	"context"
	"fmt"

	"yuqing/alerting/store/sqlitestore"
	"yuqing/analyzer/index/bleveindex"
	"yuqing/ingest/bus/sqlitebus"
)

// openBackends opens the one backend the configuration names for each port.
// On error, what was opened is closed by the caller (closeBackends).
func (s *Server) openBackends(ctx context.Context) error {
	cfg := s.cfg
	switch {
	case cfg.Bus.SQLite != nil:
		b, err := sqlitebus.Open(cfg.inData(cfg.Bus.SQLite.Path, "bus.db"),
			sqlitebus.WithPartitions(cfg.Bus.SQLite.Partitions), sqlitebus.WithLogger(s.log))
		if err != nil {
			return fmt.Errorf("打开消息总线: %w", err)
		}
		s.Bus = b
	default:
		return fmt.Errorf("bus: 此版本不支持所配置的后端")
	}
	switch {
	case cfg.Store.SQLite != nil:
		st, err := sqlitestore.Open(cfg.inData(cfg.Store.SQLite.Path, "store.db"))
		if err != nil {
			return fmt.Errorf("打开存储: %w", err)
		}
		s.Store = st
	default:
		return fmt.Errorf("store: 此版本不支持所配置的后端")
	}
	switch {
	case cfg.Index.Bleve != nil:
		ix, err := bleveindex.Open(cfg.inData(cfg.Index.Bleve.Path, "index"))
		if err != nil {
			return fmt.Errorf("打开索引: %w", err)
		}
		s.Index = ix
	default:
		return fmt.Errorf("index: 此版本不支持所配置的后端")
	}
	return nil
}
