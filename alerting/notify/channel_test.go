package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
)

func TestWebhookSignature(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1740000000, 0)}
	s := newServer(t, reply{200, "ok"})
	opt, rec := testOptions(t)
	opt.Now = clock.Now
	n := start(t, opt)

	m := msg("w1", domain.GradeII)
	m.Text = "含 \"引号\"、<script>alert(1)</script> 与换行\n第二行"
	n.Send(context.Background(), m, []Target{
		{Recipient: "zj", Channel: ChannelConfig{Type: "webhook", URL: s.URL + "/hook", Secret: "s3cret"}},
	})
	ds := rec.wait(t, 1)
	if !ds[0].OK || ds[0].Attempts != 1 || ds[0].Channel != "webhook" || ds[0].Recipient != "zj" {
		t.Fatalf("delivery %+v", ds[0])
	}
	req := s.requests()[0]

	// As a receiver would: HMAC-SHA256(secret, timestamp + "." + body), hex, "sha256=" prefix.
	ts := req.header.Get("X-Yuqing-Timestamp")
	if ts != "1740000000" {
		t.Fatalf("timestamp %q", ts)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(ts + "." + string(req.body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := req.header.Get("X-Yuqing-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if ct := req.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}

	// VerifyWebhook accepts it, and refuses a changed body, a wrong key, an old request.
	for _, tc := range []struct {
		name   string
		secret string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"as sent", "s3cret", req.body, clock.Now(), true},
		{"body changed", "s3cret", append(append([]byte(nil), req.body[:len(req.body)-1]...), ' ', '}'), clock.Now(), false},
		{"wrong key", "other", req.body, clock.Now(), false},
		{"replayed an hour later", "s3cret", req.body, clock.Now().Add(time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyWebhook(tc.secret, req.header, tc.body, tc.now, 5*time.Minute)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifyWebhook: %v, want ok=%v", err, tc.ok)
			}
		})
	}

	var p WebhookPayload
	if err := json.Unmarshal(req.body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 1 {
		t.Fatalf("payload %+v", p)
	}
	got := p.Messages[0]
	if got.Key != "w1" || got.CaseID != "case-w1" || got.Grade != "II" || got.GradeName != "重大" ||
		got.Kind != "remind" || got.Text != m.Text || got.URL != m.URL || !got.At.Equal(m.At) {
		t.Fatalf("message %+v", got)
	}
	if strings.ContainsAny(string(req.body), "<>") {
		t.Errorf("raw < or > in the JSON body: %s", req.body)
	}
}

func TestWebhookWithoutSecretHasNoSignature(t *testing.T) {
	s := newServer(t, reply{204, ""})
	opt, rec := testOptions(t)
	n := start(t, opt)
	n.Send(context.Background(), msg("w2", domain.GradeI), []Target{target("zj", "webhook", s.URL)})
	if d := rec.wait(t, 1)[0]; !d.OK {
		t.Fatalf("%+v", d)
	}
	h := s.requests()[0].header
	if h.Get("X-Yuqing-Signature") != "" || h.Get("X-Yuqing-Timestamp") == "" {
		t.Fatalf("headers %v", h)
	}
}

func TestDingTalkSigned(t *testing.T) {
	clock := &fakeClock{t: time.UnixMilli(1740000000123)}
	s := newServer(t, reply{200, `{"errcode":0,"errmsg":"ok"}`})
	opt, rec := testOptions(t)
	opt.Now = clock.Now
	n := start(t, opt)
	const secret = "SEC0123456789abcdef"
	n.Send(context.Background(), msg("d1", domain.GradeI), []Target{
		{Recipient: "nb", Channel: ChannelConfig{Type: "dingtalk", URL: s.URL + "/robot/send?access_token=TOKEN", Secret: secret}},
	})
	if d := rec.wait(t, 1)[0]; !d.OK || d.Channel != "dingtalk" {
		t.Fatalf("%+v", d)
	}
	req := s.requests()[0]
	if req.query.Get("access_token") != "TOKEN" {
		t.Errorf("access token lost: %v", req.query)
	}
	ts := req.query.Get("timestamp")
	if ts != "1740000000123" {
		t.Errorf("timestamp %q, want milliseconds", ts)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	if got, want := req.query.Get("sign"), base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("sign %q, want %q", got, want)
	}
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
	}
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.MsgType != "markdown" || !strings.Contains(body.Markdown.Title, "时限提醒 d1") ||
		!strings.Contains(body.Markdown.Text, "[查看案件](https://yuqing.example.gov.cn/cases/case-d1)") ||
		!strings.Contains(body.Markdown.Text, "【I级·特别重大】") {
		t.Fatalf("body %s", req.body)
	}
}

func TestWeComBody(t *testing.T) {
	s := newServer(t, reply{200, `{"errcode":0,"errmsg":"ok"}`})
	opt, rec := testOptions(t)
	n := start(t, opt)
	n.Send(context.Background(), msg("c1", domain.GradeI), []Target{target("nb", "wecom", s.URL+"/cgi-bin/webhook/send?key=K")})
	if d := rec.wait(t, 1)[0]; !d.OK {
		t.Fatalf("%+v", d)
	}
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	req := s.requests()[0]
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.MsgType != "markdown" || !strings.Contains(body.Markdown.Content, "[查看案件](https://yuqing.example.gov.cn/cases/case-c1)") {
		t.Fatalf("body %s", req.body)
	}
}

func TestFeishu(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   string
		ok       bool
		attempts int
	}{
		{"code 0", `{"code":0,"msg":"success","data":{}}`, true, 1},
		{"old StatusCode 0", `{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`, true, 1},
		{"sign mismatch is final", `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`, false, 1},
		{"rate limit is retried", `{"code":11232,"msg":"frequency limited"}`, false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Unix(1740000000, 0)}
			s := newServer(t, reply{200, tc.answer})
			opt, rec := testOptions(t)
			opt.Now = clock.Now
			opt.Retries = 2
			n := start(t, opt)
			const secret = "fs-secret"
			n.Send(context.Background(), msg("f1", domain.GradeII), []Target{
				{Recipient: "nb", Channel: ChannelConfig{Type: "feishu", URL: s.URL + "/open-apis/bot/v2/hook/HOOKID", Secret: secret}},
			})
			d := rec.wait(t, 1)[0]
			if d.OK != tc.ok || d.Attempts != tc.attempts {
				t.Fatalf("delivery %+v", d)
			}
			req := s.requests()[0]
			var body struct {
				Timestamp string `json:"timestamp"`
				Sign      string `json:"sign"`
				MsgType   string `json:"msg_type"`
				Content   struct {
					Text string `json:"text"`
				} `json:"content"`
			}
			if err := json.Unmarshal(req.body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Timestamp != "1740000000" {
				t.Errorf("timestamp %q, want seconds", body.Timestamp)
			}
			// Feishu: the key is timestamp + "\n" + secret, the message is empty.
			mac := hmac.New(sha256.New, []byte(body.Timestamp+"\n"+secret))
			if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); body.Sign != want {
				t.Errorf("sign %q, want %q", body.Sign, want)
			}
			if body.MsgType != "text" || !strings.Contains(body.Content.Text, "查看案件 https://yuqing.example.gov.cn/cases/case-f1") {
				t.Errorf("body %s", req.body)
			}
		})
	}
}

