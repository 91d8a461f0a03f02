package dashboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestHandlerServesPage(t *testing.T) {
	h := Handler()
	tests := []struct {
		path, ctype, cache, contains string
	}{
		{"/", "text/html; charset=utf-8", "no-cache", "舆情监测与回应"},
		{"/index.html", "text/html; charset=utf-8", "no-cache", "实时信息流"},
		{"/static/index.html", "text/html; charset=utf-8", "no-cache", "待办案件"},
		{"/static/app.js", "text/javascript; charset=utf-8", "public, max-age=300, must-revalidate", "/api/v1/stream"},
		{"/static/app.css", "text/css; charset=utf-8", "public, max-age=300, must-revalidate", ".heatbar"},
		{"/static/icon.svg", "image/svg+xml", "public, max-age=300, must-revalidate", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, h, http.MethodGet, tt.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "connect-src 'self' ws: wss:", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows unsafe code: %q", csp)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			resp, _ = get(t, h, http.MethodGet, tt.path, map[string]string{"If-None-Match": etag})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation: status %d, want 304", resp.StatusCode)
			}
		})
	}
}

func TestHandlerRefuses(t *testing.T) {
	h := Handler()
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/static/nope.js", http.StatusNotFound},
		{http.MethodGet, "/static/../hub.go", http.StatusNotFound},
		{http.MethodGet, "/api/v1/events", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodHead, "/", http.StatusOK},
	} {
		resp, _ := get(t, h, tt.method, tt.path, nil)
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s %s: no CSP", tt.method, tt.path)
		}
	}
}

func embedded(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("only %d embedded files", len(files))
	}
	return files
}

// The page must work on an intranet with no internet: nothing it loads may
// point outside this server.
func TestPageLoadsNothingFromOutside(t *testing.T) {
	absURL := regexp.MustCompile(`(?i)https?://[^\s"'<>)]*`)
	protoRel := regexp.MustCompile(`(?i)(src|href|url)\s*[=(]\s*["']?//`)
	for name, body := range embedded(t) {
		for _, u := range absURL.FindAllString(body, -1) {
			// An SVG file must name its XML namespace; that is no request.
			if path.Ext(name) == ".svg" && u == "http://www.w3.org/2000/svg" {
				continue
			}
			t.Errorf("%s refers to an outside address %q", name, u)
		}
		if m := protoRel.FindString(body); m != "" {
			t.Errorf("%s loads a protocol-relative address: %q", name, m)
		}
		if strings.Contains(body, "@import") {
			t.Errorf("%s imports a stylesheet", name)
		}
	}
}

// Crawled text is attacker-controlled: the script builds the DOM with
// textContent only, and no HTML from strings anywhere.
func TestScriptNeverParsesHTML(t *testing.T) {
	forbidden := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('on", "DOMParser", "createContextualFragment", "srcdoc"}
	inlineHandler := regexp.MustCompile(`(?i)\son[a-z]+\s*=\s*["']`)
	for name, body := range embedded(t) {
		switch path.Ext(name) {
		case ".js":
			for _, f := range forbidden {
				if strings.Contains(body, f) {
					t.Errorf("%s uses %s", name, f)
				}
			}
			if !strings.Contains(body, "textContent") {
				t.Errorf("%s never uses textContent", name)
			}
		case ".html":
			if m := inlineHandler.FindString(body); m != "" {
				t.Errorf("%s has an inline event handler %q (blocked by the CSP)", name, m)
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
				t.Errorf("%s has inline script or style (blocked by the CSP)", name)
			}
		}
	}
}

func TestScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: JavaScript syntax not checked")
	}
	out, err := exec.Command(node, "--check", "static/app.js").CombinedOutput()
	if err != nil {
		t.Fatalf("static/app.js does not parse: %v\n%s", err, out)
	}
}

// TestPageScriptSmoke runs the page's script in node against a fake DOM,
// fake API and fake websocket (testdata/smoke.js): initial load, live
// messages, countdown colours, sign and respond, search, reconnect, and
// attacker text that must stay text.
func TestPageScriptSmoke(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: page script not exercised")
	}
	out, err := exec.Command(node, "testdata/smoke.js", "static/index.html", "static/app.js").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("page script smoke test failed: %v\n%s", err, out)
	}
}
