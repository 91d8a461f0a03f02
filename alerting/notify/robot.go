package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Robot limits and codes.
const (
	// MarkdownLimit is the most bytes of markdown DingTalk and WeCom robots take.
	MarkdownLimit = 4096
	// FeishuTextLimit keeps a Feishu post under its 20 KB request limit.
	FeishuTextLimit = 16000

	dingtalkRateLimit = 130101 // send too fast
	wecomRateLimit    = 45009  // api freq out of limit
	feishuRateLimit   = 11232  // frequency limited
)

// neutraliser replaces what could make a link, an image, an HTML tag, an
// entity or a mention in robot markdown or text by full-width look-alikes,
// and defangs bare URLs ("://", "www.") so that no client autolinks them:
// the case URL, added by the renderer, is the only link in a post.
var neutraliser = strings.NewReplacer(
	"[", "［", "]", "］", "(", "（", ")", "）",
	"<", "＜", ">", "＞", "@", "＠", "&", "＆",
	"://", "：//", "www.", "www．", "WWW.", "WWW．",
)

// plain neutralises untrusted text: markup out, control characters out
// (newlines kept, as "\n").
func plain(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r), r == '\u2028', r == '\u2029', r == '\ufeff':
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "�"))
	return neutraliser.Replace(s)
}

// line neutralises untrusted text that must stay on one line (titles).
func line(s string) string {
	return strings.Join(strings.Fields(plain(s)), " ")
}

// linkEscaper percent-encodes what could end a markdown link target early.
var linkEscaper = strings.NewReplacer(
	"(", "%28", ")", "%29", "[", "%5B", "]", "%5D", "<", "%3C", ">", "%3E",
	`"`, "%22", "'", "%27", " ", "%20", "`", "%60", "\\", "%5C",
)

// safeLink gives an http(s) URL safe to put in a markdown link or in plain
// text, without credentials, or "" if u is not one.
func safeLink(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" ||
		strings.ContainsAny(p.Host, " \t\r\n<>()\"'`\\@") {
		return ""
	}
	p.User = nil
	s := p.String()
	prefix := p.Scheme + "://" + p.Host
	return prefix + linkEscaper.Replace(strings.TrimPrefix(s, prefix))
}

var kindZh = map[string]string{
	"opened":    "新案件",
	"remind":    "时限提醒",
	"overdue":   "已超期",
	"escalated": "已升级",
	"regraded":  "已调级",
	"assigned":  "已分派",
	"closed":    "已办结",
	"reopened":  "已重开",
}

// label is the grade and kind of a message, e.g. "【II级·重大】〔已超期〕".
func label(m Message) string {
	var b strings.Builder
	if g := m.Grade.String(); g != "" {
		b.WriteString("【" + g + "级·" + m.Grade.Zh() + "】")
	}
	if m.Kind != "" {
		k, ok := kindZh[m.Kind]
		if !ok {
			k = line(m.Kind)
		}
		b.WriteString("〔" + k + "〕")
	}
	return b.String()
}

func title(m Message) string {
	t := line(m.Title)
	if t == "" {
		t = "舆情通知"
	}
	return cutBytes(t, 300)
}

// layout is how one robot format writes a post.
type layout struct {
	header func(n int) string       // first: "舆情通知", the usual robot keyword
	head   func(m Message) string   // a message's first line
	body   func(text string) string // a message's (neutralised) text
	link   func(u string) string    // the case link ("" when there is none)
	join   string                   // between a message's parts
	sep    string                   // between messages
	top    string                   // after the header
}

var markdownLayout = layout{
	header: func(n int) string { return "### " + header(n) },
	head:   func(m Message) string { return "#### " + label(m) + title(m) },
	body: func(t string) string {
		var ps []string
		for p := range strings.SplitSeq(t, "\n") {
			if p = strings.TrimSpace(p); p != "" {
				ps = append(ps, p)
			}
		}
		return strings.Join(ps, "\n\n")
	},
	link: func(u string) string { return "[查看案件](" + u + ")" },
	join: "\n\n",
	sep:  "\n\n---\n\n",
	top:  "\n\n",
}

var textLayout = layout{
	header: header,
	head:   func(m Message) string { return label(m) + title(m) },
	body:   func(t string) string { return strings.TrimSpace(t) },
	link:   func(u string) string { return "查看案件 " + u },
	join:   "\n",
	sep:    "\n\n",
	top:    "\n\n",
}

// render writes msgs in a layout within limit bytes: the texts are cut
// (each with "…", the room shared fairly) before the titles and links.
func render(msgs []Message, l layout, limit int) string {
	heads := make([]string, len(msgs))
	texts := make([]string, len(msgs))
	links := make([]string, len(msgs))
	fixed := len(l.header(len(msgs))) + len(l.top)
	for i, m := range msgs {
		heads[i] = l.head(m)
		texts[i] = l.body(plain(m.Text))
		if u := safeLink(m.URL); u != "" {
			links[i] = l.link(u)
		}
		fixed += len(heads[i]) + 2*len(l.join) + len(links[i])
		if i > 0 {
			fixed += len(l.sep)
		}
	}
	total := fixed
	for _, t := range texts {
		total += len(t)
	}
	if total > limit {
		room := max(limit-fixed, 0)
		order := make([]int, len(texts))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return len(texts[a]) - len(texts[b]) })
		for k, i := range order {
			share := room / (len(order) - k)
			texts[i] = cutBytes(texts[i], share)
			room -= len(texts[i])
		}
	}
	var b strings.Builder
	b.WriteString(l.header(len(msgs)))
	b.WriteString(l.top)
	for i := range msgs {
		if i > 0 {
			b.WriteString(l.sep)
		}
		b.WriteString(heads[i])
		for _, part := range []string{texts[i], links[i]} {
			if part != "" {
				b.WriteString(l.join)
				b.WriteString(part)
			}
		}
	}
	return cutBytes(b.String(), limit)
}

