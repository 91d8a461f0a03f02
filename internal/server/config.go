package server

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"yuqing/domain"
)

// Config is what `yuqing serve --config FILE` reads. Every field has a
// default, so no file at all runs everything on the embedded backends.
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
	Alerting   struct {
		MinGrade string  `yaml:"min_grade"` // I, II, III or IV: open a case from this grade on; default IV
		MinHeat  float64 `yaml:"min_heat"`
	} `yaml:"alerting"`
	Dashboard struct {
		PostRate int `yaml:"post_rate"` // live-feed posts per second per client; default 50
	} `yaml:"dashboard"`
	Bus struct {
		Partitions int `yaml:"partitions"` // default 4
	} `yaml:"bus"`
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// LoadConfig reads a YAML file, substituting ${ENV} and ${ENV:-default}.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path == "" {
		return c.withDefaults(), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("配置文件 %s: %w", path, err)
	}
	text := envRef.ReplaceAllStringFunc(string(raw), func(m string) string {
		g := envRef.FindStringSubmatch(m)
		if v, ok := os.LookupEnv(g[1]); ok && v != "" {
			return v
		}
		return g[3]
	})
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
	if c.Bus.Partitions == 0 {
		c.Bus.Partitions = 4
	}
	return c
}

// Validate checks the values a file or flags gave.
func (c Config) Validate() error {
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
