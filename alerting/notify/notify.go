// Package notify delivers case notifications to units and people: a case
// opened, a deadline reminder, an overdue clock, an escalation, a regrading.
//
// A Notifier works in small stages, each one method, in the manner of
// Alertmanager's notify pipeline:
//
//   - Send (dedup, fan-out): for every target, skip a message whose Key was
//     already delivered or queued to the same channel within DedupWindow, and
//     queue the rest on one bounded queue per channel. Send never waits for
//     the network; when a queue is full it blocks (notifications are not
//     dropped to keep up).
//   - the channel's worker (group, quiet hours): messages of grades III, IV or
//     ungraded to the same channel are collected for GroupWait and sent as
//     one post (at most 20 messages); during QuietHours they are held until
//     the quiet period ends. Grade I and II messages go at once, always.
//   - retry: a failed post is retried with doubling backoff only when the
//     error is recoverable (network errors, timeouts, HTTP 429 and 5xx, a
//     robot's rate-limit code); any other error is final at once.
//   - record: every final outcome, success or giving up, is reported once per
//     message through Options.OnDelivery as a Delivery, to be kept on the case.
//
// # The outbox
//
// Send is in memory: a message queued but not sent when the process stops
// is lost. Notifications that must not be lost go through the store's
// outbox instead (Options.Outbox): the rows are written by the case action
// that causes them, in its transaction (Outgoing builds them, one per
// channel), and Run drains them. A claim leases due rows to this notifier
// (Options.Lease, extended while they are being sent) so that another
// notifier on the same store never sends them meanwhile; they then go
// through the same stages, with these differences: no in-memory dedup (the
// outbox key is unique), one attempt per claim — a recoverable failure puts
// the row back with the doubling backoff and the attempt counted, until
// Retries are spent — and a row held for quiet hours goes back to the
// outbox until the quiet period ends. Each final outcome is written to the
// row together with its record on the case (one transaction); a row whose
// notifier crashes before that is claimed again once its lease runs out and
// sent again: delivery is at least once, and a webhook receiver drops the
// rare duplicate by its X-Yuqing-Delivery id.
//
// Channels: a generic signed JSON webhook, the DingTalk, WeCom (企业微信) and
// Feishu (飞书) group robots, email over SMTP, and the dashboard (a view: it
// is called at once, never grouped or held). Text from crawled posts may
// reach Message.Title and Message.Text, so every format escapes it: JSON
// encoding for webhooks; for the robots, markdown link, image, tag and
// mention syntax is replaced by full-width look-alikes and bare URLs are
// defanged, so the case URL is the only link and nobody is @-mentioned; for
// email, CR/LF-free, Q-encoded subjects and a base64 text/plain body.
//
// Delivery and quiet-hours times are taken from Options.Now; quiet hours are
// China time (UTC+8). OnDelivery and Dashboard run on the notifier's
// goroutines and must not call Send (a full queue would wait on itself).
//
// # Webhook signature
//
// A webhook receives POST application/json {"messages":[...]} (see
// WebhookPayload) with two headers:
//
//	X-Yuqing-Timestamp: <unix seconds when the request was signed>
//	X-Yuqing-Signature: sha256=<hex of HMAC-SHA256(key=secret, timestamp + "." + raw body)>
//
//	X-Yuqing-Delivery: <the delivery ids of the messages in the body, comma-separated>
//
// A delivery id names one message to one channel and stays the same when it
// is sent again (after a crash, or by another notifier taking over): a
// receiver that has seen an id may drop the message (each message in the
// body carries its own as "delivery").
//
// A receiver recomputes the HMAC over the exact bytes of the body, compares
// it in constant time, and rejects a timestamp too far from its own clock
// (five minutes is usual) so that a captured request cannot be replayed
// later. VerifyWebhook does exactly that. Without a secret the signature
// header is absent.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yuqing/alerting/store"
	"yuqing/domain"
)

// Channel types.
const (
	TypeWebhook   = "webhook"
	TypeDingTalk  = "dingtalk"
	TypeWeCom     = "wecom"
	TypeFeishu    = "feishu"
	TypeEmail     = "email"
	TypeDashboard = "dashboard"
)

// Defaults and limits.
const (
	DefaultGroupWait   = 2 * time.Second
	DefaultRetries     = 5
	DefaultBackoff     = time.Second
	MaxBackoff         = time.Minute
	DefaultDedupWindow = 24 * time.Hour
	DefaultQueueSize   = 256
	DefaultHTTPTimeout = 10 * time.Second
	DefaultLease       = 30 * time.Second
	DefaultPoll        = time.Second
	// MaxGroup is the most messages sent together in one post.
	MaxGroup = 20
)

