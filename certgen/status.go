package certgen

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strings"
	"time"
)

// State is the verdict of a check. Its JSON form is the constant's value.
type State string

// States, from the worst: a pair in any state but StateValid needs the
// admin's (or the host's) action.
const (
	// StateValid: in its lifetime, outside the renewal window, naming every
	// required name.
	StateValid State = "valid"
	// StateExpiring: inside the renewal window (by default the last third
	// of the lifetime); renew it.
	StateExpiring State = "expiring"
	// StateExpired: past NotAfter.
	StateExpired State = "expired"
	// StateNotYetValid: before NotBefore (the clock was set back, or the
	// certificate was made on a machine whose clock ran ahead).
	StateNotYetValid State = "not-yet-valid"
	// StateHostnameMismatch: the certificate does not name the computer
	// (the computer was renamed) or a required DNS name or IP address.
	StateHostnameMismatch State = "hostname-mismatch"
	// StateKeyMismatch: key.pem is not the key of cert.pem.
	StateKeyMismatch State = "key-mismatch"
	// StateMissing: there is no usable pair in the directory.
	StateMissing State = "missing"
)

// NeedsAction reports whether s is anything but StateValid.
func (s State) NeedsAction() bool { return s != StateValid }

// Action says what Ensure, EnsureMatching or RenewDir did to the
// directory.
type Action string

// Actions.
const (
	// ActionNone: only checked (Check, CheckPair, Inspect).
	ActionNone Action = ""
	// ActionLoaded: an existing pair was loaded and kept.
	ActionLoaded Action = "loaded"
	// ActionCreated: there was no usable pair; a new one was saved.
	ActionCreated Action = "created"
	// ActionRegenerated: the pair did not name the computer and
	// RegenerateOnRename replaced it (Ensure), or it differed from the
	// pair asked for (EnsureMatching).
	ActionRegenerated Action = "regenerated"
	// ActionRenewed: RenewDir replaced the pair, or EnsureMatching
	// replaced an expired, expiring or not yet valid one.
	ActionRenewed Action = "renewed"
)

