//go:build linux

// Package squid runs Debian's squid as a real forward proxy for tests:
// each instance with its own config, pid file, logs and service name in a
// directory of its own, in the foreground (-N), stopped by its PID. It
// offers no authentication, Basic (basic_ncsa_auth with a password file)
// or NTLM (squid's own test helper ntlm_fake_auth, which accepts any user
// that completes the NTLM exchange), and can refuse CONNECT to chosen
// hosts. It needs root (squid switches to its own user) and /usr/sbin/squid.
package squid

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Binary is Debian's squid; Helpers holds its authentication helpers.
const (
	Binary  = "/usr/sbin/squid"
	Helpers = "/usr/lib/squid"
)

// Authentication schemes.
const (
	AuthNone  = ""
	AuthBasic = "basic"
	AuthNTLM  = "ntlm"
)

// Options describe one squid.
type Options struct {
	// Name is squid's service name (-n): unique per instance, so two
	// squids never share shared-memory segments. Letters and digits.
	Name string
	// Dir receives squid.conf, the pid file and the logs; it is made
	// readable and writable by squid's own user.
	Dir string
	// Listen is the address squid listens on (host:port).
	Listen string
	// Auth is AuthNone, AuthBasic or AuthNTLM.
	Auth string
	// Users are Basic's users and passwords.
	Users map[string]string
	// DenyConnect lists host names CONNECT to which squid refuses (403).
	DenyConnect []string
	// Nameserver is the DNS server squid asks (dns_nameservers, port 53);
	// "" means the system's.
	Nameserver string
	// Hosts maps names to addresses squid uses before DNS (hosts_file).
	Hosts map[string]string
	// ConnectPorts are the ports CONNECT may reach (default 443 only, as
	// Debian's squid.conf has it).
	ConnectPorts []int
	// Command, when set, wraps squid's command line (to run it inside a
	// network namespace); nil runs it directly.
	Command func(name string, args ...string) *exec.Cmd
}

// Squid is a running squid.
type Squid struct {
	o   Options
	cmd *exec.Cmd
	pid int
}

// Available says what this machine lacks to run squid ("" when nothing).
func Available() string {
	if os.Geteuid() != 0 {
		return "root (squid switches to its own user)"
	}
	if _, err := os.Stat(Binary); err != nil {
		return "squid (apt-get install squid)"
	}
	return ""
}

