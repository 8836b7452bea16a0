package authchain

import (
	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// DefaultOrder is used when Config.Order is empty: SSO (when configured),
// then local passwords.
const DefaultOrder = OrderSSOLocal

// Config is the "Users authentication settings" section as a composing
// configuration (sysparams) stores it. Users live in the host's user
// database, not here.
type Config struct {
	// Order is the authentication order. Empty means DefaultOrder.
	Order Order `json:"order,omitempty"`
	// LDAP configures AD/LDAP; required when the order contains ldap.
	LDAP *LDAPConfig `json:"ldap,omitempty"`
	// UCM configures Cisco UCM; required when the order contains ucm.
	UCM *UCMConfig `json:"ucm,omitempty"`
	// OIDC configures single sign-on; nil leaves the sso step inert.
	OIDC *OIDCConfig `json:"oidc,omitempty"`
	// Session is "User session management".
	Session SessionConfig `json:"session"`
}

// EffectiveOrder returns Order, or DefaultOrder when it is empty.
func (c Config) EffectiveOrder() Order {
	if c.Order == "" {
		return DefaultOrder
	}
	return c.Order
}

// Validate reports every problem with JSON field paths ("ldap.url: is
// required", "order: must end with \"local\"").
func (c Config) Validate() error {
	var l fielderr.List
	o := c.EffectiveOrder()
	l.Merge("order", o.Validate())
	if o.Contains(MethodLDAP) && c.LDAP == nil {
		l.Add("ldap", "is required by the order %q", o)
	}
	if o.Contains(MethodUCM) && c.UCM == nil {
		l.Add("ucm", "is required by the order %q", o)
	}
	if c.LDAP != nil {
		l.Merge("ldap", c.LDAP.Validate())
	}
	if c.UCM != nil {
		l.Merge("ucm", c.UCM.Validate())
	}
	if c.OIDC != nil {
		l.Merge("oidc", c.OIDC.Validate())
	}
	l.Merge("session", c.Session.Validate())
	return l.Err()
}
