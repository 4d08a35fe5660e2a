// Fuzz targets for what servers send to the probes (issue #15): STUN/TURN
// responses and their error codes, REALM and NONCE; the replies of the
// paced media stream; DNS answers; a proxy's answer to CONNECT; the Date
// header env.clock reads. Each runs briefly in `make test` and longer in
// `make fuzz` (FUZZ_TARGETS in the Makefile).

package probe

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/miekg/dns"
	"github.com/pion/stun/v4"
)

// printable reports whether s is valid UTF-8 without control characters
// and at most maxServerText bytes plus the "…" mark.
func printable(s string) bool {
	if !utf8.ValidString(s) || len(s) > maxServerText+len("…") {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// FuzzSTUNResponse feeds arbitrary datagrams to the code that matches a
// STUN response to our transaction (matchResponse), reads its error code
// (Exchange.ErrorCode), mapped address and, as turn.auth-challenge does,
// judges a 401's REALM and NONCE. Nothing may panic; text the server chose
// must come out printable and short; only a 401 with REALM and NONCE may
// pass.
func FuzzSTUNResponse(f *testing.F) {
	seed := func(setters ...stun.Setter) {
		f.Add(stun.MustBuild(append([]stun.Setter{stun.TransactionID}, setters...)...).Raw)
	}
	seed(stun.BindingSuccess, &stun.XORMappedAddress{IP: []byte{192, 0, 2, 1}, Port: 5000}, stun.Fingerprint)
	seed(stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), stun.CodeUnauthorized, stun.NewRealm("amazon.com"), stun.NewNonce("abc"), stun.Fingerprint)
	seed(stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), stun.ErrorCodeAttribute{Code: 500, Reason: []byte("Server Error\r\n\x00")})
	seed(stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), stun.CodeUnauthorized, stun.NewRealm(strings.Repeat("r\n", 300)))
	seed(stun.BindingRequest)
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sentAt := map[[stun.TransactionIDSize]byte]time.Time{}
		if len(b) >= 20 {
			// Let the fuzzer reach "ours": the id it wrote is one we sent.
			sentAt[[stun.TransactionIDSize]byte(b[8:20])] = time.Unix(1, 0)
		}
		m, t0, ok := matchResponse(b, sentAt)
		if !ok {
			return
		}
		if m.Type.Class != stun.ClassSuccessResponse && m.Type.Class != stun.ClassErrorResponse {
			t.Fatalf("matched a %v", m.Type)
		}
		if !t0.Equal(time.Unix(1, 0)) {
			t.Fatalf("send time %v", t0)
		}
		x := Exchange{Response: m}
		code, phrase := x.ErrorCode()
		if (code != 0) != (m.Type.Class == stun.ClassErrorResponse) {
			t.Fatalf("code %d for class %v", code, m.Type.Class)
		}
		if !printable(phrase) {
			t.Fatalf("reason phrase not fit for a report: %q", phrase)
		}
		_, _ = MappedAddress(m)
		r := judgeAuthChallenge(Result{}, x, webEndpoint("turn.example", 3478))
		if r.Status == "" || (r.Status != Pass && r.Reason == "") {
			t.Fatalf("judged %+v", r)
		}
		if r.Status == Pass {
			var realm stun.Realm
			var nonce stun.Nonce
			if code != int(stun.CodeUnauthorized) || realm.GetFrom(m) != nil || nonce.GetFrom(m) != nil {
				t.Fatalf("passed without 401, REALM and NONCE: code %d", code)
			}
		}
		if !printable(r.Details["realm"]) {
			t.Fatalf("realm not fit for a report: %q", r.Details["realm"])
		}
	})
}

// FuzzReflectedMedia feeds arbitrary datagrams to the paced stream's
// reply handler (stream.handle), as if the TURN server answered them: it
// must never panic, never count a reply to a packet not sent, and never
// count more replies than packets sent.
func FuzzReflectedMedia(f *testing.F) {
	const count, sent = 20, 10
	tag := [4]byte{0xC, 0xC, 0xF, 0xF}
	reply := func(seq uint32, typ stun.MessageType) []byte {
		var id [stun.TransactionIDSize]byte
		copy(id[:4], tag[:])
		binary.BigEndian.PutUint32(id[4:8], seq)
		m := stun.MustBuild(stun.NewTransactionIDSetter(id), typ, &stun.XORMappedAddress{IP: []byte{203, 0, 113, 7}, Port: 40000})
		return m.Raw
	}
	f.Add(reply(0, stun.BindingSuccess))
	f.Add(reply(9, stun.BindingSuccess))
	f.Add(reply(10, stun.BindingSuccess)) // not sent yet
	f.Add(reply(0xFFFFFFFF, stun.BindingSuccess))
	f.Add(reply(3, stun.BindingError))
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &stream{}
		s.reset(count)
		s.tag = tag
		s.start = time.Now()
		s.sent.Store(sent)
		for range 2 { // a duplicate must not count twice
			s.handle(b, s.start.Add(30*time.Millisecond))
		}
		if n := s.recv.Load(); n > 1 {
			t.Fatalf("one datagram counted %d times", n)
		}
		for i, p := range s.log {
			if p.Received && i >= sent {
				t.Fatalf("reply counted for packet %d, never sent", i)
			}
		}
	})
}

