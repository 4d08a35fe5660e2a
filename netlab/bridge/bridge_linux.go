//go:build linux

package bridge

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// vnetHdrLen is the size of struct virtio_net_hdr that PACKET_VNET_HDR puts
// before each frame. With it the kernel hands over GSO super-frames and
// partial checksums as metadata instead of failing to send them.
const vnetHdrLen = 10

// virtio_net_hdr flags.
const (
	vnetNeedsCsum = 1
	gsoNone       = 0
)

// maxFrame is the largest frame read: a 64 KiB GSO super-frame plus headers.
const maxFrame = 65536 + vnetHdrLen + 64

// Stats counts one direction's frames. The Watched fields describe the UDP
// datagrams to or from port 3478 (TURN, the media path) as actually
// forwarded: how long each was held, from its kernel arrival to its send,
// and how much that hold changed between consecutive datagrams of a flow.
// They are the truth a media measurement is compared with.
type Stats struct {
	In, Dropped, QueueDropped, Reordered, Out uint64
	Watched, WatchedDiffs                     uint64
	HoldSum, AbsDiffSum                       time.Duration
	// WatchedIn and WatchedDropped count the watched datagrams offered and
	// dropped (loss or a full queue); WatchedReordered those held back to
	// be reordered; HoldMax is the longest hold of one.
	WatchedIn, WatchedDropped, WatchedReordered uint64
	HoldMax                                     time.Duration
}

// Sub returns the counts of s since an earlier snapshot e of the same
// direction (HoldMax is s's, the longest since the start).
func (s Stats) Sub(e Stats) Stats {
	return Stats{In: s.In - e.In, Dropped: s.Dropped - e.Dropped, QueueDropped: s.QueueDropped - e.QueueDropped,
		Reordered: s.Reordered - e.Reordered, Out: s.Out - e.Out, Watched: s.Watched - e.Watched,
		WatchedDiffs: s.WatchedDiffs - e.WatchedDiffs, HoldSum: s.HoldSum - e.HoldSum, AbsDiffSum: s.AbsDiffSum - e.AbsDiffSum,
		WatchedIn: s.WatchedIn - e.WatchedIn, WatchedDropped: s.WatchedDropped - e.WatchedDropped,
		WatchedReordered: s.WatchedReordered - e.WatchedReordered, HoldMax: s.HoldMax}
}

// LossRatio is the share of the watched datagrams offered that were dropped.
func (s Stats) LossRatio() float64 {
	if s.WatchedIn == 0 {
		return 0
	}
	return float64(s.WatchedDropped) / float64(s.WatchedIn)
}

// HoldMeanMS is the mean hold of the watched datagrams, in milliseconds.
func (s Stats) HoldMeanMS() float64 {
	if s.Watched == 0 {
		return 0
	}
	return float64(s.HoldSum) / float64(s.Watched) / 1e6
}

// AbsDiffMeanMS is the mean |Δhold| of consecutive watched datagrams of a
// flow, in milliseconds: what RFC 3550's jitter estimates for this direction.
func (s Stats) AbsDiffMeanMS() float64 {
	if s.WatchedDiffs == 0 {
		return 0
	}
	return float64(s.AbsDiffSum) / float64(s.WatchedDiffs) / 1e6
}

// watchPort is the UDP port whose datagrams Stats follows (TURN).
const watchPort = 3478

// Bridge joins two interfaces, A and B, with an impairment per direction.
type Bridge struct {
	a, b   port
	ab, ba *direction
}

type port struct {
	name string
	fd   int
}

// Open opens raw sockets on interfaces a and b (in the calling process's
// network namespace), puts both in promiscuous mode and returns a bridge
// forwarding A→B with ab and B→A with ba. seed makes random loss, jitter
// and reordering repeatable.
func Open(a, b string, ab, ba Impairment, seed uint64) (*Bridge, error) {
	pa, err := openPort(a)
	if err != nil {
		return nil, err
	}
	pb, err := openPort(b)
	if err != nil {
		unix.Close(pa.fd)
		return nil, err
	}
	br := &Bridge{a: pa, b: pb}
	br.ab = newDirection(ab, seed, pb)
	br.ba = newDirection(ba, seed+1, pa)
	return br, nil
}

