package ranges

import (
	"encoding/binary"
	"net/netip"
	"sort"
)

// index answers "which entries contain this address" with a binary search
// over sorted, disjoint intervals. CIDR prefixes are laminar (two prefixes
// are nested or disjoint), so one sweep with a stack cuts the address space
// into segments, each with its list of covering entries, broadest first.
// A lookup is ~15 comparisons and allocates nothing.
type index struct {
	v4 segments[uint32]
	v6 segments[u128]
}

// u128 is an IPv6 address as two big-endian halves.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

type addrKey interface{ uint32 | u128 }

// segments: starts[i] begins segment i, which ends where segment i+1
// begins; its entries are entries[offs[i]:offs[i+1]].
type segments[K addrKey] struct {
	starts  []K
	offs    []int32
	entries []Prefix
	less    func(a, b K) bool
}

// interval is one entry as [lo, hi] inclusive; hiPlus1 is hi+1 unless hi
// is the top of the address space (then top is set).
type interval[K addrKey] struct {
	lo, hiPlus1 K
	top         bool
	bits        int
	p           Prefix
}

func buildIndex(ps []Prefix) *index {
	var v4 []interval[uint32]
	var v6 []interval[u128]
	for _, p := range ps {
		if p.Prefix.Addr().Is4() {
			lo := binary.BigEndian.Uint32(p.Prefix.Addr().AsSlice())
			size := uint64(1) << (32 - p.Prefix.Bits())
			end := uint64(lo) + size
			v4 = append(v4, interval[uint32]{lo: lo, hiPlus1: uint32(end), top: end > 0xffffffff, bits: p.Prefix.Bits(), p: p})
		} else {
			a := p.Prefix.Addr().As16()
			lo := u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])}
			hp, top := addPow2(lo, 128-p.Prefix.Bits())
			v6 = append(v6, interval[u128]{lo: lo, hiPlus1: hp, top: top, bits: p.Prefix.Bits(), p: p})
		}
	}
	return &index{
		v4: sweep(v4, func(a, b uint32) bool { return a < b }),
		v6: sweep(v6, u128.less),
	}
}

// addPow2 returns a + 2^n and whether it overflowed 128 bits.
func addPow2(a u128, n int) (u128, bool) {
	var inc u128
	if n >= 64 {
		if n == 128 {
			return u128{}, true
		}
		inc.hi = 1 << (n - 64)
	} else {
		inc.lo = 1 << n
	}
	lo := a.lo + inc.lo
	carry := uint64(0)
	if lo < a.lo {
		carry = 1
	}
	hi := a.hi + inc.hi + carry
	overflow := hi < a.hi || (hi == a.hi && (inc.hi != 0 || carry != 0))
	return u128{hi, lo}, overflow
}

func sweep[K addrKey](ivs []interval[K], less func(a, b K) bool) segments[K] {
	seg := segments[K]{less: less}
	if len(ivs) == 0 {
		return seg
	}
	// Broadest first among equal starts, then file order (stable).
	sort.SliceStable(ivs, func(i, j int) bool {
		if ivs[i].lo != ivs[j].lo {
			return less(ivs[i].lo, ivs[j].lo)
		}
		return ivs[i].bits < ivs[j].bits
	})
	// Every boundary: starts and ends+1.
	points := make([]K, 0, 2*len(ivs))
	for _, iv := range ivs {
		points = append(points, iv.lo)
		if !iv.top {
			points = append(points, iv.hiPlus1)
		}
	}
	sort.Slice(points, func(i, j int) bool { return less(points[i], points[j]) })
	uniq := points[:0]
	for i, p := range points {
		if i == 0 || p != uniq[len(uniq)-1] {
			uniq = append(uniq, p)
		}
	}
	// ended reports whether iv ends at or before point p.
	ended := func(iv interval[K], p K) bool { return !iv.top && !less(p, iv.hiPlus1) }
	var stack []interval[K]
	next := 0
	for _, pt := range uniq {
		for len(stack) > 0 && ended(stack[len(stack)-1], pt) {
			stack = stack[:len(stack)-1]
		}
		for next < len(ivs) && ivs[next].lo == pt {
			stack = append(stack, ivs[next])
			next++
		}
		seg.starts = append(seg.starts, pt)
		seg.offs = append(seg.offs, int32(len(seg.entries)))
		for _, iv := range stack {
			seg.entries = append(seg.entries, iv.p)
		}
	}
	seg.offs = append(seg.offs, int32(len(seg.entries)))
	return seg
}

// find returns the entries of the segment containing k.
func (s *segments[K]) find(k K) []Prefix {
	// Largest i with starts[i] <= k.
	lo, hi := 0, len(s.starts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.less(k, s.starts[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	i := lo - 1
	if i < 0 {
		return nil
	}
	a, b := s.offs[i], s.offs[i+1]
	if a == b {
		return nil
	}
	return s.entries[a:b:b]
}

func (x *index) lookup(a netip.Addr) []Prefix {
	switch {
	case a.Is4():
		b := a.As4()
		return x.v4.find(binary.BigEndian.Uint32(b[:]))
	case a.Is6():
		b := a.As16()
		return x.v6.find(u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])})
	}
	return nil
}
