//go:build linux

// Package netlab builds the project's network lab: three network
// namespaces, agent ↔ wan ↔ cloud, joined by veth pairs with addresses only
// inside them (10.99.1.0/24 and 203.0.113.0/24). The cloud runs coturn (two TURN servers, UDP
// 3478 with a long-term credential and TURN over TLS on 5349), and the lab
// daemon (labd: a DNS server and HTTPS endpoints with a CA made for the
// lab). The wan either routes (and can NAT) or, with Bridged, joins agent
// and cloud through the impairment bridge (delay, jitter, loss, reorder,
// rate). Faults are nftables rule sets and labd modes switched on and off
// by name (faults.go).
//
// Unlike lab (in-process loopback servers for `check --lab` and tests),
// netlab is root-only network namespaces with real coturn and an
// impairment bridge, running the built binary as a user does (docs/LAB.md).
//
// Everything the lab starts is stopped by PID and every namespace it adds
// is deleted by name in Close, which is also run by CloseAll on an
// interrupt. It needs root, ip (iproute2), nft and /usr/bin/turnserver.
package netlab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/safefile"
	"github.com/ccp-preflight/ccp-preflight/netlab/bridge"
)

// Addresses inside the lab. Every lab uses the same ones: each lab's
// namespaces are separate, so two labs never see each other. The agent's
// LAN is private (10.99.1.0/24, as behind an office NAT); the cloud uses
// TEST-NET-3 (203.0.113.0/24, RFC 5737: documentation only, routed
// nowhere), so the cloud's names resolve to public-looking addresses as
// AWS's do — a private answer for an AWS name is itself a finding of
// dns.resolve (split-horizon DNS or a hijack).
const (
	AgentRouted  = "10.99.1.2"    // agent, routed mode (wan is 10.99.1.1)
	WanAgentSide = "10.99.1.1"    // wan's address towards the agent
	WanCloudSide = "203.0.113.1"  // wan's address towards the cloud (the NAT's public address)
	AgentBridged = "203.0.113.2"  // agent, bridged mode (same subnet as cloud)
	TURN1        = "203.0.113.10" // coturn #1
	TURN2        = "203.0.113.11" // coturn #2 (a second address: nat.mapping)
	Web          = "203.0.113.20" // HTTPS endpoints (labd)
	Hijacked     = "203.0.113.22" // HTTPS too, but outside the lab's published ranges
	Signal       = "203.0.113.21" // the CCP v2 signaling WebSocket host (labd; netlab/signaling.go)
	DNS          = "203.0.113.53" // labd's DNS server
)

// Interface names (each lives only inside its namespace, so they are fixed).
const (
	IfAgent     = "veth-agent" // in agent, towards wan
	IfWanAgent  = "veth-wa"    // in wan, towards agent
	IfWanCloud  = "veth-wc"    // in wan, towards cloud
	IfCloud     = "veth-cloud" // in cloud, towards wan
	Realm       = "lab.test"
	TURNUser    = "ccplab-user" // not a substring of any name: reports redact it
	TURNPort    = 3478
	TURNTLSPort = 5349
)

// Names the lab's DNS answers (labd) and the lab config targets.
var (
	TURNNames = []string{"turn1.lab.test", "turn2.lab.test"}
	WebNames  = []string{"connect.lab.test", "static.lab.test", V1Name}
)

// Budgets: the lab must come up, and go away, in bounded time.
const (
	// startBudget bounds bringing up namespaces and services; coturn
	// listens in well under a second, labd at once.
	startBudget = 15 * time.Second
	// stopGrace is how long a process gets after SIGTERM before SIGKILL;
	// coturn takes about a second to exit.
	stopGrace = 3 * time.Second
	// cmdBudget bounds each ip/nft command.
	cmdBudget = 10 * time.Second
)

