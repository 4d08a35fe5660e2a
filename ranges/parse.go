package ranges

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// CreateDateLayout is the layout of the file's createDate (UTC).
const CreateDateLayout = "2006-01-02-15-04-05"

// maxDepth bounds the nesting of unknown values the parser skips, so a
// hostile file cannot exhaust the stack.
const maxDepth = 64

// InputError is a malformed or invalid ranges file: it names the source,
// the byte offset where the problem was found (-1 when there is none) and
// what is wrong, in one line. The command maps it to exit code 2.
type InputError struct {
	Source string
	Offset int
	Msg    string
}

func (e *InputError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s: byte %d: %s", e.Source, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Msg)
}

// parser is a small JSON reader specialised for ip-ranges.json: it knows
// the byte offset of everything it reads (for one-line errors), skips
// unknown fields of any type (AWS may add some) and allocates little.
type parser struct {
	b      []byte
	i      int
	src    string
	intern map[string]string
	// header only: stop after syncToken and createDate (see peekHeader).
	headerOnly bool
}

func (p *parser) errAt(off int, format string, a ...any) error {
	return &InputError{Source: p.src, Offset: off, Msg: fmt.Sprintf(format, a...)}
}

// eof reports a truncated file at the current end.
func (p *parser) eof() error {
	return p.errAt(len(p.b), "file ends early (truncated JSON: an interrupted download?)")
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// describe names the JSON value starting at the current byte.
func (p *parser) describe() string {
	if p.i >= len(p.b) {
		return "end of file"
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	default:
		return fmt.Sprintf("%q", rune(c))
	}
}

func (p *parser) expect(c byte, what string) error {
	p.ws()
	if p.i >= len(p.b) {
		return p.eof()
	}
	if p.b[p.i] != c {
		return p.errAt(p.i, "want %s, found %s", what, p.describe())
	}
	p.i++
	return nil
}

// str reads a JSON string at the current position (after whitespace).
func (p *parser) str() (string, error) {
	b, err := p.raw()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// raw reads a JSON string and returns its decoded bytes: a slice of the
// input when it has no escapes (valid until the input changes).
func (p *parser) raw() ([]byte, error) {
	p.ws()
	if p.i >= len(p.b) {
		return nil, p.eof()
	}
	if p.b[p.i] != '"' {
		return nil, p.errAt(p.i, "want a string, found %s", p.describe())
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		c := p.b[j]
		switch {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], nil
		case c == '\\' || c >= utf8.RuneSelf:
			s, err := p.strSlow(start)
			return []byte(s), err
		case c < 0x20:
			return nil, p.errAt(j, "control character %#x in a string", c)
		}
	}
	return nil, p.eof()
}

func (p *parser) internBytes(b []byte) string {
	if s, ok := p.intern[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(p.intern) < 4096 {
		p.intern[s] = s
	}
	return s
}

// strSlow decodes a string with escapes or non-ASCII bytes.
func (p *parser) strSlow(start int) (string, error) {
	var sb strings.Builder
	j := start
	for j < len(p.b) {
		c := p.b[j]
		switch {
		case c == '"':
			p.i = j + 1
			return sb.String(), nil
		case c < 0x20:
			return "", p.errAt(j, "control character %#x in a string", c)
		case c == '\\':
			if j+1 >= len(p.b) {
				return "", p.eof()
			}
			e := p.b[j+1]
			switch e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, n, err := p.unicodeEscape(j)
				if err != nil {
					return "", err
				}
				sb.WriteRune(r)
				j += n
				continue
			default:
				return "", p.errAt(j, "invalid escape \\%c in a string", e)
			}
			j += 2
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(p.b[j:])
			if r == utf8.RuneError && n <= 1 {
				return "", p.errAt(j, "invalid UTF-8 in a string")
			}
			sb.WriteRune(r)
			j += n
		default:
			sb.WriteByte(c)
			j++
		}
	}
	return "", p.eof()
}

// unicodeEscape decodes \uXXXX (and a following low surrogate) at j.
func (p *parser) unicodeEscape(j int) (rune, int, error) {
	hex4 := func(at int) (rune, error) {
		if at+6 > len(p.b) {
			return 0, p.eof()
		}
		v, err := strconv.ParseUint(string(p.b[at+2:at+6]), 16, 16)
		if err != nil {
			return 0, p.errAt(at, "invalid \\u escape %q", p.b[at:at+6])
		}
		return rune(v), nil
	}
	r, err := hex4(j)
	if err != nil {
		return 0, 0, err
	}
	if utf16.IsSurrogate(r) {
		if j+12 <= len(p.b) && p.b[j+6] == '\\' && p.b[j+7] == 'u' {
			r2, err := hex4(j + 6)
			if err != nil {
				return 0, 0, err
			}
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 12, nil
			}
		}
		return utf8.RuneError, 6, nil
	}
	return r, 6, nil
}

