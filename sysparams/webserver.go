package sysparams

import (
	"net/url"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// WebServer is the seed's "Web server setting": the base URL that makes
// this node reachable. The zero value means the default
// https://<computer name>.
type WebServer struct {
	// BaseURL is an absolute https:// URL with a host, optionally a path,
	// and no user info, query or fragment. Empty means
	// "https://<computer name>" (see EffectiveBaseURL). Forget clears it.
	BaseURL string `json:"base_url"`
}

// Validate reports every problem, with paths relative to the section.
func (w WebServer) Validate() error {
	var l fielderr.List
	if w.BaseURL == "" {
		return nil
	}
	if p := checkHTTPSURL(w.BaseURL); p != "" {
		l.Add("base_url", "%s", p)
	}
	return l.Err()
}

// EffectiveBaseURL returns BaseURL without a trailing slash, or
// "https://<hostname>" (lower case) when it is empty. hostname is the
// computer name, usually from os.Hostname.
func (w WebServer) EffectiveBaseURL(hostname string) string {
	if w.BaseURL != "" {
		return strings.TrimRight(w.BaseURL, "/")
	}
	return "https://" + strings.ToLower(hostname)
}

// Forget reverts to the default URL, as the seed's "Forget" button does.
func (w *WebServer) Forget() { w.BaseURL = "" }

// checkHTTPSURL returns the problem with u, or "" when it is an absolute
// https URL with a valid host and no user info, query or fragment.
func checkHTTPSURL(u string) string {
	if strings.ContainsAny(u, " \t\r\n\x00") {
		return "must not contain spaces or control characters"
	}
	pu, err := url.Parse(u)
	if err != nil {
		return "must be a URL such as https://example.com/..., got " + quote(u)
	}
	switch {
	case !strings.EqualFold(pu.Scheme, "https"):
		return "must start with https://, got " + quote(u)
	case pu.Opaque != "" || pu.Host == "":
		return "must have a host, as in https://example.com/..., got " + quote(u)
	case pu.User != nil:
		return "must not contain user info"
	case pu.RawQuery != "" || pu.ForceQuery:
		return "must not contain a query (?...)"
	case pu.Fragment != "" || strings.Contains(u, "#"):
		return "must not contain a fragment (#...)"
	}
	host := pu.Hostname()
	if strings.HasPrefix(pu.Host, "[") {
		return ""
	}
	if p := checkHost(host); p != "" {
		return "host " + p
	}
	if port := pu.Port(); port != "" {
		if n, err := atoiStrict(port); err != nil || n < 1 || n > 65535 {
			return "port must be 1-65535, got " + quote(port)
		}
	}
	return ""
}