// Options describe a lab.
type Options struct {
	// Name prefixes the namespaces: Name-agent, Name-wan, Name-cloud.
	Name string
	// Dir receives the lab's files (configs, certificates, pidfiles, logs).
	Dir string
	// Helper is the netlab helper binary (netlab/cmd/netlab): it runs labd
	// and the bridge inside the namespaces.
	Helper string
	// Bridged joins agent and cloud through the impairment bridge in wan
	// (one subnet) instead of routing; AB is agent→cloud, BA cloud→agent,
	// in bridge.Parse syntax.
	Bridged bool
	AB, BA  string
	// NoServices starts neither coturn nor labd (bridge accuracy tests).
	NoServices bool
	// NoTURN2 starts only the first coturn (fewer processes when a scenario
	// does not need nat.mapping).
	NoTURN2 bool
}

// Lab is a running lab. Its exported fields are saved to Dir/state.json
// so `netlab fault` can switch faults of a lab another process runs.
type Lab struct {
	Name    string            `json:"name"`
	Dir     string            `json:"dir"`
	Bridged bool              `json:"bridged"`
	NS      map[string]string `json:"namespaces"` // role → namespace name
	PIDs    map[string]int    `json:"pids"`       // process role → PID
	Helper  string            `json:"helper"`

	mu       sync.Mutex
	procs    map[string]*exec.Cmd
	closed   bool
	detached bool
}

// Detach makes processes this Lab value starts outlive this process (for
// `netlab fault`, which restarts coturn for the lab `netlab up` runs).
func (l *Lab) Detach() {
	l.mu.Lock()
	l.detached = true
	if l.procs == nil {
		l.procs = map[string]*exec.Cmd{}
	}
	l.mu.Unlock()
}

// Agent, Wan and Cloud are the namespace names.
func (l *Lab) Agent() string { return l.NS["agent"] }
func (l *Lab) Wan() string   { return l.NS["wan"] }
func (l *Lab) Cloud() string { return l.NS["cloud"] }

// AgentAddr is the agent's address.
func (l *Lab) AgentAddr() string {
	if l.Bridged {
		return AgentBridged
	}
	return AgentRouted
}

// File is the path of one of the lab's files (lab.yaml, lab-ranges.json,
// creds.json, lab-ca.pem…).
func (l *Lab) File(name string) string { return filepath.Join(l.Dir, name) }

var (
	liveMu sync.Mutex
	live   = map[*Lab]bool{}
)

// CloseAll tears down every lab of this process: for signal handlers.
func CloseAll() {
	liveMu.Lock()
	var ls []*Lab
	for l := range live {
		ls = append(ls, l)
	}
	liveMu.Unlock()
	for _, l := range ls {
		l.Close()
	}
}

// CheckHost says what this machine lacks to run a lab ("" when nothing):
// root, ip, nft, turnserver.
func CheckHost() string {
	var miss []string
	if os.Geteuid() != 0 {
		miss = append(miss, "root (network namespaces and nftables need it)")
	}
	for _, c := range []string{"ip", "nft", "turnserver"} {
		if _, err := exec.LookPath(c); err != nil {
			if c == "turnserver" {
				if _, err := os.Stat("/usr/bin/turnserver"); err == nil {
					continue
				}
			}
			miss = append(miss, c+" (apt-get install iproute2 nftables coturn)")
		}
	}
	return strings.Join(miss, ", ")
}

