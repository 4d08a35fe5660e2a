//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// The lab's own minimal probes: they show what a fault does on the wire,
// independently of ccp-preflight's probes (netlab's TestLabFaults).

// Outcome is a lab probe's JSON result.
type Outcome struct {
	OK bool `json:"ok"`
	// Kind is timeout, refused, permission, unreachable, reset or error.
	Kind   string   `json:"kind,omitempty"`
	Error  string   `json:"error,omitempty"`
	Mapped []string `json:"mapped,omitempty"`
	Rcode  string   `json:"rcode,omitempty"`
	Addrs  []string `json:"addrs,omitempty"`
	Issuer string   `json:"issuer,omitempty"`
}

func kind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return "permission"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	}
	return "error"
}

func emit(o Outcome, err error) error {
	if err != nil {
		o.OK, o.Kind, o.Error = false, kind(err), err.Error()
	}
	return json.NewEncoder(os.Stdout).Encode(o)
}

const stunMagic = 0x2112A442

func stunCmd(args []string) error {
	fs := flag.NewFlagSet("stun", flag.ExitOnError)
	to := fs.String("to", "", "STUN server address")
	also := fs.String("also", "", "a second server, asked from the same socket")
	size := fs.Int("size", 0, "pad the request to this many bytes (PADDING attribute)")
	timeout := fs.Duration("timeout", time.Second, "how long to wait for each answer")
	fs.Parse(args)
	// One server: a connected socket, so an ICMP port unreachable comes
	// back as "connection refused" (as a probe's socket sees it).
	var c net.PacketConn
	var err error
	if *also == "" {
		ua, rerr := net.ResolveUDPAddr("udp4", *to)
		if rerr != nil {
			return emit(Outcome{}, rerr)
		}
		var uc *net.UDPConn
		uc, err = net.DialUDP("udp4", nil, ua)
		c = connected{uc}
	} else {
		c, err = net.ListenPacket("udp4", ":0")
	}
	if err != nil {
		return emit(Outcome{}, err)
	}
	defer c.Close()
	var o Outcome
	for _, addr := range []string{*to, *also} {
		if addr == "" {
			continue
		}
		ua, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return emit(o, err)
		}
		mapped, err := binding(c, ua, *size, *timeout)
		if err != nil {
			return emit(o, err)
		}
		o.Mapped = append(o.Mapped, mapped)
	}
	o.OK = true
	return emit(o, nil)
}

// binding sends one STUN Binding request (RFC 5389) and returns the
// XOR-MAPPED-ADDRESS of the answer.
func binding(c net.PacketConn, to *net.UDPAddr, size int, timeout time.Duration) (string, error) {
	attrLen := 0
	if size > 20+4 {
		attrLen = (size - 24) &^ 3
	}
	msg := make([]byte, 20, 24+attrLen)
	binary.BigEndian.PutUint16(msg[0:], 0x0001)
	binary.BigEndian.PutUint32(msg[4:], stunMagic)
	rand.Read(msg[8:20])
	if attrLen > 0 {
		msg = binary.BigEndian.AppendUint16(msg, 0x0026) // PADDING
		msg = binary.BigEndian.AppendUint16(msg, uint16(attrLen))
		msg = append(msg, make([]byte, attrLen)...)
	}
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)-20))
	if _, err := c.WriteTo(msg, to); err != nil {
		return "", err
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return "", err
		}
		if n < 20 || string(buf[8:20]) != string(msg[8:20]) {
			continue
		}
		for p := 20; p+4 <= n; {
			t, l := binary.BigEndian.Uint16(buf[p:]), int(binary.BigEndian.Uint16(buf[p+2:]))
			v := buf[p+4 : min(n, p+4+l)]
			if t == 0x0020 && len(v) >= 8 && v[1] == 1 {
				port := binary.BigEndian.Uint16(v[2:]) ^ uint16(stunMagic>>16)
				ip := make(net.IP, 4)
				binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(v[4:])^stunMagic)
				return fmt.Sprintf("%s:%d", ip, port), nil
			}
			p += 4 + (l+3)&^3
		}
		return "", fmt.Errorf("STUN answer without XOR-MAPPED-ADDRESS (type %#04x)", binary.BigEndian.Uint16(buf))
	}
}

func dnsCmd(args []string) error {
	fs := flag.NewFlagSet("dns", flag.ExitOnError)
	server := fs.String("server", "", "DNS server address")
	timeout := fs.Duration("timeout", time.Second, "query timeout")
	fs.Parse(args)
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(fs.Arg(0)), dns.TypeA)
	cl := &dns.Client{Timeout: *timeout}
	r, _, err := cl.Exchange(m, *server)
	if err != nil {
		return emit(Outcome{}, err)
	}
	o := Outcome{OK: r.Rcode == dns.RcodeSuccess, Rcode: dns.RcodeToString[r.Rcode]}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			o.Addrs = append(o.Addrs, a.A.String())
		}
	}
	return emit(o, nil)
}

func tlsCmd(args []string) error {
	fs := flag.NewFlagSet("tls", flag.ExitOnError)
	addr := fs.String("addr", "", "address to connect to")
	sni := fs.String("sni", "", "server name")
	caFile := fs.String("ca", "", "trusted CA file")
	timeout := fs.Duration("timeout", time.Second, "connect and handshake timeout")
	fs.Parse(args)
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(*caFile); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", *addr)
	if err != nil {
		return emit(Outcome{}, err)
	}
	defer raw.Close()
	var issuer string
	conn := tls.Client(raw, &tls.Config{ServerName: *sni, RootCAs: pool,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				issuer = cs.PeerCertificates[0].Issuer.CommonName
			}
			return nil
		},
		// Record the issuer even when verification fails.
		InsecureSkipVerify: true,
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		return emit(Outcome{Issuer: issuer}, err)
	}
	certs := conn.ConnectionState().PeerCertificates
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, verr := certs[0].Verify(x509.VerifyOptions{DNSName: *sni, Roots: pool, Intermediates: inter})
	return emit(Outcome{OK: verr == nil, Issuer: issuer}, verr)
}

// connected is a connected UDP socket used as a PacketConn.
type connected struct{ *net.UDPConn }

func (c connected) WriteTo(b []byte, _ net.Addr) (int, error) { return c.Write(b) }
