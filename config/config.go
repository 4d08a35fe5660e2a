// Package config owns a check run's settings: the YAML config file
// (--config, unknown keys rejected), the flags that override it, the ICE
// server credentials, and the validated Config the probes run from.
package config

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/internal/inputfile"
	"github.com/ccp-preflight/ccp-preflight/internal/redact"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/ranges"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
	"gopkg.in/yaml.v3"
)

// Default values and bounds. MaxDuration bounds a media soak; MaxCapacity
// bounds capacity.streams so it never floods a TURN server.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultDuration = 5 * time.Second
	MinTimeout      = 100 * time.Millisecond
	MaxTimeout      = 2 * time.Minute
	MinDuration     = time.Second
	MaxDuration     = 30 * time.Minute
	MaxCapacity     = 200
	// MaxFileBytes bounds the config file and the ICE servers file (and
	// $CCP_PREFLIGHT_ICE_SERVERS): a real one is a few hundred bytes.
	MaxFileBytes = 1 << 20
	// MaxCAFileBytes bounds each ca_files entry: a whole system bundle is
	// about 200 KB.
	MaxCAFileBytes = 4 << 20
)

// InputError is a usage, configuration or input error: exit code 2. Its
// message never shows the user:password@ of a URL it quotes (a proxy's, a
// ranges URL's): Error redacts them (redact.Text) whoever built it.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return redact.Text(e.Msg) }

func inputErr(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// IsInput reports whether err is an input error (exit code 2).
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// File is the YAML config file, as written (docs/CONFIG.md).
type File struct {
	Region   string   `yaml:"region"`
	Instance string   `yaml:"instance"`
	Resolver string   `yaml:"resolver"`
	CAFiles  []string `yaml:"ca_files"`
	// HTTPSEndpoints and TURNServers replace the catalog's lists when the
	// key is present: nil means absent (the catalog's), an empty non-nil
	// list (`https_endpoints: []`) means none.
	HTTPSEndpoints []string `yaml:"https_endpoints"`
	TURNServers    []string `yaml:"turn_servers"`
	ICEServersFile string   `yaml:"ice_servers_file"`
	Proxy          string   `yaml:"proxy"`
	ProxyPAC       string   `yaml:"proxy_pac"`
	// ProxyCredentialsFile holds the proxy's user name and password
	// (proxy.go: never argv).
	ProxyCredentialsFile string                   `yaml:"proxy_credentials_file"`
	Timeout              string                   `yaml:"timeout"`
	Duration             string                   `yaml:"duration"`
	Profile              string                   `yaml:"profile"`
	Thresholds           map[string]quality.Limit `yaml:"thresholds"`
	// Ranges is a ranges file or URL (like --ranges).
	Ranges string `yaml:"ranges"`
	// Browser also runs the browser's own check (like --browser).
	Browser bool `yaml:"browser"`
	// SignalingURL, SAML, SignIn and ReplicaRegion say how the instance
	// uses Connect (config/connect.go).
	SignalingURL  string `yaml:"signaling_url"`
	SAML          *bool  `yaml:"saml"`
	SignIn        string `yaml:"signin"`
	ReplicaRegion string `yaml:"replica_region"`
	// DTLSRole is the browser's DTLS role in the CCP's calls (dtls.go).
	DTLSRole string `yaml:"dtls_role"`

	dir string // the file's directory: relative paths resolve against it
}

// LoadFile reads and strictly decodes a config file: a regular file of at
// most MaxFileBytes (inputfile.Read).
func LoadFile(path string) (*File, error) {
	b, err := inputfile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, inputErr("--config: %v", err)
	}
	return ParseFile(b, path)
}

// ParseFile strictly decodes config file contents; path names it in errors
// and anchors its relative paths.
func ParseFile(b []byte, path string) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		if strings.Contains(msg, "EOF") && len(bytes.TrimSpace(b)) == 0 {
			msg = "file is empty"
		}
		return nil, inputErr("config %s: %s", path, strings.TrimPrefix(msg, "yaml: "))
	}
	f.dir = filepath.Dir(path)
	return &f, nil
}

