// Command ucxparams shows, validates and changes a ucxkit parameter file.
//
// Usage:
//
//	ucxparams -file F [-key K] show
//	ucxparams -file F [-key K] validate
//	ucxparams -file F [-key K] set path=value [path=value ...]
//	ucxparams -file F [-key K] import PLAIN.json|-
//	ucxparams -file F [-key K] forget cloud|web_server
//	ucxparams -file F [-key K] test-email [-timeout 30s] [-o365-env]
//	ucxparams -file F [-key K] rotate-key
//	ucxparams paths
//	ucxparams template
//
// show prints the parameters as indented JSON with every secret shown as
// "[REDACTED]" (a missing file shows the defaults). validate prints "ok" or
// every problem, one per line ("email.port: must be 1-65535, got 70000").
// set changes fields by their dotted JSON path; all the pairs of one call
// are validated together and saved atomically, or nothing is saved. A value
// "@env:NAME" is read from the environment variable NAME and "@-" from one
// line of standard input, so that secrets stay off the command line. forget
// clears the cloud credentials or the web server URL. import replaces the
// whole parameter set with a plain JSON document written by hand ("-" reads
// standard input): sections as "show" prints them, secrets in plain text,
// a missing field taking its default. Every problem of the document is
// listed, one per line; a rejected document saves nothing. The secrets are
// sealed in F and the key file as by set. template prints the defaults as
// a plain document to start from. test-email runs the
// seed's "Test connection" without sending a message; -o365-env applies the
// seed's IMAGICLE_OUTGOING_O365_* variables for this test only. rotate-key
// re-encrypts every secret with a new key. paths lists every settable path.
// See README.md for the plain and the stored formats.
//
// The key file defaults to F + ".key" and is created, mode 0600, at the
// first save.
//
// Exit status: 0 success; 1 invalid parameters, a failed test or an
// unreadable file; 2 bad usage.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/sysparams"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `usage:
  ucxparams -file F [-key K] show
  ucxparams -file F [-key K] validate
  ucxparams -file F [-key K] set path=value [path=value ...]
  ucxparams -file F [-key K] import PLAIN.json|-
  ucxparams -file F [-key K] forget cloud|web_server
  ucxparams -file F [-key K] test-email [-timeout 30s] [-o365-env]
  ucxparams -file F [-key K] rotate-key
  ucxparams paths
  ucxparams template
