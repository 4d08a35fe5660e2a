package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/internal/inputfile"
	"github.com/ccp-preflight/ccp-preflight/internal/redact"
)

// Environment variables that carry credentials instead of argv.
const (
	// EnvICEServers holds ICE servers JSON ([{urls, username, credential}]).
	EnvICEServers = "CCP_PREFLIGHT_ICE_SERVERS"
	// EnvICEServersFile names a file with that JSON.
	EnvICEServersFile = "CCP_PREFLIGHT_ICE_SERVERS_FILE"
)

// Secret is a credential: it prints and marshals as "[redacted]", so no
// format or log can leak it by accident. Use Reveal to hand it to TURN.
type Secret string

// Redacted is what a Secret prints as.
const Redacted = "[redacted]"

func (s Secret) String() string   { return Redacted }
func (s Secret) GoString() string { return Redacted }

// MarshalJSON writes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }

// MarshalText writes the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// UnmarshalJSON reads the real value.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}

// Reveal returns the credential itself, for the TURN client only.
func (s Secret) Reveal() string { return string(s) }

// ICEServer is one entry in the CCP's iceServers shape.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   Secret   `json:"username"`
	Credential Secret   `json:"credential"`
}

// TURNURL is a parsed turn:/turns: URL.
type TURNURL struct {
	Secure    bool   // turns:
	Host      string // no port
	Port      int
	Transport string // udp, tcp (turns: implies tls over tcp)
}

// Addr is host:port.
func (u TURNURL) Addr() string { return fmt.Sprintf("%s:%d", u.Host, u.Port) }

// ParseTURNURL parses turn:HOST[:PORT][?transport=udp|tcp] and turns:….
func ParseTURNURL(s string) (TURNURL, error) {
	var u TURNURL
	q := redact.URL(s) // s as errors quote it
	rest, ok := strings.CutPrefix(s, "turns:")
	if ok {
		u.Secure, u.Port, u.Transport = true, 5349, "tcp"
	} else if rest, ok = strings.CutPrefix(s, "turn:"); ok {
		u.Port, u.Transport = 3478, "udp"
	} else {
		return u, fmt.Errorf("ICE server URL %q: want turn: or turns:", q)
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, err := url.ParseQuery(rest[i+1:])
		if err != nil {
			return u, fmt.Errorf("ICE server URL %q: %v", q, err)
		}
		if t := q.Get("transport"); t != "" {
			if t != "udp" && t != "tcp" {
				return u, fmt.Errorf("ICE server URL %q: transport must be udp or tcp", q)
			}
			u.Transport = t
		}
		rest = rest[:i]
	}
	host, port, err := splitHost(rest)
	if err == nil && strings.Contains(host, ":") && !strings.HasPrefix(rest, "[") {
		err = errors.New("an IPv6 address needs brackets: turn:[IPv6]:port")
	}
	if err != nil {
		return u, fmt.Errorf("ICE server URL %q: %v", q, err)
	}
	if port != 0 {
		u.Port = port
	}
	u.Host = host
	return u, nil
}

// LoadICEServers reads ICE servers from path, else from the environment
// (EnvICEServersFile, then EnvICEServers). A file must be a regular file,
// and a file or the variable at most MaxFileBytes. None anywhere is not an
// error.
func LoadICEServers(path string) ([]ICEServer, error) {
	var b []byte
	src := path
	switch {
	case path != "":
		var err error
		if b, err = inputfile.Read(path, MaxFileBytes); err != nil {
			return nil, inputErr("--ice-servers: %v", err)
		}
	case os.Getenv(EnvICEServersFile) != "":
		src = os.Getenv(EnvICEServersFile)
		var err error
		if b, err = inputfile.Read(src, MaxFileBytes); err != nil {
			return nil, inputErr("%s: %v", EnvICEServersFile, err)
		}
	case os.Getenv(EnvICEServers) != "":
		src, b = "$"+EnvICEServers, []byte(os.Getenv(EnvICEServers))
		if len(b) > MaxFileBytes {
			return nil, inputErr("$%s: larger than %s", EnvICEServers, inputfile.Size(MaxFileBytes))
		}
	default:
		return nil, nil
	}
	return ParseICEServers(b, src)
}

// ParseICEServers parses the CCP's iceServers JSON; src names it in errors.
// Errors never quote the credential.
func ParseICEServers(b []byte, src string) ([]ICEServer, error) {
	var list []ICEServer
	if err := json.Unmarshal(b, &list); err != nil {
		var one ICEServer
		if err2 := json.Unmarshal(b, &one); err2 != nil || len(one.URLs) == 0 {
			return nil, inputErr("ice servers %s: %s (want [{\"urls\":[\"turn:HOST:3478?transport=udp\"],\"username\":\"…\",\"credential\":\"…\"}])", src, jsonErr(err))
		}
		list = []ICEServer{one}
	}
	if len(list) == 0 {
		return nil, inputErr("ice servers %s: empty list", src)
	}
	if len(list) > MaxICEServers {
		return nil, inputErr("ice servers %s: %d entries: at most %d (the CCP hands out 1–3)", src, len(list), MaxICEServers)
	}
	urls := 0
	for _, s := range list {
		urls += len(s.URLs)
	}
	if urls > MaxICEURLs {
		return nil, inputErr("ice servers %s: %d URLs: at most %d in all (the CCP hands out one or two per entry)", src, urls, MaxICEURLs)
	}
	for i, s := range list {
		if len(s.URLs) == 0 {
			return nil, inputErr("ice servers %s: entry %d has no urls", src, i)
		}
		for _, u := range s.URLs {
			if _, err := ParseTURNURL(u); err != nil {
				return nil, inputErr("ice servers %s: entry %d: %v", src, i, err)
			}
		}
		if s.Username == "" || s.Credential == "" {
			return nil, inputErr("ice servers %s: entry %d needs username and credential", src, i)
		}
	}
	return list, nil
}

func jsonErr(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("%s must be %s, not %s (byte %d)", te.Field, te.Type, te.Value, te.Offset)
	}
	return err.Error()
}
