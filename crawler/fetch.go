package crawler

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gocolly/colly/v2"
)

// DefaultUserAgent names the crawler and says where its operator can be
// reached; a configuration sets its own.
const DefaultUserAgent = "yuqing-crawler/1.0 (+public-opinion monitoring; contact: the operating office)"

// Page is one fetched response.
type Page struct {
	URL          string // after redirects
	Status       int
	Body         []byte // raw bytes, in whatever encoding the server sent
	ContentType  string // as the server sent it (charset included)
	ETag         string
	LastModified string
	NotModified  bool // 304: the conditional request found nothing new
}

// Request is one page to get. Zero limits take the Fetcher's.
type Request struct {
	URL          string
	Validators   Validators // make it conditional
	Header       http.Header
	MaxBytes     int64
	Timeout      time.Duration
	IgnoreRobots bool // only for a source whose owner agreed (licensed APIs)
}

// Validators make a request conditional (ETag / Last-Modified).
type Validators struct {
	ETag         string
	LastModified string
}

// StatusError is an HTTP answer other than 2xx or 304.
type StatusError struct {
	URL        string
	Status     int
	RetryAfter time.Duration // from Retry-After, when the server sent one
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf("（Retry-After %s）", e.RetryAfter)
	}
	return s
}

// Errors a fetch can end with, besides network errors and *StatusError.
var (
	ErrTooLarge       = errors.New("页面超过大小上限 (page over the size limit)")
	ErrPrivateAddress = errors.New("目标地址属于内网或本机，未在允许列表中 (private address not allowed)")
	ErrTooManyRedirs  = errors.New("重定向次数过多 (too many redirects)")
	ErrRobots         = errors.New("robots.txt 不允许抓取 (disallowed by robots.txt)")
)

// FetchOptions configure a Fetcher; zero values take the defaults.
type FetchOptions struct {
	UserAgent    string
	Timeout      time.Duration // per request; default 30s
	MaxBytes     int64         // per page; default 10 MiB
	MaxRedirects int           // default 5
	Retries      int           // after the first attempt, on 429, 5xx and network errors; default 3
	Backoff      time.Duration // first retry delay, doubling; default 1s
	MaxRetryWait time.Duration // longest Retry-After honoured before giving up; default 5m
	// AllowPrivate lists hosts (exact names) and CIDR prefixes the crawler
	// may reach although they are private, loopback or link-local.
	AllowPrivate []string
	IgnoreRobots bool // for sources whose owner has agreed (licensed APIs)
}

func (o FetchOptions) withDefaults() FetchOptions {
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 10 << 20
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = 5 * time.Minute
	}
	return o
}

// HostLimit is the politeness rule for one host pattern (a colly LimitRule):
// at most Parallelism requests at once, Delay after each.
type HostLimit struct {
	Glob        string
	Parallelism int
	Delay       time.Duration
}

// Fetcher gets pages politely: robots.txt, per-host concurrency and delay,
// Retry-After on 429/503, exponential backoff, conditional requests, size,
// time and redirect limits, and no private addresses unless allowed. It is
// built on one colly collector whose HTTP backend, limit rules and robots.txt
// cache every request shares; it is safe for concurrent use.
type Fetcher struct {
	opt   FetchOptions
	base  *colly.Collector
	allow allowList
	sleep func(ctx context.Context, d time.Duration) error // tests shorten it
}

// NewFetcher builds a Fetcher; limits apply to the hosts they match, and a
// default of 2 requests at once with a 1s delay applies to every other host.
func NewFetcher(opt FetchOptions, limits ...HostLimit) (*Fetcher, error) {
	opt = opt.withDefaults()
	allow, err := parseAllowList(opt.AllowPrivate)
	if err != nil {
		return nil, err
	}
	f := &Fetcher{opt: opt, allow: allow, sleep: sleepCtx}
	c := colly.NewCollector(
		colly.UserAgent(opt.UserAgent),
		colly.MaxBodySize(int(opt.MaxBytes+1)), // one byte more tells a page over the limit
		colly.AllowURLRevisit(),                // the crawler keeps its own record of what it saw
	)
	c.IgnoreRobotsTxt = opt.IgnoreRobots
	// Each request carries its own deadline (its source's timeout); this
	// is only the backstop for colly's robots.txt requests, which carry none.
	c.SetRequestTimeout(opt.Timeout)
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	c.WithTransport(gunzipCapped{max: opt.MaxBytes + 1, next: &http.Transport{
		Proxy:               nil, // intranets: no proxy from the environment by surprise
		DialContext:         f.safeDial(dialer),
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}})
	c.SetRedirectHandler(func(req *http.Request, via []*http.Request) error {
		if len(via) > opt.MaxRedirects {
			return fmt.Errorf("%w: 超过 %d 次，最后到 %s", ErrTooManyRedirs, opt.MaxRedirects, req.URL)
		}
		return nil
	})
	// colly matches the first rule whose glob fits the host; a rule's
	// parallelism and delay are shared by every host it matches, so the
	// catch-all "*" is deliberately conservative.
	rules := make([]*colly.LimitRule, 0, len(limits)+1)
	catchAll := false
	for _, l := range limits {
		rules = append(rules, &colly.LimitRule{DomainGlob: l.Glob, Parallelism: max(1, l.Parallelism), Delay: l.Delay})
		catchAll = catchAll || l.Glob == "*"
	}
	if !catchAll {
		rules = append(rules, &colly.LimitRule{DomainGlob: "*", Parallelism: 2, Delay: time.Second})
	}
	if err := c.Limits(rules); err != nil {
		return nil, fmt.Errorf("抓取限速规则: %w", err)
	}
	f.base = c
	return f, nil
}

