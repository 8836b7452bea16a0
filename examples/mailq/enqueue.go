package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// maxMessage bounds what enqueue reads (from a file or stdin).
const maxMessage = 64 << 20

func cmdEnqueue(ctx context.Context, dir string, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("enqueue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "envelope sender (default: X-Sender or From header)")
	to := fs.String("to", "", "comma-separated envelope recipients (default: X-Receiver or To/Cc/Bcc headers)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage, usageErr("%v", err)
	}
	if len(pos) != 1 {
		return exitUsage, usageErr("want exactly one FILE.eml or - for stdin, got %d arguments", len(pos))
	}
	var raw []byte
	source := pos[0]
	if source == "-" {
		source = "stdin"
		raw, err = io.ReadAll(io.LimitReader(stdin, maxMessage+1))
		if err != nil {
			return exitError, fmt.Errorf("reading stdin: %w", err)
		}
	} else {
		raw, err = os.ReadFile(source)
		if err != nil {
			return exitError, err // *fs.PathError names the file
		}
	}
	if len(raw) > maxMessage {
		return exitError, fmt.Errorf("%s: message is larger than %d bytes", source, maxMessage)
	}
	var override mailqueue.Envelope
	override.From = strings.TrimSpace(*from)
	for _, a := range strings.Split(*to, ",") {
		if a = strings.TrimSpace(a); a != "" {
			override.To = append(override.To, a)
		}
	}
	host, _ := os.Hostname()
	env, msg, err := mailqueue.ParsePickupWithEnvelope(raw, time.Now(), host, override)
	if err != nil {
		return exitError, mailqueue.WithSource(err, source)
	}
	// Shared access: a running "mailq deliver" keeps owning the spool and
	// picks the message up.
	sp, err := mailqueue.OpenSpool(dir, mailqueue.SpoolOptions{Access: mailqueue.AccessShared})
	if err != nil {
		return exitError, err
	}
	defer sp.Close()
	m, err := sp.Put(ctx, env, msg, time.Now())
	if err != nil {
		return exitError, err
	}
	fmt.Fprintln(stdout, m.ID)
	return exitOK, nil
}
