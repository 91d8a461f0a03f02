package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	HeaderTimestamp = "X-Yuqing-Timestamp"
	HeaderSignature = "X-Yuqing-Signature"
	// HeaderDelivery lists the delivery ids of the messages in the body: the
	// same message to the same channel has the same id however often it is
	// sent, so a receiver drops one it has seen (at-least-once delivery).
	HeaderDelivery = "X-Yuqing-Delivery"
)

// WebhookPayload is the JSON body a webhook receives.
type WebhookPayload struct {
	Messages []WebhookMessage `json:"messages"`
}

// WebhookMessage is one message in a webhook payload.
type WebhookMessage struct {
	Key       string    `json:"key,omitempty"`
	CaseID    string    `json:"case_id,omitempty"`
	Grade     string    `json:"grade,omitempty"`      // I, II, III, IV; empty below grading
	GradeName string    `json:"grade_name,omitempty"` // 特别重大 … 一般, 未达分级
	Kind      string    `json:"kind,omitempty"`
	Title     string    `json:"title"`
	Text      string    `json:"text,omitempty"`
	URL       string    `json:"url,omitempty"`
	At        time.Time `json:"at"`
	Delivery  string    `json:"delivery,omitempty"` // the delivery id (HeaderDelivery)
}

// webhook posts signed JSON.
type webhook struct {
	httpSender
	secret string
	now    func() time.Time
}

func (w *webhook) send(ctx context.Context, msgs []Message) error {
	p := WebhookPayload{Messages: make([]WebhookMessage, len(msgs))}
	var ids []string
	for i, m := range msgs {
		p.Messages[i] = WebhookMessage{
			Key: m.Key, CaseID: m.CaseID, Grade: m.Grade.String(), GradeName: m.Grade.Zh(), Kind: m.Kind,
			Title: m.Title, Text: m.Text, URL: safeLink(m.URL), At: m.At, Delivery: m.Delivery,
		}
		if m.Delivery != "" {
			ids = append(ids, m.Delivery)
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return permanent(fmt.Errorf("webhook: %w", err))
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	if w.secret != "" {
		h.Set(HeaderSignature, SignWebhook(w.secret, ts, body))
	}
	if len(ids) > 0 {
		h.Set(HeaderDelivery, strings.Join(ids, ","))
	}
	r, err := w.post(ctx, "webhook", w.url, body, h)
	if err != nil {
		return err
	}
	return r.statusError("webhook")
}

// SignWebhook gives the X-Yuqing-Signature value of a body sent at the unix
// time ts: "sha256=" + hex(HMAC-SHA256(key=secret, ts + "." + body)).
func SignWebhook(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook is what a receiver does with a request: it checks the
// signature over the raw body in constant time and that the timestamp is
// within maxSkew of now (no replay of old requests).
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	ts := h.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("notify: webhook: missing or bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("notify: webhook: timestamp %s is %s away from now", ts, d.Round(time.Second))
	}
	got := strings.TrimSpace(h.Get(HeaderSignature))
	if !hmac.Equal([]byte(got), []byte(SignWebhook(secret, ts, body))) {
		return errors.New("notify: webhook: bad signature")
	}
	return nil
}
