package catalog

import (
	"fmt"
	"strings"
)

// Where the catalog's facts come from (docs/CONNECT.md, section "Added
// 2026-12", quotes each). Every Domain names one of them.
const (
	// SourceNetworkPage is the admin guide's Option 1 (domain allowlist),
	// docs.aws.amazon.com/connect/latest/adminguide/ccp-networking.html.
	SourceNetworkPage = `admin guide "Set up your network"`
	// SourceDomainPage is the admin guide's page on the my.connect.aws and
	// static.connect.aws domains (the current minimum allowlist).
	SourceDomainPage = `admin guide "Update your Connect domain"`
	// SourceStreams adds the CCP v2 library that opens the signaling
	// WebSocket (src/lib/amazon-connect-websocket-manager.js).
	SourceStreams = SourceNetworkPage + "; amazon-connect-streams 2.28.2"
	// SourceGlobalResiliency is the admin guide's Global Resiliency rows
	// and the Streams release that fails agents over between the regions.
	SourceGlobalResiliency = SourceNetworkPage + " (Global Resiliency); amazon-connect-streams 2.27.0"
	// SourceIAMSAML is where AWS documents the console's SAML sign-in
	// endpoint (an IdP posts the assertion to
	// https://signin.aws.amazon.com/saml): the IAM user guide, "Enable SAML
	// 2.0 federated principals to access the AWS Management Console".
	SourceIAMSAML = "IAM user guide, SAML 2.0 console federation"
	// SourceTestTool is AWS's 2020 CCP connectivity tool, which timed /ping
	// on the signaling host (amazon-connect-snippets
	// tools/CCPConnectivityTestTools/README.md; removed in 2022).
	SourceTestTool = "amazon-connect-snippets CCPConnectivityTestTools (2020)"
)

// Protocols of a Domain.
const (
	TCP = "tcp"
	UDP = "udp"
)

// Domain is one line of the domain allowlist (admin guide Option 1): a host
// or a wildcard ("*.transport.connect.us-east-1.amazonaws.com"), its port
// and protocol, what the CCP uses it for, and where AWS says so.
type Domain struct {
	// Name is a host name or "*." followed by a domain (any name under it).
	Name  string
	Port  int
	Proto string
	// Purpose says in a few words what the CCP uses it for.
	Purpose string
	// Source names where it is documented (one of the Source constants).
	Source string
	// Unconfirmed marks names reported by third parties, not by AWS.
	Unconfirmed bool
}

// Wildcard reports whether d names every host under a domain.
func (d Domain) Wildcard() bool { return strings.HasPrefix(d.Name, "*.") }

// Options select the parts of the catalog an instance uses. The zero value
// of each optional field means "not known": both CloudFront sets, the
// classic sign-in, no replica region.
type Options struct {
	Region string
	// Alias is the instance alias ("" when not known: no instance names).
	Alias string
	// SAML says whether the instance signs agents in with SAML: it picks
	// the CloudFront set (nil: both) and adds AWS Sign-In (true).
	SAML *bool
	// NewSignIn adds the new sign-in experience's domains (config
	// `signin: new`).
	NewSignIn bool
	// Replica is the Global Resiliency replica region ("" when none); see
	// CheckReplica.
	Replica string
}

// GovCloudInstanceSuffix is the instance domain in AWS GovCloud (US).
const GovCloudInstanceSuffix = ".govcloud.connect.aws"

// IsGovCloud reports whether region is an AWS GovCloud (US) region. There
// instances use ALIAS.govcloud.connect.aws and only the current CCP (no
// CCP v1 signaling host), and static content comes from S3.
func IsGovCloud(region string) bool { return strings.HasPrefix(region, "us-gov-") }

// govStatic is GovCloud's static-content host and path (S3), per region.
var govStatic = map[string][2]string{
	"us-gov-west-1": {"s3-us-gov-west-1.amazonaws.com", "/warp-drive-console-static-content-prod-pdt/"},
	"us-gov-east-1": {"s3-us-gov-east-1.amazonaws.com", "/warp-drive-console-static-content-prod-osu/"},
}

