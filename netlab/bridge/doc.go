// Package bridge is the lab's impairment link: it joins two network
// interfaces at layer 2 (AF_PACKET raw sockets, Linux only) and holds each
// frame for a configured delay ± jitter, drops a share of frames (random or
// deterministic), reorders and limits the rate, per direction. The kernel
// of the project's test machines has no netem; this is its stand-in.
//
// It runs inside the wan namespace of netlab's bridged lab (docs/LAB.md,
// "The impairment bridge"); the in-process stand-in for tests without root
// is internal/impair, a UDP relay on loopback.
package bridge
