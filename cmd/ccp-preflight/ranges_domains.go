package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
)

// domainOpts are the flags of `ranges export --format domains|squid`.
type domainOpts struct {
	instance, signin, replica *string
	saml                      *bool
}

func domainFlags(fs *flag.FlagSet) domainOpts {
	return domainOpts{
		instance: fs.String("instance", "", "domains|squid: instance alias or URL (its own domains instead of *.my.connect.aws)"),
		saml:     fs.Bool("saml", false, "domains|squid: the instance uses SAML (--saml=false: it does not; absent: both CloudFront sets)"),
		signin:   fs.String("signin", "", "domains|squid: new adds the new sign-in experience's domains"),
		replica:  fs.String("replica-region", "", "domains|squid: Global Resiliency replica `REGION`"),
	}
}

// exportDomains writes the Option 1 domain allowlist (catalog.Domains) in
// format; every bad flag is an input error (exit 2) naming it.
func exportDomains(fs *flag.FlagSet, format, region string, d domainOpts, stdout, stderr io.Writer) int {
	in := func(msg string, a ...any) int {
		return fail(stderr, "ranges export", &config.InputError{Msg: fmt.Sprintf(msg, a...)})
	}
	if region == "" {
		return in("--region is required (the Amazon Connect instance's region, e.g. us-east-1)")
	}
	if _, err := catalog.Lookup(region); err != nil {
		return in("--region: %v", err)
	}
	alias, err := catalog.ParseInstance(*d.instance)
	if err != nil {
		return in("%v", err)
	}
	o := catalog.Options{Region: region, Alias: alias, Replica: *d.replica}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "saml" {
			o.SAML = d.saml
		}
	})
	switch strings.ToLower(*d.signin) {
	case "", "classic":
	case "new":
		o.NewSignIn = true
	default:
		return in("--signin %q: want new or classic", *d.signin)
	}
	if o.Replica != "" {
		if _, err := catalog.Lookup(o.Replica); err != nil {
			return in("--replica-region: %v", err)
		}
		if err := catalog.CheckReplica(region, o.Replica); err != nil {
			return in("--replica-region: %v", err)
		}
	}
	ds, err := catalog.Domains(o)
	if err != nil {
		return in("%v", err)
	}
	title := "ccp-preflight " + Version() + ": region " + region
	if alias != "" {
		title += ", instance " + alias
	}
	switch {
	case o.SAML == nil:
		title += ", SAML unknown (both CloudFront sets)"
	case *o.SAML:
		title += ", SAML"
	default:
		title += ", no SAML"
	}
	if o.NewSignIn {
		title += ", new sign-in"
	}
	if o.Replica != "" {
		title += ", replica " + o.Replica
	}
	if err := catalog.WriteDomains(stdout, format, title, ds); err != nil {
		return fail(stderr, "ranges export", err)
	}
	return exitOK
}