// ChannelConfig is one channel, as it appears in the organisation tree YAML
// under a unit or a person.
type ChannelConfig struct {
	Type   string   `yaml:"type" json:"type"`         // webhook, dingtalk, wecom, feishu, email, dashboard
	URL    string   `yaml:"url" json:"url,omitempty"` // webhook and robot URLs
	Secret string   `yaml:"secret" json:"-"`          // webhook HMAC key; DingTalk/Feishu robot signing secret
	To     []string `yaml:"to" json:"to,omitempty"`   // email recipients
	Name   string   `yaml:"name" json:"name,omitempty"`
}

// SMTPConfig holds the SMTP server settings for email channels.
type SMTPConfig struct {
	Addr     string `yaml:"addr" json:"addr"` // host:port
	From     string `yaml:"from" json:"from"`
	Username string `yaml:"username" json:"username,omitempty"`
	Password string `yaml:"password" json:"-"`
	StartTLS bool   `yaml:"starttls" json:"starttls,omitempty"`
}

// Message is one notification.
type Message struct {
	// Key is the dedup key: the same key to the same channel is delivered
	// once within DedupWindow (e.g. "case-x/response/remind-0.5"). An empty
	// key is never deduplicated.
	Key    string
	CaseID string
	Grade  domain.Grade // I/II are never held back by grouping or quiet hours
	Kind   string       // opened, remind, overdue, escalated, regraded, ...
	Title  string       // Chinese, short
	// Text is plain text; it may carry attacker-influenced text from crawled
	// posts and is escaped for every format.
	Text string
	URL  string    // link to the case on the dashboard (http or https)
	At   time.Time // zero: the time of Send
	// Delivery is the id of this message on one channel, the same each
	// time it is sent (set by the notifier; empty without a Key).
	Delivery string
}

// Target is one channel of one recipient.
type Target struct {
	Recipient string // unit id or person name
	Channel   ChannelConfig
}

// Delivery is the record of one message's final outcome on one channel, to be
// kept on the case.
type Delivery struct {
	Key         string    `json:"key,omitempty"`
	CaseID      string    `json:"case_id,omitempty"`
	Recipient   string    `json:"recipient"`
	Recipients  []string  `json:"recipients,omitempty"` // all recipients this channel stood for in one Send (shared channels)
	Channel     string    `json:"channel"`
	ChannelName string    `json:"channel_name,omitempty"`
	OK          bool      `json:"ok"`
	Attempts    int       `json:"attempts"` // 0: never attempted (bad config, Send cancelled)
	Error       string    `json:"error,omitempty"`
	At          time.Time `json:"at"`
	Grouped     int       `json:"grouped"`            // messages sent together in the post
	Row         int64     `json:"row,omitempty"`      // the outbox row (0: from Send)
	Delivery    string    `json:"delivery,omitempty"` // the delivery id (Message.Delivery)
}

// Options configure a Notifier. Zero values take the defaults.
type Options struct {
	SMTP       SMTPConfig
	QuietHours *QuietHours // nil: none
	// GroupWait: collect messages to the same channel for this long and send
	// them as one (default 2s; negative: no grouping). Grade I/II messages
	// are sent at once.
	GroupWait time.Duration
	// Retries after the first attempt (default 5; negative: none).
	Retries int
	// Backoff is the first retry wait, doubling, capped at MaxBackoff
	// (default 1s). A 429's Retry-After is honoured within the cap.
	Backoff     time.Duration
	DedupWindow time.Duration // default 24h
	QueueSize   int           // per channel (default 256)
	HTTPClient  *http.Client  // default: 10s timeout
	Now         func() time.Time
	// Dashboard is the "dashboard" channel: called synchronously, once per
	// message, never grouped or held.
	Dashboard func(Message)
	// OnDelivery receives every final outcome (success or giving up), one
	// call per message and channel. Calls are serialised.
	OnDelivery func(Delivery)
	// Registerer (optional) gets the counters yuqing_notify_sent_total and
	// yuqing_notify_failed_total, by channel type, counting messages.
	Registerer prometheus.Registerer
	Logger     *slog.Logger

	// Outbox (optional) is drained by Run: due rows are claimed under a
	// lease, sent through the same stages, and settled in the store with
	// their record on the case (see "The outbox" above).
	Outbox store.Outbox
	// Channels gives the configuration (secret included) of an outbox
	// row's channel, named by ChannelRef: the outbox keeps no secrets. A row
	// whose channel it does not know fails.
	Channels func(ref string) (ChannelConfig, bool)
	// Lease keeps other notifiers off the rows this one claimed (default
	// 30s); it is extended while they are being sent. A crashed notifier's
	// rows are sent by another, or after its restart, once it runs out.
	Lease time.Duration
	// Poll is how often the outbox is read besides Wake: the rows other
	// processes write, retries (default 1s).
	Poll time.Duration
	// Owner names this notifier in the leases (default host/pid/random).
	Owner string
	// Retention is how long sent and failed outbox rows are kept (their
	// records on the cases stay): older ones are deleted at Run's start and
	// every hour. Default DefaultRetention; negative keeps them all.
	Retention time.Duration
}

