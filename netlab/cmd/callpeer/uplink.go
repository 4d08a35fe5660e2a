//go:build linux

package main

// uplink is what the peer counts of one RTP stream it receives: RFC 3550
// §6.4.1 interarrival jitter and §A.3 loss from extended sequence numbers.
// The zero value is ready; it is not safe for concurrent use.
type uplink struct {
	started, have bool
	base, cycles  uint32
	lastSeq       uint16
	prevArr       float64 // arrival of the last in-order packet, in clock units
	prevTS        uint32
	jitter        float64 // in clock units
	received      uint64
}

// add counts one packet: its sequence number, its RTP timestamp and its
// arrival time in the same clock units as the timestamp.
//
// D(i,j) = (Rj−Ri) − (Sj−Si) takes the send interval modulo 2^32: a
// browser's first timestamp is random, and one that wraps during a call is
// a step of one frame, not of 2^32 units (differences of float64 timestamps
// read it as 24.9 hours at 48 kHz, which reported uplink jitters of tens
// of seconds). Only in-order packets count toward jitter, as libwebrtc's
// receiver does: a reordered packet would count its lateness twice.
func (u *uplink) add(seq uint16, ts uint32, arr float64) {
	inOrder := !u.started || int16(seq-u.lastSeq) > 0
	if inOrder {
		if u.have {
			d := (arr - u.prevArr) - float64(int32(ts-u.prevTS))
			if d < 0 {
				d = -d
			}
			u.jitter += (d - u.jitter) / 16
		}
		u.prevArr, u.prevTS, u.have = arr, ts, true
	}
	switch {
	case !u.started:
		u.started, u.base, u.lastSeq = true, uint32(seq), seq
	case inOrder:
		if seq < u.lastSeq {
			u.cycles += 1 << 16
		}
		u.lastSeq = seq
	}
	u.received++
}

// lost is the packets expected (from the first to the highest extended
// sequence number) less those received; duplicates make it negative.
func (u *uplink) lost() int64 {
	if !u.started {
		return 0
	}
	expected := uint64(u.cycles+uint32(u.lastSeq)-u.base) + 1
	return int64(expected) - int64(u.received)
}