// Status describes a certificate and the verdict of a check. It marshals
// to JSON with the tags below; times are RFC 3339 UTC.
type Status struct {
	// State is the verdict.
	State State `json:"state"`
	// NeedsAction is State.NeedsAction(), for readers of the JSON.
	NeedsAction bool `json:"needs_action"`
	// Action is what Ensure, EnsureMatching or RenewDir did; empty for
	// checks.
	Action Action `json:"action,omitempty"`
	// Message explains State in one line for an admin.
	Message string `json:"message"`
	// Host is the computer name checked ("" when none was).
	Host string `json:"host,omitempty"`
	// MissingNames lists the required names the certificate lacks.
	MissingNames []string `json:"missing_names,omitempty"`
	// Subject is the certificate's CN; Organization its first O.
	Subject      string `json:"subject,omitempty"`
	Organization string `json:"organization,omitempty"`
	// DNSNames and IPAddresses are the certificate's SANs.
	DNSNames    []string `json:"dns_names,omitempty"`
	IPAddresses []string `json:"ip_addresses,omitempty"`
	// KeyType names the certificate's key ("rsa2048", "ecdsa-p256").
	KeyType KeyType `json:"key_type,omitempty"`
	// Serial is upper-case hex (as "openssl x509 -serial").
	Serial string `json:"serial,omitempty"`
	// Fingerprint is the SHA-256 of the certificate, colon-separated hex.
	Fingerprint string `json:"sha256_fingerprint,omitempty"`
	// NotBefore and NotAfter bound the lifetime; RenewAfter starts the
	// renewal window.
	NotBefore  time.Time `json:"not_before,omitzero"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	RenewAfter time.Time `json:"renew_after,omitzero"`
	// DaysLeft is the number of whole days until NotAfter (negative once
	// expired). The JSON form omits it when there is no certificate.
	DaysLeft int `json:"days_left"`
}

// MarshalJSON writes the tagged fields, leaving out days_left when the
// status describes no certificate (State missing).
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status // without methods
	if !s.NotAfter.IsZero() {
		return json.Marshal(plain(s))
	}
	return json.Marshal(struct {
		plain
		DaysLeft *int `json:"days_left,omitempty"`
	}{plain: plain(s)})
}

// Check reports the state of cert at now: expired or not yet valid,
// hostname-mismatch when hostname is not empty and the certificate names
// it neither as a SAN (DNS or IP, case-insensitive) nor as its CN,
// expiring in the last third of its lifetime, else valid. A nil cert is
// StateMissing.
func Check(cert *x509.Certificate, hostname string, now time.Time) Status {
	var required []string
	if hostname != "" {
		required = []string{hostname}
	}
	return check(cert, hostname, required, now, 0)
}

// CheckPair reports the state of p against opts: the names required are
// opts.Host, FQDN, DNSNames and IPAddresses; the renewal window is
// opts.RenewalWindow (default the last third of the lifetime); the time is
// opts.Now(). The key of a Pair always matches its certificate. A nil
// pair is StateMissing.
func CheckPair(p *Pair, opts Options) Status {
	if p == nil {
		return check(nil, opts.Host, nil, time.Time{}, 0)
	}
	var required []string
	required = append(required, opts.Host)
	if opts.FQDN != "" {
		required = append(required, opts.FQDN)
	}
	required = append(required, opts.DNSNames...)
	required = append(required, opts.IPAddresses...)
	var nonEmpty []string
	for _, n := range required {
		if n != "" {
			nonEmpty = append(nonEmpty, n)
		}
	}
	return check(p.cert, opts.Host, nonEmpty, opts.now(), opts.RenewalWindow)
}

func check(cert *x509.Certificate, host string, required []string, now time.Time, window time.Duration) Status {
	if cert == nil {
		return Status{State: StateMissing, NeedsAction: true, Host: host, Message: "no certificate"}
	}
	st := describe(cert, now, window)
	st.Host = host
	for _, n := range required {
		if !names(cert, n) {
			st.MissingNames = append(st.MissingNames, n)
		}
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	switch {
	case !now.Before(cert.NotAfter):
		st.State = StateExpired
		st.Message = fmt.Sprintf("certificate expired on %s; renew it and upload the new certificate to the PBX", day(cert.NotAfter))
	case now.Before(cert.NotBefore):
		st.State = StateNotYetValid
		st.Message = fmt.Sprintf("certificate is not valid before %s; check the system clock", cert.NotBefore.UTC().Format(time.RFC3339))
	case len(st.MissingNames) > 0:
		st.State = StateHostnameMismatch
		st.Message = fmt.Sprintf("certificate does not name %s (computer renamed?); regenerate it and upload the new certificate to the PBX", strings.Join(st.MissingNames, ", "))
	case !now.Before(st.RenewAfter):
		st.State = StateExpiring
		st.Message = fmt.Sprintf("certificate expires on %s (%d days left); renew it", day(cert.NotAfter), st.DaysLeft)
	default:
		st.State = StateValid
		st.Message = fmt.Sprintf("certificate valid until %s (%d days left)", day(cert.NotAfter), st.DaysLeft)
	}
	st.NeedsAction = st.State.NeedsAction()
	return st
}

// describe fills the certificate's facts.
func describe(cert *x509.Certificate, now time.Time, window time.Duration) Status {
	if window <= 0 {
		window = cert.NotAfter.Sub(cert.NotBefore) / 3
	}
	st := Status{
		Subject:     cert.Subject.CommonName,
		DNSNames:    cert.DNSNames,
		KeyType:     keyTypeOf(cert.PublicKey),
		Serial:      serialHex(cert),
		Fingerprint: fingerprint(cert),
		NotBefore:   cert.NotBefore.UTC(),
		NotAfter:    cert.NotAfter.UTC(),
		RenewAfter:  cert.NotAfter.Add(-window).UTC(),
		DaysLeft:    int(math.Floor(cert.NotAfter.Sub(now).Hours() / 24)),
	}
	if len(cert.Subject.Organization) > 0 {
		st.Organization = cert.Subject.Organization[0]
	}
	for _, ip := range cert.IPAddresses {
		st.IPAddresses = append(st.IPAddresses, ip.String())
	}
	return st
}

// names reports whether cert names n: an IP SAN equal to n, or a DNS SAN or
// the CN equal to n ignoring case (Windows computer names are
// case-insensitive and may contain '_', which Go's VerifyHostname also
// accepts), or a wildcard SAN that VerifyHostname accepts.
func names(cert *x509.Certificate, n string) bool {
	if ip := net.ParseIP(n); ip != nil {
		for _, c := range cert.IPAddresses {
			if c.Equal(ip) {
				return true
			}
		}
		return false
	}
	for _, d := range cert.DNSNames {
		if strings.EqualFold(d, n) {
			return true
		}
	}
	if strings.EqualFold(cert.Subject.CommonName, n) {
		return true
	}
	return cert.VerifyHostname(n) == nil
}
