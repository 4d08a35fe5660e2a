package probe

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
)

// benchRelaySetup runs media.relay with a minimal media phase against url
// and reports the mean and median set-up times.
func benchRelaySetup(b *testing.B, url string) {
	th, _ := quality.Profile("connect")
	cfg := &config.Config{
		Timeout: 3 * time.Second, Duration: 100 * time.Millisecond, Thresholds: th,
		ICEServers: []config.ICEServer{{URLs: []string{url}, Username: testTURNUser, Credential: testTURNSecret}},
	}
	var alloc, ice, dtls []float64
	for b.Loop() {
		r := runMediaRelay(context.Background(), NewEnv(cfg), relayTargets(cfg)[0])
		if r.Status != Pass {
			b.Fatalf("%s/%q: %s", r.Status, r.Phase, r.Reason)
		}
		alloc = append(alloc, r.Metrics["allocate_ms"])
		ice = append(ice, r.Metrics["ice_ms"])
		dtls = append(dtls, r.Metrics["dtls_ms"])
	}
	for _, m := range []struct {
		name string
		v    []float64
	}{{"allocate", alloc}, {"ice", ice}, {"dtls", dtls}} {
		sort.Float64s(m.v)
		var sum float64
		for _, x := range m.v {
			sum += x
		}
		b.ReportMetric(sum/float64(len(m.v)), m.name+"_mean_ms")
		b.ReportMetric(m.v[len(m.v)/2], m.name+"_p50_ms")
		b.ReportMetric(m.v[len(m.v)*9/10], m.name+"_p90_ms")
	}
}

func BenchmarkMediaRelaySetupPionTURN(b *testing.B) {
	addr, _ := startRelayPionTURN(b)
	benchRelaySetup(b, "turn:"+addr+"?transport=udp")
}

func BenchmarkMediaRelaySetupCoturn(b *testing.B) {
	addr := startCoturn(b, testTURNUser, testTURNSecret).Addr()
	benchRelaySetup(b, "turn:"+addr+"?transport=udp")
}
