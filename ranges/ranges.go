// Package ranges owns AWS's published ip-ranges.json: load and validate it,
// filter it, look addresses up, aggregate, export allowlists, diff two files
// and keep a refreshed copy in the user's cache.
//
// STUB: minimal API for the other packages; the ranges work replaces it.
package ranges

import (
	"bytes"
	"os"

	"encoding/json"
	"fmt"
	ccppreflight "github.com/ccp-preflight/ccp-preflight"
	"io"
	"net/netip"
	"time"
)

// Prefix is one entry of the file: a prefix used by one service.
type Prefix struct {
	Prefix             netip.Prefix
	Region             string
	Service            string
	NetworkBorderGroup string
}

// Set is a validated ranges file.
type Set struct {
	// Source says where the data came from: "embedded", a path or a URL.
	Source     string
	CreateDate time.Time
	SyncToken  string
	Prefixes   []Prefix
}

type rawFile struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Prefixes   []struct {
		IPPrefix string `json:"ip_prefix"`
		Region   string `json:"region"`
		Service  string `json:"service"`
		NBG      string `json:"network_border_group"`
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		IPv6Prefix string `json:"ipv6_prefix"`
		Region     string `json:"region"`
		Service    string `json:"service"`
		NBG        string `json:"network_border_group"`
	} `json:"ipv6_prefixes"`
}

// Load parses and validates a file; source names it in errors.
func Load(r io.Reader, source string) (*Set, error) {
	var raw rawFile
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	s := &Set{Source: source, SyncToken: raw.SyncToken}
	t, err := time.Parse("2006-01-02-15-04-05", raw.CreateDate)
	if err != nil {
		return nil, fmt.Errorf("%s: createDate %q: %v", source, raw.CreateDate, err)
	}
	s.CreateDate = t
	for _, p := range raw.Prefixes {
		pp, err := netip.ParsePrefix(p.IPPrefix)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", source, err)
		}
		s.Prefixes = append(s.Prefixes, Prefix{pp, p.Region, p.Service, p.NBG})
	}
	for _, p := range raw.IPv6Prefixes {
		pp, err := netip.ParsePrefix(p.IPv6Prefix)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", source, err)
		}
		s.Prefixes = append(s.Prefixes, Prefix{pp, p.Region, p.Service, p.NBG})
	}
	return s, nil
}

// Lookup returns every entry containing a.
func (s *Set) Lookup(a netip.Addr) []Prefix {
	var out []Prefix
	for _, p := range s.Prefixes {
		if p.Prefix.Contains(a.Unmap()) {
			out = append(out, p)
		}
	}
	return out
}

// Filter returns the entries of service (all if "") in region (all if "");
// IPv6 prefixes only when ipv6, else IPv4 only.
func (s *Set) Filter(service, region string, ipv6 bool) []Prefix {
	var out []Prefix
	for _, p := range s.Prefixes {
		if (service == "" || p.Service == service) && (region == "" || p.Region == region) && p.Prefix.Addr().Is6() == ipv6 {
			out = append(out, p)
		}
	}
	return out
}

// Age is how old the data is at now, from its createDate.
func (s *Set) Age(now time.Time) time.Duration { return now.Sub(s.CreateDate) }

// Open returns the ranges to use: from a file or URL when from is set,
// else the newer of the user cache and the embedded copy.
// STUB: embedded or file only.
func Open(from string) (*Set, error) {
	if from == "" {
		return Load(bytes.NewReader(ccppreflight.IPRanges), "embedded")
	}
	f, err := os.Open(from)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Load(f, from)
}
