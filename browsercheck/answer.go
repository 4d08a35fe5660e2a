package browsercheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxAnswerBytes bounds the page's answer: a few kilobytes when healthy
// (four checks, a handful of servers and errors).
const MaxAnswerBytes = 64 << 10

// AnswerVersion is the version of the page's answer this package reads.
const AnswerVersion = 1

// Answer is what the page found, as it posted it to ./result: facts, not
// verdicts (probe/browser_*.go grade them). A field the page could not
// measure keeps its zero value, or -1 where the page says so.
type Answer struct {
	Version    int         `json:"version"`
	Support    *Support    `json:"support"`
	Microphone *Microphone `json:"microphone"`
	UDP        *UDP        `json:"udp"`
	// Relay has one call per ICE server entry given to the page (empty
	// without credentials).
	Relay []Call `json:"relay"`
	// Errors are the page's own script errors, for Details.
	Errors []string `json:"errors"`
	// Partial is true when the page ran out of time and posted what it had.
	Partial   bool    `json:"partial"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// Support is browser.support's facts.
type Support struct {
	UserAgent string  `json:"user_agent"`
	Brands    []Brand `json:"brands"`
	Platform  string  `json:"platform"`
	Mobile    bool    `json:"mobile"`
	// SecureContext is window.isSecureContext: WebRTC and getUserMedia
	// need it (http://127.0.0.1 is one).
	SecureContext     bool `json:"secure_context"`
	RTCPeerConnection bool `json:"rtc_peer_connection"`
	GetUserMedia      bool `json:"get_user_media"`
	GetStats          bool `json:"get_stats"`
	PermissionsAPI    bool `json:"permissions_api"`
}

// Brand is one entry of navigator.userAgentData.brands.
type Brand struct {
	Brand   string `json:"brand"`
	Version string `json:"version"`
}

// Microphone outcomes of getUserMedia({audio: true}).
const (
	MicGranted     = "granted"
	MicDenied      = "denied"      // NotAllowedError / SecurityError
	MicNoDevice    = "no-device"   // NotFoundError / OverconstrainedError
	MicInUse       = "in-use"      // NotReadableError / AbortError
	MicTimeout     = "timeout"     // the prompt was not answered in time
	MicUnsupported = "unsupported" // no getUserMedia
	MicError       = "error"
)

// Microphone is browser.microphone's facts.
type Microphone struct {
	// PermissionBefore is the Permissions API's state before asking:
	// granted, denied, prompt or unknown.
	PermissionBefore string `json:"permission_before"`
	// Outcome is one of the Mic constants.
	Outcome      string `json:"outcome"`
	ErrorName    string `json:"error_name"`
	ErrorMessage string `json:"error_message"`
	// Devices is the number of audio inputs (-1: unknown).
	Devices int `json:"devices"`
	// LevelMethod is how the level was measured: track-processor,
	// audio-context, audio-context-suspended or none.
	LevelMethod string `json:"level_method"`
	// Peak and RMS are the sample level over LevelMS (full scale 1).
	Peak      float64 `json:"peak"`
	RMS       float64 `json:"rms"`
	LevelMS   float64 `json:"level_ms"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// UDP is browser.udp's facts: ICE gathering with each STUN server.
type UDP struct {
	Servers   []Server `json:"servers"`
	ElapsedMS float64  `json:"elapsed_ms"`
}

// Server is ICE gathering on one RTCPeerConnection with one STUN server.
type Server struct {
	URL string `json:"url"`
	// Srflx are the server-reflexive candidates' addresses (ip:port).
	Srflx   []string `json:"srflx"`
	HostUDP int      `json:"host_udp"`
	HostTCP int      `json:"host_tcp"`
	Errors  []ICEErr `json:"errors"`
	// Complete is true when gathering finished before the page's limit.
	Complete  bool    `json:"complete"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// ICEErr is one icecandidateerror event.
type ICEErr struct {
	Code int    `json:"code"`
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Call outcomes.
const (
	CallConnected  = "connected"
	CallICEFailed  = "ice-failed"
	CallDTLSFailed = "dtls-failed"
	CallNoMedia    = "no-media"
	CallError      = "error"
)

// Call is one relay-only call of browser.relay.
type Call struct {
	URLs    []string `json:"urls"`
	Outcome string   `json:"outcome"`
	Error   string   `json:"error"`
	// Source is what was sent: microphone, generated tone, oscillator.
	Source           string   `json:"source"`
	SetupMS          float64  `json:"setup_ms"`
	ICEConnectedMS   float64  `json:"ice_connected_ms"`
	DurationMS       float64  `json:"duration_ms"`
	RelayCandidatesA int      `json:"relay_candidates_a"`
	RelayCandidatesB int      `json:"relay_candidates_b"`
	ICEErrors        []ICEErr `json:"ice_errors"`
	ICEState         string   `json:"ice_state"`
	ConnectionState  string   `json:"connection_state"`
	Codec            string   `json:"codec"`
	PacketsSent      float64  `json:"packets_sent"`
	// PacketsInWindow are the packets sent during DurationMS (the rate).
	PacketsInWindow float64 `json:"packets_in_window"`
	PacketsReceived float64 `json:"packets_received"`
	PacketsLost     float64 `json:"packets_lost"`
	// JitterMS, RTTMS (RTCP, remote-inbound-rtp) and PairRTTMS (ICE
	// consent checks on the selected pair) are -1 when not reported.
	JitterMS         float64 `json:"jitter_ms"`
	RTTMS            float64 `json:"rtt_ms"`
	PairRTTMS        float64 `json:"pair_rtt_ms"`
	ConcealedSamples float64 `json:"concealed_samples"`
	TotalSamples     float64 `json:"total_samples"`
}

// ErrAnswer is returned (wrapped) for every answer ParseAnswer refuses.
var ErrAnswer = errors.New("malformed browser answer")

// Bounds on what an answer may hold; beyond them it is refused.
const (
	maxList   = 64
	maxString = 1024
)

// ParseAnswer reads the page's answer strictly: JSON of at most
// MaxAnswerBytes, no unknown fields, AnswerVersion, bounded lists, valid
// UTF-8 strings of bounded length, numbers in range. Every refusal wraps
// ErrAnswer and names what is wrong in one line. It never panics.
func ParseAnswer(b []byte) (*Answer, error) {
	if len(b) > MaxAnswerBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrAnswer, len(b), MaxAnswerBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a Answer
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrAnswer, oneLine(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrAnswer)
	}
	if a.Version != AnswerVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrAnswer, a.Version, AnswerVersion)
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAnswer, err)
	}
	return &a, nil
}

func (a *Answer) validate() error {
	var errs []string
	str := func(name, s string) {
		if !utf8.ValidString(s) || len(s) > maxString {
			errs = append(errs, name+" is not a short UTF-8 string")
		}
	}
	list := func(name string, n int) {
		if n > maxList {
			errs = append(errs, fmt.Sprintf("%s has %d entries, more than %d", name, n, maxList))
		}
	}
	num := func(name string, v float64, lo, hi float64) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Sprintf("%s %v out of range", name, v))
		}
	}
	const big = 1e12
	list("errors", len(a.Errors))
	for _, e := range a.Errors {
		str("errors[]", e)
	}
	num("elapsed_ms", a.ElapsedMS, 0, big)
	if s := a.Support; s != nil {
		str("support.user_agent", s.UserAgent)
		str("support.platform", s.Platform)
		list("support.brands", len(s.Brands))
		for _, b := range s.Brands {
			str("support.brands[].brand", b.Brand)
			str("support.brands[].version", b.Version)
		}
	}
	if m := a.Microphone; m != nil {
		for n, s := range map[string]string{"permission_before": m.PermissionBefore, "outcome": m.Outcome, "error_name": m.ErrorName, "error_message": m.ErrorMessage, "level_method": m.LevelMethod} {
			str("microphone."+n, s)
		}
		num("microphone.devices", float64(m.Devices), -1, 1e6)
		num("microphone.peak", m.Peak, 0, 1e3)
		num("microphone.rms", m.RMS, 0, 1e3)
		num("microphone.level_ms", m.LevelMS, 0, big)
		num("microphone.elapsed_ms", m.ElapsedMS, 0, big)
	}
	if u := a.UDP; u != nil {
		list("udp.servers", len(u.Servers))
		num("udp.elapsed_ms", u.ElapsedMS, 0, big)
		for _, s := range u.Servers {
			str("udp.servers[].url", s.URL)
			list("udp.servers[].srflx", len(s.Srflx))
			list("udp.servers[].errors", len(s.Errors))
			for _, x := range s.Srflx {
				str("udp.servers[].srflx[]", x)
			}
			for _, e := range s.Errors {
				str("udp.servers[].errors[].text", e.Text)
				str("udp.servers[].errors[].url", e.URL)
			}
			num("udp.servers[].host_udp", float64(s.HostUDP), 0, 1e6)
			num("udp.servers[].host_tcp", float64(s.HostTCP), 0, 1e6)
			num("udp.servers[].elapsed_ms", s.ElapsedMS, 0, big)
		}
	}
	list("relay", len(a.Relay))
	for _, c := range a.Relay {
		list("relay[].urls", len(c.URLs))
		list("relay[].ice_errors", len(c.ICEErrors))
		for _, u := range c.URLs {
			str("relay[].urls[]", u)
		}
		for _, s := range []string{c.Outcome, c.Error, c.Source, c.ICEState, c.ConnectionState, c.Codec} {
			str("relay[] text", s)
		}
		for _, e := range c.ICEErrors {
			str("relay[].ice_errors[].text", e.Text)
			str("relay[].ice_errors[].url", e.URL)
		}
		for n, v := range map[string]float64{"setup_ms": c.SetupMS, "ice_connected_ms": c.ICEConnectedMS, "duration_ms": c.DurationMS,
			"packets_sent": c.PacketsSent, "packets_in_window": c.PacketsInWindow, "packets_received": c.PacketsReceived, "packets_lost": c.PacketsLost,
			"concealed_samples": c.ConcealedSamples, "total_samples": c.TotalSamples,
			"relay_candidates_a": float64(c.RelayCandidatesA), "relay_candidates_b": float64(c.RelayCandidatesB)} {
			num("relay[]."+n, v, 0, big)
		}
		for n, v := range map[string]float64{"jitter_ms": c.JitterMS, "rtt_ms": c.RTTMS, "pair_rtt_ms": c.PairRTTMS} {
			num("relay[]."+n, v, -1, big)
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs) // one message for one answer, whatever the map order
		return errors.New(errs[0])
	}
	return nil
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
