package config

import (
	"strings"
	"testing"
)

func build(t *testing.T, yaml string, o Overrides) (*Config, error) {
	t.Helper()
	f, err := ParseFile([]byte(yaml), "site.yaml")
	if err != nil {
		return nil, err
	}
	return Build(f, o)
}

// TestSignalingURL: the CCP's own URL is used with its path and port, its
// query (a signed token) never shows in URL() or String() and is one of
// the run's secrets; without it the catalog's stand-in is used and says so.
func TestSignalingURL(t *testing.T) {
	const token = "X-Amz-Signature=0123456789abcdef&X-Amz-Security-Token=tok3nS3cr3tValue"
	c, err := build(t, "region: us-east-1\nsignaling_url: wss://abc123.transport.connect.us-east-1.amazonaws.com/connect?"+token+"\n", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Signaling[0]
	if !s.Configured || s.Endpoint.Host != "abc123.transport.connect.us-east-1.amazonaws.com" || s.Endpoint.Port != 443 || s.Path != "/connect" {
		t.Fatalf("signaling = %+v", s)
	}
	if got := s.URL(); got != "wss://abc123.transport.connect.us-east-1.amazonaws.com/connect" {
		t.Errorf("URL() = %q", got)
	}
	if !strings.HasSuffix(s.RequestURL(), "?"+token) {
		t.Errorf("RequestURL() lacks the query: %q", s.RequestURL())
	}
	for _, shown := range []string{s.URL(), s.String(), s.Query.String()} {
		if strings.Contains(shown, "tok3n") || strings.Contains(shown, "0123456789abcdef") {
			t.Errorf("the URL's token is shown: %q", shown)
		}
	}
	secrets := strings.Join(c.Secrets(), " ")
	for _, want := range []string{token, "tok3nS3cr3tValue", "0123456789abcdef"} {
		if !strings.Contains(secrets, want) {
			t.Errorf("Secrets() lacks %q", want)
		}
	}
	if len(c.Latency) != 1 || c.Latency[0].Host != s.Endpoint.Host {
		t.Errorf("latency with signaling_url = %+v, want its host", c.Latency)
	}

	c, err = build(t, "region: eu-west-2\n", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	s = c.Signaling[0]
	if s.Configured || s.Endpoint.Host != "transport.connect.eu-west-2.amazonaws.com" || !s.Endpoint.Unconfirmed ||
		!strings.Contains(s.String(), "*.transport.connect.eu-west-2.amazonaws.com") {
		t.Errorf("stand-in = %+v (%s)", s, s)
	}
	if len(c.Latency) != 1 || c.Latency[0].Host != "rtc.cell-1.prod.eu-west-2.prod.connect.aws.a2z.com" {
		t.Errorf("eu-west-2 latency host = %+v, want the one AWS's tool timed", c.Latency)
	}
	c, _ = build(t, "region: us-east-1\nsignaling_url: wss://127.0.0.1:8443\n", Overrides{})
	if c.Signaling[0].Endpoint.Port != 8443 || c.Signaling[0].Path != "/" {
		t.Errorf("port/path = %+v", c.Signaling[0])
	}
}

// TestReplicaRegion: --replica-region (over the file's) adds the replica's
// TURN servers and signaling host; other pairs are refused, listing the
// valid ones.
func TestReplicaRegion(t *testing.T) {
	c, err := build(t, "region: us-east-1\nreplica_region: eu-west-2\n", Overrides{ReplicaRegion: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	var west int
	for _, e := range c.TURN {
		if strings.HasSuffix(e.Host, ".elb.us-west-2.amazonaws.com") {
			west++
		}
	}
	if c.ReplicaRegion != "us-west-2" || west != 5 || len(c.TURN) != 10 {
		t.Errorf("replica %q: %d us-west-2 TURN of %d", c.ReplicaRegion, west, len(c.TURN))
	}
	if len(c.Signaling) != 2 || c.Signaling[1].Region != "us-west-2" || c.Signaling[1].Endpoint.Host != "transport.connect.us-west-2.amazonaws.com" {
		t.Errorf("signaling = %+v", c.Signaling)
	}
	if len(c.Latency) != 2 || c.Latency[1].Host != "rtc.connect-telecom.us-west-2.amazonaws.com" {
		t.Errorf("latency = %+v", c.Latency)
	}
	// The catalog's table is not changed by the append.
	again, _ := build(t, "region: us-east-1\n", Overrides{})
	if len(again.TURN) != 5 {
		t.Errorf("catalog TURN list grew to %d", len(again.TURN))
	}
}

func TestConnectSettings(t *testing.T) {
	c, err := build(t, "region: us-east-1\ninstance: acme\nsaml: false\nsignin: new\n", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	hosts := ""
	for _, e := range c.HTTPS {
		hosts += e.Host + " "
	}
	if c.SAML == nil || *c.SAML || !c.NewSignIn || strings.Contains(hosts, "dd401jc05x2yk") || !strings.Contains(hosts, "d32i4gd7pg4909") {
		t.Errorf("saml false: %s", hosts)
	}
	c, err = build(t, "region: us-gov-west-1\ninstance: https://agency.govcloud.connect.aws/ccp-v2\n", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPS[0].Host != "agency.govcloud.connect.aws" || len(c.Latency) != 0 {
		t.Errorf("GovCloud: https %v latency %v", c.HTTPS, c.Latency)
	}
}

func TestBadConnectConfigs(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		o          Overrides
		want       string
	}{
		{"ws scheme", "region: us-east-1\nsignaling_url: ws://h/x\n", Overrides{}, `config signaling_url "ws://h/x": want wss://HOST/PATH`},
		{"no host", "region: us-east-1\nsignaling_url: 'wss:///x?tok=secret123'\n", Overrides{}, `config signaling_url "wss:///x": want wss://HOST/PATH`},
		{"bad port", "region: us-east-1\nsignaling_url: 'wss://h:99999/x'\n", Overrides{}, "bad port"},
		{"signin", "region: us-east-1\nsignin: modern\n", Overrides{}, `config signin "modern": want new`},
		{"saml type", "region: us-east-1\nsaml: maybe\n", Overrides{}, "cannot unmarshal"},
		{"replica pair", "region: us-east-1\n", Overrides{ReplicaRegion: "eu-west-2"}, "--replica-region: eu-west-2 is not the Global Resiliency replica of us-east-1 (that is us-west-2; the pairs are us-east-1↔us-west-2, eu-central-1↔eu-west-2)"},
		{"replica none", "region: ap-southeast-2\nreplica_region: us-west-2\n", Overrides{}, "ap-southeast-2 has no Global Resiliency replica region"},
		{"replica unknown", "region: us-east-1\n", Overrides{ReplicaRegion: "mars-1"}, `--replica-region: unknown region "mars-1"`},
		{"govcloud mismatch", "region: us-east-1\ninstance: agency.govcloud.connect.aws\n", Overrides{}, "is a GovCloud instance"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := build(t, c.yaml, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v; want %q", err, c.want)
			}
			if !IsInput(err) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secret123") {
				t.Fatalf("want a one-line input error without the URL's query, got %q", err)
			}
		})
	}
}
