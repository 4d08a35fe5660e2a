package probe

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
)

// answerConn records what a server sent during the TLS handshake: when
// its first byte came and the first answerKeep bytes. tls.handshake tells
// "nothing answered" from "something answered that is not TLS" (a captive
// portal's HTTP redirect) with it. Safe for concurrent use.
type answerConn struct {
	net.Conn
	mu      sync.Mutex
	firstAt time.Time
	head    []byte
}

// answerKeep is how much of the answer answerConn keeps: enough for an
// HTTP status line and its headers.
const answerKeep = 4096

func (c *answerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.firstAt.IsZero() {
			c.firstAt = time.Now()
		}
		if k := min(n, answerKeep-len(c.head)); k > 0 {
			c.head = append(c.head, p[:k]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

// answer returns when the first byte came (zero: none) and a copy of the
// bytes kept.
func (c *answerConn) answer() (time.Time, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstAt, bytes.Clone(c.head)
}

// readMore reads what else the server sends within wait, up to
// answerKeep bytes in all, once the TLS client has given up: the rest of an
// HTTP answer's headers (the Location of a portal's redirect).
func (c *answerConn) readMore(wait time.Duration) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1024)
	for {
		_, head := c.answer()
		if len(head) >= answerKeep || bytes.Contains(head, []byte("\r\n\r\n")) || bytes.Contains(head, []byte("\n\n")) {
			return
		}
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// looksTLS reports whether b starts like a TLS record: a handshake (22) or
// alert (21) record of version 3.x (every SSL 3 / TLS version).
func looksTLS(b []byte) bool {
	return len(b) >= 2 && (b[0] == 22 || b[0] == 21) && b[1] == 3
}

// nonTLS describes an answer that is not TLS, as read from the first
// bytes a server sent: the quoted first line (an HTTP status line, an SSH
// or SMTP banner) or, for binary data, its first bytes in hex. For HTTP it
// also returns the host of the Location header (a portal's sign-in page)
// and whether the answer is HTTP. It never fails: b is whatever a server
// sent.
func nonTLS(b []byte) (what, location string, isHTTP bool) {
	if len(b) == 0 {
		return "nothing", "", false
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	first = bytes.TrimRight(first, "\r")
	if bytes.HasPrefix(b, []byte("HTTP/")) {
		isHTTP = true
		if resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil); err == nil {
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); loc != "" {
				if u, err := url.Parse(loc); err == nil && u.Host != "" {
					location = printableText(u.Hostname(), 100)
				}
			}
		}
		return fmt.Sprintf("%q", printableText(string(first), 100)), location, true
	}
	if text(first) && len(first) > 0 {
		return fmt.Sprintf("%q", printableText(string(first), 100)), "", false
	}
	n := min(len(b), 8)
	return fmt.Sprintf("%d bytes that are not TLS (starting % x)", len(b), b[:n]), "", false
}

// text reports whether b is printable ASCII (a banner, not binary).
func text(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// printableText keeps s's printable characters, at most n of them.
func printableText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, ""))
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