func (f *File) path(p string) string {
	if p == "" || filepath.IsAbs(p) || f == nil || f.dir == "" || strings.Contains(p, "://") {
		return p
	}
	return filepath.Join(f.dir, p)
}

// Overrides are the command-line flags; a zero or nil field leaves the
// file's value (else the default).
type Overrides struct {
	Region, Instance, ICEServersFile, Ranges, Profile string
	// ReplicaRegion is --replica-region (Global Resiliency).
	ReplicaRegion string
	// Timeout, Duration and Capacity are --timeout, --duration and
	// --capacity: nil means not given. A given value is checked even when
	// it is zero (--duration 0 must not read as "the default").
	Timeout, Duration *time.Duration
	Capacity          *int
	Skip              []string
	Lab               bool
	// Browser, BrowserCmd and BrowserTimeout are --browser,
	// --browser-cmd and --browser-timeout (nil: not given).
	Browser        bool
	BrowserCmd     string
	BrowserTimeout *time.Duration
	// Targets, when not nil, point the run at local servers instead of
	// Connect's (check --lab); see Targets. They imply Lab.
	Targets *Targets
}

// Given returns a pointer to v, for the optional fields of Overrides.
func Given[T any](v T) *T { return &v }

// Targets point a run at servers other than Connect's: the in-process lab
// of `check --lab` (lab.Lab.Targets; docs/LAB.md says how it differs from
// the namespace lab). Build applies them last, after the file and the flags
// are validated, so a bad --config or --ice-servers is still an error. The
// endpoint names stay the catalog's or the file's (the lab's DNS answers
// them); everything else a run reaches out to is replaced, and no proxy is
// configured.
type Targets struct {
	// HTTPSPort is every HTTPS endpoint's port.
	HTTPSPort int
	// TURNPorts are the TURN endpoints' ports, given in turn (the first
	// endpoint gets TURNPorts[0], the second TURNPorts[1], …, wrapping).
	// Empty keeps the ports.
	TURNPorts []int
	// Resolver is the DNS server (host:port) that answers the names.
	Resolver string
	// Roots replace the system roots and ca_files.
	Roots *x509.CertPool
	// ICEServers replace the loaded credentials.
	ICEServers []ICEServer
	// Ranges is the ranges set to use instead of loading one (Config.Ranges).
	Ranges *ranges.Set
}

// Config is a validated run: every target resolved, credentials loaded.
// It is read-only once built and safe to share between probes.
type Config struct {
	Region   string
	Instance string // alias, may be empty
	HTTPS    []catalog.Endpoint
	TURN     []catalog.Endpoint
	// Signaling are the CCP v2 signaling WebSockets signaling.websocket
	// opens (the instance region's first, then the replica's); Latency the
	// hosts signaling.latency times. See config/connect.go.
	Signaling []Signaling
	Latency   []catalog.Endpoint
	// SAML is the file's saml (nil: not known), NewSignIn its `signin:
	// new`, ReplicaRegion the Global Resiliency replica ("" when none).
	SAML          *bool
	NewSignIn     bool
	ReplicaRegion string
	// ICEServers carries the TURN credentials (may be empty: then the
	// credentialed checks are skipped).
	ICEServers []ICEServer
	// Resolver is a DNS server host:port asked directly; "" means the system's.
	Resolver string
	// Roots are the system roots plus ca_files; nil means the system's only.
	Roots *x509.CertPool
	// ProxyMode is how the proxy is chosen (proxy: and proxy_pac:, see
	// proxy.go): system (the browser's settings, the default), none, fixed
	// (Proxy) or pac (ProxyPAC).
	ProxyMode sysproxy.Mode
	// Proxy is the proxy of ProxyMode fixed, without user information (that
	// is in ProxyAuth); nil otherwise.
	Proxy *url.URL
	// ProxyPAC is the PAC of ProxyMode pac: a file path, an http(s) URL,
	// or "wpad".
	ProxyPAC string
	// ProxyAuth is the proxy's user name and password, when given.
	ProxyAuth  ProxyCredentials
	RangesFrom string // --ranges or ranges: ("" means newest of cache and embedded)
	// Ranges is the ranges set in use: Targets.Ranges, else nil from Build
	// (the caller loads it from RangesFrom).
	Ranges     *ranges.Set
	Timeout    time.Duration
	Duration   time.Duration
	Thresholds quality.Thresholds
	Capacity   int
	Skip       []string
	Lab        bool
	// Browser is the browser check's settings (check --browser).
	Browser Browser
	// DTLSRole is the browser's DTLS role in a call: DTLSClient,
	// DTLSServer or "" (not known; see dtls.go).
	DTLSRole string
}