// Start builds and starts a lab; on any error it tears down what it made.
func Start(ctx context.Context, o Options) (*Lab, error) {
	if o.Name == "" || len(o.Name) > 40 || strings.ContainsAny(o.Name, "/ ") {
		return nil, fmt.Errorf("netlab: bad lab name %q", o.Name)
	}
	if o.Dir == "" || o.Helper == "" {
		return nil, errors.New("netlab: Options.Dir and Options.Helper are required")
	}
	ctx, cancel := context.WithTimeout(ctx, startBudget)
	defer cancel()
	l := &Lab{
		Name: o.Name, Dir: o.Dir, Bridged: o.Bridged, Helper: o.Helper,
		NS:    map[string]string{"agent": o.Name + "-agent", "wan": o.Name + "-wan", "cloud": o.Name + "-cloud"},
		PIDs:  map[string]int{},
		procs: map[string]*exec.Cmd{},
	}
	liveMu.Lock()
	live[l] = true
	liveMu.Unlock()
	if err := l.start(ctx, o); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) start(ctx context.Context, o Options) error {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	// A namespace left by an earlier run that was killed hard would make
	// `ip netns add` fail: remove ours by name first.
	for _, role := range []string{"agent", "wan", "cloud"} {
		_ = run(ctx, "ip", "netns", "del", l.NS[role])
	}
	for _, role := range []string{"agent", "wan", "cloud"} {
		if err := run(ctx, "ip", "netns", "add", l.NS[role]); err != nil {
			return err
		}
	}
	a, w, c := l.Agent(), l.Wan(), l.Cloud()
	steps := [][]string{
		{"ip", "-n", a, "link", "add", IfAgent, "type", "veth", "peer", "name", IfWanAgent, "netns", w},
		{"ip", "-n", c, "link", "add", IfCloud, "type", "veth", "peer", "name", IfWanCloud, "netns", w},
		{"ip", "-n", a, "link", "set", "lo", "up"},
		{"ip", "-n", w, "link", "set", "lo", "up"},
		{"ip", "-n", c, "link", "set", "lo", "up"},
		{"ip", "-n", a, "link", "set", IfAgent, "up"},
		{"ip", "-n", w, "link", "set", IfWanAgent, "up"},
		{"ip", "-n", w, "link", "set", IfWanCloud, "up"},
		{"ip", "-n", c, "link", "set", IfCloud, "up"},
	}
	for _, ip := range []string{TURN1, TURN2, Web, Signal, Hijacked, DNS} {
		steps = append(steps, []string{"ip", "-n", c, "addr", "add", ip + "/24", "dev", IfCloud})
	}
	if l.Bridged {
		steps = append(steps,
			[]string{"ip", "-n", a, "addr", "add", AgentBridged + "/24", "dev", IfAgent},
			// The bridge passes frames addressed to the far end's MAC.
			[]string{"ip", "-n", w, "link", "set", IfWanAgent, "promisc", "on"},
			[]string{"ip", "-n", w, "link", "set", IfWanCloud, "promisc", "on"},
		)
	} else {
		steps = append(steps,
			[]string{"ip", "-n", a, "addr", "add", AgentRouted + "/24", "dev", IfAgent},
			[]string{"ip", "-n", a, "route", "add", "default", "via", WanAgentSide},
			[]string{"ip", "-n", w, "addr", "add", WanAgentSide + "/24", "dev", IfWanAgent},
			[]string{"ip", "-n", w, "addr", "add", WanCloudSide + "/24", "dev", IfWanCloud},
			[]string{"ip", "-n", c, "route", "add", "default", "via", WanCloudSide},
			[]string{"ip", "netns", "exec", w, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		)
	}
	for _, s := range steps {
		if err := run(ctx, s...); err != nil {
			return err
		}
	}
	if err := writeFiles(l); err != nil {
		return err
	}
	if l.Bridged {
		if err := l.startBridge(ctx, o.AB, o.BA); err != nil {
			return err
		}
	}
	if o.NoServices {
		return l.save()
	}
	if err := l.startLabd(ctx); err != nil {
		return err
	}
	turns := []string{TURN1, TURN2}
	if o.NoTURN2 {
		turns = turns[:1]
	}
	for i, ip := range turns {
		if err := l.startTURN(ctx, i+1, ip); err != nil {
			return err
		}
	}
	for i, ip := range turns {
		if err := l.waitListen(ctx, fmt.Sprintf("turn%d", i+1), "-lun", ip+":3478"); err != nil {
			return err
		}
	}
	return l.save()
}

// save writes state.json for `netlab fault`.
func (l *Lab) save() error {
	l.mu.Lock()
	b, err := json.MarshalIndent(l, "", "  ")
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(l.File("state.json"), b, 0o644)
}

// LoadState reads a running lab's state.json (for `netlab fault`).
func LoadState(dir string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("netlab: no running lab in %s: %w", dir, err)
	}
	l := &Lab{}
	if err := json.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("netlab: %s/state.json: %w", dir, err)
	}
	return l, nil
}

// InNS returns a command running name args inside namespace ns, killed
// with this process (Pdeathsig) so nothing outlives a crashed test.
func InNS(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.WaitDelay = stopGrace
	return cmd
}