// Get fetches url, retrying 429, 5xx and network errors with backoff (and
// the server's Retry-After when it gives one). v makes the request
// conditional; a 304 answer is a Page with NotModified set.
func (f *Fetcher) Get(ctx context.Context, req Request) (*Page, error) {
	if req.MaxBytes <= 0 {
		req.MaxBytes = f.opt.MaxBytes
	}
	if req.Timeout <= 0 {
		req.Timeout = f.opt.Timeout
	}
	var last error
	for attempt := 0; attempt <= f.opt.Retries; attempt++ {
		p, err := f.once(ctx, req)
		if err == nil {
			return p, nil
		}
		last = err
		wait, retry := f.retryable(err, attempt)
		if !retry || attempt == f.opt.Retries {
			break
		}
		if err := f.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	return nil, last
}

// retryable says whether err is worth another attempt, and after how long.
func (f *Fetcher) retryable(err error, attempt int) (time.Duration, bool) {
	backoff := f.opt.Backoff << attempt
	backoff += time.Duration(rand.Int64N(int64(backoff)/4 + 1)) // jitter
	var se *StatusError
	switch {
	case errors.As(err, &se):
		switch {
		case se.Status < 300:
			return 0, false // an answer without content (204, 206 …): asking again gives the same
		case se.Status == http.StatusTooManyRequests || se.Status == http.StatusServiceUnavailable:
			if se.RetryAfter > f.opt.MaxRetryWait {
				return 0, false // the server asks for longer than we wait in one run
			}
			if se.RetryAfter > 0 {
				return se.RetryAfter, true
			}
			return backoff, true
		case se.Status >= 500:
			return backoff, true
		}
		return 0, false
	case isNoSuchHost(err):
		return 0, false // a name that does not resolve will not resolve in a second either
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrPrivateAddress), errors.Is(err, ErrTooManyRedirs),
		errors.Is(err, ErrRobots), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 0, false
	}
	return backoff, true // network errors and timeouts of one request
}

func (f *Fetcher) once(ctx context.Context, req Request) (*Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	url, v, header := req.URL, req.Validators, req.Header
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	c := f.base.Clone()
	c.Context = ctx
	c.MaxBodySize = int(req.MaxBytes + 1) // one byte more tells a page over the limit
	c.IgnoreRobotsTxt = f.opt.IgnoreRobots || req.IgnoreRobots
	var (
		page     = &Page{URL: url}
		fetchErr error
	)
	c.OnResponseHeaders(func(r *colly.Response) {
		// Keep the declared type, then hide its charset from colly, which
		// would otherwise convert the body by a declaration that may lie;
		// decoding trusts the bytes (extract.Decode).
		ct := r.Headers.Get("Content-Type")
		page.ContentType = ct
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			r.Headers.Set("Content-Type", mt)
		}
	})
	c.OnResponse(func(r *colly.Response) {
		page.URL = r.Request.URL.String()
		page.Status = r.StatusCode
		page.Body = r.Body
		page.ETag = r.Headers.Get("ETag")
		page.LastModified = r.Headers.Get("Last-Modified")
	})
	c.OnError(func(r *colly.Response, err error) {
		if r != nil && r.StatusCode == http.StatusNotModified {
			page.Status, page.NotModified = http.StatusNotModified, true
			return
		}
		if r != nil && r.StatusCode != 0 {
			se := &StatusError{URL: r.Request.URL.String(), Status: r.StatusCode}
			if r.Headers != nil {
				se.RetryAfter = parseRetryAfter(r.Headers.Get("Retry-After"), time.Now())
			}
			fetchErr = se
			return
		}
		fetchErr = err
	})
	hdr := http.Header{}
	for k, vs := range header {
		hdr[k] = append([]string(nil), vs...)
	}
	if v.ETag != "" {
		hdr.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		hdr.Set("If-Modified-Since", v.LastModified)
	}
	if hdr.Get("Accept") == "" {
		hdr.Set("Accept", "text/html,application/xhtml+xml,application/xml,application/json;q=0.9,*/*;q=0.8")
	}
	err := c.Request(http.MethodGet, url, nil, nil, hdr)
	if page.NotModified {
		return page, nil
	}
	if fetchErr != nil {
		err = fetchErr
	}
	if err != nil {
		return nil, f.explain(url, req.Timeout, err)
	}
	if int64(len(page.Body)) > req.MaxBytes {
		return nil, fmt.Errorf("%s: %w（上限 %d 字节）", url, ErrTooLarge, req.MaxBytes)
	}
	return page, nil
}

