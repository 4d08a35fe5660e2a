//go:build linux

package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ccp-preflight/ccp-preflight/internal/wsproxy"
)

// wsproxyCmd runs an HTTP CONNECT proxy with a WebSocket fault (package
// internal/wsproxy) until SIGTERM: -mode idle cuts tunnels idle for -idle,
// -mode strip inspects TLS with -cert/-key and strips Upgrade.
func wsproxyCmd(args []string) error {
	fs := flag.NewFlagSet("wsproxy", flag.ExitOnError)
	listen := fs.String("listen", "", "address to listen on")
	mode := fs.String("mode", "idle", "idle (cut idle tunnels) or strip (inspect TLS, strip Upgrade)")
	idle := fs.Duration("idle", 0, "idle mode: close a tunnel idle this long")
	cert := fs.String("cert", "", "strip mode: certificate chain PEM presented to clients")
	key := fs.String("key", "", "strip mode: its key")
	ca := fs.String("ca", "", "strip mode: CA PEM to verify the upstream servers")
	resolver := fs.String("resolver", "", "DNS server host:port for upstream names")
	ready := fs.String("ready", "", "file to create once listening")
	fs.Parse(args)
	o := wsproxy.Options{Idle: *idle, Resolver: *resolver}
	switch *mode {
	case "idle":
	case "strip":
		o.Mode = wsproxy.StripUpgrade
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		o.Cert = &c
		if *ca != "" {
			b, err := os.ReadFile(*ca)
			if err != nil {
				return err
			}
			o.RootCAs = x509.NewCertPool()
			o.RootCAs.AppendCertsFromPEM(b)
		}
	default:
		return fmt.Errorf("-mode %q: want idle or strip", *mode)
	}
	p, err := wsproxy.Start(*listen, o)
	if err != nil {
		return err
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte("ok\n"), 0o644); err != nil {
			return err
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	<-sigs
	fmt.Printf("wsproxy: %d idle tunnels cut\n", p.IdleCuts())
	return p.Close()
}
