package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
	"unicode"
)

// smtpTimeout bounds one SMTP conversation.
const smtpTimeout = 30 * time.Second

// email sends text/plain UTF-8 mail over SMTP.
type email struct {
	cfg  SMTPConfig
	from *mail.Address
	to   []*mail.Address
	now  func() time.Time
}

func newEmail(cfg SMTPConfig, to []string, now func() time.Time) (*email, error) {
	if strings.TrimSpace(cfg.Addr) == "" {
		return nil, errors.New("notify: email channel, but no SMTP server (smtp.addr)")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("notify: smtp.addr: %w", err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp.from %q: %w", cfg.From, err)
	}
	e := &email{cfg: cfg, from: from, now: now}
	for _, a := range to {
		p, err := mail.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("notify: email recipient %q: %w", a, err)
		}
		e.to = append(e.to, p)
	}
	return e, nil
}

func (e *email) send(ctx context.Context, msgs []Message) error {
	msg := e.compose(msgs)
	if err := e.deliver(ctx, msg); err != nil {
		return smtpError(err)
	}
	return nil
}

// deliver speaks SMTP: optional STARTTLS, PLAIN auth when a username is set,
// MAIL, RCPT for each recipient, DATA, QUIT. ctx ending aborts the connection.
func (e *email) deliver(ctx context.Context, msg []byte) error {
	host, _, _ := net.SplitHostPort(e.cfg.Addr)
	d := net.Dialer{Timeout: smtpTimeout}
	conn, err := d.DialContext(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(smtpTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if e.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanent(errors.New("email: the SMTP server does not offer STARTTLS"))
		}
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if e.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return err
	}
	for _, a := range e.to {
		if err := c.Rcpt(a.Address); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// smtpError classifies an SMTP failure: 4xx replies and network errors are
// recoverable, 5xx replies and the rest are final.
func smtpError(err error) error {
	var de *deliveryError
	if errors.As(err, &de) {
		return err
	}
	werr := fmt.Errorf("email: %w", err)
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 400 && te.Code < 500 {
			return temporary(werr)
		}
		return permanent(werr)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return temporary(werr)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return temporary(werr)
	}
	return permanent(werr)
}

// headerText makes untrusted text safe for a header: no CR/LF or other
// control characters (no header injection), trimmed to a sane length.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	return cutBytes(strings.Join(strings.Fields(s), " "), 400)
}

// compose writes the message: encoded subject, Date, Message-ID, a base64
// text/plain; charset=utf-8 body.
func (e *email) compose(msgs []Message) []byte {
	now := e.now()
	subject := "[舆情] " + label(msgs[0]) + headerText(msgs[0].Title)
	if len(msgs) > 1 {
		subject = fmt.Sprintf("[舆情] %d 条通知：%s", len(msgs), headerText(msgs[0].Title))
	}
	subject = headerText(subject)

	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", e.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", now.In(China).Format(time.RFC1123Z))
	h("Message-ID", messageID(e.from.Address, now))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "base64")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	body := base64.StdEncoding.EncodeToString([]byte(emailBody(msgs)))
	for len(body) > 76 {
		b.WriteString(body[:76] + "\r\n")
		body = body[76:]
	}
	b.WriteString(body + "\r\n")
	return b.Bytes()
}

func emailBody(msgs []Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\r\n----------------------------------------\r\n\r\n")
		}
		b.WriteString(strings.TrimSpace(label(m) + " " + headerText(m.Title)))
		b.WriteString("\r\n")
		if m.CaseID != "" {
			b.WriteString("案件：" + headerText(m.CaseID) + "\r\n")
		}
		if !m.At.IsZero() {
			b.WriteString("时间：" + m.At.In(China).Format("2006-01-02 15:04:05") + "\r\n")
		}
		if t := strings.TrimSpace(m.Text); t != "" {
			t = strings.ReplaceAll(strings.ReplaceAll(t, "\r\n", "\n"), "\r", "\n")
			b.WriteString("\r\n" + strings.ReplaceAll(t, "\n", "\r\n") + "\r\n")
		}
		if u := safeLink(m.URL); u != "" {
			b.WriteString("\r\n查看案件：" + u + "\r\n")
		}
	}
	return b.String()
}

func messageID(from string, now time.Time) string {
	domain := "yuqing.local"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	r := make([]byte, 8)
	_, _ = rand.Read(r)
	return fmt.Sprintf("<%d.%s@%s>", now.UnixNano(), hex.EncodeToString(r), domain)
}