// Notifier delivers messages. Its methods are safe for concurrent use.
type Notifier struct {
	opt    Options
	quiet  *quietPeriod
	log    *slog.Logger
	sent   *prometheus.CounterVec
	failed *prometheus.CounterVec

	// unexported knobs, for tests
	recheck      time.Duration // longest sleep while messages are held (clock jumps)
	flushTimeout time.Duration // bound on the flush after Run's ctx ends

	mu        sync.Mutex
	dedup     map[string]time.Time // Key + channel id → when queued
	lastPrune time.Time
	queues    map[string]*queue
	run       *runState
	inflight  map[int64]struct{} // outbox rows claimed and not yet settled

	recordMu sync.Mutex

	owner string        // lease owner in the outbox
	wake  chan struct{} // Wake: the outbox has new rows
}

type runState struct {
	ctx      context.Context // ends: stop claiming from the outbox
	stop     chan struct{}   // closed once no more claims are made: stop taking, flush
	dctx     context.Context // deliveries: outlives ctx by the flush bound
	stopping bool
	wg       sync.WaitGroup
}

// queue is one channel's bounded queue; one worker at a time drains it.
type queue struct {
	id   string // channel identity (dedup)
	cfg  ChannelConfig
	s    sender
	ch   chan item
	wake chan struct{}
}

// item is one message queued for one channel.
type item struct {
	msg        Message
	recipients []string
	dedupKey   string              // "" when not deduplicated
	row        *store.Notification // from the outbox (nil: from Send)
}

// New makes a Notifier. Invalid quiet hours are logged and ignored (the safe
// direction: notifications go out).
func New(opt Options) *Notifier {
	if opt.GroupWait == 0 {
		opt.GroupWait = DefaultGroupWait
	}
	if opt.Retries == 0 {
		opt.Retries = DefaultRetries
	} else if opt.Retries < 0 {
		opt.Retries = 0
	}
	if opt.Backoff <= 0 {
		opt.Backoff = DefaultBackoff
	}
	if opt.DedupWindow <= 0 {
		opt.DedupWindow = DefaultDedupWindow
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = DefaultQueueSize
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Lease <= 0 {
		opt.Lease = DefaultLease
	}
	if opt.Poll <= 0 {
		opt.Poll = DefaultPoll
	}
	if opt.Retention == 0 {
		opt.Retention = DefaultRetention
	}
	if opt.Owner == "" {
		opt.Owner = defaultOwner()
	}
	n := &Notifier{
		opt:          opt,
		log:          opt.Logger,
		recheck:      time.Minute,
		flushTimeout: 5 * time.Second,
		dedup:        make(map[string]time.Time),
		queues:       make(map[string]*queue),
		inflight:     make(map[int64]struct{}),
		owner:        opt.Owner,
		wake:         make(chan struct{}, 1),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yuqing_notify_sent_total", Help: "Notification messages delivered, by channel type.",
		}, []string{"channel"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yuqing_notify_failed_total", Help: "Notification messages given up on, by channel type.",
		}, []string{"channel"}),
	}
	if opt.QuietHours != nil {
		q, err := opt.QuietHours.parse()
		if err != nil {
			n.log.Error("notify: quiet hours ignored", "err", err)
		} else {
			n.quiet = q
		}
	}
	if opt.Registerer != nil {
		n.sent = register(opt.Registerer, n.sent)
		n.failed = register(opt.Registerer, n.failed)
	}
	return n
}

// register registers c, or returns the collector already registered under
// the same name (several notifiers in one process).
func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return ex
			}
		}
		slog.Warn("notify: metric not registered", "err", err)
	}
	return c
}

