//go:build linux

package netlab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/safefile"
)

// Lab file names, in Dir.
const (
	FileConfig    = "lab.yaml"        // the check's --config
	FileRanges    = "lab-ranges.json" // the check's --ranges (ip-ranges.json format)
	FileCreds     = "creds.json"      // the check's --ice-servers
	FileBadCreds  = "bad-creds.json"  // the same servers with a wrong password
	FileCA        = "lab-ca.pem"      // the lab CA the config trusts
	FileLabdState = "labd.json"       // labd's modes (faults), reloaded on SIGHUP
	DirWWW        = "www"             // files labd serves over plain HTTP on Web:80 (PAC, wpad.dat)
	LabRegion     = "us-east-1"
	rogueCAName   = "Corp TLS Inspection CA"
	labCAName     = "ccp-preflight lab CA"
)

// LabdState is labd's behaviour: which names answer NXDOMAIN, which are
// hijacked to another address, whether HTTPS presents the rogue chain,
// whether DNS answers at all.
type LabdState struct {
	// Zone maps each name to its address.
	Zone map[string]string `json:"zone"`
	// NXDomain names answer NXDOMAIN.
	NXDomain []string `json:"nxdomain,omitempty"`
	// Hijack maps names to the address DNS answers instead.
	Hijack map[string]string `json:"hijack,omitempty"`
	// Intercept makes the HTTPS endpoints present a certificate from an
	// unknown CA (TLS inspection).
	Intercept bool `json:"intercept,omitempty"`
	// DNSDown stops answering DNS (the socket is closed: port unreachable).
	DNSDown bool `json:"dns_down,omitempty"`
	// Gen numbers the state: labd writes it to labd.applied once it has
	// applied this state, so WriteLabdState returns only then.
	Gen int64 `json:"gen,omitempty"`
}

// Env is the environment the check runs with inside the lab: the lab CA is
// this computer's system trust store (SSL_CERT_FILE), as a public CA is on
// a real one. (ca_files in lab.yaml trusts it too; a chain trusted only
// through ca_files is reported by tls.handshake as TLS inspection.)
func (l *Lab) Env() []string { return []string{"SSL_CERT_FILE=" + l.File(FileCA)} }

func (l *Lab) turnPassword() string {
	b, _ := os.ReadFile(l.File("turn.secret"))
	return strings.TrimSpace(string(b))
}

