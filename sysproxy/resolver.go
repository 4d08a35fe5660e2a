package sysproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is how a run picks its proxy (the config file's proxy: and
// proxy_pac: keys).
type Mode string

// The modes.
const (
	// ModeSystem uses this computer's proxy settings, as the browser does.
	ModeSystem Mode = "system"
	// ModeNone goes DIRECT.
	ModeNone Mode = "none"
	// ModeFixed uses one proxy for every URL (proxy: URL).
	ModeFixed Mode = "fixed"
	// ModePAC evaluates a given PAC (proxy_pac: FILE|URL, or "wpad").
	ModePAC Mode = "pac"
)

// WPAD, as Options.PAC, asks for WPAD discovery by DNS.
const WPAD = "wpad"

// Time limits of Prepare, inside PrepareBudget.
const (
	// FetchTimeout bounds fetching one PAC (connect, request, body): a PAC
	// server is on the local network; a browser waits longer, but a PAC
	// that takes seconds also delays every page the agent opens.
	FetchTimeout = 3 * time.Second
	// PrepareBudget bounds Prepare: the WPAD lookups, one PAC fetch and
	// its load, with a margin.
	PrepareBudget = 2*time.Second + FetchTimeout + DefaultPACTime
)

// Options configure a Resolver.
type Options struct {
	Mode Mode
	// Fixed is the proxy of ModeFixed; FixedFrom names where it was set
	// ("the config file").
	Fixed     *url.URL
	FixedFrom string
	// PAC is ModePAC's script: a file, an http(s):// or file:// URL, or
	// WPAD. PACFrom names where it was set.
	PAC     string
	PACFrom string
	// System returns this computer's settings (ModeSystem); nil means
	// ReadSystem.
	System func(ctx context.Context) Settings
	// Lookup resolves names for PAC helpers, WPAD and the PAC fetch; nil
	// means the system resolver.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Roots verify an https:// PAC URL; nil means the system's.
	Roots *x509.CertPool
	// Domains are the DNS search domains WPAD looks in; nil means
	// SearchDomains.
	Domains func() []string
	// MyIP is myIpAddress's answer; nil means LocalAddrs.
	MyIP func() []netip.Addr
	// Limits bound each PAC evaluation.
	Limits PACLimits
}

// Resolver finds the proxy for each URL under one configuration. It reads
// the settings and fetches and loads the PAC once (Prepare) and evaluates
// it per URL. Safe for concurrent use.
type Resolver struct {
	o Options

	mu       sync.Mutex
	prepared bool
	settings Settings
	wpad     *loaded // WPAD's PAC (AutoDetect or PAC "wpad")
	pac      *loaded // the PAC URL's (settings' or Options.PAC)
}

// loaded is a PAC fetched and compiled, or why not.
type loaded struct {
	name string // the URL or file it came from
	pac  *PAC
	err  error
}

// NewResolver returns a Resolver for o. It does no work until Prepare or
// For.
func NewResolver(o Options) *Resolver {
	if o.Mode == "" {
		o.Mode = ModeSystem
	}
	return &Resolver{o: o}
}

// Prepare reads the settings and fetches and loads the PACs they (or the
// options) name, once, within ctx (give it PrepareBudget). Later calls
// return at once. What fails becomes a Warning of the Choices, never an
// error: a browser goes on without the PAC.
func (r *Resolver) Prepare(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prepared {
		return
	}
	r.prepared = true
	switch r.o.Mode {
	case ModeSystem:
		if r.o.System != nil {
			r.settings = r.o.System(ctx)
		} else {
			r.settings = ReadSystem(ctx)
		}
		if r.settings.auto != nil {
			return // the OS resolves its automatic settings itself
		}
		if r.settings.AutoDetect {
			r.wpad = r.discover(ctx)
		}
		if r.settings.PACURL != "" {
			r.pac = r.load(ctx, r.settings.PACURL)
		}
	case ModePAC:
		if strings.EqualFold(r.o.PAC, WPAD) {
			r.wpad = r.discover(ctx)
		} else {
			r.pac = r.load(ctx, r.o.PAC)
		}
	}
}

// Settings returns the system settings in use (after Prepare; zero
// unless ModeSystem).
func (r *Resolver) Settings() Settings {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settings
}

// For returns the way a browser with this configuration connects to
// rawURL (an https:// URL; for a PAC, the path is stripped as Chrome does
// for https). It prepares first if needed. It never fails: a broken PAC
// gives DIRECT (or the manual proxy) with a Warning.
func (r *Resolver) For(ctx context.Context, rawURL string) Choice {
	r.Prepare(ctx)
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		c := direct("none", "no proxy: the URL is not one")
		c.Warning = fmt.Sprintf("cannot choose a proxy for %q: not a URL", clip(rawURL))
		return c
	}
	pacURL := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
	host := u.Hostname()
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 443
		if u.Scheme == "http" {
			port = 80
		}
	}
	switch r.o.Mode {
	case ModeNone:
		return direct("none", "no proxy (proxy: none)")
	case ModeFixed:
		return Choice{Hops: []Hop{{Proxy: r.o.Fixed}}, Origin: "config", Source: orDefault(r.o.FixedFrom, "the config file")}
	case ModePAC:
		l := r.pac
		origin := "pac"
		if l == nil {
			l, origin = r.wpad, "wpad"
		}
		c, warn := evaluate(ctx, l, origin, pacURL, host, orDefault(r.o.PACFrom, "the config file"))
		if warn == "" {
			return c
		}
		c = direct("none", "DIRECT (the PAC gave no answer)")
		c.PAC, c.Warning = l.name, warn+"; going DIRECT, as a browser does"
		return c
	}
	return r.system(ctx, pacURL, host, port)
}

