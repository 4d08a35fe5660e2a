//go:build windows

package sysproxy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// WinHTTP, the Windows API that answers "which proxy for this URL" from
// the current user's Internet Settings: the same settings Edge and Chrome
// use, with WPAD (DHCP and DNS) and the PAC evaluated by Windows itself.
var (
	winhttp                    = windows.NewLazySystemDLL("winhttp.dll")
	procGetIEProxyConfig       = winhttp.NewProc("WinHttpGetIEProxyConfigForCurrentUser")
	procWinHttpOpen            = winhttp.NewProc("WinHttpOpen")
	procWinHttpSetTimeouts     = winhttp.NewProc("WinHttpSetTimeouts")
	procWinHttpGetProxyForURL  = winhttp.NewProc("WinHttpGetProxyForUrl")
	procWinHttpDetectAutoProxy = winhttp.NewProc("WinHttpDetectAutoProxyConfigUrl")
	kernel32                   = windows.NewLazySystemDLL("kernel32.dll")
	procGlobalFree             = kernel32.NewProc("GlobalFree")
)

// WinHTTP's structures and constants (winhttp.h).
type ieProxyConfig struct {
	autoDetect    int32
	autoConfigURL *uint16
	proxy         *uint16
	proxyBypass   *uint16
}

type autoProxyOptions struct {
	flags                 uint32
	autoDetectFlags       uint32
	autoConfigURL         *uint16
	reserved              uintptr
	reserved2             uint32
	autoLogonIfChallenged int32
}

type proxyInfo struct {
	accessType  uint32
	proxy       *uint16
	proxyBypass *uint16
}

const (
	autoproxyAutoDetect  = 0x1
	autoproxyConfigURL   = 0x2
	autoDetectDHCP       = 0x1
	autoDetectDNSA       = 0x2
	accessTypeNoProxy    = 1
	accessTypeNamedProxy = 3
	winhttpTimeoutMS     = 3000
)

// ReadSystem reads the current user's Internet Settings through WinHTTP
// (WinHttpGetIEProxyConfigForCurrentUser). Automatic settings (WPAD, the
// PAC URL) are resolved per URL by WinHTTP (WinHttpGetProxyForUrl); the
// manual proxy and bypass list by this package. If the settings cannot be
// read, the environment's.
func ReadSystem(ctx context.Context) Settings {
	var c ieProxyConfig
	r, _, err := procGetIEProxyConfig.Call(uintptr(unsafe.Pointer(&c)))
	if r == 0 {
		s := FromEnv(os.LookupEnv)
		s.Problems = append(s.Problems, fmt.Sprintf("Windows Internet Settings could not be read (%v): the environment's proxy settings are used", err))
		return s
	}
	s := FromIEConfig(c.autoDetect != 0, takeString(c.autoConfigURL), takeString(c.proxy), takeString(c.proxyBypass))
	s.auto = (&winAuto{}).resolve
	return s
}

// takeString copies a WinHTTP-allocated string and frees it.
func takeString(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	procGlobalFree.Call(uintptr(unsafe.Pointer(p)))
	return s
}

// winAuto resolves automatic settings with one WinHTTP session.
type winAuto struct {
	once    sync.Once
	session uintptr
	err     error
	mu      sync.Mutex
	wpad    string // the PAC URL auto-detection found, once found
	tried   bool
}

func (w *winAuto) open() {
	agent, _ := windows.UTF16PtrFromString("ccp-preflight")
	h, _, err := procWinHttpOpen.Call(uintptr(unsafe.Pointer(agent)), accessTypeNoProxy, 0, 0, 0)
	if h == 0 {
		w.err = fmt.Errorf("WinHTTP could not be opened: %v", err)
		return
	}
	procWinHttpSetTimeouts.Call(h, winhttpTimeoutMS, winhttpTimeoutMS, winhttpTimeoutMS, winhttpTimeoutMS)
	w.session = h
}

// resolve asks WinHTTP for rawURL's proxies: auto-detection first (its
// PAC URL is looked up once, to name it), then the configured PAC URL.
// WinHTTP blocks while it discovers and downloads: the call runs apart and
// is given up when ctx ends.
func (w *winAuto) resolve(ctx context.Context, rawURL string, autoDetect bool, pacURL string) ([]Hop, string, error) {
	type res struct {
		hops []Hop
		used string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		var r res
		r.hops, r.used, r.err = w.resolveSync(rawURL, autoDetect, pacURL)
		ch <- r
	}()
	select {
	case r := <-ch:
		return r.hops, r.used, r.err
	case <-ctx.Done():
		return nil, "", errors.New("Windows (WinHTTP) did not say which proxy to use in time")
	}
}

func (w *winAuto) resolveSync(rawURL string, autoDetect bool, pacURL string) ([]Hop, string, error) {
	w.once.Do(w.open)
	if w.err != nil {
		return nil, "", w.err
	}
	used := pacURL
	if autoDetect {
		w.mu.Lock()
		if !w.tried {
			w.tried = true
			var p *uint16
			r, _, _ := procWinHttpDetectAutoProxy.Call(autoDetectDHCP|autoDetectDNSA, uintptr(unsafe.Pointer(&p)))
			if r != 0 {
				w.wpad = takeString(p)
			}
		}
		if w.wpad != "" {
			used = w.wpad
		}
		w.mu.Unlock()
	}
	if used == "" {
		return nil, "", errors.New("automatic proxy detection (WPAD) found no PAC")
	}
	u16, err := windows.UTF16PtrFromString(rawURL)
	if err != nil {
		return nil, "", err
	}
	pac16, err := windows.UTF16PtrFromString(used)
	if err != nil {
		return nil, "", err
	}
	opts := autoProxyOptions{flags: autoproxyConfigURL, autoConfigURL: pac16, autoLogonIfChallenged: 1}
	var info proxyInfo
	r, _, callErr := procWinHttpGetProxyForURL.Call(w.session, uintptr(unsafe.Pointer(u16)), uintptr(unsafe.Pointer(&opts)), uintptr(unsafe.Pointer(&info)))
	proxy, _ := takeString(info.proxy), takeString(info.proxyBypass)
	if r == 0 {
		return nil, used, fmt.Errorf("the PAC %s gave no answer through WinHTTP (%v)", used, winhttpError(callErr))
	}
	hops, err := winHops(info.accessType, proxy)
	return hops, used, err
}

// winhttpError names WinHTTP's auto-proxy errors in plain words.
func winhttpError(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case 12167:
			return "the PAC could not be downloaded"
		case 12166:
			return "the PAC has an error"
		case 12180:
			return "auto-detection found no PAC"
		case 12178:
			return "the PAC returned no proxy"
		}
	}
	return err.Error()
}

// SearchDomains are the DNS suffixes of this computer's network adapters.
func SearchDomains() []string {
	size := uint32(15000)
	for range 3 {
		b := make([]byte, size)
		aa := (*windows.IpAdapterAddresses)(unsafe.Pointer(&b[0]))
		err := windows.GetAdaptersAddresses(syscall.AF_UNSPEC, windows.GAA_FLAG_SKIP_ANYCAST|windows.GAA_FLAG_SKIP_MULTICAST, 0, aa, &size)
		if err == windows.ERROR_BUFFER_OVERFLOW {
			continue
		}
		if err != nil {
			return nil
		}
		var out []string
		for a := aa; a != nil; a = a.Next {
			if d := windows.UTF16PtrToString(a.DnsSuffix); d != "" {
				out = append(out, d)
			}
		}
		return out
	}
	return nil
}