// spawn starts a long-running process in a namespace, logging to Dir/role.log.
func (l *Lab) spawn(role, ns string, name string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(l.File(role + ".log"))
	if err != nil {
		return nil, err
	}
	// Not tied to a context: Close stops it by PID.
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if l.detached {
		cmd.SysProcAttr.Pdeathsig = 0
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("netlab: start %s: %w", role, err)
	}
	logf.Close()
	l.mu.Lock()
	l.procs[role] = cmd
	l.PIDs[role] = cmd.Process.Pid
	l.mu.Unlock()
	go cmd.Wait() // reap; Close waits on the PID's exit via signal 0
	return cmd, nil
}

func (l *Lab) startTURN(ctx context.Context, n int, ip string) error {
	role := fmt.Sprintf("turn%d", n)
	minPort := 49152 + (n-1)*1000
	_, err := l.spawn(role, l.Cloud(), turnserverPath(),
		"-n", "--listening-ip="+ip, "--relay-ip="+ip,
		fmt.Sprintf("--listening-port=%d", TURNPort), fmt.Sprintf("--tls-listening-port=%d", TURNTLSPort),
		"--cert="+l.File("turn.pem"), "--pkey="+l.File("turn.key"),
		fmt.Sprintf("--min-port=%d", minPort), fmt.Sprintf("--max-port=%d", minPort+999),
		"--user="+TURNUser+":"+l.turnPassword(), "--realm="+Realm, "--lt-cred-mech", "--fingerprint",
		"--no-dtls", "--no-cli", "--no-multicast-peers",
		"--pidfile="+l.File(role+".pid"), "--log-file=stdout", "--simple-log",
		"--userdb="+l.File(role+".db"))
	return err
}

func turnserverPath() string {
	if p, err := exec.LookPath("turnserver"); err == nil {
		return p
	}
	return "/usr/bin/turnserver"
}

// StopTURN stops coturn #n (1 or 2) by its PID: "a TURN server that is down".
func (l *Lab) StopTURN(n int) error { return l.stop(fmt.Sprintf("turn%d", n)) }

func (l *Lab) startLabd(ctx context.Context) error {
	if _, err := l.spawn("labd", l.Cloud(), l.Helper, "labd", "-dir", l.Dir); err != nil {
		return err
	}
	return l.waitFile(ctx, "labd", l.File("labd.ready"))
}

func (l *Lab) startBridge(ctx context.Context, ab, ba string) error {
	if err := safefile.Replace(l.File("bridge.conf"), []byte("ab "+orNone(ab)+"\nba "+orNone(ba)+"\n"), 0o644, false); err != nil {
		return err
	}
	name, args := AheadOfLoad(l.Helper, "bridge")
	if _, err := l.spawn("bridge", l.Wan(), name, append(args, "-a", IfWanAgent, "-b", IfWanCloud,
		"-conf", l.File("bridge.conf"), "-ready", l.File("bridge.ready"), "-stats", l.File("bridge-stats.json"))...); err != nil {
		return err
	}
	return l.waitFile(ctx, "bridge", l.File("bridge.ready"))
}

// rtNice is the niceness of the lab's timing-critical processes (the
// bridge; the tests' probes of its accuracy): on a shared 2-core machine
// other load would otherwise add milliseconds of scheduling delay to the
// delays the bridge injects. A high CFS weight, not real-time scheduling:
// a busy lab process can never freeze the machine.
const rtNice = "-15"

// AheadOfLoad returns name and args prefixed with nice so the command is
// scheduled ahead of ordinary load, or unchanged when that is impossible.
func AheadOfLoad(name string, args ...string) (string, []string) {
	nice, err := exec.LookPath("nice")
	if err != nil || os.Geteuid() != 0 {
		return name, args
	}
	return nice, append([]string{"-n", rtNice, name}, args...)
}

