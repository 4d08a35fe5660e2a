//go:build linux

package netlab

import "fmt"

// The CCP's signaling in the lab (signaling.websocket, issue 13): the CCP v2
// signaling WebSocket host on its own address (Signal), so a fault can block
// it while the CCP v1 host (V1Name, on Web) stays open; lab.yaml's
// signaling_url points at it.
const (
	SignalName   = "signal.lab.test"
	V1Name       = "rtc.lab.test"
	SignalingURL = "wss://" + SignalName + "/connect"
	// ProxyAddr is the address a test adds in the cloud for a proxy it runs
	// there (netlab wsproxy), port ProxyPort.
	ProxyAddr = "203.0.113.30"
	ProxyPort = 3128
)

func init() {
	for _, f := range []Fault{
		nftFault("signaling-drop", "TCP 443 to the CCP v2 signaling host ("+SignalName+", "+Signal+") silently dropped; the CCP v1 host "+V1Name+" stays open", "agent", "netdev",
			egress(fmt.Sprintf("ip daddr %s tcp dport 443 drop", Signal)), false),
	} {
		Faults[f.Name] = f
	}
}
