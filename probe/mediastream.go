package probe

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/pace"
	"github.com/ccp-preflight/ccp-preflight/internal/rxstamp"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/pion/stun/v4"
)

// The paced stream shared by media.quality and capacity.streams: STUN
// Binding requests padded to the size of an Opus RTP packet, sent at the
// CCP's cadence from one socket, each answered by the TURN server. No
// retransmissions: a request without an answer is a lost packet.
const (
	// mediaInterval is the CCP's packet interval: Opus, ptime 20 ms,
	// DTX off (docs/MEDIA.md), so 50 packets a second.
	mediaInterval = 20 * time.Millisecond
	// mediaPacketSize is the UDP payload of each request: an Opus frame
	// at WebRTC's ~40 kbit/s (100 bytes per 20 ms) plus the RTP header
	// and SRTP tag come to ~120 bytes.
	mediaPacketSize = 120
	// mediaPadAttr is the padding attribute: comprehension-optional
	// (0x8000–0xFFFF), so any STUN server ignores it and answers; not
	// RFC 5780's PADDING (0x0026), which asks the server to pad replies.
	mediaPadAttr stun.AttrType = 0xC0DE
	// mediaStartLead puts the first send a little after set-up, so it is
	// not already late and the kernel has switched receive timestamps on
	// (Linux enables them system-wide a moment after the first socket
	// asks: internal/rxstamp, 20 ms).
	mediaStartLead = 20 * time.Millisecond
	// mediaDrainMin and mediaDrainMax bound the wait for the last
	// replies after the last send: twice the slowest round trip seen,
	// within these bounds (a reply later than 500 ms is useless to a
	// call anyway: the jitter buffer has played past it).
	mediaDrainMin = 50 * time.Millisecond
	mediaDrainMax = 500 * time.Millisecond
	// mediaSilenceAbort stops a stream that got no reply at all in this
	// long: the path is blocked, and stun.binding says why; streaming on
	// for the whole duration would only delay the report.
	mediaSilenceAbort = 2 * time.Second
	// stunHeaderSize is the fixed STUN header (RFC 8489 §5).
	stunHeaderSize = 20
)

// stream is one paced sequence of requests from one socket to one server.
type stream struct {
	conn     *rxstamp.Conn
	dst      *net.UDPAddr
	tag      [4]byte
	interval time.Duration
	count    int
	pkt      []byte

	start time.Time // schedule origin: packet i is due at start + i·interval
	log   []quality.Packet
	late  []time.Duration // send time minus schedule time, per packet sent
	sent  atomic.Int64
	recv  atomic.Int64

	mu        sync.Mutex
	maxSeq    int // highest seq answered so far, −1 before the first
	maxRTT    time.Duration
	mapped    string // XOR-MAPPED-ADDRESS of the first reply
	remapped  bool   // a later reply named another mapped address
	sendErr   error  // first send error other than refused (ends the stream)
	refused   error  // an ICMP port unreachable seen on a send or read
	readErr   error  // first read error other than the close at the end
	replyType string // an unexpected reply type, if any ("error 400")
}

// newStream opens a socket for a stream of count packets to dst.
func newStream(dst *net.UDPAddr, count int, interval time.Duration) (*stream, error) {
	network := "udp4"
	if dst.IP.To4() == nil {
		network = "udp6"
	}
	// A connected socket: the kernel filters replies to this server, and
	// an ICMP port unreachable comes back as "refused" instead of
	// looking like a silent drop.
	c, err := net.DialUDP(network, nil, dst)
	if err != nil {
		return nil, err
	}
	s := &stream{conn: rxstamp.New(c), dst: dst, interval: interval}
	s.reset(count)
	m, err := stun.Build(stun.BindingRequest, stun.TransactionID,
		stun.RawAttribute{Type: mediaPadAttr, Value: make([]byte, mediaPacketSize-stunHeaderSize-4)})
	if err != nil {
		c.Close()
		return nil, err
	}
	s.pkt = append([]byte(nil), m.Raw...)
	copy(s.pkt[8:12], s.tag[:])
	return s, nil
}

// reset prepares the stream for another run of count packets on the same
// socket (capacity.streams keeps each agent's socket across steps, as a
// real agent keeps its NAT mapping). The mapped address is kept, so a
// mapping that changes between runs counts as remapped.
func (s *stream) reset(count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count = count
	s.log = make([]quality.Packet, count)
	s.late = make([]time.Duration, 0, count)
	s.sent.Store(0)
	s.recv.Store(0)
	s.maxSeq, s.maxRTT = -1, 0
	s.sendErr, s.refused, s.readErr, s.replyType = nil, nil, nil, ""
	rand.Read(s.tag[:]) // replies to an earlier run no longer match
	if s.pkt != nil {
		copy(s.pkt[8:12], s.tag[:])
	}
}

// close releases the socket (ends the reader).
func (s *stream) close() { s.conn.Close() }

// send sends packet i now (the pacer calls it at the packet's due time)
// and records when it left. It reports false when the stream must stop:
// all sent, or a send error (the first is kept).
func (s *stream) send(i int, due time.Time) bool {
	if i >= s.count {
		return false
	}
	binary.BigEndian.PutUint32(s.pkt[12:16], uint32(i))
	now := time.Now()
	s.log[i].Seq = i
	s.log[i].Sent = now.Sub(s.start)
	s.late = append(s.late, now.Sub(due))
	s.sent.Store(int64(i + 1))
	if _, err := s.conn.Write(s.pkt); err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if Classify(err) == KindRefused {
			// An earlier datagram drew an ICMP port unreachable: note it
			// and keep the cadence (it may be transient).
			s.refused = err
			return i+1 < s.count
		}
		if s.sendErr == nil {
			s.sendErr = err
		}
		return false
	}
	return i+1 < s.count
}