// InstanceHost is the instance's domain: ALIAS.my.connect.aws, or
// ALIAS.govcloud.connect.aws in GovCloud.
func InstanceHost(region, alias string) string {
	if IsGovCloud(region) {
		return alias + GovCloudInstanceSuffix
	}
	return alias + ".my.connect.aws"
}

// replicaPairs are the Global Resiliency region pairs (both directions).
var replicaPairs = map[string]string{
	"us-east-1": "us-west-2", "us-west-2": "us-east-1",
	"eu-central-1": "eu-west-2", "eu-west-2": "eu-central-1",
}

// ReplicaPairs lists the valid Global Resiliency pairs in words.
func ReplicaPairs() string { return "us-east-1↔us-west-2, eu-central-1↔eu-west-2" }

// CheckReplica returns nil when replica is primary's Global Resiliency
// partner (or empty), else an error listing the valid pairs.
func CheckReplica(primary, replica string) error {
	if replica == "" {
		return nil
	}
	if p, ok := replicaPairs[primary]; ok && p == replica {
		return nil
	}
	if p, ok := replicaPairs[primary]; ok {
		return fmt.Errorf("%s is not the Global Resiliency replica of %s (that is %s; the pairs are %s)", replica, primary, p, ReplicaPairs())
	}
	return fmt.Errorf("%s has no Global Resiliency replica region (the pairs are %s)", primary, ReplicaPairs())
}

// SignalingDomain is the wildcard AWS documents for the CCP v2 signaling
// WebSocket in region (Option 1 table; SourceStreams).
func SignalingDomain(region string) string { return "*.transport.connect." + region + ".amazonaws.com" }

// Signaling is the host signaling.websocket tests in region when no
// signaling_url is configured. AWS documents only the wildcard
// SignalingDomain: the per-session host comes from CreateTransport. This
// is the domain's own name, a stand-in marked Unconfirmed: a network that
// blocks the domain blocks it too, but it may not resolve at all.
func Signaling(region string) Endpoint {
	return Endpoint{Host: "transport.connect." + region + ".amazonaws.com", Port: 443,
		Purpose: "softphone signaling WebSocket (CCP v2), stand-in for " + SignalingDomain(region),
		Service: EC2, Unconfirmed: true}
}

// LatencyPing is the host whose HTTPS /ping AWS's own connectivity tool
// timed to grade signaling latency in region (SourceTestTool): the CCP v1
// signaling host, or rtc.cell-1.prod.REGION.prod.connect.aws.a2z.com for
// ap-southeast-1 and eu-west-2. GovCloud has none (false).
func LatencyPing(region string) (Endpoint, bool) {
	if IsGovCloud(region) {
		return Endpoint{}, false
	}
	host := "rtc.connect-telecom." + region + ".amazonaws.com"
	if region == "ap-southeast-1" || region == "eu-west-2" {
		host = "rtc.cell-1.prod." + region + ".prod.connect.aws.a2z.com"
	}
	return Endpoint{Host: host, Port: 443, Purpose: "signaling latency (/ping, as AWS's test tool timed it)", Service: EC2}, true
}

