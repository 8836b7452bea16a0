// Command certgen creates the server's self-signed certificate in a folder,
// keeps it up to date, or checks the one that is there.
//
//	certgen -host NAME [-dns a,b] [-ip x,y] [-key rsa2048|rsa3072|rsa4096|ecdsa-p256] [-years N] [-renew] -dir DIR
//	certgen -check -host NAME -dir DIR
//
// The first form makes sure DIR/cert.pem (the certificate alone, 0644) and
// DIR/key.pem (PKCS#8, 0600) hold a valid pair for exactly what the flags
// ask, and prints the JSON status of the pair. It is idempotent, so a boot
// script can run it every time (certgen.EnsureMatching):
//
//   - no pair in DIR: a new one is written ("action":"created");
//   - a valid pair whose names (-host, -dns, -ip), key type (-key) and
//     validity (-years) are those asked: kept as it is ("action":"loaded");
//     the PBX keeps trusting it;
//   - a pair for other names (a name or address added, or one no longer
//     passed: a run without -dns/-ip drops them, and stderr lists what
//     changed), another key type or another validity: replaced
//     ("action":"regenerated");
//   - an expired, expiring (last third of its lifetime) or not yet valid
//     pair: replaced, the new lifetime starting now ("action":"renewed");
//   - -renew: replaced in every case, even a pair whose key does not match
//     its certificate or a file that does not parse ("action":"renewed").
//
// Without -renew, a key that does not match its certificate, a key without
// its certificate or a file that does not parse is never replaced: the
// command prints the status (key-mismatch or missing, with the reason),
// writes the error to stderr and exits 1. Whenever a pair is replaced, the
// new certificate must be uploaded to the PBX again; the old pair stays
// in place until the new one is saved.
//
// The second form prints the JSON status of the existing pair for host
// NAME (and any -dns/-ip names) and changes nothing.
//
// Exit status: 0 success (with -check: the pair is valid); 1 the pair needs
// action (with -check: expiring, expired, not yet valid, hostname or key
// mismatch, missing, or a file that cannot be read or parsed, reported as
// "missing" with the reason; without -check: a pair that is refused as
// above) or a file could not be written; 2 bad arguments.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ucxkit/ucxkit/certgen"
)

const usage = `usage: certgen -host NAME [-dns a,b] [-ip x,y] [-key rsa2048|rsa3072|rsa4096|ecdsa-p256] [-years N] [-renew] -dir DIR
       certgen -check -host NAME -dir DIR

Without -check, a valid pair in DIR for the same names, key type and years
is kept ("action":"loaded"); a missing, expired or expiring pair, or one for
other names, key type or years, is replaced ("created", "renewed",
"regenerated"); -renew always writes a new pair. A pair whose key does not
match its certificate is replaced only with -renew.
`

