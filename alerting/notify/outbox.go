package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"yuqing/alerting/store"
	"yuqing/domain"
)

// SystemActor is the actor of the records a notifier keeps on a case (as
// alerting.SystemActor).
const SystemActor = "system"

// claimBatch is how many outbox rows one claim takes.
const claimBatch = 100

// ChannelRef names a channel in the outbox: its type and a hash of what
// identifies it (URL, or mail recipients), never a secret or a token. Two
// configurations of one channel (the same group under two units) have the
// same ref.
func ChannelRef(c ChannelConfig) string {
	sum := sha256.Sum256([]byte(channelID(c)))
	return normType(c.Type) + ":" + hex.EncodeToString(sum[:8])
}

// DeliveryID is the delivery id of an outbox key (a message's key and its
// channel's ref): what X-Yuqing-Delivery carries, the same on every attempt.
func DeliveryID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "d-" + hex.EncodeToString(sum[:12])
}

// rowData is a message as kept in an outbox row (store.Notification.Data).
type rowData struct {
	Key         string    `json:"key"`
	CaseID      string    `json:"case_id,omitempty"`
	Grade       int       `json:"grade"`
	Kind        string    `json:"kind,omitempty"`
	Title       string    `json:"title"`
	Text        string    `json:"text,omitempty"`
	URL         string    `json:"url,omitempty"`
	At          time.Time `json:"at"`
	Recipients  []string  `json:"recipients"`
	ChannelType string    `json:"channel_type"`
	ChannelName string    `json:"channel_name,omitempty"`
}

// Outgoing gives the outbox rows of msg for targets, to be written with the
// action that causes them: one row per channel, targets sharing a channel
// (two units in one DingTalk group) making one row that lists them all.
// Each row's key is msg.Key (which must name the occurrence: the same
// occurrence, the same key) and the channel's ref, and it is due at msg.At
// (grouping and quiet hours apply when it is sent). Secrets stay out of the
// rows; Options.Channels gives them back.
func Outgoing(msg Message, targets []Target) []store.Notification {
	if len(targets) == 0 {
		return nil
	}
	if msg.Key == "" {
		var b [12]byte
		rand.Read(b[:])
		msg.Key = "once-" + hex.EncodeToString(b[:])
	}
	if msg.At.IsZero() {
		msg.At = time.Now()
	}
	var refs []string
	byRef := map[string]*rowData{}
	for _, t := range targets {
		ref := ChannelRef(t.Channel)
		if d, ok := byRef[ref]; ok {
			if !slices.Contains(d.Recipients, t.Recipient) {
				d.Recipients = append(d.Recipients, t.Recipient)
			}
			continue
		}
		refs = append(refs, ref)
		byRef[ref] = &rowData{
			Key: msg.Key, CaseID: msg.CaseID, Grade: int(msg.Grade), Kind: msg.Kind, Title: msg.Title, Text: msg.Text, URL: msg.URL, At: msg.At,
			Recipients: []string{t.Recipient}, ChannelType: normType(t.Channel.Type), ChannelName: t.Channel.Name,
		}
	}
	out := make([]store.Notification, 0, len(refs))
	for _, ref := range refs {
		data, _ := json.Marshal(byRef[ref]) // strings, ints and a time: cannot fail
		out = append(out, store.Notification{
			Key: msg.Key + "|" + ref, CaseID: msg.CaseID, Channel: ref, Data: string(data), NextAt: msg.At, CreatedAt: msg.At,
		})
	}
	return out
}

// decodeRow gives the message an outbox row carries.
func decodeRow(row store.Notification) (Message, rowData, error) {
	var d rowData
	if err := json.Unmarshal([]byte(row.Data), &d); err != nil {
		return Message{}, d, fmt.Errorf("notify: outbox row %d: %w", row.ID, err)
	}
	return Message{
		Key: d.Key, CaseID: d.CaseID, Grade: domain.Grade(d.Grade), Kind: d.Kind, Title: d.Title, Text: d.Text, URL: d.URL, At: d.At,
		Delivery: DeliveryID(row.Key),
	}, d, nil
}

