package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestEveryRegionHasTURN(t *testing.T) {
	if got := len(Regions()); got != 11 {
		t.Fatalf("%d regions, the admin guide lists 11", got)
	}
	for _, name := range Regions() {
		r, err := Lookup(name)
		if err != nil || len(r.TURN) == 0 {
			t.Fatalf("%s: %v, %d TURN names", name, err, len(r.TURN))
		}
		for _, e := range r.TURN {
			if !strings.HasPrefix(e.Host, "TurnNlb-") || !strings.HasSuffix(e.Host, ".elb."+name+".amazonaws.com") || e.Port != 3478 || e.Service != AmazonConnect {
				t.Errorf("%s: bad TURN endpoint %+v", name, e)
			}
		}
	}
}

func TestUnconfirmedNamesAreMarkedAndLast(t *testing.T) {
	r, _ := Lookup("us-east-1")
	confirmed := 0
	for i, e := range r.TURN {
		if !e.Unconfirmed {
			confirmed++
			if i != confirmed-1 {
				t.Fatalf("confirmed name after an unconfirmed one: %+v", r.TURN)
			}
		}
	}
	if confirmed != 3 || len(r.TURN) != 5 {
		t.Fatalf("us-east-1: %d confirmed of %d", confirmed, len(r.TURN))
	}
}

func TestUnknownRegionListsValidOnes(t *testing.T) {
	_, err := Lookup("us-east-3")
	var ue *UnknownRegionError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "us-east-1") || !strings.Contains(err.Error(), "eu-west-2") {
		t.Fatalf("error = %v", err)
	}
}

func TestHTTPSEndpoints(t *testing.T) {
	eps, err := HTTPS("ca-central-1", "acme")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, e := range eps {
		hosts = append(hosts, e.Host)
		if e.Port != 443 {
			t.Errorf("%s: port %d", e.Host, e.Port)
		}
	}
	got := strings.Join(hosts, " ")
	for _, want := range []string{"acme.my.connect.aws", "acme.awsapps.com", "participant.connect.ca-central-1.amazonaws.com", "rtc.connect-telecom.ca-central-1.amazonaws.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	// ca-central-1: SAML instances get static content from my.connect.aws,
	// instances without SAML from one CloudFront distribution; unknown
	// SAML use tests both.
	if !strings.Contains(got, "d2wfbsypmqjmog.cloudfront.net") {
		t.Errorf("ca-central-1 without SAML serves static content from d2wfbsypmqjmog: %s", got)
	}
	yes := true
	saml, _ := HTTPSFor(Options{Region: "ca-central-1", Alias: "acme", SAML: &yes})
	for _, e := range saml {
		if strings.Contains(e.Host, "cloudfront") {
			t.Errorf("ca-central-1 with SAML serves static content from my.connect.aws, not %s", e.Host)
		}
	}
	us, _ := HTTPS("us-east-1", "")
	if us[0].Host != "dd401jc05x2yk.cloudfront.net" {
		t.Errorf("no alias: first endpoint %s", us[0].Host)
	}
}

func TestParseInstance(t *testing.T) {
	ok := map[string]string{
		"myalias": "myalias", "https://MyAlias.my.connect.aws/ccp-v2": "myalias",
		"https://acme-1.awsapps.com/connect/ccp-v2#x": "acme-1", "acme.my.connect.aws": "acme", "": "",
	}
	for in, want := range ok {
		if got, err := ParseInstance(in); err != nil || got != want {
			t.Errorf("ParseInstance(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"bad alias", "-x", "https://", "a_b", strings.Repeat("a", 64)} {
		if _, err := ParseInstance(bad); err == nil || !strings.Contains(err.Error(), "invalid --instance") {
			t.Errorf("ParseInstance(%q) error = %v", bad, err)
		}
	}
}

// TestEveryRegionHasACity: the guided run lists every region with its city.
func TestEveryRegionHasACity(t *testing.T) {
	for _, r := range Regions() {
		if City(r) == "" {
			t.Errorf("region %s has no city", r)
		}
	}
	if City("us-east-1") != "N. Virginia" || City("xx-nowhere-1") != "" {
		t.Errorf("City: %q %q", City("us-east-1"), City("xx-nowhere-1"))
	}
}
