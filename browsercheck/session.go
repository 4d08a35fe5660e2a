// Package browsercheck is the browser's own check (`check --browser`,
// docs/BROWSER.md): a page served on 127.0.0.1 under a random one-time
// token, opened in the agent's browser, that checks from inside the
// browser what the CCP's softphone needs — a supported browser with
// WebRTC, the microphone, UDP 3478 to the TURN servers under the browser's
// own policies and proxy, and a relay-only call — and posts the facts back.
//
// The package serves, opens and receives; it does not grade. The checks
// browser.support, browser.microphone, browser.udp and browser.relay
// (probe/browser_*.go) wait on the Session's Answer and grade it, so the
// browser's results merge into every report format like any check.
//
// The page is self-contained (go:embed; no external assets) under a strict
// Content-Security-Policy. Only a request whose path carries the token, to
// the Host 127.0.0.1:PORT, is served; the result is accepted once, only
// from the page's own origin; the settings (which carry the TURN
// credentials when there are any) are served once, only to a same-origin
// request. Nothing the page is given is written to disk or logged.
package browsercheck

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed page/index.html page/page.js page/page.css
var pageFS embed.FS

// CSP is the page's Content-Security-Policy: its own script and style
// only, fetches to its own origin only, nothing else (no inline script, no
// frames, no forms, no images). WebRTC's STUN/TURN traffic is not a fetch
// and is not governed by CSP.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; " +
	"media-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Page timings: the limits the page works within (docs/BROWSER.md).
const (
	// MicPrompt is how long the page waits for getUserMedia: time for a
	// person to notice the browser's prompt and click Allow (the CCP's
	// own limit, 10 s, assumes the permission is already granted).
	MicPrompt = 20 * time.Second
	// MicLevel is how long the page listens to the microphone's level.
	MicLevel = 2 * time.Second
	// UDPGather is the ICE gathering limit per STUN server: the CCP's own
	// (ice_collection_timeout, 8 s; docs/CONNECT.md).
	UDPGather = 8 * time.Second
	// RelaySetup bounds ICE and DTLS of the page's relay-only call: the
	// CCP's ICE limit plus two seconds for DTLS across the relay loop.
	RelaySetup = 10 * time.Second
	// postMargin is kept between the page's own cut-off and the session's
	// deadline: time to post the answer and for the probes to read it.
	postMargin = 1500 * time.Millisecond
)

// ICEServer is an ICE server entry as the page hands it to
// RTCPeerConnection. Username and Credential are the real values: a
// PageConfig is only ever marshalled into the one response to the page.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// PageConfig is what the page is told. It carries TURN credentials: it is
// served once, over the tokenized loopback connection, and never written
// anywhere else; its String method hides them.
type PageConfig struct {
	// STUN are the URLs browser.udp gathers with, one RTCPeerConnection
	// each ("stun:HOST:PORT"), in the order of the TURN targets.
	STUN []string `json:"stun"`
	// ICEServers are the credentialed entries browser.relay calls through
	// (one call per entry); empty without credentials.
	ICEServers []ICEServer `json:"ice_servers"`
	// Duration is how long each relay call sends audio.
	Duration time.Duration `json:"-"`
}

// String describes c without its credentials.
func (c PageConfig) String() string {
	return fmt.Sprintf("PageConfig{STUN: %v, ICEServers: %d (credentials hidden), Duration: %v}", c.STUN, len(c.ICEServers), c.Duration)
}

// pageSettings is the JSON the page reads from ./config.
type pageSettings struct {
	PageConfig
	DurationMS     int64 `json:"duration_ms"`
	BudgetMS       int64 `json:"budget_ms"`
	MicPromptMS    int64 `json:"mic_prompt_ms"`
	LevelMS        int64 `json:"level_ms"`
	UDPMS          int64 `json:"udp_ms"`
	RelaySetupMS   int64 `json:"relay_setup_ms"`
	AnswerVersion  int   `json:"answer_version"`
	MaxAnswerBytes int   `json:"max_answer_bytes"`
}

