// Command authcheck checks one login against an authchain configuration,
// exactly as a portal would, and prints the decision as JSON.
//
// Usage:
//
//	authcheck -config auth.json -user NAME   < password
//	authcheck -hash                          < password
//
// The password is read from standard input; one trailing newline (LF or
// CRLF) is removed. The check prints one JSON object on standard output:
//
//	{"user":"alice","method":"local","outcome":"success","reason":"","error":""}
//
// outcome is success, denied, sso_required, unavailable, not_configured or
// error (the configuration could not be used); reason is the
// authchain.Reason ("invalid_credentials", "account_locked", ...). Exit
// status: 0 success, 1 denied or sso_required, 2 usage or configuration
// error, 3 unavailable or not_configured.
//
// -hash prints an argon2id PHC hash of the password for the users'
// "password_hash" fields.
//
// auth.json holds the authchain.Config fields ("order", "ldap", "ucm",
// "oidc", "session") and "users", a list of authchain.User objects.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"

	"github.com/ucxkit/ucxkit/authchain"
)

// maxPassword bounds what is read from stdin.
const maxPassword = 4096

// fileConfig is the layout of auth.json.
type fileConfig struct {
	authchain.Config
	Users []authchain.User `json:"users"`
}

// output is the printed decision; the field order is the documented one.
type output struct {
	User    string `json:"user"`
	Method  string `json:"method"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
}

// Exit statuses.
const (
	exitOK          = 0
	exitRefused     = 1
	exitUsage       = 2
	exitUnavailable = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("authcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "authentication configuration `file` (JSON)")
	user := fs.String("user", "", "login `name` to check; the password is read from stdin")
	hash := fs.Bool("hash", false, "print an argon2id hash of the password read from stdin")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: authcheck -config auth.json -user NAME < password")
		fmt.Fprintln(stderr, "       authcheck -hash < password")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "authcheck: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	if *hash {
		if *configPath != "" || *user != "" {
			fmt.Fprintln(stderr, "authcheck: -hash takes no -config or -user")
			return exitUsage
		}
		pw, err := readPassword(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "authcheck: %v\n", err)
			return exitUsage
		}
		if pw == "" {
			fmt.Fprintln(stderr, "authcheck: the password is empty")
			return exitUsage
		}
		h, err := authchain.HashPassword(pw, authchain.Argon2Params{})
		if err != nil {
			fmt.Fprintf(stderr, "authcheck: %v\n", err)
			return exitUsage
		}
		fmt.Fprintln(stdout, h)
		return exitOK
	}
	if *configPath == "" || *user == "" {
		fmt.Fprintln(stderr, "authcheck: -config and -user are required (or use -hash)")
		fs.Usage()
		return exitUsage
	}
	out := output{User: *user}
	fail := func(err error) int {
		out.Outcome, out.Error = "error", err.Error()
		writeJSON(stdout, out)
		return exitUsage
	}
	chain, closeFn, err := load(*configPath)
	if err != nil {
		return fail(err)
	}
	defer closeFn()
	pw, err := readPassword(stdin)
	if err != nil {
		return fail(err)
	}
	res, err := chain.Authenticate(ctx, *user, pw)
	out.Method = string(res.Method)
	code := exitOK
	switch {
	case err == nil:
		out.Outcome = "success"
	case errors.Is(err, authchain.ErrDenied):
		out.Outcome, code = "denied", exitRefused
	case errors.Is(err, authchain.ErrSSORequired):
		out.Outcome, code = "sso_required", exitRefused
	case errors.Is(err, authchain.ErrUnavailable):
		out.Outcome, code = "unavailable", exitUnavailable
	case errors.Is(err, authchain.ErrNotConfigured):
		out.Outcome, code = "not_configured", exitUnavailable
	default:
		out.Outcome, code = "error", exitUsage
	}
	if err != nil {
		var ae *authchain.AuthError
		if errors.As(err, &ae) {
			out.Method = string(ae.Method)
		}
		out.Reason = string(authchain.ReasonOf(err))
		out.Error = err.Error()
	}
	writeJSON(stdout, out)
	return code
}

// writeJSON prints o on one line, without HTML escaping (an order such as
// "sso>ldap>local" in an error stays readable).
func writeJSON(w io.Writer, o output) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(o)
}

// readPassword reads stdin up to maxPassword bytes and removes one
// trailing newline.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), maxPassword+1))
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if len(b) > maxPassword {
		return "", fmt.Errorf("password on stdin is longer than %d bytes", maxPassword)
	}
	s := string(b)
	if strings.HasSuffix(s, "\r\n") {
		s = s[:len(s)-2]
	} else if strings.HasSuffix(s, "\n") {
		s = s[:len(s)-1]
	}
	return s, nil
}

// load reads and validates auth.json and builds the chain.
func load(path string) (*authchain.Chain, func(), error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	var fc fileConfig
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return nil, nil, fmt.Errorf("config %s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if err := fc.Validate(); err != nil {
		return nil, nil, fmt.Errorf("config %s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	dir, err := authchain.NewMemoryDirectory(fc.Users...)
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", path, err)
	}
	cc := authchain.ChainConfig{Order: fc.EffectiveOrder(), Directory: dir}
	closeFn := func() {}
	if fc.LDAP != nil {
		a, err := authchain.NewLDAPAuthenticator(*fc.LDAP)
		if err != nil {
			return nil, nil, fmt.Errorf("config %s: ldap: %w", path, err)
		}
		cc.LDAP = a
		closeFn = func() { a.Close() }
	}
	if fc.UCM != nil {
		a, err := authchain.NewUCMAuthenticator(*fc.UCM)
		if err != nil {
			return nil, nil, fmt.Errorf("config %s: ucm: %w", path, err)
		}
		cc.UCM = a
	}
	if fc.OIDC != nil {
		// The password check needs to know that SSO is configured, not
		// to run the browser flow, so the provider is not contacted.
		cc.SSO = configuredSSO{}
	}
	ch, err := authchain.NewChain(cc)
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("config %s: %w", path, err)
	}
	return ch, closeFn, nil
}

// configuredSSO stands for a configured OpenID provider; authcheck never
// runs the redirect flow.
type configuredSSO struct{}

var errNoBrowser = errors.New("authcheck does not run the single sign-on browser flow")

// Begin is never called by authcheck.
func (configuredSSO) Begin(http.ResponseWriter, *http.Request, string) error { return errNoBrowser }

// Finish is never called by authcheck.
func (configuredSSO) Finish(http.ResponseWriter, *http.Request) (string, string, error) {
	return "", "", errNoBrowser
}
