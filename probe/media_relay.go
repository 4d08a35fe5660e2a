package probe

import (
	"context"
	"fmt"
	"github.com/ccp-preflight/ccp-preflight/result"
	"io"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
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
	// relayPacketInterval is the CCP's Opus ptime (CONNECT.md): 50 packets/s.
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
	// relaySetupBudget bounds ICE and DTLS (or --timeout when shorter). A
	// healthy set-up is about ten round trips to TURN (Allocate twice for
	// the 401 challenge, ICE checks and DTLS across the relay loop): 1.5 s
	// at 150 ms. 3 s keeps a blackholed TURN server's verdict within the
	// 3.5 s target (issue 3) with the runner's 0.5 s grace, like
	// turn.allocate; pion's own TURN client would retry for ~8 s and its
	// ICE would give up after 25 s.
	relaySetupBudget = 3 * time.Second
	opusPayloadType  = 111
	opusClockRate    = 48000
)

// relayWhy is the skip reason when no credentials are configured.
const relayWhy = "no TURN credentials given (--ice-servers FILE or $" + config.EnvICEServersFile + ")"

var mediaRelay = Probe{
	Kind:    result.Kind{ID: "media.relay", Layer: result.LayerQuality, Perfdata: []string{"rtt_ms", "jitter_ms", "loss_ratio"}},
	Budget:  relayBudget,
	Targets: relayTargets,
	Why:     func(*config.Config) string { return relayWhy },
	Run:     runMediaRelay,
}

// relaySetup is the time ICE and DTLS may take: relaySetupBudget, or
// --timeout when shorter.
func relaySetup(c *config.Config) time.Duration {
	if c != nil && c.Timeout > 0 && c.Timeout < relaySetupBudget {
		return c.Timeout
	}
	return relaySetupBudget
}

// relayBudget is the set-up, the media duration, the drain and the close.
func relayBudget(c *config.Config) time.Duration {
	return relaySetup(c) + c.Duration + relayDrainMax + relayCloseBudget
}

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
			r.Status, r.Phase, r.Reason = Fail, "config", err.Error()
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
				r.Status, r.Phase = Fail, "resolve"
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
	r.SetDetail("turn_transport", urlTransport(urls[0]))

	s := &relaySession{ev: make(chan struct{}, 1), th: cfg.Thresholds}
	base, err := stdnet.NewNet()
	if err != nil {
		r.Status, r.Phase, r.Reason = Fail, "setup", "cannot use this computer's network stack: "+err.Error()
		return r
	}
	s.guard = newTURNGuard(base, hosts, servers, s.ping)
	defer s.close()
	if err := s.build(t.ICE, types); err != nil {
		r.Status, r.Phase, r.Reason = Fail, "setup", "could not create the WebRTC peers: "+err.Error()
		return r
	}

	setupCtx, cancel := context.WithTimeout(ctx, relaySetup(cfg))
	defer cancel()
	if fr := s.connect(setupCtx, cfg, urls[0]); fr != nil {
		fr.Target, fr.Address, fr.Details = r.Target, r.Address, r.Details
		s.setupMetrics(fr)
		return *fr
	}
	s.setupMetrics(&r)
	s.describePair(&r)

	// Media: cfg.Duration of 20 ms packets A → B.
	if !s.sendMedia(ctx, cfg.Duration) {
		r.Status, r.Phase, r.Reason = Skip, "media", "cancelled before the media test finished"
		return r
	}
	s.drain(ctx)
	return s.grade(r, cfg, urls[0])
}

func regionName(cfg *config.Config) string {
	if cfg == nil || cfg.Region == "" {
		return "REGION"
	}
	return cfg.Region
}

func urlTransport(u config.TURNURL) string {
	if u.Secure {
		return "tls"
	}
	return u.Transport
}

// preferIPv4 prefers IPv4, as the CCP's TURN URLs are used over IPv4.
func preferIPv4(as []netip.Addr) netip.Addr {
	for _, a := range as {
		if a.Unmap().Is4() {
			return a.Unmap()
		}
	}
	return as[0]
}

