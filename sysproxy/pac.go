package sysproxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// PAC limits. A PAC is a program from a server (or a user): it is run
// with limits a real PAC never comes near, and past them it is stopped and
// the browser's answer to a broken PAC, DIRECT, applies.
const (
	// MaxPACSize bounds the script: corporate PACs are a few KiB; the
	// largest published ones (generated lists of domains) are a few hundred.
	MaxPACSize = 1 << 20
	// DefaultPACTime bounds one evaluation (loading the script, or one
	// FindProxyForURL call): a PAC answers in microseconds, plus its
	// dnsResolve lookups, each bounded by the caller's DNS time limit.
	DefaultPACTime = 2 * time.Second
	// DefaultPACMemory bounds how much the heap may grow during one
	// evaluation: a PAC needs a few KiB.
	DefaultPACMemory = 64 << 20
	// pacAbandon is how long an evaluation that was told to stop (time or
	// memory limit) gets to notice before it is abandoned: a single builtin
	// call (a regular expression, a join of a huge array) does not see the
	// interrupt until it returns.
	pacAbandon = 200 * time.Millisecond
	// pacSample is how often the heap is sampled during an evaluation.
	pacSample = 2 * time.Millisecond
	// maxBulk bounds what one builtin call may allocate in one go
	// (String.prototype.repeat, padStart, padEnd, Array.prototype.join,
	// fill): the interrupt cannot stop a call already running.
	maxBulk = 1 << 20
)

// PACHost is what a PAC's helper functions ask of the outside world.
type PACHost struct {
	// Lookup resolves a name (dnsResolve, isInNet, isResolvable); nil
	// means every name fails to resolve.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// MyIP returns this computer's addresses, preferred first
	// (myIpAddress); nil or empty means 127.0.0.1.
	MyIP func() []netip.Addr
	// Now is the clock of weekdayRange, dateRange, timeRange; nil means
	// time.Now.
	Now func() time.Time
}

// PACLimits bound one evaluation; zero fields take the defaults.
type PACLimits struct {
	Time   time.Duration
	Memory uint64
}

func (l PACLimits) time() time.Duration {
	if l.Time <= 0 {
		return DefaultPACTime
	}
	return l.Time
}

func (l PACLimits) memory() uint64 {
	if l.Memory == 0 {
		return DefaultPACMemory
	}
	return l.Memory
}

// PACError is a PAC that cannot be used: it names the PAC and the problem
// in one line.
type PACError struct {
	// PAC names the script (its URL or file).
	PAC string
	// Problem says what is wrong, in plain words.
	Problem string
}

func (e *PACError) Error() string {
	if e.PAC == "WPAD" { // discovery itself failed: there is no PAC to name
		return "WPAD " + e.Problem
	}
	return "the PAC " + e.PAC + " " + e.Problem
}

// PAC is a compiled proxy auto-config script. FindProxy is safe for
// concurrent use (calls are serialised: a JavaScript VM runs one call at a
// time). After an evaluation had to be abandoned the PAC stays broken and
// every call returns that error.
type PAC struct {
	name  string
	host  PACHost
	lim   PACLimits
	mu    sync.Mutex
	vm    *goja.Runtime
	fn    goja.Callable
	ctx   context.Context // the running evaluation's, for the DNS helpers
	dead  error
	calls int
}

// CompilePAC loads a PAC script: it runs the script's top level (within
// the limits) and finds FindProxyForURL (or FindProxyForURLEx). name
// identifies the PAC in errors. The error is a *PACError.
func CompilePAC(ctx context.Context, name string, src []byte, host PACHost, lim PACLimits) (*PAC, error) {
	p := &PAC{name: name, host: host, lim: lim}
	if len(src) > MaxPACSize {
		return nil, p.fail("is %d bytes, more than the %d this tool reads", len(src), MaxPACSize)
	}
	if len(strings.TrimSpace(string(src))) == 0 {
		return nil, p.fail("is empty")
	}
	prog, err := goja.Compile(name, string(src), false)
	if err != nil {
		// goja names the file in the message: the PAC is named already.
		return nil, p.fail("does not parse: %s", strings.Replace(jsError(err), name+": ", "", 1))
	}
	vm := goja.New()
	vm.SetMaxCallStackSize(1000)
	if host.Now != nil {
		vm.SetTimeSource(host.Now)
	}
	p.vm = vm
	if err := p.install(); err != nil {
		return nil, p.fail("could not be set up: %v", err)
	}
	if err := p.eval(ctx, "loading it", func() (goja.Value, error) { return vm.RunProgram(prog) }); err != nil {
		return nil, err
	}
	for _, n := range []string{"FindProxyForURL", "FindProxyForURLEx"} {
		if fn, ok := goja.AssertFunction(vm.Get(n)); ok {
			p.fn = fn
			return p, nil
		}
	}
	return nil, p.fail("defines no FindProxyForURL function")
}

