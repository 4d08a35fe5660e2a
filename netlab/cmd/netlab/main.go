//go:build linux

// Command netlab runs the project's network lab (package netlab): `up`
// starts it for a person (make lab), `fault` switches faults of a running
// lab, and labd, bridge, echo and ping are the helpers that run inside the
// lab's namespaces.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ccp-preflight/ccp-preflight/netlab"
	"github.com/ccp-preflight/ccp-preflight/netlab/bridge"
	"golang.org/x/sys/unix"
)

const usage = `Usage: netlab COMMAND [flags]

  up     [-name N] [-dir DIR] [-bridged [-ab SPEC] [-ba SPEC]] [-bin CCP_PREFLIGHT]
         start the lab, print how to use it, tear it down on Ctrl-C
  fault  [-dir DIR] on|off NAME [ARG]   switch a fault of a running lab
  labd   -dir DIR                       DNS + HTTPS of the cloud (inside the lab)
  bridge -a IF -b IF [-conf F] [-ab SPEC] [-ba SPEC]   impairment bridge (inside wan)
  echo   -listen ADDR                   UDP echo server
  ping   -to ADDR [-count N] [-interval D] [-size B]   paced UDP round trips, JSON stats
  stun   -to ADDR [-also ADDR] [-size B]   STUN Binding(s) from one socket, JSON
  dns    -server ADDR NAME                 an A query, JSON
  tls    -addr ADDR -sni NAME -ca FILE     a verified TLS handshake, JSON
  wsproxy -listen ADDR -mode idle|strip [-idle D] [-cert F -key F -ca F] [-resolver ADDR]
                                           CONNECT proxy that cuts idle tunnels or strips Upgrade
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"up": up, "fault": fault, "labd": labd, "bridge": runBridge, "echo": echo, "ping": ping,
		"stun": stunCmd, "dns": dnsCmd, "tls": tlsCmd, "wsproxy": wsproxyCmd,
	}
	f, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := f(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "netlab %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	name := fs.String("name", "ccplab", "namespace prefix")
	dir := fs.String("dir", "", "directory for the lab's files (default: a new temporary one)")
	bridged := fs.Bool("bridged", false, "join agent and cloud through the impairment bridge (no NAT)")
	ab := fs.String("ab", "none", "bridged: agent→cloud impairment, e.g. delay=80ms,jitter=10ms,every=50")
	ba := fs.String("ba", "none", "bridged: cloud→agent impairment")
	bin := fs.String("bin", "ccp-preflight", "the ccp-preflight binary to print in the instructions")
	fs.Parse(args)
	if miss := netlab.CheckHost(); miss != "" {
		return fmt.Errorf("this machine lacks: %s", miss)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "ccplab-")
		if err != nil {
			return err
		}
		*dir = d
		defer os.RemoveAll(d)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(*bin)
	if _, err := os.Stat(abs); err == nil {
		*bin = abs
	}
	// Signals first, so an interrupt during start-up still tears down.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-sigs; cancel() }()
	l, err := netlab.Start(ctx, netlab.Options{Name: *name, Dir: *dir, Helper: self, Bridged: *bridged, AB: *ab, BA: *ba})
	if err != nil {
		return err
	}
	defer l.Close()
	printHelp(l, *bin, self)
	<-ctx.Done()
	fmt.Println("\ntearing the lab down…")
	return nil
}

func printHelp(l *netlab.Lab, bin, self string) {
	mode := "routed wan (NAT fault available)"
	if l.Bridged {
		mode = "wan = impairment bridge"
	}
	fmt.Printf(`ccp-preflight network lab %q is up (%s); files in %s
  namespaces: %s (agent %s) ↔ %s ↔ %s (TURN %s and %s, HTTPS %s, DNS %s)