// relaySession is one media.relay run: the two peers and what they saw.
type relaySession struct {
	guard *turnGuard
	ev    chan struct{}
	th    quality.Thresholds
	wg    sync.WaitGroup

	pc     [2]*webrtc.PeerConnection // 0 sends (offerer), 1 receives
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender

	mu     sync.Mutex
	t0     time.Time
	side   [2]relaySide
	inbox  [2]trickleBox
	rx     relayRx
	rtts   []rttSample // loop RTTs from RTCP RR at the sender
	sent   int
	sentPS []int // packets sent per second
	closed bool
}

type relaySide struct {
	relayCands              int
	gathered                bool
	firstRelay              time.Time
	iceConnected, connected time.Time
	iceFailed, failed       bool
}

// trickleBox holds candidates for a peer until its remote description is set.
type trickleBox struct {
	ready   bool
	pending []webrtc.ICECandidateInit
}

type rttSample struct {
	at  time.Duration // since the media started
	rtt time.Duration
}

func (s *relaySession) ping() {
	select {
	case s.ev <- struct{}{}:
	default:
	}
}

// build creates the API and both PeerConnections with their callbacks.
func (s *relaySession) build(ice0 *config.ICEServer, types []webrtc.NetworkType) error {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: opusPayloadType}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	// RTCP reports only: no NACK (retransmissions would hide the loss we
	// measure; browsers do not NACK Opus either) and no TWCC.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReportsWithOptions(ir,
		[]report.ReceiverOption{report.ReceiverInterval(relayReportInterval), report.WithReceiverLoggerFactory(quietLogs)},
		report.SenderInterval(relayReportInterval), report.WithSenderLoggerFactory(quietLogs)); err != nil {
		return err
	}
	se := webrtc.SettingEngine{LoggerFactory: allocLog{g: s.guard}}
	se.SetRelayAcceptanceMinWait(0)                         // pion waits 2 s for relay pairs by default
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // nothing to 224.0.0.251
	se.SetNetworkTypes(types)                               // only the TURN URLs' transports
	se.SetNet(s.guard)                                      // and only to the TURN servers
	se.SetIncludeLoopbackCandidate(false)                   // (relay-only anyway)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))

	pcCfg := webrtc.Configuration{
		ICEServers: []webrtc.ICEServer{{
			URLs:           ice0.URLs,
			Username:       ice0.Username.Reveal(),
			Credential:     ice0.Credential.Reveal(),
			CredentialType: webrtc.ICECredentialTypePassword,
		}},
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		BundlePolicy:       webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy:      webrtc.RTCPMuxPolicyRequire,
	}
	for i := range s.pc {
		pc, err := api.NewPeerConnection(pcCfg)
		if err != nil {
			return err
		}
		s.pc[i] = pc
		s.callbacks(i)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "ccp-preflight")
	if err != nil {
		return err
	}
	s.track = track
	if s.sender, err = s.pc[0].AddTrack(track); err != nil {
		return err
	}
	if _, err = s.pc[1].AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return err
	}
	// The sender's RTCP must be read for the interceptors to run; the
	// receiver reports carry the round trip (RFC 3550 LSR/DLSR).
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			pkts, _, err := s.sender.ReadRTCP()
			if err != nil {
				return
			}
			now := time.Now()
			for _, p := range pkts {
				rr, ok := p.(*rtcp.ReceiverReport)
				if !ok {
					continue
				}
				for _, b := range rr.Reports {
					if rtt, ok := rttFromReport(now, b.LastSenderReport, b.Delay); ok {
						s.mu.Lock()
						s.rtts = append(s.rtts, rttSample{at: now.Sub(s.sendStart()), rtt: rtt})
						s.mu.Unlock()
					}
				}
			}
		}
	}()
	s.pc[1].OnTrack(func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.wg.Add(2)
		s.mu.Unlock()
		go func() { // RTCP from the sender (SRs) feeds the receiver reports
			defer s.wg.Done()
			for {
				if _, _, err := rcv.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		go func() {
			defer s.wg.Done()
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				s.receive(p, time.Now())
			}
		}()
	})
	return nil
}

