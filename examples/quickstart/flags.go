package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strconv"
)

// options are the command-line settings of the flow.
type options struct {
	dir          string // work folder; "" means a new temporary one
	keep         bool   // keep the temporary folder
	smtpAddr     string // real SMTP server "host:port"; "" means in-process
	smtpSecurity string
	smtpUser     string
	smtpPassEnv  string
	from         string
	to           string
	params       string // existing parameter file; "" means defaults
	pg           string // PostgreSQL DSN for the shared stores; "" means files
	hostname     string // computer name for the certificate; "" means os.Hostname
}

func parseFlags(args []string, stderr io.Writer) (options, int, bool) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "", "work folder (default: a new temporary folder, removed at the end)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary work folder")
	fs.StringVar(&o.smtpAddr, "smtp", "", "deliver to this SMTP server `host:port` instead of the in-process one")
	fs.StringVar(&o.smtpSecurity, "smtp-security", "auto", "SMTP security with -smtp: auto, starttls, tls or none")
	fs.StringVar(&o.smtpUser, "smtp-user", "", "SMTP user name with -smtp")
	fs.StringVar(&o.smtpPassEnv, "smtp-password-env", "", "environment `VAR` holding the SMTP password")
	fs.StringVar(&o.from, "from", "voicemail@ucxkit.example", "sender address of the notification")
	fs.StringVar(&o.to, "to", "alice@ucxkit.example", "recipient of the notification")
	fs.StringVar(&o.params, "params", "", "use this existing parameter `file` (read only) instead of the defaults")
	fs.StringVar(&o.pg, "pg", "", "keep parameters, sessions and the mail queue in PostgreSQL at this `DSN` (cluster mode)")
	fs.StringVar(&o.hostname, "hostname", "", "computer name for the certificate (default: this computer's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, 0, false
		}
		return o, 2, false
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "quickstart: unexpected argument %q\n", fs.Arg(0))
		return o, 2, false
	}
	bad := func(format string, a ...any) (options, int, bool) {
		fmt.Fprintf(stderr, "quickstart: "+format+"\n", a...)
		return o, 2, false
	}
	if o.smtpAddr != "" {
		host, port, err := net.SplitHostPort(o.smtpAddr)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return bad("-smtp must be host:port with a port 1-65535, got %q", o.smtpAddr)
		}
	}
	switch o.smtpSecurity {
	case "auto", "starttls", "tls", "none":
	default:
		return bad("-smtp-security must be auto, starttls, tls or none, got %q", o.smtpSecurity)
	}
	if (o.smtpUser != "") != (o.smtpPassEnv != "") {
		return bad("-smtp-user and -smtp-password-env go together")
	}
	if o.smtpUser != "" && o.smtpAddr == "" {
		return bad("-smtp-user needs -smtp")
	}
	if o.params != "" && o.pg != "" {
		return bad("-params and -pg exclude each other")
	}
	if o.params != "" && o.smtpAddr != "" {
		return bad("-params and -smtp exclude each other: the parameter file names the mail server")
	}
	for _, a := range []struct{ name, v string }{{"-from", o.from}, {"-to", o.to}} {
		if ad, err := mail.ParseAddress(a.v); err != nil || ad.Name != "" {
			return bad("%s must be a bare email address, got %q", a.name, a.v)
		}
	}
	return o, 0, true
}
