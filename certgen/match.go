package certgen

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Differences lists how p differs from the pair Generate(opts) would
// create, one readable item per difference ("dns names: has [a b], asked
// [a]"), or nil when p is what opts asks for. It compares:
//
//   - the subject CN with opts.Host (ignoring case: Windows computer names
//     are case-insensitive) and the subject O with opts.Organization;
//   - the SAN DNS names with Host, FQDN and DNSNames, as sets ignoring
//     case and order, so a name the certificate has but opts does not ask
//     for is a difference too;
//   - the SAN IP addresses with opts.IPAddresses, as sets;
//   - the key type with opts.KeyType (empty: RSA-2048);
//   - the lifetime NotAfter − NotBefore with ValidityYears (calendar
//     years, default 5) or Validity.
//
// Serial, key and dates are not compared: every generation makes new ones.
// Differences does not check expiry; use CheckPair. A nil p is one
// difference ("no certificate").
func Differences(p *Pair, opts Options) []string {
	if p == nil {
		return []string{"no certificate"}
	}
	c := p.cert
	var diffs []string
	if !strings.EqualFold(c.Subject.CommonName, opts.Host) {
		diffs = append(diffs, fmt.Sprintf("subject CN: has %q, asked %q", c.Subject.CommonName, opts.Host))
	}
	org := ""
	if len(c.Subject.Organization) > 0 {
		org = c.Subject.Organization[0]
	}
	if org != opts.Organization || len(c.Subject.Organization) > 1 {
		diffs = append(diffs, fmt.Sprintf("organization: has %q, asked %q", strings.Join(c.Subject.Organization, ", "), opts.Organization))
	}
	hasDNS := lowerSet(c.DNSNames)
	askDNS := lowerSet(opts.sanDNSNames())
	if !slices.Equal(hasDNS, askDNS) {
		diffs = append(diffs, fmt.Sprintf("dns names: has %s, asked %s", listOrNone(hasDNS), listOrNone(askDNS)))
	}
	var hasIP, askIP []string
	for _, ip := range c.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			hasIP = append(hasIP, a.Unmap().String())
		}
	}
	for _, ip := range opts.sanIPs() {
		if a, ok := netip.AddrFromSlice(ip); ok {
			askIP = append(askIP, a.Unmap().String())
		}
	}
	hasIP, askIP = sortedSet(hasIP), sortedSet(askIP)
	if !slices.Equal(hasIP, askIP) {
		diffs = append(diffs, fmt.Sprintf("ip addresses: has %s, asked %s", listOrNone(hasIP), listOrNone(askIP)))
	}
	if has, ask := p.KeyType(), opts.KeyType.orDefault(); has != ask {
		diffs = append(diffs, fmt.Sprintf("key type: has %s, asked %s", has, ask))
	}
	if want := opts.notAfter(c.NotBefore); !c.NotAfter.Equal(want) {
		diffs = append(diffs, fmt.Sprintf("validity: has %s, asked %s", lifetime(c.NotBefore, c.NotAfter), lifetime(c.NotBefore, want)))
	}
	return diffs
}

// lowerSet returns the sorted, de-duplicated lower-case names.
func lowerSet(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.ToLower(n))
	}
	return sortedSet(out)
}

func sortedSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return "[" + strings.Join(s, " ") + "]"
}

// lifetime describes the lifetime from nb to na: "5 years" when it is a
// whole number of calendar years, else whole days ("825d") or a duration.
func lifetime(nb, na time.Time) string {
	for y := 1; y <= MaxValidityYears+1; y++ {
		if nb.AddDate(y, 0, 0).Equal(na) {
			if y == 1 {
				return "1 year"
			}
			return fmt.Sprintf("%d years", y)
		}
	}
	return formatDuration(na.Sub(nb))
}

// EnsureMatching is Ensure for callers that state exactly the pair they
// want, such as a boot script running the certgen command: it keeps the
// pair in dir only when it is valid and is what opts asks for, and
// replaces it otherwise. Running it twice with the same opts changes
// nothing the second time.
//
//   - No pair, or a certificate without its key: Generate(opts) and Save;
//     Action "created".
//   - A pair with Differences from opts (other names, including names no
//     longer asked for, another key type, organization or validity):
//     replaced by Generate(opts); Action "regenerated".
//   - A pair that is expired, expiring (inside the renewal window) or not
//     yet valid: replaced by Generate(opts), its lifetime starting now;
//     Action "renewed".
//   - A valid pair that matches opts: kept; Action "loaded".
//   - A key that does not match its certificate, a key without its
//     certificate, or a file that does not parse: an error with a Status
//     whose State is key-mismatch or missing, and the files are left as
//     they are, as with Ensure; RenewDir with opts.Host set replaces them.
//
// The old pair stays on disk until the new one is saved (see Save). Like
// Ensure it completes an interrupted Save, removes orphaned temporary
// files and tightens the key's mode, and it holds the directory's lock
// from the check to the save. opts must be valid.
func EnsureMatching(dir string, opts Options) (*Pair, Status, error) {
	if err := opts.Validate(); err != nil {
		return nil, Status{}, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, Status{}, err
	}
	defer unlock()
	l, err := load(dir)
	var (
		action Action
		diffs  []string
		old    *x509.Certificate
	)
	switch {
	case err == nil:
		if err := tidy(dir, l, log); err != nil {
			return nil, Status{}, err
		}
		st := CheckPair(l.pair, opts)
		diffs = Differences(l.pair, opts)
		switch {
		case len(diffs) > 0:
			action = ActionRegenerated
		case st.State != StateValid:
			action = ActionRenewed
		default:
			st.Action = ActionLoaded
			return l.pair, st, nil
		}
		old = l.pair.cert
	case errors.Is(err, ErrNotFound) || l.certOnly:
		if l.certOnly {
			log.Warn("certgen: certificate without its key; creating a new pair", "dir", dir)
		}
		if _, err := removeOrphans(dir); err != nil {
			return nil, Status{}, err
		}
		action = ActionCreated
	default:
		return nil, failedStatus(l, opts, err), err
	}
	p, err := Generate(opts)
	if err != nil {
		return nil, Status{}, err
	}
	if err := save(dir, p, nil); err != nil {
		return nil, Status{}, err
	}
	switch action {
	case ActionCreated:
		log.Info("certgen: created certificate", "dir", dir, "pair", p)
	case ActionRegenerated:
		log.Warn("certgen: certificate differed from the one asked for; regenerated it (upload the new certificate to the PBX)",
			"dir", dir, "differences", diffs, "old_serial", serialHex(old), "pair", p)
	default:
		log.Warn("certgen: certificate expired, expiring or not yet valid; renewed it (upload the new certificate to the PBX)",
			"dir", dir, "old_serial", serialHex(old), "old_not_after", old.NotAfter, "pair", p)
	}
	st := CheckPair(p, opts)
	st.Action = action
	return p, st, nil
}