func (p *PAC) fail(format string, a ...any) *PACError {
	return &PACError{PAC: p.name, Problem: fmt.Sprintf(format, a...)}
}

// FindProxy evaluates FindProxyForURL(rawURL, host) and parses its answer.
// The error (a *PACError) says why the PAC gave no usable answer; the
// caller then goes DIRECT, as a browser does. A PAC stopped at its time
// or memory limit is dead: later calls return that error at once.
func (p *PAC) FindProxy(ctx context.Context, rawURL, host string) ([]Hop, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead != nil {
		return nil, p.dead
	}
	p.calls++
	var out goja.Value
	err := p.eval(ctx, "in FindProxyForURL", func() (goja.Value, error) {
		v, err := p.fn(goja.Undefined(), p.vm.ToValue(rawURL), p.vm.ToValue(strings.ToLower(host)))
		out = v
		return v, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil || goja.IsUndefined(out) || goja.IsNull(out) {
		return nil, p.fail("returned %v for %s, not a proxy list", out, host)
	}
	if _, ok := out.Export().(string); !ok {
		return nil, p.fail("returned %s for %s, not a string", jsType(out), host)
	}
	hops, perr := ParsePACResult(out.String())
	if perr != nil {
		return nil, p.fail("returned garbage for %s: %v", host, perr)
	}
	return hops, nil
}

// eval runs f on the VM within the time and memory limits. When a limit
// is passed the VM is interrupted; if f does not return within pacAbandon
// after that, it is abandoned (its goroutine finishes on its own) and the
// PAC is marked dead.
func (p *PAC) eval(ctx context.Context, what string, f func() (goja.Value, error)) error {
	limit := p.lim.time()
	ectx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	p.ctx = ectx
	type res struct {
		err   error
		panic any
	}
	done := make(chan res, 1)
	base := heapBytes()
	go func() {
		var r res
		defer func() {
			if v := recover(); v != nil {
				r.panic = v
			}
			done <- r
		}()
		_, r.err = f()
	}()
	tick := time.NewTicker(pacSample)
	defer tick.Stop()
	var stopped error // why the VM was interrupted
	var abandon <-chan time.Time
	for {
		select {
		case r := <-done:
			p.vm.ClearInterrupt()
			if stopped != nil {
				// A PAC that ran past a limit once does so again: every
				// later call gets the same answer at once, not after
				// another wait.
				p.dead = stopped
				return stopped
			}
			if r.panic != nil {
				return p.fail("crashed the JavaScript engine %s: %v", what, r.panic)
			}
			if r.err != nil {
				return p.fail("failed %s: %s", what, jsError(r.err))
			}
			return nil
		case <-tick.C:
			if stopped == nil && heapBytes() > base+p.lim.memory() {
				stopped = p.fail("used more than %d MiB of memory %s (a PAC needs a few KiB)", p.lim.memory()>>20, what)
				p.vm.Interrupt(stopped)
				abandon = time.After(pacAbandon)
			}
		case <-ectx.Done():
			if stopped == nil {
				if ctx.Err() != nil {
					stopped = p.fail("did not answer before the check's time ran out %s", what)
				} else {
					stopped = p.fail("ran past its time limit (%v) %s: a loop that never ends?", limit, what)
				}
				p.vm.Interrupt(stopped)
				abandon = time.After(pacAbandon)
			}
		case <-abandon:
			p.dead = stopped
			return stopped
		}
	}
}

// heapBytes is the memory held by heap objects now (cheap to read: no
// stop-the-world).
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// jsType names a value's JavaScript type for a message.
func jsType(v goja.Value) string {
	switch v.Export().(type) {
	case int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return "an object"
}

// jsError is a JavaScript error's first line, short.
func jsError(err error) string {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if pe, ok := ie.Value().(*PACError); ok {
			return pe.Problem
		}
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return "it calls itself without end (stack overflow)"
	}
	s := err.Error()
	var ex *goja.Exception
	if errors.As(err, &ex) && ex.Value() != nil {
		s = ex.Value().String()
	}
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// install defines the standard PAC helpers (Netscape's, and Microsoft's
// IPv6 "Ex" set) and the guards on builtins that allocate in bulk.
func (p *PAC) install() error {
	vm := p.vm
	set := func(name string, f func(goja.FunctionCall) goja.Value) error { return vm.Set(name, f) }
	str := func(c goja.FunctionCall, i int) string {
		v := c.Argument(i)
		if goja.IsUndefined(v) || goja.IsNull(v) {
			return ""
		}
		return v.String()
	}
	for name, f := range map[string]func(goja.FunctionCall) goja.Value{
		"dnsResolve": func(c goja.FunctionCall) goja.Value {
			if a, ok := first4(p.lookup(str(c, 0))); ok {
				return vm.ToValue(a.String())
			}
			return goja.Null()
		},
		"dnsResolveEx": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(joinAddrs(p.lookup(str(c, 0))))
		},
		"isResolvable": func(c goja.FunctionCall) goja.Value {
			_, ok := first4(p.lookup(str(c, 0)))
			return vm.ToValue(ok)
		},
		"isResolvableEx": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(len(p.lookup(str(c, 0))) > 0)
		},
		"myIpAddress": func(goja.FunctionCall) goja.Value {
			if a, ok := first4(p.myIP()); ok {
				return vm.ToValue(a.String())
			}
			return vm.ToValue("127.0.0.1")
		},
		"myIpAddressEx": func(goja.FunctionCall) goja.Value {
			return vm.ToValue(joinAddrs(p.myIP()))
		},
		"isInNet": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(p.isInNet(str(c, 0), str(c, 1), str(c, 2)))
		},
		"isInNetEx": func(c goja.FunctionCall) goja.Value {
			a, err1 := netip.ParseAddr(str(c, 0))
			pf, err2 := netip.ParsePrefix(str(c, 1))
			return vm.ToValue(err1 == nil && err2 == nil && pf.Contains(a))
		},
		"shExpMatch": func(c goja.FunctionCall) goja.Value {
			return vm.ToValue(globMatch(str(c, 1), str(c, 0)))
		},
		"sortIpAddressList": func(c goja.FunctionCall) goja.Value {
			var as []netip.Addr
			for _, s := range strings.Split(str(c, 0), ";") {
				a, err := netip.ParseAddr(strings.TrimSpace(s))
				if err != nil {
					return vm.ToValue(false)
				}
				as = append(as, a)
			}
			slices.SortFunc(as, func(a, b netip.Addr) int {
				if a.Is4() != b.Is4() { // IPv6 first, as Microsoft's does
					if a.Is6() {
						return -1
					}
					return 1
				}
				return a.Compare(b)
			})
			return vm.ToValue(joinAddrs(as))
		},
		"getClientVersion": func(goja.FunctionCall) goja.Value { return vm.ToValue("1.0") },
		"alert":            func(goja.FunctionCall) goja.Value { return goja.Undefined() },
	} {
		if err := set(name, f); err != nil {
			return err
		}
	}
	_, err := vm.RunString(strings.Replace(pacPrelude, "MAX_BULK", strconv.Itoa(maxBulk), 1))
	return err
}

