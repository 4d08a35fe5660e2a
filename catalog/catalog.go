// Package catalog owns the Amazon Connect endpoints a softphone needs, per
// region, as published in the AWS admin guide ("Set up your network",
// docs.aws.amazon.com/connect/latest/adminguide/ccp-networking.html).
// The tables are facts with sources; see docs/CONNECT.md.
package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// Service is the ip-ranges.json service whose ranges an endpoint's
// addresses must lie in (Option 2 of the admin guide).
type Service string

// Services used by Connect endpoints.
const (
	AmazonConnect Service = "AMAZON_CONNECT"
	EC2           Service = "EC2"
	CloudFront    Service = "CLOUDFRONT"
)

// Endpoint is one host the softphone must reach.
type Endpoint struct {
	// Host is a DNS name (no port).
	Host string
	// Port is 443 for HTTPS endpoints, 3478 for TURN.
	Port int
	// Purpose says in a few words what the CCP uses it for.
	Purpose string
	// Service is the ip-ranges.json service the address should lie in.
	Service Service
	// Unconfirmed marks names reported by third parties, not by AWS.
	Unconfirmed bool
	// Optional, when set, says why softphone calls of the current CCP do
	// not need this endpoint ("only CCP v1 signals here"): a check that
	// fails against it warns instead of failing the run.
	Optional string
}

// Addr is Host:Port.
func (e Endpoint) Addr() string { return fmt.Sprintf("%s:%d", e.Host, e.Port) }

// Region is the catalog for one Connect region.
type Region struct {
	Name string
	// TURN lists the TURN load balancer names (UDP 3478), confirmed first.
	TURN []Endpoint
	// CloudFront lists the static-content distributions (TCP 443) of
	// instances with SAML; CloudFrontNoSAML those of instances without.
	CloudFront, CloudFrontNoSAML []Endpoint
}

type regionData struct {
	turn, turnUnconfirmed, cloudfront []string
	// cloudfrontNoSAML are the distributions of instances without SAML
	// (admin guide "Set up your network", 2026; docs/CONNECT.md "Added
	// 2026-12"): cloudfront above is the SAML instances' table.
	cloudfrontNoSAML []string
}

// regions is the admin guide's "NLB endpoints" and CloudFront tables.
// Unconfirmed names were reported by a third party, not by AWS.
var regions = map[string]regionData{
	"us-east-1": {
		turn:             []string{"TurnNlb-d76454ac48d20c1e", "TurnNlb-31a7fe8a79c27929", "TurnNlb-7a9b8e750cec315a"},
		turnUnconfirmed:  []string{"TurnNlb-d40f7ff9cdd63758", "TurnNlb-7675623c965365c2"},
		cloudfront:       []string{"dd401jc05x2yk", "d1f0uslncy85vb"},
		cloudfrontNoSAML: []string{"d32i4gd7pg4909"},
	},
	"us-west-2": {
		turn:             []string{"TurnNlb-8d79b4466d82ad0e", "TurnNlb-dbc4ebb71307fda2", "TurnNlb-13c884fe3673ed9f"},
		turnUnconfirmed:  []string{"TurnNlb-6bb66ee54ee32710", "TurnNlb-ecc67f8fbd7a29f6"},
		cloudfront:       []string{"d38fzyjx9jg8fj", "d366s8lxuwna4d"},
		cloudfrontNoSAML: []string{"d18af777lco7lp"},
	},
	"af-south-1":     {turn: []string{"TurnNlb-29b8f2824c2958b8"}},
	"ap-northeast-1": {turn: []string{"TurnNlb-3c6ddabcbeb821d8"}, cloudfront: []string{"d3h58onr8hrozw", "d13ljas036gz6c"}, cloudfrontNoSAML: []string{"d2c2t8mxjhq5z1"}},
	"ap-northeast-2": {turn: []string{"TurnNlb-a2d59ac3f246f09a"}, cloudfront: []string{"d11ouwvqpq1ads"}, cloudfrontNoSAML: []string{"d9j3u8qaxidxi"}},
	"ap-southeast-1": {turn: []string{"TurnNlb-261982506d86d300"}, cloudfront: []string{"d2g7up6vqvaq2o", "d12o1dl1h4w0xc"}, cloudfrontNoSAML: []string{"d3qzmd7y07pz0i"}},
	"ap-southeast-2": {turn: []string{"TurnNlb-93f2de0c97c4316b"}, cloudfront: []string{"d2190hliw27bb8", "d3mgrlqzmisce5"}, cloudfrontNoSAML: []string{"dwcpoxuuza83q"}},
	// ca-central-1: SAML instances get static content from *.my.connect.aws
	// (no CloudFront names); instances without SAML from d2wfbsypmqjmog.
	"ca-central-1": {turn: []string{"TurnNlb-b019de6142240b9f"}, cloudfrontNoSAML: []string{"d2wfbsypmqjmog"}},
	"eu-central-1": {
		turn:             []string{"TurnNlb-ea5316ebe2759cbc"},
		turnUnconfirmed:  []string{"TurnNlb-cce94fede9926d70"},
		cloudfront:       []string{"d1n9s7btyr4f0n", "d3tqoc05lsydd3"},
		cloudfrontNoSAML: []string{"d1whcm49570jjw"},
	},
	"eu-west-2": {
		turn:             []string{"TurnNlb-1dc64a459ead57ea"},
		turnUnconfirmed:  []string{"TurnNlb-0c39b6a52bcdd446"},
		cloudfront:       []string{"dl32tyuy2mmv6", "d2p8ibh10q5exz"},
		cloudfrontNoSAML: []string{"d16q6638mh01s7"},
	},
	"us-gov-west-1": {turn: []string{"TurnNlb-d7c623c23f628042"}},
}

