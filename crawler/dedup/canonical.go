package dedup

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// trackingParams are query keys that identify where a click came from, not
// what page it asks for. Keys are compared after percent-decoding and ASCII
// lower-casing. Any key starting with "utm_" is dropped as well.
//
// "from" is special: it is dropped only when its value is not a plain number,
// so share markers such as from=timeline, from=singlemessage or from=wap go
// while paging offsets such as from=20 stay.
var trackingParams = map[string]bool{
	// Cache busters: jQuery's "_" and the common "_t", both timestamps.
	"_": true, "_t": true,
	// Alibaba / Taobao / Bilibili position tracking.
	"spm": true, "spm_id_from": true, "scm": true,
	// Share markers used by Chinese apps and news sites.
	"share_token": true, "share_source": true, "share_medium": true, "share_plat": true,
	"share_tag": true, "share_from": true, "share_session_id": true, "shareid": true,
	"tt_from": true, "vd_source": true, "wfr": true, "ivk_sa": true, "xhsshare": true,
	"isappinstalled": true, "scene": true, "subscene": true, "clicktime": true, "enterid": true,
	"sharer_sharetime": true, "sharer_shareid": true,
	// Baidu Tongji's equivalents of utm_*.
	"hmsr": true, "hmpl": true, "hmcu": true, "hmkw": true, "hmci": true,
	// Advertising click ids and mailing-list tracking.
	"fbclid": true, "gclid": true, "dclid": true, "msclkid": true, "yclid": true, "igshid": true,
	"mc_cid": true, "mc_eid": true, "_hsenc": true, "_hsmi": true,
}

// keepOnly lists, per host, the only query keys that identify a page there;
// every other key is dropped. WeChat article links carry a dozen per-reader
// parameters (chksm, scene, pass_ticket, exportkey, key, uin, …) besides the
// four that name the article.
var keepOnly = map[string]map[string]bool{
	"mp.weixin.qq.com": {"__biz": true, "mid": true, "idx": true, "sn": true},
}

// mobilePrefixes are first host labels of mobile editions; they are folded
// to "www." (see Canonical).
var mobilePrefixes = []string{"m.", "wap.", "3g.", "mobile."}

// publicSuffixes are two-label suffixes under which anyone may register a
// name. A mobile prefix directly in front of one of them (m.com.cn) is a
// registered name in its own right and is not folded. The list is short on
// purpose: it covers what Chinese news hosts use.
var publicSuffixes = map[string]bool{
	"com.cn": true, "net.cn": true, "org.cn": true, "gov.cn": true, "edu.cn": true,
	"ac.cn": true, "mil.cn": true, "com.hk": true, "org.hk": true, "gov.hk": true,
	"com.tw": true, "org.tw": true, "gov.tw": true, "com.mo": true, "co.uk": true,
	"co.jp": true, "com.sg": true, "com.au": true,
}

// Canonical returns the canonical form of an absolute http(s) URL, meant as
// the key of the crawler's seen-set: two spellings of one page give the same
// key. Fetch the URL as found; the key need not be fetchable (see the mobile
// hosts below). The rules:
//
//   - Surrounding white space is trimmed; the scheme and the ASCII letters of
//     the host are lower-cased; a trailing dot on the host is dropped; the
//     port is dropped when it is the scheme's default (80, 443) or empty.
//     IDN hosts are left as they are (Unicode stays Unicode, xn-- stays
//     xn--); user info is kept.
//   - Mobile editions are folded: a host whose first label is m, wap, 3g or
//     mobile becomes www.<rest> when <rest> has at least two labels and is
//     not a public suffix such as com.cn. So m.people.com.cn and
//     wap.people.com.cn give www.people.com.cn, and wap.sina.cn and m.sina.cn
//     both give www.sina.cn (one key for Sina's one mobile site, though no
//     page need live there). Hosts on different registered domains
//     (sina.cn and sina.com.cn) are never merged, and a bare domain is not
//     given a www (example.com and www.example.com stay apart): we do not
//     guess.
//   - The path is re-escaped with upper-case hex, percent-encoded unreserved
//     characters (letters, digits, - . _ ~) are decoded, runs of slashes are
//     collapsed to one, "." and ".." segments are resolved as a browser
//     would, and an empty path becomes "/". Trailing slashes and
//     index pages (/index.html, /index.htm, /index.shtml) are kept as they
//     are: whether /a/ and /a/index.html are one page is the site's business.
//   - The fragment is dropped.
//   - Tracking parameters are dropped: every key starting with utm_, the keys
//     in trackingParams (spm, share_token, shareid, scene, fbclid, gclid,
//     vd_source, wfr, ivk_sa, the cache busters _ and _t, …), and from unless
//     its value is a number. On mp.weixin.qq.com only __biz, mid, idx and sn
//     are kept. Keys and values are re-encoded in one form (url.QueryEscape
//     of the decoded text), empty pairs are dropped, the rest are sorted by
//     key (stable, so repeated keys keep their order), and an empty query
//     loses its "?".
//
// It returns an error for unparseable input, a relative URL, a scheme other
// than http or https, or a URL without a host.
func Canonical(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("dedup: 无法解析网址 (cannot parse URL) %q: %w", raw, err)
	}
	if u.Scheme == "" {
		return "", fmt.Errorf("dedup: 不是绝对网址 (not an absolute URL) %q", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("dedup: 只接受 http/https 网址 (unsupported scheme %q, want http or https) %q", u.Scheme, raw)
	}
	host := strings.TrimSuffix(asciiLower(u.Hostname()), ".")
	if host == "" || u.Opaque != "" {
		return "", fmt.Errorf("dedup: 网址缺少主机名 (URL has no host) %q", raw)
	}
	host = foldMobile(host)
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}

	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	if strings.Contains(host, ":") { // IPv6 literal, perhaps with a zone
		host = "[" + strings.ReplaceAll(host, "%", "%25") + "]"
	}
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(canonicalPath(u.EscapedPath()))
	if q := canonicalQuery(u.RawQuery, host); q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	return b.String(), nil
}