// DeliveryNote is how a delivery reads on the case's trail.
func DeliveryNote(d Delivery) string {
	via := d.Channel
	if d.ChannelName != "" {
		via += "（" + d.ChannelName + "）"
	}
	who := strings.Join(d.Recipients, "、")
	if who == "" {
		who = d.Recipient
	}
	switch {
	case !d.OK:
		return fmt.Sprintf("通过%s通知%s失败（尝试 %d 次）：%s", via, who, d.Attempts, d.Error)
	case d.Attempts > 1:
		return fmt.Sprintf("已通过%s通知%s（第 %d 次尝试成功）", via, who, d.Attempts)
	}
	return fmt.Sprintf("已通过%s通知%s", via, who)
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Wake makes Run read the outbox now (rows were just written).
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// claimGap is the least time between two claims: rows written meanwhile
// (a burst of deadlines) are claimed together, so that the claims do not
// take the store's writer from the writes that cause notifications.
const claimGap = 50 * time.Millisecond

// drain claims due outbox rows and queues them until r.ctx ends, reading
// the outbox at every Wake and Poll (at most every claimGap); it extends
// the leases of the rows in flight.
func (n *Notifier) drain(r *runState) {
	poll := time.NewTimer(0)
	defer poll.Stop()
	renew := time.NewTicker(max(n.opt.Lease/3, time.Millisecond))
	defer renew.Stop()
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	n.prune(r.ctx)
	var last time.Time
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-renew.C:
			n.renew(r.ctx)
			continue
		case <-prune.C:
			n.prune(r.ctx)
			continue
		case <-poll.C:
		case <-n.wake:
		}
		if gap := claimGap - time.Since(last); gap > 0 && !sleep(r.ctx, gap) {
			return
		}
		last = time.Now()
		n.claimDue(r)
		poll.Reset(n.opt.Poll)
	}
}

// DefaultRetention is how long sent and failed outbox rows are kept.
const DefaultRetention = 30 * 24 * time.Hour

// pruneEvery is how often the outbox is pruned.
const pruneEvery = time.Hour

