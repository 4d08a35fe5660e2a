package lab

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// HTTPSServer is a TLS web server on loopback. Close stops it.
type HTTPSServer struct {
	// Addr is the listening address, 127.0.0.1:PORT.
	Addr string
	// Port is Addr's port.
	Port int
	srv  *http.Server
	done chan struct{}
}

// StartHTTPS starts an HTTPS server on 127.0.0.1 (a free port) whose
// certificates the CA issues for any SNI name (see CA.GetCertificate).
// It answers every request with 204 No Content and, as net/http always
// does, a Date header (env.clock reads it). handler, if non-nil, replaces
// that answer.
func StartHTTPS(ca *CA, handler http.Handler) (*HTTPSServer, error) {
	if ca == nil {
		return nil, errors.New("lab.StartHTTPS: nil CA")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab HTTPS listen: %w", err)
	}
	if handler == nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	}
	s := &HTTPSServer{
		Addr: ln.Addr().String(),
		Port: ln.Addr().(*net.TCPAddr).Port,
		srv: &http.Server{
			Handler:           handler,
			TLSConfig:         &tls.Config{GetCertificate: ca.GetCertificate, MinVersion: tls.VersionTLS12},
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          discardLog(),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

// Close stops the server and waits for it to end.
func (s *HTTPSServer) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
