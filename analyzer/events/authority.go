package events

import (
	"net/url"
	"strings"

	"yuqing/domain"
)

// Authority levels of a post's source, from the least to the most
// authoritative; an event carries the highest among its posts.
const (
	AuthorityNone       = 0
	AuthorityVerified   = 1 // a verified author (认证用户)
	AuthorityMedia      = 2 // official media (官方媒体)
	AuthorityGovernment = 3 // a government portal or account (政务)
)

// authorityZh names the levels in the reasons.
var authorityZh = [...]string{"", "认证用户", "官方媒体", "政务来源"}

// officialMedia are names (of a source, an account or a byline) of central
// and provincial official media; a name containing one is official media.
var officialMedia = []string{
	"人民日报", "人民网", "新华社", "新华网", "新华视点", "央视", "中央电视台", "CCTV", "中央广播电视总台", "央广",
	"中国之声", "中国新闻网", "中新网", "中新社", "中国新闻社", "光明日报", "光明网", "经济日报", "中国日报", "中国青年报",
	"中国青年网", "中青网", "法制日报", "法治日报", "检察日报", "人民法院报", "环球时报", "环球网", "国际在线", "中国军网", "解放军报", "工人日报", "农民日报", "科技日报", "中国纪检监察报",
}

// officialMediaSuffixes end the names of provincial and city party papers
// and broadcasters (浙江日报, 宁波广播电视台…).
var officialMediaSuffixes = []string{"日报", "电视台", "广播电台", "广播电视台", "融媒体中心"}

// officialMediaHosts are the web hosts of official media.
var officialMediaHosts = []string{
	"people.com.cn", "xinhuanet.com", "news.cn", "cctv.com", "cctv.cn", "cnr.cn", "chinanews.com", "chinanews.com.cn",
	"gmw.cn", "ce.cn", "chinadaily.com.cn", "youth.cn", "legaldaily.com.cn", "huanqiu.com", "qstheory.cn", "china.com.cn",
	"cri.cn", "81.cn", "workercn.cn", "stdaily.com",
}

// governmentNames mark a government account or site by a part of its name;
// governmentSuffixes by its end (上海发布, 平安宁波 is not caught: too loose).
var governmentNames = []string{
	"人民政府", "政府网", "政府门户", "政务", "公安局", "公安厅", "公安部", "派出所", "网警", "交警", "警方", "法院", "检察院",
	"委员会", "办公室", "办公厅", "管理局", "监督管理", "卫生健康委", "卫健委", "应急管理", "生态环境", "市场监管", "消防救援",
	"网信办", "宣传部", "纪委", "监委", "人大常委会", "政协", "国务院",
}
var governmentSuffixes = []string{"发布", "政府", "公安", "气象局", "教育局", "住建局", "税务局", "街道办"}

// SourceAuthority gives how authoritative a post's source is and a short
// name of it for the reasons (e.g. "官方媒体 人民日报"): a government portal
// page or .gov.cn address or account, official media by name or address, a
// verified author; else AuthorityNone and "".
func SourceAuthority(p *domain.Post) (level int, label string) {
	return sourceAuthority(p, nameAuthority)
}

// sourceAuthority is SourceAuthority with the classification of names
// (nameAuthority, or a memo of it) given.
func sourceAuthority(p *domain.Post, byName func(string) int) (level int, label string) {
	names := [2]string{strings.TrimSpace(p.Author.Name), strings.TrimSpace(p.Source)}
	host := ""
	if p.URL != "" {
		if u, err := url.Parse(strings.TrimSpace(p.URL)); err == nil {
			host = strings.ToLower(u.Hostname())
		}
	}
	who := func(fallback string) string {
		for _, n := range names {
			if n != "" && !strings.EqualFold(n, "weibo") {
				return n
			}
		}
		return fallback
	}
	if p.Record != nil || host == "gov.cn" || strings.HasSuffix(host, ".gov.cn") {
		return AuthorityGovernment, authorityZh[AuthorityGovernment] + " " + who(host)
	}
	var byNames [2]int
	for i, n := range names {
		if n != "" {
			byNames[i] = byName(n)
		}
		if byNames[i] == AuthorityGovernment {
			return AuthorityGovernment, authorityZh[AuthorityGovernment] + " " + n
		}
	}
	for _, h := range officialMediaHosts {
		if host == "" {
			break
		}
		if host == h || (strings.HasSuffix(host, h) && host[len(host)-len(h)-1] == '.') {
			return AuthorityMedia, authorityZh[AuthorityMedia] + " " + who(host)
		}
	}
	for i, n := range names {
		if byNames[i] == AuthorityMedia {
			return AuthorityMedia, authorityZh[AuthorityMedia] + " " + n
		}
	}
	if p.Author.Verified {
		return AuthorityVerified, authorityZh[AuthorityVerified]
	}
	return AuthorityNone, ""
}

// nameAuthority classifies a source's or an author's name: government,
// official media or neither.
func nameAuthority(name string) int {
	switch {
	case government(name):
		return AuthorityGovernment
	case media(name):
		return AuthorityMedia
	}
	return AuthorityNone
}

// authorityMemo remembers nameAuthority of the names seen lately (a
// stream repeats its sources and authors), forgetting all past its size.
type authorityMemo map[string]int8

const authorityMemoSize = 1 << 16

func (m *authorityMemo) level(name string) int {
	if v, ok := (*m)[name]; ok {
		return int(v)
	}
	if *m == nil || len(*m) >= authorityMemoSize {
		*m = make(authorityMemo, 1024)
	}
	v := nameAuthority(name)
	(*m)[name] = int8(v)
	return v
}

func government(name string) bool {
	for _, s := range governmentNames {
		if strings.Contains(name, s) {
			return true
		}
	}
	for _, s := range governmentSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func media(name string) bool {
	for _, s := range officialMedia {
		if strings.Contains(name, s) {
			return true
		}
	}
	for _, s := range officialMediaSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
