package browsercheck

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
)

// DefaultOpener is the command that opens a URL in the user's default
// browser on goos (the URL is appended): xdg-open on Linux and the BSDs,
// open on macOS, and on Windows the shell's URL association through
// rundll32 (no cmd.exe, so nothing in the URL is interpreted).
func DefaultOpener(goos string) []string {
	switch goos {
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler"}
	case "darwin":
		return []string{"open"}
	}
	return []string{"xdg-open"}
}

// SplitCommand splits a --browser-cmd value into a program and its
// arguments: words separated by blanks, with "double" or 'single' quotes
// around words that hold blanks ("C:\Program Files\…\chrome.exe" --flag).
// A value that names an existing file as a whole is that program alone.
// An empty value, or an unterminated quote, is an error.
func SplitCommand(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty command")
	}
	if st, err := os.Stat(s); err == nil && !st.IsDir() {
		return []string{s}, nil
	}
	var (
		out   []string
		cur   strings.Builder
		quote rune
		have  bool
	)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, have = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

// headless reports whether argv starts a headless browser: nobody sees its
// tab, so Close ends it.
func headless(argv []string) bool {
	for _, a := range argv[1:] {
		if a == "--headless" || strings.HasPrefix(a, "--headless=") || a == "-headless" {
			return true
		}
	}
	return false
}

// Open opens the page in a browser: cmd is --browser-cmd (program and
// arguments, SplitCommand; the URL is appended as the last argument), or
// "" for the default browser (DefaultOpener). It returns once the command
// is started; a command that cannot start is also remembered, so the
// checks' skip reason names it. The browser's output is discarded.
func (s *Session) Open(cmd string) error {
	argv := DefaultOpener(runtime.GOOS)
	if cmd != "" {
		var err error
		if argv, err = SplitCommand(cmd); err != nil {
			err = fmt.Errorf("--browser-cmd: %v", err)
			s.setOpenErr(err)
			return err
		}
	}
	p, err := startBrowser(append(argv, s.URL()), headless(argv))
	if err != nil {
		s.setOpenErr(err)
		return err
	}
	s.mu.Lock()
	s.browser = p
	s.mu.Unlock()
	return nil
}

func (s *Session) setOpenErr(err error) {
	s.mu.Lock()
	s.openErr = err
	s.mu.Unlock()
}

// browserProc is a browser (or opener) process that Open started.
type browserProc struct {
	cmd      *exec.Cmd
	headless bool
	exited   chan struct{}
	mu       sync.Mutex
	waitErr  error
}

func startBrowser(argv []string, headless bool) (*browserProc, error) {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = nil, nil, nil // discarded: a browser logs a lot
	ownGroup(c)
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", argv[0], plainStartErr(err))
	}
	p := &browserProc{cmd: c, headless: headless, exited: make(chan struct{})}
	go func() {
		err := c.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

// plainStartErr says why a command did not start, in plain words.
func plainStartErr(err error) string {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return "no such program"
	case errors.Is(err, os.ErrPermission):
		return "not allowed to run it"
	}
	return err.Error()
}

// exitNote says, for a skip reason, that the browser command already
// failed: an opener (xdg-open) that exits 0 at once is normal.
func (p *browserProc) exitNote() string {
	select {
	case <-p.exited:
	default:
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr != nil {
		return fmt.Sprintf(" (the browser command %s ended: %v)", p.cmd.Path, p.waitErr)
	}
	return ""
}

// end stops a headless browser and its children (its own process group,
// by the id Open started); a visible browser or an opener is left alone.
func (p *browserProc) end() {
	if !p.headless {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	killGroup(p.cmd)
	<-p.exited
}