// foldMobile maps m.example.com (and wap., 3g., mobile.) to www.example.com.
func foldMobile(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	for _, p := range mobilePrefixes {
		rest, ok := strings.CutPrefix(host, p)
		if !ok {
			continue
		}
		if strings.Count(rest, ".") >= 1 && !publicSuffixes[rest] &&
			!strings.HasPrefix(rest, ".") && !strings.HasSuffix(rest, ".") {
			return "www." + rest
		}
		return host
	}
	return host
}

// canonicalPath normalises an escaped path: upper-case hex escapes, decoded
// unreserved characters, single slashes, and "/" for the empty path.
func canonicalPath(p string) string {
	var b strings.Builder
	b.Grow(len(p) + 1)
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			d := unhex(p[i+1])<<4 | unhex(p[i+2])
			if isUnreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperHex(p[i+1]))
				b.WriteByte(upperHex(p[i+2]))
			}
			i += 2
		case c == '/' && b.Len() > 0 && strings.HasSuffix(b.String(), "/"):
			// collapse "//" to "/"
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	if out == "" || out[0] != '/' {
		out = "/" + out
	}
	return removeDotSegments(out)
}

// removeDotSegments resolves "." and ".." segments in a path that starts
// with "/", as RFC 3986 §5.2.4 and every browser do.
func removeDotSegments(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last { // "/a/." and "/a/b/.." both name the directory "/a/"
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}

type param struct {
	key, pair string
}

// canonicalQuery drops tracking parameters from a raw query, re-encodes the
// rest in one form and sorts it by key.
func canonicalQuery(raw, host string) string {
	if raw == "" {
		return ""
	}
	keep := keepOnly[host]
	var ps []param
	for field := range strings.SplitSeq(raw, "&") {
		if field == "" {
			continue
		}
		k, v, hasEq := strings.Cut(field, "=")
		dk, dv := unescapeQuery(k), unescapeQuery(v)
		if dk == "" && dv == "" {
			continue
		}
		lk := asciiLower(dk)
		if keep != nil {
			if !keep[lk] {
				continue
			}
		} else if isTracking(lk, dv) {
			continue
		}
		ek := url.QueryEscape(dk)
		pair := ek
		if hasEq {
			pair += "=" + url.QueryEscape(dv)
		}
		ps = append(ps, param{ek, pair})
	}
	slices.SortStableFunc(ps, func(a, b param) int { return strings.Compare(a.key, b.key) })
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.pair)
	}
	return b.String()
}

// isTracking reports whether the lower-cased key (with its decoded value)
// names a tracking parameter.
func isTracking(key, value string) bool {
	if strings.HasPrefix(key, "utm_") || trackingParams[key] {
		return true
	}
	return key == "from" && !isDigits(value)
}

// unescapeQuery decodes a query key or value; text that is not a valid
// escape is kept as it is, so that it is at least re-encoded consistently.
func unescapeQuery(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// isUnreserved reports whether c is an RFC 3986 unreserved character, whose
// percent-encoded and literal forms are equivalent.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