// HTTPSFor returns the concrete TCP 443 endpoints the CCP needs, the ones
// a check can test by name: the instance's domains first, then static
// content (CloudFront per o.SAML; S3 in GovCloud), chat, the CCP v1
// signaling host (not in GovCloud) and, with SAML, AWS Sign-In. Wildcards
// with no documented concrete name (Domains lists them) are not here; nor
// is the CCP v2 signaling host (signaling.websocket tests it).
func HTTPSFor(o Options) ([]Endpoint, error) {
	r, err := Lookup(o.Region)
	if err != nil {
		return nil, err
	}
	region := o.Region
	var out []Endpoint
	if o.Alias != "" {
		out = append(out, Endpoint{Host: InstanceHost(region, o.Alias), Port: 443, Purpose: "CCP v2 app, API and login", Service: EC2})
		if !IsGovCloud(region) {
			out = append(out, Endpoint{Host: o.Alias + ".awsapps.com", Port: 443, Purpose: "CCP on the old instance domain", Service: EC2})
		}
	}
	if o.SAML == nil || *o.SAML {
		out = append(out, r.CloudFront...)
	}
	if o.SAML == nil || !*o.SAML {
		out = append(out, r.CloudFrontNoSAML...)
	}
	if s, ok := govStatic[region]; ok {
		out = append(out, Endpoint{Host: s[0], Port: 443, Purpose: "CCP static content (GovCloud S3, " + s[1] + ")", Service: "S3"})
	}
	out = append(out, Endpoint{Host: "participant.connect." + region + ".amazonaws.com", Port: 443, Purpose: "chat (participant service)", Service: EC2,
		Optional: "chat contacts use it; softphone calls do not"})
	if !IsGovCloud(region) {
		out = append(out, Endpoint{Host: "rtc.connect-telecom." + region + ".amazonaws.com", Port: 443, Purpose: "softphone signaling (CCP v1 only)", Service: EC2,
			Optional: "only CCP v1 signals here; the current CCP signals over the WebSocket that signaling.websocket checks"})
	}
	if o.SAML != nil && *o.SAML {
		out = append(out, Endpoint{Host: samlSignIn(region), Port: 443, Purpose: "AWS Sign-In for SAML agents", Service: "AMAZON"})
	}
	return out, nil
}

// samlSignIn is the AWS Sign-In host a SAML IdP posts to (SourceIAMSAML).
func samlSignIn(region string) string {
	if IsGovCloud(region) {
		return "signin.amazonaws-us-gov.com"
	}
	return "signin.aws.amazon.com"
}

