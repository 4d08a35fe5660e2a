package ranges

import (
	"net/netip"
	"sort"
)

// Change is what changed for one service in one region between two files.
type Change struct {
	Service, Region string
	Added, Removed  []netip.Prefix // sorted by address
}

// BorderGroupChange is a prefix kept by a service and region whose
// network_border_group changed (only when both files name one).
type BorderGroupChange struct {
	Service, Region string
	Prefix          netip.Prefix
	Old, New        string
}

// Diff is the difference between two files.
type Diff struct {
	Old, New     *Set
	Changes      []Change // sorted by service, then region
	BorderGroups []BorderGroupChange
}

// Changed reports whether anything differs.
func (d *Diff) Changed() bool { return len(d.Changes) > 0 || len(d.BorderGroups) > 0 }

// Counts returns the number of prefixes added and removed.
func (d *Diff) Counts() (added, removed int) {
	for _, c := range d.Changes {
		added += len(c.Added)
		removed += len(c.Removed)
	}
	return
}

type diffKey struct {
	service, region string
	prefix          netip.Prefix
}

// Compare returns what changed from old to new for the services listed
// (every service when services is empty). An entry is (service, region,
// prefix); a changed border group is reported separately.
func Compare(old, new *Set, services ...string) *Diff {
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	keep := func(p Prefix) bool { return len(want) == 0 || want[p.Service] }
	index := func(s *Set) map[diffKey]string {
		m := make(map[diffKey]string, len(s.Prefixes))
		for _, p := range s.Prefixes {
			if keep(p) {
				m[diffKey{p.Service, p.Region, p.Prefix}] = p.NetworkBorderGroup
			}
		}
		return m
	}
	om, nm := index(old), index(new)
	type sr struct{ service, region string }
	changes := map[sr]*Change{}
	get := func(k diffKey) *Change {
		c := changes[sr{k.service, k.region}]
		if c == nil {
			c = &Change{Service: k.service, Region: k.region}
			changes[sr{k.service, k.region}] = c
		}
		return c
	}
	d := &Diff{Old: old, New: new}
	for k, nbg := range nm {
		onbg, ok := om[k]
		switch {
		case !ok:
			c := get(k)
			c.Added = append(c.Added, k.prefix)
		case onbg != "" && nbg != "" && onbg != nbg:
			d.BorderGroups = append(d.BorderGroups, BorderGroupChange{k.service, k.region, k.prefix, onbg, nbg})
		}
	}
	for k := range om {
		if _, ok := nm[k]; !ok {
			c := get(k)
			c.Removed = append(c.Removed, k.prefix)
		}
	}
	for _, c := range changes {
		sortAddrs(c.Added)
		sortAddrs(c.Removed)
		d.Changes = append(d.Changes, *c)
	}
	sort.Slice(d.Changes, func(i, j int) bool {
		a, b := d.Changes[i], d.Changes[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Region < b.Region
	})
	sort.Slice(d.BorderGroups, func(i, j int) bool {
		a, b := d.BorderGroups[i], d.BorderGroups[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Prefix.Addr().Less(b.Prefix.Addr())
	})
	return d
}

func sortAddrs(ps []netip.Prefix) {
	sort.Slice(ps, func(i, j int) bool {
		if c := ps[i].Addr().Compare(ps[j].Addr()); c != 0 {
			return c < 0
		}
		return ps[i].Bits() < ps[j].Bits()
	})
}
