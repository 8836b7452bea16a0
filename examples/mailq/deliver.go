package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/proxy"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
	"github.com/ucxkit/ucxkit/proxycfg"
)

// deliverFlags are the flags of "mailq deliver".
type deliverFlags struct {
	smtp, security, user, passwordEnv, ca, proxy string
	o365, tenant, clientID, secretEnv, sender    string
	authURL, serverURL, graphURL                 string
	untilEmpty                                   bool
	retry, maxLifetime, timeout                  time.Duration
}

func parseDeliverFlags(args []string, stderr io.Writer) (*deliverFlags, error) {
	f := &deliverFlags{}
	fs := flag.NewFlagSet("deliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.smtp, "smtp", "", "SMTP server HOST:PORT")
	fs.StringVar(&f.security, "security", "auto", "auto, starttls, tls or none")
	fs.StringVar(&f.user, "user", "", "SMTP user name")
	fs.StringVar(&f.passwordEnv, "password-env", "", "environment variable holding the SMTP password")
	fs.StringVar(&f.ca, "ca", "", "PEM file of extra trusted CA certificates")
	fs.StringVar(&f.proxy, "proxy", "", "proxy URL (http://, https://, socks4://, socks4a://, socks5://, socks5h://)")
	fs.StringVar(&f.o365, "o365", "", "Office 365 mode: graph, smtp or ews")
	fs.StringVar(&f.tenant, "tenant", "", "Office 365 directory (tenant) ID")
	fs.StringVar(&f.clientID, "client-id", "", "Office 365 application (client) ID")
	fs.StringVar(&f.secretEnv, "secret-env", "", "environment variable holding the client secret")
	fs.StringVar(&f.sender, "sender", "", "Office 365 sender mailbox address")
	fs.StringVar(&f.authURL, "auth-url", "", "token authority URL (custom or national cloud)")
	fs.StringVar(&f.serverURL, "server-url", "", "Exchange server URL (custom or national cloud)")
	fs.StringVar(&f.graphURL, "graph-url", "", "Microsoft Graph URL (custom or national cloud)")
	fs.BoolVar(&f.untilEmpty, "until-empty", false, "stop once the queue and the pickup folder are empty")
	fs.DurationVar(&f.retry, "retry", mailqueue.DefaultProbeInterval, "interval between connection attempts while the server is unreachable")
	fs.DurationVar(&f.maxLifetime, "max-lifetime", mailqueue.DefaultMaxLifetime, "age after which a message is moved to failed/ as expired")
	fs.DurationVar(&f.timeout, "timeout", 0, "stop after this long, keeping what is left queued, and exit 1 if messages remain (0: no limit)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if len(pos) != 0 {
		return nil, usageErr("unexpected arguments %q", pos)
	}
	switch {
	case f.smtp == "" && f.o365 == "":
		return nil, usageErr("one of -smtp HOST:PORT or -o365 graph|smtp|ews is required")
	case f.smtp != "" && f.o365 != "":
		return nil, usageErr("-smtp and -o365 exclude each other")
	}
	if f.retry <= 0 {
		return nil, usageErr("-retry must be positive, got %s", f.retry)
	}
	if f.maxLifetime <= 0 {
		return nil, usageErr("-max-lifetime must be positive, got %s", f.maxLifetime)
	}
	if f.timeout < 0 {
		return nil, usageErr("-timeout must be 0 (no limit) or positive, got %s", f.timeout)
	}
	return f, nil
}

// buildSender turns the flags into a mailqueue.Sender.
func buildSender(f *deliverFlags, getenv func(string) string, log *slog.Logger) (mailqueue.Sender, error) {
	var dialer proxy.ContextDialer
	var pc *proxycfg.Config
	if f.proxy != "" {
		c, err := proxycfg.FromURL(f.proxy)
		if err != nil {
			return nil, usageErr("-proxy: %v", err)
		}
		d, err := c.Dialer(nil)
		if err != nil {
			return nil, usageErr("-proxy: %v", err)
		}
		dialer, pc = d, &c
	}
	if f.smtp != "" {
		host, port, err := net.SplitHostPort(f.smtp)
		if err != nil || host == "" {
			return nil, usageErr("-smtp must be HOST:PORT, got %q", f.smtp)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return nil, usageErr("-smtp port must be 1-65535, got %q", port)
		}
		sec := smtpsend.Security(strings.ToLower(f.security))
		switch sec {
		case smtpsend.SecurityAuto, smtpsend.SecurityStartTLS, smtpsend.SecurityTLS, smtpsend.SecurityNone:
		default:
			return nil, usageErr("-security must be auto, starttls, tls or none, got %q", f.security)
		}
		cfg := smtpsend.Config{Host: host, Port: p, Security: sec, Username: f.user, CAFile: f.ca,
			Dialer: dialer, Logger: log}
		if f.passwordEnv != "" {
			pw := getenv(f.passwordEnv)
			if pw == "" {
				return nil, usageErr("-password-env: environment variable %s is empty or unset", f.passwordEnv)
			}
			cfg.Password = smtpsend.NewSecret(pw)
		}
		if f.user != "" && f.passwordEnv == "" {
			return nil, usageErr("-user needs -password-env VAR")
		}
		// A bad flag combination is a usage error; an unreadable -ca
		// file is an ordinary one (exit 1), reported by New.
		flagsOnly := cfg
		flagsOnly.CAFile = ""
		if err := flagsOnly.Validate(); err != nil {
			return nil, usageErr("%v", err)
		}
		return smtpsend.New(cfg)
	}
	mode := o365.Mode(strings.ToLower(f.o365))
	switch mode {
	case o365.ModeGraph, o365.ModeSMTP, o365.ModeEWS:
	default:
		return nil, usageErr("-o365 must be graph, smtp or ews, got %q", f.o365)
	}
	if f.secretEnv == "" {
		return nil, usageErr("-o365 needs -secret-env VAR")
	}
	secret := getenv(f.secretEnv)
	if secret == "" {
		return nil, usageErr("-secret-env: environment variable %s is empty or unset", f.secretEnv)
	}
	cfg := o365.Config{TenantID: f.tenant, ClientID: f.clientID, ClientSecret: o365.NewSecret(secret),
		Sender: f.sender, Mode: mode, AuthURL: f.authURL, ServerURL: f.serverURL, GraphURL: f.graphURL,
		Dialer: dialer, Logger: log}
	if pc != nil {
		hc, err := pc.HTTPClient()
		if err != nil {
			return nil, usageErr("-proxy: %v", err)
		}
		cfg.HTTPClient = hc
	}
	return o365.New(cfg)
}

func cmdDeliver(ctx context.Context, dir string, args []string, stdout, stderr io.Writer, getenv func(string) string) (int, error) {
	f, err := parseDeliverFlags(args, stderr)
	if err != nil {
		return exitUsage, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	snd, err := buildSender(f, getenv, log)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return exitUsage, err
		}
		return exitError, err
	}
	sp, err := mailqueue.OpenSpool(dir, mailqueue.SpoolOptions{Logger: log})
	if err != nil {
		return exitError, err
	}
	defer sp.Close()
	if !sp.Exclusive() {
		return exitError, fmt.Errorf("spool %s is in use by another delivering process", dir)
	}

	var outMu sync.Mutex
	printf := func(format string, args ...any) {
		outMu.Lock()
		fmt.Fprintf(stdout, format, args...)
		outMu.Unlock()
	}
	var failed atomic.Int64
	paused := make(chan mailqueue.Alarm, 1)
	q, err := mailqueue.New(mailqueue.Config{
		Store: sp, Sender: snd, ProbeInterval: f.retry, MaxLifetime: f.maxLifetime,
		PickupDir: sp.PickupDir(), Logger: log, PollInterval: 50 * time.Millisecond,
		OnDelivered: func(m mailqueue.Meta) { printf("delivered %s\n", m.ID) },
		OnFailed: func(m mailqueue.Meta, err error) {
			failed.Add(1)
			printf("failed %s: %s\n", m.ID, oneLine(m.Reason))
		},
		OnAlarm: func(a mailqueue.Alarm) {
			switch a.Kind {
			case mailqueue.AlarmConfig:
				fmt.Fprintf(stderr, "mailq deliver: delivery paused by a configuration error: %v\n", a.Err)
				if a.Hint != "" {
					fmt.Fprintf(stderr, "mailq deliver: hint: %s\n", a.Hint)
				}
				select {
				case paused <- a:
				default:
				}
			case mailqueue.AlarmTransport:
				fmt.Fprintf(stderr, "mailq deliver: server unreachable since %s: %v\n", a.Since.Format(time.RFC3339), a.Err)
			}
		},
	})
	if err != nil {
		return exitError, err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- q.Run(ctx) }()

	var expired <-chan time.Time // nil (never) without -timeout
	if f.timeout > 0 {
		t := time.NewTimer(f.timeout)
		defer t.Stop()
		expired = t.C
	}
	code := exitOK
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-expired:
			// Stop at once: attempts in flight are cancelled and their
			// messages stay queued. The reason is taken before, so that
			// it is not the cancellation.
			lastErr := q.Stats().LastError
			_ = q.Close()
			<-runErr
			if lastErr == "" {
				lastErr = q.Stats().LastError
			}
			return timedOut(sp, f.timeout, lastErr, failed.Load())
		case err := <-runErr:
			if err != nil && !errors.Is(err, context.Canceled) {
				return exitError, err
			}
			return exitOK, nil
		case <-paused:
			if f.untilEmpty {
				code = exitConfig
				break loop
			}
		case <-tick.C:
			if f.untilEmpty && emptyNow(sp) {
				break loop
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = q.Shutdown(sctx)
	<-runErr
	if code == exitOK && failed.Load() > 0 {
		code = exitError
	}
	return code, nil
}

// timedOut ends a run stopped by -timeout: exit status 1 with how many
// messages remain and why, unless nothing remains.
func timedOut(sp *mailqueue.Spool, limit time.Duration, lastErr string, failed int64) (int, error) {
	queued, _ := sp.Depth()
	pickup := pickupCount(sp)
	if queued+pickup == 0 {
		if failed > 0 {
			return exitError, nil
		}
		return exitOK, nil
	}
	left := plural(queued, "message") + " still queued"
	if pickup > 0 {
		left += " and " + plural(pickup, "file") + " waiting in pickup/"
	}
	why := "no attempt failed (delivery still in progress)"
	if lastErr != "" {
		why = "last error: " + oneLine(lastErr)
	}
	return exitError, fmt.Errorf("timeout after %s with %s (kept in the spool); %s", limit, left, why)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// emptyNow reports whether nothing waits in the queue or the pickup folder.
func emptyNow(sp *mailqueue.Spool) bool {
	if n, _ := sp.Depth(); n > 0 {
		return false
	}
	return pickupCount(sp) == 0
}

// pickupCount counts the complete .eml files waiting in the pickup folder.
func pickupCount(sp *mailqueue.Spool) int {
	des, err := os.ReadDir(sp.PickupDir())
	if err != nil {
		return 0
	}
	n := 0
	for _, de := range des {
		name := de.Name()
		if de.Type().IsRegular() && !strings.HasPrefix(name, ".") && strings.EqualFold(filepath.Ext(name), ".eml") {
			n++
		}
	}
	return n
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
