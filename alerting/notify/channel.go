package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// sender is one channel: it posts a group of messages as one.
type sender interface {
	send(ctx context.Context, msgs []Message) error
}

// Validate checks a channel config on its own (what Send would refuse).
func (c ChannelConfig) Validate() error {
	switch normType(c.Type) {
	case TypeWebhook, TypeDingTalk, TypeWeCom, TypeFeishu:
		u, err := url.Parse(strings.TrimSpace(c.URL))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify: %s channel needs an http(s) url", normType(c.Type))
		}
	case TypeEmail:
		if len(c.To) == 0 {
			return errors.New("notify: email channel needs recipients (to)")
		}
		for _, a := range c.To {
			if _, err := mail.ParseAddress(a); err != nil {
				return fmt.Errorf("notify: email recipient %q: %w", a, err)
			}
		}
	case TypeDashboard:
	case "":
		return errors.New("notify: channel without a type")
	default:
		return fmt.Errorf("notify: unknown channel type %q", c.Type)
	}
	return nil
}

// newSender makes the sender of a channel.
func (n *Notifier) newSender(c ChannelConfig) (sender, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	u := strings.TrimSpace(c.URL)
	h := httpSender{client: n.opt.HTTPClient, url: u}
	switch normType(c.Type) {
	case TypeWebhook:
		return &webhook{httpSender: h, secret: c.Secret, now: n.opt.Now}, nil
	case TypeDingTalk:
		return &dingtalk{httpSender: h, secret: c.Secret, now: n.opt.Now}, nil
	case TypeWeCom:
		return &wecom{httpSender: h}, nil
	case TypeFeishu:
		return &feishu{httpSender: h, secret: c.Secret, now: n.opt.Now}, nil
	case TypeEmail:
		return newEmail(n.opt.SMTP, c.To, n.opt.Now)
	default: // dashboard
		if n.opt.Dashboard == nil {
			return nil, errors.New("notify: dashboard channel, but no Options.Dashboard")
		}
		return dashboard(n.opt.Dashboard), nil
	}
}

// dashboard calls Options.Dashboard once per message.
type dashboard func(Message)

func (d dashboard) send(_ context.Context, msgs []Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dashboard: panic: %v", r)
		}
	}()
	for _, m := range msgs {
		d(m)
	}
	return nil
}

// deliveryError is an error that says whether retrying may help.
type deliveryError struct {
	err         error
	recoverable bool
	retryAfter  time.Duration
}

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

func temporary(err error) error { return &deliveryError{err: err, recoverable: true} }
func permanent(err error) error { return &deliveryError{err: err} }

// recoverable reports whether retrying err may help: network errors,
// timeouts, HTTP 429 and 5xx, rate-limit codes. Anything else is final.
func recoverable(err error) bool {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.recoverable
	}
	return false
}

func retryAfter(err error) time.Duration {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.retryAfter
	}
	return 0
}

// httpSender posts JSON.
type httpSender struct {
	client *http.Client
	url    string
}

// maxResponse is how much of a response body is read.
const maxResponse = 64 << 10

// response is what came back from a post.
type response struct {
	status int
	header http.Header
	body   []byte
}

// post sends body to u (the sender's URL, possibly with signing parameters).
// Transport errors are recoverable; the URL is kept out of errors, since
// robots carry their access token in the query or the path.
func (h httpSender) post(ctx context.Context, name, u string, body []byte, header http.Header) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactURL(ue.URL)
		}
		return nil, permanent(fmt.Errorf("%s: %w", name, err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "yuqing-notify/1")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactURL(ue.URL)
		}
		return nil, temporary(fmt.Errorf("%s: %w", name, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, temporary(fmt.Errorf("%s: reading the response: %w", name, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse)) // let the connection be reused
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// statusError classifies a non-2xx status: 429 and 5xx are recoverable
// (429 with its Retry-After), other statuses are final. nil for 2xx.
func (r *response) statusError(name string) error {
	if r.status >= 200 && r.status < 300 {
		return nil
	}
	err := fmt.Errorf("%s: HTTP %d: %s", name, r.status, snippet(r.body))
	switch {
	case r.status == http.StatusTooManyRequests:
		return &deliveryError{err: err, recoverable: true, retryAfter: parseRetryAfter(r.header.Get("Retry-After"))}
	case r.status >= 500:
		return temporary(err)
	default:
		return permanent(err)
	}
}

func parseRetryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// snippet gives the start of a response body for an error message.
func snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = cutBytes(s, 200)
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// redactURL keeps only the scheme and host of a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(url)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// cutBytes cuts s to at most n bytes on a rune boundary, ending with "…"
// when it cut.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	if n < len(ell) {
		return ""
	}
	i := n - len(ell)
	for i > 0 && !utf8RuneStart(s[i]) {
		i--
	}
	return s[:i] + ell
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