// prune deletes the sent and failed outbox rows older than the retention.
func (n *Notifier) prune(ctx context.Context) {
	if n.opt.Retention < 0 {
		return
	}
	k, err := n.opt.Outbox.PruneNotifications(ctx, n.opt.Now().Add(-n.opt.Retention))
	switch {
	case err != nil && ctx.Err() == nil:
		n.log.Warn("notify: 清理发件箱中已完成的通知失败，稍后重试", "err", err)
	case k > 0:
		n.log.Info("notify: 已清理发件箱中保留期已过的通知", "条数", k, "保留", n.opt.Retention)
	}
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// claimDue claims and queues every due row (in batches).
func (n *Notifier) claimDue(r *runState) {
	for r.ctx.Err() == nil {
		rows, err := n.opt.Outbox.ClaimNotifications(r.ctx, n.owner, n.opt.Now(), n.opt.Lease, claimBatch)
		if err != nil {
			if r.ctx.Err() == nil {
				n.log.Error("notify: reading the outbox failed, retrying", "err", err, "wait", n.opt.Poll)
			}
			return
		}
		for _, row := range rows {
			n.dispatch(r, row)
		}
		if len(rows) < claimBatch {
			return
		}
	}
}

// dispatch queues one claimed row on its channel; a row that cannot be sent
// (its channel unknown or invalid) fails at once.
func (n *Notifier) dispatch(r *runState, row store.Notification) {
	n.mu.Lock()
	if _, busy := n.inflight[row.ID]; busy {
		n.mu.Unlock()
		return // still on its way here (the claim renewed our own lease)
	}
	n.inflight[row.ID] = struct{}{}
	n.mu.Unlock()
	msg, d, err := decodeRow(row)
	it := item{msg: msg, recipients: d.Recipients, row: &row}
	ch := ChannelConfig{Type: d.ChannelType, Name: d.ChannelName}
	if err == nil {
		if n.opt.Channels == nil {
			err = errors.New("notify: no channel directory (Options.Channels) for the outbox")
		} else if c, ok := n.opt.Channels(row.Channel); !ok {
			err = fmt.Errorf("notify: channel %s (%s) is no longer configured", row.Channel, d.ChannelName)
		} else {
			ch = c
		}
	}
	var q *queue
	if err == nil {
		n.mu.Lock()
		q, err = n.queueLocked(channelID(ch), ch)
		n.mu.Unlock()
	}
	if err != nil {
		n.log.Error("notify: outbox row cannot be sent", "row", row.ID, "case", row.CaseID, "channel", d.ChannelType, "name", d.ChannelName, "err", err)
		n.settle(&queue{cfg: ChannelConfig{Type: normType(ch.Type), Name: ch.Name}}, []item{it}, false, err, false)
		return
	}
	n.enqueue(r.ctx, q, it)
}

// renew extends the leases of the rows in flight.
func (n *Notifier) renew(ctx context.Context) {
	n.mu.Lock()
	ids := make([]int64, 0, len(n.inflight))
	for id := range n.inflight {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	if err := n.opt.Outbox.ExtendNotifications(ctx, n.owner, ids, n.opt.Now().Add(n.opt.Lease)); err != nil && ctx.Err() == nil {
		n.log.Warn("notify: extending outbox leases failed", "rows", len(ids), "err", err)
	}
}

// backoff is the wait before attempt number attempts+1 of an outbox row:
// Backoff doubling from the second attempt, capped at MaxBackoff, or longer
// if the receiver said so (Retry-After).
func (n *Notifier) backoff(attempts int, err error) time.Duration {
	d := n.opt.Backoff
	for i := 1; i < attempts && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(max(d, retryAfter(err)), MaxBackoff)
}

// settle writes what became of outbox rows sent together (or not sent):
// sent, or failed for good, with the record on the case; or back to pending
// — a recoverable failure with the backoff (the attempt counted), or, with
// putBack, at once without counting (not queued, cancelled at shutdown).
func (n *Notifier) settle(q *queue, items []item, attempted bool, err error, putBack bool) {
	now := n.opt.Now()
	typ := q.cfg.Type
	outs := make([]store.Outcome, 0, len(items))
	var finals []Delivery
	var retryIn time.Duration
	sent, failed := 0, 0
	for _, it := range items {
		o := store.Outcome{ID: it.row.ID, At: now}
		attempts := it.row.Attempts
		if attempted {
			attempts++
		}
		d := Delivery{Key: it.msg.Key, CaseID: it.msg.CaseID, Recipients: it.recipients, Channel: typ, ChannelName: q.cfg.Name,
			OK: err == nil, Attempts: attempts, At: now, Grouped: len(items), Row: it.row.ID, Delivery: it.msg.Delivery}
		if len(it.recipients) > 0 {
			d.Recipient = it.recipients[0]
		}
		switch {
		case err == nil:
			o.Status, o.Attempted = store.NotifySent, true
			sent++
		case putBack:
			o.Status = store.NotifyPending
		case recoverable(err) && attempts <= n.opt.Retries:
			wait := n.backoff(attempts, err)
			o.Status, o.Attempted, o.Error, o.NextAt = store.NotifyPending, attempted, err.Error(), now.Add(wait)
			retryIn = max(retryIn, wait)
		default:
			o.Status, o.Attempted, o.Error = store.NotifyFailed, attempted, err.Error()
			d.Error = err.Error()
			failed++
		}
		if o.Status != store.NotifyPending {
			o.Record = &domain.Action{Kind: domain.ActNotify, Actor: SystemActor, Note: DeliveryNote(d), At: now}
			finals = append(finals, d)
		}
		outs = append(outs, o)
	}
	switch {
	case err == nil:
	case putBack:
		n.log.Warn("notify: outbox rows put back unsent", "channel", typ, "name", q.cfg.Name, "rows", len(items), "err", err)
	case retryIn > 0:
		n.log.Warn("notify: delivery failed, retrying from the outbox", "channel", typ, "name", q.cfg.Name, "rows", len(items), "err", err, "wait", retryIn)
	default:
		n.log.Error("notify: delivery failed", "channel", typ, "name", q.cfg.Name, "rows", len(items), "err", err)
	}
	n.writeOutcomes(outs)
	n.sent.WithLabelValues(typ).Add(float64(sent))
	n.failed.WithLabelValues(typ).Add(float64(failed))
	for _, d := range finals {
		n.report(d)
	}
	if retryIn > 0 {
		time.AfterFunc(retryIn, n.Wake)
	}
}

// putBack returns rows to the outbox, due at at, without counting an attempt.
func (n *Notifier) putBack(q *queue, items []item, at time.Time) {
	outs := make([]store.Outcome, len(items))
	for i, it := range items {
		outs[i] = store.Outcome{ID: it.row.ID, Status: store.NotifyPending, NextAt: at}
	}
	n.writeOutcomes(outs)
}

// writeOutcomes settles rows in the outbox, retrying a failed write a few
// times; the rows are then no longer in flight. Should the write fail for
// good, the leases run out and the rows are sent again (at least once).
func (n *Notifier) writeOutcomes(outs []store.Outcome) {
	defer func() {
		n.mu.Lock()
		for _, o := range outs {
			delete(n.inflight, o.ID)
		}
		n.mu.Unlock()
	}()
	wait := 100 * time.Millisecond
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		k, err := n.opt.Outbox.SettleNotifications(ctx, n.owner, outs)
		cancel()
		if err == nil {
			if k < len(outs) {
				n.log.Warn("notify: another notifier took over outbox rows whose lease ran out; they may be sent twice", "rows", len(outs)-k)
			}
			return
		}
		if try == 3 {
			n.log.Error("notify: writing delivery outcomes to the outbox failed; the rows will be sent again", "rows", len(outs), "err", err)
			return
		}
		time.Sleep(wait)
		wait *= 4
	}
}
