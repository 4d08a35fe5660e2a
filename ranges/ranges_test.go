package ranges

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ccppreflight "github.com/ccp-preflight/ccp-preflight"
)

func mustLoad(t testing.TB, path string) *Set {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadEmbedded(t *testing.T) {
	s, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var v4, v6 int
	for _, p := range s.Prefixes {
		if p.Prefix.Addr().Is4() {
			v4++
		} else {
			v6++
		}
	}
	// Facts of the 2026-08-22 file (docs/CONNECT.md).
	if v4 != 10668 || v6 != 6160 {
		t.Errorf("v4=%d v6=%d, want 10668 and 6160", v4, v6)
	}
	if got := s.CreateDate.Format(CreateDateLayout); got != "2026-08-22-15-17-05" || s.SyncToken != "1787411825" {
		t.Errorf("createDate %s syncToken %s", got, s.SyncToken)
	}
	if n := len(s.Filter("AMAZON_CONNECT", "", false)); n != 21 {
		t.Errorf("AMAZON_CONNECT IPv4 = %d, want 21", n)
	}
	if n := len(s.Filter("AMAZON_CONNECT", "", true)); n != 15 {
		t.Errorf("AMAZON_CONNECT IPv6 = %d, want 15", n)
	}
}

// TestLoadRealOldFile loads a file AWS published on 2016-11-09 (kept
// byte-exact, provenance in docs/RANGES.md): no network_border_group, the
// first year with ipv6_prefixes.
func TestLoadRealOldFile(t *testing.T) {
	s := mustLoad(t, "testdata/aws-2016-11-09.json")
	if n4, n6 := len(s.Filter("", "", false)), len(s.Filter("", "", true)); n4 != 682 || n6 != 141 {
		t.Fatalf("v4=%d v6=%d, want 682 and 141", n4, n6)
	}
	if s.SyncToken != "1478728748" || s.CreateDate.Format(CreateDateLayout) != "2016-11-09-21-59-08" {
		t.Fatalf("header %s %s", s.SyncToken, s.CreateDate)
	}
	for _, p := range s.Prefixes {
		if p.NetworkBorderGroup != "" {
			t.Fatalf("a 2016 entry has a border group: %+v", p)
		}
	}
	if got := s.Services(); strings.Join(got, ",") != "AMAZON,CLOUDFRONT,EC2,ROUTE53,ROUTE53_HEALTHCHECKS" {
		t.Errorf("services %v", got)
	}
}

func TestLoadOldFormatWithoutBorderGroup(t *testing.T) {
	s := mustLoad(t, "testdata/old-format.json")
	if len(s.Prefixes) != 2 || s.Prefixes[0].NetworkBorderGroup != "" || s.Prefixes[0].Region != "GLOBAL" {
		t.Fatalf("got %+v", s.Prefixes)
	}
	if got := s.Lookup(netip.MustParseAddr("52.55.191.230")); len(got) != 1 || got[0].Service != "AMAZON" {
		t.Fatalf("lookup in an old file: %+v", got)
	}
}

// TestLoadBadInput: each malformed file gives one line naming the source,
// the byte offset (when there is one) and what is wrong.
func TestLoadBadInput(t *testing.T) {
	good, err := os.ReadFile("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	cases := []struct {
		name, in, want string
		off            int // -1: no offset expected
	}{
		{"empty", "", "file is empty", -1},
		{"blank", " \n\t", "file is empty", -1},
		{"html", "<!DOCTYPE html><html><body>Please log in to the Wi-Fi</body></html>", "HTML page", 0},
		{"truncated", g[:len(g)/2], "file ends early (truncated JSON", len(g) / 2},
		{"array", "[1,2]", "want a JSON object", 0},
		{"trailing", g + "x", "unexpected data after the JSON object", len(g)},
		{"sync number", strings.Replace(g, `"1787411825"`, `1787411825`, 1), "syncToken: want a string, found a number", strings.Index(g, `"1787411825"`)},
		{"sync letters", strings.Replace(g, `"1787411825"`, `"abc"`, 1), `syncToken "abc": not a number`, strings.Index(g, `"1787411825"`)},
		{"bad date", strings.Replace(g, `2026-08-22-15-17-05`, `2026-08-22T15:17:05`, 1), `createDate "2026-08-22T15:17:05": want yyyy-mm-dd-hh-mm-ss`, strings.Index(g, `"2026-08-22`)},
		{"bad cidr", strings.Replace(g, `15.193.6.0/24`, `15.193.6.0/33`, 1), `prefixes[1].ip_prefix: invalid CIDR "15.193.6.0/33"`, strings.Index(g, `"15.193.6.0/24"`)},
		{"host bits", strings.Replace(g, `15.193.6.0/24`, `15.193.6.7/24`, 1), `has host bits set (want 15.193.6.0/24)`, strings.Index(g, `"15.193.6.0/24"`)},
		{"v6 in v4 list", strings.Replace(g, `15.193.6.0/24`, `2600::/16`, 1), `is not an IPv4 prefix`, strings.Index(g, `"15.193.6.0/24"`)},
		{"prefix type", strings.Replace(g, `"15.193.6.0/24"`, `42`, 1), `prefixes[1].ip_prefix: want a string, found a number`, strings.Index(g, `"15.193.6.0/24"`)},
		{"prefixes type", strings.Replace(g, `"prefixes": [`, `"prefixes": {"a":[`, 1), `prefixes: want an array, found an object`, strings.Index(g, `"prefixes"`) + len(`"prefixes": `)},
		{"missing service", strings.Replace(g, `"service": "AMAZON_CONNECT",`, ``, 1), `prefixes[0]: missing "service"`, -2},
		{"bad service", strings.Replace(g, `"service": "AMAZON_CONNECT"`, `"service": "A B"`, 1), `invalid service name "A B"`, -2},
		{"missing date", strings.Replace(g, `"createDate": "2026-08-22-15-17-05",`, ``, 1), `missing "createDate"`, -1},
		{"no prefixes", `{"syncToken":"1","createDate":"2026-08-22-15-17-05","prefixes":[]}`, "no prefixes at all", -1},
		{"duplicate key", strings.Replace(g, `"createDate"`, `"syncToken": "1", "createDate"`, 1), `duplicate key "syncToken"`, -2},
		{"bad escape", strings.Replace(g, `"GLOBAL"`, `"GL\qOBAL"`, 1), `invalid escape \q`, -2},
		{"deep", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nested more than", -2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(tc.in), "bad.json")
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v (%T), want an *InputError", err, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "bad.json: ") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Fatalf("err = %q, want one line naming bad.json and %q", msg, tc.want)
			}
			switch {
			case tc.off == -1 && ie.Offset != -1:
				t.Errorf("offset %d, want none", ie.Offset)
			case tc.off >= 0 && ie.Offset != tc.off:
				t.Errorf("offset %d, want %d (%q)", ie.Offset, tc.off, msg)
			case tc.off == -2 && ie.Offset < 0:
				t.Errorf("no offset in %q", msg)
			}
		})
	}
}

