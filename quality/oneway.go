package quality

import "math"

// The published jitter limits (Twilio's 30 ms, Microsoft's "< 30 ms in any
// 15 s") are RFC 3550 interarrival jitter of one RTP stream, as the
// receiving end of one direction reports it: a one-way figure. A round trip
// (media.quality: a STUN request up and its answer down; media.relay: RTP
// through the relay loop, up to TURN and down again) adds the delay
// variation of two legs. For two legs whose variations are independent and
// alike, the variance of the sum is twice one leg's, so the round-trip
// jitter is √2 times the one-way jitter (exact for normally distributed
// delay; within 3 % for uniform jitter, whose |ΔD| sums are nearly
// normal). OneWayJitterMS turns the round-trip figure into that one-way
// estimate, which is what is graded. On a path with jitter in one
// direction only, the estimate is the round-trip figure / √2 while the
// jittery direction has the whole round-trip figure: the true one-way
// value lies between the estimate and √2 times it (docs/MEDIA.md).

// RoundTripLegs is the factor between round-trip and one-way jitter on a
// symmetric path: √2.
var RoundTripLegs = math.Sqrt2

// OneWayJitterMS is the one-way jitter estimate of a round-trip jitter
// figure (both in ms): rtMS / √2. Negative, NaN or infinite input gives 0.
func OneWayJitterMS(rtMS float64) float64 {
	if !(rtMS > 0) || math.IsInf(rtMS, 1) {
		return 0
	}
	return rtMS / RoundTripLegs
}

// OneWayJitterMS is the stream's one-way jitter estimate (see the
// package-level OneWayJitterMS) over the whole run.
func (s Stats) OneWayJitterMS() float64 { return OneWayJitterMS(s.JitterMS) }

// WorstWindowOneWayJitterMS is the one-way estimate of the worst judging
// window's jitter: the value graded against the jitter limits.
func (s Stats) WorstWindowOneWayJitterMS() float64 { return OneWayJitterMS(s.WorstWindowJitter()) }