// skip skips any JSON value (for fields this program does not use).
func (p *parser) skip(depth int) error {
	if depth > maxDepth {
		return p.errAt(p.i, "values nested more than %d deep", maxDepth)
	}
	p.ws()
	if p.i >= len(p.b) {
		return p.eof()
	}
	switch c := p.b[p.i]; {
	case c == '"':
		_, err := p.str()
		return err
	case c == '{':
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return nil
		}
		for {
			if _, err := p.str(); err != nil {
				return err
			}
			if err := p.expect(':', `":"`); err != nil {
				return err
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			if more, err := p.next('}'); err != nil || !more {
				return err
			}
		}
	case c == '[':
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return nil
		}
		for {
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			if more, err := p.next(']'); err != nil || !more {
				return err
			}
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return p.errAt(p.i, "want a JSON value, found %s", p.describe())
	}
}

func (p *parser) literal(word string) error {
	end := p.i + len(word)
	if end > len(p.b) {
		if strings.HasPrefix(word, string(p.b[p.i:])) {
			return p.eof()
		}
		return p.errAt(p.i, "invalid literal")
	}
	if string(p.b[p.i:end]) != word {
		return p.errAt(p.i, "invalid literal")
	}
	p.i = end
	return nil
}

func (p *parser) number() error {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	if _, err := strconv.ParseFloat(string(p.b[start:p.i]), 64); err != nil {
		return p.errAt(start, "invalid number %q", p.b[start:p.i])
	}
	return nil
}

// next reads the separator after a member or element: true after ',',
// false after the closing byte.
func (p *parser) next(closing byte) (bool, error) {
	p.ws()
	if p.i >= len(p.b) {
		return false, p.eof()
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return true, nil
	case closing:
		p.i++
		return false, nil
	}
	return false, p.errAt(p.i, "want \",\" or %q, found %s", closing, p.describe())
}

// parse reads the whole file into s.
func (p *parser) parse(s *Set) error {
	p.ws()
	if p.i >= len(p.b) {
		return &InputError{Source: p.src, Offset: -1, Msg: "file is empty"}
	}
	if p.b[p.i] == '<' {
		return p.errAt(p.i, "this is an HTML page, not ip-ranges.json (a captive portal, proxy or error page?)")
	}
	if p.b[p.i] != '{' {
		return p.errAt(p.i, "want a JSON object (ip-ranges.json), found %s", p.describe())
	}
	p.i++
	var seenSync, seenDate, seenV4, seenV6 bool
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
	} else {
		for {
			p.ws()
			keyOff := p.i
			key, err := p.str()
			if err != nil {
				return err
			}
			if err := p.expect(':', `":" after a key`); err != nil {
				return err
			}
			p.ws()
			valOff := p.i
			dup := func(seen *bool) error {
				if *seen {
					return p.errAt(keyOff, "duplicate key %q", key)
				}
				*seen = true
				return nil
			}
			switch key {
			case "syncToken":
				if err := dup(&seenSync); err != nil {
					return err
				}
				v, err := p.field("syncToken")
				if err != nil {
					return err
				}
				if err := validSyncToken(v); err != nil {
					return p.errAt(valOff, "syncToken %q: %v", v, err)
				}
				s.SyncToken = v
			case "createDate":
				if err := dup(&seenDate); err != nil {
					return err
				}
				v, err := p.field("createDate")
				if err != nil {
					return err
				}
				t, err := ParseCreateDate(v)
				if err != nil {
					return p.errAt(valOff, "%v", err)
				}
				s.CreateDate = t
			case "prefixes", "ipv6_prefixes":
				v6, seen, prefixKey := false, &seenV4, "ip_prefix"
				if key == "ipv6_prefixes" {
					v6, seen, prefixKey = true, &seenV6, "ipv6_prefix"
				}
				if err := dup(seen); err != nil {
					return err
				}
				if p.headerOnly {
					if err := p.skip(0); err != nil {
						return err
					}
					break
				}
				if err := p.entries(s, key, prefixKey, v6); err != nil {
					return err
				}
			default:
				if err := p.skip(0); err != nil {
					return err
				}
			}
			if p.headerOnly && seenSync && seenDate {
				return nil
			}
			if more, err := p.next('}'); err != nil {
				return err
			} else if !more {
				break
			}
		}
	}
	p.ws()
	if p.i < len(p.b) {
		return p.errAt(p.i, "unexpected data after the JSON object")
	}
	switch {
	case !seenSync:
		return p.errAt(-1, `missing "syncToken"`)
	case !seenDate:
		return p.errAt(-1, `missing "createDate"`)
	case p.headerOnly:
		return nil
	case !seenV4:
		return p.errAt(-1, `missing "prefixes"`)
	case len(s.Prefixes) == 0:
		return p.errAt(-1, "no prefixes at all (not a real ip-ranges.json)")
	}
	return nil
}

// field reads a string value, naming the field when it has another type.
func (p *parser) field(name string) (string, error) {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] != '"' {
		return "", p.errAt(p.i, "%s: want a string, found %s", name, p.describe())
	}
	return p.str()
}