// system applies the settings in a browser's order: auto-detect, the PAC
// URL, the manual proxy and its bypass list, DIRECT.
func (r *Resolver) system(ctx context.Context, pacURL, host string, port int) Choice {
	s := r.settings
	var warns []string
	warns = append(warns, s.Problems...)
	from := orDefault(s.From, "the system settings")
	finish := func(c Choice) Choice {
		if len(warns) > 0 {
			c.Warning = strings.Join(warns, "; ")
			if c.Origin != "pac" && c.Origin != "wpad" && (s.AutoDetect || s.PACURL != "") {
				if c.Proxied() {
					c.Warning += "; using the manual proxy, as a browser does"
				} else {
					c.Warning += "; going DIRECT, as a browser does"
				}
			}
		}
		return c
	}
	if s.auto != nil && (s.AutoDetect || s.PACURL != "") {
		hops, used, err := s.auto(ctx, pacURL, s.AutoDetect, s.PACURL)
		if err == nil {
			origin, src := "pac", fmt.Sprintf("the PAC %s (from %s)", used, from)
			if s.AutoDetect && used != s.PACURL {
				origin, src = "wpad", fmt.Sprintf("WPAD: the PAC %s (found by %s)", used, from)
			}
			return finish(Choice{Hops: hops, Origin: origin, Source: src, PAC: used})
		}
		warns = append(warns, err.Error())
	} else {
		if s.AutoDetect {
			c, warn := evaluate(ctx, r.wpad, "wpad", pacURL, host, from)
			if warn == "" {
				return finish(c)
			}
			warns = append(warns, warn)
		}
		if s.PACURL != "" {
			c, warn := evaluate(ctx, r.pac, "pac", pacURL, host, from)
			if warn == "" {
				return finish(c)
			}
			warns = append(warns, warn)
		}
	}
	if s.Proxy != nil {
		if s.Bypass.Match(host, port) {
			return finish(direct("bypass", fmt.Sprintf("%s in %s", orDefault(s.BypassFrom, "the bypass list"), from)))
		}
		src := fmt.Sprintf("%s in %s", orDefault(s.ProxyFrom, "the manual proxy"), from)
		if s.From == "the environment" {
			src = s.ProxyFrom
		}
		return finish(Choice{Hops: []Hop{{Proxy: s.Proxy}}, Origin: "manual", Source: src})
	}
	return finish(direct("none", "no proxy configured in "+from))
}

// evaluate runs a loaded PAC for one URL. warn is set (and c empty) when
// it gives no answer.
func evaluate(ctx context.Context, l *loaded, origin, pacURL, host, from string) (c Choice, warn string) {
	if l == nil {
		return c, "no PAC was loaded"
	}
	if l.err != nil {
		return c, l.err.Error()
	}
	hops, err := l.pac.FindProxy(ctx, pacURL, host)
	if err != nil {
		return c, err.Error()
	}
	src := fmt.Sprintf("the PAC %s (from %s)", l.name, from)
	if origin == "wpad" {
		src = fmt.Sprintf("WPAD: the PAC %s", l.name)
	}
	return Choice{Hops: hops, Origin: origin, Source: src, PAC: l.name}, ""
}

// load fetches and compiles one PAC.
func (r *Resolver) load(ctx context.Context, spec string) *loaded {
	name := pacName(spec)
	src, err := r.fetch(ctx, spec)
	if err != nil {
		return &loaded{name: name, err: &PACError{PAC: name, Problem: err.Error()}}
	}
	p, err := CompilePAC(ctx, name, src, r.host(), r.o.Limits)
	return &loaded{name: name, pac: p, err: err}
}

func (r *Resolver) host() PACHost {
	myIP := r.o.MyIP
	if myIP == nil {
		myIP = LocalAddrs
	}
	return PACHost{Lookup: r.lookup, MyIP: myIP}
}

