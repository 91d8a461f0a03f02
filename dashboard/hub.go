// Package dashboard is the live dashboard of yuqing: a websocket hub that fans
// the pipeline's posts, events and case changes out to every open page, and
// the embedded zh-CN page itself (plain HTML, CSS and JS, no CDN, works on an
// intranet cut off from the internet).
//
// The hub is a view, so it may shed load: Publish never blocks the pipeline.
// A client whose buffer is full loses the message (counted per client and in
// yuqing_dashboard_dropped_total), and live posts are sampled to at most a
// configured number per second so the page stays readable during a replay.
// Events and cases are never sampled.
package dashboard

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Message kinds on the wire.
const (
	KindPost  = "post"
	KindEvent = "event"
	KindCase  = "case"
	// KindStats is sent by the hub itself to each client every few seconds:
	// {"dropped":…, "posts":…, "clients":…}.
	KindStats = "stats"
)

// Defaults.
const (
	DefaultBuffer        = 256
	DefaultPostRate      = 50
	DefaultWriteTimeout  = 10 * time.Second
	DefaultPingInterval  = 25 * time.Second
	DefaultStatsInterval = 2 * time.Second
	closeGrace           = 500 * time.Millisecond
	maxReadBytes         = 4096
)

type config struct {
	buffer        int
	postRate      int
	origins       map[string]bool
	writeTimeout  time.Duration
	pingInterval  time.Duration
	statsInterval time.Duration
	log           *slog.Logger
}

// Option configures a Hub.
type Option func(*config)

// WithBuffer sets how many messages each client may have queued (default 256).
func WithBuffer(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.buffer = n
		}
	}
}

// WithPostRate sets the most post messages per second the live feed carries
// (default 50); the rest are counted as dropped. n <= 0 sends every post.
func WithPostRate(n int) Option { return func(c *config) { c.postRate = n } }

// WithAllowedOrigins allows websocket connections from these origins
// ("https://screen.example.gov.cn") beside the same host.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) {
		for _, o := range origins {
			c.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
		}
	}
}

// WithWriteTimeout sets the deadline of each write to a client (default 10s);
// a client that takes longer is disconnected.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.writeTimeout = d
		}
	}
}

// WithPingInterval sets how often clients are pinged (default 25s); a client
// silent for 2.5 intervals is disconnected.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pingInterval = d
		}
	}
}

// WithStatsInterval sets how often each client gets its stats message (default 2s).
func WithStatsInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.statsInterval = d
		}
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// Hub fans messages out to the connected dashboard pages.
type Hub struct {
	cfg      config
	upgrader websocket.Upgrader

	mu      sync.RWMutex
	clients map[*client]struct{}
	closed  bool
	nextID  int64
	wg      sync.WaitGroup

	nclients atomic.Int64 // len(clients), read without the lock

	posts     atomic.Int64 // post messages published, sampled or not
	winSecond atomic.Int64 // unix second of the post sampling window
	winCount  atomic.Int64 // posts seen in that window

	mDroppedFull    prometheus.Counter
	mDroppedSampled prometheus.Counter
	mClients        prometheus.Gauge
	mMessages       *prometheus.CounterVec
	mPosts          prometheus.Counter
	mEvents         prometheus.Counter
	mCases          prometheus.Counter
}

type client struct {
	id      int64
	remote  string
	since   time.Time
	conn    *websocket.Conn
	send    chan []byte
	done    chan struct{}
	once    sync.Once
	sent    atomic.Int64
	dropped atomic.Int64
}

// ClientStat describes one connected client.
type ClientStat struct {
	ID        int64     `json:"id"`
	Remote    string    `json:"remote"`
	Connected time.Time `json:"connected"`
	Queued    int       `json:"queued"`
	Sent      int64     `json:"sent"`
	Dropped   int64     `json:"dropped"`
}

