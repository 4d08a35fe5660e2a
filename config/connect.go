package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/catalog"
)

// This file holds the settings of how an instance uses Connect (issue 13):
// signaling_url, saml, signin and replica_region, and the signaling targets
// they give (docs/CONFIG.md).

// Signaling is one CCP v2 signaling WebSocket the check opens
// (signaling.websocket).
type Signaling struct {
	// Endpoint is the host and port (443 unless the URL says otherwise).
	Endpoint catalog.Endpoint
	// Path is the URL's path ("/" when it has none).
	Path string
	// Query is the URL's query: a per-session URL from CreateTransport
	// carries a signed token in it, so it is a Secret (never printed; see
	// Config.Secrets).
	Query Secret
	// Configured is true when the URL is the config's signaling_url, false
	// for the catalog's stand-in (catalog.Signaling).
	Configured bool
	// Region is the Connect region whose signaling this is (the instance's,
	// or the Global Resiliency replica's).
	Region string
}

// URL is the WebSocket URL without its query: what reports show.
func (s Signaling) URL() string {
	host := s.Endpoint.Host
	if s.Endpoint.Port != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(s.Endpoint.Port))
	}
	return "wss://" + host + s.Path
}

// RequestURL is the URL to dial, query included. Never print it.
func (s Signaling) RequestURL() string {
	u := s.URL()
	if q := s.Query.Reveal(); q != "" {
		u += "?" + q
	}
	return u
}

// LatencyPath is the path signaling.latency times (AWS's tool timed /ping).
const LatencyPath = "/ping"

// setConnect sets SAML, NewSignIn, ReplicaRegion, Signaling and Latency
// from the file and --replica-region (after setRegion: they depend on the
// region).
func (c *Config) setConnect(f *File, o Overrides) error {
	c.SAML = f.SAML
	switch strings.ToLower(strings.TrimSpace(f.SignIn)) {
	case "", "classic":
	case "new":
		c.NewSignIn = true
	default:
		return inputErr("config signin %q: want new (the new sign-in experience) or classic", f.SignIn)
	}
	if inst := strings.ToLower(pick(o.Instance, f.Instance)); strings.Contains(inst, catalog.GovCloudInstanceSuffix) && !catalog.IsGovCloud(c.Region) {
		return inputErr("--instance %q is a GovCloud instance: its --region is us-gov-west-1, not %s", pick(o.Instance, f.Instance), c.Region)
	}
	c.ReplicaRegion = pick(o.ReplicaRegion, f.ReplicaRegion)
	if c.ReplicaRegion != "" {
		if _, err := catalog.Lookup(c.ReplicaRegion); err != nil {
			return inputErr("--replica-region: %v", err)
		}
		if err := catalog.CheckReplica(c.Region, c.ReplicaRegion); err != nil {
			return inputErr("--replica-region: %v", err)
		}
	}
	primary, err := signalingURL(f.SignalingURL, c.Region)
	if err != nil {
		return err
	}
	c.Signaling = []Signaling{primary}
	if primary.Configured {
		e := primary.Endpoint
		e.Purpose = "signaling latency (" + LatencyPath + " on the configured signaling host)"
		c.Latency = append(c.Latency, e)
	} else if e, ok := catalog.LatencyPing(c.Region); ok {
		c.Latency = append(c.Latency, e)
	}
	if r := c.ReplicaRegion; r != "" {
		c.Signaling = append(c.Signaling, Signaling{Endpoint: catalog.Signaling(r), Path: "/", Region: r})
		if e, ok := catalog.LatencyPing(r); ok {
			c.Latency = append(c.Latency, e)
		}
	}
	return nil
}

// signalingURL parses signaling_url (wss://HOST[:PORT]/PATH?QUERY, as the
// CCP's browser log shows it); empty means the catalog's stand-in host for
// region.
func signalingURL(s, region string) (Signaling, error) {
	if strings.TrimSpace(s) == "" {
		return Signaling{Endpoint: catalog.Signaling(region), Path: "/", Region: region}, nil
	}
	// The query may hold a token: no error message quotes the URL whole.
	shown, _, _ := strings.Cut(s, "?")
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "wss" || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
		return Signaling{}, inputErr("config signaling_url %q: want wss://HOST/PATH (the CCP's signaling WebSocket URL from its browser log)", shown)
	}
	port := 443
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Signaling{}, inputErr("config signaling_url %q: bad port", shown)
		}
		port = n
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return Signaling{
		Endpoint: catalog.Endpoint{Host: strings.ToLower(u.Hostname()), Port: port,
			Purpose: "softphone signaling WebSocket (CCP v2), from signaling_url", Service: catalog.EC2},
		Path: path, Query: Secret(u.RawQuery), Configured: true, Region: region,
	}, nil
}

// signalingSecrets are the parts of the signaling URLs that must never be
// printed: each query whole, and each of its values.
func (c *Config) signalingSecrets() []string {
	var s []string
	for _, sg := range c.Signaling {
		q := sg.Query.Reveal()
		if q == "" {
			continue
		}
		s = append(s, q)
		if vs, err := url.ParseQuery(q); err == nil {
			for _, v := range vs {
				for _, x := range v {
					if len(x) >= 8 {
						s = append(s, x)
					}
				}
			}
		}
	}
	return s
}

// String says which signaling host is used and why, for reports.
func (s Signaling) String() string {
	if s.Configured {
		return fmt.Sprintf("%s (signaling_url in the config)", s.URL())
	}
	return fmt.Sprintf("%s (a stand-in: AWS publishes only %s)", s.URL(), catalog.SignalingDomain(s.Region))
}
