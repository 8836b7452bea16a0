// Command proxydial connects through a proxy like netcat, or fetches a URL
// through it, using package proxycfg.
//
// Usage:
//
//	proxydial -proxy URL [-bypass LIST] HOST:PORT
//	proxydial -proxy URL [-bypass LIST] -get https://...
//
// The first form connects to HOST:PORT through the proxy, copies standard
// input to the connection and the connection to standard output, and ends
// when the peer closes the connection. As with netcat, the end of standard
// input does not close the connection (many proxies tear a tunnel down on a
// half-close); -N half-closes it, for peers that wait for end of input.
// The second fetches the URL through the proxy and writes the body to
// standard output.
//
// The proxy URL scheme is http, https, socks4, socks4a, socks5 or socks5h;
// credentials are percent-encoded ("http://alice:p%40ss@proxy:3128"). LIST is
// a comma-separated bypass list ("localhost,.corp,10.0.0.0/8").
//
// Exit status: 0 success, 1 connection or proxy failure (the error's message
// is printed), 2 bad arguments.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/ucxkit/ucxkit/proxycfg"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: proxydial -proxy URL [-bypass LIST] HOST:PORT
       proxydial -proxy URL [-bypass LIST] -get https://...
`

// usageError is a bad-arguments problem (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badArgs(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// options are the parsed command line.
type options struct {
	cfg       proxycfg.Config
	target    string // HOST:PORT, or "" with -get
	get       string // URL, or ""
	timeout   time.Duration
	roots     *x509.CertPool // -cacert, for the target of -get
	halfClose bool           // -N
}

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("proxydial", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	proxyURL := fs.String("proxy", "", "proxy `URL`: http, https, socks4, socks4a, socks5 or socks5h, credentials percent-encoded")
	bypass := fs.String("bypass", "", "comma-separated `LIST` of hosts, .domains, IPs and CIDRs reached without the proxy")
	get := fs.String("get", "", "fetch this http(s) `URL` through the proxy and write the body to standard output")
	timeout := fs.Duration("timeout", 30*time.Second, "limit for connecting through the proxy (and for the whole -get)")
	caCert := fs.String("cacert", "", "PEM `FILE` of CA certificates trusted for the -get target instead of the system roots")
	halfClose := fs.Bool("N", false, "half-close the connection (shutdown for writing) after the end of standard input")
	proxyCA := fs.String("proxy-cacert", "", "PEM `FILE` of CA certificates trusted for an https:// proxy")
	// Flags may also follow HOST:PORT ("proxydial host:25 -proxy URL").
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
	if *proxyURL == "" {
		return nil, badArgs("-proxy is required")
	}
	cfg, err := proxycfg.FromURL(*proxyURL)
	if err != nil {
		return nil, badArgs("-proxy: %v", err)
	}
	if *proxyCA != "" {
		if !cfg.HTTP.TLS {
			return nil, badArgs("-proxy-cacert needs an https:// proxy")
		}
		cfg.HTTP.CAFile = *proxyCA
	}
	cfg.Bypass = proxycfg.SplitBypass(*bypass)
	if len(cfg.Bypass) == 0 {
		cfg.Bypass = nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, badArgs("%v", err)
	}
	if *timeout <= 0 {
		return nil, badArgs("-timeout must be positive, got %s", *timeout)
	}
	o := &options{cfg: cfg, get: *get, timeout: *timeout, halfClose: *halfClose}
	if *caCert != "" {
		pem, err := os.ReadFile(*caCert)
		if err != nil {
			return nil, badArgs("-cacert: %v", err)
		}
		o.roots = x509.NewCertPool()
		if !o.roots.AppendCertsFromPEM(pem) {
			return nil, badArgs("-cacert: %s holds no PEM certificate", *caCert)
		}
	}
	switch {
	case o.get != "" && len(rest) > 0:
		return nil, badArgs("give either HOST:PORT or -get URL, not both")
	case o.get != "":
		u, err := url.Parse(o.get)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, badArgs("-get: want an http:// or https:// URL, got %q", o.get)
		}
	case len(rest) == 0:
		return nil, badArgs("missing HOST:PORT (or -get URL)")
	case len(rest) > 1:
		return nil, badArgs("one HOST:PORT expected, got %d arguments", len(rest))
	default:
		host, port, err := net.SplitHostPort(rest[0])
		if err != nil || host == "" {
			return nil, badArgs("target %q: want HOST:PORT", rest[0])
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, badArgs("target %q: port must be 1-65535", rest[0])
		}
		o.target = rest[0]
	}
	return o, nil
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "proxydial: %v\n%s", err, usage)
		return exitUsage
	}
	if err != nil {
		return exitUsage // flag already printed the problem and the usage
	}
	if o.get != "" {
		err = fetch(ctx, o, stdout, stderr)
	} else {
		err = netcat(ctx, o, stdin, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "proxydial: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// netcat connects to o.target and copies in both directions.
func netcat(ctx context.Context, o *options, stdin io.Reader, stdout io.Writer) error {
	d, err := o.cfg.Dialer(nil)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	conn, err := d.DialContext(dctx, "tcp", o.target)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()
	stopWatch := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopWatch()

	go func() {
		// Standard input to the connection; at its end, half-close only
		// when asked (-N), so the peer sees EOF.
		io.Copy(conn, stdin)
		if o.halfClose {
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		}
	}()
	_, err = io.Copy(stdout, conn)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// fetch GETs o.get through the proxy and writes the body to stdout.
func fetch(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	tr, err := o.cfg.Transport()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	if o.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.roots}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.get, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is known to the user; keep the cause
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusProxyAuthRequired {
		// Only a proxy answers 407 (plain http:// requests through an HTTP proxy).
		return fmt.Errorf("proxy %s refused %s: %s", o.cfg.HTTP.HostPort(), o.get, resp.Status)
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		return fmt.Errorf("reading %s: %w", o.get, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "proxydial: %s: %s\n", o.get, resp.Status)
	}
	return nil
}