// read records replies until the socket is closed or its read deadline
// passes (the end of a run).
func (s *stream) read() {
	buf := make([]byte, 1500)
	for {
		n, from, at, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || Classify(err) == KindTimeout {
				return
			}
			s.mu.Lock()
			refused := Classify(err) == KindRefused
			if refused {
				s.refused = err
			} else if s.readErr == nil {
				s.readErr = err
			}
			s.mu.Unlock()
			// ICMP errors (refused) arrive as read errors on a connected
			// socket: keep reading, the stream decides by what it received.
			if refused {
				continue
			}
			return
		}
		if from != nil && (!from.IP.Equal(s.dst.IP) || from.Port != s.dst.Port) {
			continue
		}
		s.handle(buf[:n], at)
	}
}

func (s *stream) handle(b []byte, at time.Time) {
	if !stun.IsMessage(b) || len(b) < 20 {
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		return
	}
	if [4]byte(m.TransactionID[0:4]) != s.tag {
		return
	}
	seq := int(binary.BigEndian.Uint32(m.TransactionID[4:8]))
	if seq < 0 || seq >= s.count || seq >= int(s.sent.Load()) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Type != stun.BindingSuccess {
		s.replyType = m.Type.String()
		return
	}
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(m); err == nil {
		if s.mapped == "" {
			s.mapped = xa.String()
		} else if xa.String() != s.mapped {
			s.remapped = true
		}
	}
	p := &s.log[seq]
	if p.Received {
		p.Dups++
		return
	}
	p.Received = true
	p.Recv = at.Sub(s.start)
	if rtt := p.Recv - p.Sent; rtt > s.maxRTT {
		s.maxRTT = rtt
	}
	if seq < s.maxSeq {
		p.Reordered = true
	} else {
		s.maxSeq = seq
	}
	s.recv.Add(1)
}

// packets returns the log of the packets sent, for quality.Analyze. Call
// after runStreams returned.
func (s *stream) packets() []quality.Packet { return s.log[:s.sent.Load()] }

// pacerSlots is how many send times one interval is split into when
// many streams run: streams share a slot round-robin, so 200 streams
// make 1,000 wake-ups a second of 10 sends each instead of 10,000 single
// ones. A slot's 10 sends take ~50 µs, well inside the timing target,
// and the wake-ups are what a loaded machine delays.
const pacerSlots = 20

// runStreams runs the streams together on one pacer goroutine: each
// stream on its own schedule (packet i due at its start + i·interval),
// the starts staggered across one interval in pacerSlots slots so many
// streams do not send in one burst. Then it waits for the last replies
// (the drain) and stops the readers (the sockets stay open: the caller
// closes them). With abortSilent, a run where no stream got any reply
// within mediaSilenceAbort stops early. All streams must share one
// interval.
func runStreams(ctx context.Context, streams []*stream, abortSilent bool) {
	if len(streams) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var readers sync.WaitGroup
	interval := streams[0].interval
	slots := min(len(streams), pacerSlots)
	tick := interval / time.Duration(slots)
	origin := time.Now().Add(mediaStartLead)
	bySlot := make([][]*stream, slots)
	for i, s := range streams {
		slot := i % slots
		bySlot[slot] = append(bySlot[slot], s)
		s.start = origin.Add(time.Duration(slot) * tick)
		s.conn.SetReadDeadline(time.Time{})
		readers.Add(1)
		go func() { defer readers.Done(); s.read() }()
	}
	sendersDone := make(chan struct{})
	go func() {
		defer close(sendersDone)
		active := len(streams)
		stopped := make(map[*stream]bool)
		for k := 0; active > 0; k++ {
			due := origin.Add(time.Duration(k) * tick)
			pace.SleepUntil(due)
			if ctx.Err() != nil {
				return
			}
			for _, s := range bySlot[k%slots] {
				if !stopped[s] && !s.send(k/slots, due) {
					stopped[s] = true
					active--
				}
			}
		}
	}()
	if abortSilent {
		t := time.NewTimer(mediaSilenceAbort)
		select {
		case <-t.C:
			if totalRecv(streams) == 0 {
				cancel()
			}
		case <-sendersDone:
		}
		t.Stop()
	}
	<-sendersDone

	// Drain: wait for outstanding replies, at most twice the slowest
	// round trip seen (within bounds), polling so a complete run ends
	// at once.
	var maxRTT time.Duration
	for _, s := range streams {
		s.mu.Lock()
		maxRTT = max(maxRTT, s.maxRTT)
		s.mu.Unlock()
	}
	drain := min(max(2*maxRTT, mediaDrainMin), mediaDrainMax)
	if totalRecv(streams) == 0 {
		drain = mediaDrainMin
	}
	deadline := time.Now().Add(drain)
	for time.Now().Before(deadline) && ctx.Err() == nil && !complete(streams) {
		time.Sleep(2 * time.Millisecond)
	}
	for _, s := range streams {
		s.conn.SetReadDeadline(time.Now())
	}
	readers.Wait()
}

func totalRecv(streams []*stream) int64 {
	var n int64
	for _, s := range streams {
		n += s.recv.Load()
	}
	return n
}

// complete: every packet sent has been answered.
func complete(streams []*stream) bool {
	for _, s := range streams {
		if s.recv.Load() < s.sent.Load() {
			return false
		}
	}
	return true
}

// mediaSetupBudget is the time before the stream starts: the name lookup
// (shared with dns.resolve, usually already answered) and the socket.
const mediaSetupBudget = time.Second