func openPort(name string) (port, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return port{}, fmt.Errorf("bridge: interface %s: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return port{}, fmt.Errorf("bridge: raw socket for %s (needs root/CAP_NET_RAW): %w", name, err)
	}
	fail := func(what string, err error) (port, error) {
		unix.Close(fd)
		return port{}, fmt.Errorf("bridge: %s on %s: %w", what, name, err)
	}
	// Arrival times from the kernel: a frame's delay counts from when it
	// reached the wan, not from when this process got to read it.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fail("PACKET_VNET_HDR", err)
	}
	// Our own transmissions must not come back to us as input.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail("PACKET_IGNORE_OUTGOING", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	// Promiscuous: frames are addressed to the far end's MAC, not ours.
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fail("promiscuous mode", err)
	}
	return port{name: name, fd: fd}, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Set changes the impairment of a direction ("ab" or "ba") while running.
func (br *Bridge) Set(dir string, im Impairment) error {
	switch dir {
	case "ab":
		br.ab.im.Store(&im)
	case "ba":
		br.ba.im.Store(&im)
	default:
		return fmt.Errorf("bridge: direction %q: want ab or ba", dir)
	}
	return nil
}

// Impairments returns the current A→B and B→A impairments.
func (br *Bridge) Impairments() (ab, ba Impairment) { return *br.ab.im.Load(), *br.ba.im.Load() }

// Stats returns the A→B and B→A counters.
func (br *Bridge) Stats() (ab, ba Stats) { return br.ab.stats(), br.ba.stats() }

// Run forwards frames until ctx ends, then closes the sockets.
func (br *Bridge) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	go func() { errc <- br.ab.send(ctx) }()
	go func() { errc <- br.ba.send(ctx) }()
	go func() { errc <- recvLoop(br.a, br.ab) }()
	go func() { errc <- recvLoop(br.b, br.ba) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// Closing the sockets ends the blocked reads.
	unix.Close(br.a.fd)
	unix.Close(br.b.fd)
	return err
}

func recvLoop(p port, d *direction) error {
	oob := make([]byte, 64)
	for {
		buf := make([]byte, maxFrame)
		n, oobn, _, _, err := unix.Recvmsg(p.fd, buf, oob, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			if errors.Is(err, unix.EBADF) {
				return nil
			}
			return fmt.Errorf("bridge: read %s: %w", p.name, err)
		}
		if n <= vnetHdrLen+14 {
			continue
		}
		d.offer(buf[:n], arrival(oob[:oobn]))
	}
}

// arrival is the kernel's receive time in a SCM_TIMESTAMPNS message, or now.
func arrival(oob []byte) time.Time {
	now := time.Now()
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return now
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			t := time.Unix(sec, nsec)
			// Keep the monotonic reading of now for the timers: move now
			// back by how long ago the frame arrived.
			if ago := now.Sub(t); ago >= 0 && ago < time.Second {
				return now.Add(-ago)
			}
			return now
		}
	}
	return now
}

// direction is one way through the bridge: a time-ordered queue of held
// frames and the sender that releases them when due.
type direction struct {
	im  atomic.Pointer[Impairment]
	out port

	// Only the receiving goroutine uses rng and flows.
	rng   *rand.Rand
	flows map[flowKey]uint64

	mu         sync.Mutex
	lastHold   map[flowKey]time.Duration
	q          frameHeap
	seq        uint64
	linkFreeAt time.Time
	st         Stats
	wake       chan struct{}
}

func newDirection(im Impairment, seed uint64, out port) *direction {
	d := &direction{out: out, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		flows: map[flowKey]uint64{}, lastHold: map[flowKey]time.Duration{}, wake: make(chan struct{}, 1)}
	d.im.Store(&im)
	return d
}

func (d *direction) stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

