package ingest

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func TestDecodeShapes(t *testing.T) {
	one := `{"text":"宁波一医院发生纠纷","published_at":"2024-05-01T08:30:00+08:00"}`
	cases := []struct {
		name string
		body string
		ok   int
		errs int
	}{
		{"one object", one, 1, 0},
		{"one object over lines", "{\n\"text\": \"多行\"\n}\n", 1, 0},
		{"array", `[` + one + `,{"text":"第二条"}]`, 2, 0},
		{"ndjson", one + "\n" + `{"text":"第二条"}` + "\n\n" + `{"text":"第三条"}`, 3, 0},
		{"ndjson with bom and crlf", "\ufeff" + one + "\r\n" + `{"text":"b"}` + "\r\n", 2, 0},
		{"empty", "  \n", 0, 1},
		{"broken array", `[{"text":"a"},`, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			posts, errs := Decode([]byte(c.body), now)
			if len(posts) != c.ok || len(errs) != c.errs {
				t.Fatalf("got %d posts, errors %v; want %d posts %d errors", len(posts), errs, c.ok, c.errs)
			}
			for _, p := range posts {
				if p.ID == "" || p.ReceivedAt != now {
					t.Fatalf("post without id or received time: %+v", p)
				}
			}
		})
	}
}

func TestDecodeBadItemsKeepGoodOnes(t *testing.T) {
	big := strings.Repeat("长", MaxTextBytes/3+10)
	lines := []string{
		`{"id":"a","text":"好的一条"}`,                            // 0 good
		`{"id":"b","text":"坏的 JSON"`,                          // 1 malformed
		`{"id":"c","text":""}`,                                // 2 no text, no parent
		`{"id":"d","parent_id":"a"}`,                          // 3 plain repost: good
		"{\"id\":\"e\",\"text\":\"\xff\xfe bad\"}",            // 4 invalid UTF-8
		`{"id":"f","text":"` + big + `"}`,                     // 5 field of megabytes
		`{"id":"a","text":"重复"}`,                              // 6 duplicate id in batch
		`{"id":"g","text":"时间坏了","published_at":"昨天下午"}`,      // 7 bad time
		`{"id":"h","text":"x","author":{"followers":"many"}}`, // 8 wrong type
		`[1,2]`, // 9 not an object
		`{"id":"i","text":"2012 格式","published_at":"2012-09-13 08:38:09"}`, // 10 good, China time
	}
	posts, errs := Decode([]byte(strings.Join(lines, "\n")), now)
	var ids []string
	for _, p := range posts {
		ids = append(ids, p.ID)
	}
	if strings.Join(ids, ",") != "a,d,i" {
		t.Fatalf("kept %v, want a,d,i", ids)
	}
	want := map[int]string{1: "", 2: "text", 4: "", 5: "text", 6: "id", 7: "published_at", 8: "author.followers", 9: ""}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %d", errs, len(want))
	}
	for _, e := range errs {
		f, ok := want[e.Item]
		if !ok || f != e.Field || e.Error == "" || e.Line != e.Item+1 {
			t.Errorf("unexpected error %+v (want field %q)", e, f)
		}
	}
	if got := posts[2].PublishedAt; !got.Equal(time.Date(2012, 9, 13, 0, 38, 9, 0, time.UTC)) {
		t.Fatalf("China-time date parsed as %v", got)
	}
}

func TestDeriveIDStable(t *testing.T) {
	a, _ := Decode([]byte(`{"url":"https://news.example.cn/a/1/","text":"x"}`), now)
	b, _ := Decode([]byte(`{"url":"https://news.example.cn/a/1","text":"y"}`), now.Add(time.Hour))
	if a[0].ID != b[0].ID {
		t.Fatalf("same url, different ids: %s %s", a[0].ID, b[0].ID)
	}
	c, _ := Decode([]byte(`{"text":"内容","published_at":"2024-01-01T00:00:00Z"}`), now)
	d, _ := Decode([]byte(`{"text":"内容","published_at":"2024-01-01T00:00:00Z"}`), now)
	e, _ := Decode([]byte(`{"text":"内容2","published_at":"2024-01-01T00:00:00Z"}`), now)
	if c[0].ID != d[0].ID || c[0].ID == e[0].ID {
		t.Fatalf("content ids: %s %s %s", c[0].ID, d[0].ID, e[0].ID)
	}
}