// Options configure a Session.
type Options struct {
	// Page is what the page is told.
	Page PageConfig
	// Wait is how long, from Start, the browser has to load the page and
	// post its answer (> 0).
	Wait time.Duration
}

// NoAnswer is Wait's error when no answer came: Reason says in plain words
// how far the browser got (never started, never loaded the page, loaded it
// but sent nothing) for the checks' skip reason.
type NoAnswer struct{ Reason string }

func (e *NoAnswer) Error() string { return e.Reason }

// Session is one browser check: a loopback HTTP server with its token, the
// browser it opened, and the answer once posted. Its methods are safe for
// concurrent use; Close releases everything.
type Session struct {
	token, origin, host string
	page                PageConfig
	deadline            time.Time
	ln                  net.Listener
	srv                 *http.Server
	done                chan struct{} // closed when the answer arrives

	mu           sync.Mutex
	loaded       bool // the page itself was fetched
	configServed bool
	answer       *Answer
	refused      int
	openErr      error
	browser      *browserProc
	closeOnce    sync.Once
}

// Start listens on 127.0.0.1 (a random port) and serves the page under a
// fresh random token until Close. It opens no browser (see Open).
func Start(o Options) (*Session, error) {
	if o.Wait <= 0 {
		return nil, errors.New("browsercheck: Options.Wait must be positive")
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("browsercheck: token: %w", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("browsercheck: listen on 127.0.0.1: %w", err)
	}
	s := &Session{
		token: hex.EncodeToString(tok), host: ln.Addr().String(), page: o.Page,
		deadline: time.Now().Add(o.Wait), ln: ln, done: make(chan struct{}),
	}
	s.origin = "http://" + s.host
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		ErrorLog: nil, MaxHeaderBytes: 16 << 10}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the page's address, token included: http://127.0.0.1:PORT/TOKEN/.
// It grants access to this session only, and only until Close.
func (s *Session) URL() string { return s.origin + "/" + s.token + "/" }

// Deadline is when Wait stops waiting.
func (s *Session) Deadline() time.Time { return s.deadline }

// Refused counts the requests refused so far (wrong token, host, origin,
// method, a second use): for tests and Details.
func (s *Session) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Wait returns the page's answer once it is posted, or a *NoAnswer when
// the session's deadline passes (or ctx ends) first. Any number of
// goroutines may wait; they all get the same answer.
func (s *Session) Wait(ctx context.Context) (*Answer, error) {
	t := time.NewTimer(time.Until(s.deadline))
	defer t.Stop()
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.answer, nil
	case <-t.C:
	case <-ctx.Done():
	}
	// An answer that arrived at the same moment still counts.
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.answer, nil
	default:
	}
	return nil, &NoAnswer{Reason: s.why(ctx)}
}

// why says how far the browser got, for a NoAnswer.
func (s *Session) why(ctx context.Context) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	within := "within the browser check's time limit"
	if ctx.Err() != nil && time.Now().Before(s.deadline) {
		within = "before the run ended"
	}
	switch {
	case s.openErr != nil:
		return "no answer from the browser: it could not be started (" + s.openErr.Error() + ")"
	case !s.loaded:
		exit := ""
		if s.browser != nil {
			exit = s.browser.exitNote()
		}
		return "no answer from the browser: it did not load the check page " + within + exit
	case !s.configServed:
		return "no answer from the browser: it loaded the check page but its script did not run " + within + " (is JavaScript off?)"
	}
	return "no answer from the browser: it ran the check page but sent no results " + within
}

// Close stops the server and ends a headless browser that Open started
// (a visible browser is left open: its tab shows the result). Safe to
// call more than once.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err = s.srv.Shutdown(ctx)
		if err != nil {
			err = s.srv.Close()
		}
		s.mu.Lock()
		b := s.browser
		s.mu.Unlock()
		if b != nil {
			b.end()
		}
	})
	return err
}

