// Package client sends posts to a yuqing server through POST /api/v1/posts,
// as `yuqing ingest` and `yuqing replay` do: in NDJSON batches, retrying with
// backoff while the server is unreachable or busy, with a progress line.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"yuqing/domain"
	"yuqing/ingest"
)

// Client posts batches to one server.
type Client struct {
	Server string // e.g. http://127.0.0.1:8080
	HTTP   *http.Client
	// Retries is how long to keep retrying one batch while the server is
	// unreachable or answers 5xx/429; 0 means 2 minutes.
	Retries time.Duration
}

// New gives a client for the server URL.
func New(server string) *Client {
	return &Client{Server: strings.TrimRight(server, "/"), HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Send posts one batch as NDJSON and returns the server's answer. A 400
// answer (some items rejected) is not an error: its Response lists them.
func (c *Client) Send(ctx context.Context, posts []domain.Post) (ingest.Response, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range posts {
		if err := enc.Encode(&posts[i]); err != nil {
			return ingest.Response{}, err
		}
	}
	body := buf.Bytes()
	limit := c.Retries
	if limit == 0 {
		limit = 2 * time.Minute
	}
	deadline := time.Now().Add(limit)
	backoff := 100 * time.Millisecond
	for {
		resp, retry, err := c.post(ctx, body)
		if err == nil || !retry || time.Now().After(deadline) {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return resp, ctx.Err()
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > 3*time.Second {
			backoff = 3 * time.Second
		}
	}
}

func (c *Client) post(ctx context.Context, body []byte) (ingest.Response, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Server+"/api/v1/posts", bytes.NewReader(body))
	if err != nil {
		return ingest.Response{}, false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return ingest.Response{}, ctx.Err() == nil, fmt.Errorf("连接服务器 %s 失败: %w", c.Server, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	var out ingest.Response
	_ = json.Unmarshal(data, &out)
	switch {
	case res.StatusCode == http.StatusAccepted || res.StatusCode == http.StatusBadRequest && out.Accepted+out.Rejected > 0:
		return out, false, nil
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		return out, true, fmt.Errorf("服务器忙或出错 (%s): %s", res.Status, out.Message)
	default:
		return out, false, fmt.Errorf("服务器拒绝 (%s): %s", res.Status, strings.TrimSpace(out.Message+" "+string(clip(data, 300))))
	}
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
