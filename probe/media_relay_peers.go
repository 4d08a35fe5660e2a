// media.relay's two peers: their set-up, signalling (offer/answer and
// trickled candidates) and the connection through the relay; the check
// itself is in media_relay.go.

package probe

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

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

	// sizeFn returns path.large-datagram's measurement for the TURN
	// server (nil for TURN over TCP/TLS: none).
	sizeFn func(context.Context) (datagramSizes, bool)
	// limit is the set-up limit in force (relaySetupLimit), set by connect.
	limit time.Duration
	// role is the browser's DTLS role that peer 0 (the browser's stand-in) plays.
	role string
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
func (s *relaySession) build(ice0 *config.ICEServer, types []webrtc.NetworkType, role string) error {
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
	// Peer 0 offers (a=setup:actpass) as the browser does; peer 1 answers
	// as Connect's media server and chooses the DTLS roles: peer 0 plays
	// the browser's configured role, and when that is not known the DTLS
	// server, as RFC 5763's recommended a=setup:active answer makes it.
	s.role = config.DTLSServer
	answerer := webrtc.DTLSRoleClient
	if role == config.DTLSClient {
		s.role, answerer = config.DTLSClient, webrtc.DTLSRoleServer
	}
	if err := se.SetAnsweringDTLSRole(answerer); err != nil {
		return err
	}
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
		return fail(result.PhaseSetup, "could not negotiate the WebRTC session: "+err.Error())
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
		return fail(result.PhaseSetup, "could not negotiate the WebRTC session: "+err.Error())
	}
	s.remoteReady(0)

	// The limit starts at relaySetup (a silent server is reported fast)
	// and grows with the round trip of the server's first answer.
	timer := time.NewTimer(relaySetup(cfg))
	defer timer.Stop()
	s.limit = relaySetup(cfg)
	for {
		if r := s.check(cfg, u); r != nil {
			return r
		}
		s.mu.Lock()
		done := !s.side[0].connected.IsZero() && !s.side[1].connected.IsZero()
		t0 := s.t0
		s.mu.Unlock()
		if done {
			return nil
		}
		if l := relaySetupLimit(cfg, s.guard.state().FirstRTT); l != s.limit {
			s.limit = l
			timer.Reset(time.Until(t0.Add(l)))
		}
		select {
		case <-s.ev:
		case <-timer.C:
			return s.timeout(ctx, cfg, u)
		case <-ctx.Done():
			if ctx.Err() == context.Canceled {
				return &Result{Status: Skip, Phase: result.PhaseICE, Reason: "cancelled before the relay connected"}
			}
			return s.timeout(ctx, cfg, u)
		}
	}
}

// urlEndpoint is the TURN URL as a catalog endpoint, for remedies.
func urlEndpoint(u config.TURNURL) catalog.Endpoint {
	return catalog.Endpoint{Host: u.Host, Port: u.Port, Service: catalog.AmazonConnect}
}

func (s *relaySession) what(u config.TURNURL) string {
	return fmt.Sprintf("%s %d to %s", strings.ToUpper(turnTransport(u)), u.Port, u.Addr())
}

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
