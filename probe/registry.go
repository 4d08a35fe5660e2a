package probe

import (
	"slices"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// Registry returns every probe in report order.
func Registry() []Probe { return slices.Clone(registry) }

func init() {
	for _, p := range registry {
		result.Declare(p.Kind)
	}
}

// registry is every probe in report order: adding a check is one line here.
var registry = []Probe{
	rangesFreshness,
	dnsResolve,
	rangesMembership,
	tcpConnect,
	tlsHandshake,
	signalingWebSocket,
	signalingLatency,
	envProxy,
	envVPN,
	envClock,
	browserPolicy,
	stunBinding,
	turnAuthChallenge,
	turnAllocate,
	pathLargeDatagram,
	natMapping,
	mediaQuality,
	mediaRelay,
	capacityStreams,
	browserSupport,
	browserMicrophone,
	browserUDP,
	browserRelay,
}