Run the check inside the agent namespace:
  cd %s && SSL_CERT_FILE=%s ip netns exec %s %s check --config %s --ranges %s --no-progress
  (SSL_CERT_FILE makes the lab CA this computer's system trust store, as a public CA is)

Switch a fault on and off (in another terminal):
`, l.Name, mode, l.Dir, l.Agent(), l.AgentAddr(), l.Wan(), l.Cloud(),
		netlab.TURN1, netlab.TURN2, netlab.Web, netlab.DNS, l.Dir, netlab.FileCA, l.Agent(), bin, netlab.FileConfig, netlab.FileRanges)
	for _, n := range netlab.FaultNames() {
		f := netlab.Faults[n]
		if (f.Routed && l.Bridged) || (n == "impair" && !l.Bridged) {
			continue
		}
		arg := ""
		if n == "impair" {
			arg = ` 'ab delay=80ms,jitter=10ms,every=50; ba delay=5ms'`
		}
		fmt.Printf("  %-14s %s\n      %s fault -dir %s on %s%s    # off: … off %s\n", n, f.Desc, self, l.Dir, n, arg, n)
	}
	fmt.Printf("\nWrong credentials: add --ice-servers %s. Ctrl-C here tears everything down.\n", netlab.FileBadCreds)
}

func fault(args []string) error {
	fs := flag.NewFlagSet("fault", flag.ExitOnError)
	dir := fs.String("dir", "", "the lab's directory (printed by netlab up)")
	fs.Parse(args)
	a := fs.Args()
	if *dir == "" || len(a) < 2 || (a[0] != "on" && a[0] != "off") {
		return fmt.Errorf("want: fault -dir DIR on|off NAME [ARG]; faults: %s", strings.Join(netlab.FaultNames(), ", "))
	}
	l, err := netlab.LoadState(*dir)
	if err != nil {
		return err
	}
	l.Detach()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if a[0] == "off" {
		err = l.Off(ctx, a[1])
	} else {
		err = l.On(ctx, a[1], strings.Join(a[2:], " "))
	}
	if err == nil {
		fmt.Printf("%s %s\n", a[1], a[0])
	}
	return err
}

func labd(args []string) error {
	fs := flag.NewFlagSet("labd", flag.ExitOnError)
	dir := fs.String("dir", "", "the lab's directory")
	fs.Parse(args)
	return netlab.Labd(context.Background(), *dir)
}

func runBridge(args []string) error {
	fs := flag.NewFlagSet("bridge", flag.ExitOnError)
	a := fs.String("a", "", "interface A")
	b := fs.String("b", "", "interface B")
	conf := fs.String("conf", "", `file of "ab SPEC" / "ba SPEC" lines, re-read on SIGHUP`)
	abS := fs.String("ab", "none", "A→B impairment (when no -conf)")
	baS := fs.String("ba", "none", "B→A impairment (when no -conf)")
	ready := fs.String("ready", "", "file to create once forwarding")
	seed := fs.Uint64("seed", 1, "random seed (loss, jitter, reorder)")
	statsFile := fs.String("stats", "", "on SIGUSR1, write the counters as JSON to this file")
	fs.Parse(args)
	read := func() (bridge.Impairment, bridge.Impairment, error) {
		sa, sb := *abS, *baS
		if *conf != "" {
			b, err := os.ReadFile(*conf)
			if err != nil {
				return bridge.Impairment{}, bridge.Impairment{}, err
			}
			for _, ln := range strings.Split(string(b), "\n") {
				k, v, _ := strings.Cut(strings.TrimSpace(ln), " ")
				switch k {
				case "ab":
					sa = v
				case "ba":
					sb = v
				}
			}
		}
		ia, err := bridge.Parse(sa)
		if err != nil {
			return ia, ia, err
		}
		ib, err := bridge.Parse(sb)
		return ia, ib, err
	}
	ia, ib, err := read()
	if err != nil {
		return err
	}
	br, err := bridge.Open(*a, *b, ia, ib, *seed)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt, syscall.SIGUSR1)
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	fmt.Fprintf(os.Stderr, "bridge %s↔%s: ab %v, ba %v\n", *a, *b, ia, ib)
	if *ready != "" {
		os.WriteFile(*ready, []byte("ok\n"), 0o644)
	}
	for {
		select {
		case err := <-done:
			return err
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				ia, ib, err := read()
				if err != nil {
					fmt.Fprintf(os.Stderr, "bridge: reload: %v (kept the old settings)\n", err)
					continue
				}
				br.Set("ab", ia)
				br.Set("ba", ib)
				fmt.Fprintf(os.Stderr, "bridge: now ab %v, ba %v\n", ia, ib)
			case syscall.SIGUSR1:
				sa, sb := br.Stats()
				fmt.Fprintf(os.Stderr, "bridge stats: ab %+v ba %+v\n", sa, sb)
				if *statsFile != "" {
					b, _ := json.Marshal(map[string]bridge.Stats{"ab": sa, "ba": sb})
					tmp := *statsFile + ".tmp"
					if err := os.WriteFile(tmp, b, 0o644); err == nil {
						os.Rename(tmp, *statsFile)
					}
				}
			default:
				sa, sb := br.Stats()
				fmt.Fprintf(os.Stderr, "bridge stats: ab %+v ba %+v\n", sa, sb)
				cancel()
				<-done
				return nil
			}
		}
	}
}

func echo(args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	listen := fs.String("listen", "", "UDP address to echo on")
	fs.Parse(args)
	c, err := net.ListenPacket("udp4", *listen)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	go func() { <-sigs; c.Close() }()
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return nil
		}
		c.WriteTo(buf[:n], from)
	}
}

// PingStats is ping's JSON output.
type PingStats struct {
	Sent, Received int
	LossRatio      float64 `json:"loss_ratio"`
	RTTMeanMS      float64 `json:"rtt_mean_ms"`
	RTTMinMS       float64 `json:"rtt_min_ms"`
	RTTMaxMS       float64 `json:"rtt_max_ms"`
	RTTStdMS       float64 `json:"rtt_std_ms"`
	// JitterMS is RFC 3550's interarrival jitter over the round trips
	// (J += (|D|-J)/16, D the difference of consecutive RTTs).
	JitterMS float64 `json:"jitter_ms"`
	// MeanAbsDiffMS is the mean |D| that JitterMS estimates.
	MeanAbsDiffMS float64 `json:"mean_abs_diff_ms"`
	Reordered     int     `json:"reordered"`
}

func ping(args []string) error {
	fs := flag.NewFlagSet("ping", flag.ExitOnError)
	to := fs.String("to", "", "UDP echo address")
	count := fs.Int("count", 1500, "datagrams to send")
	interval := fs.Duration("interval", 20*time.Millisecond, "send interval")
	size := fs.Int("size", 160, "datagram size (bytes)")
	wait := fs.Duration("wait", time.Second, "how long to wait for the last replies")
	fs.Parse(args)
	if *size < 16 || *count < 1 {
		return fmt.Errorf("-size must be ≥ 16 and -count ≥ 1")
	}
	ua, err := net.ResolveUDPAddr("udp4", *to)
	if err != nil {
		return err
	}
	c, err := net.DialUDP("udp4", nil, ua)
	if err != nil {
		return err
	}
	defer c.Close()
	// Receive times from the kernel (SO_TIMESTAMPNS): this process's own
	// scheduling delay is not part of the path's.
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) })
	}
	sent := make([]atomic.Int64, *count) // send times, Unix ns
	rtt := make([]float64, *count)
	for i := range rtt {
		rtt[i] = -1
	}
	reordered := 0
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		buf := make([]byte, 65536)
		oob := make([]byte, 128)
		last := -1
		for {
			n, oobn, _, _, err := c.ReadMsgUDP(buf, oob)
			if err != nil {
				return
			}
			now := time.Now()
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range msgs {
					if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
						ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
						now = time.Unix(ts.Sec, ts.Nsec)
					}
				}
			}
			if n < 8 {
				continue
			}
			i := int(uint64(buf[0])<<24 | uint64(buf[1])<<16 | uint64(buf[2])<<8 | uint64(buf[3]))
			if i < 0 || i >= len(rtt) || rtt[i] >= 0 {
				continue
			}
			rtt[i] = float64(now.UnixNano()-sent[i].Load()) / float64(time.Millisecond)
			if i < last {
				reordered++
			} else {
				last = i
			}
		}
	}()
	// Send each datagram at its time (nanosleep for precision).
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		payload := make([]byte, *size)
		start := time.Now()
		for i := 0; i < *count; i++ {
			if d := time.Until(start.Add(time.Duration(i) * *interval)); d > 0 {
				ts := unix.NsecToTimespec(int64(d))
				unix.Nanosleep(&ts, nil)
			}
			payload[0], payload[1], payload[2], payload[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
			sent[i].Store(time.Now().UnixNano())
			c.Write(payload)
		}
	}()
	<-sendDone
	time.Sleep(*wait)
	c.Close()
	<-recvDone
	st := PingStats{Sent: *count, RTTMinMS: math.Inf(1), Reordered: reordered}
	var sum, sumsq, j, absd float64
	var nd int
	prev := -1.0
	for _, r := range rtt {
		if r < 0 {
			continue
		}
		st.Received++
		sum += r
		sumsq += r * r
		st.RTTMinMS = math.Min(st.RTTMinMS, r)
		st.RTTMaxMS = math.Max(st.RTTMaxMS, r)
		if prev >= 0 {
			d := math.Abs(r - prev)
			j += (d - j) / 16
			absd += d
			nd++
		}
		prev = r
	}
	if st.Received > 0 {
		n := float64(st.Received)
		st.RTTMeanMS = sum / n
		st.RTTStdMS = math.Sqrt(math.Max(0, sumsq/n-st.RTTMeanMS*st.RTTMeanMS))
	} else {
		st.RTTMinMS = 0
	}
	if nd > 0 {
		st.MeanAbsDiffMS = absd / float64(nd)
	}
	st.JitterMS = j
	st.LossRatio = float64(st.Sent-st.Received) / float64(st.Sent)
	return json.NewEncoder(os.Stdout).Encode(st)
}
