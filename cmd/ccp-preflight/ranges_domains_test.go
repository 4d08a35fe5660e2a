package main

import (
	"strings"
	"testing"
)

// TestExportDomains runs `ranges export --format domains|squid` as a user
// does: the allowlist for the options given, no ranges file needed, and a
// one-line input error (exit 2) for each bad flag.
func TestExportDomains(t *testing.T) {
	code, out, errOut := runCLI(t, "ranges", "export", "--format", "domains", "--region", "us-east-1", "--instance", "https://acme.my.connect.aws/ccp-v2", "--saml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"acme.my.connect.aws ", "*.transport.connect.us-east-1.amazonaws.com ", "dd401jc05x2yk.cloudfront.net ", "signin.aws.amazon.com ", "TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com 3478/udp", ": region us-east-1, instance acme, SAML"} {
		if !strings.Contains(out, want) {
			t.Errorf("domains output lacks %q", want)
		}
	}
	if strings.Contains(out, "d32i4gd7pg4909") {
		t.Error("--saml still lists the non-SAML distribution")
	}
	code, out, _ = runCLI(t, "ranges", "export", "--format", "squid", "--region", "us-east-1", "--saml=false", "--replica-region", "us-west-2", "--signin", "new")
	if code != exitOK || !strings.Contains(out, "acl ccp_connect_dst dstdomain .transport.connect.us-west-2.amazonaws.com") ||
		!strings.Contains(out, "acl ccp_connect_dst dstdomain d32i4gd7pg4909.cloudfront.net") || !strings.Contains(out, "http_access allow ccp_connect_method ccp_connect_dst ccp_connect_port") {
		t.Errorf("squid: exit %d\n%s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "domains"}, "--region is required"},
		{[]string{"--format", "domains", "--region", "us-east-9"}, `--region: unknown region "us-east-9"`},
		{[]string{"--format", "squid", "--region", "us-east-1", "--replica-region", "eu-west-2"}, "the pairs are us-east-1↔us-west-2, eu-central-1↔eu-west-2"},
		{[]string{"--format", "domains", "--region", "us-east-1", "--signin", "fancy"}, `--signin "fancy": want new or classic`},
		{[]string{"--format", "domains", "--region", "us-east-1", "--instance", "bad alias"}, "invalid --instance"},
		{[]string{"--format", "domain", "--region", "us-east-1"}, `did you mean "domains"?`},
	} {
		code, _, errOut := runCLI(t, append([]string{"ranges", "export"}, c.args...)...)
		if code != exitInput || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q in one line", c.args, code, errOut, c.want)
		}
	}
}