func (r *Resolver) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	if r.o.Lookup != nil {
		return r.o.Lookup(ctx, host)
	}
	as, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	for i := range as {
		as[i] = as[i].Unmap()
	}
	return as, err
}

// pacName is how a PAC is named in reports: its URL without user
// information, or its file path.
func pacName(spec string) string {
	if u, err := url.Parse(spec); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return Redact(u)
	}
	return spec
}

// fetch reads a PAC: a file (path or file:// URL), or an http(s) URL
// fetched DIRECT (browsers never fetch a PAC through a proxy), within
// FetchTimeout, at most MaxPACSize bytes.
func (r *Resolver) fetch(ctx context.Context, spec string) ([]byte, error) {
	u, err := url.Parse(spec)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // "C:\…" is a path
		return readFile(spec)
	}
	switch u.Scheme {
	case "file":
		return readFile(u.Path)
	case "http", "https":
	default:
		return nil, fmt.Errorf("cannot be fetched: scheme %q (want http, https or a file)", u.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       r.dial,
		TLSClientConfig:   &tls.Config{RootCAs: r.o.Roots},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("cannot be fetched: %v", err)
	}
	req.Header.Set("Accept", "application/x-ns-proxy-autoconfig, */*")
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return nil
	}}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("could not be fetched: %s", plainNetError(err, ctx))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("could not be fetched: the server answered HTTP %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxPACSize+1))
	if err != nil {
		return nil, fmt.Errorf("could not be fetched completely: %s", plainNetError(err, ctx))
	}
	if len(b) > MaxPACSize {
		return nil, fmt.Errorf("is more than the %d bytes this tool reads", MaxPACSize)
	}
	return b, nil
}

// dial connects to addr resolving its name with the run's resolver.
func (r *Resolver) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	as, err := r.lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("the name %s did not resolve", host)
	}
	var d net.Dialer
	var first error
	for _, a := range as {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("the name %s has no address", host)
	}
	return nil, first
}

// plainNetError says a fetch error in plain words.
func plainNetError(err error, ctx context.Context) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", FetchTimeout)
	case strings.Contains(err.Error(), "connection refused"):
		return "the server refused the connection"
	case strings.Contains(err.Error(), "did not resolve"), strings.Contains(err.Error(), "no address"):
		return err.Error()
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return "its certificate is not trusted"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return clip(s)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("does not exist")
		}
		return nil, fmt.Errorf("cannot be read: %v", errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPACSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %v", err)
	}
	if len(b) > MaxPACSize {
		return nil, fmt.Errorf("is more than the %d bytes this tool reads", MaxPACSize)
	}
	return b, nil
}

// discover finds a PAC by WPAD over DNS: for each search domain
// (corp.example.com), wpad.corp.example.com then wpad.example.com (never
// wpad.com: a name anyone can register), the first name that resolves and
// serves http://NAME/wpad.dat. nil when nothing is found (the caller
// reports it).
func (r *Resolver) discover(ctx context.Context) *loaded {
	domains := r.o.Domains
	if domains == nil {
		domains = SearchDomains
	}
	cands := WPADCandidates(domains())
	if len(cands) == 0 {
		return &loaded{name: "wpad", err: &PACError{PAC: "WPAD", Problem: "found nothing: this computer has no DNS search domain to look for wpad.DOMAIN in"}}
	}
	var (
		tried []string
		first *loaded
	)
	for _, name := range cands {
		if _, err := r.lookup(ctx, name); err != nil {
			tried = append(tried, name)
			continue
		}
		l := r.load(ctx, "http://"+name+"/wpad.dat")
		if l.err == nil {
			return l
		}
		if first == nil {
			first = l // the name exists: its failure is the answer if nothing else is found
		}
	}
	if first != nil {
		return first
	}
	return &loaded{name: "wpad", err: &PACError{PAC: "WPAD", Problem: fmt.Sprintf("found nothing: none of %s resolves", strings.Join(tried, ", "))}}
}

// WPADCandidates lists the WPAD names for the search domains, most
// specific first, each domain devolved down to two labels.
func WPADCandidates(domains []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range domains {
		d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "."))
		labels := strings.Split(d, ".")
		for i := 0; len(labels)-i >= 2; i++ {
			n := "wpad." + strings.Join(labels[i:], ".")
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// LocalAddrs returns this computer's addresses for myIpAddress: those of
// interfaces that are up, not loopback or link-local, IPv4 first.
func LocalAddrs() []netip.Addr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var v4, v6 []netip.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			pfx, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := pfx.Addr().Unmap()
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
				continue
			}
			if ip.Is4() {
				v4 = append(v4, ip)
			} else {
				v6 = append(v6, ip)
			}
		}
	}
	return append(v4, v6...)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
