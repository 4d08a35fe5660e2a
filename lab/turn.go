package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"

	"github.com/pion/logging"

	"github.com/pion/turn/v5"
)

// TURNOptions configure StartTURN. Empty fields get defaults: realm
// "ccp-preflight.lab", user "lab", and a random password.
type TURNOptions struct {
	Realm, Username, Password string
}

// TURNServer is a pion/turn TURN server on 127.0.0.1 (UDP) with one static
// long-term credential. It answers STUN Binding requests, answers an
// unauthenticated Allocate with 401 + REALM + NONCE, and relays to
// loopback peers (relay addresses are on 127.0.0.1). Close stops it.
type TURNServer struct {
	// Addr is 127.0.0.1:PORT; Port the port.
	Addr string
	Port int
	// Realm, Username and Password are the credential it accepts. Never
	// print Password; hand it to config.ICEServer as a config.Secret.
	Realm, Username, Password string
	srv                       *turn.Server
}

// TURNServerConfig is the pion/turn configuration of every lab and test
// TURN server: opts' realm and one static long-term credential, pion's own
// logging off. The caller adds its sockets (PacketConnConfigs,
// ListenerConfigs), usually with LoopbackRelay.
func TURNServerConfig(opts TURNOptions) turn.ServerConfig {
	key := turn.GenerateAuthKey(opts.Username, opts.Realm, opts.Password)
	user := opts.Username
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	return turn.ServerConfig{
		Realm:         opts.Realm,
		LoggerFactory: lf,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username == user {
				return user, key, true
			}
			return "", nil, false
		},
	}
}

// LoopbackRelay allocates relays on 127.0.0.1, so a relay can reach
// loopback peers (pion's default permission handler admits them).
func LoopbackRelay() turn.RelayAddressGenerator {
	return &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}
}

// StartTURN starts a TURN server on 127.0.0.1 at a free UDP port.
func StartTURN(opts TURNOptions) (*TURNServer, error) {
	if opts.Realm == "" {
		opts.Realm = "ccp-preflight.lab"
	}
	if opts.Username == "" {
		opts.Username = "lab"
	}
	if opts.Password == "" {
		opts.Password = randomSecret()
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab TURN listen: %w", err)
	}
	cfg := TURNServerConfig(opts)
	cfg.PacketConnConfigs = []turn.PacketConnConfig{{PacketConn: pc, RelayAddressGenerator: LoopbackRelay()}}
	srv, err := turn.NewServer(cfg)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("lab TURN: %w", err)
	}
	return &TURNServer{
		Addr: pc.LocalAddr().String(), Port: pc.LocalAddr().(*net.UDPAddr).Port,
		Realm: opts.Realm, Username: opts.Username, Password: opts.Password, srv: srv,
	}, nil
}

// Close stops the server and its relays.
func (s *TURNServer) Close() error { return s.srv.Close() }

// URL returns the ICE URL of the server: turn:127.0.0.1:PORT?transport=udp.
func (s *TURNServer) URL() string {
	return fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", s.Port)
}

func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