// ServeHTTP serves the page, its settings and the result endpoint under
// the token, and refuses everything else.
func (s *Session) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// The Host must be the loopback address itself: a name that resolves
	// to 127.0.0.1 (DNS rebinding) is another origin.
	if r.Host != s.host {
		s.refuse(w, http.StatusMisdirectedRequest, "wrong host")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/")
	tok, rest, _ := strings.Cut(rest, "/")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		s.refuse(w, http.StatusNotFound, "not found")
		return
	}
	switch {
	case rest == "" || rest == "index.html":
		s.static(w, r, "page/index.html")
	case rest == "page.js" || rest == "page.css":
		s.static(w, r, "page/"+rest)
	case rest == "config":
		s.config(w, r)
	case rest == "result":
		s.result(w, r)
	default:
		s.refuse(w, http.StatusNotFound, "not found")
	}
}

func (s *Session) refuse(w http.ResponseWriter, code int, msg string) {
	s.mu.Lock()
	s.refused++
	s.mu.Unlock()
	http.Error(w, msg, code)
}

func (s *Session) static(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.refuse(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	b, err := pageFS.ReadFile(name)
	if err != nil {
		s.refuse(w, http.StatusNotFound, "not found")
		return
	}
	if name == "page/index.html" {
		s.mu.Lock()
		s.loaded = true
		s.mu.Unlock()
	}
	ct := mime.TypeByExtension(name[strings.LastIndexByte(name, '.'):])
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(b)
}

// sameOrigin reports whether r comes from the page itself: a browser sends
// Sec-Fetch-Site (same-origin for the page's own fetches) and Origin on
// POSTs; a request naming another site is refused.
func (s *Session) sameOrigin(r *http.Request, requireOrigin bool) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return !requireOrigin
	}
	return o == s.origin
}

// config serves the page's settings once. The custom X-Preflight header
// makes any cross-origin attempt a CORS preflight, which is never answered.
func (s *Session) config(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("X-Preflight") == "" || !s.sameOrigin(r, false) {
		s.refuse(w, http.StatusForbidden, "forbidden")
		return
	}
	s.mu.Lock()
	if s.configServed {
		s.mu.Unlock()
		s.refuse(w, http.StatusGone, "this check page was already used: run the check again")
		return
	}
	s.configServed = true
	s.mu.Unlock()
	budget := time.Until(s.deadline) - postMargin
	if budget < 0 {
		budget = 0
	}
	mic := min(MicPrompt, budget)
	set := pageSettings{
		PageConfig: s.page, DurationMS: s.page.Duration.Milliseconds(), BudgetMS: budget.Milliseconds(),
		MicPromptMS: mic.Milliseconds(), LevelMS: MicLevel.Milliseconds(), UDPMS: min(UDPGather, budget).Milliseconds(),
		RelaySetupMS: RelaySetup.Milliseconds(), AnswerVersion: AnswerVersion, MaxAnswerBytes: MaxAnswerBytes,
	}
	if set.STUN == nil {
		set.STUN = []string{}
	}
	if set.ICEServers == nil {
		set.ICEServers = []ICEServer{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// result accepts the page's answer once, from the page's own origin.
func (s *Session) result(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !s.sameOrigin(r, true) {
		s.refuse(w, http.StatusForbidden, "forbidden")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.refuse(w, http.StatusUnsupportedMediaType, "want application/json")
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAnswerBytes))
	if err != nil {
		s.refuse(w, http.StatusRequestEntityTooLarge, "answer too large")
		return
	}
	a, err := ParseAnswer(b)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	if !s.configServed {
		s.mu.Unlock()
		s.refuse(w, http.StatusForbidden, "forbidden")
		return
	}
	if s.answer != nil {
		s.mu.Unlock()
		s.refuse(w, http.StatusConflict, "results already received")
		return
	}
	s.answer = a
	close(s.done)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