// NewHub makes a hub and registers its metrics with reg (nil: not registered).
func NewHub(reg prometheus.Registerer, opts ...Option) *Hub {
	cfg := config{
		buffer:        DefaultBuffer,
		postRate:      DefaultPostRate,
		origins:       map[string]bool{},
		writeTimeout:  DefaultWriteTimeout,
		pingInterval:  DefaultPingInterval,
		statsInterval: DefaultStatsInterval,
		log:           slog.Default(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h := &Hub{cfg: cfg, clients: map[*client]struct{}{}}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 8192,
		CheckOrigin:     h.checkOrigin,
	}
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "yuqing_dashboard_dropped_total",
		Help: "Live dashboard messages not delivered to a client: reason=full (client buffer full) or sampled (post feed over its rate).",
	}, []string{"reason"})
	clients := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "yuqing_dashboard_clients",
		Help: "Dashboard websocket clients connected.",
	})
	messages := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "yuqing_dashboard_messages_total",
		Help: "Messages published to the dashboard hub, by kind.",
	}, []string{"kind"})
	if reg != nil {
		dropped = register(reg, dropped)
		clients = register(reg, clients)
		messages = register(reg, messages)
	}
	h.mDroppedFull = dropped.WithLabelValues("full")
	h.mDroppedSampled = dropped.WithLabelValues("sampled")
	h.mClients = clients
	h.mMessages = messages
	h.mPosts = messages.WithLabelValues(KindPost)
	h.mEvents = messages.WithLabelValues(KindEvent)
	h.mCases = messages.WithLabelValues(KindCase)
	return h
}

// register registers c, or returns the collector already registered under
// the same name (several hubs in one process, e.g. in tests).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex
			}
		}
		slog.Warn("dashboard: metric not registered", "err", err)
	}
	return c
}

type envelope struct {
	Type string `json:"type"`
	Data any    `json:"data"`
	At   string `json:"at"`
}

// Publish sends v to every client as {"type":kind,"data":v,"at":RFC3339}. It
// never blocks: it marshals once and offers the bytes to each client's
// buffer; a full buffer loses the message. Posts beyond the post rate are
// dropped for everyone (counted per client).
func (h *Hub) Publish(kind string, v any) {
	now := time.Now()
	if kind == KindPost {
		h.posts.Add(1)
	}
	if h.nclients.Load() == 0 {
		return
	}
	if kind == KindPost && !h.admitPost(now) {
		h.mu.RLock()
		for c := range h.clients {
			c.dropped.Add(1)
		}
		n := len(h.clients)
		h.mu.RUnlock()
		h.mDroppedSampled.Add(float64(n))
		return
	}
	b, err := json.Marshal(envelope{Type: kind, Data: v, At: now.Format(time.RFC3339)})
	if err != nil {
		h.cfg.log.Warn("dashboard: message not encoded", "kind", kind, "err", err)
		return
	}
	h.countMessage(kind)
	full := 0
	h.mu.RLock()
	for c := range h.clients {
		select {
		case c.send <- b:
		default:
			c.dropped.Add(1)
			full++
		}
	}
	h.mu.RUnlock()
	if full > 0 {
		h.mDroppedFull.Add(float64(full))
	}
}

func (h *Hub) countMessage(kind string) {
	switch kind {
	case KindPost:
		h.mPosts.Inc()
	case KindEvent:
		h.mEvents.Inc()
	case KindCase:
		h.mCases.Inc()
	default:
		h.mMessages.WithLabelValues(kind).Inc()
	}
}

// admitPost reports whether one more post fits in this second's feed.
func (h *Hub) admitPost(now time.Time) bool {
	if h.cfg.postRate <= 0 {
		return true
	}
	sec := now.Unix()
	if w := h.winSecond.Load(); w != sec && h.winSecond.CompareAndSwap(w, sec) {
		h.winCount.Store(0)
	}
	return h.winCount.Add(1) <= int64(h.cfg.postRate)
}

