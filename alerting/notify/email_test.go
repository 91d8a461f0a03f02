package notify

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/domain"
)

// smtpMail is what the test SMTP server received.
type smtpMail struct {
	from string
	rcpt []string
	data string
}

// smtpServer is a tiny SMTP server on 127.0.0.1: 220, EHLO/HELO, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT. The first failRcpt RCPT commands are
// answered with rcptCode.
type smtpServer struct {
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	mails    []smtpMail
	failRcpt int
	rcptCode string
}

func newSMTPServer(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 test.local ESMTP")
	var m smtpMail
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		l = strings.TrimRight(l, "\r\n")
		cmd := strings.ToUpper(l)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-test.local")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m = smtpMail{from: strings.Fields(l[len("MAIL FROM:"):])[0]} // drop BODY=8BITMIME
			say("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			s.mu.Lock()
			fail := s.failRcpt > 0
			if fail {
				s.failRcpt--
			}
			s.mu.Unlock()
			if fail {
				say(s.rcptCode)
				continue
			}
			m.rcpt = append(m.rcpt, l[len("RCPT TO:"):])
			say("250 OK")
		case cmd == "DATA":
			say("354 end with <CRLF>.<CRLF>")
			var b strings.Builder
			for {
				dl, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if dl == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(dl, ".")) // undo dot-stuffing
			}
			m.data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			say("250 OK queued")
		case cmd == "RSET", cmd == "NOOP":
			say("250 OK")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func (s *smtpServer) received() []smtpMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mails...)
}

func TestEmail(t *testing.T) {
	s := newSMTPServer(t)
	opt, rec := testOptions(t)
	opt.SMTP = SMTPConfig{Addr: s.ln.Addr().String(), From: "舆情系统 <yuqing@example.gov.cn>"}
	n := start(t, opt)

	m := msg("e1", domain.GradeI)
	m.Title = "宁波市某小区火灾\r\nBcc: evil@x"
	m.Text = "网传：现场浓烟滚滚。\n.\n第三行以点开头\r\nBcc: evil@y"
	n.Send(context.Background(), m, []Target{{Recipient: "张三", Channel: ChannelConfig{
		Type: "email", To: []string{"duty@nb.example.gov.cn", "Li Si <lisi@nb.example.gov.cn>"}, Name: "值班邮箱"}}})
	d := rec.wait(t, 1)[0]
	if !d.OK || d.Channel != "email" || d.ChannelName != "值班邮箱" || d.Attempts != 1 {
		t.Fatalf("delivery %+v", d)
	}
	mails := s.received()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	got := mails[0]
	if got.from != "<yuqing@example.gov.cn>" || len(got.rcpt) != 2 || got.rcpt[1] != "<lisi@nb.example.gov.cn>" {
		t.Fatalf("envelope %+v", got)
	}
	pm, err := mail.ReadMessage(strings.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	for k := range pm.Header {
		if strings.EqualFold(k, "Bcc") {
			t.Fatalf("header injection: %v", pm.Header)
		}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(subject, "宁波市某小区火灾 Bcc: evil@x") || !strings.Contains(subject, "【I级·特别重大】") || strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q", subject)
	}
	for _, h := range []string{"Date", "Message-ID", "From", "To"} {
		if pm.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if _, err := pm.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if ct := pm.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	raw, _ := io.ReadAll(pm.Body)
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"网传：现场浓烟滚滚。\r\n.\r\n第三行以点开头", "案件：case-e1", "查看案件：https://yuqing.example.gov.cn/cases/case-e1", "时间：2025-03-01 10:00:00"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestEmailErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		code     string
		fails    int
		ok       bool
		attempts int
	}{
		{"451 is retried", "451 4.3.0 try again later", 1, true, 2},
		{"550 is final", "550 5.1.1 no such user", 1, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSMTPServer(t)
			s.failRcpt, s.rcptCode = tc.fails, tc.code
			opt, rec := testOptions(t)
			opt.SMTP = SMTPConfig{Addr: s.ln.Addr().String(), From: "yuqing@example.gov.cn"}
			n := start(t, opt)
			n.Send(context.Background(), msg("e2", domain.GradeII), []Target{{Recipient: "p", Channel: ChannelConfig{Type: "email", To: []string{"a@example.gov.cn"}}}})
			d := rec.wait(t, 1)[0]
			if d.OK != tc.ok || d.Attempts != tc.attempts {
				t.Fatalf("%+v", d)
			}
			if !tc.ok && !strings.Contains(d.Error, "550") {
				t.Errorf("error %q", d.Error)
			}
		})
	}
}
