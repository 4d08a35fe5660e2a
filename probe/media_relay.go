package probe

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// media.relay does what the CCP does for a call, end to end, with the
// credentials the user gave: two relay-only WebRTC PeerConnections in this
// process (ICETransportPolicyRelay, like the CCP's iceTransportPolicy
// "relay"), each allocating on the TURN server, connected to each other
// through it, DTLS-SRTP, and an Opus track sending Opus-sized RTP every
// 20 ms for --duration. The loop crosses this computer's network twice:
// A → TURN → B goes up to the TURN server and back down.

// Budgets and media constants.
const (
	// relayPacketInterval is the CCP's Opus ptime (docs/MEDIA.md): 50 packets/s.
	relayPacketInterval = 20 * time.Millisecond
	// relayPayloadBytes is one Opus frame at ~32 kbit/s (20 ms × 32 kbit/s);
	// zeros: the transport is measured, not the audio.
	relayPayloadBytes = 80
	// relayReportInterval is the RTCP SR/RR period: twice a second, so a
	// 5 s run has about nine round-trip samples (browsers send every ~1–5 s).
	relayReportInterval = 500 * time.Millisecond
	// relayDrainMin/Max bound the wait after the last packet for those still
	// in flight: one loop round trip, at least 100 ms, at most 500 ms (a
	// loop RTT above 500 ms fails the RTT limits anyway).
	relayDrainMin = 100 * time.Millisecond
	relayDrainMax = 500 * time.Millisecond
	// relayCloseBudget is the time to close both PeerConnections and
	// release the two TURN allocations (a few ms when healthy: pion sends
	// the Refresh(0) without waiting).
	relayCloseBudget = 500 * time.Millisecond
	// relaySetupRounds is the set-up in round trips across the relay loop,
	// which crosses this network to TURN twice (so 2 × the RTT of the
	// first TURN answer each): Allocate twice (401 challenge), permission
	// and channel, ICE checks, DTLS flights, with room for a lost one.
	// Once the server has answered, the set-up may take this many loop
	// round trips (at least silentLimit, at most relayICELimit, or
	// --timeout when that is longer): a browser gives a slow path the same.
	relaySetupRounds = 12
	// relayICELimit is the CCP's own ICE limit (ice_collection_timeout,
	// 8 s: docs/CONNECT.md): a set-up slower than that fails in the CCP too.
	relayICELimit   = 8 * time.Second
	opusPayloadType = 111
	opusClockRate   = 48000
)

// relayWhy is the skip reason when no credentials are configured.
const relayWhy = "no TURN credentials given (--ice-servers FILE or $" + config.EnvICEServersFile + ")"

var mediaRelay = Probe{
	Kind:    result.Kind{ID: "media.relay", Layer: result.LayerQuality, Perfdata: []string{"rtt_ms", "jitter_ms", "loss_ratio"}, DependsOn: []string{"turn.allocate"}},
	Budget:  relayBudget,
	Targets: relayTargets,
	Why:     func(*config.Config) string { return relayWhy },
	Run:     runMediaRelay,
}

// relaySetup is the time ICE and DTLS may take before the TURN server
// has answered anything: silentLimit (3 s, or --timeout when shorter), so
// a blackholed TURN server is reported within the 3.5 s target
// (docs/WEBRTC.md) with the runner's 0.5 s grace, like turn.allocate;
// pion's own TURN client would retry for ~8 s and its ICE would give up
// after 25 s.
func relaySetup(c *config.Config) time.Duration {
	return pathScaledLimit(c, 0, relaySetupRounds)
}

// relaySetupLimit is the set-up limit once the TURN server answered a
// first request in firstRTT (0: not yet, relaySetup): relaySetupRounds
// round trips of the relay loop (2 × firstRTT each), at least relaySetup
// and at most relayICELimit, raised to --timeout when that is longer.
func relaySetupLimit(c *config.Config, firstRTT time.Duration) time.Duration {
	return pathScaledLimit(c, 2*firstRTT, relaySetupRounds)
}

// relayBudget is the longest set-up, the media duration, the drain and
// the close.
func relayBudget(c *config.Config) time.Duration {
	return max(relayICELimit, c.Timeout) + c.Duration + relayDrainMax + relayCloseBudget + relaySizesBudget
}

// relaySizesBudget is the time grading may wait for the datagram sizes
// when path.large-datagram did not already measure them (it runs at the
// start of a run, so they are usually ready): its own budget.
const relaySizesBudget = largeDownBudget

// relayTargets is one target per ICE server entry (its URL set); the name
// is the URLs, never the credential.
func relayTargets(c *config.Config) []Target {
	var ts []Target
	for i := range c.ICEServers {
		s := &c.ICEServers[i]
		u, _ := config.ParseTURNURL(s.URLs[0]) // validated when loaded
		ts = append(ts, Target{Name: strings.Join(s.URLs, " "), ICE: s, URL: u})
	}
	return ts
}

var opusCodec = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   opusClockRate,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// quietLogs keeps pion silent: probes never print.
var quietLogs = &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}

