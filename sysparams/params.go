package sysparams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/proxycfg"
)

// Section names: the JSON names of the sections of Params, in the order of
// the seed's "System parameters" page.
const (
	SectionTelephony      = "telephony"
	SectionEmail          = "email"
	SectionNumberingPlan  = "numbering_plan"
	SectionAuthentication = "authentication"
	SectionProxy          = "proxy"
	SectionCertificate    = "certificate"
	SectionCloud          = "cloud"
	SectionWebServer      = "web_server"
)

// Sections lists the section names in page order.
var Sections = []string{
	SectionTelephony, SectionEmail, SectionNumberingPlan, SectionAuthentication,
	SectionProxy, SectionCertificate, SectionCloud, SectionWebServer,
}

// Params is the whole "System Parameters" set: one section per part of the
// seed's admin page. Its JSON form uses the section and field names
// documented on each type; secrets marshal redacted (stores encrypt them
// explicitly, see Keyring and Document).
//
// Use Defaults for a fresh set: the zero value lacks the documented
// defaults (remember_user true, port 25, ...). Decoding JSON into a Params
// starts from Defaults, so a missing field keeps its default, and refuses
// unknown fields so that a typo in a hand-edited file is reported.
//
// A Params value is not safe for concurrent mutation; stores hand out
// copies.
type Params struct {
	// Telephony is the IP telephony section (system name, PBX address).
	Telephony Telephony `json:"telephony"`
	// Email is the outgoing email section (SMTP or Office 365).
	Email Email `json:"email"`
	// NumberingPlan is the numbering plan (numplan.Config; default
	// use_defaults true).
	NumberingPlan numplan.Config `json:"numbering_plan"`
	// Authentication is the users authentication order and session
	// settings.
	Authentication Authentication `json:"authentication"`
	// Proxy is the HTTP and SOCKS proxy settings (proxycfg.Config; default
	// none). Mail uses the proxy that email.proxy selects; cloud calls use
	// HTTPClient.
	Proxy proxycfg.Config `json:"proxy"`
	// Certificate is the secure communications certificate settings.
	Certificate Certificate `json:"certificate"`
	// Cloud is the vendor cloud services credentials.
	Cloud Cloud `json:"cloud"`
	// WebServer is the web server base URL.
	WebServer WebServer `json:"web_server"`
}

// Defaults returns a new parameter set with every documented default:
// email disabled with protocol smtp, port 25, security auto, proxy none,
// Office 365 mode graph on the global cloud; the numbering plan's defaults;
// order "sso>local", remember_user true, inactivity 8 days; no proxy;
// certificate rsa2048 for 5 years in "certs"; no cloud credentials; the
// default web URL. Telephony has no defaults: system_name and pbx_address
// are mandatory, so Defaults() alone does not validate.
func Defaults() *Params {
	return &Params{
		Email: Email{
			Protocol: ProtocolSMTP,
			Port:     25,
			Security: SecurityAuto,
			Proxy:    ProxyNone,
			O365:     O365{Mode: o365.ModeGraph, Cloud: o365.CloudGlobal},
		},
		NumberingPlan: numplan.Config{UseDefaults: true},
		Authentication: Authentication{
			Order:             DefaultOrder,
			RememberUser:      true,
			InactivityTimeout: Duration(DefaultInactivityTimeout),
		},
		Certificate: Certificate{KeyType: certgen.KeyRSA2048, ValidityYears: certgen.DefaultValidityYears},
	}
}

// UnmarshalJSON decodes over Defaults (a missing field keeps its default)
// and refuses unknown fields.
func (p *Params) UnmarshalJSON(b []byte) error {
	type plain Params
	v := (*plain)(Defaults())
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// Name the fields ("email.port: must be a JSON number, got
		// string", "email: unknown field \"x\""), which encoding/json's
		// messages do not.
		var l fielderr.List
		decodeInto(reflect.ValueOf(Defaults()).Elem(), "", b, &l, map[string]bool{})
		if probs := fielderr.Flatten(l.Err()); len(probs) > 0 {
			texts := make([]string, len(probs))
			for i, e := range probs {
				texts[i] = e.Error()
			}
			return &wrapError{msg: "sysparams: " + strings.Join(texts, "; "), err: err}
		}
		return wrap("sysparams", err)
	}
	if dec.More() {
		return fmt.Errorf("sysparams: trailing data after the parameter object")
	}
	*p = Params(*v)
	return nil
}

// Validate reports every problem of every section at once, each naming its
// field by its dotted JSON path ("email.port: must be 1-65535, got 70000"),
// joined with errors.Join. Each section's own validation is reused; the
// checks between sections (a mail proxy that is not configured) are added
// here. It returns nil when the set is valid.
func (p *Params) Validate() error {
	var l fielderr.List
	l.Merge(SectionTelephony, p.Telephony.Validate())
	l.Merge(SectionEmail, p.Email.Validate())
	l.Merge(SectionNumberingPlan, p.NumberingPlan.Validate())
	l.Merge(SectionAuthentication, p.Authentication.Validate())
	l.Merge(SectionProxy, p.Proxy.Validate())
	l.Merge(SectionCertificate, p.Certificate.Validate())
	l.Merge(SectionCloud, p.Cloud.Validate())
	l.Merge(SectionWebServer, p.WebServer.Validate())
	switch p.Email.Proxy {
	case ProxyHTTP:
		if !p.Proxy.HTTP.Enabled() {
			l.Add("email.proxy", "http selected but proxy.http is not configured")
		}
	case ProxySOCKS:
		if !p.Proxy.SOCKS.Enabled() {
			l.Add("email.proxy", "socks selected but proxy.socks is not configured")
		}
	}
	return l.Err()
}

// Forget clears a section that has a "Forget" button in the seed: "cloud"
// (removes the credentials) or "web_server" (reverts to the default URL).
func (p *Params) Forget(section string) error {
	switch section {
	case SectionCloud:
		p.Cloud.Forget()
	case SectionWebServer:
		p.WebServer.Forget()
	default:
		return fmt.Errorf("sysparams: forget: section must be cloud or web_server, got %q", section)
	}
	return nil
}

// Clone returns a deep copy of p, secrets included: the sections are
// copied and every list and pointer reached through exported fields is
// duplicated, so the copy shares nothing the caller can change. The error
// is always nil; it is kept for copies that may fail in a later version.
func (p *Params) Clone() (*Params, error) {
	q := new(Params)
	deepCopy(reflect.ValueOf(q).Elem(), reflect.ValueOf(p).Elem())
	return q, nil
}

// deepCopy copies src into the settable dst, duplicating pointers, slices
// and maps reached through exported fields.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			dst.Set(reflect.Zero(src.Type()))
			return
		}
		n := reflect.New(src.Type().Elem())
		deepCopy(n.Elem(), src.Elem())
		dst.Set(n)
	case reflect.Struct:
		dst.Set(src)
		t := src.Type()
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			dst.Set(reflect.Zero(src.Type()))
			return
		}
		n := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			deepCopy(n.Index(i), src.Index(i))
		}
		dst.Set(n)
	case reflect.Array:
		for i := 0; i < src.Len(); i++ {
			deepCopy(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if src.IsNil() {
			dst.Set(reflect.Zero(src.Type()))
			return
		}
		n := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, it.Value())
			n.SetMapIndex(it.Key(), v)
		}
		dst.Set(n)
	default:
		dst.Set(src)
	}
}
