package bridge

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Impairment is what one direction of the bridge does to frames.
// The zero value forwards every frame at once.
type Impairment struct {
	// Delay is added to every frame; Jitter spreads it uniformly over
	// [Delay-Jitter, Delay+Jitter] (clamped at zero).
	Delay, Jitter time.Duration
	// Loss is the probability in [0,1] that a frame is dropped at random.
	Loss float64
	// LossEvery, when > 0, drops exactly every LossEvery-th frame of each
	// flow (IPv4 5-tuple; other frames share one flow): deterministic loss,
	// e.g. 50 for exactly 2%. It replaces Loss.
	LossEvery int
	// Reorder is the probability that a frame is held ReorderGap longer
	// than its delay, so that frames sent after it overtake it.
	Reorder    float64
	ReorderGap time.Duration
	// RateBPS, when > 0, limits the direction to this many bits per second
	// (frames queue behind each other; QueueLimit frames at most).
	RateBPS int64
}

// DefaultReorderGap is how much longer a reordered frame is held: two
// media packet intervals (20 ms each), so the next packet overtakes it.
const DefaultReorderGap = 40 * time.Millisecond

// QueueLimit bounds the frames held per direction (a tail-drop queue), so a
// slow rate limit cannot grow memory without end.
const QueueLimit = 4096

// String is the impairment in the syntax Parse reads.
func (im Impairment) String() string {
	var p []string
	if im.Delay > 0 {
		p = append(p, "delay="+im.Delay.String())
	}
	if im.Jitter > 0 {
		p = append(p, "jitter="+im.Jitter.String())
	}
	if im.LossEvery > 0 {
		p = append(p, "every="+strconv.Itoa(im.LossEvery))
	} else if im.Loss > 0 {
		p = append(p, "loss="+strconv.FormatFloat(im.Loss, 'g', -1, 64))
	}
	if im.Reorder > 0 {
		p = append(p, "reorder="+strconv.FormatFloat(im.Reorder, 'g', -1, 64))
		if im.ReorderGap > 0 && im.ReorderGap != DefaultReorderGap {
			p = append(p, "gap="+im.ReorderGap.String())
		}
	}
	if im.RateBPS > 0 {
		p = append(p, "rate="+strconv.FormatInt(im.RateBPS, 10))
	}
	if len(p) == 0 {
		return "none"
	}
	return strings.Join(p, ",")
}

// Parse reads an impairment such as "delay=80ms,jitter=10ms,every=50",
// "loss=0.02,reorder=0.01,rate=2000000" or "none". Keys: delay, jitter,
// loss (0..1), every (deterministic loss, N>=2), reorder (0..1), gap, rate
// (bits/s, with optional k/m suffix).
func Parse(s string) (Impairment, error) {
	var im Impairment
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return im, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return im, fmt.Errorf("impairment %q: %q is not key=value", s, kv)
		}
		var err error
		switch k {
		case "delay":
			im.Delay, err = nonNegDur(v)
		case "jitter":
			im.Jitter, err = nonNegDur(v)
		case "gap":
			im.ReorderGap, err = nonNegDur(v)
		case "loss":
			im.Loss, err = ratio(v)
		case "reorder":
			im.Reorder, err = ratio(v)
		case "every":
			im.LossEvery, err = strconv.Atoi(v)
			if err == nil && im.LossEvery < 2 {
				err = fmt.Errorf("want 2 or more")
			}
		case "rate":
			im.RateBPS, err = rate(v)
		default:
			return im, fmt.Errorf("impairment %q: unknown key %q (want delay, jitter, loss, every, reorder, gap, rate)", s, k)
		}
		if err != nil {
			return im, fmt.Errorf("impairment %q: %s=%s: %v", s, k, v, err)
		}
	}
	if im.Reorder > 0 && im.ReorderGap == 0 {
		im.ReorderGap = DefaultReorderGap
	}
	return im, nil
}

func nonNegDur(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Minute {
		return 0, fmt.Errorf("want a duration between 0 and 1m")
	}
	return d, nil
}

func ratio(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("want a number between 0 and 1")
	}
	return f, nil
}

func rate(v string) (int64, error) {
	mul := int64(1)
	switch {
	case strings.HasSuffix(v, "k"):
		mul, v = 1000, strings.TrimSuffix(v, "k")
	case strings.HasSuffix(v, "m"):
		mul, v = 1000_000, strings.TrimSuffix(v, "m")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want bits per second, e.g. 2m")
	}
	return n * mul, nil
}
