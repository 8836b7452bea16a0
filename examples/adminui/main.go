// Command adminui serves the ucxkit admin pages (sysparams/adminui) over
// TLS on the loopback interface, with the server certificate that certgen
// creates for this computer, behind a login form: the local user is
// authenticated through an authchain chain, gets an authchain session, and
// the pages are open only to sessions whose user has the "admin" role.
//
// Usage:
//
//	go run ./examples/adminui [-addr 127.0.0.1:8443] [-dir DIR]
//	    [-user admin] [-password-env VAR] [-hostname NAME]
//
// -addr is the listen address; it must be a loopback address (127.0.0.0/8
// or ::1) with a port (0 picks a free one). -dir is the data folder
// (default "adminui-data", created 0700): params.json and its key file,
// the certificate folder, and admin-password.txt. -user is the admin's
// login. The password comes from the environment variable named by
// -password-env (default UCXKIT_ADMIN_PASSWORD); when it is unset, a
// random password is generated on the first run and written to
// DIR/admin-password.txt (mode 0600), never printed. -hostname is the
// computer name the certificate names (default: this computer's).
//
// Sign-in is throttled: 5 failed passwords for one login within 5
// minutes answer 429 (with Retry-After) for that login until the oldest
// failure is 5 minutes old, and at most 2 password checks (Argon2id) run
// at once.
//
// It prints the parameter file, the certificate (SHA-256 fingerprint and
// expiry), where the password is, and the URL, then serves until
// interrupted (Ctrl-C).
//
// Exit status: 0 after an interrupt, 1 when serving fails, 2 for bad
// usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
)

// config holds the command line.
type config struct {
	addr        string
	dir         string
	user        string
	passwordEnv string
	hostname    string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := parseFlags(args, stderr)
	if !ok {
		return code
	}
	// Setup is short and local; only serving ends with the interrupt.
	a, err := newApp(context.WithoutCancel(ctx), cfg, os.Getenv, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "adminui: %v\n", err)
		return 1
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		fmt.Fprintf(stderr, "adminui: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "serving https://%s%s/\n", ln.Addr(), basePath)
	if err := a.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "adminui: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "stopped")
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, int, bool) {
	var c config
	fs := flag.NewFlagSet("adminui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8443", "listen `address` (loopback only)")
	fs.StringVar(&c.dir, "dir", "adminui-data", "data `folder`: parameters, certificate, admin password file")
	fs.StringVar(&c.user, "user", "admin", "login of the admin user")
	fs.StringVar(&c.passwordEnv, "password-env", "UCXKIT_ADMIN_PASSWORD", "environment `VAR` holding the admin password (unset: generated into DIR/admin-password.txt)")
	fs.StringVar(&c.hostname, "hostname", "", "computer name for the certificate (default: this computer's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, 0, false
		}
		return c, 2, false
	}
	bad := func(format string, a ...any) (config, int, bool) {
		fmt.Fprintf(stderr, "adminui: "+format+"\n", a...)
		return c, 2, false
	}
	if fs.NArg() != 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if err := checkLoopback(c.addr); err != nil {
		return bad("-addr: %v", err)
	}
	if c.dir == "" {
		return bad("-dir must not be empty")
	}
	if c.user == "" {
		return bad("-user must not be empty")
	}
	if c.passwordEnv == "" {
		return bad("-password-env must not be empty")
	}
	return c, 0, true
}

// checkLoopback accepts "IP:port" with a loopback IP and a port 0-65535.
func checkLoopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("must be a loopback IP and port such as 127.0.0.1:8443, got %q", addr)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("must be a loopback address (127.0.0.0/8 or [::1]), got %s", ap.Addr())
	}
	return nil
}
