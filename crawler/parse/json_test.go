package parse

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const weiboLike = `{
  "ok": 1,
  "data": {
    "list": [
      {
        "id": 4987654321098765432,
        "mid": "4987654321098765",
        "text_raw": "#江城暴雨# <a href=\"/n/江城发布\">@江城发布</a>：今晚有大到暴雨，请市民减少外出。<br />转发提醒！",
        "title": null,
        "url": "//weibo.com/1234567890/Oabcdef",
        "created_at": 1714530000123,
        "user": {"screen_name": "江城发布", "verified": true},
        "region_name": "发布于 湖北"
      },
      {
        "id": 1.5e+18,
        "text_raw": "第二条微博",
        "url": "https://weibo.com/1234567890/Oabcdeg",
        "created_at": "1714530000",
        "user": {"screen_name": "<b>网友</b>甲"}
      },
      {"id": 3, "user": {"screen_name": "无内容的条目"}},
      "not an object",
      {"id": "4", "url": "javascript:alert(1)", "text_raw": "坏链接的条目", "created_at": "2024-05-01 10:20:00"}
    ],
    "next_cursor": "4987654321098765431"
  }
}`

func TestJSON(t *testing.T) {
	weiboSpec := JSONSpec{
		Items: "data.list",
		Fields: map[string]string{
			"id": "id", "url": "url", "title": "title", "text": "text_raw",
			"author": "user.screen_name", "published_at": "created_at", "region": "region_name",
		},
		Cursor: "data.next_cursor",
	}
	flat := JSONSpec{Fields: map[string]string{"id": "docid", "url": "link", "title": "t", "published_at": "ptime"}}
	tests := []struct {
		name string
		body string
		spec JSONSpec
		want []Item
		next string
	}{
		{"nested paths, numeric ids, ms timestamps", weiboLike, weiboSpec, []Item{{
			ID: "4987654321098765432", URL: "https://weibo.com/1234567890/Oabcdef",
			Text:   "#江城暴雨# @江城发布：今晚有大到暴雨，请市民减少外出。\n转发提醒！",
			Author: "江城发布", PublishedAt: time.Date(2024, 5, 1, 2, 20, 0, 123e6, time.UTC), Region: "发布于 湖北",
		}, {
			ID: "1500000000000000000", URL: "https://weibo.com/1234567890/Oabcdeg", Text: "第二条微博", Author: "网友甲",
			PublishedAt: cst(2024, 5, 1, 10, 20, 0),
		}, {
			ID: "4", Text: "坏链接的条目", PublishedAt: cst(2024, 5, 1, 10, 20, 0),
		}}, "4987654321098765431"},
		{"top-level array, no cursor", `[{"docid":"A1","link":"/a/1.html","t":"标题一","ptime":"2024-05-01T10:20:00+08:00"},
			{"docid":2,"link":"https://www.example.cn/a/2.html","t":"标题二","ptime":1714530000}]`, flat, []Item{
			{ID: "A1", URL: "/a/1.html", Title: "标题一", PublishedAt: cst(2024, 5, 1, 10, 20, 0)},
			{ID: "2", URL: "https://www.example.cn/a/2.html", Title: "标题二", PublishedAt: cst(2024, 5, 1, 10, 20, 0)},
		}, ""},
		{"cursor null", `{"items":[{"t":"标题"}],"next":null}`, JSONSpec{Items: "items", Fields: map[string]string{"title": "t"}, Cursor: "next"},
			[]Item{{Title: "标题"}}, ""},
		{"cursor false", `{"items":[],"has_more":false}`, JSONSpec{Items: "items", Cursor: "has_more"}, nil, ""},
		{"cursor empty", `{"items":[],"next":"  "}`, JSONSpec{Items: "items", Cursor: "next"}, nil, ""},
		{"cursor absent", `{"items":[]}`, JSONSpec{Items: "items", Cursor: "page.next"}, nil, ""},
		{"cursor number", `{"items":[],"page":{"next":20240502}}`, JSONSpec{Items: "items", Cursor: "page.next"}, nil, "20240502"},
		{"cursor big float", `{"items":[],"max_id":4.987654321e+18}`, JSONSpec{Items: "items", Cursor: "max_id"}, nil, "4987654321000000000"},
		{"index paths", `{"result":[{"items":[{"a":{"b":["x","标题甲"]}}]}]}`, JSONSpec{Items: "result.0.items", Fields: map[string]string{"title": "a.b.1"}},
			[]Item{{Title: "标题甲"}}, ""},
		{"bracket paths", `{"result":[{"items":[{"a":{"b":["x","标题甲"]}}]}]}`, JSONSpec{Items: "$.result[0].items", Fields: map[string]string{"title": "a.b[-1]"}},
			[]Item{{Title: "标题甲"}}, ""},
		{"items null", `{"data":{"list":null}}`, JSONSpec{Items: "data.list"}, nil, ""},
		{"array of URL strings", `{"urls":["https://a.cn/1.html","mailto:x@a.cn","//a.cn/2.html"]}`, JSONSpec{Items: "urls", Fields: map[string]string{"url": ""}},
			[]Item{{URL: "https://a.cn/1.html"}, {URL: "https://a.cn/2.html"}}, ""},
		{"double-encoded data", `{"code":0,"data":"{\"list\":[{\"title\":\"<em>关键词</em>命中的标题\"}]}"}`, JSONSpec{Items: "data.list", Fields: map[string]string{"title": "title"}},
			[]Item{{Title: "关键词命中的标题"}}, ""},
		{"JSONP", `/**/ jQuery1830_171({"list":[{"title":"回调包装"}],"next":"p2"});`, JSONSpec{Items: "list", Fields: map[string]string{"title": "title"}, Cursor: "next"},
			[]Item{{Title: "回调包装"}}, "p2"},
		{"array text joined", `[{"title":"多段","paras":["<p>第一段</p>","第二段"],"tags":["a","b"]}]`, JSONSpec{Fields: map[string]string{"title": "title", "text": "paras", "author": "tags"}},
			[]Item{{Title: "多段", Text: "第一段\n第二段", Author: "a, b"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, next, err := JSON([]byte(tc.body), tc.spec)
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			checkItems(t, items, tc.want)
			if next != tc.next {
				t.Errorf("next = %q, want %q", next, tc.next)
			}
		})
	}
}

func TestJSONGBK(t *testing.T) {
	body := gbk(t, `{"data":{"list":[{"title":"湖北省人民政府办公厅关于印发通知","time":"2024年5月1日 10:20"}]}}`)
	items, _, err := JSON(body, JSONSpec{Items: "data.list", Fields: map[string]string{"title": "title", "published_at": "time"}})
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, items, []Item{{Title: "湖北省人民政府办公厅关于印发通知", PublishedAt: cst(2024, 5, 1, 10, 20, 0)}})
}

func TestJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		spec JSONSpec
		is   error
		has  []string
	}{
		{"empty", "", JSONSpec{}, ErrEmpty, []string{"empty"}},
		{"items path missing", `{"data":{"lists":[]}}`, JSONSpec{Items: "data.list"}, nil, []string{`"data.list"`, `no key "list"`, `"data"`}},
		{"items path through a string", `{"data":"维护中"}`, JSONSpec{Items: "data.list"}, nil, []string{`"data.list"`, "a string"}},
		{"items path out of range", `{"result":[]}`, JSONSpec{Items: "result.0.items"}, nil, []string{`"result.0.items"`, "out of range"}},
		{"items not an array", `{"data":{"list":{"a":1}}}`, JSONSpec{Items: "data.list"}, nil, []string{`"data.list"`, "an object, not an array"}},
		{"top level is an object", `{"data":[]}`, JSONSpec{}, nil, []string{"top-level", "an object"}},
		{"invalid JSON", `{"data": {"list": [1, 2,, 3]}}`, JSONSpec{Items: "data.list"}, nil, []string{"offset 25", "invalid character ','"}},
		{"invalid JSON after BOM", "\ufeff{\"a\":x}", JSONSpec{}, nil, []string{"offset 9"}},
		{"truncated JSON", `{"data": {"list": [1, 2`, JSONSpec{Items: "data.list"}, nil, []string{"truncated", "offset 23"}},
		{"HTML error page", `<html><body>502 Bad Gateway</body></html>`, JSONSpec{}, nil, []string{"offset 1"}},
		{"unknown field key", `[]`, JSONSpec{Fields: map[string]string{"publish_at": "t"}}, nil, []string{`"publish_at"`, "published_at"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, _, err := JSON([]byte(tc.body), tc.spec)
			if err == nil {
				t.Fatalf("JSON = %v, nil; want an error", items)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, h := range tc.has {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("error %q does not mention %s", err, h)
				}
			}
		})
	}
}

func TestJSONCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range MaxItems + 10 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"t":"` + strings.Repeat("标", 600) + `"}`)
	}
	b.WriteString("]")
	items, _, err := JSON([]byte(b.String()), JSONSpec{Fields: map[string]string{"title": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != MaxItems {
		t.Errorf("%d items, want %d", len(items), MaxItems)
	}
	checkPlain(t, items)
	// deep nesting is refused by encoding/json, not a crash
	_, _, err = JSON([]byte(strings.Repeat("[", 100000)+strings.Repeat("]", 100000)), JSONSpec{})
	if err == nil {
		t.Error("no error for 100,000 nested arrays")
	}
}