// explain names a fetch failure in words an operator understands.
func (f *Fetcher) explain(url string, timeout time.Duration, err error) error {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, colly.ErrRobotsTxtBlocked):
		return fmt.Errorf("%s: %w", url, ErrRobots)
	case errors.Is(err, ErrPrivateAddress), errors.Is(err, ErrTooManyRedirs):
		return fmt.Errorf("%s: %w", url, unwrapURLError(err))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("%s: 请求超时（%s）: %w", url, timeout, err)
	}
	return fmt.Errorf("%s: %w", url, err)
}

func unwrapURLError(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil || !(errors.Is(u, ErrPrivateAddress) || errors.Is(u, ErrTooManyRedirs)) {
			return err
		}
		err = u
	}
}

func isNoSuchHost(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// allowList holds the private hosts and prefixes an operator allowed.
type allowList struct {
	hosts    map[string]bool
	prefixes []netip.Prefix
}

func parseAllowList(entries []string) (allowList, error) {
	a := allowList{hosts: map[string]bool{}}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return a, fmt.Errorf("allow_private: %q 不是有效的网段: %w", e, err)
			}
			a.prefixes = append(a.prefixes, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(e); err == nil {
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		a.hosts[strings.ToLower(e)] = true
	}
	return a, nil
}

func (a allowList) allows(host string, ip netip.Addr) bool {
	ip = ip.Unmap()
	if a.hosts[strings.ToLower(host)] {
		return true
	}
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// nonPublic are ranges the netip predicates do not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64: reaches IPv4 addresses, private ones included
	netip.MustParsePrefix("fec0::/10"),     // deprecated site-local
	netip.MustParsePrefix("0.0.0.0/8"),
}

// public reports whether ip is an address on the public internet.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// gunzipCapped decompresses gzip bodies (sitemap.xml.gz, or a server that
// sends gzip unasked) itself, stopping at max bytes, so that a small
// compressed bomb cannot expand past the page limit; colly, seeing the
// body already uncompressed, leaves it alone.
type gunzipCapped struct {
	max  int64
	next http.RoundTripper
}

func (g gunzipCapped) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := g.next.RoundTrip(req)
	if err != nil || res.Uncompressed {
		return res, err
	}
	enc := strings.ToLower(res.Header.Get("Content-Encoding"))
	ct := strings.ToLower(res.Header.Get("Content-Type"))
	if !strings.Contains(enc, "gzip") && !(enc == "" && strings.Contains(ct, "gzip")) && !strings.HasSuffix(strings.ToLower(req.URL.Path), ".gz") {
		return res, nil
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		res.Body.Close()
		return nil, fmt.Errorf("%s: gzip 解压失败: %w", req.URL, err)
	}
	res.Body = readCloser{Reader: io.LimitReader(zr, g.max), close: res.Body.Close}
	res.Uncompressed = true
	res.ContentLength = -1
	res.Header.Del("Content-Encoding")
	res.Header.Del("Content-Length")
	return res, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// safeDial resolves the host itself and refuses private addresses that the
// allow-list does not name, so neither a source nor a redirect can point
// the crawler at the host's own network.
func (f *Fetcher) safeDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		var lastErr error = fmt.Errorf("%s: 无可用地址", host)
		for _, ip := range ips {
			if !public(ip) && !f.allow.allows(host, ip) {
				lastErr = fmt.Errorf("%w: %s (%s)", ErrPrivateAddress, host, ip)
				continue
			}
			conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
			if err == nil {
				return conn, nil
			}
			lastErr = err
		}
		return nil, lastErr
	}
}
