package ranges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/inputfile"
	"github.com/ccp-preflight/ccp-preflight/internal/redact"
	"github.com/ccp-preflight/ccp-preflight/internal/safefile"
	"golang.org/x/net/http/httpguts"
)

// UpdateOptions configure Update. Zero values mean the defaults.
type UpdateOptions struct {
	URL      string       // default DefaultURL
	CacheDir string       // default CacheDir()
	Client   *http.Client // default http.DefaultClient (proxy from the environment)
}

// UpdateResult says what Update did.
type UpdateResult struct {
	// Path is the cached file.
	Path string
	// Set is the data now cached (nil when NotModified and the cache
	// could not be read back, which does not happen in practice).
	Set *Set
	// Previous is the createDate cached before (zero if there was none).
	Previous time.Time
	// NotModified: the server answered 304 to the conditional request.
	NotModified bool
	// Unchanged: the server sent the file the cache already holds.
	Unchanged bool
}

// meta is what the cache remembers of the last download, for conditional
// requests (ip-ranges.json.meta, next to the file).
type meta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Fetched      string `json:"fetched"`
}

// Update downloads the file with a conditional request (If-None-Match /
// If-Modified-Since from the last download), validates it completely,
// refuses one older than the cached copy, and replaces the cache
// atomically (temp file + rename). On any failure the cache is left as it
// was. Bad content is an *InputError; network and HTTP failures are plain
// errors.
func Update(ctx context.Context, o UpdateOptions) (*UpdateResult, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.CacheDir == "" {
		d, err := CacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory (%v): give --cache-dir", err)
		}
		o.CacheDir = d
	}
	// name is the URL as messages and the metadata file show it: without
	// a user:password@ it may carry.
	name := redact.URL(o.URL)
	path := filepath.Join(o.CacheDir, CacheFile)
	res := &UpdateResult{Path: path}
	cleanStaleTemps(o.CacheDir, time.Now())

	var cached *Set
	if b, err := inputfile.Read(path, MaxFileSize); err == nil {
		if s, err := LoadBytes(b, path); err == nil {
			cached = s
			res.Previous = s.CreateDate
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the cache: %v", err)
	}
	var m meta
	if cached != nil {
		if b, err := inputfile.Read(path+".meta", maxMetaSize); err == nil {
			m = parseMeta(b)
		}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return nil, &InputError{Source: "--url", Offset: -1, Msg: redact.Text(err.Error())}
	}
	if cached != nil && m.URL == name {
		if m.ETag != "" {
			req.Header.Set("If-None-Match", m.ETag)
		}
		if m.LastModified != "" {
			req.Header.Set("If-Modified-Since", m.LastModified)
		}
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %v (the cache is unchanged)", name, redact.Text(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && cached != nil {
		res.NotModified, res.Set = true, cached
		return res, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: HTTP %s (the cache is unchanged)", name, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %v (the cache is unchanged)", name, redact.Text(err.Error()))
	}
	s, err := LoadBytes(body, name)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			ie.Msg += " (the cache is unchanged)"
		}
		return nil, err
	}
	if cached != nil && s.CreateDate.Before(cached.CreateDate) {
		return nil, &InputError{Source: name, Offset: -1, Msg: fmt.Sprintf(
			"refusing createDate %s: older than the cached %s (the cache is unchanged)",
			s.CreateDate.Format(CreateDateLayout), cached.CreateDate.Format(CreateDateLayout))}
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the cache directory: %v", err)
	}
	res.Unchanged = cached != nil && s.CreateDate.Equal(cached.CreateDate) && s.SyncToken == cached.SyncToken
	if !res.Unchanged {
		if err := safefile.Replace(path, body, 0o644, true); err != nil {
			return nil, fmt.Errorf("write the cache: %v (the cache is unchanged)", err)
		}
	}
	s.Source = path
	res.Set = s
	nm := meta{URL: name, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: time.Now().UTC().Format(time.RFC3339)}
	if b, err := json.MarshalIndent(nm, "", "  "); err == nil {
		// The metadata only saves a download next time: failing to write it
		// is not an error.
		_ = safefile.Replace(path+".meta", append(b, '\n'), 0o644, true)
	}
	return res, nil
}

// maxMetaSize bounds the metadata file read (a real one is ~200 bytes).
const maxMetaSize = 64 << 10

// maxValidator bounds an ETag or Last-Modified kept from a download.
const maxValidator = 1024

// parseMeta decodes the metadata file. Its ETag and Last-Modified came
// from a server and go back to it as If-None-Match and If-Modified-Since:
// a value that is not a valid header field value (or longer than
// maxValidator) is dropped, so a damaged file costs a full download
// instead of failing every update. Anything that does not decode is the
// zero meta (no conditional request).
func parseMeta(b []byte) meta {
	var m meta
	if json.Unmarshal(b, &m) != nil {
		return meta{}
	}
	if len(m.ETag) > maxValidator || !httpguts.ValidHeaderFieldValue(m.ETag) {
		m.ETag = ""
	}
	if len(m.LastModified) > maxValidator || !httpguts.ValidHeaderFieldValue(m.LastModified) {
		m.LastModified = ""
	}
	return m
}

// staleTempAge is the age beyond which a temp file of the cache is
// stale: one lives only while a downloaded file is written (milliseconds),
// so a minute-old one was left by a process killed mid-write.
const staleTempAge = time.Minute

// cleanStaleTemps removes the temp files safefile.Replace leaves in dir when
// the process is killed between creating and renaming them
// (.ip-ranges.json.tmp-*, .ip-ranges.json.meta.tmp-*), once older than
// staleTempAge at now: a younger one may belong to an update running
// now. Only regular files are removed; failures are ignored (the cache
// works with them there).
func cleanStaleTemps(dir string, now time.Time) {
	for _, pattern := range []string{"." + CacheFile + ".tmp-*", "." + CacheFile + ".meta.tmp-*"} {
		names, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, n := range names {
			fi, err := os.Lstat(n)
			if err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) < staleTempAge {
				continue
			}
			_ = os.Remove(n)
		}
	}
}
