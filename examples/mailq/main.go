// Command mailq drives a mailqueue spool from the command line: it
// enqueues messages, shows the queue as JSON and delivers it over SMTP or
// Office 365.
//
//	mailq -spool DIR enqueue [-from A] [-to B,C] FILE.eml|-
//	mailq -spool DIR status
//	mailq -spool DIR deliver -smtp HOST:PORT [-security auto|starttls|tls|none]
//	      [-user U] [-password-env VAR] [-ca FILE] [-proxy URL]
//	      [-until-empty] [-retry 30s] [-max-lifetime 120h] [-timeout 0]
//	mailq -spool DIR deliver -o365 graph|smtp|ews -tenant T -client-id C
//	      -secret-env VAR -sender ADDR [-auth-url URL] [-server-url URL]
//	      [-graph-url URL] [-proxy URL] [-until-empty] [-retry 30s] [-max-lifetime 120h]
//	      [-timeout 0]
//
// enqueue prints the new message's ID. The envelope comes from -from and
// -to, else from the X-Sender/X-Receiver or From/To/Cc/Bcc header fields;
// Bcc is removed, line endings become CRLF, Date and Message-ID are added
// when missing.
//
// status prints one JSON object: {"spool", "counts": {"queued", "leased",
// "failed", "total"}, "messages": [...]}, each message with the metadata
// fields of mailqueue.Meta.
//
// deliver prints "delivered ID" and "failed ID: REASON" lines as messages
// leave the queue (log lines go to stderr). Without -until-empty it runs
// until interrupted (SIGINT/SIGTERM), probing an unreachable server every
// -retry. With -until-empty it stops once the queue and the pickup folder
// are empty. -timeout DURATION (0, the default, is no limit) bounds the
// whole deliver run: when it expires, attempts in flight are cancelled,
// every message not yet delivered stays in the spool, and if any remain
// mailq prints "mailq deliver: timeout after D with N messages still queued
// (kept in the spool); last error: ..." on stderr and exits 1. Use it for
// "deliver -until-empty" from cron, which otherwise waits for as long as
// the server is unreachable.
//
// Exit status (all commands):
//
//	0  success: enqueue printed the ID, status printed the report, or
//	   deliver ended (queue empty with -until-empty, interrupted, or its
//	   -timeout expired with nothing left) without a dead-lettered message
//	1  failure: an error (spool, file, message), a message moved to
//	   failed/ during this deliver run, or -timeout expired with messages
//	   still queued (they are kept)
//	2  usage error: unknown command, bad or missing flag or argument
//	3  deliver -until-empty stopped because delivery is paused by a
//	   configuration error (authentication, TLS policy); messages are kept
//
// Note that "go run" reports every non-zero status of the program as 1;
// build the command to see these statuses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitConfig   = 3
	usageSummary = `usage:
  mailq -spool DIR enqueue [-from A] [-to B,C] FILE.eml|-
  mailq -spool DIR status
  mailq -spool DIR deliver -smtp HOST:PORT [-security auto|starttls|tls|none] [-user U]
        [-password-env VAR] [-ca FILE] [-proxy URL] [-until-empty] [-retry 30s] [-max-lifetime 120h]
        [-timeout 0]
  mailq -spool DIR deliver -o365 graph|smtp|ews -tenant T -client-id C -secret-env VAR -sender ADDR
        [-auth-url URL] [-server-url URL] [-graph-url URL] [-proxy URL] [-until-empty] [-retry 30s] [-max-lifetime 120h]
        [-timeout 0]
exit status: 0 ok; 1 error, a message moved to failed/, or -timeout expired with messages queued;
             2 usage error; 3 deliver -until-empty paused by a configuration error (messages kept)
`
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole program, testable without a process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("mailq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usageSummary) }
	spool := fs.String("spool", "", "spool folder (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *spool == "" {
		fmt.Fprintln(stderr, "mailq: -spool DIR is required")
		fmt.Fprint(stderr, usageSummary)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "mailq: missing command (enqueue, status or deliver)")
		fmt.Fprint(stderr, usageSummary)
		return exitUsage
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	var code int
	var err error
	switch cmd {
	case "enqueue":
		code, err = cmdEnqueue(ctx, *spool, rest, stdin, stdout, stderr)
	case "status":
		code, err = cmdStatus(ctx, *spool, rest, stdout, stderr)
	case "deliver":
		code, err = cmdDeliver(ctx, *spool, rest, stdout, stderr, getenv)
	default:
		fmt.Fprintf(stderr, "mailq: unknown command %q (enqueue, status or deliver)\n", cmd)
		fmt.Fprint(stderr, usageSummary)
		return exitUsage
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "mailq %s: %s\n", cmd, ue.msg)
			return exitUsage
		}
		fmt.Fprintf(stderr, "mailq %s: %v\n", cmd, err)
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

// usageError is a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return "usage: " + e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("enqueue FILE -to x" as well as "enqueue -to x
// FILE").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
