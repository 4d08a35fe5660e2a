package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTURNURL(t *testing.T) {
	cases := []struct {
		in   string
		want TURNURL
		err  string
	}{
		{in: "turn:TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com:3478?transport=udp", want: TURNURL{Host: "TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com", Port: 3478, Transport: "udp"}},
		{in: "turn:127.0.0.1", want: TURNURL{Host: "127.0.0.1", Port: 3478, Transport: "udp"}},
		{in: "turn:h:3479?transport=tcp", want: TURNURL{Host: "h", Port: 3479, Transport: "tcp"}},
		{in: "turns:h", want: TURNURL{Secure: true, Host: "h", Port: 5349, Transport: "tcp"}},
		{in: "turn:[::1]:3478", want: TURNURL{Host: "::1", Port: 3478, Transport: "udp"}},
		{in: "stun:h:3478", err: "want turn: or turns:"},
		{in: "turn:h:99999", err: "bad port"},
		{in: "turn:h:34x", err: "bad port"},
		{in: "turn::3478", err: "no host"},
		{in: "turn:h?transport=sctp", err: "transport must be udp or tcp"},
	}
	for _, c := range cases {
		got, err := ParseTURNURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseTURNURL(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseTURNURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

const goodICE = `[{"urls":["turn:TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com:3478?transport=udp"],"username":"1700000000:agent","credential":"s3cr3t-T0KEN"}]`

func TestParseICEServersCCPShape(t *testing.T) {
	list, err := ParseICEServers([]byte(goodICE), "creds.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Credential.Reveal() != "s3cr3t-T0KEN" || list[0].Username.Reveal() != "1700000000:agent" {
		t.Fatalf("parsed %+v", list)
	}
	// A single object (not a list) is accepted too.
	one, err := ParseICEServers([]byte(goodICE[1:len(goodICE)-1]), "one.json")
	if err != nil || len(one) != 1 {
		t.Fatalf("single object: %v %v", one, err)
	}
}

// TestSecretsNeverPrint: every way a credential could reach an output
// (fmt verbs, JSON) shows the redacted form.
func TestSecretsNeverPrint(t *testing.T) {
	list, _ := ParseICEServers([]byte(goodICE), "creds.json")
	s := list[0]
	js, _ := json.Marshal(s)
	outs := []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s.Credential), string(js)}
	for _, o := range outs {
		if strings.Contains(o, "s3cr3t") || strings.Contains(o, "1700000000:agent") {
			t.Errorf("credential leaked: %s", o)
		}
		if !strings.Contains(o, Redacted) {
			t.Errorf("no redaction marker in %s", o)
		}
	}
}

func TestParseICEServersBadInput(t *testing.T) {
	cases := map[string]string{
		``:              "invalid JSON",
		`[`:             "invalid JSON at byte 1",
		`[]`:            "empty list",
		`[{"urls":[]}]`: "entry 0 has no urls",
		`[{"urls":["http://x"],"username":"u","credential":"c"}]`:  "want turn: or turns:",
		`[{"urls":["turn:h"],"username":"u"}]`:                     "needs username and credential",
		`[{"urls":"turn:h","username":"u","credential":"c"}]`:      "must be",
		`{"urls":["turn:h"],"username":"u","credential":"SECRETX"`: "invalid JSON",
	}
	for in, want := range cases {
		_, err := ParseICEServers([]byte(in), "creds.json")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "creds.json") {
			t.Errorf("ParseICEServers(%q) = %v; want an error naming creds.json with %q", in, err, want)
			continue
		}
		if !IsInput(err) {
			t.Errorf("ParseICEServers(%q): not an input error", in)
		}
		if strings.Contains(err.Error(), "SECRETX") || strings.Contains(err.Error(), "\n") {
			t.Errorf("error quotes the credential or spans lines: %v", err)
		}
	}
}

func TestLoadICEServersFromEnvironment(t *testing.T) {
	t.Setenv(EnvICEServers, goodICE)
	list, err := LoadICEServers("")
	if err != nil || len(list) != 1 {
		t.Fatalf("from $%s: %v %v", EnvICEServers, list, err)
	}
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte(goodICE), 0o600)
	t.Setenv(EnvICEServersFile, p)
	if list, err = LoadICEServers(""); err != nil || len(list) != 1 {
		t.Fatalf("from $%s: %v %v", EnvICEServersFile, list, err)
	}
	t.Setenv(EnvICEServersFile, filepath.Join(t.TempDir(), "missing.json"))
	if _, err = LoadICEServers(""); err == nil || !strings.Contains(err.Error(), EnvICEServersFile) {
		t.Fatalf("missing env file: %v", err)
	}
}

func FuzzParseICEServers(f *testing.F) {
	f.Add([]byte(goodICE))
	f.Add([]byte(`{"urls":["turns:h:443?transport=tcp"],"username":"u","credential":"c"}`))
	f.Add([]byte(`[{"urls":["turn:[::1]:3478"],"username":"u","credential":"c"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ParseICEServers(b, "fuzz.json")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		for _, s := range list {
			for _, u := range s.URLs {
				if _, err := ParseTURNURL(u); err != nil {
					t.Fatalf("accepted a URL it cannot parse: %q", u)
				}
			}
		}
	})
}
