package ranges

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sort"
	"strings"
)

// Aggregate returns the minimal set of CIDR prefixes covering exactly the
// union of ps: overlapping and adjacent prefixes are merged. IPv4 comes
// before IPv6, each sorted by address. ps is not modified.
func Aggregate(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, v6 := range []bool{false, true} {
		total := 32
		if v6 {
			total = 128
		}
		type iv struct{ lo, hi u128 }
		var ivs []iv
		for _, p := range ps {
			if !p.IsValid() || p.Addr().Is6() != v6 {
				continue
			}
			p = p.Masked()
			lo := toU128(p.Addr())
			ivs = append(ivs, iv{lo, or(lo, ones(total-p.Bits()))})
		}
		sort.Slice(ivs, func(i, j int) bool { return ivs[i].lo.less(ivs[j].lo) })
		var merged []iv
		for _, x := range ivs {
			if n := len(merged); n > 0 {
				last := &merged[n-1]
				// Overlapping or adjacent: x.lo <= last.hi+1.
				if next, top := addPow2(last.hi, 0); top || !next.less(x.lo) {
					if last.hi.less(x.hi) {
						last.hi = x.hi
					}
					continue
				}
			}
			merged = append(merged, x)
		}
		for _, m := range merged {
			lo := m.lo
			for {
				h := tz(lo)
				if h > total {
					h = total
				}
				for h > 0 && m.hi.less(or(lo, ones(h))) {
					h--
				}
				out = append(out, netip.PrefixFrom(fromU128(lo, v6), total-h))
				end := or(lo, ones(h))
				if end == m.hi {
					break
				}
				lo, _ = addPow2(end, 0)
			}
		}
	}
	return out
}

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func fromU128(x u128, v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(x.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

// ones is 2^n - 1.
func ones(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case n >= 64:
		return u128{(uint64(1) << (n - 64)) - 1, ^uint64(0)}
	}
	return u128{0, (uint64(1) << n) - 1}
}

func or(a, b u128) u128 { return u128{a.hi | b.hi, a.lo | b.lo} }

// tz counts trailing zero bits (128 for zero).
func tz(x u128) int {
	if x.lo != 0 {
		return bits.TrailingZeros64(x.lo)
	}
	if x.hi != 0 {
		return 64 + bits.TrailingZeros64(x.hi)
	}
	return 128
}

// Suggest returns the name in names nearest to s (case-insensitive edit
// distance), or "" when nothing is close enough to be a likely typo.
func Suggest(s string, names []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, n := range names {
		d := editDistance(ls, strings.ToLower(n))
		if bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// Canonical returns the name in names equal to s ignoring case, or "".
func Canonical(s string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return n
		}
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
