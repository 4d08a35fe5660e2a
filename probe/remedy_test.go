package probe

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/ranges"
)

func TestRemedyTURNNamesDomainAndRanges(t *testing.T) {
	set, err := ranges.Open("")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Region: "us-east-1", Ranges: set}
	r, _ := catalog.Lookup("us-east-1")
	got := RemedyTURN(cfg, r.TURN[0])
	for _, want := range []string{
		"allow outbound UDP 3478 to TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com (domain allowlist)",
		"15.193.0.0/19", "15.193.6.0/24", "52.55.191.224/27", "(AMAZON_CONNECT ranges)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("RemedyTURN = %q, missing %q", got, want)
		}
	}
	if strings.Contains(got, "15.193.7.0/24") {
		t.Errorf("RemedyTURN names another region's block: %q", got)
	}
}