// FuzzDNSAnswer feeds arbitrary DNS messages to the extraction of the
// addresses of an answer (answerAddrs), for A and AAAA: it must never
// panic, and only return addresses of the family asked for.
func FuzzDNSAnswer(f *testing.F) {
	m := new(dns.Msg)
	m.SetQuestion("turn.example.", dns.TypeA)
	m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "turn.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 10}},
		&dns.AAAA{Hdr: dns.RR_Header{Name: "turn.example.", Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 60}, AAAA: []byte{0x20, 1, 0xd, 0xb8, 15: 1}},
		&dns.CNAME{Hdr: dns.RR_Header{Name: "turn.example.", Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: "x.example."})
	b, err := m.Pack()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0, 0, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := new(dns.Msg)
		if in.Unpack(b) != nil {
			return
		}
		for _, a := range answerAddrs(in, dns.TypeA) {
			if !a.Is4() {
				t.Fatalf("A answer gave %v", a)
			}
		}
		for _, a := range answerAddrs(in, dns.TypeAAAA) {
			if !a.Is6() || a.Is4In6() {
				t.Fatalf("AAAA answer gave %v", a)
			}
		}
	})
}

// FuzzProxyAnswer feeds arbitrary bytes as a proxy's answer to CONNECT
// (readProxyAnswer): it must never panic, never read more than
// maxConnectAnswer before failing, and give a reader for the tunnel only
// with a 200.
func FuzzProxyAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\n\x16\x03\x01"))
	f.Add([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 99999999\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 AAAA"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nX-A: b\r\n"))
	f.Add([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: "h:443"}, Host: "h:443", Header: http.Header{}}
	f.Fuzz(func(t *testing.T, b []byte) {
		cr := &countingReader{r: bytes.NewReader(b)}
		resp, br, err := readProxyAnswer(cr, req)
		if err != nil {
			if cr.n > maxConnectAnswer {
				t.Fatalf("read %d bytes before failing", cr.n)
			}
			return
		}
		if resp.StatusCode < 0 || resp.StatusCode > 999 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.StatusCode == http.StatusOK {
			// The tunnel goes on past the limit.
			_, _ = io.Copy(io.Discard, br)
			if cr.n != int64(len(b)) {
				t.Fatalf("tunnel read %d of %d bytes", cr.n, len(b))
			}
		}
	})
}

// FuzzProxyAnswerEndless is FuzzProxyAnswer with the answer going on for
// ever after the fuzzed bytes (a hostile proxy's endless status line or
// headers): an answer that has not ended within maxConnectAnswer is an
// error, having read no more than that.
func FuzzProxyAnswerEndless(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 "))
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: "h:443"}, Host: "h:443", Header: http.Header{}}
	f.Fuzz(func(t *testing.T, b []byte) {
		cr := &countingReader{r: io.MultiReader(bytes.NewReader(b), endless{})}
		_, _, err := readProxyAnswer(cr, req)
		if cr.n > maxConnectAnswer {
			t.Fatalf("read %d bytes of an endless answer (err %v)", cr.n, err)
		}
		if err == nil && !bytes.Contains(b, []byte("\n\n")) && !bytes.Contains(b, []byte("\n\r\n")) {
			t.Fatalf("an answer without an end of headers was accepted")
		}
	})
}

// endless reads "X-Filler: aaaa\r\n" for ever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	const line = "X-Filler: aaaa\r\n"
	for i := range p {
		p[i] = line[i%len(line)]
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// FuzzClockDate feeds arbitrary Date headers to env.clock's skew reading
// (clockSkew): it must never panic; a date that does not parse is
// errNoDate; a parsed one gives the request's round trip and a skew whose
// sign says which clock is ahead.
func FuzzClockDate(f *testing.F) {
	f.Add("Mon, 02 Jan 2006 15:04:05 GMT", int64(40))
	f.Add("Monday, 02-Jan-06 15:04:05 GMT", int64(0))
	f.Add("Mon Jan  2 15:04:05 2006", int64(1000))
	f.Add("Fri, 31 Dec 9999 23:59:59 GMT", int64(5))
	f.Add("", int64(1))
	f.Fuzz(func(t *testing.T, date string, rttMS int64) {
		if rttMS < 0 || rttMS > 60_000 {
			return
		}
		t1 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		t2 := t1.Add(time.Duration(rttMS) * time.Millisecond)
		skew, rtt, err := clockSkew(date, t1, t2)
		if err != nil {
			if err != errNoDate {
				t.Fatalf("error %v, want errNoDate", err)
			}
			return
		}
		if rtt != t2.Sub(t1) {
			t.Fatalf("rtt %v", rtt)
		}
		server, _ := http.ParseTime(date)
		if server.Before(t1.Add(-time.Second)) && skew <= 0 {
			t.Fatalf("server at %v, before the request at %v: skew %v", server, t1, skew)
		}
		if server.After(t2) && skew >= 0 {
			t.Fatalf("server at %v, after the answer at %v: skew %v", server, t2, skew)
		}
		_ = roundSkew(skew)
	})
}

// answerAddrs is what the resolver keeps of an answer to its own question
// (in's first question, or none): the addresses ownedAnswers returns.
func answerAddrs(in *dns.Msg, qt uint16) []netip.Addr {
	q := ""
	if len(in.Question) > 0 {
		q = in.Question[0].Name
	}
	addrs, _ := ownedAnswers(q, qt, in.Answer)
	return addrs
}
