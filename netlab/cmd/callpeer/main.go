//go:build linux

// Command callpeer is the browser-call harness of the network lab
// (netlab/browsercall.go, netlab/browser_call_test.go):
//
//	callpeer peer -listen ADDR -ip IP -role client|server
//	    in the cloud namespace: a pion/webrtc answerer standing in for
//	    Connect's media server (host candidates on IP only, Opus every
//	    20 ms, RTCP reports); POST /offer takes the browser's offer and
//	    answers it, choosing the DTLS role (-role is the browser's: client
//	    makes this peer answer a=setup:passive); GET /stats is what it
//	    received.
//	callpeer page -listen 127.0.0.1:0 -peer URL -creds FILE -turn URL -out FILE -ready FILE -duration D
//	    in the agent namespace: serves the call page to headless Chromium,
//	    passes its offer to the peer, and writes the page's getStats()
//	    summary (with the peer's own figures) to -out, then exits.
//
// It prints nothing but errors; the credentials come from -creds (a file),
// never the command line.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: callpeer peer|page [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "peer":
		err = peerCmd(os.Args[2:])
	case "page":
		err = pageCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "callpeer %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// PeerStats is what the peer saw of the browser's audio (uplink).
type PeerStats struct {
	Connected       bool    `json:"connected"`
	DTLSRole        string  `json:"dtls_role"` // this peer's role as configured
	PacketsReceived uint64  `json:"packets_received"`
	PacketsLost     int64   `json:"packets_lost"`
	JitterMS        float64 `json:"jitter_ms"`
	SentPackets     int     `json:"sent_packets"`
}

type peer struct {
	ip, role string
	mu       sync.Mutex
	pc       *webrtc.PeerConnection
	st       PeerStats
}

func peerCmd(args []string) error {
	fs := flag.NewFlagSet("peer", flag.ContinueOnError)
	listen := fs.String("listen", "", "HTTP address for signaling")
	ip := fs.String("ip", "", "the only address for ICE host candidates")
	role := fs.String("role", "server", "the browser's DTLS role: client or server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := &peer{ip: *ip, role: *role}
	p.st.DTLSRole = "client"
	if *role == "client" {
		p.st.DTLSRole = "server"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /offer", p.offer)
	mux.HandleFunc("GET /stats", p.stats)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	p.mu.Lock()
	if p.pc != nil {
		_ = p.pc.Close()
	}
	p.mu.Unlock()
	return nil
}

func (p *peer) offer(w http.ResponseWriter, r *http.Request) {
	var off webrtc.SessionDescription
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&off); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(a net.IP) bool { return a.String() == p.ip })
	// The browser offers actpass; this answerer picks the browser's role.
	answer := webrtc.DTLSRoleClient // we are client: the browser is the DTLS server
	if p.role == "client" {
		answer = webrtc.DTLSRoleServer
	}
	if err := se.SetAnsweringDTLSRole(answer); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	// RTCP reports (the browser's remote-inbound-rtp figures for its
	// uplink come from this peer's receiver reports). No NACK: browsers send none
	// for Opus, and retransmissions would hide the loss.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "connect-media")
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	go func() {
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	// The browser's uplink as received here: RFC 3550 §6.4.1 jitter (RTP
	// timestamps at the codec's clock rate against arrival), and loss from
	// the extended sequence numbers (RFC 3550 §A.3).
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		rate := float64(tr.Codec().ClockRate)
		if rate <= 0 {
			rate = 48000
		}
		var up uplink
		start := time.Now()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			up.add(pkt.SequenceNumber, pkt.Timestamp, time.Since(start).Seconds()*rate)
			p.mu.Lock()
			p.st.PacketsReceived = up.received
			p.st.PacketsLost = up.lost()
			p.st.JitterMS = up.jitter / rate * 1000
			p.mu.Unlock()
		}
	})
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	p.mu.Lock()
	if p.pc != nil {
		_ = p.pc.Close()
	}
	p.pc = pc
	p.mu.Unlock()
	if err := pc.SetRemoteDescription(off); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	<-gathered
	// Opus at ptime 20 ms once connected: a 3-byte silence frame, RTP
	// timestamps from the send time (so a receiver's jitter is the path's).
	go func() {
		select {
		case <-connected:
		case <-time.After(time.Minute):
			return
		}
		start := time.Now()
		for i := 0; ; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(time.Since(start).Seconds() * 48000), SSRC: 0}, Payload: []byte{0xf8, 0xff, 0xfe}}
			if err := track.WriteRTP(pkt); err != nil {
				if errors.Is(err, io.ErrClosedPipe) {
					return
				}
			}
			p.mu.Lock()
			p.st.SentPackets++
			closed := p.pc != pc
			p.mu.Unlock()
			if closed || pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(pc.LocalDescription())
}

