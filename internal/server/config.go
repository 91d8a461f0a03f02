package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"yuqing/domain"
	"yuqing/internal/envsubst"
)

// Config is what `yuqing serve --config FILE` reads. With no file at all,
// everything runs on the embedded backends in the data folder. A file must
// name exactly one backend for each port (bus, index, store).
type Config struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:8080
	Data   string `yaml:"data"`   // data folder of the embedded backends; default ./data
	Target string `yaml:"target"` // all (default), analyzer, alerting, dashboard, crawler
	// Units is a YAML organisation tree; empty means the embedded national sample.
	Units   string `yaml:"units"`
	MaxBody int64  `yaml:"max_body"` // POST /api/v1/posts body limit in bytes; default 10 MiB
	// MaxBacklog bounds the posts accepted but not yet analysed; past it,
	// POST /api/v1/posts waits (the sender slows down). Default 10,000; -1 turns it off.
	MaxBacklog int64 `yaml:"max_backlog"`
	Analyzer   struct {
		// Taxonomy is a YAML file of public-opinion categories (see
		// analyzer/taxonomy/default_taxonomy.yaml); empty means the embedded
		// default. The organisation tree's departments name these categories.
		Taxonomy string `yaml:"taxonomy"`
	} `yaml:"analyzer"`
	Alerting struct {
		MinGrade string  `yaml:"min_grade"` // I, II, III or IV: open a case from this grade on; default IV
		MinHeat  float64 `yaml:"min_heat"`
		// Policy is the deadline policy YAML (rules with their sources,
		// extra holiday schedules); empty means the embedded default
		// (alerting/deadline/default_policy.yaml).
		Policy string `yaml:"policy"`
	} `yaml:"alerting"`
	Notify NotifyConfig `yaml:"notify"`
	// Crawler runs the sources of a YAML file (see deploy/sources.yaml) in
	// the processes whose target is all or crawler; none when Sources is empty.
	Crawler struct {
		Sources     string `yaml:"sources"`
		Concurrency int    `yaml:"concurrency"` // sources at once; default 4
		State       string `yaml:"state"`       // default DATA/crawler.db
	} `yaml:"crawler"`
	Dashboard struct {
		PostRate int `yaml:"post_rate"` // live-feed posts per second per client; default 50
	} `yaml:"dashboard"`
	Bus   BusConfig   `yaml:"bus"`
	Index IndexConfig `yaml:"index"`
	Store StoreConfig `yaml:"store"`
}

// BusConfig names the Bus backend: exactly one of its fields.
type BusConfig struct {
	SQLite *SQLiteBus `yaml:"sqlite"`
	Kafka  *KafkaBus  `yaml:"kafka"`
}

// SQLiteBus is the embedded durable log.
type SQLiteBus struct {
	Path       string `yaml:"path"`       // default DATA/bus.db
	Partitions int    `yaml:"partitions"` // default 4, fixed when the file is created
}

// KafkaBus is a Kafka cluster.
type KafkaBus struct {
	Brokers     []string `yaml:"brokers"`
	Partitions  int      `yaml:"partitions"`   // of topics created by yuqing; default 4
	TopicPrefix string   `yaml:"topic_prefix"` // default none
}

// IndexConfig names the Index backend: exactly one of its fields.
type IndexConfig struct {
	Bleve         *BleveIndex         `yaml:"bleve"`
	Elasticsearch *ElasticsearchIndex `yaml:"elasticsearch"`
}

// BleveIndex is the embedded index.
type BleveIndex struct {
	Path string `yaml:"path"` // default DATA/index
}

// ElasticsearchIndex is an Elasticsearch 8 cluster.
type ElasticsearchIndex struct {
	Addresses []string `yaml:"addresses"`
	Prefix    string   `yaml:"prefix"` // indices and alias; default yuqing-posts
}

// StoreConfig names the Store backend: exactly one of its fields.
type StoreConfig struct {
	SQLite   *SQLiteStore   `yaml:"sqlite"`
	Postgres *PostgresStore `yaml:"postgres"`
}

// SQLiteStore is the embedded store.
type SQLiteStore struct {
	Path string `yaml:"path"` // default DATA/store.db
}

// PostgresStore is a PostgreSQL database.
type PostgresStore struct {
	DSN    string `yaml:"dsn"`
	Schema string `yaml:"schema"` // default: the DSN's search_path (public)
}

// Embedded reports whether every port is on its embedded backend, which
// only one process may open at a time.
func (c Config) Embedded() bool {
	return c.Bus.SQLite != nil && c.Index.Bleve != nil && c.Store.SQLite != nil
}