func TestLoadEscapesAndUnknownFields(t *testing.T) {
	in := `{"syncToken":"1","createDate":"2026-08-22-15-17-05","extra":{"a":[1,-2.5e3,true,false,null,"x\u00e9\ud83d\ude00"]},
	"prefixes":[{"ip_prefix":"15.193.0.0\/19","region":"GL\u004fBAL","service":"AMAZON_CONNECT","future_field":[{}]}]}`
	s, err := LoadBytes([]byte(in), "x")
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Prefixes[0]; p.Prefix.String() != "15.193.0.0/19" || p.Region != "GLOBAL" {
		t.Fatalf("got %+v", p)
	}
}

// TestLookupMatchesScan compares the index with a plain scan on the real
// file for random and boundary addresses.
func TestLookupMatchesScan(t *testing.T) {
	s, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	scan := func(a netip.Addr) []Prefix {
		var out []Prefix
		for _, p := range s.Prefixes {
			if p.Prefix.Contains(a) {
				out = append(out, p)
			}
		}
		return out
	}
	var addrs []netip.Addr
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		p := s.Prefixes[r.IntN(len(s.Prefixes))].Prefix
		addrs = append(addrs, p.Addr(), lastAddr(p), lastAddr(p).Next(), p.Addr().Prev())
	}
	for i := 0; i < 2000; i++ {
		var b [4]byte
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		addrs = append(addrs, netip.AddrFrom4(b))
	}
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		got, want := s.Lookup(a), scan(a)
		if len(got) != len(want) {
			t.Fatalf("Lookup(%s) = %d entries, scan finds %d", a, len(got), len(want))
		}
		seen := map[Prefix]int{}
		for _, p := range want {
			seen[p]++
		}
		for i, p := range got {
			if seen[p] == 0 {
				t.Fatalf("Lookup(%s) returned %+v, not in the scan", a, p)
			}
			seen[p]--
			if i > 0 && got[i-1].Prefix.Bits() > p.Prefix.Bits() {
				t.Fatalf("Lookup(%s) not broadest first: %v", a, got)
			}
		}
	}
	// A v4-mapped IPv6 address is looked up as IPv4.
	if got := s.Lookup(netip.MustParseAddr("::ffff:15.193.6.10")); len(got) == 0 {
		t.Error("v4-mapped address found nothing")
	}
	if got := s.Lookup(netip.Addr{}); got != nil {
		t.Errorf("zero Addr found %v", got)
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestLookupEdgesOfAddressSpace(t *testing.T) {
	s := &Set{Prefixes: []Prefix{
		{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Region: "r", Service: "ALL4"},
		{Prefix: netip.MustParsePrefix("255.255.255.0/24"), Region: "r", Service: "TOP4"},
		{Prefix: netip.MustParsePrefix("ffff::/16"), Region: "r", Service: "TOP6"},
		{Prefix: netip.MustParsePrefix("::/0"), Region: "r", Service: "ALL6"},
	}}
	if got := s.Lookup(netip.MustParseAddr("255.255.255.255")); len(got) != 2 || got[0].Service != "ALL4" || got[1].Service != "TOP4" {
		t.Errorf("top v4: %v", got)
	}
	if got := s.Lookup(netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")); len(got) != 2 || got[1].Service != "TOP6" {
		t.Errorf("top v6: %v", got)
	}
	if got := s.Lookup(netip.MustParseAddr("::1")); len(got) != 1 || got[0].Service != "ALL6" {
		t.Errorf("::1: %v", got)
	}
}

func TestForRegionIncludesGlobal(t *testing.T) {
	s := mustLoad(t, "testdata/small.json")
	var got []string
	for _, p := range s.ForRegion("AMAZON_CONNECT", "us-east-1") {
		if p.Prefix.Addr().Is4() {
			got = append(got, p.Prefix.String()+" "+p.Region)
		}
	}
	want := "15.193.0.0/19 GLOBAL,15.193.6.0/24 us-east-1,52.55.191.224/27 us-east-1"
	if strings.Join(got, ",") != want {
		t.Fatalf("ForRegion = %v, want %s", got, want)
	}
	// Filter stays exact: GLOBAL is not added.
	if n := len(s.Filter("AMAZON_CONNECT", "us-east-1", false)); n != 2 {
		t.Errorf("Filter us-east-1 = %d entries, want 2", n)
	}
}

func TestAggregate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.0/24 10.0.1.0/24", "10.0.0.0/23"},
		{"10.0.0.0/24 10.0.0.128/25 10.0.1.0/24 10.0.2.0/24", "10.0.0.0/23 10.0.2.0/24"},
		{"10.0.1.0/24 10.0.2.0/24", "10.0.1.0/24 10.0.2.0/24"}, // adjacent, not alignable
		{"15.193.0.0/19 15.193.6.0/24 52.55.191.224/27", "15.193.0.0/19 52.55.191.224/27"},
		{"0.0.0.0/1 128.0.0.0/1", "0.0.0.0/0"},
		{"255.255.255.254/32 255.255.255.255/32", "255.255.255.254/31"},
		{"2600:f0f2:7100::/40 2600:f0f2:7101::/48 10.0.0.0/8", "10.0.0.0/8 2600:f0f2:7100::/40"},
		{"::/1 8000::/1", "::/0"},
		{"", ""},
	} {
		var in []netip.Prefix
		for _, f := range strings.Fields(tc.in) {
			in = append(in, netip.MustParsePrefix(f))
		}
		var got []string
		for _, p := range Aggregate(in) {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Aggregate(%s) = %v, want %s", tc.in, got, tc.want)
		}
	}
}

