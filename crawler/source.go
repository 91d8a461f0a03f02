package crawler

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"yuqing/crawler/parse"
	"yuqing/domain"
	"yuqing/internal/envsubst"
)

// Source types.
const (
	TypeHTML    = "html"    // list pages leading to article pages
	TypeFeed    = "feed"    // RSS / Atom
	TypeSitemap = "sitemap" // sitemap or sitemap index
	TypeJSON    = "json"    // a generic JSON API (licensed data APIs)
	TypePortal  = "portal"  // a government portal's disclosure columns
)

// Column kinds of a government portal; each item of a column also becomes a
// record of that kind for the alerting side.
const (
	ColumnDisclosure     = "disclosure"     // 信息公开
	ColumnInterpretation = "interpretation" // 政策解读
	ColumnPress          = "press"          // 新闻发布 (kept as a disclosure record)
)

// Limits bound one source: its schedule and what one run may fetch. Zero
// values inherit the file's defaults, then the built-in ones.
type Limits struct {
	Interval    time.Duration  `yaml:"interval"`     // first interval between runs; default 10m
	MinInterval time.Duration  `yaml:"min_interval"` // floor of the adaptive schedule; default 2m
	MaxInterval time.Duration  `yaml:"max_interval"` // ceiling; default 2h
	MaxPages    int            `yaml:"max_pages"`    // list or API pages per run; default 5
	MaxItems    int            `yaml:"max_items"`    // new articles per run; default 100
	MaxBytes    int64          `yaml:"max_bytes"`    // per page; default 10 MiB
	Timeout     time.Duration  `yaml:"timeout"`      // per request; default 30s
	Delay       *time.Duration `yaml:"delay"`        // between requests to one host; default 1s (0s: none)
	Parallelism int            `yaml:"parallelism"`  // requests at once to one host; default 2
	SilentAfter time.Duration  `yaml:"silent_after"` // warn after this long without a new item; default from its history
	RunTimeout  time.Duration  `yaml:"run_timeout"`  // longest run of the source; default 10m
	MaxAge      time.Duration  `yaml:"max_age"`      // items published longer ago are skipped; default 30 days (720h)
}

func (l Limits) or(d Limits) Limits {
	pick := func(a, b time.Duration) time.Duration {
		if a > 0 {
			return a
		}
		return b
	}
	l.Interval = pick(l.Interval, d.Interval)
	l.MinInterval = pick(l.MinInterval, d.MinInterval)
	l.MaxInterval = pick(l.MaxInterval, d.MaxInterval)
	l.Timeout = pick(l.Timeout, d.Timeout)
	l.SilentAfter = pick(l.SilentAfter, d.SilentAfter)
	l.RunTimeout = pick(l.RunTimeout, d.RunTimeout)
	l.MaxAge = pick(l.MaxAge, d.MaxAge)
	if l.Delay == nil {
		l.Delay = d.Delay
	}
	if l.MaxPages <= 0 {
		l.MaxPages = d.MaxPages
	}
	if l.MaxItems <= 0 {
		l.MaxItems = d.MaxItems
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.Parallelism <= 0 {
		l.Parallelism = d.Parallelism
	}
	return l
}

var builtinLimits = Limits{
	Interval: 10 * time.Minute, MinInterval: 2 * time.Minute, MaxInterval: 2 * time.Hour,
	MaxPages: 5, MaxItems: 100, MaxBytes: 10 << 20, Timeout: 30 * time.Second,
	RunTimeout: 10 * time.Minute, MaxAge: 30 * 24 * time.Hour,
	Delay: ptr(time.Second), Parallelism: 2,
}

func ptr[T any](v T) *T { return &v }

// HostDelay is the delay between requests to one host.
func (l Limits) HostDelay() time.Duration {
	if l.Delay == nil {
		return 0
	}
	return *l.Delay
}

// Selectors override automatic article extraction for one source (CSS).
type Selectors struct {
	Title  string `yaml:"title"`
	Time   string `yaml:"time"`
	Author string `yaml:"author"`
	Body   string `yaml:"body"`
}

// Column is one column of a government portal.
type Column struct {
	Name string `yaml:"name"` // e.g. 政策解读
	URL  string `yaml:"url"`
	Kind string `yaml:"kind"` // disclosure, interpretation or press
}

// JSONAPI says how to read and page a generic JSON API.
type JSONAPI struct {
	parse.JSONSpec `yaml:",inline"`
	CursorParam    string `yaml:"cursor_param"` // query parameter that carries the cursor
	PageParam      string `yaml:"page_param"`   // or: query parameter of the page number
	PageStart      int    `yaml:"page_start"`   // first page number; default 1
}

// Source is one place the crawler watches.
type Source struct {
	Name    string            `yaml:"name"`
	Type    string            `yaml:"type"`
	URL     string            `yaml:"url"`
	URLs    []string          `yaml:"urls"`    // more start URLs of the same kind
	Columns []Column          `yaml:"columns"` // portal
	Region  string            `yaml:"region"`  // e.g. 浙江省宁波市
	Unit    string            `yaml:"unit"`    // owning unit's id in the organisation tree
	List    parse.LinkSpec    `yaml:"list"`    // html and portal
	Article Selectors         `yaml:"article"`
	JSON    JSONAPI           `yaml:"json"`
	Headers map[string]string `yaml:"headers"` // e.g. a licensed API's token
	// FetchArticles: auto (fetch the page when a feed or API item has no
	// full text), always, or never.
	FetchArticles string `yaml:"fetch_articles"`
	IgnoreRobots  bool   `yaml:"ignore_robots"` // only with the site owner's agreement
	Disabled      bool   `yaml:"disabled"`
	Limits        `yaml:",inline"`
}

// Starts is every start URL of the source, each with the record kind its
// items carry ("" for ordinary news).
func (s *Source) Starts() []Column {
	var out []Column
	if s.URL != "" {
		out = append(out, Column{URL: s.URL, Kind: s.defaultKind()})
	}
	for _, u := range s.URLs {
		out = append(out, Column{URL: u, Kind: s.defaultKind()})
	}
	out = append(out, s.Columns...)
	return out
}

func (s *Source) defaultKind() string {
	if s.Type == TypePortal {
		return ColumnDisclosure
	}
	return ""
}

// recordKind maps a column kind to the record kind of the alerting side.
func recordKind(column string) string {
	switch column {
	case ColumnInterpretation:
		return domain.RecordInterpretation
	case ColumnDisclosure, ColumnPress:
		return domain.RecordDisclosure
	}
	return ""
}

// SourcesFile is the YAML file of sources.
type SourcesFile struct {
	UserAgent string `yaml:"user_agent"`
	// AllowPrivate names private hosts and networks (CIDR) the crawler may
	// reach: an intranet portal, a local demo site. Nothing private is
	// reachable otherwise.
	AllowPrivate []string `yaml:"allow_private"`
	Defaults     Limits   `yaml:"defaults"`
	Sources      []Source `yaml:"sources"`
}

// LoadSources reads and checks a sources file.
func LoadSources(path string) (*SourcesFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("信息源配置 %s: %w", path, err)
	}
	f, err := ParseSources(raw)
	if err != nil {
		return nil, fmt.Errorf("信息源配置 %s: %w", path, err)
	}
	return f, nil
}