// lookup resolves host for a helper, within the evaluation's context. An
// IP literal is its own answer.
func (p *PAC) lookup(host string) []netip.Addr {
	host = strings.Trim(strings.TrimSpace(host), "[]")
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}
	}
	if host == "" || p.host.Lookup == nil || len(host) > 253 {
		return nil
	}
	as, err := p.host.Lookup(p.ctx, host)
	if err != nil {
		return nil
	}
	return as
}

func (p *PAC) myIP() []netip.Addr {
	if p.host.MyIP == nil {
		return nil
	}
	return p.host.MyIP()
}

// isInNet is Netscape's isInNet(host, pattern, mask): host (resolved when
// it is a name) masked with the dotted mask equals pattern.
func (p *PAC) isInNet(host, pattern, mask string) bool {
	a, ok := first4(p.lookup(host))
	if !ok {
		return false
	}
	pa, err1 := netip.ParseAddr(pattern)
	ma, err2 := netip.ParseAddr(mask)
	if err1 != nil || err2 != nil || !pa.Is4() || !ma.Is4() {
		return false
	}
	x, y, m := a.As4(), pa.As4(), ma.As4()
	for i := range 4 {
		if x[i]&m[i] != y[i]&m[i] {
			return false
		}
	}
	return true
}

func first4(as []netip.Addr) (netip.Addr, bool) {
	for _, a := range as {
		if a = a.Unmap(); a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.Unmap().String()
	}
	return strings.Join(s, ";")
}