func runMediaRelay(ctx context.Context, env *Env, t Target) Result {
	r := Result{Target: t.Name}
	if t.ICE == nil || len(t.ICE.URLs) == 0 {
		r.Status, r.Reason = Skip, relayWhy
		return r
	}
	cfg := env.Cfg

	// Resolve every TURN host once, with the run's resolver; pion then
	// reaches these addresses only (turnGuard).
	hosts := map[string]netip.Addr{}
	var (
		servers []netip.AddrPort
		urls    []config.TURNURL
		types   []webrtc.NetworkType
	)
	addType := func(nt webrtc.NetworkType) {
		for _, x := range types {
			if x == nt {
				return
			}
		}
		types = append(types, nt)
	}
	for _, raw := range t.ICE.URLs {
		u, err := config.ParseTURNURL(raw)
		if err != nil {
			r.Status, r.Phase, r.Reason = Fail, result.PhaseConfig, err.Error()
			return r
		}
		urls = append(urls, u)
		a, ok := hosts[u.Host]
		if !ok {
			ans := env.DNS.Lookup(ctx, u.Host)
			if ans.Err != nil || len(ans.Addrs) == 0 {
				why := "no address"
				if ans.Err != nil {
					why = string(ans.Kind)
					if why == "" || why == "error" {
						why = ans.Err.Error()
					}
				}
				r.Status, r.Phase = Fail, result.PhaseResolve
				r.Reason = fmt.Sprintf("the TURN server name %s does not resolve (%s)", u.Host, why)
				r.Remedy = fmt.Sprintf("let this computer resolve %s (AWS's advice: nslookup the TURN name; allow DNS for *.elb.%s.amazonaws.com)", u.Host, regionName(cfg))
				return r
			}
			a = preferIPv4(ans.Addrs)
			hosts[u.Host] = a
		}
		servers = append(servers, netip.AddrPortFrom(a, uint16(u.Port)))
		udp, tcp := webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4
		if a.Is6() {
			udp, tcp = webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP6
		}
		addType(udp) // relay candidates are published only for UDP network types
		if u.Secure || u.Transport == "tcp" {
			addType(tcp)
		}
	}
	r.Address = servers[0].String()
	r.SetDetail("turn_transport", turnTransport(urls[0]))

	s := &relaySession{ev: make(chan struct{}, 1), th: cfg.Thresholds}
	base, err := stdnet.NewNet()
	if err != nil {
		r.Status, r.Phase, r.Reason = Fail, result.PhaseSetup, "cannot use this computer's network stack"+seeDetails
		rawError(&r, err)
		return r
	}
	s.guard = newTURNGuard(base, hosts, servers, s.ping)
	defer s.close()
	if err := s.build(t.ICE, types, cfg.DTLSRole); err != nil {
		r.Status, r.Phase, r.Reason = Fail, result.PhaseSetup, "could not create the WebRTC peers"+seeDetails
		rawError(&r, err)
		return r
	}

	// A browser's handshake needs larger datagrams than pion's: the
	// per-direction sizes (path.large-datagram's measurement, one per
	// server and run) are read when grading, never on an early failure.
	if u := urls[0]; u.Transport == "udp" && !u.Secure {
		s.sizeFn = func(ctx context.Context) (datagramSizes, bool) {
			return env.datagramSizesFor(ctx, servers[0], u.Host)
		}
	}

	if fr := s.connect(ctx, cfg, urls[0]); fr != nil {
		fr.Target, fr.Address, fr.Details = r.Target, r.Address, r.Details
		s.setupMetrics(fr)
		return *fr
	}
	s.setupMetrics(&r)
	s.describePair(&r)

	// Media: cfg.Duration of 20 ms packets A → B.
	if !s.sendMedia(ctx, cfg.Duration) {
		r.Status, r.Phase, r.Reason = Skip, result.PhaseMedia, "cancelled before the media test finished"
		return r
	}
	s.drain(ctx)
	return s.gradeHandshake(ctx, s.grade(r, cfg, urls[0]), cfg, urls[0])
}

// gradeHandshake grades the call together with the datagram sizes the
// path carries each way: this check's pion peers send small handshake
// datagrams, a browser's are larger (path_large_datagram_sizes.go), so a
// path on which a browser's handshake would stall must not pass here.
func (s *relaySession) gradeHandshake(ctx context.Context, r Result, cfg *config.Config, u config.TURNURL) Result {
	v, ok := s.sizesNow(ctx)
	if !ok {
		return r
	}
	sr := gradeSizes(Result{}, v, cfg.DTLSRole, u.Addr())
	if sr.Status != Fail && sr.Status != Warn {
		return r
	}
	words := "would stall"
	if sr.Status == Warn {
		words = "may stall"
	}
	why := "this test call connected (its own DTLS datagrams are small), but a browser's DTLS handshake " + words + ": " + sr.Reason
	if r.Status.Severity() >= sr.Status.Severity() && r.Reason != "" {
		r.Reason += "; " + why
		return r
	}
	if r.Reason != "" {
		why += "; " + r.Reason
	}
	r.Status, r.Phase, r.Reason, r.Remedy = sr.Status, result.PhaseDTLS, why, sr.Remedy
	return r
}

func regionName(cfg *config.Config) string {
	if cfg == nil || cfg.Region == "" {
		return "REGION"
	}
	return cfg.Region
}
