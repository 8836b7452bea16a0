package sysparams

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// Restart says what must be restarted for a change to take effect.
type Restart int

// Restart levels, from none to the whole host; a change that touches
// several sections reports the highest.
const (
	// RestartNone: the change applies live; subscribers rebuild their
	// objects (a new mail sender, a new normalizer).
	RestartNone Restart = iota
	// RestartServices: the seed's "any change to IP Telephony parameters
	// requires stopping and restarting each service".
	RestartServices
	// RestartHost: the seed's "every time you apply a new proxy
	// configuration, reboot the server". A host whose subscribers rebuild
	// every proxied transport (HTTP clients, dialers) may treat it as
	// RestartNone; processes that captured the old transport must restart.
	RestartHost
)

var restartNames = [...]string{"none", "services", "host"}

// String returns "none", "services" or "host".
func (r Restart) String() string {
	if r >= 0 && int(r) < len(restartNames) {
		return restartNames[r]
	}
	return "unknown"
}

// MarshalText writes the String form.
func (r Restart) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Change describes one saved update: which fields changed and what must be
// restarted. Subscribers receive it after the new parameters are durable.
type Change struct {
	// Revision is the stored revision after the change.
	Revision int64 `json:"revision"`
	// Sections lists the changed sections, in page order (Sections).
	Sections []string `json:"sections"`
	// Fields lists the changed fields by dotted JSON path, sorted. A secret
	// appears by path when its value changed; the value never does.
	Fields []string `json:"fields"`
	// Restart is the highest restart level the changed sections need.
	Restart Restart `json:"restart"`
	// Notes are the seed's warnings that apply to this change, for the
	// administrator ("Every time you apply a new proxy configuration,
	// reboot the server to enable it.").
	Notes []string `json:"notes,omitempty"`
	// Old and New are the parameters before and after. They are shared by
	// every subscriber: read them, never modify them.
	Old *Params `json:"-"`
	New *Params `json:"-"`
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool { return len(c.Fields) == 0 }

// Has reports whether the section (or field path prefix, such as
// "email.o365") changed.
func (c Change) Has(prefix string) bool {
	for _, f := range c.Fields {
		if f == prefix || strings.HasPrefix(f, prefix+".") || strings.HasPrefix(f, prefix+"[") {
			return true
		}
	}
	return false
}

// Seed warnings attached to changes.
const (
	NoteTelephony   = "IP telephony parameters changed: stop and restart each service."
	NoteProxy       = "Proxy configuration changed: reboot the server (or rebuild every proxied client) to apply it."
	NoteCertificate = "Certificate settings changed: they apply when the certificate is next generated; regenerate it and upload the new .pem to the PBX."
	NoteWebServer   = "Web server URL changed: it must match a certificate for the new name."
)

// Diff compares two parameter sets and returns the change from old to new
// (Revision 0). Both may be nil (treated as Defaults).
func Diff(old, new *Params) Change {
	if old == nil {
		old = Defaults()
	}
	if new == nil {
		new = Defaults()
	}
	a, b := flatten(old), flatten(new)
	set := map[string]bool{}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			set[k] = true
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			set[k] = true
		}
	}
	sa, sb := map[string]Secret{}, map[string]Secret{}
	for _, f := range secretFields(old) {
		sa[f.path] = f.get()
	}
	for _, f := range secretFields(new) {
		sb[f.path] = f.get()
	}
	for k, v := range sa {
		if sb[k] != v {
			set[k] = true
		}
	}
	for k, v := range sb {
		if sa[k] != v {
			set[k] = true
		}
	}
	c := Change{Old: old, New: new, Fields: sortedKeys(set)}
	for _, s := range Sections {
		if c.Has(s) {
			c.Sections = append(c.Sections, s)
		}
	}
	if slices.Contains(c.Sections, SectionTelephony) {
		c.Restart = max(c.Restart, RestartServices)
		c.Notes = append(c.Notes, NoteTelephony)
	}
	if slices.Contains(c.Sections, SectionProxy) {
		c.Restart = max(c.Restart, RestartHost)
		c.Notes = append(c.Notes, NoteProxy)
	}
	if slices.Contains(c.Sections, SectionCertificate) {
		c.Notes = append(c.Notes, NoteCertificate)
	}
	if slices.Contains(c.Sections, SectionWebServer) {
		c.Notes = append(c.Notes, NoteWebServer)
	}
	return c
}

// flatten maps every leaf of p's JSON form (objects descended, arrays and
// scalars as leaves) to its compact JSON.
func flatten(p *Params) map[string][]byte {
	out := map[string][]byte{}
	raw, err := json.Marshal(p)
	if err != nil {
		return out
	}
	tree, err := decodeTree(raw)
	if err != nil {
		return out
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(joinPath(path, k), m[k])
			}
			return
		}
		b, _ := json.Marshal(v)
		out[path] = b
	}
	walk("", tree)
	return out
}