// TestAggregateCoversExactly checks on the real CLOUDFRONT set that the
// aggregate contains every input address and nothing outside it.
func TestAggregateCoversExactly(t *testing.T) {
	s, _ := Embedded()
	var in []netip.Prefix
	for _, p := range s.Filter("CLOUDFRONT", "", false) {
		in = append(in, p.Prefix)
	}
	agg := Aggregate(in)
	if len(agg) == 0 || len(agg) >= len(in) {
		t.Fatalf("aggregate of %d prefixes has %d", len(in), len(agg))
	}
	inSet := &Set{}
	for _, p := range in {
		inSet.Prefixes = append(inSet.Prefixes, Prefix{Prefix: p})
	}
	aggSet := &Set{}
	for _, p := range agg {
		aggSet.Prefixes = append(aggSet.Prefixes, Prefix{Prefix: p})
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		p := agg[r.IntN(len(agg))]
		for _, a := range []netip.Addr{p.Addr(), lastAddr(p), p.Addr().Prev(), lastAddr(p).Next()} {
			if a.IsValid() && (len(inSet.Lookup(a)) > 0) != (len(aggSet.Lookup(a)) > 0) {
				t.Fatalf("%s: in input %v, in aggregate %v", a, len(inSet.Lookup(a)) > 0, len(aggSet.Lookup(a)) > 0)
			}
		}
	}
}

