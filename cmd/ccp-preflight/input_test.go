//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCLIHelperProcess is not a test: child processes of the tests below
// run the command line in it (CCP_PREFLIGHT_TEST_CLI=1, arguments after
// "--"), so a hang or a runaway allocation is contained in a process the
// test can time and kill, under an address-space limit.
func TestCLIHelperProcess(t *testing.T) {
	if os.Getenv("CCP_PREFLIGHT_TEST_CLI") != "1" {
		t.Skip("helper process only")
	}
	// 2 GiB of address space: the product needs well under 100 MB here; a
	// runaway read dies early instead of eating the shared machine.
	lim := &syscall.Rlimit{Cur: 2 << 30, Max: 2 << 30}
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, lim)
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// cliProcess runs the command line in a child process with extra
// environment, kills it after limit, and returns its exit code (-1 when
// killed), output, wall time and peak RSS.
func cliProcess(t *testing.T, limit time.Duration, env []string, args ...string) (code int, stdout, stderr string, wall time.Duration, rssKB int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^TestCLIHelperProcess$", "--"}, args...)...)
	cmd.Env = append(append(os.Environ(), "CCP_PREFLIGHT_TEST_CLI=1", "XDG_CACHE_HOME="+t.TempDir()), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	start := time.Now()
	err := cmd.Run()
	wall = time.Since(start)
	code = cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		code = -1
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssKB = ru.Maxrss
	}
	_ = err
	return code, o.String(), e.String(), wall, rssKB
}

// TestInputFilesAreBounded: every input file is a regular file read
// through a size limit (issue #15 item 3). Before the fix /dev/zero as
// --config, --ranges, --ice-servers or $CCP_PREFLIGHT_ICE_SERVERS_FILE
// grew to ~1 GB and died with "fatal error: out of memory" and a stack
// dump, and a FIFO hung for ever; now each is one line naming the file and
// exit 2, in well under a second and a few tens of MB.
func TestInputFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, append([]byte("region: us-east-1\n"), bytes.Repeat([]byte("# padding padding padding\n"), 2<<20/26+1)...), 0o600); err != nil {
		t.Fatal(err)
	}
	bigICE := filepath.Join(dir, "big.json")
	os.WriteFile(bigICE, bytes.Repeat([]byte(" "), 2<<20), 0o600)
	base := []string{"check", "--region", "us-east-1", "--no-progress", "--skip", "dns,ranges.membership,tcp,tls,env,stun,turn,path,nat,media,capacity,signaling,browser"}
	cases := []struct {
		name  string
		env   []string
		args  []string
		names string // the file the message names
		what  string
	}{
		{"config /dev/zero", nil, []string{"--config", "/dev/zero"}, "/dev/zero", "not a regular file"},
		{"ranges /dev/zero", nil, []string{"--ranges", "/dev/zero"}, "/dev/zero", "not a regular file"},
		{"ice-servers /dev/zero", nil, []string{"--ice-servers", "/dev/zero"}, "/dev/zero", "not a regular file"},
		{"ice env file /dev/zero", []string{"CCP_PREFLIGHT_ICE_SERVERS_FILE=/dev/zero"}, nil, "/dev/zero", "not a regular file"},
		{"config FIFO", nil, []string{"--config", fifo}, fifo, "named pipe"},
		{"ranges FIFO", nil, []string{"--ranges", fifo}, fifo, "named pipe"},
		{"ice-servers FIFO", nil, []string{"--ice-servers", fifo}, fifo, "named pipe"},
		{"config directory", nil, []string{"--config", dir}, dir, "directory"},
		{"config over 1 MiB", nil, []string{"--config", big}, big, "larger than 1 MiB"},
		{"ice-servers over 1 MiB", nil, []string{"--ice-servers", bigICE}, bigICE, "larger than 1 MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut, wall, rss := cliProcess(t, 15*time.Second, c.env, append(append([]string{}, base...), c.args...)...)
			t.Logf("exit %d in %v, peak RSS %d KB", code, wall.Round(time.Millisecond), rss)
			if code != exitInput {
				t.Fatalf("exit %d, want %d (-1: killed after 15 s); stderr %.300q", code, exitInput, errOut)
			}
			if out != "" || strings.Count(errOut, "\n") != 1 {
				t.Errorf("want one line on stderr and nothing on stdout; got stdout %.200q stderr %.300q", out, errOut)
			}
			if !strings.Contains(errOut, c.names) || !strings.Contains(errOut, c.what) {
				t.Errorf("stderr %.300q: want it to name %s and say %q", errOut, c.names, c.what)
			}
			if rss > 200<<10 {
				t.Errorf("peak RSS %d KB: the input was read without a bound", rss)
			}
		})
	}
}

// TestCLINeverEchoesURLPasswords (issue #15 item 2): a proxy URL the
// config rejects, and a --ranges URL that cannot be fetched, are named
// without their user:password@ on stderr. Before the fix the proxy's was
// printed: config proxy "socks5://user:PASS@…": want http://host:port.
func TestCLINeverEchoesURLPasswords(t *testing.T) {
	const pw = "Pa55w0rd-9d1e"
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	cfg := filepath.Join(t.TempDir(), "site.yaml")
	os.WriteFile(cfg, []byte("region: us-east-1\nproxy: socks4://agent:"+pw+"@127.0.0.1:1080\n"), 0o600)
	var out, errb strings.Builder
	if code := run([]string{"check", "--config", cfg, "--no-progress"}, &out, &errb); code != exitInput {
		t.Errorf("exit %d, want %d", code, exitInput)
	}
	if strings.Contains(errb.String(), pw) || !strings.Contains(errb.String(), "socks4://[redacted]@127.0.0.1:1080") {
		t.Errorf("stderr %q: want the proxy named without its password", errb.String())
	}
	// Port 1 on loopback refuses: the download fails at once.
	out.Reset()
	errb.Reset()
	code := run([]string{"ranges", "list", "--ranges", "http://agent:" + pw + "@127.0.0.1:1/ip-ranges.json"}, &out, &errb)
	if code == exitOK || strings.Contains(errb.String()+out.String(), pw) {
		t.Errorf("ranges list: exit %d, output %q %q", code, out.String(), errb.String())
	}
}