// ParseSources reads a sources file's bytes, substituting ${ENV} and
// ${ENV:-default} (API tokens), fills in defaults and checks every source;
// the error names each bad source and field.
func ParseSources(raw []byte) (*SourcesFile, error) {
	var f SourcesFile
	dec := yaml.NewDecoder(strings.NewReader(envsubst.Expand(string(raw))))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("YAML: %w", err)
	}
	defaults := f.Defaults.or(builtinLimits)
	var errs []error
	seen := map[string]bool{}
	for i := range f.Sources {
		s := &f.Sources[i]
		s.Limits = s.Limits.or(defaults)
		if err := s.check(); err != nil {
			errs = append(errs, fmt.Errorf("sources[%d] %q: %w", i, s.Name, err))
			continue
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("sources[%d]: 名称 %q 重复", i, s.Name))
		}
		seen[s.Name] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &f, nil
}

func (s *Source) check() error {
	if strings.TrimSpace(s.Name) == "" {
		return errors.New("name: 不能为空")
	}
	switch s.Type {
	case TypeHTML, TypeFeed, TypeSitemap, TypeJSON, TypePortal:
	default:
		return fmt.Errorf("type: %q 不是 html、feed、sitemap、json、portal 之一", s.Type)
	}
	starts := s.Starts()
	if len(starts) == 0 {
		return errors.New("url: 至少需要一个起始地址（url、urls 或 columns）")
	}
	for _, c := range starts {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url: %q 不是 http(s) 绝对地址", c.URL)
		}
		switch c.Kind {
		case "", ColumnDisclosure, ColumnInterpretation, ColumnPress:
		default:
			return fmt.Errorf("columns: kind %q 不是 disclosure、interpretation、press 之一", c.Kind)
		}
	}
	if s.Type == TypeJSON {
		f := s.JSON.Fields
		if f["title"] == "" && f["text"] == "" {
			return errors.New("json.fields: 至少要给出 title 或 text 的路径")
		}
		if s.JSON.CursorParam != "" && s.JSON.Cursor == "" {
			return errors.New("json.cursor: 给了 cursor_param 却没有给出游标在响应中的路径")
		}
	}
	switch s.FetchArticles {
	case "", "auto", "always", "never":
	default:
		return fmt.Errorf("fetch_articles: %q 不是 auto、always、never 之一", s.FetchArticles)
	}
	if s.MinInterval > s.MaxInterval {
		return fmt.Errorf("min_interval %s 大于 max_interval %s", s.MinInterval, s.MaxInterval)
	}
	return nil
}

// Find returns the source named name.
func (f *SourcesFile) Find(name string) (*Source, bool) {
	for i := range f.Sources {
		if f.Sources[i].Name == name {
			return &f.Sources[i], true
		}
	}
	return nil, false
}
