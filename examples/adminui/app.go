package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// basePath is where the admin pages are mounted.
const basePath = "/admin/params"

// adminRole is the role that opens the admin pages.
const adminRole = "admin"

// app is the example server: the parameter store, the certificate, the
// authentication chain and session manager, and the HTTP handler.
type app struct {
	store   *sysparams.FileStore
	certs   *certReloader
	chain   *authchain.Chain
	session *authchain.Manager
	handler http.Handler
	log     *slog.Logger
	limit   *loginLimiter
	checks  chan struct{} // bounds concurrent password checks
}

// newApp opens (or creates) the data folder and wires everything. extra
// users are added to the directory beside the admin (tests add a user
// without the admin role).
func newApp(ctx context.Context, cfg config, getenv func(string) string, out io.Writer, extra ...authchain.User) (*app, error) {
	if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := sysparams.OpenFile(ctx, filepath.Join(cfg.dir, "params.json"), sysparams.FileOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	a := &app{store: store, log: log, limit: newLoginLimiter(time.Now), checks: make(chan struct{}, loginConcurrency)}
	ok := false
	defer func() {
		if !ok {
			store.Close()
		}
	}()
	fmt.Fprintf(out, "parameters: %s\n", store.Path())

	p, err := store.Load(ctx)
	if err != nil {
		return nil, err
	}
	host := cfg.hostname
	if host == "" {
		if host, err = os.Hostname(); err != nil {
			return nil, err
		}
	}
	pair, st, err := p.EnsureCertificate(cfg.dir, host, log)
	if err != nil {
		return nil, err
	}
	certDir := p.Certificate.Dir(cfg.dir)
	fmt.Fprintf(out, "certificate: %s (%s, sha256 %s, expires %s)\n",
		filepath.Join(certDir, certgen.CertFile), st.State, pair.Fingerprint(), st.NotAfter.UTC().Format("2006-01-02"))
	a.certs = &certReloader{dir: certDir}
	if err := a.certs.load(); err != nil {
		return nil, err
	}

	password, where, err := adminPassword(cfg, getenv)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "login: user %q, password %s\n", cfg.user, where)
	hash, err := authchain.HashPassword(password, authchain.Argon2Params{})
	if err != nil {
		return nil, err
	}
	users := append([]authchain.User{{Login: cfg.user, PasswordHash: hash, Roles: []string{adminRole}}}, extra...)
	dir, err := authchain.NewMemoryDirectory(users...)
	if err != nil {
		return nil, err
	}
	// SSO first (inert: no provider here), then local passwords: the
	// default order, whatever the stored order names, so that an LDAP or
	// UCM order saved from the pages cannot lock the admin out.
	a.chain, err = authchain.NewChain(authchain.ChainConfig{Order: authchain.OrderSSOLocal, Directory: dir, Logger: log})
	if err != nil {
		return nil, err
	}
	a.session, err = p.SessionManager(authchain.NewMemoryStore())
	if err != nil {
		return nil, err
	}
	admin, err := adminui.New(store, adminui.Options{
		Authorize: isAdmin,
		Unauthorized: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := authchain.FromContext(r.Context()); ok {
				http.Error(w, "forbidden: the admin role is required", http.StatusForbidden)
				return
			}
			http.Redirect(w, r, "/login?return_to="+basePath+"/", http.StatusSeeOther)
		}),
		BasePath: basePath,
		CertDir:  cfg.dir,
		Hostname: host,
		Title:    "ucxkit — System parameters",
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(basePath+"/", admin)
	mux.Handle(basePath, admin)
	mux.Handle("GET /static/", http.StripPrefix("/static/", adminui.Static()))
	mux.HandleFunc("GET /login", a.loginForm)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, basePath+"/", http.StatusSeeOther)
	})
	// Login and logout have no token of their own: the cross-origin check
	// (Sec-Fetch-Site / Origin) refuses forged cross-site posts, and the
	// session cookie is SameSite=Lax.
	a.handler = a.session.Middleware(http.NewCrossOriginProtection().Handler(securityHeaders(mux)))
	ok = true
	return a, nil
}

// isAdmin is adminui's Authorize hook: a session with the admin role.
func isAdmin(r *http.Request) bool {
	s, ok := authchain.FromContext(r.Context())
	return ok && slices.Contains(s.Roles, adminRole)
}