// sendStart is when the media started (zero before); callers hold s.mu.
func (s *relaySession) sendStart() time.Time { return s.rx.start }

func (s *relaySession) callbacks(i int) {
	pc := s.pc[i]
	other := 1 - i
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		s.mu.Lock()
		side := &s.side[i]
		if c == nil {
			side.gathered = true
			s.mu.Unlock()
			s.ping()
			return
		}
		if c.Typ == webrtc.ICECandidateTypeRelay {
			if side.relayCands == 0 {
				side.firstRelay = time.Now()
			}
			side.relayCands++
		}
		box := &s.inbox[other]
		init := c.ToJSON()
		if !box.ready {
			box.pending = append(box.pending, init)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		_ = s.pc[other].AddICECandidate(init)
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		s.mu.Lock()
		side := &s.side[i]
		switch st {
		case webrtc.ICEConnectionStateConnected:
			if side.iceConnected.IsZero() {
				side.iceConnected = time.Now()
			}
		case webrtc.ICEConnectionStateFailed:
			side.iceFailed = true
		}
		s.mu.Unlock()
		s.ping()
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.mu.Lock()
		side := &s.side[i]
		switch st {
		case webrtc.PeerConnectionStateConnected:
			if side.connected.IsZero() {
				side.connected = time.Now()
			}
		case webrtc.PeerConnectionStateFailed:
			side.failed = true
		}
		s.mu.Unlock()
		s.ping()
	})
}

// remoteReady marks peer i's remote description as set and hands it the
// candidates that waited.
func (s *relaySession) remoteReady(i int) {
	s.mu.Lock()
	box := &s.inbox[i]
	box.ready = true
	p := box.pending
	box.pending = nil
	s.mu.Unlock()
	for _, c := range p {
		_ = s.pc[i].AddICECandidate(c)
	}
}

// connect runs offer/answer with trickled candidates and waits for ICE and
// DTLS on both peers; a non-nil Result is the failure, with its phase.
func (s *relaySession) connect(ctx context.Context, cfg *config.Config, u config.TURNURL) *Result {
	s.mu.Lock()
	s.t0 = time.Now()
	s.mu.Unlock()
	fail := func(phase, reason string) *Result {
		return &Result{Status: Fail, Phase: phase, Reason: reason}
	}
	offer, err := s.pc[0].CreateOffer(nil)
	if err == nil {
		err = s.pc[0].SetLocalDescription(offer)
	}
	if err == nil {
		err = s.pc[1].SetRemoteDescription(offer)
	}
	if err != nil {
		return fail("setup", "could not negotiate the WebRTC session: "+err.Error())
	}
	s.remoteReady(1)
	answer, err := s.pc[1].CreateAnswer(nil)
	if err == nil {
		err = s.pc[1].SetLocalDescription(answer)
	}
	if err == nil {
		err = s.pc[0].SetRemoteDescription(answer)
	}
	if err != nil {
		return fail("setup", "could not negotiate the WebRTC session: "+err.Error())
	}
	s.remoteReady(0)

	for {
		if r := s.check(cfg, u); r != nil {
			return r
		}
		s.mu.Lock()
		done := !s.side[0].connected.IsZero() && !s.side[1].connected.IsZero()
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-s.ev:
		case <-ctx.Done():
			if ctx.Err() == context.Canceled {
				return &Result{Status: Skip, Phase: "ice", Reason: "cancelled before the relay connected"}
			}
			return s.timeout(cfg, u)
		}
	}
}

// urlEndpoint is the TURN URL as a catalog endpoint, for remedies.
func urlEndpoint(u config.TURNURL) catalog.Endpoint {
	return catalog.Endpoint{Host: u.Host, Port: u.Port, Service: catalog.AmazonConnect}
}

func (s *relaySession) what(u config.TURNURL) string {
	return fmt.Sprintf("%s %d to %s", strings.ToUpper(urlTransport(u)), u.Port, u.Addr())
}

