package adminui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"github.com/ucxkit/ucxkit/sysparams"
)

// Lost updates: every section form carries a stamp of the section as it
// was stored when the page was rendered. A save whose stamp no longer
// matches (someone else saved the section in between, in another tab or
// from another browser) is refused with 409 and the current values, so
// that nobody silently overwrites a change they never saw. A form without
// a stamp (a script posting fields) is applied as before.

// stampField is the hidden form field that carries the section stamp.
const stampField = "section_stamp"

// sectionValue returns the part of p that a section's form edits.
func sectionValue(p *sysparams.Params, name string) any {
	switch name {
	case sysparams.SectionTelephony:
		return p.Telephony
	case sysparams.SectionEmail:
		return p.Email
	case sysparams.SectionNumberingPlan:
		return p.NumberingPlan
	case sysparams.SectionAuthentication:
		return p.Authentication
	case sysparams.SectionProxy:
		return p.Proxy
	case sysparams.SectionCertificate:
		return p.Certificate
	case sysparams.SectionCloud:
		return p.Cloud
	case sysparams.SectionWebServer:
		return p.WebServer
	}
	return nil
}

// sectionSecrets are the secret paths of each section; their JSON is
// redacted, so they enter the stamp on their own.
var sectionSecrets = map[string][]string{
	sysparams.SectionEmail: {"email.password", "email.o365.client_secret"},
	sysparams.SectionProxy: {"proxy.http.password", "proxy.socks.password"},
	sysparams.SectionCloud: {"cloud.client_secret"},
}

// stamp is HMAC-SHA256(csrfKey, section name, section JSON, secrets):
// keyed, so the page reveals nothing about the secrets it covers.
func (h *handler) stamp(p *sysparams.Params, name string) string {
	v := sectionValue(p, name)
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte("adminui-stamp-v1\x00" + name + "\x00"))
	m.Write(b)
	for _, s := range sectionSecrets[name] {
		sum := sha256.Sum256([]byte(secretAt(p, s).Reveal()))
		m.Write([]byte{0})
		m.Write(sum[:])
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// stale reports whether the form's stamp (when it has one) no longer
// matches the stored section.
func (h *handler) stale(p *sysparams.Params, name, formStamp string) bool {
	if formStamp == "" {
		return false
	}
	return !hmac.Equal([]byte(formStamp), []byte(h.stamp(p, name)))
}
