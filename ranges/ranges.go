// Package ranges owns AWS's published ip-ranges.json: load and validate it,
// filter it, look addresses up, aggregate, export allowlists, diff two files
// and keep a refreshed copy in the user's cache.
//
// A Set is read-only once loaded and safe for concurrent use.
package ranges

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	ccppreflight "github.com/ccp-preflight/ccp-preflight"
	"github.com/ccp-preflight/ccp-preflight/internal/inputfile"
	"github.com/ccp-preflight/ccp-preflight/internal/redact"
)

// DefaultURL is where AWS publishes the file.
const DefaultURL = "https://ip-ranges.amazonaws.com/ip-ranges.json"

// NoticePeriod is AWS's advance notice: new ranges are published at least
// 30 days before they are used, so allowlists (and this data) must be
// refreshed within 30 days (docs/CONNECT.md, Option 2).
const NoticePeriod = 30 * 24 * time.Hour

// MaxFileSize bounds what Load reads: the real file is ~2.6 MB; anything
// beyond 64 MiB is not ip-ranges.json.
const MaxFileSize = 64 << 20

// fetchTimeout bounds a download of the file (--ranges URL, update): the
// 2.6 MB file takes well under a second on a working link; 60 s tolerates a
// slow one without hanging a script forever.
const fetchTimeout = 60 * time.Second

// SourceEmbedded is Set.Source for the copy built into the binary.
const SourceEmbedded = "embedded"

// Global is the region name AWS uses for ranges not tied to one region.
const Global = "GLOBAL"

// Prefix is one entry of the file: a prefix used by one service.
type Prefix struct {
	Prefix             netip.Prefix
	Region             string
	Service            string
	NetworkBorderGroup string // empty in files from before ~2019
}

// Set is a validated ranges file.
type Set struct {
	// Source says where the data came from: "embedded", a path or a URL.
	Source     string
	CreateDate time.Time
	SyncToken  string
	// Prefixes lists the entries of "prefixes" and "ipv6_prefixes", each
	// list in file order.
	Prefixes []Prefix
	// Note is a remark about how the set was chosen (e.g. an unreadable
	// cache was ignored); empty when there is nothing to say.
	Note string

	once sync.Once
	idx  *index
}

// Load parses and validates a file; source names it in errors. Errors
// for bad content are *InputError with the byte offset.
func Load(r io.Reader, source string) (*Set, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, &InputError{Source: source, Offset: -1, Msg: fmt.Sprintf("read: %v", err)}
	}
	return LoadBytes(b, source)
}

// LoadBytes is Load for a file already in memory. b is not retained.
func LoadBytes(b []byte, source string) (*Set, error) {
	if len(b) > MaxFileSize {
		return nil, &InputError{Source: source, Offset: -1, Msg: fmt.Sprintf("larger than %d MiB: not ip-ranges.json", MaxFileSize>>20)}
	}
	s := &Set{Source: source, Prefixes: make([]Prefix, 0, len(b)/150)}
	p := parser{b: b, src: source, intern: make(map[string]string, 256)}
	if err := p.parse(s); err != nil {
		return nil, err
	}
	return s, nil
}

// header reads only syncToken and createDate (cheap when they come first,
// as in every published file).
func header(b []byte, source string) (*Set, error) {
	s := &Set{Source: source}
	p := parser{b: b, src: source, headerOnly: true}
	if err := p.parse(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Age is how old the data is at now, from its createDate.
func (s *Set) Age(now time.Time) time.Duration { return now.Sub(s.CreateDate) }

// Stale reports whether the data is older than AWS's 30-day notice at now.
func (s *Set) Stale(now time.Time) bool { return s.Age(now) > NoticePeriod }

// Freshness describes the data in one line for people, e.g.
// "embedded copy, createDate 2026-08-22 15:17:05 UTC, 94 days old: STALE …".
func (s *Set) Freshness(now time.Time) string {
	src := s.Source
	if src == SourceEmbedded {
		src = "embedded copy"
	}
	age := s.Age(now)
	days := int(age / (24 * time.Hour))
	msg := fmt.Sprintf("%s, createDate %s UTC, %d days old", src, s.CreateDate.Format("2006-01-02 15:04:05"), days)
	switch {
	case age < -24*time.Hour:
		msg += ": createDate is in the future (is this computer's clock right?)"
	case age > NoticePeriod:
		msg += ": STALE, older than AWS's 30-day notice for new ranges; run `ccp-preflight ranges update`"
	case age > NoticePeriod-WarnMargin:
		msg += fmt.Sprintf(": stale in %d days; run `ccp-preflight ranges update` soon", int((NoticePeriod-age)/(24*time.Hour)))
	}
	return msg
}

// WarnMargin is how long before the 30-day notice ends data counts as
// "getting stale": a week leaves time to refresh a firewall allowlist
// through change control.
const WarnMargin = 7 * 24 * time.Hour

// Filter returns the entries of service (all if "") in region (all if "");
// IPv6 prefixes only when ipv6, else IPv4 only. Region matches exactly:
// asking for "us-east-1" does not return GLOBAL entries (see ForRegion).
func (s *Set) Filter(service, region string, ipv6 bool) []Prefix {
	var out []Prefix
	for _, p := range s.Prefixes {
		if (service == "" || p.Service == service) && (region == "" || p.Region == region) && p.Prefix.Addr().Is6() == ipv6 {
			out = append(out, p)
		}
	}
	return out
}

// ForRegion returns the entries of service that serve region as AWS's
// Option 2 rules read: the region's own entries and the GLOBAL ones, both
// address families, sorted by address. service "" means every service.
func (s *Set) ForRegion(service, region string) []Prefix {
	var out []Prefix
	for _, p := range s.Prefixes {
		if (service == "" || p.Service == service) && (region == "" || p.Region == region || p.Region == Global) {
			out = append(out, p)
		}
	}
	SortPrefixes(out)
	return out
}

// SortPrefixes orders entries by address family, address, prefix length,
// then service and region: the order people expect in a list.
func SortPrefixes(ps []Prefix) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c < 0
		}
		if a.Prefix.Bits() != b.Prefix.Bits() {
			return a.Prefix.Bits() < b.Prefix.Bits()
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Region < b.Region
	})
}