// Skipped reports whether check id is left out by --skip: a prefix names
// the checks whose id is the prefix or starts with it and a dot ("media"
// leaves out media.quality and media.relay, as does "media."; "media.relay"
// only that one; "med" nothing).
func (c *Config) Skipped(id string) bool {
	return c.SkippedBy(id) != ""
}

// SkippedBy returns the --skip prefix that leaves out check id, or "".
func (c *Config) SkippedBy(id string) string {
	for _, p := range c.Skip {
		if q := strings.TrimSuffix(p, "."); q != "" && (id == q || strings.HasPrefix(id, q+".")) {
			return p
		}
	}
	return ""
}

// Secrets returns the run's ICE credentials (each server's username and
// credential, revealed), the signaling URL's query and the proxy password,
// for report.Redact: the last guard that keeps them
// out of every format even if a probe quoted one. Nil when there are none.
func (c *Config) Secrets() []string {
	var s []string
	for _, ice := range c.ICEServers {
		s = append(s, ice.Username.Reveal(), ice.Credential.Reveal())
	}
	if p := c.ProxyAuth.Password.Reveal(); p != "" {
		s = append(s, p)
	}
	return append(s, c.signalingSecrets()...)
}

// Build merges the file (may be nil) and the flags into a validated Config,
// one named step at a time; the first error (an InputError, one line,
// naming the flag or key) stops it. The ranges set is not loaded here
// unless o.Targets brings one (else the caller loads it from RangesFrom).
func Build(f *File, o Overrides) (*Config, error) {
	if f == nil {
		f = &File{}
	}
	c := &Config{Skip: o.Skip, Lab: o.Lab || o.Targets != nil}
	for _, step := range []func(*File, Overrides) error{
		c.setRegion, // first: the targets depend on it
		c.setConnect,
		c.setTiming,
		c.setCapacity,
		c.setThresholds,
		c.setHTTPS,
		c.setTURN,
		c.setResolver,
		c.setRoots,
		c.setProxy,
		c.setRanges,
		c.setICE,
		c.setBrowser,
		c.setDTLSRole,
		c.setTargets, // last: see Targets
	} {
		if err := step(f, o); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// setRegion sets Region and Instance (flag, else file); the region must
// be in the catalog.
func (c *Config) setRegion(f *File, o Overrides) error {
	c.Region = pick(o.Region, f.Region)
	if c.Region == "" {
		return inputErr("--region is required (one of %s)", strings.Join(catalog.Regions(), ", "))
	}
	if _, err := catalog.Lookup(c.Region); err != nil {
		return inputErr("--region: %v", err)
	}
	var err error
	if c.Instance, err = catalog.ParseInstance(pick(o.Instance, f.Instance)); err != nil {
		return inputErr("%v", err)
	}
	return nil
}

// setTiming sets Timeout and Duration. It is the one place both are
// checked, whether they come from a flag or the file.
func (c *Config) setTiming(f *File, o Overrides) error {
	var err error
	if c.Timeout, err = duration("timeout", o.Timeout, f.Timeout, DefaultTimeout, MinTimeout, MaxTimeout); err != nil {
		return err
	}
	c.Duration, err = duration("duration", o.Duration, f.Duration, DefaultDuration, MinDuration, MaxDuration)
	return err
}

// duration is --name (when given: it must be positive), else the file's
// value (when set), else def; the result must lie in [lo, hi].
func duration(name string, flag *time.Duration, file string, def, lo, hi time.Duration) (time.Duration, error) {
	if flag != nil && *flag <= 0 {
		return 0, inputErr("--%s %v: must be positive", name, *flag)
	}
	d := def
	if file != "" {
		var err error
		if d, err = parseDur(name, file); err != nil {
			return 0, err
		}
	}
	if flag != nil {
		d = *flag
	}
	if d < lo || d > hi {
		return 0, inputErr("--%s %v: must be between %v and %v", name, d, lo, hi)
	}
	return d, nil
}

// setCapacity sets Capacity: 0 (capacity.streams does not run) unless
// --capacity is given, and then 1 to MaxCapacity.
func (c *Config) setCapacity(_ *File, o Overrides) error {
	if o.Capacity == nil {
		return nil
	}
	if n := *o.Capacity; n < 1 || n > MaxCapacity {
		return inputErr("--capacity %d: must be between 1 and %d streams", n, MaxCapacity)
	}
	c.Capacity = *o.Capacity
	return nil
}

// setThresholds sets Thresholds: the profile (flag, else file, else
// connect), then the file's single thresholds over it.
func (c *Config) setThresholds(f *File, o Overrides) error {
	prof := pick(o.Profile, f.Profile)
	if prof == "" {
		prof = "connect"
	}
	var err error
	if c.Thresholds, err = quality.Profile(prof); err != nil {
		return inputErr("profile: %v", err)
	}
	for k, v := range f.Thresholds {
		if err := setThreshold(&c.Thresholds, k, v); err != nil {
			return err
		}
	}
	return nil
}

// setHTTPS sets HTTPS: the file's https_endpoints when the key is
// present (an explicit empty list means none: the HTTPS checks are
// skipped), else the catalog's for the region and instance.
func (c *Config) setHTTPS(f *File, _ Overrides) error {
	if f.HTTPSEndpoints == nil {
		var err error
		o := catalog.Options{Region: c.Region, Alias: c.Instance, SAML: c.SAML, NewSignIn: c.NewSignIn}
		if c.HTTPS, err = catalog.HTTPSFor(o); err != nil {
			return inputErr("%v", err)
		}
		return nil
	}
	if n := len(f.HTTPSEndpoints); n > MaxHTTPSEndpoints {
		return inputErr("config https_endpoints: %d entries: at most %d (a run checks them all at once, under one deadline)", n, MaxHTTPSEndpoints)
	}
	for _, s := range f.HTTPSEndpoints {
		ep, err := endpoint(s, 443, catalog.EC2, "https_endpoints")
		if err != nil {
			return err
		}
		ep.Purpose = "configured HTTPS endpoint"
		c.HTTPS = append(c.HTTPS, ep)
	}
	return nil
}

// setTURN sets TURN: the file's turn_servers when the key is present (an
// explicit empty list means none), else the region's (and the Global
// Resiliency replica's: the CCP fails agents over to it).
func (c *Config) setTURN(f *File, _ Overrides) error {
	if f.TURNServers == nil {
		region, err := catalog.Lookup(c.Region)
		if err != nil {
			return inputErr("--region: %v", err)
		}
		c.TURN = region.TURN // shared with the catalog: never written to
		if c.ReplicaRegion != "" {
			replica, err := catalog.Lookup(c.ReplicaRegion)
			if err != nil {
				return inputErr("--replica-region: %v", err)
			}
			c.TURN = append(append([]catalog.Endpoint(nil), c.TURN...), replica.TURN...)
		}
		return nil
	}
	if n := len(f.TURNServers); n > MaxTURNServers {
		return inputErr("config turn_servers: %d entries: at most %d (a run checks them all at once, under one deadline)", n, MaxTURNServers)
	}
	for _, s := range f.TURNServers {
		ep, err := endpoint(s, 3478, catalog.AmazonConnect, "turn_servers")
		if err != nil {
			return err
		}
		ep.Purpose = "configured TURN server"
		c.TURN = append(c.TURN, ep)
	}
	return nil
}

// setResolver sets Resolver from the file: a DNS server as host or
// host:port (port 53 unless given; an IPv6 address in brackets when a
// port follows). A URL (DNS over HTTPS) is refused: the probes speak
// plain DNS over UDP and TCP.
func (c *Config) setResolver(f *File, _ Overrides) error {
	if f.Resolver == "" {
		return nil
	}
	if strings.Contains(f.Resolver, "://") {
		return inputErr("config resolver %q: a URL (DNS over HTTPS) is not supported: want a DNS server's host or host:port", f.Resolver)
	}
	host, port, err := splitHost(f.Resolver)
	if err != nil {
		return inputErr("config resolver %q: %v (want host or host:port)", f.Resolver, err)
	}
	if port == 0 {
		port = 53
	}
	c.Resolver = net.JoinHostPort(host, strconv.Itoa(port))
	return nil
}

// setRoots sets Roots to the system's plus the file's ca_files, when any.
func (c *Config) setRoots(f *File, _ Overrides) error {
	if len(f.CAFiles) == 0 {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, p := range f.CAFiles {
		b, err := inputfile.Read(f.path(p), MaxCAFileBytes)
		if err != nil {
			return inputErr("config ca_files: %v", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return inputErr("config ca_files: %s holds no PEM certificate", f.path(p))
		}
	}
	c.Roots = pool
	return nil
}

// setRanges sets RangesFrom: --ranges, else the file's ranges.
func (c *Config) setRanges(f *File, o Overrides) error {
	c.RangesFrom = pick(o.Ranges, f.path(f.Ranges))
	return nil
}

// setICE loads ICEServers from --ice-servers, else the file's
// ice_servers_file, else the environment (LoadICEServers).
func (c *Config) setICE(f *File, o Overrides) error {
	var err error
	c.ICEServers, err = LoadICEServers(pick(o.ICEServersFile, f.path(f.ICEServersFile)))
	return err
}

// setTargets applies o.Targets, when set (see Targets): it copies the
// endpoint lists before changing ports, so the catalog's stay intact. The
// lab's names exist only in its own DNS: no proxy applies.
func (c *Config) setTargets(_ *File, o Overrides) error {
	t := o.Targets
	if t == nil {
		return nil
	}
	c.HTTPS = append([]catalog.Endpoint(nil), c.HTTPS...)
	for i := range c.HTTPS {
		if t.HTTPSPort > 0 {
			c.HTTPS[i].Port = t.HTTPSPort
		}
	}
	c.Signaling = append([]Signaling(nil), c.Signaling...)
	c.Latency = append([]catalog.Endpoint(nil), c.Latency...)
	if t.HTTPSPort > 0 {
		for i := range c.Signaling {
			c.Signaling[i].Endpoint.Port = t.HTTPSPort
		}
		for i := range c.Latency {
			c.Latency[i].Port = t.HTTPSPort
		}
	}
	c.TURN = append([]catalog.Endpoint(nil), c.TURN...)
	for i := range c.TURN {
		if len(t.TURNPorts) > 0 {
			c.TURN[i].Port = t.TURNPorts[i%len(t.TURNPorts)]
		}
	}
	c.Resolver, c.Roots = t.Resolver, t.Roots
	c.ProxyMode, c.Proxy, c.ProxyPAC, c.ProxyAuth = sysproxy.ModeNone, nil, "", ProxyCredentials{}
	c.ICEServers, c.Ranges = t.ICEServers, t.Ranges
	return nil
}

func pick(flag, file string) string {
	if flag != "" {
		return flag
	}
	return file
}

func parseDur(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, inputErr("config %s %q: want a duration such as 5s or 2m", name, s)
	}
	return d, nil
}

func setThreshold(t *quality.Thresholds, name string, v quality.Limit) error {
	var l *quality.Limit
	switch name {
	case "rtt_ms":
		l = &t.RTTMS
	case "jitter_ms":
		l = &t.JitterMS
	case "loss_ratio":
		l = &t.LossRatio
	case "mos":
		l = &t.MOS
	default:
		return inputErr("config thresholds: unknown metric %q (want rtt_ms, jitter_ms, loss_ratio or mos)", name)
	}
	if err := checkLimit(name, v.Warn, v.Fail); err != nil {
		return err
	}
	*l = v
	t.Sources[name] = "configured in --config"
	return nil
}

func endpoint(s string, defPort int, svc catalog.Service, key string) (catalog.Endpoint, error) {
	host, port, err := splitHost(s)
	if err != nil {
		return catalog.Endpoint{}, inputErr("config %s %q: %v (want host or host:port)", key, s, err)
	}
	if port == 0 {
		port = defPort
	}
	return catalog.Endpoint{Host: host, Port: port, Service: svc}, nil
}
