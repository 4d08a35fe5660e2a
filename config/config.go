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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/ranges"
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
)

// InputError is a usage, configuration or input error: exit code 2.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// IsInput reports whether err is an input error (exit code 2).
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// File is the YAML config file, as written (see DESIGN.md "Config file").
type File struct {
	Region         string                   `yaml:"region"`
	Instance       string                   `yaml:"instance"`
	Resolver       string                   `yaml:"resolver"`
	CAFiles        []string                 `yaml:"ca_files"`
	HTTPSEndpoints []string                 `yaml:"https_endpoints"`
	TURNServers    []string                 `yaml:"turn_servers"`
	ICEServersFile string                   `yaml:"ice_servers_file"`
	Proxy          string                   `yaml:"proxy"`
	Timeout        string                   `yaml:"timeout"`
	Duration       string                   `yaml:"duration"`
	Profile        string                   `yaml:"profile"`
	Thresholds     map[string]quality.Limit `yaml:"thresholds"`
	// Ranges is a ranges file or URL (like --ranges).
	Ranges string `yaml:"ranges"`

	dir string // the file's directory: relative paths resolve against it
}

// LoadFile reads and strictly decodes a config file.
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
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

// Overrides are the command-line flags; a zero field leaves the file's value.
type Overrides struct {
	Region, Instance, ICEServersFile, Ranges, Profile string
	Timeout, Duration                                 time.Duration
	Capacity                                          int
	Skip                                              []string
	Lab                                               bool
}

// Config is a validated run: every target resolved, credentials loaded.
// It is read-only once built and safe to share between probes.
type Config struct {
	Region   string
	Instance string // alias, may be empty
	HTTPS    []catalog.Endpoint
	TURN     []catalog.Endpoint
	// ICEServers carries the TURN credentials (may be empty: then the
	// credentialed checks are skipped).
	ICEServers []ICEServer
	// Resolver is a DNS server host:port asked directly; "" means the system's.
	Resolver string
	// Roots are the system roots plus ca_files; nil means the system's only.
	Roots *x509.CertPool
	// Proxy is the configured proxy; nil means HTTPS_PROXY/NO_PROXY apply.
	Proxy      *url.URL
	RangesFrom string // --ranges or ranges: ("" means newest of cache and embedded)
	Ranges     *ranges.Set
	Timeout    time.Duration
	Duration   time.Duration
	Thresholds quality.Thresholds
	Capacity   int
	Skip       []string
	Lab        bool
}