// relayRemedy is the rule to allow for the TURN URL's transport.
func relayRemedy(cfg *config.Config, u config.TURNURL) string {
	if !u.Secure && u.Transport == "udp" {
		return RemedyTURN(cfg, urlEndpoint(u))
	}
	return fmt.Sprintf("allow outbound TCP %d to %s", u.Port, u.Host)
}

const remedyCreds = "give current TURN credentials: the CCP's expire with the agent's session, so fetch fresh ones (the softphoneMediaConnections of CreateTransport) and pass them with --ice-servers FILE"

// check fails fast on what the wire and pion already told.
func (s *relaySession) check(cfg *config.Config, u config.TURNURL) *Result {
	g := s.guard.state()
	s.mu.Lock()
	a, b := s.side[0], s.side[1]
	s.mu.Unlock()
	fail := func(phase, reason, remedy string) *Result {
		return &Result{Status: Fail, Phase: phase, Reason: reason, Remedy: remedy}
	}
	if g.CredsRejected {
		return fail("ice", fmt.Sprintf("the TURN server %s rejected the credentials (401 Unauthorized)", u.Addr()), remedyCreds)
	}
	if g.Received == 0 {
		for _, err := range []error{g.SendErr, g.ReadErr} {
			if k := Classify(err); k == KindRefused || k == KindPermission || k == KindUnreachable {
				return fail("ice", Explain(k, s.what(u)), relayRemedy(cfg, u))
			}
		}
	}
	if (a.gathered && a.relayCands == 0) || (b.gathered && b.relayCands == 0) {
		return s.noAllocation(cfg, u, g)
	}
	if a.iceFailed || b.iceFailed {
		return fail("ice", "the two peers could not reach each other through the TURN relay (ICE failed)"+turnSaid(g), remedyRelayPeers)
	}
	if a.failed || b.failed {
		return fail("dtls", "the DTLS handshake through the TURN relay failed", remedyDTLS(u))
	}
	return nil
}

const remedyRelayPeers = "the TURN server must relay between its own relayed addresses (a real Amazon Connect TURN server does; coturn needs --allow-loopback-peers on a loopback lab); if a firewall inspects UDP 3478, let TURN Send/Data indications and ChannelData through"

func remedyDTLS(u config.TURNURL) string {
	return fmt.Sprintf("let large UDP datagrams (~1200 bytes: DTLS carries certificates) and IP fragments through to %s; check the path MTU and any firewall dropping large UDP", u.Addr())
}

// remedyTURNError is what to do about a TURN error response (RFC 8656 codes).
func remedyTURNError(cfg *config.Config, u config.TURNURL, code int) string {
	switch code {
	case 403:
		return "the TURN server forbids this request (403): check the credentials are for this TURN server and that it allows relaying to the peers; " + remedyCreds
	case 437:
		return "an earlier allocation from the same local address and port is still alive on the TURN server (437): run the check again"
	case 486:
		return "too many allocations for these credentials (486 quota): close other softphone or preflight sessions using them, or wait a few minutes for their allocations to expire"
	case 508:
		return "the TURN server has no relay ports left (508): try again later or another TURN server of the region"
	}
	return relayRemedy(cfg, u)
}

func turnSaid(g guardState) string {
	if g.LastError == "" {
		return ""
	}
	return " (TURN said: " + g.LastError + ")"
}

// noAllocation explains a peer that gathered no relay candidate.
func (s *relaySession) noAllocation(cfg *config.Config, u config.TURNURL, g guardState) *Result {
	r := &Result{Status: Fail, Phase: "ice"}
	switch {
	case g.Received == 0:
		k := Classify(g.SendErr)
		if k == KindNone || k == KindOther {
			k = Classify(g.ReadErr)
		}
		if k == KindNone || k == KindOther {
			k = KindTimeout
		}
		r.Reason, r.Remedy = Explain(k, s.what(u)), relayRemedy(cfg, u)
	case g.LastError != "":
		r.Reason = "the TURN server refused the allocation" + turnSaid(g)
		r.Remedy = remedyTURNError(cfg, u, g.LastCode)
	default:
		r.Reason = "the TURN server answered but no relay allocation was made"
		r.Remedy = relayRemedy(cfg, u)
	}
	return r
}