// robotText extracts what a robot would render from a request body.
func robotText(t *testing.T, typ string, body []byte) string {
	t.Helper()
	var b struct {
		Markdown struct{ Title, Text, Content string } `json:"markdown"`
		Content  struct{ Text string }                 `json:"content"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("%s body %s: %v", typ, body, err)
	}
	switch typ {
	case "dingtalk":
		return b.Markdown.Title + "\n" + b.Markdown.Text
	case "wecom":
		return b.Markdown.Content
	default:
		return b.Content.Text
	}
}

func TestMarkdownInjection(t *testing.T) {
	const evil = `[点我](http://evil) @all <at user_id="all">所有人</at> <@zhangsan> ![img](http://evil/x.png) <a href="http://evil">x</a> &#91;y&#93;(http://evil) www.evil.cn`
	for _, typ := range []string{"dingtalk", "wecom", "feishu"} {
		t.Run(typ, func(t *testing.T) {
			s := newServer(t)
			opt, rec := testOptions(t)
			n := start(t, opt)
			m := msg("x1", domain.GradeI)
			m.Title = "标题[链接](http://evil)\n@all"
			m.Text = evil
			m.Kind = "<at user_id=\"all\">"
			n.Send(context.Background(), m, []Target{target("nb", typ, s.URL)})
			if d := rec.wait(t, 1)[0]; !d.OK {
				t.Fatalf("%+v", d)
			}
			got := robotText(t, typ, s.requests()[0].body)
			for _, bad := range []string{"[点我]", "](http://evil", "http://evil", "@all", "@zhangsan", "<at", "<a ", "&#91;", "![", "\n@", "www.evil"} {
				if strings.Contains(got, bad) {
					t.Errorf("rendered text contains %q:\n%s", bad, got)
				}
			}
			if strings.ContainsAny(got, "<>@") {
				t.Errorf("rendered text has a raw <, > or @:\n%s", got)
			}
			if c := strings.Count(got, "://"); c != 1 {
				t.Errorf("%d URLs, want only the case link:\n%s", c, got)
			}
			if typ != "feishu" {
				if c := strings.Count(got, "]("); c != 1 {
					t.Errorf("%d markdown links, want 1:\n%s", c, got)
				}
			}
			if !strings.Contains(got, "舆情通知") || !strings.Contains(got, "点我") || !strings.Contains(got, "https://yuqing.example.gov.cn/cases/case-x1") {
				t.Errorf("text or case link lost:\n%s", got)
			}
		})
	}
}

func TestSafeLink(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://yuqing.example.gov.cn/cases/c1", "https://yuqing.example.gov.cn/cases/c1"},
		{"http://127.0.0.1:8080/cases/a?b=c#d", "http://127.0.0.1:8080/cases/a?b=c#d"},
		{"https://x.cn/cases/a)(b) [c]", "https://x.cn/cases/a%29%28b%29%20%5Bc%5D"},
		{"https://user:pw@x.cn/c", "https://x.cn/c"},
		{"javascript:alert(1)", ""},
		{"dingtalk://dingtalkclient/page/link?url=x", ""},
		{"/cases/c1", ""},
		{"", ""},
	} {
		if got := safeLink(tc.in); got != tc.want {
			t.Errorf("safeLink(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	long := strings.Repeat("很长的帖子正文。", 400) // 9600 bytes
	for _, tc := range []struct {
		name  string
		n     int
		l     layout
		limit int
	}{
		{"one long markdown", 1, markdownLayout, MarkdownLimit},
		{"20 long markdown", 20, markdownLayout, MarkdownLimit},
		{"20 long feishu text", 20, textLayout, FeishuTextLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs []Message
			for i := range tc.n {
				m := msg("k"+strconv.Itoa(i), domain.GradeIV)
				m.Text = long
				msgs = append(msgs, m)
			}
			out := render(msgs, tc.l, tc.limit)
			if len(out) > tc.limit {
				t.Fatalf("%d bytes, limit %d", len(out), tc.limit)
			}
			if !strings.Contains(out, "…") {
				t.Errorf("no cut mark")
			}
			if c := strings.Count(out, "https://yuqing.example.gov.cn/cases/"); c != tc.n {
				t.Errorf("%d case links, want %d", c, tc.n)
			}
			if !strings.Contains(out, "很长的帖子") {
				t.Errorf("no text left")
			}
		})
	}
	// Short messages are not cut.
	out := render([]Message{msg("a", domain.GradeIII), msg("b", 0)}, markdownLayout, MarkdownLimit)
	if strings.Contains(out, "…") || strings.Count(out, "请在时限内回应。") != 2 || !strings.Contains(out, "舆情通知（2条）") {
		t.Errorf("render: %s", out)
	}
}

func TestQuietPeriod(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2025, 3, d, h, m, 0, 0, China) }
	for _, tc := range []struct {
		name     string
		q        QuietHours
		t        time.Time
		contains bool
		end      time.Time
	}{
		{"23:00 in 22-07", QuietHours{"22:00", "07:00"}, at(1, 23, 0), true, at(2, 7, 0)},
		{"03:00 in 22-07", QuietHours{"22:00", "07:00"}, at(2, 3, 0), true, at(2, 7, 0)},
		{"07:00 out of 22-07", QuietHours{"22:00", "07:00"}, at(2, 7, 0), false, at(3, 7, 0)},
		{"21:59 out of 22-07", QuietHours{"22:00", "07:00"}, at(1, 21, 59), false, at(2, 7, 0)},
		{"22:00 in 22-07", QuietHours{"22:00", "07:00"}, at(1, 22, 0), true, at(2, 7, 0)},
		{"13:00 in 12-14", QuietHours{"12:00", "14:00"}, at(1, 13, 0), true, at(1, 14, 0)},
		{"15:00 out of 12-14", QuietHours{"12:00", "14:00"}, at(1, 15, 0), false, at(2, 14, 0)},
		{"UTC 15:30 is 23:30 China", QuietHours{"22:00", "07:00"}, time.Date(2025, 3, 1, 15, 30, 0, 0, time.UTC), true, at(2, 7, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.q.parse()
			if err != nil {
				t.Fatal(err)
			}
			if got := p.contains(tc.t); got != tc.contains {
				t.Errorf("contains = %v", got)
			}
			if got := p.end(tc.t); !got.Equal(tc.end) {
				t.Errorf("end = %v, want %v", got, tc.end)
			}
		})
	}
	for _, q := range []QuietHours{{"22:00", "22:00"}, {"25:00", "07:00"}, {"", "07:00"}, {"22:00", "7"}} {
		if q.Validate() == nil {
			t.Errorf("%+v accepted", q)
		}
	}
}
