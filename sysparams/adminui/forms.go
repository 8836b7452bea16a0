package adminui

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/sysparams"
)

// An applier copies one section's form into p. It only reports values
// that cannot be converted (a port that is not a number), naming the
// field; everything else is left to Params.Validate, so the messages are
// the library's.
type applier func(p *sysparams.Params, f url.Values) error

// appliers maps each section with a form to its applier.
var appliers = map[string]applier{
	sysparams.SectionTelephony:      applyTelephony,
	sysparams.SectionEmail:          applyEmail,
	sysparams.SectionNumberingPlan:  applyNumberingPlan,
	sysparams.SectionAuthentication: applyAuthentication,
	sysparams.SectionProxy:          applyProxy,
	sysparams.SectionCertificate:    applyCertificate,
	sysparams.SectionCloud:          applyCloud,
	sysparams.SectionWebServer:      applyWebServer,
}

// form reads one section's fields, collecting conversion problems.
type form struct {
	v url.Values
	l fielderr.List
}

// text returns the field trimmed of surrounding spaces (browsers keep
// pasted spaces; no field of the parameters wants them).
func (f *form) text(name string) string { return strings.TrimSpace(f.v.Get(name)) }

func (f *form) check(name string) bool { return f.v.Has(name) }

// number parses an integer field; empty is 0.
func (f *form) number(name string, cur int) int {
	s := f.text(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f.l.Add(name, "must be a whole number, got %q", clip(s))
		return cur
	}
	return n
}