`

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("ucxparams", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	file := fs.String("file", "", "parameter file (JSON)")
	key := fs.String("key", "", "key file (default: the parameter file + \".key\")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, "ucxparams: missing command\n"+usage)
		return exitUsage
	}
	cmd, cargs := rest[0], rest[1:]
	// -file and -key are accepted after the command too
	// ("ucxparams show -file F").
	cargs, ok := extractGlobal(cargs, file, key, stderr)
	if !ok {
		return exitUsage
	}
	switch cmd {
	case "paths", "template":
		if len(cargs) != 0 {
			fmt.Fprintf(stderr, "ucxparams: %s takes no arguments\n", cmd)
			return exitUsage
		}
		if cmd == "template" {
			return printParams(stdout, stderr, sysparams.Defaults())
		}
		for _, p := range sysparams.FieldPaths() {
			fmt.Fprintln(stdout, p)
		}
		return exitOK
	}
	switch cmd {
	case "show", "validate", "set", "import", "forget", "test-email", "rotate-key":
	default:
		fmt.Fprintf(stderr, "ucxparams: unknown command %q\n%s", cmd, usage)
		return exitUsage
	}
	if *file == "" {
		fmt.Fprint(stderr, "ucxparams: -file is required\n"+usage)
		return exitUsage
	}
	// Check the command's arguments before touching any file.
	var tflags *flag.FlagSet
	var timeout *time.Duration
	var o365env *bool
	switch cmd {
	case "show", "validate", "rotate-key":
		if len(cargs) != 0 {
			fmt.Fprintf(stderr, "ucxparams: %s takes no arguments\n", cmd)
			return exitUsage
		}
	case "set":
		if len(cargs) == 0 {
			fmt.Fprint(stderr, "ucxparams: set needs path=value arguments\n")
			return exitUsage
		}
		for _, a := range cargs {
			if k, _, ok := strings.Cut(a, "="); !ok || k == "" {
				fmt.Fprintf(stderr, "ucxparams: set: %q is not path=value\n", a)
				return exitUsage
			}
		}
	case "import":
		if len(cargs) != 1 || cargs[0] == "" {
			fmt.Fprint(stderr, "ucxparams: import needs one file name, or - for standard input\n")
			return exitUsage
		}
	case "forget":
		if len(cargs) != 1 || (cargs[0] != sysparams.SectionCloud && cargs[0] != sysparams.SectionWebServer) {
			fmt.Fprint(stderr, "ucxparams: forget needs cloud or web_server\n")
			return exitUsage
		}
	case "test-email":
		tflags = flag.NewFlagSet("test-email", flag.ContinueOnError)
		tflags.SetOutput(stderr)
		timeout = tflags.Duration("timeout", 30*time.Second, "overall time limit of the test")
		o365env = tflags.Bool("o365-env", false, "apply IMAGICLE_OUTGOING_O365_AUTHENTICATION_URL and _SERVER_URL for this test")
		if err := tflags.Parse(cargs); err != nil || tflags.NArg() != 0 || *timeout <= 0 {
			if err == nil {
				fmt.Fprint(stderr, "ucxparams: test-email: unexpected arguments or non-positive -timeout\n")
			}
			return exitUsage
		}
	}

	store, err := sysparams.OpenFile(ctx, *file, sysparams.FileOptions{KeyFile: *key})
	if err != nil {
		fmt.Fprintf(stderr, "ucxparams: %v\n", err)
		return exitFail
	}
	defer store.Close()

	switch cmd {
	case "show":
		p, err := store.Load(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "ucxparams: %v\n", err)
			return exitFail
		}
		return printParams(stdout, stderr, p)
	case "validate":
		p, err := store.Load(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "ucxparams: %v\n", err)
			return exitFail
		}
		if err := p.Validate(); err != nil {
			printProblems(stdout, err)
			return exitFail
		}
		fmt.Fprintln(stdout, "ok")
		return exitOK
	case "set":
		var in *bufio.Reader
		c, err := store.Update(ctx, func(p *sysparams.Params) error {
			var errs []error
			for _, a := range cargs {
				path, value, _ := strings.Cut(a, "=")
				v, err := resolveValue(value, getenv, stdin, &in)
				if err != nil {
					errs = append(errs, fielderr.New(path, "%v", err))
					continue
				}
				if err := sysparams.SetField(p, path, v); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		})
		return reportChange(stdout, stderr, c, err)
	case "import":
		in := stdin
		if cargs[0] != "-" {
			f, err := os.Open(cargs[0])
			if err != nil {
				fmt.Fprintf(stderr, "ucxparams: import: %v\n", err)
				return exitFail
			}
			defer f.Close()
			in = f
		}
		c, err := sysparams.Import(ctx, store, in)
		return reportChange(stdout, stderr, c, err)
	case "forget":
		c, err := sysparams.Forget(ctx, store, cargs[0])
		return reportChange(stdout, stderr, c, err)
	case "rotate-key":
		id, err := store.RotateKey(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "ucxparams: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "key rotated: %s\n", id)
		return exitOK
	case "test-email":
		p, err := store.Load(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "ucxparams: %v\n", err)
			return exitFail
		}
		if *o365env {
			p.Email.O365.ApplyEnv(getenv)
		}
		tctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		rep, err := p.TestEmail(tctx)
		var ve *sysparams.ValidationError
		if errors.As(err, &ve) {
			printProblems(stderr, ve.Err)
			return exitFail
		}
		fmt.Fprint(stdout, rep.String())
		if err != nil || !rep.OK {
			return exitFail
		}
		return exitOK
	}
	return exitUsage
}

// printParams prints p as indented JSON, secrets redacted, without HTML
// escaping: the order prints as "sso>local", not "sso\u003elocal".
func printParams(stdout, stderr io.Writer, p *sysparams.Params) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		fmt.Fprintf(stderr, "ucxparams: %v\n", err)
		return exitFail
	}
	stdout.Write(b.Bytes())
	return exitOK
}

// resolveValue expands "@env:NAME" and "@-" (one line of stdin).
func resolveValue(v string, getenv func(string) string, stdin io.Reader, in **bufio.Reader) (string, error) {
	if name, ok := strings.CutPrefix(v, "@env:"); ok {
		val := getenv(name)
		if val == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", name)
		}
		return val, nil
	}
	if v == "@-" {
		if *in == nil {
			*in = bufio.NewReader(stdin)
		}
		line, err := (*in).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", fmt.Errorf("no line on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	return v, nil
}

func reportChange(stdout, stderr io.Writer, c sysparams.Change, err error) int {
	if err != nil {
		var ve *sysparams.ValidationError
		if errors.As(err, &ve) {
			fmt.Fprintln(stderr, "ucxparams: not saved, invalid parameters:")
			printProblems(stderr, ve.Err)
		} else {
			fmt.Fprintln(stderr, "ucxparams: not saved:")
			printProblems(stderr, err)
		}
		return exitFail
	}
	if c.Empty() {
		fmt.Fprintf(stdout, "no change (revision %d)\n", c.Revision)
		return exitOK
	}
	fmt.Fprintf(stdout, "saved revision %d\n", c.Revision)
	fmt.Fprintf(stdout, "changed: %s\n", strings.Join(c.Fields, ", "))
	fmt.Fprintf(stdout, "restart: %s\n", c.Restart)
	for _, n := range c.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return exitOK
}

func printProblems(w io.Writer, err error) {
	for _, e := range fielderr.Flatten(err) {
		fmt.Fprintln(w, strings.TrimPrefix(e.Error(), "sysparams: "))
	}
}

// extractGlobal removes -file and -key (and their values, "-file F" or
// "-file=F", one or two dashes) from args, setting them, and returns the
// rest in order.
func extractGlobal(args []string, file, key *string, stderr io.Writer) ([]string, bool) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "file" && name != "key") {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "ucxparams: flag needs an argument: %s\n", a)
				return nil, false
			}
			i++
			value = args[i]
		}
		if name == "file" {
			*file = value
		} else {
			*key = value
		}
	}
	return rest, true
}