// Send queues msg for every target. It never waits for the network; when a
// channel's queue is full it blocks until there is room or ctx ends (then
// the message is reported as not delivered). A (Key, channel) already
// delivered or queued within DedupWindow is skipped silently. Channels are
// identified by type, URL and recipients (not by who they belong to): two
// recipients sharing one DingTalk group receive the message once, while one
// recipient's several channels each receive it.
func (n *Notifier) Send(ctx context.Context, msg Message, targets []Target) {
	if msg.At.IsZero() {
		msg.At = n.opt.Now()
	}
	for _, f := range n.fanOut(msg, targets) {
		n.enqueue(ctx, f.q, f.it)
	}
}

type queued struct {
	q  *queue
	it item
}

// fanOut merges targets sharing a channel, drops what dedup has seen, and
// finds or makes each channel's queue. Bad channel configs are reported.
func (n *Notifier) fanOut(msg Message, targets []Target) []queued {
	var out []queued
	byID := map[string]int{}
	var bad []Delivery
	now := n.opt.Now()
	n.mu.Lock()
	n.pruneLocked(now)
	for _, t := range targets {
		id := channelID(t.Channel)
		if i, ok := byID[id]; ok {
			if !slices.Contains(out[i].it.recipients, t.Recipient) {
				out[i].it.recipients = append(out[i].it.recipients, t.Recipient)
			}
			continue
		}
		dk := ""
		if msg.Key != "" {
			dk = msg.Key + "\x00" + id
			if at, ok := n.dedup[dk]; ok && now.Sub(at) < n.opt.DedupWindow {
				continue
			}
		}
		q, err := n.queueLocked(id, t.Channel)
		if err != nil {
			bad = append(bad, Delivery{Key: msg.Key, CaseID: msg.CaseID, Recipient: t.Recipient, Recipients: []string{t.Recipient},
				Channel: t.Channel.Type, ChannelName: t.Channel.Name, Error: err.Error(), At: now})
			continue
		}
		if dk != "" {
			n.dedup[dk] = now
		}
		m := msg
		if m.Key != "" {
			m.Delivery = DeliveryID(m.Key + "|" + ChannelRef(t.Channel))
		}
		byID[id] = len(out)
		out = append(out, queued{q: q, it: item{msg: m, recipients: []string{t.Recipient}, dedupKey: dk}})
	}
	n.mu.Unlock()
	for _, d := range bad {
		n.log.Error("notify: bad channel", "recipient", d.Recipient, "channel", d.Channel, "name", d.ChannelName, "err", d.Error)
		n.report(d)
	}
	return out
}

// enqueue puts one item on its channel's queue, blocking while it is full.
func (n *Notifier) enqueue(ctx context.Context, q *queue, it item) {
	select {
	case q.ch <- it:
		return
	default:
	}
	select {
	case q.ch <- it:
	case <-ctx.Done():
		n.finish(q, []item{it}, 0, fmt.Errorf("notify: not queued: %w", ctx.Err()))
	}
}

// pruneLocked forgets dedup entries older than the window, at most once a minute.
func (n *Notifier) pruneLocked(now time.Time) {
	if now.Sub(n.lastPrune) < time.Minute && now.After(n.lastPrune) {
		return
	}
	n.lastPrune = now
	for k, at := range n.dedup {
		if now.Sub(at) >= n.opt.DedupWindow {
			delete(n.dedup, k)
		}
	}
}

// queueLocked finds or makes the queue of a channel; a queue made while Run
// is running gets its worker at once.
func (n *Notifier) queueLocked(id string, c ChannelConfig) (*queue, error) {
	key := id + "\x00" + c.Secret + "\x00" + c.Name
	if q, ok := n.queues[key]; ok {
		return q, nil
	}
	s, err := n.newSender(c)
	if err != nil {
		return nil, err
	}
	q := &queue{id: id, cfg: c, s: s, ch: make(chan item, n.opt.QueueSize), wake: make(chan struct{}, 1)}
	q.cfg.Type = normType(c.Type)
	n.queues[key] = q
	if n.run != nil && !n.run.stopping {
		n.startLocked(n.run, q)
	}
	return q, nil
}

func (n *Notifier) startLocked(r *runState, q *queue) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		n.work(r, q)
	}()
}

