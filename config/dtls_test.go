package config

import "testing"

func TestDTLSRole(t *testing.T) {
	for in, want := range map[string]string{"": "", "unknown": "", "auto": "", "client": DTLSClient, "Server": DTLSServer} {
		f, err := ParseFile([]byte("dtls_role: \""+in+"\"\n"), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		c, err := Build(f, Overrides{Region: "us-east-1"})
		if err != nil || c.DTLSRole != want {
			t.Errorf("dtls_role %q: role %q err %v, want %q", in, c.DTLSRole, err, want)
		}
	}
}
