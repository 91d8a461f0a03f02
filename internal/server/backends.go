package server

import (
	"context"
	"fmt"

	"yuqing/alerting/store/pgstore"
	"yuqing/alerting/store/sqlitestore"
	"yuqing/analyzer/index/bleveindex"
	"yuqing/analyzer/index/esindex"
	"yuqing/ingest/bus/kafkabus"
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
	case cfg.Bus.Kafka != nil:
		k := cfg.Bus.Kafka
		b, err := kafkabus.Open(k.Brokers, kafkabus.WithPartitions(k.Partitions), kafkabus.WithTopicPrefix(k.TopicPrefix),
			kafkabus.WithLogger(s.log))
		if err != nil {
			return fmt.Errorf("连接 Kafka %v: %w", k.Brokers, err)
		}
		s.Bus = b
	}
	switch {
	case cfg.Store.SQLite != nil:
		st, err := sqlitestore.Open(cfg.inData(cfg.Store.SQLite.Path, "store.db"))
		if err != nil {
			return fmt.Errorf("打开存储: %w", err)
		}
		s.Store = st
	case cfg.Store.Postgres != nil:
		var opts []pgstore.Option
		if cfg.Store.Postgres.Schema != "" {
			opts = append(opts, pgstore.WithSchema(cfg.Store.Postgres.Schema))
		}
		st, err := pgstore.Open(ctx, cfg.Store.Postgres.DSN, opts...)
		if err != nil {
			return fmt.Errorf("连接 PostgreSQL: %w", err)
		}
		s.Store = st
	}
	switch {
	case cfg.Index.Bleve != nil:
		ix, err := bleveindex.Open(cfg.inData(cfg.Index.Bleve.Path, "index"))
		if err != nil {
			return fmt.Errorf("打开索引: %w", err)
		}
		s.Index = ix
	case cfg.Index.Elasticsearch != nil:
		e := cfg.Index.Elasticsearch
		ix, err := esindex.Open(ctx, e.Addresses, esindex.WithPrefix(e.Prefix), esindex.WithLogger(s.log))
		if err != nil {
			return fmt.Errorf("连接 Elasticsearch %v: %w", e.Addresses, err)
		}
		s.Index = ix
	}
	return nil
}