// Exit statuses.
const (
	exitOK          = 0
	exitNeedsAction = 1
	exitUsage       = 2
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("certgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var (
		host  = fs.String("host", "", "computer name: subject CN and first SAN DNS name (required)")
		dns   = fs.String("dns", "", "further SAN DNS names, comma-separated")
		ips   = fs.String("ip", "", "SAN IP addresses, comma-separated")
		key   = fs.String("key", string(certgen.KeyRSA2048), "key type: rsa2048, rsa3072, rsa4096 or ecdsa-p256")
		years = fs.Int("years", certgen.DefaultValidityYears, fmt.Sprintf("validity in calendar years (1-%d)", certgen.MaxValidityYears))
		dir   = fs.String("dir", "", "folder of cert.pem and key.pem (required)")
		check = fs.Bool("check", false, "print the status of the existing pair instead of creating one")
		renew = fs.Bool("renew", false, "write a new pair (new key and serial) even if the existing one is valid and matches")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "certgen: "+format+"\n", a...)
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	// Every problem of the command line is reported at once.
	var problems []string
	if *dir == "" {
		problems = append(problems, "-dir is required")
	}
	if *check && *renew {
		problems = append(problems, "-renew cannot be used with -check")
	}
	kt, err := certgen.ParseKeyType(*key)
	if err != nil {
		problems = append(problems, fmt.Sprintf("-key %v", err))
		kt = certgen.KeyRSA2048
	}
	y := *years
	if y < 1 || y > certgen.MaxValidityYears {
		problems = append(problems, fmt.Sprintf("-years must be 1-%d, got %d", certgen.MaxValidityYears, y))
		y = certgen.DefaultValidityYears
	}
	opts := certgen.Options{Host: *host, DNSNames: list(*dns), IPAddresses: list(*ips), KeyType: kt, ValidityYears: y}
	if err := opts.Validate(); err != nil {
		problems = append(problems, flagNames(err))
	}
	if len(problems) > 0 {
		return bad("%s", strings.Join(problems, "\ncertgen: "))
	}

	if *check {
		st, err := certgen.Inspect(*dir, opts)
		if err != nil {
			// A file that cannot be read or parsed leaves no usable pair:
			// the JSON status says so too, for scripts that read stdout.
			fmt.Fprintf(stderr, "%v\n", err)
			st = certgen.Status{State: certgen.StateMissing, NeedsAction: true, Host: opts.Host,
				Message: strings.TrimPrefix(err.Error(), "certgen: ")}
		}
		if err := printJSON(stdout, st); err != nil {
			fmt.Fprintf(stderr, "certgen: %v\n", err)
			return exitNeedsAction
		}
		if st.NeedsAction {
			return exitNeedsAction
		}
		return exitOK
	}
	if *renew {
		_, st, err := certgen.RenewDir(*dir, opts)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return exitNeedsAction
		}
		return printStatus(stdout, stderr, st, exitOK)
	}
	// The pair before, read only to tell the user what a regeneration
	// changed (EnsureMatching decides under the directory's lock).
	old, _ := certgen.Load(*dir)
	_, st, err := certgen.EnsureMatching(*dir, opts)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		if st.State == "" {
			return exitNeedsAction
		}
		fmt.Fprintf(stderr, "certgen: the pair in %s was left as it is; run again with -renew to replace it\n", *dir)
		return printStatus(stdout, stderr, st, exitNeedsAction)
	}
	switch st.Action {
	case certgen.ActionRegenerated:
		if old != nil {
			for _, d := range certgen.Differences(old, opts) {
				fmt.Fprintf(stderr, "certgen: replaced the pair: %s\n", d)
			}
		}
		fmt.Fprintln(stderr, "certgen: upload the new certificate to the PBX")
	case certgen.ActionRenewed:
		fmt.Fprintln(stderr, "certgen: the pair was expired, expiring or not yet valid and was renewed; upload the new certificate to the PBX")
	}
	return printStatus(stdout, stderr, st, exitOK)
}

// printStatus prints st as JSON and returns code, or exitNeedsAction when
// stdout cannot be written.
func printStatus(stdout, stderr io.Writer, st certgen.Status, code int) int {
	if err := printJSON(stdout, st); err != nil {
		fmt.Fprintf(stderr, "certgen: %v\n", err)
		return exitNeedsAction
	}
	return code
}

// list splits a comma-separated flag value, trimming spaces and dropping
// empty items.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// flagNames rewrites the option names of validation errors as the flags
// that set them ("dns_names[1]: ..." becomes "-dns[1]: ...").
func flagNames(err error) string {
	r := strings.NewReplacer("host:", "-host:", "dns_names[", "-dns[", "ip_addresses[", "-ip[", "key_type:", "-key:", "validity_years:", "-years:")
	var lines []string
	for _, line := range strings.Split(err.Error(), "\n") {
		lines = append(lines, r.Replace(line))
	}
	return strings.Join(lines, "\ncertgen: ")
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