type frame struct {
	due, arrived time.Time
	seq          uint64
	b            []byte
}

type frameHeap []frame

func (h frameHeap) Len() int { return len(h) }
func (h frameHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h frameHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *frameHeap) Push(x any)   { *h = append(*h, x.(frame)) }
func (h *frameHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}

// offer decides a frame's fate: dropped, or queued with the time it is due.
func (d *direction) offer(b []byte, now time.Time) {
	im := d.im.Load()
	if !isIP(b[vnetHdrLen:]) {
		// ARP and other link-local frames model the LAN, not the WAN the
		// impairment stands for: they pass at once, never dropped.
		im = &Impairment{}
	}
	drop := false
	if im.LossEvery > 0 {
		k := flowOf(b[vnetHdrLen:])
		d.flows[k]++
		drop = d.flows[k]%uint64(im.LossEvery) == 0
	} else if im.Loss > 0 {
		drop = d.rng.Float64() < im.Loss
	}
	delay := im.Delay
	if im.Jitter > 0 {
		delay += time.Duration((d.rng.Float64()*2 - 1) * float64(im.Jitter))
		if delay < 0 {
			delay = 0
		}
	}
	reordered := false
	if im.Reorder > 0 && d.rng.Float64() < im.Reorder {
		delay += im.ReorderGap
		reordered = true
	}
	watched := isWatched(flowOf(b[vnetHdrLen:]))
	d.mu.Lock()
	d.st.In++
	if watched {
		d.st.WatchedIn++
	}
	if drop {
		d.st.Dropped++
		if watched {
			d.st.WatchedDropped++
		}
		d.mu.Unlock()
		return
	}
	if len(d.q) >= QueueLimit {
		d.st.QueueDropped++
		if watched {
			d.st.WatchedDropped++
		}
		d.mu.Unlock()
		return
	}
	if reordered {
		d.st.Reordered++
		if watched {
			d.st.WatchedReordered++
		}
	}
	due := now.Add(delay)
	if im.RateBPS > 0 {
		// Serialisation: a frame leaves when the link is free, and holds
		// it for its size at the rate.
		start := now
		if d.linkFreeAt.After(start) {
			start = d.linkFreeAt
		}
		d.linkFreeAt = start.Add(time.Duration(float64(len(b)-vnetHdrLen) * 8 / float64(im.RateBPS) * float64(time.Second)))
		if d.linkFreeAt.After(due) {
			due = d.linkFreeAt
		}
	}
	if !due.After(now) && len(d.q) == 0 {
		// Nothing to hold and nothing ahead of it: forward at once from
		// this goroutine (no hand-off to the sender, no wake-up latency).
		d.st.Out++
		d.mu.Unlock()
		completeChecksum(b)
		_, _ = unix.Write(d.out.fd, b) // a frame the far side cannot take is lost, as on a wire
		d.record(b, now, time.Now())
		return
	}
	d.seq++
	heap.Push(&d.q, frame{due: due, arrived: now, seq: d.seq, b: b})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// timerSlack is how early the Go timer wakes the sender before a frame is
// due: Go's timers ride on epoll's millisecond timeouts, so the last stretch
// is slept with nanosleep on the sender's own thread (hrtimer, microseconds).
const timerSlack = 2 * time.Millisecond

// send releases frames when due, completing partial checksums first.
// It runs on an OS thread of its own, so the final nanosleep is this
// thread's alone.
func (d *direction) send(ctx context.Context) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The default 50 µs timer slack would blur the final sleep.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		if len(d.q) == 0 {
			d.mu.Unlock()
			select {
			case <-ctx.Done():
				return nil
			case <-d.wake:
			}
			continue
		}
		wait := time.Until(d.q[0].due)
		if wait > 0 && wait <= timerSlack {
			d.mu.Unlock()
			ts := unix.NsecToTimespec(int64(wait))
			_ = unix.Nanosleep(&ts, nil)
			continue
		}
		if wait > 0 {
			d.mu.Unlock()
			timer.Reset(wait - timerSlack)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			case <-d.wake:
			}
			continue
		}
		f := heap.Pop(&d.q).(frame)
		d.st.Out++
		d.mu.Unlock()
		completeChecksum(f.b)
		if _, err := unix.Write(d.out.fd, f.b); err != nil {
			if errors.Is(err, unix.EBADF) {
				return nil
			}
			// A frame the far side cannot take (e.g. the link went down)
			// is lost, as on a wire; keep forwarding.
			continue
		}
		d.record(f.b, f.arrived, time.Now())
	}
}