// timeout explains a set-up that ran out of time, by how far it got.
func (s *relaySession) timeout(cfg *config.Config, u config.TURNURL) *Result {
	g := s.guard.state()
	s.mu.Lock()
	a, b := s.side[0], s.side[1]
	s.mu.Unlock()
	r := &Result{Status: Fail, Phase: "ice"}
	switch {
	case g.Received == 0:
		k := Classify(g.SendErr)
		if k == KindNone || k == KindOther {
			k = KindTimeout
		}
		r.Reason, r.Remedy = Explain(k, s.what(u)), relayRemedy(cfg, u)
	case a.relayCands == 0 || b.relayCands == 0:
		r.Reason = fmt.Sprintf("the TURN server answered but did not give a relay allocation within %v%s", relaySetup(cfg), turnSaid(g))
		r.Remedy = relayRemedy(cfg, u)
	case a.iceConnected.IsZero() || b.iceConnected.IsZero():
		r.Reason = fmt.Sprintf("both relay allocations were made, but the peers did not reach each other through the relay within %v%s", relaySetup(cfg), turnSaid(g))
		r.Remedy = remedyRelayPeers
	default:
		r.Phase = "dtls"
		r.Reason = fmt.Sprintf("ICE connected through the relay, but the DTLS handshake did not finish within %v: large datagrams are likely dropped", relaySetup(cfg))
		r.Remedy = remedyDTLS(u)
	}
	return r
}

// setupMetrics records set-up times: allocate_ms (first relay candidate),
// ice_ms (both peers ICE-connected), dtls_ms (from ICE to DTLS connected).
func (s *relaySession) setupMetrics(r *Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	a, b := s.side[0], s.side[1]
	if !a.firstRelay.IsZero() && !b.firstRelay.IsZero() {
		r.SetMetric("allocate_ms", ms(laterOf(a.firstRelay, b.firstRelay).Sub(s.t0)))
	}
	if a.iceConnected.IsZero() || b.iceConnected.IsZero() {
		return
	}
	ice := laterOf(a.iceConnected, b.iceConnected)
	r.SetMetric("ice_ms", ms(ice.Sub(s.t0)))
	if a.connected.IsZero() || b.connected.IsZero() {
		return
	}
	r.SetMetric("dtls_ms", ms(laterOf(a.connected, b.connected).Sub(ice)))
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// describePair records the selected candidate pair.
func (s *relaySession) describePair(r *Result) {
	tr := s.sender.Transport()
	if tr == nil {
		return
	}
	p, err := tr.ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil || p.Local == nil || p.Remote == nil {
		return
	}
	r.SetDetail("selected_pair", fmt.Sprintf("%s %s:%d ↔ %s %s:%d (%s)", p.Local.Typ, p.Local.Address, p.Local.Port, p.Remote.Typ, p.Remote.Address, p.Remote.Port, p.Local.Protocol))
	r.SetDetail("local_candidate_type", p.Local.Typ.String())
	r.SetDetail("remote_candidate_type", p.Remote.Typ.String())
}

// sendMedia sends 20 ms RTP packets for d; false when ctx ended first.
func (s *relaySession) sendMedia(ctx context.Context, d time.Duration) bool {
	payload := make([]byte, relayPayloadBytes)
	start := time.Now()
	s.mu.Lock()
	s.rx.start = start
	s.mu.Unlock()
	n := int(d / relayPacketInterval)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i < n; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * relayPacketInterval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return false
			}
		} else if ctx.Err() != nil {
			return false
		}
		el := time.Since(start)
		p := &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         i == 0,
				PayloadType:    opusPayloadType,
				SequenceNumber: uint16(i), //nolint:gosec // wraps by design
				Timestamp:      uint32(el.Seconds() * opusClockRate),
			},
			Payload: payload,
		}
		if err := s.track.WriteRTP(p); err != nil {
			continue
		}
		sec := int(el / time.Second)
		s.mu.Lock()
		s.sent++
		for len(s.sentPS) <= sec {
			s.sentPS = append(s.sentPS, 0)
		}
		s.sentPS[sec]++
		s.mu.Unlock()
	}
	return true
}

