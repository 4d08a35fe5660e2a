package ranges

import (
	"encoding/binary"
	"net/netip"
	"slices"
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
	idx         int32 // into the Prefix slice indexed
}

func buildIndex(ps []Prefix) *index {
	v4 := make([]interval[uint32], 0, len(ps))
	var v6 []interval[u128]
	for i, p := range ps {
		if p.Prefix.Addr().Is4() {
			a4 := p.Prefix.Addr().As4()
			lo := binary.BigEndian.Uint32(a4[:])
			size := uint64(1) << (32 - p.Prefix.Bits())
			end := uint64(lo) + size
			v4 = append(v4, interval[uint32]{lo: lo, hiPlus1: uint32(end), top: end > 0xffffffff, bits: p.Prefix.Bits(), idx: int32(i)})
		} else {
			a := p.Prefix.Addr().As16()
			lo := u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])}
			hp, top := addPow2(lo, 128-p.Prefix.Bits())
			v6 = append(v6, interval[u128]{lo: lo, hiPlus1: hp, top: top, bits: p.Prefix.Bits(), idx: int32(i)})
		}
	}
	return &index{
		v4: sweep(ps, v4, orderV4(v4), func(a, b uint32) bool { return a < b }),
		v6: sweep(ps, v6, orderV6(v6), u128.less),
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

// orderV4 sorts IPv4 intervals by start, broadest first, then file order,
// with one integer sort (start<<32 | bits<<26 | index).
func orderV4(ivs []interval[uint32]) []int32 {
	keys := make([]uint64, len(ivs))
	for i, iv := range ivs {
		keys[i] = uint64(iv.lo)<<32 | uint64(iv.bits)<<26 | uint64(i)
	}
	slices.Sort(keys)
	order := make([]int32, len(ivs))
	for i, k := range keys {
		order[i] = int32(k & (1<<26 - 1))
	}
	return order
}

// orderV6 is orderV4 for IPv6 intervals.
func orderV6(ivs []interval[u128]) []int32 {
	order := make([]int32, len(ivs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		a, b := &ivs[x], &ivs[y]
		switch {
		case a.lo != b.lo:
			if a.lo.less(b.lo) {
				return -1
			}
			return 1
		case a.bits != b.bits:
			return a.bits - b.bits
		}
		return int(x - y)
	})
	return order
}

// sweep cuts the address space at every start and end of the intervals,
// visited in order (by start, broadest first). Because CIDR prefixes are
// nested or disjoint, the covering intervals form a stack: each one lies
// inside the one below it, so the first to end is on top.
func sweep[K addrKey](ps []Prefix, ivs []interval[K], order []int32, less func(a, b K) bool) segments[K] {
	seg := segments[K]{less: less}
	if len(ivs) == 0 {
		return seg
	}
	seg.starts = make([]K, 0, 2*len(ivs))
	seg.offs = make([]int32, 0, 2*len(ivs)+1)
	seg.entries = make([]Prefix, 0, 3*len(ivs))
	var stack []int32
	// emit starts a segment at pt covered by the stack; a segment already
	// started at pt is replaced.
	emit := func(pt K) {
		if n := len(seg.starts); n > 0 && seg.starts[n-1] == pt {
			seg.entries = seg.entries[:seg.offs[n-1]]
		} else {
			seg.starts = append(seg.starts, pt)
			seg.offs = append(seg.offs, int32(len(seg.entries)))
		}
		for _, i := range stack {
			seg.entries = append(seg.entries, ps[ivs[i].idx])
		}
	}
	// popUntil pops every interval ending at or before limit (all when
	// all is set), starting a segment where each one ends.
	popUntil := func(limit K, all bool) {
		for len(stack) > 0 {
			top := &ivs[stack[len(stack)-1]]
			if top.top || (!all && less(limit, top.hiPlus1)) {
				return
			}
			end := top.hiPlus1
			for len(stack) > 0 {
				t := &ivs[stack[len(stack)-1]]
				if t.top || t.hiPlus1 != end {
					break
				}
				stack = stack[:len(stack)-1]
			}
			emit(end)
		}
	}
	for _, i := range order {
		iv := &ivs[i]
		popUntil(iv.lo, false)
		stack = append(stack, i)
		emit(iv.lo)
	}
	popUntil(ivs[0].lo, true)
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
