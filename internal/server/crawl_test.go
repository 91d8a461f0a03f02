package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yuqing/crawler/demosite"
	"yuqing/domain"
)

// TestCrawlerRoleFeedsThePipeline runs the whole product with the crawler
// role on the local demo site: crawled articles become searchable posts,
// the portal's columns become records, and the sources' health shows on
// /api/v1/sources and /metrics.
func TestCrawlerRoleFeedsThePipeline(t *testing.T) {
	site := httptest.NewServer(demosite.Handler(time.Now))
	defer site.Close()
	sources := filepath.Join(t.TempDir(), "sources.yaml")
	yaml := `allow_private: ["127.0.0.1"]
defaults: {interval: 1m, delay: 0s, parallelism: 4}
sources:
  - {name: 演示新闻, type: html, url: "SITE/news/", region: 浙江省}
  - name: 演示门户
    type: portal
    unit: zhejiang-ningbo
    region: 浙江省宁波市
    columns:
      - {name: 政策解读, url: "SITE/gov/zcjd/", kind: interpretation}
      - {name: 信息公开, url: "SITE/gov/xxgk/", kind: disclosure}
`
	if err := os.WriteFile(sources, []byte(strings.ReplaceAll(yaml, "SITE", site.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	base, stop := startServer(t, func(c *Config) { c.Crawler.Sources = sources })
	defer stop()

	var search struct {
		Total int `json:"total"`
		Hits  []struct {
			Post domain.Post `json:"post"`
		} `json:"hits"`
	}
	waitFor(t, "crawled posts searchable", func() bool {
		get(t, base+"/api/v1/search?size=100", &search)
		return search.Total >= 20
	})
	var records struct {
		Records []domain.Record `json:"records"`
	}
	waitFor(t, "portal records", func() bool {
		get(t, base+"/api/v1/records?kind=interpretation", &records)
		return len(records.Records) >= 4
	})
	for _, r := range records.Records {
		if r.UnitID != "zhejiang-ningbo" || r.Title == "" || !strings.HasPrefix(r.URL, site.URL) {
			t.Errorf("record %+v", r)
		}
	}
	var health struct {
		Sources []struct {
			Source string `json:"source"`
			Status string `json:"status"`
			Items  int    `json:"items"`
		} `json:"sources"`
	}
	get(t, base+"/api/v1/sources", &health)
	if len(health.Sources) != 2 {
		t.Fatalf("sources = %+v", health.Sources)
	}
	for _, h := range health.Sources {
		if h.Status != "ok" || h.Items == 0 {
			t.Errorf("source %+v", h)
		}
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `yuqing_crawler_items_total{source="演示新闻"}`) {
		t.Error("/metrics has no crawler items")
	}
}