// Services returns the service names in the file, sorted.
func (s *Set) Services() []string { return s.names(func(p Prefix) string { return p.Service }) }

// Regions returns the region names in the file (GLOBAL included), sorted.
func (s *Set) Regions() []string { return s.names(func(p Prefix) string { return p.Region }) }

func (s *Set) names(f func(Prefix) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range s.Prefixes {
		if n := f(p); !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Lookup returns every entry containing a, broadest prefix first. It uses
// an interval index built on first use (Prefixes must not change after
// that). The returned slice is shared: callers must not modify it. A
// v4-mapped IPv6 address is looked up as IPv4.
func (s *Set) Lookup(a netip.Addr) []Prefix {
	s.once.Do(func() { s.idx = buildIndex(s.Prefixes) })
	return s.idx.lookup(a.Unmap())
}

// CacheDir is where update keeps the file: os.UserCacheDir()/ccp-preflight
// (on Linux $XDG_CACHE_HOME or ~/.cache).
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "ccp-preflight"), nil
}

// CacheFile is the name of the cached file inside the cache directory.
const CacheFile = "ip-ranges.json"

// Embedded returns the copy built into the binary.
func Embedded() (*Set, error) { return LoadBytes(ccppreflight.IPRanges, SourceEmbedded) }

// Open returns the ranges to use. from is "" for the newer (by createDate)
// of the user cache (see CacheDir) and the embedded copy; "embedded" for
// the embedded copy; else a file path or an http(s) URL. Bad content is
// an *InputError; an unreadable file or failed download a plain error.
func Open(from string) (*Set, error) {
	return OpenContext(context.Background(), from)
}

// OpenContext is Open with a download (an http(s) URL) bounded by ctx as
// well as by fetchTimeout.
func OpenContext(ctx context.Context, from string) (*Set, error) {
	switch {
	case from == "":
		dir, err := CacheDir()
		if err != nil {
			return Embedded()
		}
		return openNewest(filepath.Join(dir, CacheFile))
	case from == SourceEmbedded:
		return Embedded()
	case IsURL(from):
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		return fetch(ctx, http.DefaultClient, from)
	}
	b, err := inputfile.Read(from, MaxFileSize)
	if err != nil {
		return nil, &InputError{Source: from, Offset: -1, Msg: plainErr(err)}
	}
	return LoadBytes(b, from)
}

// IsURL reports whether from (a --ranges value) is an http(s) URL, which
// Open downloads.
func IsURL(from string) bool {
	return strings.HasPrefix(from, "http://") || strings.HasPrefix(from, "https://")
}

// openNewest loads the cache at path when it is newer than the embedded
// copy, else the embedded copy. Only headers are read to compare, so the
// common case parses one file. A broken cache is ignored with a Note.
func openNewest(path string) (*Set, error) {
	emb, err := header(ccppreflight.IPRanges, SourceEmbedded)
	if err != nil {
		return nil, err
	}
	b, err := inputfile.Read(path, MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return Embedded()
	}
	if err == nil {
		var h *Set
		if h, err = header(b, path); err == nil {
			if !h.CreateDate.After(emb.CreateDate) {
				return Embedded()
			}
			var s *Set
			if s, err = LoadBytes(b, path); err == nil {
				return s, nil
			}
		}
	}
	// err names the path already when it is an InputError.
	why := fmt.Sprintf("%s: %s", path, plainErr(err))
	var ie *InputError
	if errors.As(err, &ie) {
		why = err.Error()
	}
	note := fmt.Sprintf("ignored the cached file (%s); run `ccp-preflight ranges update`", why)
	s, err := Embedded()
	if s != nil {
		s.Note = note
	}
	return s, err
}

// fetch downloads and loads a file from url. Errors and the Set's Source
// name the URL without the user:password@ it may carry.
func fetch(ctx context.Context, c *http.Client, url string) (*Set, error) {
	name := redact.URL(url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &InputError{Source: name, Offset: -1, Msg: redact.Text(err.Error())}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, redact.Text(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s", name, resp.Status)
	}
	return Load(resp.Body, name)
}

// plainErr drops the "open PATH: " prefix the os package adds (the path is
// named by the caller already).
func plainErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Contains is a convenience: whether a lies in any entry of service
// ("" = any) — e.g. ranges.membership asks this for a TURN address.
func (s *Set) Contains(a netip.Addr, service string) bool {
	for _, p := range s.Lookup(a) {
		if service == "" || p.Service == service {
			return true
		}
	}
	return false
}
