package lab

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocketServer: a real client (coder/websocket) upgrades (101),
// gets its message echoed and its ping answered; a handshake whose Upgrade
// header was removed gets 426, as from a real WebSocket server; a plain
// request gets the fallback; Close ends open sockets.
func TestWebSocketServer(t *testing.T) {
	ca, err := NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	ws := NewWebSocket(nil)
	s, err := StartHTTPS(ca, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "signal.test"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "wss://"+s.Addr+"/connect", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	echo := make(chan string, 1)
	go func() { // reads the echo, and the pong, until the socket closes
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			echo <- string(b)
		}
	}()
	if err := c.Write(ctx, websocket.MessageText, []byte("heartbeat")); err != nil {
		t.Fatal(err)
	}
	if got := <-echo; got != "heartbeat" {
		t.Errorf("echo %q", got)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || ws.Accepted() != 1 {
		t.Errorf("status %d, accepted %d", resp.StatusCode, ws.Accepted())
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.Addr+"/connect", nil)
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	stripped, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stripped.Body.Close()
	if stripped.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("handshake without Upgrade: %d, want 426", stripped.StatusCode)
	}
	plain, err := client.Get("https://" + s.Addr + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusNoContent {
		t.Errorf("plain request: %d, want the fallback's 204", plain.StatusCode)
	}
	done := make(chan struct{})
	go func() { ws.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the open socket")
	}
	c.CloseNow()
}