func (p *peer) stats(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	pc := p.pc
	st := p.st
	p.mu.Unlock()
	if pc != nil {
		st.Connected = pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func pageCmd(args []string) error {
	fs := flag.NewFlagSet("page", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "HTTP address of the page")
	peerURL := fs.String("peer", "", "the peer's signaling URL (http://IP:PORT)")
	credsFile := fs.String("creds", "", "the lab's creds.json")
	turnURL := fs.String("turn", "", "the TURN URL the browser uses")
	out := fs.String("out", "", "where to write the result JSON")
	ready := fs.String("ready", "", "file to write the page URL to")
	dur := fs.Duration("duration", 10*time.Second, "media time after connecting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*credsFile)
	if err != nil {
		return err
	}
	var creds []struct {
		Username   string `json:"username"`
		Credential string `json:"credential"`
	}
	if err := json.Unmarshal(b, &creds); err != nil || len(creds) == 0 {
		return fmt.Errorf("%s: no ICE server entry", *credsFile)
	}
	cfg, _ := json.Marshal(map[string]any{
		"iceServers": []map[string]any{{"urls": []string{*turnURL}, "username": creds[0].Username, "credential": creds[0].Credential}},
		"durationMs": dur.Milliseconds(),
		"connectMs":  20000,
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cfg)
	})
	client := &http.Client{Timeout: 30 * time.Second}
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		resp, err := client.Post(*peerURL+"/offer", "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var res map[string]any
		if err := json.Unmarshal(body, &res); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if resp, err := client.Get(*peerURL + "/stats"); err == nil {
			var ps PeerStats
			if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&ps) == nil {
				res["peer"] = ps
			}
			resp.Body.Close()
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		tmp := *out + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err == nil {
			_ = os.Rename(tmp, *out)
		}
		w.WriteHeader(204)
		once.Do(func() { close(done) })
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/"
	if err := os.WriteFile(*ready, []byte(url), 0o644); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-done:
		time.Sleep(100 * time.Millisecond)
	case <-ctx.Done():
	}
	return srv.Close()
}

// page makes a relay-only call as the CCP does (iceTransportPolicy relay,
// rtcpMux require, bundle balanced, the microphone's audio), and posts a
// getStats() summary: connection times and states, the selected pair's
// RTT, the downlink's jitter and loss (inbound-rtp), the uplink's as the
// peer reported them (remote-inbound-rtp), and the DTLS role.
var page = strings.TrimSpace(`
<!doctype html><meta charset="utf-8"><title>ccp-preflight lab call</title>
<script>
(async () => {
  const res = {events: [], connected: false};
  const t0 = performance.now();
  const at = () => Math.round(performance.now() - t0);
  const post = () => fetch('/result', {method: 'POST', body: JSON.stringify(res)});
  try {
    const cfg = await (await fetch('/config')).json();
    const pc = new RTCPeerConnection({iceServers: cfg.iceServers, iceTransportPolicy: 'relay', bundlePolicy: 'balanced', rtcpMuxPolicy: 'require'});
    pc.oniceconnectionstatechange = () => res.events.push(['ice:' + pc.iceConnectionState, at()]);
    const state = new Promise(ok => pc.onconnectionstatechange = () => {
      res.events.push(['pc:' + pc.connectionState, at()]);
      if (pc.connectionState === 'connected' || pc.connectionState === 'failed') ok(pc.connectionState);
    });
    const mic = await navigator.mediaDevices.getUserMedia({audio: true});
    mic.getTracks().forEach(t => pc.addTrack(t, mic));
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise(ok => {
      if (pc.iceGatheringState === 'complete') return ok();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && ok();
      setTimeout(ok, 8000);
    });
    res.gatheredMs = at();
    const ans = await fetch('/offer', {method: 'POST', body: JSON.stringify(pc.localDescription)});
    await pc.setRemoteDescription(await ans.json());
    const st = await Promise.race([state, new Promise(ok => setTimeout(() => ok('timeout'), cfg.connectMs))]);
    res.state = st;
    if (st === 'connected') {
      res.connected = true;
      res.connectedMs = at();
      // RFC 3550 jitter is a running estimate (1/16 smoothing): one
      // snapshot varies by ~15 %, so sample it twice a second and average.
      const down = [], up = [];
      const end = performance.now() + cfg.durationMs;
      while (performance.now() < end) {
        await new Promise(ok => setTimeout(ok, 500));
        (await pc.getStats()).forEach(s => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.jitter !== undefined) down.push(1000 * s.jitter);
          if (s.type === 'remote-inbound-rtp' && s.kind === 'audio' && s.jitter !== undefined) up.push(1000 * s.jitter);
        });
      }
      const mean = a => a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0;
      res.downJitterMeanMs = mean(down.slice(2)); res.upJitterMeanMs = mean(up.slice(1));
    }
    const stats = await pc.getStats();
    const rtts = [];
    let pairId = '';
    stats.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
    stats.forEach(s => {
      if (s.type === 'candidate-pair' && (s.id === pairId || (!pairId && s.nominated && s.state === 'succeeded'))) {
        if (s.responsesReceived) res.rttMs = 1000 * s.totalRoundTripTime / s.responsesReceived;
        res.currentRttMs = 1000 * (s.currentRoundTripTime || 0);
        res.pairResponses = s.responsesReceived;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        res.downJitterMs = 1000 * s.jitter; res.downLost = s.packetsLost; res.downReceived = s.packetsReceived;
      }
      if (s.type === 'remote-inbound-rtp' && s.kind === 'audio') {
        res.upJitterMs = 1000 * s.jitter; res.upLost = s.packetsLost; res.upFractionLost = s.fractionLost;
        if (s.roundTripTimeMeasurements) res.rtcpRttMs = 1000 * s.totalRoundTripTime / s.roundTripTimeMeasurements;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') res.upSent = s.packetsSent;
      if (s.type === 'transport') { res.dtlsRole = s.dtlsRole; res.dtlsState = s.dtlsState; }
    });
    pc.close();
  } catch (e) {
    res.error = String(e);
  }
  await post();
  document.title = 'done';
})();
</script>`)
