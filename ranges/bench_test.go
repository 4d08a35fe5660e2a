package ranges

import (
	"net/netip"
	"testing"

	ccppreflight "github.com/ccp-preflight/ccp-preflight"
)

// BenchmarkLoadEmbedded measures parsing and validating the embedded
// 2.6 MB file (target: ≤ 30 ms on the project's 2-core machine).
func BenchmarkLoadEmbedded(b *testing.B) {
	b.SetBytes(int64(len(ccppreflight.IPRanges)))
	for b.Loop() {
		if _, err := LoadBytes(ccppreflight.IPRanges, SourceEmbedded); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup measures Lookup over a mix of IPv4 and IPv6 addresses,
// inside and outside the ranges (target: ≥ 5 million lookups/s).
func BenchmarkLookup(b *testing.B) {
	s, err := Embedded()
	if err != nil {
		b.Fatal(err)
	}
	addrs := []netip.Addr{
		netip.MustParseAddr("15.193.6.10"), netip.MustParseAddr("52.55.191.230"),
		netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("54.239.0.1"),
		netip.MustParseAddr("2600:f0f2:7101::1"), netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("3.5.140.7"), netip.MustParseAddr("13.32.1.1"),
	}
	s.Lookup(addrs[0]) // build the index outside the timing
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		n += len(s.Lookup(addrs[i&7]))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	if n == 0 {
		b.Fatal("no lookup found anything")
	}
}

// BenchmarkOpenDefault is what a command pays to get its data: compare the
// cache header with the embedded one, then load the newer.
func BenchmarkOpenDefault(b *testing.B) {
	b.Setenv("XDG_CACHE_HOME", b.TempDir())
	for b.Loop() {
		if _, err := Open(""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildIndex is the one-time cost of the lookup index, paid by
// the first Lookup of a process.
func BenchmarkBuildIndex(b *testing.B) {
	s, err := Embedded()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		buildIndex(s.Prefixes)
	}
}
