package catalog

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func hostsOf(eps []Endpoint) string {
	var hs []string
	for _, e := range eps {
		hs = append(hs, e.Host)
	}
	return strings.Join(hs, " ")
}

// TestCloudFrontBySAML: the SAML and non-SAML distribution tables of the
// admin guide, picked by saml (nil tests both).
func TestCloudFrontBySAML(t *testing.T) {
	yes, no := true, false
	noSAML := map[string]string{
		"us-east-1": "d32i4gd7pg4909", "us-west-2": "d18af777lco7lp", "eu-west-2": "d16q6638mh01s7",
		"ap-northeast-1": "d2c2t8mxjhq5z1", "ap-northeast-2": "d9j3u8qaxidxi", "ap-southeast-1": "d3qzmd7y07pz0i",
		"ap-southeast-2": "dwcpoxuuza83q", "eu-central-1": "d1whcm49570jjw", "ca-central-1": "d2wfbsypmqjmog",
	}
	for region, d := range noSAML {
		host := d + ".cloudfront.net"
		both, _ := HTTPSFor(Options{Region: region})
		without, _ := HTTPSFor(Options{Region: region, SAML: &no})
		with, _ := HTTPSFor(Options{Region: region, SAML: &yes})
		if !strings.Contains(hostsOf(both), host) || !strings.Contains(hostsOf(without), host) || strings.Contains(hostsOf(with), host) {
			t.Errorf("%s: %s in both=%v without=%v with=%v", region, host,
				strings.Contains(hostsOf(both), host), strings.Contains(hostsOf(without), host), strings.Contains(hostsOf(with), host))
		}
	}
	with, _ := HTTPSFor(Options{Region: "us-east-1", SAML: &yes})
	if got := hostsOf(with); !strings.Contains(got, "dd401jc05x2yk.cloudfront.net") || !strings.Contains(got, "signin.aws.amazon.com") {
		t.Errorf("us-east-1 with SAML: %s", got)
	}
}

// TestGovCloud: ALIAS.govcloud.connect.aws, static content from S3, no CCP
// v1 host and no old awsapps domain.
func TestGovCloud(t *testing.T) {
	eps, err := HTTPSFor(Options{Region: "us-gov-west-1", Alias: "fedagency"})
	if err != nil {
		t.Fatal(err)
	}
	got := hostsOf(eps)
	for _, want := range []string{"fedagency.govcloud.connect.aws", "s3-us-gov-west-1.amazonaws.com", "participant.connect.us-gov-west-1.amazonaws.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	for _, bad := range []string{"connect-telecom", "awsapps.com", "my.connect.aws"} {
		if strings.Contains(got, bad) {
			t.Errorf("GovCloud has no %s: %s", bad, got)
		}
	}
	if _, ok := LatencyPing("us-gov-west-1"); ok {
		t.Error("GovCloud has no CCP v1 /ping host")
	}
	if a, err := ParseInstance("https://FedAgency.govcloud.connect.aws/ccp-v2/"); err != nil || a != "fedagency" {
		t.Errorf("ParseInstance(govcloud URL) = %q, %v", a, err)
	}
}

func TestCheckReplica(t *testing.T) {
	for p, r := range map[string]string{"us-east-1": "us-west-2", "us-west-2": "us-east-1", "eu-central-1": "eu-west-2", "eu-west-2": "eu-central-1"} {
		if err := CheckReplica(p, r); err != nil {
			t.Errorf("%s↔%s: %v", p, r, err)
		}
	}
	for _, pr := range [][2]string{{"us-east-1", "eu-west-2"}, {"ap-southeast-2", "ap-southeast-1"}, {"us-east-1", "us-east-1"}} {
		p, r := pr[0], pr[1]
		err := CheckReplica(p, r)
		if err == nil || !strings.Contains(err.Error(), "us-east-1↔us-west-2, eu-central-1↔eu-west-2") {
			t.Errorf("%s→%s: error %v, want the valid pairs listed", p, r, err)
		}
	}
}

func names(ds []Domain) map[string]Domain {
	m := map[string]Domain{}
	for _, d := range ds {
		m[d.Name] = d
	}
	return m
}