// drain waits one loop round trip (bounded) for packets still in flight.
func (s *relaySession) drain(ctx context.Context) {
	d := relayDrainMin
	if tr := s.sender.Transport(); tr != nil {
		if st, ok := tr.ICETransport().GetSelectedCandidatePairStats(); ok && st.CurrentRoundTripTime > 0 {
			d = max(d, time.Duration(st.CurrentRoundTripTime*float64(time.Second)))
		}
	}
	d = min(d, relayDrainMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// relayRx counts what the receiving peer got.
type relayRx struct {
	start    time.Time // media start, shared with the sender (one process)
	received int
	dups     int
	seen     map[uint32]bool
	last     uint32 // extended sequence number of the last packet
	any      bool
	jitter   float64 // RFC 3550 interarrival jitter, ms
	prevTr   float64
	havePrev bool
	rxPS     []int     // packets received per second of sending
	jitPS    []float64 // jitter at the end of each second
}

// receive records one RTP packet arriving at the receiving peer.
func (s *relaySession) receive(p *rtp.Packet, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := &s.rx
	if x.start.IsZero() {
		return
	}
	if x.seen == nil {
		x.seen = map[uint32]bool{}
	}
	ext := uint32(p.SequenceNumber)
	if x.any {
		ext = x.last + uint32(int32(int16(p.SequenceNumber-uint16(x.last))))
	}
	if x.seen[ext] {
		x.dups++
		return
	}
	x.seen[ext] = true
	if !x.any || int32(ext-x.last) > 0 {
		x.last = ext
	}
	x.any = true
	x.received++
	sendMS := float64(p.Timestamp) / opusClockRate * 1000
	arrMS := float64(at.Sub(x.start).Microseconds()) / 1000
	transit := arrMS - sendMS
	if x.havePrev {
		d := math.Abs(transit - x.prevTr)
		x.jitter += (d - x.jitter) / 16
	}
	x.prevTr, x.havePrev = transit, true
	sec := int(sendMS / 1000)
	if sec < 0 {
		return
	}
	for len(x.rxPS) <= sec {
		x.rxPS = append(x.rxPS, 0)
		x.jitPS = append(x.jitPS, 0)
	}
	x.rxPS[sec]++
	x.jitPS[sec] = x.jitter
}

// rttFromReport is the round trip from an RTCP report block received at
// now: arrival − LSR − DLSR in 1/65536 s (RFC 3550 §6.4.1).
func rttFromReport(now time.Time, lsr, dlsr uint32) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	v := ntp32(now) - lsr - dlsr
	if int32(v) < 0 {
		return 0, false
	}
	return time.Duration(float64(v) / 65536 * float64(time.Second)), true
}

// ntp32 is the middle 32 bits of the NTP timestamp of t.
func ntp32(t time.Time) uint32 {
	secs := uint64(t.Unix()) + 2208988800 //nolint:gosec
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}

// grade computes the media metrics and judges them.
func (s *relaySession) grade(r Result, cfg *config.Config, u config.TURNURL) Result {
	s.mu.Lock()
	sent, x := s.sent, s.rx
	rtts := append([]rttSample(nil), s.rtts...)
	sentPS := append([]int(nil), s.sentPS...)
	s.mu.Unlock()

	r.SetMetric("packets_sent", float64(sent))
	r.SetMetric("packets_received", float64(x.received))
	if x.dups > 0 {
		r.SetMetric("duplicates", float64(x.dups))
	}
	if sent == 0 {
		r.Status, r.Phase = Fail, "media"
		r.Reason = "no RTP packet could be sent on the connected relay"
		r.Remedy = relayRemedy(cfg, u)
		return r
	}
	loss := 1 - float64(x.received)/float64(sent)
	loss = max(loss, 0)
	r.SetMetric("loss_ratio", roundRatio(loss))
	if x.received == 0 {
		r.Status, r.Phase = Fail, "media"
		r.Reason = "the peers connected through the relay, but no audio packet arrived"
		r.Remedy = remedyRelayPeers
		return r
	}
	r.SetMetric("jitter_ms", roundMS(x.jitter))

	var loop time.Duration
	if len(rtts) > 0 {
		var sum time.Duration
		for _, v := range rtts {
			sum += v.rtt
		}
		loop = sum / time.Duration(len(rtts))
		r.SetDetail("rtt_source", fmt.Sprintf("RTCP receiver reports (%d samples)", len(rtts)))
	} else if tr := s.sender.Transport(); tr != nil {
		if st, ok := tr.ICETransport().GetSelectedCandidatePairStats(); ok && st.CurrentRoundTripTime > 0 {
			loop = time.Duration(st.CurrentRoundTripTime * float64(time.Second))
			r.SetDetail("rtt_source", "ICE connectivity checks")
		}
	}
	if loop > 0 {
		r.SetMetric("loop_rtt_ms", roundMS(float64(loop.Microseconds())/1000))
		// The loop goes up to the TURN server and back twice; a call's
		// round trip to TURN is half of it.
		r.SetMetric("rtt_ms", roundMS(float64(loop.Microseconds())/2000))
	}
	r.Series = relaySeries(sentPS, x, rtts)

	lvl, why := gradeRelay(cfg.Thresholds, r.Metrics)
	r.Status = Status(lvl)
	if r.Status != Pass {
		r.Phase = "media"
		r.Reason = "media through the TURN relay: " + why
		r.Remedy = fmt.Sprintf("improve the path to %s: prefer wired to Wi-Fi, keep UDP 3478 out of VPN tunnels and proxies, give voice priority (QoS/DSCP EF) and check the uplink is not saturated", u.Addr())
	}
	return r
}

func relaySeries(sentPS []int, x relayRx, rtts []rttSample) []Sample {
	var out []Sample
	var rtt float64
	j := 0
	for sec, n := range sentPS {
		var sum time.Duration
		k := 0
		for j < len(rtts) && rtts[j].at < time.Duration(sec+1)*time.Second {
			sum += rtts[j].rtt
			k++
			j++
		}
		if k > 0 {
			rtt = float64((sum / time.Duration(k)).Microseconds()) / 2000
		}
		smp := Sample{T: float64(sec), Sent: n, RTTMS: roundMS(rtt)}
		if sec < len(x.rxPS) {
			smp.Received = x.rxPS[sec]
			smp.JitterMS = roundMS(x.jitPS[sec])
		}
		if n > 0 {
			smp.LossRatio = roundRatio(max(0, 1-float64(smp.Received)/float64(n)))
		}
		out = append(out, smp)
	}
	return out
}

// gradeRelay judges the relayed call's rtt_ms, jitter_ms and loss_ratio
// against the profile, each breach naming its threshold and source.
func gradeRelay(th quality.Thresholds, m map[string]float64) (result.Status, string) {
	var vs []quality.Verdict
	for _, k := range []struct{ metric, what string }{
		{"rtt_ms", "round trip"}, {"jitter_ms", "jitter"}, {"loss_ratio", "packet loss"},
	} {
		if v, ok := m[k.metric]; ok {
			vs = append(vs, th.Judge(k.metric, v, k.what))
		}
	}
	return quality.Worst(vs)
}

func roundMS(v float64) float64    { return math.Round(v*1000) / 1000 }
func roundRatio(v float64) float64 { return math.Round(v*10000) / 10000 }

// close closes both peers (releasing the TURN allocations) and waits, for
// a bounded time, for the session's goroutines.
func (s *relaySession) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, pc := range s.pc {
		if pc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = pc.Close()
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(relayCloseBudget)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