// Run delivers until ctx ends, draining the outbox if there is one, then
// stops claiming and flushes what is queued, held or grouped (best effort:
// deliveries still running a few seconds later are cancelled and reported
// as failed; outbox rows are put back instead). It returns nil when ctx
// ends, or an error if Run is already running. Messages sent after the
// flush stay queued for the next Run.
func (n *Notifier) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.run != nil {
		n.mu.Unlock()
		return errors.New("notify: Run is already running")
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	r := &runState{ctx: ctx, dctx: dctx, stop: make(chan struct{})}
	n.run = r
	for _, q := range n.queues {
		n.startLocked(r, q)
	}
	n.mu.Unlock()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		if n.opt.Outbox != nil {
			n.drain(r)
		}
	}()

	<-ctx.Done()
	<-drained // no more claims: what was claimed is queued
	n.mu.Lock()
	r.stopping = true
	n.mu.Unlock()
	close(r.stop)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	t := time.NewTimer(n.flushTimeout)
	select {
	case <-done:
	case <-t.C:
		cancel()
		<-done
	}
	t.Stop()
	n.mu.Lock()
	n.run = nil
	n.mu.Unlock()
	return nil
}

// kick wakes every worker to look at the clock again (held messages).
func (n *Notifier) kick() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, q := range n.queues {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// worker is one channel's delivery loop state.
type worker struct {
	n     *Notifier
	q     *queue
	ctx   context.Context // delivery context
	group []item          // waiting for GroupWait
	held  []item          // waiting for the quiet period to end
}

// work is a channel's loop: take, group, hold, deliver; flush at the end.
func (n *Notifier) work(r *runState, q *queue) {
	w := &worker{n: n, q: q, ctx: r.dctx}
	groupT := time.NewTimer(time.Hour)
	groupT.Stop()
	quietT := time.NewTimer(time.Hour)
	quietT.Stop()
	defer groupT.Stop()
	defer quietT.Stop()
	for {
		w.releaseHeld()
		var quietC <-chan time.Time
		if len(w.held) > 0 {
			quietT.Reset(w.untilQuietEnds())
			quietC = quietT.C
		}
		var groupC <-chan time.Time
		if len(w.group) > 0 {
			groupC = groupT.C
		}
		select {
		case <-r.stop:
			w.flush()
			return
		case it := <-q.ch:
			if w.take(it) {
				groupT.Reset(n.opt.GroupWait)
			}
		case <-groupC:
			w.groupDue()
		case <-quietC:
		case <-q.wake:
		}
	}
}

// take routes one message: at once, held, or grouped. It reports whether a
// new group started (the caller starts the group timer).
func (w *worker) take(it item) (newGroup bool) {
	switch {
	case it.msg.Grade.Major() || w.q.cfg.Type == TypeDashboard:
		w.deliver([]item{it})
	case w.n.quietAt(w.n.opt.Now()):
		w.hold([]item{it})
	case w.n.opt.GroupWait < 0:
		w.deliver([]item{it})
	default:
		w.group = append(w.group, it)
		if len(w.group) >= MaxGroup {
			w.deliver(w.group)
			w.group = nil
			return false
		}
		return len(w.group) == 1
	}
	return false
}

// groupDue sends the group whose wait is over, or holds it if the quiet
// period began meanwhile.
func (w *worker) groupDue() {
	g := w.group
	w.group = nil
	if w.n.quietAt(w.n.opt.Now()) {
		w.hold(g)
		return
	}
	w.deliverAll(g)
}

// hold keeps messages until the quiet period ends: in memory, or for
// outbox rows in the outbox (due again when it ends), so that nothing is
// held under a lease for hours.
func (w *worker) hold(items []item) {
	plain, boxed := split(items)
	w.held = append(w.held, plain...)
	if len(boxed) > 0 {
		now := w.n.opt.Now()
		w.n.putBack(w.q, boxed, w.n.quiet.end(now))
	}
}

// releaseHeld sends the held messages once the quiet period is over.
func (w *worker) releaseHeld() {
	if len(w.held) == 0 || w.n.quietAt(w.n.opt.Now()) {
		return
	}
	h := w.held
	w.held = nil
	w.deliverAll(h)
}

func (w *worker) untilQuietEnds() time.Duration {
	now := w.n.opt.Now()
	d := w.n.quiet.end(now).Sub(now)
	return max(min(d, w.n.recheck), time.Millisecond)
}

// flush sends everything grouped, held and still queued, in arrival order
// within each kind (held ones first: they are older).
func (w *worker) flush() {
	rest := append(w.held, w.group...)
	w.held, w.group = nil, nil
drain:
	for {
		select {
		case it := <-w.q.ch:
			rest = append(rest, it)
		default:
			break drain
		}
	}
	w.deliverAll(rest)
}

// deliverAll sends items in posts of at most MaxGroup.
func (w *worker) deliverAll(items []item) {
	for chunk := range slices.Chunk(items, MaxGroup) {
		w.deliver(chunk)
	}
}

// deliver sends one post and records its outcome: messages from Send with
// retries, outbox rows once (they are retried through the outbox).
func (w *worker) deliver(items []item) {
	plain, boxed := split(items)
	if len(plain) > 0 {
		attempts, err := w.n.retry(w.ctx, w.q.s, messages(plain))
		w.n.finish(w.q, plain, attempts, err)
	}
	if len(boxed) > 0 {
		err := w.q.s.send(w.ctx, messages(boxed))
		w.n.settle(w.q, boxed, true, err, w.ctx.Err() != nil)
	}
}

func messages(items []item) []Message {
	msgs := make([]Message, len(items))
	for i, it := range items {
		msgs[i] = it.msg
	}
	return msgs
}

// split separates the messages from Send from the outbox rows.
func split(items []item) (plain, boxed []item) {
	for _, it := range items {
		if it.row != nil {
			boxed = append(boxed, it)
		} else {
			plain = append(plain, it)
		}
	}
	return plain, boxed
}

// retry calls s until it succeeds, the error is not recoverable, the
// retries are spent or ctx ends. It returns the attempts made.
func (n *Notifier) retry(ctx context.Context, s sender, msgs []Message) (int, error) {
	wait := n.opt.Backoff
	for attempt := 1; ; attempt++ {
		err := s.send(ctx, msgs)
		if err == nil {
			return attempt, nil
		}
		if !recoverable(err) || attempt > n.opt.Retries {
			return attempt, err
		}
		if ctx.Err() != nil {
			return attempt, err
		}
		d := max(wait, retryAfter(err))
		d = min(d, MaxBackoff)
		n.log.Warn("notify: delivery failed, retrying", "err", err, "attempt", attempt, "wait", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, MaxBackoff)
	}
}

// finish records the final outcome of items sent together: counters, dedup
// (a failure frees the key, so the message may be sent again) and one
// Delivery per message.
func (n *Notifier) finish(q *queue, items []item, attempts int, err error) {
	if plain, boxed := split(items); len(boxed) > 0 {
		// not sent (not queued): the rows go back to the outbox
		n.settle(q, boxed, false, err, true)
		if len(plain) == 0 {
			return
		}
		items = plain
	}
	now := n.opt.Now()
	typ := q.cfg.Type
	if err != nil {
		n.failed.WithLabelValues(typ).Add(float64(len(items)))
		n.log.Error("notify: delivery failed", "channel", typ, "name", q.cfg.Name, "messages", len(items), "attempts", attempts, "err", err)
		n.mu.Lock()
		for _, it := range items {
			if it.dedupKey != "" {
				delete(n.dedup, it.dedupKey)
			}
		}
		n.mu.Unlock()
	} else {
		n.sent.WithLabelValues(typ).Add(float64(len(items)))
	}
	for _, it := range items {
		d := Delivery{
			Key: it.msg.Key, CaseID: it.msg.CaseID, Recipients: it.recipients,
			Channel: typ, ChannelName: q.cfg.Name, OK: err == nil, Attempts: attempts, At: now, Grouped: len(items),
		}
		if len(it.recipients) > 0 {
			d.Recipient = it.recipients[0]
		}
		if err != nil {
			d.Error = err.Error()
		}
		n.report(d)
	}
}

func (n *Notifier) report(d Delivery) {
	if n.opt.OnDelivery == nil {
		return
	}
	n.recordMu.Lock()
	defer n.recordMu.Unlock()
	n.opt.OnDelivery(d)
}

func (n *Notifier) quietAt(t time.Time) bool { return n.quiet != nil && n.quiet.contains(t) }

func normType(t string) string { return strings.ToLower(strings.TrimSpace(t)) }

// channelID identifies a channel for dedup: type, URL and recipients, not
// the secret or the label.
func channelID(c ChannelConfig) string {
	typ := normType(c.Type)
	switch typ {
	case TypeDashboard:
		return typ
	case TypeEmail:
		to := make([]string, 0, len(c.To))
		for _, a := range c.To {
			if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
				to = append(to, a)
			}
		}
		slices.Sort(to)
		return typ + "\x00" + strings.Join(slices.Compact(to), ",")
	default:
		return typ + "\x00" + strings.TrimSpace(c.URL)
	}
}