// BridgeStats asks the bridge for its counters (SIGUSR1) and returns the
// agent→cloud and cloud→agent statistics.
func (l *Lab) BridgeStats(ctx context.Context) (ab, ba bridge.Stats, err error) {
	path := l.File("bridge-stats.json")
	os.Remove(path)
	if err := l.Signal("bridge", syscall.SIGUSR1); err != nil {
		return ab, ba, err
	}
	ctx, cancel := context.WithTimeout(ctx, cmdBudget)
	defer cancel()
	for {
		if b, err := os.ReadFile(path); err == nil {
			var m map[string]bridge.Stats
			if err := json.Unmarshal(b, &m); err != nil {
				return ab, ba, fmt.Errorf("netlab: %s: %w", path, err)
			}
			return m["ab"], m["ba"], nil
		}
		select {
		case <-ctx.Done():
			return ab, ba, fmt.Errorf("netlab: the bridge wrote no statistics: %s", l.logTail("bridge"))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// waitFile waits for a helper to create its ready file, or to die.
func (l *Lab) waitFile(ctx context.Context, role, path string) error {
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if !l.alive(role) {
			return fmt.Errorf("netlab: %s exited at start: %s", role, l.logTail(role))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("netlab: %s not ready in time: %s", role, l.logTail(role))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitListen polls ss in the cloud until role listens on addr.
func (l *Lab) waitListen(ctx context.Context, role, flags, addr string) error {
	for {
		out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", l.Cloud(), "ss", "-H", flags).Output()
		if strings.Contains(string(out), addr) {
			return nil
		}
		if !l.alive(role) {
			return fmt.Errorf("netlab: %s exited at start: %s", role, l.logTail(role))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("netlab: %s not listening on %s in time: %s", role, addr, l.logTail(role))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (l *Lab) alive(role string) bool {
	l.mu.Lock()
	pid := l.PIDs[role]
	l.mu.Unlock()
	return pid > 0 && syscall.Kill(pid, 0) == nil && !zombie(pid)
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

func (l *Lab) logTail(role string) string {
	b, _ := os.ReadFile(l.File(role + ".log"))
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	if s == "" {
		return "(no output)"
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

// stop ends one process by its PID: SIGTERM, then SIGKILL after stopGrace.
func (l *Lab) stop(role string) error {
	l.mu.Lock()
	pid := l.PIDs[role]
	delete(l.PIDs, role)
	l.mu.Unlock()
	if pid <= 0 {
		return fmt.Errorf("netlab: no %s process", role)
	}
	return stopPID(pid)
}

func stopPID(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	deadline := time.Now().Add(stopGrace)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil || zombie(pid) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return nil
}

// Signal sends sig to a lab process by role (e.g. SIGHUP to labd to reload).
func (l *Lab) Signal(role string, sig syscall.Signal) error {
	l.mu.Lock()
	pid := l.PIDs[role]
	l.mu.Unlock()
	if pid <= 0 {
		return fmt.Errorf("netlab: no %s process in lab %s", role, l.Name)
	}
	return syscall.Kill(pid, sig)
}

// Close stops every process by PID (in parallel) and deletes the lab's
// namespaces by name. Safe to call more than once and from a signal handler.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	pids := map[string]int{}
	for k, v := range l.PIDs {
		pids[k] = v
	}
	// `netlab fault` may have restarted a process: its PID is in state.json.
	if saved, err := LoadState(l.Dir); err == nil && saved.Name == l.Name {
		for k, v := range saved.PIDs {
			if _, ok := pids[k]; !ok || k == "turn1" || k == "turn2" {
				pids[k+"@saved"] = v
			}
		}
	}
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, pid := range pids {
		wg.Add(1)
		go func() { defer wg.Done(); stopPID(pid) }()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), cmdBudget)
	defer cancel()
	for _, role := range []string{"agent", "wan", "cloud"} {
		if ns := l.NS[role]; ns != "" {
			_ = run(ctx, "ip", "netns", "del", ns)
		}
	}
	os.Remove(l.File("state.json"))
	liveMu.Lock()
	delete(live, l)
	liveMu.Unlock()
}

// run runs a command to completion, with its output in the error.
func run(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdBudget)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netlab: %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Nft loads an nftables rule set (nft -f syntax) inside namespace ns.
func Nft(ctx context.Context, ns, ruleset string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("netlab: nft in %s: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// lines reads a small key-value file of "key value" lines.
func lines(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if k != "" && !strings.HasPrefix(k, "#") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m, sc.Err()
}
