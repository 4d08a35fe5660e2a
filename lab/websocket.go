package lab

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// WebSocketServer is an http.Handler that serves a real WebSocket
// endpoint (RFC 6455, github.com/coder/websocket) on every path, as the
// CCP's signaling host does (signaling.websocket): a request carrying
// Sec-WebSocket-Key is a WebSocket handshake — answered 101 when its
// Upgrade and Connection headers are intact, 426 Upgrade Required when
// something on the way removed them (as a real WebSocket server answers);
// other requests go to the fallback handler (nil: 204 No Content). An
// open socket answers pings and echoes messages until the client closes
// it or Close. Safe for concurrent use.
type WebSocketServer struct {
	fallback http.Handler
	accepted atomic.Int64

	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// NewWebSocket returns a WebSocketServer; fallback (may be nil) answers the
// requests that are not WebSocket handshakes.
func NewWebSocket(fallback http.Handler) *WebSocketServer {
	if fallback == nil {
		fallback = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &WebSocketServer{fallback: fallback, conns: map[*websocket.Conn]struct{}{}, ctx: ctx, cancel: cancel}
}

// Accepted is how many WebSocket upgrades the server has answered 101.
func (s *WebSocketServer) Accepted() int64 { return s.accepted.Load() }

// ServeHTTP serves one request (see WebSocketServer).
func (s *WebSocketServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Sec-WebSocket-Key") == "" {
		s.fallback.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	// No Origin check: the check is not a browser page.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered (426 when Upgrade is missing)
	}
	s.accepted.Add(1)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.CloseNow()
	}()
	for {
		typ, b, err := c.Read(s.ctx) // answers pings while it reads
		if err != nil {
			return
		}
		if err := c.Write(s.ctx, typ, b); err != nil {
			return
		}
	}
}

// Close ends every open socket and waits for their handlers; later
// handshakes get 503. Safe to call more than once.
func (s *WebSocketServer) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.CloseNow()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}
