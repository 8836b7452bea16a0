// Command certgen creates the server's self-signed certificate in a folder,
// or checks the one that is there.
//
//	certgen -host NAME [-dns a,b] [-ip x,y] [-key rsa2048|rsa3072|rsa4096|ecdsa-p256] [-years N] -dir DIR
//	certgen -check -host NAME -dir DIR
//
// The first form writes DIR/cert.pem (the certificate alone, 0644) and
// DIR/key.pem (PKCS#8, 0600), replacing an existing pair atomically, and
// prints the JSON status of the new pair. The second prints the JSON
// status of the existing pair for host NAME (and any -dns/-ip names).
//
// Exit status: 0 success (with -check: the pair is valid); 1 the pair needs
// action (with -check: expiring, expired, not yet valid, hostname or key
// mismatch, missing, or a file that cannot be read or parsed, reported as
// "missing" with the reason) or a file could not be written; 2 bad
// arguments.
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

const usage = `usage: certgen -host NAME [-dns a,b] [-ip x,y] [-key rsa2048|rsa3072|rsa4096|ecdsa-p256] [-years N] -dir DIR
       certgen -check -host NAME -dir DIR
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

	action := certgen.ActionRenewed
	if _, err := certgen.Load(*dir); errors.Is(err, certgen.ErrNotFound) {
		action = certgen.ActionCreated
	}
	p, err := certgen.Generate(opts)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitNeedsAction
	}
	if err := certgen.Save(*dir, p); err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitNeedsAction
	}
	st := certgen.CheckPair(p, opts)
	st.Action = action
	if err := printJSON(stdout, st); err != nil {
		fmt.Fprintf(stderr, "certgen: %v\n", err)
		return exitNeedsAction
	}
	return exitOK
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