// ReadLabdState reads labd.json.
func (l *Lab) ReadLabdState() (LabdState, error) {
	var s LabdState
	b, err := os.ReadFile(l.File(FileLabdState))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// WriteLabdState writes labd.json atomically (a reader never sees it half
// written) and, when labd runs, makes it reload and waits until labd says
// it applied this state (labd.applied holds its Gen): a fault is in force
// when On returns.
func (l *Lab) WriteLabdState(s LabdState) error {
	s.Gen = time.Now().UnixNano()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := safefile.Replace(l.File(FileLabdState), b, 0o644, false); err != nil {
		return err
	}
	if l.PIDs["labd"] <= 0 {
		return nil
	}
	if err := l.reloadLabd(); err != nil {
		return err
	}
	want := strconv.FormatInt(s.Gen, 10)
	deadline := time.Now().Add(cmdBudget)
	for next := time.Now(); ; next = next.Add(time.Second) {
		if b, err := os.ReadFile(l.File(fileLabdApplied)); err == nil && strings.TrimSpace(string(b)) == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netlab: labd did not apply %s in %v: %s", FileLabdState, cmdBudget, l.logTail("labd"))
		}
		if time.Now().After(next) {
			// A signal sent while labd was busy may have merged with an
			// earlier one: ask again, once a second.
			_ = l.reloadLabd()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fileLabdApplied is where labd writes the Gen of the state it applied.
const fileLabdApplied = "labd.applied"

func writeFiles(l *Lab) error {
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	pass := hex.EncodeToString(secret)
	if err := os.WriteFile(l.File("turn.secret"), []byte(pass), 0o600); err != nil {
		return err
	}

	// PKI: the lab CA signs the web and TURN certificates; a rogue CA (as
	// a TLS-inspecting proxy has) signs the interception certificate.
	ca, caKey, err := makeCA(labCAName)
	if err != nil {
		return err
	}
	rogue, rogueKey, err := makeCA(rogueCAName)
	if err != nil {
		return err
	}
	if err := writePEM(l.File(FileCA), "CERTIFICATE", ca.Raw, 0o644); err != nil {
		return err
	}
	webIPs := []net.IP{net.ParseIP(Web), net.ParseIP(Hijacked), net.ParseIP(Signal)}
	webNames := append(append([]string(nil), WebNames...), SignalName)
	if err := issue(l, "web", ca, caKey, webNames, webIPs); err != nil {
		return err
	}
	if err := issue(l, "rogue", rogue, rogueKey, webNames, webIPs); err != nil {
		return err
	}
	if err := issue(l, "turn", ca, caKey, TURNNames, []net.IP{net.ParseIP(TURN1), net.ParseIP(TURN2)}); err != nil {
		return err
	}

	// The check's config: every target in the lab.
	var https, turns []string
	for _, n := range WebNames {
		https = append(https, fmt.Sprintf("%q", n+":443"))
	}
	for _, n := range TURNNames {
		turns = append(turns, fmt.Sprintf("%q", fmt.Sprintf("%s:%d", n, TURNPort)))
	}
	yaml := fmt.Sprintf(`# ccp-preflight config for the netlab (made by netlab; see docs/LAB.md)
region: %s
resolver: %s:53
ca_files: [%s]
https_endpoints: [%s]
turn_servers: [%s]
ice_servers_file: %s
signaling_url: %s
timeout: 3s
`, LabRegion, DNS, FileCA, strings.Join(https, ", "), strings.Join(turns, ", "), FileCreds, SignalingURL)
	if err := os.WriteFile(l.File(FileConfig), []byte(yaml), 0o644); err != nil {
		return err
	}
	if err := writeCreds(l.File(FileCreds), pass); err != nil {
		return err
	}
	if err := writeCreds(l.File(FileBadCreds), "not-the-password"); err != nil {
		return err
	}
	if err := writeRanges(l.File(FileRanges), time.Now()); err != nil {
		return err
	}
	zone := map[string]string{TURNNames[0]: TURN1, TURNNames[1]: TURN2}
	for _, n := range WebNames {
		zone[n] = Web
	}
	zone[SignalName] = Signal
	return l.WriteLabdState(LabdState{Zone: zone})
}

// writeCreds writes the CCP's iceServers shape: TURN over UDP to both
// servers and TURN over TLS to the first.
func writeCreds(path, pass string) error {
	type ice struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	}
	v := []ice{{
		URLs: []string{
			fmt.Sprintf("turn:%s:%d?transport=udp", TURNNames[0], TURNPort),
			fmt.Sprintf("turns:%s:%d?transport=tcp", TURNNames[0], TURNTLSPort),
		},
		Username: TURNUser, Credential: pass,
	}}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// writeRanges writes an ip-ranges.json holding the lab's cloud addresses:
// TURN in AMAZON_CONNECT, the web endpoint in EC2 and CLOUDFRONT (each also
// in AMAZON, as AWS's file does). Hijacked is deliberately absent.
func writeRanges(path string, now time.Time) error {
	type prefix struct {
		IPPrefix string `json:"ip_prefix"`
		Region   string `json:"region"`
		Service  string `json:"service"`
		NBG      string `json:"network_border_group"`
	}
	var ps []prefix
	add := func(ip, svc string) {
		ps = append(ps, prefix{ip + "/32", LabRegion, svc, LabRegion})
	}
	for _, ip := range []string{TURN1, TURN2} {
		add(ip, "AMAZON")
		add(ip, "AMAZON_CONNECT")
	}
	add(Web, "AMAZON")
	add(Web, "EC2")
	add(Web, "CLOUDFRONT")
	add(Signal, "AMAZON")
	add(Signal, "EC2")
	doc := map[string]any{
		"syncToken":     fmt.Sprint(now.Unix()),
		"createDate":    now.UTC().Format("2006-01-02-15-04-05"),
		"prefixes":      ps,
		"ipv6_prefixes": []any{},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func makeCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

// issue writes NAME.pem (leaf then CA) and NAME.key.
func issue(l *Lab, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dns []string, ips []net.IP) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: dns[0]},
		DNSNames:     dns,
		IPAddresses:  ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
	if err := os.WriteFile(l.File(name+".pem"), chain, 0o644); err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(l.File(name+".key"), "EC PRIVATE KEY", kb, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