// entryField is field for entry n of list (the name is built only for
// an error).
func (p *parser) entryField(list string, n int, key string) ([]byte, error) {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] != '"' {
		return nil, p.errAt(p.i, "%s[%d].%s: want a string, found %s", list, n, key, p.describe())
	}
	return p.raw()
}

// entries reads prefixes[] or ipv6_prefixes[].
func (p *parser) entries(s *Set, list, prefixKey string, v6 bool) error {
	p.ws()
	if p.i >= len(p.b) {
		return p.eof()
	}
	if p.b[p.i] != '[' {
		return p.errAt(p.i, "%s: want an array, found %s", list, p.describe())
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return nil
	}
	for n := 0; ; n++ {
		p.ws()
		if err := p.entry(s, list, prefixKey, n, v6); err != nil {
			return err
		}
		if more, err := p.next(']'); err != nil || !more {
			return err
		}
	}
}

func (p *parser) entry(s *Set, list, prefixKey string, n int, v6 bool) error {
	at := p.i
	if p.i >= len(p.b) {
		return p.eof()
	}
	if p.b[p.i] != '{' {
		return p.errAt(p.i, "%s[%d]: want an object, found %s", list, n, p.describe())
	}
	p.i++
	var e Prefix
	var havePrefix, haveRegion, haveService bool
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
	} else {
		for {
			p.ws()
			kb, err := p.raw()
			if err != nil {
				return err
			}
			if err := p.expect(':', `":" after a key`); err != nil {
				return err
			}
			p.ws()
			valOff := p.i
			switch string(kb) {
			case prefixKey:
				vb, err := p.entryField(list, n, prefixKey)
				if err != nil {
					return err
				}
				v := string(vb)
				pp, err := netip.ParsePrefix(v)
				if err != nil {
					return p.errAt(valOff, "%s[%d].%s: invalid CIDR %q", list, n, prefixKey, v)
				}
				if pp.Addr().Is6() != v6 || pp.Addr().Is4In6() {
					fam := "IPv4"
					if v6 {
						fam = "IPv6"
					}
					return p.errAt(valOff, "%s[%d].%s: %q is not an %s prefix", list, n, prefixKey, v, fam)
				}
				if pp.Masked() != pp {
					return p.errAt(valOff, "%s[%d].%s: %q has host bits set (want %s)", list, n, prefixKey, v, pp.Masked())
				}
				e.Prefix, havePrefix = pp, true
			case "region":
				if e.Region, err = p.nameField(list, n, "region", valOff); err != nil {
					return err
				}
				haveRegion = true
			case "service":
				if e.Service, err = p.nameField(list, n, "service", valOff); err != nil {
					return err
				}
				haveService = true
			case "network_border_group":
				if e.NetworkBorderGroup, err = p.nameField(list, n, "network_border_group", valOff); err != nil {
					return err
				}
			default:
				if err := p.skip(1); err != nil {
					return err
				}
			}
			if more, err := p.next('}'); err != nil {
				return err
			} else if !more {
				break
			}
		}
	}
	switch {
	case !havePrefix:
		return p.errAt(at, "%s[%d]: missing %q", list, n, prefixKey)
	case !haveRegion:
		return p.errAt(at, "%s[%d]: missing \"region\"", list, n)
	case !haveService:
		return p.errAt(at, "%s[%d]: missing \"service\"", list, n)
	}
	s.Prefixes = append(s.Prefixes, e)
	return nil
}

// validName accepts the names AWS uses: letters, digits, '-' and '_'
// (services are upper case, regions and border groups lower case, plus
// "GLOBAL"); at most 64 bytes.
// nameField reads the name-valued key of entry list[n] (region, service,
// network_border_group), interned, and checks it is a valid name.
func (p *parser) nameField(list string, n int, key string, valOff int) (string, error) {
	vb, err := p.entryField(list, n, key)
	if err != nil {
		return "", err
	}
	v := p.internBytes(vb)
	if !validName(v) {
		return "", p.errAt(valOff, "%s[%d].%s: invalid %s name %q", list, n, key, key, v)
	}
	return v, nil
}

func validName(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// validSyncToken checks the publication time in Unix seconds, as a string.
func validSyncToken(v string) error {
	if v == "" {
		return fmt.Errorf("empty (want Unix seconds)")
	}
	if len(v) > 12 {
		return fmt.Errorf("too long (want Unix seconds)")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return fmt.Errorf("not a number of Unix seconds")
		}
	}
	return nil
}

// ParseCreateDate parses a createDate ("yyyy-mm-dd-hh-mm-ss", UTC).
func ParseCreateDate(v string) (time.Time, error) {
	t, err := time.Parse(CreateDateLayout, v)
	if err != nil || len(v) != len(CreateDateLayout) {
		return time.Time{}, fmt.Errorf("createDate %q: want yyyy-mm-dd-hh-mm-ss (UTC)", v)
	}
	if t.Year() < 2010 {
		return time.Time{}, fmt.Errorf("createDate %q: before AWS published ip-ranges.json", v)
	}
	return t.UTC(), nil
}
