//go:build linux

package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CallOptions describe a real browser call across the lab: headless
// Chromium in the agent namespace makes a relay-only call (as the CCP
// does) through coturn #1 to a pion/webrtc peer in the cloud namespace,
// which stands in for Connect's media server (netlab/cmd/callpeer).
type CallOptions struct {
	// CallPeer is the built netlab/cmd/callpeer binary.
	CallPeer string
	// Chromium is the browser binary (default: chromium on PATH).
	Chromium string
	// BrowserRole is the browser's DTLS role, "client" or "server": the
	// peer answers a=setup:passive or a=setup:active accordingly.
	BrowserRole string
	// Media is how long audio flows after the call connects.
	Media time.Duration
}

// CallResult is the page's getStats() summary and the peer's figures.
// Times are ms since the page started; jitter in ms (RFC 3550, as the
// receiver of each direction reports it).
type CallResult struct {
	Connected     bool     `json:"connected"`
	State         string   `json:"state"`
	Error         string   `json:"error"`
	Events        [][2]any `json:"events"`
	GatheredMS    float64  `json:"gatheredMs"`
	ConnectedMS   float64  `json:"connectedMs"`
	RTTMS         float64  `json:"rttMs"`        // the selected pair's STUN round trips (mean)
	CurrentRTTMS  float64  `json:"currentRttMs"` // its latest
	RTCPRTTMS     float64  `json:"rtcpRttMs"`
	PairResponses float64  `json:"pairResponses"`
	DownJitterMS  float64  `json:"downJitterMs"`
	// DownJitterMeanMS and UpJitterMeanMS average the browser's jitter
	// (inbound-rtp, remote-inbound-rtp) sampled twice a second.
	DownJitterMeanMS float64   `json:"downJitterMeanMs"`
	UpJitterMeanMS   float64   `json:"upJitterMeanMs"`
	DownLost         float64   `json:"downLost"`
	DownReceived     float64   `json:"downReceived"`
	UpJitterMS       float64   `json:"upJitterMs"`
	UpLost           float64   `json:"upLost"`
	UpFractionLost   float64   `json:"upFractionLost"`
	UpSent           float64   `json:"upSent"`
	DTLSRole         string    `json:"dtlsRole"`
	DTLSState        string    `json:"dtlsState"`
	Peer             PeerStats `json:"peer"`
}

// PeerStats is what the cloud peer received from the browser (uplink).
type PeerStats struct {
	Connected       bool    `json:"connected"`
	DTLSRole        string  `json:"dtls_role"`
	PacketsReceived float64 `json:"packets_received"`
	PacketsLost     float64 `json:"packets_lost"`
	JitterMS        float64 `json:"jitter_ms"`
	SentPackets     float64 `json:"sent_packets"`
}

// RTT is the call's round trip: the selected candidate pair's STUN round
// trips, else the RTCP one (remote-inbound-rtp).
func (c CallResult) RTT() float64 {
	if c.RTTMS > 0 {
		return c.RTTMS
	}
	return c.RTCPRTTMS
}

// UpLossRatio is the uplink's loss as the peer counted it (browser → peer).
func (c CallResult) UpLossRatio() float64 {
	n := c.Peer.PacketsReceived + c.Peer.PacketsLost
	if n <= 0 {
		return 0
	}
	return max(0, c.Peer.PacketsLost) / n
}

// DownLossRatio is the downlink's loss as the browser counted it.
func (c CallResult) DownLossRatio() float64 {
	n := c.DownReceived + c.DownLost
	if n <= 0 {
		return 0
	}
	return max(0, c.DownLost) / n
}

// callPeerAddr is where the cloud peer listens for signaling: labd's web
// address (a different port from its HTTPS), so the agent reaches it in
// both lab modes.
const callPeerPort = 7070

// CallBudget bounds one browser call: Chromium's start, ICE gathering,
// the connection (up to the page's 20 s), the media and the stats.
const CallBudget = 60 * time.Second

// BrowserCall runs one call and returns what the browser and the peer saw.
// The peer, the page server and Chromium are stopped by PID when it returns.
func (l *Lab) BrowserCall(ctx context.Context, o CallOptions) (CallResult, error) {
	var res CallResult
	if o.Chromium == "" {
		p, err := exec.LookPath("chromium")
		if err != nil {
			return res, fmt.Errorf("netlab: no chromium (apt-get install chromium): %w", err)
		}
		o.Chromium = p
	}
	if o.Media <= 0 {
		o.Media = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, CallBudget)
	defer cancel()
	peerAddr := fmt.Sprintf("%s:%d", Web, callPeerPort)
	// The call's processes run ahead of ordinary load (AheadOfLoad), as
	// the bridge does: on a shared machine a starved browser reports its
	// own lateness as jitter.
	name, args := AheadOfLoad(o.CallPeer, "peer", "-listen", peerAddr, "-ip", Web, "-role", o.BrowserRole)
	if _, err := l.spawn("callpeer", l.Cloud(), name, args...); err != nil {
		return res, err
	}
	defer l.stop("callpeer")
	if err := l.waitListen(ctx, "callpeer", "-ltn", peerAddr); err != nil {
		return res, err
	}
	out, ready := l.File("call.json"), l.File("callpage.ready")
	os.Remove(out)
	os.Remove(ready)
	if _, err := l.spawn("callpage", l.Agent(), o.CallPeer, "page", "-listen", "127.0.0.1:0",
		"-peer", "http://"+peerAddr, "-creds", l.File(FileCreds), "-turn", fmt.Sprintf("turn:%s:%d?transport=udp", TURN1, TURNPort),
		"-out", out, "-ready", ready, "-duration", o.Media.String()); err != nil {
		return res, err
	}
	defer l.stop("callpage")
	if err := l.waitFile(ctx, "callpage", ready); err != nil {
		return res, err
	}
	url, err := os.ReadFile(ready)
	if err != nil {
		return res, err
	}
	profile, err := os.MkdirTemp(l.Dir, "chromium-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(profile)
	name, args = AheadOfLoad(o.Chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		strings.TrimSpace(string(url)))
	if _, err := l.spawn("chromium", l.Agent(), name, args...); err != nil {
		return res, err
	}
	defer l.stop("chromium")
	for {
		if b, err := os.ReadFile(out); err == nil {
			if err := json.Unmarshal(b, &res); err != nil {
				return res, fmt.Errorf("netlab: %s: %w", out, err)
			}
			return res, nil
		}
		if !l.alive("chromium") {
			return res, fmt.Errorf("netlab: chromium exited before the call ended: %s", l.logTail("chromium"))
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("netlab: the browser call did not finish within %v: %s", CallBudget, l.logTail("callpage"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FileCredsUDP is the lab's credentials with the UDP TURN URL only, as the
// CCP hands them out (turn:…:3478?transport=udp; docs/CONNECT.md): written
// by WriteUDPCreds for the browser scenarios.
const FileCredsUDP = "creds-udp.json"

// WriteUDPCreds writes FileCredsUDP.
func (l *Lab) WriteUDPCreds() error {
	type ice struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	}
	b, err := json.Marshal([]ice{{URLs: []string{fmt.Sprintf("turn:%s:%d?transport=udp", TURNNames[0], TURNPort)}, Username: TURNUser, Credential: l.turnPassword()}})
	if err != nil {
		return err
	}
	return os.WriteFile(l.File(FileCredsUDP), b, 0o600)
}
