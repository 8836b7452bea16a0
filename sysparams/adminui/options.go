package adminui

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"net/http"

	"github.com/ucxkit/ucxkit/internal/secret"
	"github.com/ucxkit/ucxkit/sysparams"
)

// Secret is the string type of the CSRF key: it never prints, logs or
// marshals its value.
type Secret = secret.Secret

// NewSecret returns a Secret holding v (the empty string gives the unset
// Secret). Secrets of every ucxkit package are the same type.
func NewSecret(v string) Secret { return secret.New(v) }

// Options configures New. Only Authorize is required; every other field
// documents its zero value.
type Options struct {
	// Authorize decides whether a request may see and change the
	// parameters (typically: the request carries a session whose user has
	// an admin role). Required; New refuses a nil hook, there is no
	// default that lets anyone in. It is called for every request,
	// including static assets and HEAD/OPTIONS, before anything else
	// happens, except that a path outside BasePath or not canonical
	// ("/static/../email", "//x") is answered 404 first. The request it
	// sees has BasePath stripped from URL.Path and the original context.
	Authorize func(*http.Request) bool `json:"-"`
	// Unauthorized answers requests that Authorize refuses, for example
	// with a redirect to the host's login page. Nil means a plain 403
	// Forbidden page.
	Unauthorized http.Handler `json:"-"`
	// BasePath is the URL path under which the host mounts the handler
	// ("/admin/params"), without a trailing slash. The handler strips it
	// from incoming paths and prefixes it to every link, redirect and
	// cookie path. Empty means the handler is mounted at "/".
	BasePath string `json:"base_path"`
	// CertDir is the folder against which certificate.folder is resolved
	// (sysparams.Certificate.Dir). Empty means the folder of the parameter
	// file when the store is a *sysparams.FileStore, else the current
	// folder.
	CertDir string `json:"cert_dir"`
	// Hostname is the computer name the certificate must name. Empty
	// means os.Hostname.
	Hostname string `json:"hostname"`
	// MailOptions are passed to Params.TestEmailWith by the email page's
	// "Test connection" button (a private CA, a dialer in tests). The zero
	// value uses the system roots and the proxy that email.proxy selects.
	MailOptions sysparams.MailOptions `json:"-"`
	// TestTimeout bounds one "Test connection" run. Zero means 30 seconds.
	TestTimeout time.Duration `json:"test_timeout"`
	// CSRFKey is the HMAC key that binds form tokens to the CSRF cookie;
	// at least 32 bytes. Empty means a random key made by New, which is
	// right for one process; nodes behind a load balancer that does not
	// keep a browser on one node share a key.
	CSRFKey Secret `json:"csrf_key"`
	// SecureCookie forces the Secure attribute (and the "__Host-" name
	// prefix) on the CSRF cookie. False means it is set when the request
	// came over TLS (r.TLS != nil); set it when TLS ends at a reverse
	// proxy.
	SecureCookie bool `json:"secure_cookie"`
	// Title is the product name in the page header. Empty means
	// "System parameters".
	Title string `json:"title"`
	// Logger receives one record per saved change, refused request and
	// failure (never a secret). Nil means silent.
	Logger *slog.Logger `json:"-"`
	// Now returns the current time (certificate checks). Nil means
	// time.Now.
	Now func() time.Time `json:"-"`
}

// defaultTestTimeout bounds "Test connection": long enough for a slow
// SMTP banner plus a token request, short enough for a browser to wait.
const defaultTestTimeout = 30 * time.Second

// minCSRFKey is the shortest accepted HMAC-SHA256 key (its output size).
const minCSRFKey = 32

func (o Options) check() error {
	var errs []error
	if o.Authorize == nil {
		errs = append(errs, ErrNoAuthorize)
	}
	if o.BasePath != "" {
		bp := o.BasePath
		if !strings.HasPrefix(bp, "/") || strings.HasSuffix(bp, "/") || strings.ContainsAny(bp, "?#\"'<> \\") || strings.Contains(bp, "//") || strings.Contains(bp, "/../") || strings.HasSuffix(bp, "/..") {
			errs = append(errs, fmt.Errorf("%w: options.base_path: must start with / and not end with /, got %q", ErrBasePath, bp))
		}
	}
	if o.CSRFKey.IsSet() && len(o.CSRFKey.Reveal()) < minCSRFKey {
		errs = append(errs, fmt.Errorf("adminui: options.csrf_key: must be at least %d bytes, got %d", minCSRFKey, len(o.CSRFKey.Reveal())))
	}
	if o.TestTimeout < 0 {
		errs = append(errs, fmt.Errorf("adminui: options.test_timeout: must be >= 0, got %s", o.TestTimeout))
	}
	if len(errs) == 0 {
		return nil
	}
	return joinErrs(errs)
}