func TestCompare(t *testing.T) {
	old, cur := mustLoad(t, "testdata/small.json"), mustLoad(t, "testdata/newer.json")
	d := Compare(old, cur)
	if !d.Changed() || len(d.Changes) != 1 {
		t.Fatalf("changes = %+v", d.Changes)
	}
	c := d.Changes[0]
	if c.Service != "EC2" || c.Region != "GLOBAL" || len(c.Added) != 1 || c.Added[0].String() != "3.5.64.0/19" || c.Removed[0].String() != "3.5.0.0/19" {
		t.Fatalf("change = %+v", c)
	}
	if d := Compare(old, cur, "AMAZON_CONNECT"); d.Changed() {
		t.Fatalf("AMAZON_CONNECT did not change: %+v", d.Changes)
	}
	if d := Compare(old, old); d.Changed() {
		t.Fatal("a file differs from itself")
	}
}

func TestOpenPicksNewerOfCacheAndEmbedded(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	s, err := Open("")
	if err != nil || s.Source != SourceEmbedded {
		t.Fatalf("no cache: %v %v", s, err)
	}
	dir := filepath.Join(cache, "ccp-preflight")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, CacheFile)
	// An older cache loses to the embedded copy.
	copyFile(t, "testdata/old-format.json", path)
	if s, err := Open(""); err != nil || s.Source != SourceEmbedded {
		t.Fatalf("older cache: %v %v", s, err)
	}
	// A newer one wins.
	newer := bytes.Replace(ccppreflight.IPRanges, []byte("2026-08-22-15-17-05"), []byte("2026-11-20-00-00-00"), 1)
	if err := os.WriteFile(path, newer, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(""); err != nil || s.Source != path || s.CreateDate.Month() != time.November {
		t.Fatalf("newer cache: %v %v", s, err)
	}
	// A broken cache is ignored with a note.
	if err := os.WriteFile(path, newer[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(""); err != nil || s.Source != SourceEmbedded || !strings.Contains(s.Note, "ignored the cached file") {
		t.Fatalf("broken cache: %+v %v", s, err)
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open("testdata/nope.json")
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "testdata/nope.json: no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestFreshnessText(t *testing.T) {
	s := mustLoad(t, "testdata/small.json")
	day := 24 * time.Hour
	if got := s.Freshness(s.CreateDate.Add(3 * day)); strings.Contains(got, "STALE") || !strings.Contains(got, "3 days old") {
		t.Errorf("fresh: %s", got)
	}
	if got := s.Freshness(s.CreateDate.Add(25 * day)); !strings.Contains(got, "stale in 5 days") {
		t.Errorf("approaching: %s", got)
	}
	if got := s.Freshness(s.CreateDate.Add(40 * day)); !strings.Contains(got, "STALE") || !strings.Contains(got, "ccp-preflight ranges update") {
		t.Errorf("stale: %s", got)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"AMAZON", "AMAZON_CONNECT", "CLOUDFRONT", "EC2"}
	for in, want := range map[string]string{"AMAZON_CONECT": "AMAZON_CONNECT", "amazon_connect": "AMAZON_CONNECT", "ec3": "EC2", "cloudfrnt": "CLOUDFRONT", "S3_BUCKETS_XYZ": ""} {
		if got := Suggest(in, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Suggest("us-est-1", []string{"us-east-1", "us-east-2", "eu-west-1"}); got != "us-east-1" {
		t.Errorf("region suggestion = %q", got)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/small.json", "testdata/old-format.json", "testdata/newer.json", "testdata/aws-2016-11-09.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte(""))
	f.Add([]byte("<html>"))
	f.Add([]byte(`{"syncToken":"1","createDate":"2026-08-22-15-17-05","prefixes":[{"ip_prefix":"1.2.3.0/24","region":"r","service":"S"}],"x":"\ud800"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := LoadBytes(b, "fuzz")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q (%T) is not a one-line InputError", err, err)
			}
			if ie.Offset > len(b) {
				t.Fatalf("offset %d beyond %d bytes", ie.Offset, len(b))
			}
			return
		}
		if len(s.Prefixes) == 0 || s.CreateDate.IsZero() || s.SyncToken == "" {
			t.Fatalf("accepted an incomplete file: %+v", s)
		}
		for _, p := range s.Prefixes {
			if !p.Prefix.IsValid() || p.Prefix.Masked() != p.Prefix || p.Region == "" || p.Service == "" {
				t.Fatalf("accepted a bad entry %+v", p)
			}
			if len(s.Lookup(p.Prefix.Addr())) == 0 {
				t.Fatalf("entry %v not found by Lookup", p.Prefix)
			}
		}
	})
}