func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser: browsers always send Origin on websocket requests
	}
	if h.cfg.origins[strings.ToLower(strings.TrimRight(origin, "/"))] {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// ServeWS upgrades the request to a websocket and streams the hub's
// messages to it until the client goes away or the hub closes.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request) {
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		http.Error(w, "实时推送服务已关闭", http.StatusServiceUnavailable)
		return
	}
	if !h.checkOrigin(r) {
		h.cfg.log.Warn("dashboard: websocket refused: origin not allowed", "origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
		http.Error(w, "来源不被允许", http.StatusForbidden)
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.cfg.log.Warn("dashboard: websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered
	}
	c := &client{
		remote: r.RemoteAddr,
		since:  time.Now(),
		conn:   conn,
		send:   make(chan []byte, h.cfg.buffer),
		done:   make(chan struct{}),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "服务关闭"), time.Now().Add(closeGrace))
		_ = conn.Close()
		return
	}
	h.nextID++
	c.id = h.nextID
	h.clients[c] = struct{}{}
	h.nclients.Store(int64(len(h.clients)))
	h.wg.Add(2)
	h.mu.Unlock()
	h.mClients.Inc()
	h.cfg.log.Debug("dashboard: client connected", "client", c.id, "remote", c.remote)
	go h.writer(c)
	go h.reader(c)
}

// remove forgets c and closes its connection; safe to call more than once.
func (h *Hub) remove(c *client, graceful bool) {
	h.mu.Lock()
	_, ok := h.clients[c]
	delete(h.clients, c)
	h.nclients.Store(int64(len(h.clients)))
	h.mu.Unlock()
	if ok {
		h.mClients.Dec()
	}
	c.once.Do(func() {
		close(c.done)
		if graceful {
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "服务关闭"), time.Now().Add(closeGrace))
		}
		_ = c.conn.Close()
		h.cfg.log.Debug("dashboard: client gone", "client", c.id, "sent", c.sent.Load(), "dropped", c.dropped.Load())
	})
}

func (h *Hub) writer(c *client) {
	defer h.wg.Done()
	defer h.remove(c, false)
	ping := time.NewTicker(h.cfg.pingInterval)
	defer ping.Stop()
	stats := time.NewTicker(h.cfg.statsInterval)
	defer stats.Stop()
	write := func(kind int, b []byte) bool {
		if err := c.conn.SetWriteDeadline(time.Now().Add(h.cfg.writeTimeout)); err != nil {
			return false
		}
		if err := c.conn.WriteMessage(kind, b); err != nil {
			select {
			case <-c.done:
			default:
				h.cfg.log.Info("dashboard: client dropped: write failed", "client", c.id, "remote", c.remote, "err", err)
			}
			return false
		}
		return true
	}
	// First stats at once, so the page shows its counters on connect.
	if !write(websocket.TextMessage, h.statsMessage(c)) {
		return
	}
	for {
		select {
		case <-c.done:
			return
		case b := <-c.send:
			if !write(websocket.TextMessage, b) {
				return
			}
			c.sent.Add(1)
		case <-stats.C:
			if !write(websocket.TextMessage, h.statsMessage(c)) {
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.writeTimeout)); err != nil {
				return
			}
		}
	}
}

func (h *Hub) reader(c *client) {
	defer h.wg.Done()
	defer h.remove(c, false)
	pongWait := h.cfg.pingInterval * 5 / 2
	c.conn.SetReadLimit(maxReadBytes)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		// The page sends nothing we act on; reading detects close and
		// answers pings.
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	}
}

func (h *Hub) statsMessage(c *client) []byte {
	h.mu.RLock()
	n := len(h.clients)
	h.mu.RUnlock()
	b, _ := json.Marshal(envelope{Type: KindStats, Data: struct {
		Dropped int64 `json:"dropped"`
		Posts   int64 `json:"posts"`
		Clients int   `json:"clients"`
	}{c.dropped.Load(), h.posts.Load(), n}, At: time.Now().Format(time.RFC3339)})
	return b
}

// Clients gives the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// ClientStats describes every connected client, oldest first.
func (h *Hub) ClientStats() []ClientStat {
	h.mu.RLock()
	out := make([]ClientStat, 0, len(h.clients))
	for c := range h.clients {
		out = append(out, ClientStat{ID: c.id, Remote: c.remote, Connected: c.since, Queued: len(c.send), Sent: c.sent.Load(), Dropped: c.dropped.Load()})
	}
	h.mu.RUnlock()
	for i := 1; i < len(out); i++ { // few clients: insertion sort by id
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Close disconnects every client, refuses new ones and waits for the hub's
// goroutines to end. Publish after Close does nothing.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.wg.Wait()
		return
	}
	h.closed = true
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() { defer wg.Done(); h.remove(c, true) }()
	}
	wg.Wait()
	h.wg.Wait()
}