// TestDomainsOption1 checks the allowlist against the admin guide's Option
// 1 table: every row is present with its port and protocol, every line
// has a purpose and a source, and options add exactly their domains.
func TestDomainsOption1(t *testing.T) {
	ds, err := Domains(Options{Region: "us-east-1", Alias: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	m := names(ds)
	want := map[string]string{
		"acme.my.connect.aws":                                  "443/tcp",
		"acme.awsapps.com":                                     "443/tcp",
		"*.static.connect.aws":                                 "443/tcp",
		"dd401jc05x2yk.cloudfront.net":                         "443/tcp",
		"d32i4gd7pg4909.cloudfront.net":                        "443/tcp",
		"*.transport.connect.us-east-1.amazonaws.com":          "443/tcp",
		"*.connect-telecom.us-east-1.amazonaws.com":            "443/tcp",
		"*.telemetry.connect.us-east-1.amazonaws.com":          "443/tcp",
		"participant.connect.us-east-1.amazonaws.com":          "443/tcp",
		"TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com": "3478/udp",
	}
	for n, pp := range want {
		d, ok := m[n]
		if !ok {
			t.Errorf("missing %s", n)
			continue
		}
		if got := strings.Join([]string{strconv.Itoa(d.Port), d.Proto}, "/"); got != pp {
			t.Errorf("%s: %s, want %s", n, got, pp)
		}
	}
	for _, d := range ds {
		if d.Purpose == "" || d.Source == "" {
			t.Errorf("%s: no purpose or source", d.Name)
		}
	}
	for _, absent := range []string{"signin.aws.amazon.com", "*.signin.aws", "*.us-east-1.sign-in.connect.aws"} {
		if _, ok := m[absent]; ok {
			t.Errorf("%s listed without its option", absent)
		}
	}
	yes := true
	ds, err = Domains(Options{Region: "us-east-1", Alias: "acme", SAML: &yes, NewSignIn: true, Replica: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	m = names(ds)
	for _, n := range []string{"signin.aws.amazon.com", "*.apps.signin.aws", "*.signin.aws", "*.threat-mitigation.aws.amazon.com",
		"*.s3.dualstack.us-east-1.amazonaws.com", "*.s3.dualstack.us-west-2.amazonaws.com",
		"*.us-east-1.sign-in.connect.aws", "*.us-west-2.sign-in.connect.aws", "*.us-west-2.region-discovery.connect.aws",
		"*.transport.connect.us-west-2.amazonaws.com", "TurnNlb-8d79b4466d82ad0e.elb.us-west-2.amazonaws.com"} {
		if _, ok := m[n]; !ok {
			t.Errorf("missing %s with saml, new sign-in and replica us-west-2", n)
		}
	}
	if _, ok := m["d32i4gd7pg4909.cloudfront.net"]; ok {
		t.Error("saml: true still lists the non-SAML distribution")
	}
	if _, err := Domains(Options{Region: "us-east-1", Replica: "eu-west-2"}); err == nil {
		t.Error("invalid replica pair accepted")
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		w, n string
		want bool
	}{
		{"*.signin.aws", "*.apps.signin.aws", true},
		{"*.signin.aws", "x.signin.aws", true},
		{"*.signin.aws", "*.signin.aws", false},
		{"*.s3.us-east-1.amazonaws.com", "*.s3.dualstack.us-east-1.amazonaws.com", false},
		{"host.example", "a.host.example", false},
	} {
		if got := Covers(c.w, c.n); got != c.want {
			t.Errorf("Covers(%q, %q) = %v", c.w, c.n, got)
		}
	}
}

// TestSquidParses feeds the squid snippet, for every option set, to
// Debian's squid (`squid -k parse`) inside a minimal squid.conf: squid
// must accept it without an error or a warning about the ACLs.
func TestSquidParses(t *testing.T) {
	squid, err := exec.LookPath("squid")
	if err != nil {
		t.Skip("squid is not installed (apt-get install squid; make test installs it)")
	}
	yes, no := true, false
	for _, o := range []Options{
		{Region: "us-east-1", Alias: "acme"},
		{Region: "us-east-1", Alias: "acme", SAML: &yes, NewSignIn: true, Replica: "us-west-2"},
		{Region: "eu-central-1", SAML: &no, Replica: "eu-west-2", NewSignIn: true},
		{Region: "us-gov-west-1", Alias: "agency", SAML: &yes, NewSignIn: true},
	} {
		ds, err := Domains(o)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var snip bytes.Buffer
		if err := WriteDomains(&snip, "squid", "test "+o.Region, ds); err != nil {
			t.Fatal(err)
		}
		snipPath := filepath.Join(dir, "connect.conf")
		if err := os.WriteFile(snipPath, snip.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "squid.conf")
		body := "http_port 127.0.0.1:3128\ninclude " + snipPath + "\nhttp_access deny all\npid_filename " + filepath.Join(dir, "squid.pid") +
			"\ncache_log " + filepath.Join(dir, "cache.log") + "\naccess_log none\n"
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, squid, "-k", "parse", "-f", conf).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%+v: squid -k parse: %v\n%s\nsnippet:\n%s", o, err, out, snip.String())
			continue
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "ccp_connect") && (strings.Contains(l, "WARNING") || strings.Contains(l, "ERROR")) {
				t.Errorf("%+v: squid: %s", o, l)
			}
			if strings.Contains(l, "is a subdomain of") || strings.Contains(l, "FATAL") {
				t.Errorf("%+v: squid: %s", o, l)
			}
		}
		if !strings.Contains(snip.String(), "acl ccp_connect_dst dstdomain .transport.connect."+o.Region+".amazonaws.com") {
			t.Errorf("%+v: no signaling wildcard in\n%s", o, snip.String())
		}
	}
}

func TestDomainListFormat(t *testing.T) {
	ds, _ := Domains(Options{Region: "eu-west-2", Alias: "acme"})
	var b bytes.Buffer
	if err := WriteDomains(&b, "domains", "eu-west-2 acme", ds); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		lines++
		f := strings.Fields(l)
		if len(f) < 4 || f[2] != "#" || !(strings.HasSuffix(f[1], "/tcp") || strings.HasSuffix(f[1], "/udp")) {
			t.Errorf("line %q: want NAME PORT/PROTO # purpose", l)
		}
	}
	if lines != len(ds) {
		t.Errorf("%d lines for %d domains", lines, len(ds))
	}
	if err := WriteDomains(&b, "csv", "", ds); err == nil {
		t.Error("unknown format accepted")
	}
}