// Domains returns the domain allowlist AWS recommends (Option 1) for
// o: every host and wildcard with its port, protocol, purpose and source,
// in a stable order (instance, static content, signaling, telemetry,
// chat, attachments, media, sign-in, Global Resiliency), without
// duplicates. It errors on an unknown region or an invalid replica.
func Domains(o Options) ([]Domain, error) {
	r, err := Lookup(o.Region)
	if err != nil {
		return nil, err
	}
	if err := CheckReplica(o.Region, o.Replica); err != nil {
		return nil, err
	}
	var out []Domain
	add := func(name string, port int, proto, purpose, source string) {
		out = append(out, Domain{Name: name, Port: port, Proto: proto, Purpose: purpose, Source: source})
	}
	region, gov := o.Region, IsGovCloud(o.Region)
	if o.Alias != "" {
		add(InstanceHost(region, o.Alias), 443, TCP, "CCP v2 app, API and login (/ccp-v2, /api, /auth/authorize)", SourceDomainPage)
		if !gov {
			add(o.Alias+".awsapps.com", 443, TCP, "CCP on the old instance domain (going away)", SourceNetworkPage)
		}
	} else if gov {
		add("*"+GovCloudInstanceSuffix, 443, TCP, "CCP v2 app, API and login (your ALIAS"+GovCloudInstanceSuffix+")", SourceNetworkPage)
	} else {
		add("*.my.connect.aws", 443, TCP, "CCP v2 app, API and login (your ALIAS.my.connect.aws)", SourceDomainPage)
	}
	if !gov {
		add("*.static.connect.aws", 443, TCP, "CCP static content", SourceDomainPage)
	}
	if o.SAML == nil || *o.SAML {
		for _, e := range r.CloudFront {
			add(e.Host, 443, TCP, e.Purpose, SourceNetworkPage)
		}
	}
	if o.SAML == nil || !*o.SAML {
		for _, e := range r.CloudFrontNoSAML {
			add(e.Host, 443, TCP, e.Purpose, SourceNetworkPage)
		}
	}
	if s, ok := govStatic[region]; ok {
		add(s[0], 443, TCP, "CCP static content (GovCloud S3, "+s[1]+")", SourceNetworkPage)
	}
	regions := []string{region}
	if o.Replica != "" {
		regions = append(regions, o.Replica)
	}
	for i, reg := range regions {
		tag := ""
		if i > 0 {
			tag = ", Global Resiliency replica"
		}
		add(SignalingDomain(reg), 443, TCP, "softphone signaling WebSocket (CCP v2)"+tag, SourceStreams)
		if i == 0 {
			if !gov {
				add("*.connect-telecom."+reg+".amazonaws.com", 443, TCP, "softphone signaling (CCP v1 only: rtc*)", SourceNetworkPage)
			}
			add("*.telemetry.connect."+reg+".amazonaws.com", 443, TCP, "CCP metrics and telemetry", SourceNetworkPage)
			add("participant.connect."+reg+".amazonaws.com", 443, TCP, "chat (participant service)", SourceNetworkPage)
			add("*.s3."+reg+".amazonaws.com", 443, TCP, "attachments (your instance's bucket: narrow to BUCKET.s3."+reg+".amazonaws.com)", SourceNetworkPage)
		}
		rr := r
		if i > 0 {
			if rr, err = Lookup(reg); err != nil {
				return nil, err
			}
		}
		for _, e := range rr.TURN {
			d := Domain{Name: e.Host, Port: 3478, Proto: UDP, Purpose: "media (TURN)" + tag, Source: SourceNetworkPage, Unconfirmed: e.Unconfirmed}
			if e.Unconfirmed {
				d.Purpose = "media (TURN), reported by a third party" + tag
			}
			out = append(out, d)
		}
	}
	if o.SAML != nil && *o.SAML {
		add(samlSignIn(region), 443, TCP, "AWS Sign-In for SAML agents (/saml)", SourceIAMSAML)
	}
	if o.NewSignIn {
		if gov {
			add("*.signin-fips.amazonaws-us-gov.com", 443, TCP, "new sign-in experience", SourceNetworkPage)
			add("*.apps.signin-fips.aws-us-gov.com", 443, TCP, "new sign-in experience", SourceNetworkPage)
			add("*.apps.signin.aws-us-gov.com", 443, TCP, "new sign-in experience", SourceNetworkPage)
		} else {
			add("*.apps.signin.aws", 443, TCP, "new sign-in experience", SourceNetworkPage)
			add("*.signin.aws", 443, TCP, "new sign-in experience", SourceNetworkPage)
			add("*.threat-mitigation.aws.amazon.com", 443, TCP, "new sign-in experience (threat mitigation)", SourceNetworkPage)
			for _, reg := range uniq("us-east-1", "us-west-2", region) {
				add("*.s3.dualstack."+reg+".amazonaws.com", 443, TCP, "new sign-in experience (assets)", SourceNetworkPage)
			}
		}
	}
	for i, reg := range regions {
		if o.Replica == "" {
			break
		}
		role := "primary"
		if i > 0 {
			role = "replica"
		}
		add("*."+reg+".sign-in.connect.aws", 443, TCP, "Global Resiliency sign-in ("+role+": INSTANCE-ID."+reg+".sign-in.connect.aws)", SourceGlobalResiliency)
		add("*."+reg+".region-discovery.connect.aws", 443, TCP, "Global Resiliency region discovery ("+role+")", SourceGlobalResiliency)
	}
	return dedupe(out), nil
}

func uniq(ss ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// dedupe drops a repeated name+port+protocol, keeping the first.
func dedupe(ds []Domain) []Domain {
	seen := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		k := fmt.Sprintf("%s %d %s", strings.ToLower(d.Name), d.Port, d.Proto)
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// Covers reports whether the wildcard w ("*.example.com") matches name
// (a host, or another wildcard under it). A name never covers itself.
func Covers(w, name string) bool {
	if !strings.HasPrefix(w, "*.") || strings.EqualFold(w, name) {
		return false
	}
	suffix := strings.ToLower(w[1:]) // ".example.com"
	return strings.HasSuffix(strings.ToLower(strings.TrimPrefix(name, "*")), suffix)
}
