//go:build windows

package probe

import (
	"encoding/base64"
	"strings"

	"github.com/alexbrainman/sspi"
	"github.com/alexbrainman/sspi/negotiate"
	"github.com/alexbrainman/sspi/ntlm"
	"github.com/ccp-preflight/ccp-preflight/config"
)

// On Windows, Negotiate (Kerberos, else NTLM) and NTLM go through SSPI
// with the logged-in user's credentials, as Edge and Chrome do: the
// agent's single sign-on. Credentials given in a file or the environment
// are used instead when present.
func init() { sspiAuthenticator = newSSPIAuth }

// sspiAuth is one SSPI client context for one proxy connection.
type sspiAuth struct {
	scheme string
	target string // the proxy's service principal name: HTTP/host
	creds  config.ProxyCredentials
	cred   *sspi.Credentials
	neg    *negotiate.ClientContext
	nt     *ntlm.ClientContext
}

func newSSPIAuth(scheme, proxyHost string, creds config.ProxyCredentials) authenticator {
	if scheme != "Negotiate" && scheme != "NTLM" {
		return nil
	}
	return &sspiAuth{scheme: scheme, target: "HTTP/" + proxyHost, creds: creds}
}

func (a *sspiAuth) Scheme() string { return a.scheme }

func (a *sspiAuth) Next(challenge []byte) (string, bool, error) {
	if challenge == nil {
		if err := a.acquire(); err != nil {
			return "", true, err
		}
		var (
			tok []byte
			err error
		)
		if a.scheme == "Negotiate" {
			a.neg, tok, err = negotiate.NewClientContext(a.cred, a.target)
		} else {
			a.nt, tok, err = ntlm.NewClientContext(a.cred)
		}
		return base64.StdEncoding.EncodeToString(tok), false, err
	}
	if a.scheme == "Negotiate" {
		if a.neg == nil {
			return "", true, errNoContext
		}
		done, tok, err := a.neg.Update(challenge)
		return base64.StdEncoding.EncodeToString(tok), done, err
	}
	if a.nt == nil {
		return "", true, errNoContext
	}
	tok, err := a.nt.Update(challenge)
	return base64.StdEncoding.EncodeToString(tok), true, err
}

func (a *sspiAuth) acquire() error {
	var err error
	user := a.creds.Username.Reveal()
	domain := ""
	if d, u, ok := strings.Cut(user, `\`); ok {
		domain, user = d, u
	}
	switch {
	case a.creds.Given() && a.scheme == "Negotiate":
		a.cred, err = negotiate.AcquireUserCredentials(domain, user, a.creds.Password.Reveal())
	case a.creds.Given():
		a.cred, err = ntlm.AcquireUserCredentials(domain, user, a.creds.Password.Reveal())
	case a.scheme == "Negotiate":
		a.cred, err = negotiate.AcquireCurrentUserCredentials()
	default:
		a.cred, err = ntlm.AcquireCurrentUserCredentials()
	}
	return err
}