// backends checks that each port names exactly one backend.
func (c Config) backends() error {
	count := func(port string, names []string, set []bool) error {
		var on []string
		for i, b := range set {
			if b {
				on = append(on, names[i])
			}
		}
		switch len(on) {
		case 1:
			return nil
		case 0:
			return fmt.Errorf("%s: 未指定后端，应为 %s 之一", port, strings.Join(names, "、"))
		}
		return fmt.Errorf("%s: 只能指定一个后端，却指定了 %s", port, strings.Join(on, " 和 "))
	}
	if err := count("bus", []string{"sqlite", "kafka"}, []bool{c.Bus.SQLite != nil, c.Bus.Kafka != nil}); err != nil {
		return err
	}
	if err := count("index", []string{"bleve", "elasticsearch"}, []bool{c.Index.Bleve != nil, c.Index.Elasticsearch != nil}); err != nil {
		return err
	}
	if err := count("store", []string{"sqlite", "postgres"}, []bool{c.Store.SQLite != nil, c.Store.Postgres != nil}); err != nil {
		return err
	}
	if k := c.Bus.Kafka; k != nil && len(k.Brokers) == 0 {
		return fmt.Errorf("bus.kafka.brokers: 至少需要一个地址")
	}
	if e := c.Index.Elasticsearch; e != nil && len(e.Addresses) == 0 {
		return fmt.Errorf("index.elasticsearch.addresses: 至少需要一个地址")
	}
	if p := c.Store.Postgres; p != nil && p.DSN == "" {
		return fmt.Errorf("store.postgres.dsn: 不能为空")
	}
	return nil
}

// LoadConfig reads a YAML file, substituting ${ENV} and ${ENV:-default}.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path == "" {
		c.Bus.SQLite, c.Index.Bleve, c.Store.SQLite = &SQLiteBus{}, &BleveIndex{}, &SQLiteStore{}
		return c.withDefaults(), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("配置文件 %s: %w", path, err)
	}
	text := envsubst.Expand(string(raw))
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("配置文件 %s: %w", path, err)
	}
	c = c.withDefaults()
	return c, c.Validate()
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Data == "" {
		c.Data = "data"
	}
	if c.Target == "" {
		c.Target = "all"
	}
	if c.MaxBacklog == 0 {
		c.MaxBacklog = 10000
	}
	if c.MaxBody == 0 {
		c.MaxBody = 10 << 20
	}
	if c.Alerting.MinGrade == "" {
		c.Alerting.MinGrade = "IV"
	}
	if c.Dashboard.PostRate == 0 {
		c.Dashboard.PostRate = 50
	}
	if b := c.Bus.SQLite; b != nil && b.Partitions == 0 {
		b.Partitions = 4
	}
	if k := c.Bus.Kafka; k != nil && k.Partitions == 0 {
		k.Partitions = 4
	}
	if e := c.Index.Elasticsearch; e != nil && e.Prefix == "" {
		e.Prefix = "yuqing-posts"
	}
	return c
}

// Validate checks the values a file or flags gave.
func (c Config) Validate() error {
	if err := c.backends(); err != nil {
		return err
	}
	if c.Target != "all" && c.Embedded() {
		return fmt.Errorf("target %q: 分角色运行需要共享的后端（Kafka、Elasticsearch、PostgreSQL）；内嵌后端只能由一个进程以 target all 打开", c.Target)
	}
	if _, err := ParseGrade(c.Alerting.MinGrade); err != nil {
		return fmt.Errorf("alerting.min_grade: %w", err)
	}
	switch c.Target {
	case "all", "analyzer", "alerting", "dashboard", "crawler":
	default:
		return fmt.Errorf("target %q: 应为 all、analyzer、alerting、dashboard 或 crawler", c.Target)
	}
	return nil
}

// ParseGrade reads I, II, III, IV (or 1–4).
func ParseGrade(s string) (domain.Grade, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "I", "1":
		return domain.GradeI, nil
	case "II", "2":
		return domain.GradeII, nil
	case "III", "3":
		return domain.GradeIII, nil
	case "IV", "4":
		return domain.GradeIV, nil
	}
	return 0, fmt.Errorf("等级 %q 无效，应为 I、II、III 或 IV", s)
}

// inData gives path, or name inside the data folder when path is empty.
func (c Config) inData(path, name string) string {
	if path != "" {
		return path
	}
	return filepath.Join(c.Data, name)
}