// header opens every post; it carries "舆情", the keyword to set in a
// DingTalk or Feishu robot's keyword security setting.
func header(n int) string {
	if n == 1 {
		return "舆情通知"
	}
	return "舆情通知（" + strconv.Itoa(n) + "条）"
}

// postTitle is the short title of a post (a robot's notification preview).
func postTitle(msgs []Message) string {
	if len(msgs) == 1 {
		return cutBytes(label(msgs[0])+title(msgs[0]), 200)
	}
	return cutBytes(fmt.Sprintf("舆情通知（%d条）%s", len(msgs), title(msgs[0])), 200)
}

// robotResult classifies a robot's answer: the rate-limit code (whatever
// the HTTP status), 429 and 5xx are recoverable; other statuses, other
// non-zero codes and unreadable answers are final.
func robotResult(name string, r *response, code *int, msg string, decodeErr error, rateLimit int) error {
	if decodeErr == nil && code != nil && *code == rateLimit {
		return &deliveryError{err: fmt.Errorf("%s: rate limited: code %d: %s", name, *code, snippet([]byte(msg))),
			recoverable: true, retryAfter: parseRetryAfter(r.header.Get("Retry-After"))}
	}
	if err := r.statusError(name); err != nil {
		return err
	}
	if decodeErr != nil || code == nil {
		return permanent(fmt.Errorf("%s: unexpected answer: %s", name, snippet(r.body)))
	}
	if *code != 0 {
		return permanent(fmt.Errorf("%s: code %d: %s", name, *code, snippet([]byte(msg))))
	}
	return nil
}

// dingtalk is a DingTalk custom group robot (markdown message).
type dingtalk struct {
	httpSender
	secret string
	now    func() time.Time
}

// DingTalkSign gives the sign of a DingTalk robot request at timestamp ts
// (unix milliseconds): base64(HMAC-SHA256(key=secret, ts + "\n" + secret)),
// to be URL-encoded in the query.
func DingTalkSign(secret, ts string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (d *dingtalk) send(ctx context.Context, msgs []Message) error {
	var p struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
	}
	p.MsgType = "markdown"
	p.Markdown.Title = postTitle(msgs)
	p.Markdown.Text = render(msgs, markdownLayout, MarkdownLimit)
	body, err := json.Marshal(p)
	if err != nil {
		return permanent(fmt.Errorf("dingtalk: %w", err))
	}
	u := d.url
	if d.secret != "" {
		ts := strconv.FormatInt(d.now().UnixMilli(), 10)
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "timestamp=" + ts + "&sign=" + url.QueryEscape(DingTalkSign(d.secret, ts))
	}
	r, err := d.post(ctx, "dingtalk", u, body, nil)
	if err != nil {
		return err
	}
	var res struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	derr := json.Unmarshal(r.body, &res)
	return robotResult("dingtalk", r, res.ErrCode, res.ErrMsg, derr, dingtalkRateLimit)
}

// wecom is a WeCom (企业微信) group robot (markdown message); its key is in
// the URL, it has no signing.
type wecom struct{ httpSender }

func (w *wecom) send(ctx context.Context, msgs []Message) error {
	var p struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	p.MsgType = "markdown"
	p.Markdown.Content = render(msgs, markdownLayout, MarkdownLimit)
	body, err := json.Marshal(p)
	if err != nil {
		return permanent(fmt.Errorf("wecom: %w", err))
	}
	r, err := w.post(ctx, "wecom", w.url, body, nil)
	if err != nil {
		return err
	}
	var res struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	derr := json.Unmarshal(r.body, &res)
	return robotResult("wecom", r, res.ErrCode, res.ErrMsg, derr, wecomRateLimit)
}

// feishu is a Feishu (飞书) custom group robot (text message: no markdown to
// inject, and the client links the case URL).
type feishu struct {
	httpSender
	secret string
	now    func() time.Time
}

// FeishuSign gives the sign of a Feishu robot request at timestamp ts (unix
// seconds): base64(HMAC-SHA256(key=ts + "\n" + secret, message="")).
func FeishuSign(secret, ts string) string {
	m := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (f *feishu) send(ctx context.Context, msgs []Message) error {
	type content struct {
		Text string `json:"text"`
	}
	p := struct {
		Timestamp string  `json:"timestamp,omitempty"`
		Sign      string  `json:"sign,omitempty"`
		MsgType   string  `json:"msg_type"`
		Content   content `json:"content"`
	}{MsgType: "text", Content: content{Text: render(msgs, textLayout, FeishuTextLimit)}}
	if f.secret != "" {
		p.Timestamp = strconv.FormatInt(f.now().Unix(), 10)
		p.Sign = FeishuSign(f.secret, p.Timestamp)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return permanent(fmt.Errorf("feishu: %w", err))
	}
	r, err := f.post(ctx, "feishu", f.url, body, nil)
	if err != nil {
		return err
	}
	var res struct {
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	derr := json.Unmarshal(r.body, &res)
	code, msg := res.Code, res.Msg
	if code == nil {
		code, msg = res.StatusCode, res.StatusMessage
	}
	return robotResult("feishu", r, code, msg, derr, feishuRateLimit)
}