// Skipped reports whether check id is left out by a --skip prefix.
func (c *Config) Skipped(id string) bool {
	for _, p := range c.Skip {
		if p != "" && strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// Build merges the file (may be nil) and the flags into a validated Config.
// The ranges set is not loaded here (the caller does, from RangesFrom).
func Build(f *File, o Overrides) (*Config, error) {
	if f == nil {
		f = &File{}
	}
	c := &Config{Timeout: DefaultTimeout, Duration: DefaultDuration, Skip: o.Skip, Lab: o.Lab}
	c.Region = pick(o.Region, f.Region)
	if c.Region == "" {
		return nil, inputErr("--region is required (one of %s)", strings.Join(catalog.Regions(), ", "))
	}
	region, err := catalog.Lookup(c.Region)
	if err != nil {
		return nil, inputErr("--region: %v", err)
	}
	if c.Instance, err = catalog.ParseInstance(pick(o.Instance, f.Instance)); err != nil {
		return nil, inputErr("%v", err)
	}
	if f.Timeout != "" {
		if c.Timeout, err = parseDur("timeout", f.Timeout); err != nil {
			return nil, err
		}
	}
	if o.Timeout != 0 {
		c.Timeout = o.Timeout
	}
	if c.Timeout < MinTimeout || c.Timeout > MaxTimeout {
		return nil, inputErr("--timeout %v: must be between %v and %v", c.Timeout, MinTimeout, MaxTimeout)
	}
	if f.Duration != "" {
		if c.Duration, err = parseDur("duration", f.Duration); err != nil {
			return nil, err
		}
	}
	if o.Duration != 0 {
		c.Duration = o.Duration
	}
	if c.Duration < MinDuration || c.Duration > MaxDuration {
		return nil, inputErr("--duration %v: must be between %v and %v", c.Duration, MinDuration, MaxDuration)
	}
	if o.Capacity < 0 || o.Capacity > MaxCapacity {
		return nil, inputErr("--capacity %d: must be between 1 and %d streams", o.Capacity, MaxCapacity)
	}
	c.Capacity = o.Capacity

	prof := pick(o.Profile, f.Profile)
	if prof == "" {
		prof = "connect"
	}
	if c.Thresholds, err = quality.Profile(prof); err != nil {
		return nil, inputErr("profile: %v", err)
	}
	for k, v := range f.Thresholds {
		if err := setThreshold(&c.Thresholds, k, v); err != nil {
			return nil, err
		}
	}

	// Targets: the catalog's, unless the file replaces them.
	if len(f.HTTPSEndpoints) > 0 {
		for _, s := range f.HTTPSEndpoints {
			ep, err := endpoint(s, 443, catalog.EC2, "https_endpoints")
			if err != nil {
				return nil, err
			}
			ep.Purpose = "configured HTTPS endpoint"
			c.HTTPS = append(c.HTTPS, ep)
		}
	} else if c.HTTPS, err = catalog.HTTPS(c.Region, c.Instance); err != nil {
		return nil, inputErr("%v", err)
	}
	if len(f.TURNServers) > 0 {
		for _, s := range f.TURNServers {
			ep, err := endpoint(s, 3478, catalog.AmazonConnect, "turn_servers")
			if err != nil {
				return nil, err
			}
			ep.Purpose = "configured TURN server"
			c.TURN = append(c.TURN, ep)
		}
	} else {
		c.TURN = region.TURN
	}

	if f.Resolver != "" {
		r := f.Resolver
		if _, _, err := net.SplitHostPort(r); err != nil {
			r = net.JoinHostPort(r, "53")
		}
		if _, _, err := net.SplitHostPort(r); err != nil {
			return nil, inputErr("config resolver %q: want host or host:port", f.Resolver)
		}
		c.Resolver = r
	}
	if len(f.CAFiles) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, p := range f.CAFiles {
			b, err := os.ReadFile(f.path(p))
			if err != nil {
				return nil, inputErr("config ca_files: %v", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, inputErr("config ca_files: %s holds no PEM certificate", f.path(p))
			}
		}
		c.Roots = pool
	}
	if f.Proxy != "" {
		u, err := url.Parse(f.Proxy)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, inputErr("config proxy %q: want http://host:port", f.Proxy)
		}
		c.Proxy = u
	}
	c.RangesFrom = pick(o.Ranges, f.path(f.Ranges))

	iceFile := pick(o.ICEServersFile, f.path(f.ICEServersFile))
	if c.ICEServers, err = LoadICEServers(iceFile); err != nil {
		return nil, err
	}
	return c, nil
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
	if name == "mos" {
		if v.Warn < v.Fail || v.Fail < 1 || v.Warn > 5 {
			return inputErr("config thresholds.mos: want 1 ≤ fail ≤ warn ≤ 5, got warn %v fail %v", v.Warn, v.Fail)
		}
	} else if v.Warn < 0 || v.Fail < v.Warn {
		return inputErr("config thresholds.%s: want 0 ≤ warn ≤ fail, got warn %v fail %v", name, v.Warn, v.Fail)
	}
	*l = v
	t.Sources[name] = "configured in --config"
	return nil
}

func endpoint(s string, defPort int, svc catalog.Service, key string) (catalog.Endpoint, error) {
	host, port := s, defPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return catalog.Endpoint{}, inputErr("config %s %q: bad port", key, s)
		}
		host, port = h, n
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return catalog.Endpoint{}, inputErr("config %s %q: want host:port", key, s)
	}
	return catalog.Endpoint{Host: host, Port: port, Service: svc}, nil
}
