// Command quickstart is ucxkit's main job on embedded defaults: with no
// arguments and no network it runs, in a temporary folder, the whole flow
// of a unified-communications server and prints each step:
//
//  1. create the system parameters (file store, secrets sealed with
//     AES-256-GCM, key file 0600) and show the change notification;
//  2. generate the server's self-signed certificate for this computer;
//  3. compile the numbering plan and normalize sample numbers in all
//     three directions (incoming caller, TAPI called number, dial string);
//  4. authenticate a local user through the chain and open a session;
//  5. enqueue a voicemail notification with a .wav attachment in the mail
//     spool and deliver it through the queue to an SMTP server (an
//     in-process one on 127.0.0.1 unless -smtp is given).
//
// Usage:
//
//	go run ./examples/quickstart [-dir DIR] [-keep]
//	    [-smtp HOST:PORT [-smtp-security auto|starttls|tls|none]
//	     [-smtp-user USER -smtp-password-env VAR] [-from ADDR]]
//	    [-params FILE | -pg DSN] [-to ADDR] [-hostname NAME]
//
// -dir works in DIR (created if needed, kept) instead of a temporary
// folder (removed at the end unless -keep). -smtp delivers to a real SMTP
// server instead of the in-process one. -params uses an existing parameter
// file (and its FILE.key) for every step instead of the defaults (a store
// written by sysparams; seed one from a hand-written plain file with
// "go run ./examples/ucxparams -file F import PLAIN.json"): its
// numbering plan, authentication settings, certificate settings and email
// settings (SMTP or Office 365, through the selected proxy); the file is
// only read. -pg DSN keeps the parameters, the sessions and the mail queue
// in PostgreSQL (cluster mode: sysparams/pgstore, authchain/pgstore and
// mailqueue/pgstore, in the DSN's search_path), with the set's secrets sealed by a key kept in
// the work folder (pg.key); the set is named after that key. -to sets the
// recipient of the notification; -hostname the computer name of the
// certificate.
//
// Exit status: 0 when every step worked, 1 when one failed, 2 for bad
// usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, code, ok := parseFlags(args, stderr)
	if !ok {
		return code
	}
	if err := runFlow(ctx, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "quickstart: %v\n", err)
		return 1
	}
	return 0
}