// pacPrelude defines the PAC helpers written in JavaScript (the standard
// functions of Netscape's PAC specification that need no outside world)
// and guards the builtins that can allocate an arbitrary amount in one
// call. MAX_BULK stands for maxBulk.
const pacPrelude = `(function (g, max) {
  function guard(proto, name, size) {
    var f = proto[name];
    if (typeof f !== "function") return;
    Object.defineProperty(proto, name, { configurable: true, writable: true, value: function () {
      if (size.apply(this, arguments) > max) throw new RangeError(name + ": more memory than a PAC may use");
      return f.apply(this, arguments);
    }});
  }
  guard(String.prototype, "repeat", function (n) { return String(this).length * Number(n); });
  guard(String.prototype, "padStart", function (n) { return Number(n); });
  guard(String.prototype, "padEnd", function (n) { return Number(n); });
  guard(Array.prototype, "join", function () { return this.length; });
  guard(Array.prototype, "fill", function () { return this.length; });
  ["ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray",
   "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
   "BigInt64Array", "BigUint64Array"].forEach(function (n) { delete g[n]; });
})(this, MAX_BULK);

function dnsDomainIs(host, domain) {
  host = String(host); domain = String(domain);
  return host.length >= domain.length && host.substring(host.length - domain.length) == domain;
}
function dnsDomainLevels(host) { return String(host).split(".").length - 1; }
function isPlainHostName(host) { host = String(host); return host.indexOf(".") < 0 && host.indexOf(":") < 0; }
function localHostOrDomainIs(host, hostdom) {
  host = String(host); hostdom = String(hostdom);
  return host == hostdom || hostdom.lastIndexOf(host + ".", 0) == 0;
}
function convert_addr(ipchars) {
  var b = String(ipchars).split(".");
  return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
}
var __pacDays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
var __pacMonths = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
function __pacArgs(args) {
  var a = Array.prototype.slice.call(args), gmt = false;
  if (a.length && String(a[a.length - 1]).toUpperCase() === "GMT") { gmt = true; a.pop(); }
  return { a: a, gmt: gmt, d: new Date() };
}
function __pacIn(c, lo, hi) { return lo <= hi ? (c >= lo && c <= hi) : (c >= lo || c <= hi); }
function weekdayRange() {
  var x = __pacArgs(arguments), a = x.a;
  if (a.length < 1 || a.length > 2) return false;
  var day = x.gmt ? x.d.getUTCDay() : x.d.getDay();
  var w1 = __pacDays.indexOf(String(a[0]).toUpperCase());
  var w2 = a.length > 1 ? __pacDays.indexOf(String(a[1]).toUpperCase()) : w1;
  if (w1 < 0 || w2 < 0) return false;
  return __pacIn(day, w1, w2);
}
function timeRange() {
  var x = __pacArgs(arguments), a = x.a, d = x.d;
  var h = x.gmt ? d.getUTCHours() : d.getHours();
  var now = h * 3600 + (x.gmt ? d.getUTCMinutes() : d.getMinutes()) * 60 + (x.gmt ? d.getUTCSeconds() : d.getSeconds());
  for (var i = 0; i < a.length; i++) { a[i] = Number(a[i]); if (isNaN(a[i])) return false; }
  switch (a.length) {
  case 1: return h == a[0];
  case 2: return __pacIn(h, a[0], a[1]);
  case 4: return __pacIn(now, a[0] * 3600 + a[1] * 60, a[2] * 3600 + a[3] * 60 + 59);
  case 6: return __pacIn(now, a[0] * 3600 + a[1] * 60 + a[2], a[3] * 3600 + a[4] * 60 + a[5]);
  }
  return false;
}
function dateRange() {
  var x = __pacArgs(arguments), a = x.a, d = x.d;
  if (a.length < 1 || a.length > 6) return false;
  var cur = { d: x.gmt ? d.getUTCDate() : d.getDate(), m: x.gmt ? d.getUTCMonth() : d.getMonth(),
              y: x.gmt ? d.getUTCFullYear() : d.getFullYear() };
  var parts = [];
  for (var i = 0; i < a.length; i++) {
    var v = a[i], k;
    if (typeof v === "string" && isNaN(Number(v))) {
      var m = __pacMonths.indexOf(v.toUpperCase());
      if (m < 0) return false;
      k = ["m", m];
    } else {
      v = Number(v);
      if (!(v >= 1)) return false;
      k = v > 31 ? ["y", v] : ["d", v];
    }
    parts.push(k);
  }
  if (parts.length == 1) return cur[parts[0][0]] == parts[0][1];
  if (parts.length % 2) return false;
  var half = parts.length / 2, lo = {}, hi = {}, fields = {};
  for (var j = 0; j < half; j++) {
    if (parts[j][0] != parts[j + half][0] || fields[parts[j][0]]) return false;
    fields[parts[j][0]] = true; lo[parts[j][0]] = parts[j][1]; hi[parts[j][0]] = parts[j + half][1];
  }
  function key(o) { var k = 0; ["y", "m", "d"].forEach(function (f) { if (fields[f]) k = k * 10000 + o[f]; }); return k; }
  return __pacIn(key(cur), key(lo), key(hi));
}
`
