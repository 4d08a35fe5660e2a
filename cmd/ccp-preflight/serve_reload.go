package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/preflight"
	"github.com/ccp-preflight/ccp-preflight/ranges"
)

// rangesReloader keeps serve's Config current with the ranges data: before
// each run it looks at the ranges file (--ranges FILE, or the cache that
// `ccp-preflight ranges update` writes when no --ranges is given) and
// rebuilds the Config when the file changed; SIGHUP rebuilds it at once.
// A rebuild that fails (a damaged file) keeps the previous Config and says
// so on the log. Safe for concurrent use.
type rangesReloader struct {
	opts preflight.Options
	// path is the file watched ("" for a URL, the embedded copy or the lab:
	// then only SIGHUP reloads).
	path string
	log  io.Writer

	mu    sync.Mutex
	cfg   *config.Config
	stamp fileStamp
}

// fileStamp is what tells a changed file: its modification time and size
// (a rename over it, as ranges update does, changes both or the inode's
// time).
type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

func stampOf(path string) fileStamp {
	if path == "" {
		return fileStamp{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
}

// newRangesReloader watches the ranges file of cfg, built from o.
func newRangesReloader(o preflight.Options, cfg *config.Config, log io.Writer) *rangesReloader {
	r := &rangesReloader{opts: o, cfg: cfg, log: log}
	switch {
	case o.Lab != nil || cfg.RangesFrom == ranges.SourceEmbedded:
	case cfg.RangesFrom == "":
		if dir, err := ranges.CacheDir(); err == nil {
			r.path = filepath.Join(dir, ranges.CacheFile)
		}
	case !isURL(cfg.RangesFrom):
		r.path = cfg.RangesFrom
	}
	r.stamp = stampOf(r.path)
	return r
}

func isURL(s string) bool {
	return len(s) > 7 && (s[:7] == "http://" || (len(s) > 8 && s[:8] == "https://"))
}

// current returns the Config for the next run, rebuilt first when the
// ranges file changed since the last build.
func (r *rangesReloader) current() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := stampOf(r.path); st != r.stamp {
		r.stamp = st
		r.rebuild("the ranges file " + r.path + " changed")
	}
	return r.cfg
}

// reload rebuilds the Config now (SIGHUP).
func (r *rangesReloader) reload(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stamp = stampOf(r.path)
	r.rebuild(why)
}

// rebuild builds the Config again; r.mu is held.
func (r *rangesReloader) rebuild(why string) {
	cfg, err := preflight.Build(r.opts)
	if err != nil {
		fmt.Fprintf(r.log, "ccp-preflight serve: %s, but reloading failed (%v): the runs keep the ranges of %s\n", why, err, describeRanges(r.cfg))
		return
	}
	r.cfg = cfg
	fmt.Fprintf(r.log, "ccp-preflight serve: %s: reloaded, now using %s\n", why, describeRanges(cfg))
}

func describeRanges(cfg *config.Config) string {
	if cfg == nil || cfg.Ranges == nil {
		return "no ranges data"
	}
	return fmt.Sprintf("%s of %s", cfg.Ranges.Source, cfg.Ranges.CreateDate.UTC().Format(time.DateOnly))
}

// onHangup reloads r on every SIGHUP until ctx ends.
func (r *rangesReloader) onHangup(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				r.reload("SIGHUP")
			}
		}
	}()
}
