package sysparams

import (
	"strings"
	"unicode"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Cloud holds the vendor cloud services credentials (OAuth2 client
// credentials). The seed: fill in all fields, or keep all empty when no
// connection is expected; the secret is stored encrypted; "Forget" removes
// both.
type Cloud struct {
	// ClientID is the OAuth2 client ID. Empty (the default) means not
	// configured.
	ClientID string `json:"client_id"`
	// ClientSecret is the OAuth2 client secret, stored encrypted. Required
	// with ClientID.
	ClientSecret Secret `json:"client_secret"`
}

// Configured reports whether credentials are set.
func (c Cloud) Configured() bool { return c.ClientID != "" || c.ClientSecret.IsSet() }

// Validate reports every problem, with paths relative to the section.
func (c Cloud) Validate() error {
	var l fielderr.List
	if c.ClientID != "" && !c.ClientSecret.IsSet() {
		l.Add("client_secret", "is mandatory with client_id (fill both or neither)")
	}
	if c.ClientID == "" && c.ClientSecret.IsSet() {
		l.Add("client_id", "is mandatory with client_secret (fill both or neither)")
	}
	if c.ClientID != "" && (strings.TrimSpace(c.ClientID) != c.ClientID || strings.IndexFunc(c.ClientID, unicode.IsControl) >= 0) {
		l.Add("client_id", "must not contain spaces at the ends or control characters")
	}
	if strings.ContainsAny(c.ClientSecret.Reveal(), "\r\n\x00") {
		l.Add("client_secret", "must not contain CR, LF or NUL")
	}
	return l.Err()
}

// Forget removes the credentials, as the seed's "Forget" button does.
func (c *Cloud) Forget() { *c = Cloud{} }