// Start writes the config and starts squid, returning once it listens
// (polled by connecting to Listen, via probe when given: inside a
// namespace the caller's process cannot connect).
func Start(ctx context.Context, o Options, listening func(ctx context.Context) bool) (*Squid, error) {
	if o.Name == "" || strings.ContainsAny(o.Name, "/ .") {
		return nil, fmt.Errorf("squid: bad name %q", o.Name)
	}
	if err := os.MkdirAll(o.Dir, 0o777); err != nil {
		return nil, err
	}
	// squid runs as its own user ("proxy"): it must reach and write Dir.
	for d := o.Dir; d != "/" && d != "." && d != ""; d = filepath.Dir(d) {
		if d == o.Dir {
			_ = os.Chmod(d, 0o777)
		} else if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o011 != 0o011 && strings.HasPrefix(d, os.TempDir()) {
			_ = os.Chmod(d, st.Mode().Perm()|0o011)
		}
	}
	conf, err := o.config()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "squid.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-N", "-f", filepath.Join(o.Dir, "squid.conf"), "-n", o.Name}
	var cmd *exec.Cmd
	if o.Command != nil {
		cmd = o.Command(Binary, args...)
	} else {
		cmd = exec.Command(Binary, args...)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
	logf, err := os.Create(filepath.Join(o.Dir, "squid.out"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("squid: %w", err)
	}
	s := &Squid{o: o, cmd: cmd, pid: cmd.Process.Pid}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	if listening == nil {
		listening = func(ctx context.Context) bool {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", o.Listen)
			if err == nil {
				c.Close()
			}
			return err == nil
		}
	}
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("squid exited at start: %s", s.Log())
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("squid did not listen on %s in time: %s", o.Listen, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		ok := listening(pctx)
		cancel()
		if ok {
			return s, nil
		}
	}
}

// config is squid.conf for o.
func (o Options) config() (string, error) {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# squid for ccp-preflight's tests (internal/squid)")
	w("http_port %s", o.Listen)
	w("pid_filename %s", filepath.Join(o.Dir, "squid.pid"))
	w("cache_log %s", filepath.Join(o.Dir, "cache.log"))
	w("access_log stdio:%s", filepath.Join(o.Dir, "access.log"))
	w("coredump_dir %s", o.Dir)
	w("cache deny all")
	w("cache_mem 8 MB")
	w("netdb_filename none")
	w("pinger_enable off")
	w("shutdown_lifetime 0 seconds")
	w("forwarded_for delete")
	if o.Nameserver != "" {
		w("dns_nameservers %s", o.Nameserver)
	}
	if len(o.Hosts) > 0 {
		var lines []string
		for n, a := range o.Hosts {
			lines = append(lines, a+" "+n)
		}
		sort.Strings(lines)
		hf := filepath.Join(o.Dir, "hosts")
		if err := os.WriteFile(hf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return "", err
		}
		w("hosts_file %s", hf)
	}
	ports := "443"
	if len(o.ConnectPorts) > 0 {
		var ps []string
		for _, p := range o.ConnectPorts {
			ps = append(ps, fmt.Sprint(p))
		}
		ports = strings.Join(ps, " ")
	}
	w("acl SSL_ports port %s", ports)
	w("http_access deny CONNECT !SSL_ports")
	if len(o.DenyConnect) > 0 {
		w("acl refused dstdomain %s", strings.Join(o.DenyConnect, " "))
		w("http_access deny CONNECT refused")
	}
	switch o.Auth {
	case AuthNone:
		w("http_access allow all")
		return b.String(), nil
	case AuthBasic:
		if len(o.Users) == 0 {
			return "", errors.New("squid: Basic needs Users")
		}
		pw := filepath.Join(o.Dir, "passwd")
		var lines []string
		for u, p := range o.Users {
			sum := md5.Sum([]byte(p)) // basic_ncsa_auth accepts a plain MD5 hex digest
			lines = append(lines, u+":"+hex.EncodeToString(sum[:]))
		}
		sort.Strings(lines)
		if err := os.WriteFile(pw, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return "", err
		}
		w("auth_param basic program %s/basic_ncsa_auth %s", Helpers, pw)
		w("auth_param basic children 2")
		w("auth_param basic realm ccp-preflight test proxy")
	case AuthNTLM:
		w("auth_param ntlm program %s/ntlm_fake_auth", Helpers)
		w("auth_param ntlm children 2")
	default:
		return "", fmt.Errorf("squid: unknown auth %q", o.Auth)
	}
	w("acl authed proxy_auth REQUIRED")
	w("http_access allow authed")
	w("http_access deny all")
	return b.String(), nil
}

// Stop ends squid by its PID (SIGTERM, then SIGKILL of its process group).
func (s *Squid) Stop() {
	if s == nil || s.pid <= 0 {
		return
	}
	_ = syscall.Kill(s.pid, syscall.SIGTERM)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(s.pid, 0) != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-s.pid, syscall.SIGKILL)
	s.pid = 0
}

// AccessLog returns squid's access log (one line per request).
func (s *Squid) AccessLog() string {
	b, _ := os.ReadFile(filepath.Join(s.o.Dir, "access.log"))
	return string(b)
}

// Log returns the end of squid's logs, for a failed test.
func (s *Squid) Log() string {
	var out []string
	for _, f := range []string{"squid.out", "cache.log"} {
		b, _ := os.ReadFile(filepath.Join(s.o.Dir, f))
		t := strings.TrimSpace(string(b))
		if len(t) > 800 {
			t = "…" + t[len(t)-800:]
		}
		if t != "" {
			out = append(out, f+": "+t)
		}
	}
	return strings.Join(out, " | ")
}

// Addr is the address squid listens on.
func (s *Squid) Addr() string { return s.o.Listen }
