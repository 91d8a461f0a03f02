package demosite

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// token is the bearer token /api/posts wants.
const token = "demo-token"

const cursorPrefix = "lj-posts:"

// The posts are one per news article, in the same order: a user quotes the
// article's first sentence and adds a remark, 9 minutes before the article
// appeared.
type apiPost struct {
	Mid       string  `json:"mid"`
	Content   string  `json:"content"`
	CreatedAt int64   `json:"created_at"`
	User      apiUser `json:"user"`
	URL       string  `json:"url"`
}

type apiUser struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

type apiPage struct {
	Data struct {
		List []apiPost `json:"list"`
		Next *string   `json:"next"`
	} `json:"data"`
}

func postMid(i int) string { return "4987312" + newsEntries[i].id }

// postIndex is the index of the post with that mid, or -1.
func postIndex(mid string) int {
	if id, ok := strings.CutPrefix(mid, "4987312"); ok {
		if e := entryByID[id]; e != nil && e.section == secNews {
			return e.slot
		}
	}
	return -1
}

func (v *view) postTime(i int) time.Time { return v.time(newsEntries[i]).Add(-9 * time.Minute) }

func (v *view) post(i int) apiPost {
	u := socialUsers[i%len(socialUsers)]
	return apiPost{
		Mid:       postMid(i),
		Content:   firstSentence(newsEntries[i]) + " " + remarks[i%len(remarks)],
		CreatedAt: v.postTime(i).UnixMilli(),
		User:      apiUser{Name: u.name, Location: u.location},
		URL:       v.url("/posts/" + postMid(i) + ".html"),
	}
}

func encodeCursor(off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(off)))
}

// decodeCursor is the offset a cursor stands for; "" is the first page.
func decodeCursor(c string) (int, bool) {
	if c == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, false
	}
	off, err := strconv.Atoi(s)
	if err != nil || off <= 0 || off >= len(newsEntries) || s != strconv.Itoa(off) {
		return 0, false
	}
	return off, true
}

func authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(token)) == 1
}

func (v *view) posts(w http.ResponseWriter, r *http.Request) {
	if !authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="demo"`)
		jsonError(w, http.StatusUnauthorized, "未授权：需要有效的访问令牌（Authorization: Bearer）")
		return
	}
	off, ok := decodeCursor(r.URL.Query().Get("cursor"))
	if !ok {
		jsonError(w, http.StatusBadRequest, "cursor 无效")
		return
	}
	var page apiPage
	page.Data.List = []apiPost{}
	end := min(off+postsPerAPI, len(newsEntries))
	for i := off; i < end; i++ {
		page.Data.List = append(page.Data.List, v.post(i))
	}
	if end < len(newsEntries) {
		next := encodeCursor(end)
		page.Data.Next = &next
	}
	writeJSON(w, http.StatusOK, page)
}

func (v *view) postPage(i int) string {
	p := v.post(i)
	e := newsEntries[i]
	var b strings.Builder
	newsStyle.open(&b, p.User.Name+"的动态_"+siteName, p.Content, "")
	fmt.Fprintf(&b, "<div class=\"main\">\n<div class=\"post\" id=\"post-%s\">\n<div class=\"post-user\">%s <span class=\"location\">%s</span></div>\n",
		esc(p.Mid), esc(p.User.Name), esc(p.User.Location))
	fmt.Fprintf(&b, "<p class=\"post-content\">%s</p>\n<div class=\"post-time\">%s</div>\n", esc(p.Content), v.postTime(i).Format(timeLayout))
	fmt.Fprintf(&b, "<div class=\"post-ref\">相关报道：<a href=\"%s\">%s</a></div>\n</div>\n</div>\n", esc(v.path(e)), esc(e.title))
	newsStyle.close(&b)
	return b.String()
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = status, msg
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(out, '\n'))
}
