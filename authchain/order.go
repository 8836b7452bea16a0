package authchain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Method names one authentication method.
type Method string

// The four methods of the seed. MethodNone appears in results and errors
// produced before any method was chosen.
const (
	MethodSSO   Method = "sso"
	MethodLDAP  Method = "ldap"
	MethodUCM   Method = "ucm"
	MethodLocal Method = "local"
	MethodNone  Method = ""
)

// Valid reports whether m is one of sso, ldap, ucm, local.
func (m Method) Valid() bool {
	switch m {
	case MethodSSO, MethodLDAP, MethodUCM, MethodLocal:
		return true
	}
	return false
}

// Order is the sequence of methods the chain walks, written as the method
// names joined by ">" ("sso>ldap>local"). A valid order has at least one
// method, no repeats, only sso, ldap, ucm and local, and ends in local.
// Order is a comparable value; its JSON form is that string.
type Order string

// The five orders offered by the seed's "Users authentication preferences".
const (
	// OrderSSOLDAPLocal is "SSO > AD/LDAP > Local".
	OrderSSOLDAPLocal Order = "sso>ldap>local"
	// OrderSSOUCMLocal is "SSO > Cisco UCM > Local".
	OrderSSOUCMLocal Order = "sso>ucm>local"
	// OrderSSOLocal is "SSO > Local".
	OrderSSOLocal Order = "sso>local"
	// OrderSSOLDAPUCMLocal is "SSO > AD/LDAP > Cisco UCM > Local".
	OrderSSOLDAPUCMLocal Order = "sso>ldap>ucm>local"
	// OrderSSOUCMLDAPLocal is "SSO > Cisco UCM > AD/LDAP > Local".
	OrderSSOUCMLDAPLocal Order = "sso>ucm>ldap>local"
)

// SeedOrders lists the five named orders in the seed's order.
var SeedOrders = []Order{OrderSSOLDAPLocal, OrderSSOUCMLocal, OrderSSOLocal, OrderSSOLDAPUCMLocal, OrderSSOUCMLDAPLocal}

// ParseOrder parses "sso>ldap>local". Spaces around names are ignored,
// names are case-insensitive, and "ad" is accepted for ldap and "cucm" for
// ucm. The result is canonical (lower case, no spaces) and valid.
func ParseOrder(s string) (Order, error) {
	if strings.TrimSpace(s) == "" {
		return "", &FieldError{Problem: "must not be empty; use for example \"sso>ldap>local\""}
	}
	parts := strings.Split(s, ">")
	names := make([]string, 0, len(parts))
	for _, p := range parts {
		n := strings.ToLower(strings.TrimSpace(p))
		switch n {
		case "ad", "ad/ldap":
			n = string(MethodLDAP)
		case "cucm", "cisco ucm":
			n = string(MethodUCM)
		}
		names = append(names, n)
	}
	o := Order(strings.Join(names, ">"))
	if err := o.Validate(); err != nil {
		return "", err
	}
	return o, nil
}

// Methods returns the methods of o in order (no validation).
func (o Order) Methods() []Method {
	if o == "" {
		return nil
	}
	parts := strings.Split(string(o), ">")
	out := make([]Method, len(parts))
	for i, p := range parts {
		out[i] = Method(p)
	}
	return out
}

// Contains reports whether m appears in o.
func (o Order) Contains(m Method) bool {
	for _, x := range o.Methods() {
		if x == m {
			return true
		}
	}
	return false
}

// String returns the order as written in JSON.
func (o Order) String() string { return string(o) }

// Validate reports every problem of o: unknown or empty names, repeats, and
// a last method other than local. The field path is empty so a composing
// config can prefix it ("order: ...").
func (o Order) Validate() error {
	var errs []error
	if o == "" {
		return &FieldError{Problem: "must not be empty; use for example \"sso>ldap>local\""}
	}
	ms := o.Methods()
	seen := make(map[Method]bool, len(ms))
	for i, m := range ms {
		switch {
		case m == "":
			errs = append(errs, &FieldError{Problem: fmt.Sprintf("method %d is empty in %q", i+1, string(o))})
		case !m.Valid():
			errs = append(errs, &FieldError{Problem: fmt.Sprintf("unknown method %q (use sso, ldap, ucm, local)", string(m))})
		case seen[m]:
			errs = append(errs, &FieldError{Problem: fmt.Sprintf("method %q appears more than once", string(m))})
		}
		seen[m] = true
	}
	if ms[len(ms)-1] != MethodLocal {
		errs = append(errs, &FieldError{Problem: fmt.Sprintf("must end with \"local\", got %q", string(o))})
	}
	return errors.Join(errs...)
}

// MarshalText writes the order string.
func (o Order) MarshalText() ([]byte, error) { return []byte(o), nil }

// UnmarshalText parses with ParseOrder.
func (o *Order) UnmarshalText(b []byte) error {
	v, err := ParseOrder(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// UnmarshalJSON reads a JSON string and parses it with ParseOrder. Its
// errors name the field "order" (the JSON name in Config), since the JSON
// decoder does not say which field failed.
func (o *Order) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &FieldError{Field: "order", Problem: "must be a JSON string such as \"sso>ldap>local\""}
	}
	return fielderr.Prefix("order", o.UnmarshalText([]byte(s)))
}