// Serve serves HTTPS on ln until ctx ends, then shuts down gracefully.
func (a *app) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // "Test connection" may take 30 s
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: a.certs.get},
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases the store.
func (a *app) Close() error { return a.store.Close() }

// adminPassword returns the admin password and where it comes from: the
// environment variable, or a file in the data folder (generated once).
func adminPassword(cfg config, getenv func(string) string) (pw, where string, err error) {
	if v := getenv(cfg.passwordEnv); v != "" {
		return v, "from $" + cfg.passwordEnv, nil
	}
	path := filepath.Join(cfg.dir, "admin-password.txt")
	if b, err := os.ReadFile(path); err == nil {
		if pw := strings.TrimSpace(string(b)); pw != "" {
			return pw, "in " + path, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	raw := make([]byte, 18)
	_, _ = rand.Read(raw)
	pw = base64.RawURLEncoding.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return pw, "generated in " + path, nil
}

// writeFileAtomic writes a temp file in the same folder, fsyncs it,
// renames it over path and fsyncs the folder.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// certReloader serves the certificate in dir and reloads it when the file
// changes (after "Regenerate" on the certificate page).
type certReloader struct {
	dir string

	mu    sync.Mutex // guards mtime, cert
	mtime time.Time
	cert  *tls.Certificate
}

func (c *certReloader) load() error {
	st, err := os.Stat(filepath.Join(c.dir, certgen.CertFile))
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert != nil && st.ModTime().Equal(c.mtime) {
		return nil
	}
	pair, err := certgen.Load(c.dir)
	if err != nil {
		return err
	}
	tc := pair.TLSCertificate()
	c.cert, c.mtime = &tc, st.ModTime()
	return nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if err := c.load(); err != nil {
		// Keep serving the last good certificate while files are replaced.
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cert != nil {
			return c.cert, nil
		}
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — ucxkit</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/style.css"></head>
<body><header class="top"><span class="brand">ucxkit</span></header>
<div class="wrap"><main id="main">
<h1>Sign in</h1>
{{if .Error}}<div class="notice error" role="alert">{{.Error}}</div>{{end}}
<form method="post" action="/login">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<div class="field"><label for="login">User name</label><input type="text" id="login" name="login" value="{{.Login}}" autocomplete="username" required></div>
<div class="field"><label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required></div>
<div class="field check"><input type="checkbox" id="remember" name="remember" value="on"><label for="remember">Remember me</label></div>
<div class="actions"><button type="submit">Sign in</button></div>
</form></main></div></body></html>
`))

type loginView struct {
	Error, Login, ReturnTo string
}

func (a *app) renderLogin(w http.ResponseWriter, code int, v loginView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = loginPage.Execute(w, v)
}

func (a *app) loginForm(w http.ResponseWriter, r *http.Request) {
	a.renderLogin(w, http.StatusOK, loginView{ReturnTo: authchain.SafeReturnTo(r.URL.Query().Get("return_to"))})
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	login, returnTo := r.PostFormValue("login"), authchain.SafeReturnTo(r.PostFormValue("return_to"))
	key := loginKey(login)
	if wait, ok := a.limit.blocked(key); ok {
		mins := int((wait + time.Minute - 1) / time.Minute)
		w.Header().Set("Retry-After", fmt.Sprint(int((wait+time.Second-1)/time.Second)))
		a.log.Warn("sign-in throttled", "failures", loginMaxFailures, "window", loginWindow.String())
		a.renderLogin(w, http.StatusTooManyRequests, loginView{
			Error: fmt.Sprintf("Too many failed sign-ins for this user. Try again in %d minute(s).", mins), Login: login, ReturnTo: returnTo})
		return
	}
	select {
	case a.checks <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	res, err := a.chain.Authenticate(r.Context(), login, r.PostFormValue("password"))
	<-a.checks
	if err != nil {
		a.limit.fail(key)
		// One message for every refusal, so the form does not tell which
		// logins exist.
		a.renderLogin(w, http.StatusUnauthorized, loginView{Error: "Wrong user name or password.", Login: login, ReturnTo: returnTo})
		return
	}
	a.limit.reset(key)
	if _, err := a.session.Login(r.Context(), w, r, res.User, r.PostFormValue("remember") == "on"); err != nil {
		a.log.Error("session", "err", err)
		http.Error(w, "could not start a session", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	_ = a.session.Logout(r.Context(), w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// securityHeaders sets the headers of the login pages (adminui sets its
// own).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
