package index

import (
	"math"
	"reflect"
	"testing"
)

func TestPlaceLevels(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"浙江省", []string{"浙江省"}},
		{"浙江省宁波市", []string{"浙江省", "宁波市"}},
		{"浙江省杭州市", []string{"浙江省", "杭州市"}},
		{"浙江省宁波市鄞州区", []string{"浙江省", "宁波市", "鄞州区"}},
		{"北京市", []string{"北京市"}},
		{"北京市朝阳区", []string{"北京市", "朝阳区"}},
		{"山东省济南市市中区", []string{"山东省", "济南市", "市中区"}},
		{"广西壮族自治区南宁市", []string{"广西壮族自治区", "南宁市"}},
		{"内蒙古自治区锡林郭勒盟", []string{"内蒙古自治区", "锡林郭勒盟"}},
		{"湖北省恩施土家族苗族自治州", []string{"湖北省", "恩施土家族苗族自治州"}},
		{"黑龙江省大兴安岭地区", []string{"黑龙江省", "大兴安岭地区"}},
		{"香港特别行政区", []string{"香港特别行政区"}},
		{"广东省广州市天河区石牌街道", []string{"广东省", "广州市", "天河区", "石牌街道"}},
		{"海外", []string{"海外"}},
		{"宁波", []string{"宁波"}},
	} {
		if got := PlaceLevels(tc.name); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("PlaceLevels(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPlaceTerms(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"", nil},
		{"湖北省", []string{"湖北省"}},
		{"浙江省宁波市", []string{"浙江省", "浙江省宁波市", "宁波市"}},
		{"浙江省宁波市鄞州区", []string{"浙江省", "浙江省宁波市", "浙江省宁波市鄞州区", "宁波市", "宁波市鄞州区", "鄞州区"}},
		{"海外", []string{"海外"}},
	} {
		if got := PlaceTerms(tc.name); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("PlaceTerms(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRiskBands(t *testing.T) {
	for _, tc := range []struct {
		r       float64
		clamped float64
		band    string
	}{
		{0, 0, RiskLow}, {math.Copysign(0, -1), 0, RiskLow}, {-1, 0, RiskLow}, {math.NaN(), 0, RiskLow},
		{0.29999999999999993, 0.29999999999999993, RiskLow}, {0.3, 0.3, RiskMedium},
		{0.6999, 0.6999, RiskMedium}, {0.7, 0.7, RiskHigh}, {1, 1, RiskHigh}, {7, 1, RiskHigh},
	} {
		if c := ClampRisk(tc.r); c != tc.clamped || math.Signbit(c) {
			t.Errorf("ClampRisk(%v) = %v, want %v", tc.r, c, tc.clamped)
		}
		if b := RiskBands[BandOf(tc.r)].Band; b != tc.band {
			t.Errorf("band of %v = %s, want %s", tc.r, b, tc.band)
		}
	}
	// The bounds are the hundredths a backend may count by.
	for _, b := range RiskBands {
		if k := math.Round(b.From * 100); k/100 != b.From {
			t.Errorf("band %s starts at %v, not k/100", b.Band, b.From)
		}
	}
	if c := NewRiskCounts(); &c[0] == &RiskBands[0] || !reflect.DeepEqual(c, RiskBands) {
		t.Errorf("NewRiskCounts = %+v", c)
	}
}

func TestQueryNormalizeSizes(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		want int
	}{
		{Query{}, 20}, {Query{Size: 5000}, 1000}, {Query{Size: 5000, NoAggs: true}, 5000},
		{Query{Size: 50_000, NoAggs: true}, MaxExportSize}, {Query{Size: -1, NoAggs: true}, 20},
	} {
		if got := tc.q.Normalize().Size; got != tc.want {
			t.Errorf("%+v: size %d, want %d", tc.q, got, tc.want)
		}
	}
}
