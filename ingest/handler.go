package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yuqing/domain"
	"yuqing/ingest/bus"
)

// DefaultMaxBody is the default limit on one request body.
const DefaultMaxBody = 10 << 20

// Handler serves POST /api/v1/posts: it answers 202 only after every taken
// post is durable on the Bus.
type Handler struct {
	Bus     bus.Bus
	MaxBody int64 // 0 means DefaultMaxBody
	Log     *slog.Logger
	Now     func() time.Time
	// OnAccepted, if set, is told how many posts were taken (for live counters).
	OnAccepted func(n int)
	// Throttle, if set, holds requests while the analyzer's backlog is over
	// its bound, for at most MaxWait (0 means 30 s); then it answers 503.
	Throttle *Throttle
	MaxWait  time.Duration

	received prometheus.Counter
	rejected prometheus.Counter
}

// Response is the answer to a POST of posts.
type Response struct {
	Accepted int         `json:"accepted"`
	IDs      []string    `json:"ids"`
	Rejected int         `json:"rejected"`
	Errors   []ItemError `json:"errors,omitempty"`
	Message  string      `json:"message,omitempty"`
}

// Register adds the handler's metrics to reg.
func (h *Handler) Register(reg prometheus.Registerer) {
	h.received = prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_posts_in_total", Help: "Posts taken by POST /api/v1/posts and durable on the bus."})
	h.rejected = prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_posts_rejected_total", Help: "Items rejected by POST /api/v1/posts."})
	reg.MustRegister(h.received, h.rejected)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, Response{Message: "只接受 POST"})
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, Response{Message: fmt.Sprintf("请求体超过上限 %d 字节，请分批发送 (body over the limit)", limit)})
			return
		}
		writeJSON(w, http.StatusBadRequest, Response{Message: "读取请求体失败: " + err.Error()})
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	posts, errs := Decode(body, now().UTC())
	resp := Response{Accepted: len(posts), IDs: make([]string, 0, len(posts)), Rejected: len(errs), Errors: errs}
	if len(posts) > 0 {
		msgs := make([]bus.Message, len(posts))
		for i := range posts {
			v, err := json.Marshal(&posts[i])
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, Response{Message: "编码失败: " + err.Error()})
				return
			}
			msgs[i] = bus.Message{Key: PartitionKey(&posts[i]), Value: v}
			resp.IDs = append(resp.IDs, posts[i].ID)
		}
		if h.Throttle != nil {
			wait := h.MaxWait
			if wait <= 0 {
				wait = 30 * time.Second
			}
			ctx, cancel := context.WithTimeout(r.Context(), wait)
			err := h.Throttle.Wait(ctx)
			cancel()
			if err != nil {
				w.Header().Set("Retry-After", "5")
				writeJSON(w, http.StatusServiceUnavailable, Response{Message: "未接收任何一条: " + err.Error()})
				return
			}
		}
		if err := h.Bus.Publish(r.Context(), bus.TopicPosts, msgs...); err != nil {
			if h.Log != nil {
				h.Log.Error("publish posts", "err", err, "posts", len(msgs))
			}
			writeJSON(w, http.StatusServiceUnavailable, Response{Message: "写入消息总线失败，未接收任何一条，请重试: " + err.Error()})
			return
		}
		if h.Throttle != nil {
			h.Throttle.Add(int64(len(msgs)))
		}
		if h.received != nil {
			h.received.Add(float64(len(posts)))
		}
		if h.OnAccepted != nil {
			h.OnAccepted(len(posts))
		}
	}
	if h.rejected != nil {
		h.rejected.Add(float64(len(errs)))
	}
	status := http.StatusAccepted
	if len(errs) > 0 {
		status = http.StatusBadRequest
		resp.Message = fmt.Sprintf("接收 %d 条，拒绝 %d 条", len(posts), len(errs))
	}
	writeJSON(w, status, resp)
}

// PartitionKey keeps a post and every repost and comment under it in one
// partition, in order: the cascade's root when known, else the parent.
func PartitionKey(p *domain.Post) string {
	switch {
	case p.RootID != "":
		return p.RootID
	case p.ParentID != "":
		return p.ParentID
	}
	return p.ID
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
