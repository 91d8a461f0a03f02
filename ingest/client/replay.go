package client

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"yuqing/domain"
	"yuqing/ingest"
)

// ReplayOptions control a replay.
type ReplayOptions struct {
	// Speed is how many times faster than real time the posts' own
	// timestamps are replayed; 0 means as fast as the server takes them.
	Speed     float64
	BatchSize int       // 0 means 2,000
	Progress  io.Writer // a progress line every second; nil for none
	// OnBatch, if set, is told each batch's answer (for tests and lag probes).
	OnBatch func(sent []domain.Post, resp Response, at time.Time)
	// NoSort keeps the posts in the order given (an import) instead of
	// sorting them by time (a replay).
	NoSort bool
}

// Response is the server's answer to one batch.
type Response = ingest.Response

// Stats sums up a finished replay.
type Stats struct {
	Sent, Accepted, Rejected int
	Wall                     time.Duration
}

// Replay sends posts in timestamp order. At a finite speed, a post is sent
// when (its time - the first post's time) / speed has passed; posts due
// together go in one batch.
func (c *Client) Replay(ctx context.Context, posts []domain.Post, opt ReplayOptions) (Stats, error) {
	if !opt.NoSort {
		sort.SliceStable(posts, func(i, j int) bool { return posts[i].PublishedAt.Before(posts[j].PublishedAt) })
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 2000
	}
	var st Stats
	if len(posts) == 0 {
		return st, nil
	}
	start := time.Now()
	t0 := posts[0].PublishedAt
	lastProgress := start
	progress := func(final bool) {
		if opt.Progress == nil {
			return
		}
		el := time.Since(start).Seconds()
		rate := float64(st.Sent) / max(el, 1e-9)
		at := ""
		if st.Sent > 0 {
			at = posts[st.Sent-1].PublishedAt.In(chinaTime).Format("2006-01-02 15:04")
		}
		end := "\r"
		if final {
			end = "\n"
		}
		fmt.Fprintf(opt.Progress, "已发送 %d/%d (%.1f%%)  接收 %d  拒绝 %d  %.0f 条/秒  事件时间 %s  用时 %.0fs   %s",
			st.Sent, len(posts), 100*float64(st.Sent)/float64(len(posts)), st.Accepted, st.Rejected, rate, at, el, end)
	}
	for i := 0; i < len(posts); {
		j := min(i+opt.BatchSize, len(posts))
		if opt.Speed > 0 {
			due := start.Add(time.Duration(float64(posts[i].PublishedAt.Sub(t0)) / opt.Speed))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-ctx.Done():
					return st, ctx.Err()
				case <-time.After(wait):
				}
			}
			// only the posts due by now go in this batch
			now := time.Now()
			k := i + 1
			for k < j && !start.Add(time.Duration(float64(posts[k].PublishedAt.Sub(t0))/opt.Speed)).After(now) {
				k++
			}
			j = k
		}
		resp, err := c.Send(ctx, posts[i:j])
		if err != nil {
			progress(true)
			return st, fmt.Errorf("第 %d–%d 条发送失败: %w", i+1, j, err)
		}
		st.Sent = j
		st.Accepted += resp.Accepted
		st.Rejected += resp.Rejected
		if opt.OnBatch != nil {
			opt.OnBatch(posts[i:j], resp, time.Now())
		}
		i = j
		if time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			progress(false)
		}
	}
	st.Wall = time.Since(start)
	progress(true)
	return st, nil
}

var chinaTime = time.FixedZone("CST", 8*3600)
