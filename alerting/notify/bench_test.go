package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"yuqing/domain"
)

// BenchmarkSendWebhook measures messages per second through the notifier
// (dedup, queue, grouping, signing, JSON, HTTP) to a local webhook.
func BenchmarkSendWebhook(b *testing.B) {
	for _, bc := range []struct {
		name  string
		grade domain.Grade
	}{
		{"grouped-IV", domain.GradeIV}, // up to 20 messages a post
		{"immediate-I", domain.GradeI}, // one post per message
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 4}
			defer tr.CloseIdleConnections()
			var done atomic.Int64
			all := make(chan struct{})
			n := New(Options{
				GroupWait:  5 * time.Millisecond,
				HTTPClient: &http.Client{Transport: tr},
				OnDelivery: func(d Delivery) {
					if !d.OK {
						b.Errorf("%+v", d)
					}
					if done.Add(1) == int64(b.N) {
						close(all)
					}
				},
			})
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { _ = n.Run(ctx); close(stopped) }()
			tg := []Target{{Recipient: "zj", Channel: ChannelConfig{Type: "webhook", URL: srv.URL, Secret: "k"}}}
			m := Message{CaseID: "case-1", Grade: bc.grade, Kind: "remind", Title: "时限提醒", Text: "请在时限内回应。",
				URL: "https://yuqing.example.gov.cn/cases/case-1"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m.Key = strconv.Itoa(i)
				n.Send(ctx, m, tg)
			}
			<-all
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			cancel()
			<-stopped
		})
	}
}