// record adds a forwarded frame to the watched statistics when it is a UDP
// datagram to or from watchPort.
func (d *direction) record(b []byte, arrived, sent time.Time) {
	k := flowOf(b[vnetHdrLen:])
	if !isWatched(k) {
		return
	}
	hold := sent.Sub(arrived)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Watched++
	d.st.HoldSum += hold
	d.st.HoldMax = max(d.st.HoldMax, hold)
	if last, ok := d.lastHold[k]; ok {
		diff := hold - last
		if diff < 0 {
			diff = -diff
		}
		d.st.AbsDiffSum += diff
		d.st.WatchedDiffs++
	}
	d.lastHold[k] = hold
}

// isWatched reports whether flow k is a UDP flow to or from watchPort.
func isWatched(k flowKey) bool {
	return k.proto == unix.IPPROTO_UDP && (k.sp == watchPort || k.dp == watchPort)
}

// completeChecksum finishes a frame whose TCP/UDP checksum the sender left
// partial (veth offload: the field holds only the pseudo-header sum) and
// clears the flag, so the frame is whole on the wire. GSO super-frames keep
// the flag: the kernel segments them and computes each segment's checksum.
func completeChecksum(b []byte) {
	flags, gso := b[0], b[1]
	if flags&vnetNeedsCsum == 0 || gso != gsoNone {
		return
	}
	start := int(binary.LittleEndian.Uint16(b[6:8]))
	off := int(binary.LittleEndian.Uint16(b[8:10]))
	pkt := b[vnetHdrLen:]
	if start+off+2 > len(pkt) {
		return
	}
	// The field holds the folded pseudo-header sum; summing from start
	// over the field and the payload gives the full checksum.
	sum := uint32(0)
	data := pkt[start:]
	for len(data) >= 2 {
		sum += uint32(data[0])<<8 | uint32(data[1])
		data = data[2:]
	}
	if len(data) == 1 {
		sum += uint32(data[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 && isUDP(pkt) {
		c = 0xffff // UDP sends a computed zero as all ones
	}
	binary.BigEndian.PutUint16(pkt[start+off:], c)
	b[0] &^= vnetNeedsCsum
}

func isIP(eth []byte) bool {
	t := binary.BigEndian.Uint16(eth[12:14])
	return t == 0x0800 || t == 0x86dd
}

func isUDP(pkt []byte) bool {
	if len(pkt) < 34 || binary.BigEndian.Uint16(pkt[12:14]) != 0x0800 {
		return false
	}
	return pkt[23] == unix.IPPROTO_UDP
}

// flowKey identifies an IPv4 TCP/UDP flow; every other frame is flow zero.
type flowKey struct {
	src, dst [4]byte
	proto    uint8
	sp, dp   uint16
}

func flowOf(eth []byte) flowKey {
	var k flowKey
	if len(eth) < 34 || binary.BigEndian.Uint16(eth[12:14]) != 0x0800 {
		return k
	}
	ip := eth[14:]
	ihl := int(ip[0]&0x0f) * 4
	copy(k.src[:], ip[12:16])
	copy(k.dst[:], ip[16:20])
	k.proto = ip[9]
	if (k.proto == unix.IPPROTO_UDP || k.proto == unix.IPPROTO_TCP) && len(ip) >= ihl+4 {
		k.sp = binary.BigEndian.Uint16(ip[ihl:])
		k.dp = binary.BigEndian.Uint16(ip[ihl+2:])
	}
	return k
}
