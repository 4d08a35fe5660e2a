package result

// Phases name the step of a check that broke, as reported in Result.Phase:
// one vocabulary for TCP, TLS, UDP, TURN and WebRTC, so that a dashboard
// can count failures by phase across checks.
const (
	PhaseConfig     = "config"     // the check's own input (credentials, URL) is unusable
	PhaseSetup      = "setup"      // a local resource (socket, peer, stack) could not be made
	PhaseInternal   = "internal"   // a bug in the check itself
	PhaseRoute      = "route"      // this computer's routing (a VPN, no route)
	PhaseResolve    = "resolve"    // DNS lookup of the endpoint
	PhaseConnect    = "connect"    // TCP connection to the endpoint
	PhaseProxy      = "proxy"      // TCP to the proxy, or its answer to CONNECT
	PhaseTLS        = "tls"        // TLS handshake
	PhaseVerify     = "verify"     // certificate chain and name check
	PhaseSocket     = "socket"     // a UDP socket could not be opened or bound
	PhaseSend       = "send"       // a datagram could not be sent (local policy, no route)
	PhaseResponse   = "response"   // no (or a wrong) answer came back
	PhaseRead       = "read"       // reading an answer failed
	PhaseBinding    = "binding"    // STUN Binding
	PhaseAuth       = "auth"       // TURN authentication (401/REALM/NONCE, credentials)
	PhaseAllocate   = "allocate"   // TURN Allocate
	PhasePermission = "permission" // TURN CreatePermission
	PhaseRelay      = "relay"      // data through a TURN relay
	PhaseSmall      = "small"      // the small-datagram control of a size test
	PhaseLarge      = "large"      // the large datagrams of a size test
	PhaseICE        = "ice"        // ICE connectivity through the relay
	PhaseDTLS       = "dtls"       // the DTLS handshake of a WebRTC call
	PhaseMedia      = "media"      // media (RTP) flowing once connected
	PhaseQuality    = "quality"    // the path carries media, but below the thresholds
	PhaseCapacity   = "capacity"   // concurrent streams
	PhaseFreshness  = "freshness"  // the age of the ranges data
	PhaseRanges     = "ranges"     // the published ranges data
	PhaseClock      = "clock"      // this computer's clock
	PhaseUpgrade    = "upgrade"    // an HTTP → WebSocket upgrade
	PhaseIdle       = "idle"       // an open connection kept idle
	PhasePolicy     = "policy"     // a browser's enterprise policy
)

// Phases of the browser's own checks (check --browser).
const (
	PhaseBrowser    = "browser"    // the browser itself: version, WebRTC, its policies or extensions
	PhaseMicrophone = "microphone" // the microphone: permission, device, level
)