// Regions returns the Connect regions in the catalog, sorted.
func Regions() []string {
	out := make([]string, 0, len(regions))
	for r := range regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// UnknownRegionError is returned for a region not in the catalog.
type UnknownRegionError struct{ Region string }

func (e *UnknownRegionError) Error() string {
	return fmt.Sprintf("unknown region %q: Amazon Connect regions are %s", e.Region, strings.Join(Regions(), ", "))
}

// Lookup returns the catalog of a region, or *UnknownRegionError.
func Lookup(region string) (Region, error) {
	d, ok := regions[region]
	if !ok {
		return Region{}, &UnknownRegionError{Region: region}
	}
	r := Region{Name: region}
	elb := ".elb." + region + ".amazonaws.com"
	for _, n := range d.turn {
		r.TURN = append(r.TURN, Endpoint{Host: n + elb, Port: 3478, Purpose: "media (TURN)", Service: AmazonConnect})
	}
	for _, n := range d.turnUnconfirmed {
		r.TURN = append(r.TURN, Endpoint{Host: n + elb, Port: 3478, Purpose: "media (TURN), reported by a third party", Service: AmazonConnect, Unconfirmed: true})
	}
	for _, n := range d.cloudfront {
		r.CloudFront = append(r.CloudFront, Endpoint{Host: n + ".cloudfront.net", Port: 443, Purpose: "CCP static assets (CloudFront, instances with SAML)", Service: CloudFront})
	}
	for _, n := range d.cloudfrontNoSAML {
		r.CloudFrontNoSAML = append(r.CloudFrontNoSAML, Endpoint{Host: n + ".cloudfront.net", Port: 443, Purpose: "CCP static assets (CloudFront, instances without SAML)", Service: CloudFront})
	}
	return r, nil
}

// HTTPS returns the TCP 443 endpoints the CCP needs in region for an
// instance alias (alias may be empty: then only the regional names), for an
// instance whose SAML use is unknown (both CloudFront sets): HTTPSFor with
// only Region and Alias set.
func HTTPS(region, alias string) ([]Endpoint, error) {
	return HTTPSFor(Options{Region: region, Alias: alias})
}

// ParseInstance accepts an alias or an instance URL
// (https://ALIAS.my.connect.aws/..., https://ALIAS.awsapps.com/connect/...,
// GovCloud's https://ALIAS.govcloud.connect.aws/...) and returns the alias.
func ParseInstance(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	h := s
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexAny(h, "/?#"); i >= 0 {
		h = h[:i]
	}
	h = strings.ToLower(h)
	for _, suf := range []string{".my.connect.aws", ".awsapps.com", GovCloudInstanceSuffix} {
		if strings.HasSuffix(h, suf) {
			h = strings.TrimSuffix(h, suf)
			break
		}
	}
	if h == "" || len(h) > 63 || strings.Trim(h, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || h[0] == '-' || h[len(h)-1] == '-' {
		return "", fmt.Errorf("invalid --instance %q: want an instance alias (letters, digits, '-') or its URL such as https://ALIAS.my.connect.aws", s)
	}
	return h, nil
}