// lines splits a textarea into its non-empty lines; nil when empty.
func (f *form) lines(name string) []string {
	var out []string
	for _, l := range strings.Split(f.v.Get(name), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// secret applies "leave empty to keep": an empty password input keeps the
// stored secret, a value replaces it, and the clear checkbox (name
// "<field>.clear") removes it. Secrets are not trimmed: spaces may be
// part of a password.
func (f *form) secret(name string, cur *sysparams.Secret) {
	if f.check(name + ".clear") {
		*cur = sysparams.NewSecret("")
		return
	}
	if v := f.v.Get(name); v != "" {
		*cur = sysparams.NewSecret(v)
	}
}

// boundSecret is secret for a credential that belongs to a destination
// (the SMTP server, the Office 365 login URL, a proxy). A stored secret is
// only ever sent where it was saved for: when moved names a destination
// whose value the form changes (moved says which, in words) and the
// password input is empty, the stored secret is not carried over. If the
// form still uses the secret (used), that is a field error asking for it
// again; otherwise the stored secret is dropped, so that it cannot follow the new destination later.
// Without this, anyone with access to the pages could point "Test
// connection" (or the saved settings) at a server of theirs and receive
// a password the pages never show.
func (f *form) boundSecret(name string, cur *sysparams.Secret, moved string, used bool) {
	if f.check(name+".clear") || f.v.Get(name) != "" || moved == "" || !cur.IsSet() {
		f.secret(name, cur)
		return
	}
	if used {
		f.l.Add(name, "type it again: %s changed, and a stored secret is only sent to the destination it was saved for", moved)
		return
	}
	*cur = sysparams.NewSecret("")
}

// changed returns what (the destination, in words) when the form changes
// a destination value (compared case-insensitively: host names and URLs),
// else "". An empty
// old value is a destination too: the default Office 365 login URL, or
// none at all.
func changed(what, old, now string) string {
	if strings.EqualFold(old, now) {
		return ""
	}
	return what
}

// cloudName is the Office 365 cloud with its default spelled out.
func cloudName(c o365.Cloud) string {
	if c == "" {
		return "global"
	}
	return string(c)
}

// clip shortens a user value quoted in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func applyTelephony(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	p.Telephony.SystemName = f.text("telephony.system_name")
	p.Telephony.PBXAddress = f.text("telephony.pbx_address")
	return f.l.Err()
}

func applyEmail(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	e := &p.Email
	oldServer, o := e.Server, &e.O365
	oldAuth, oldExch, oldCloud := o.AuthURL, o.ServerURL, cloudName(o.Cloud)
	e.Enabled = f.check("email.enabled")
	e.Protocol = sysparams.Protocol(f.text("email.protocol"))
	e.From = f.text("email.from")
	e.Server = f.text("email.server")
	e.Port = f.number("email.port", e.Port)
	e.Security = sysparams.Security(f.text("email.security"))
	e.UseAuth = f.check("email.use_auth")
	e.Username = f.text("email.username")
	e.Proxy = sysparams.ProxyChoice(f.text("email.proxy"))
	o.ClientID = f.text("email.o365.client_id")
	o.TenantID = f.text("email.o365.tenant_id")
	o.Address = f.text("email.o365.address")
	o.Mode = o365.Mode(f.text("email.o365.mode"))
	o.Cloud = o365.Cloud(f.text("email.o365.cloud"))
	o.AuthURL = f.text("email.o365.auth_url")
	o.ServerURL = f.text("email.o365.server_url")
	f.boundSecret("email.password", &e.Password, changed("the server", oldServer, e.Server),
		e.UseAuth && e.Protocol != sysparams.ProtocolO365)
	moved := changed("the authentication URL", oldAuth, o.AuthURL)
	if moved == "" {
		moved = changed("the server URL", oldExch, o.ServerURL)
	}
	if moved == "" {
		moved = changed("the cloud", oldCloud, cloudName(o.Cloud))
	}
	f.boundSecret("email.o365.client_secret", &o.ClientSecret, moved, e.Protocol == sysparams.ProtocolO365)
	return f.l.Err()
}

func applyNumberingPlan(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	n := &p.NumberingPlan
	n.UseDefaults = f.check("numbering_plan.use_defaults")
	if n.UseDefaults {
		// The seed: "to be able to modify a parameter, you have to
		// deselect Use default settings". The other fields keep their
		// stored values, ready for when defaults are turned off.
		return nil
	}
	n.InternalPatterns = f.lines("numbering_plan.internal_patterns")
	n.PatternDialect = numplan.Dialect(f.text("numbering_plan.pattern_dialect"))
	n.MatchMode = numplan.MatchMode(f.text("numbering_plan.match_mode"))
	n.E164Dialing = f.check("numbering_plan.e164_dialing")
	n.LocalCountryCode = f.text("numbering_plan.local_country_code")
	n.InternationalPrefix = f.text("numbering_plan.international_prefix")
	n.IncomingPrefix = f.text("numbering_plan.incoming_prefix")
	n.OutgoingPrefix = f.text("numbering_plan.outgoing_prefix")
	n.OutgoingSuffix = f.text("numbering_plan.outgoing_suffix")
	n.TAPIIncludesPrefix = f.check("numbering_plan.tapi_includes_prefix")
	return f.l.Err()
}

func applyAuthentication(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	a := &p.Authentication
	a.Order = authchain.Order(f.text("authentication.order"))
	a.RememberUser = f.text("authentication.remember_user") == "true"
	if s := f.text("authentication.inactivity_timeout"); s == "" {
		a.InactivityTimeout = 0
	} else if d, err := authchain.ParseDuration(s); err != nil {
		f.l.Add("authentication.inactivity_timeout", "must be a duration such as 8d or 36h, got %q", clip(s))
	} else {
		a.InactivityTimeout = d
	}
	return f.l.Err()
}

func applyProxy(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	h, s := &p.Proxy.HTTP, &p.Proxy.SOCKS
	oldHTTP, oldSOCKS := h.Address, s.Address
	h.Address = f.text("proxy.http.address")
	h.Port = f.number("proxy.http.port", h.Port)
	h.Username = f.text("proxy.http.username")
	f.boundSecret("proxy.http.password", &h.Password, changed("the proxy address", oldHTTP, h.Address), h.Address != "")
	h.TLS = f.check("proxy.http.tls")
	s.Address = f.text("proxy.socks.address")
	s.Port = f.number("proxy.socks.port", s.Port)
	switch ver := f.text("proxy.socks.version"); ver {
	case "4":
		s.Version = 4
	case "5", "":
		s.Version = 5
	default:
		f.l.Add("proxy.socks.version", "must be 4 or 5, got %q", clip(ver))
	}
	s.Username = f.text("proxy.socks.username")
	f.boundSecret("proxy.socks.password", &s.Password, changed("the proxy address", oldSOCKS, s.Address), s.Address != "")
	p.Proxy.Bypass = f.lines("proxy.bypass")
	if s.Address == "" && s.Port == 0 && s.Username == "" && !s.Password.IsSet() {
		// A disabled SOCKS proxy keeps no version, so an empty section
		// stays the zero value ("no proxy").
		s.Version = 0
	}
	return f.l.Err()
}

func applyCertificate(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	c := &p.Certificate
	c.KeyType = certgen.KeyType(f.text("certificate.key_type"))
	c.ValidityYears = f.number("certificate.validity_years", c.ValidityYears)
	c.Organization = f.text("certificate.organization")
	c.ExtraNames = f.lines("certificate.extra_names")
	c.RegenerateOnRename = f.check("certificate.regenerate_on_rename")
	return f.l.Err()
}

func applyCloud(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	p.Cloud.ClientID = f.text("cloud.client_id")
	f.secret("cloud.client_secret", &p.Cloud.ClientSecret)
	return f.l.Err()
}

func applyWebServer(p *sysparams.Params, v url.Values) error {
	f := &form{v: v}
	p.WebServer.BaseURL = f.text("web_server.base_url")
	return f.l.Err()
}
