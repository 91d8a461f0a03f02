package parse

import (
	"testing"
	"time"
)

func TestTime(t *testing.T) {
	utc := func(y, mo, d, h, mi, s int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC) }
	tests := []struct {
		in   string
		want time.Time // zero: not a date
	}{
		// RFC 1123 / 822 / 850, with and without zone
		{"Mon, 02 Jan 2006 15:04:05 GMT", utc(2006, 1, 2, 15, 4, 5)},
		{"Wed, 01 May 2024 09:30:00 +0800", cst(2024, 5, 1, 9, 30, 0)},
		{"Wed, 01 May 2024 09:30:00 CST", cst(2024, 5, 1, 9, 30, 0)},
		{"Wed, 01 May 2024 09:30:00 +0800 (CST)", cst(2024, 5, 1, 9, 30, 0)},
		{"Wed, 01 May 2024 09:30:00", cst(2024, 5, 1, 9, 30, 0)},
		{"Thur, 2 May 2024 9:05:00 +08:00", cst(2024, 5, 2, 9, 5, 0)},
		{"2 May 2024 09:05 EDT", time.Date(2024, 5, 2, 9, 5, 0, 0, time.FixedZone("", -4*3600))},
		{"02 May 24 09:05 +0000", utc(2024, 5, 2, 9, 5, 0)},
		{"Thursday, 02-May-24 09:05:00 GMT", utc(2024, 5, 2, 9, 5, 0)},
		{"Sun Jan 13 14:58:24 +0800 2013", cst(2013, 1, 13, 14, 58, 24)}, // Weibo
		{"Wed May 01 2024 10:00:00 GMT+0800 (中国标准时间)", cst(2024, 5, 1, 10, 0, 0)},
		{"May 1, 2024 3:04 PM", cst(2024, 5, 1, 15, 4, 0)},
		{"May 1, 2024", cst(2024, 5, 1, 0, 0, 0)},
		// RFC 3339 / ISO 8601
		{"2024-05-01T10:20:30+08:00", cst(2024, 5, 1, 10, 20, 30)},
		{"2024-05-01T02:20:30Z", cst(2024, 5, 1, 10, 20, 30)},
		{"2024-05-01T02:20:30.123456Z", time.Date(2024, 5, 1, 2, 20, 30, 123456000, time.UTC)},
		{"2024-05-01T10:20:30", cst(2024, 5, 1, 10, 20, 30)},
		{"2024-05-01T10:20:30+0800", cst(2024, 5, 1, 10, 20, 30)},
		{"2024-05-01 10:20:30 +0000", utc(2024, 5, 1, 10, 20, 30)},
		// Chinese and numeric forms, China time
		{"2017-08-11 10:20:00", cst(2017, 8, 11, 10, 20, 0)},
		{"2017-08-11 10:20", cst(2017, 8, 11, 10, 20, 0)},
		{"2017/8/11 10:20", cst(2017, 8, 11, 10, 20, 0)},
		{"2017.08.11", cst(2017, 8, 11, 0, 0, 0)},
		{"2017年6月27日 11:08", cst(2017, 6, 27, 11, 8, 0)},
		{"2017年6月27日11:08", cst(2017, 6, 27, 11, 8, 0)},
		{"2017年06月27日 11时08分30秒", cst(2017, 6, 27, 11, 8, 30)},
		{"2017年6月27日 下午3:08", cst(2017, 6, 27, 15, 8, 0)},
		{"2017年6月27日 上午12:08", cst(2017, 6, 27, 0, 8, 0)},
		{"2017年6月27日", cst(2017, 6, 27, 0, 0, 0)},
		{"2017-06-27 11：08", cst(2017, 6, 27, 11, 8, 0)},
		{"发布时间：2024-05-01 10:20 来源：新华社", cst(2024, 5, 1, 10, 20, 0)},
		{"2024-05-01 10:00-2024-05-02 12:00", cst(2024, 5, 1, 10, 0, 0)},
		// Unix time and compact dates
		{"1714530000", cst(2024, 5, 1, 10, 20, 0)},
		{"1714530000123", time.Date(2024, 5, 1, 10, 20, 0, 123e6, time.FixedZone("CST", 8*3600))},
		{"1714530000.5", time.Date(2024, 5, 1, 10, 20, 0, 5e8, time.FixedZone("CST", 8*3600))},
		{"1714530000123456", time.Date(2024, 5, 1, 10, 20, 0, 123456000, time.FixedZone("CST", 8*3600))},
		{"20240501", cst(2024, 5, 1, 0, 0, 0)},
		{"20240501102000", cst(2024, 5, 1, 10, 20, 0)},
		// not dates
		{"", time.Time{}},
		{"昨天", time.Time{}},
		{"0000-00-00 00:00:00", time.Time{}},
		{"2024-02-30", time.Time{}},
		{"2024-13-01", time.Time{}},
		{"2024-05-01 25:61", time.Time{}},
		{"1850-01-01", time.Time{}},
		{"0", time.Time{}},
		{"12345", time.Time{}},
		{"100000", time.Time{}},
		{"99999999999999999999", time.Time{}},
		{"not a date at all", time.Time{}},
		{"Mon, 32 Jan 2024 10:00:00 GMT", time.Time{}},
	}
	for _, tc := range tests {
		got, ok := Time(tc.in)
		if tc.want.IsZero() {
			if ok {
				t.Errorf("Time(%q) = %v, want no date", tc.in, got)
			}
			continue
		}
		if !ok || !got.Equal(tc.want) {
			t.Errorf("Time(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

func TestTimeNoZoneIsChina(t *testing.T) {
	got, ok := Time("2024-05-01 10:20")
	if !ok {
		t.Fatal("no date")
	}
	if _, off := got.Zone(); off != 8*3600 {
		t.Errorf("offset %d, want +8h", off)
	}
	got, _ = Time("1714530000")
	if _, off := got.Zone(); off != 8*3600 {
		t.Errorf("Unix time offset %d, want +8h", off)
	}
}
