package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCmd: the command asks the server for the period and writes the
// page; a server's refusal comes back as the error, with its reason.
func TestReportCmd(t *testing.T) {
	var asked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.String()
		if r.URL.Query().Get("from") == "bad" {
			http.Error(w, "参数 from: 无法解析", 400)
			return
		}
		w.Write([]byte("<h1>舆情与回应报告</h1>"))
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "周报.html")
	if err := reportCmd(context.Background(), []string{"--server", srv.URL, "--from", "2026-11-23", "--out", out}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "<h1>舆情与回应报告</h1>" {
		t.Errorf("file %q %v", b, err)
	}
	if asked != "/report?from=2026-11-23" {
		t.Errorf("asked %s", asked)
	}
	if err := reportCmd(context.Background(), []string{"--server", srv.URL, "--days", "30", "--out", out}); err != nil || asked != "/report?days=30" {
		t.Errorf("days: %v, asked %s", err, asked)
	}
	if err := reportCmd(context.Background(), []string{"--server", srv.URL, "--format", "json", "--out", out}); err != nil || asked != "/api/v1/reports/summary" {
		t.Errorf("json: %v, asked %s", err, asked)
	}
	if err := reportCmd(context.Background(), []string{"--server", srv.URL, "--from", "bad", "--out", out}); err == nil || !strings.Contains(err.Error(), "无法解析") {
		t.Errorf("refusal: %v", err)
	}
	if err := reportCmd(context.Background(), []string{"--format", "pdf"}); err == nil || !strings.Contains(err.Error(), "html 或 json") {
		t.Errorf("bad format: %v", err)
	}
}
