package adminui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/sysparams"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// maxFormBytes bounds a form body: the largest form (numbering plan with
// its pattern list) is a few kilobytes.
const maxFormBytes = 64 << 10

// contentSecurityPolicy allows nothing but this origin's stylesheet and
// form targets: no script at all, no framing, no plugins, no base tag.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// handler is the http.Handler returned by New. It is safe for concurrent
// use; it holds no per-request state.
type handler struct {
	store   sysparams.Store
	opts    Options
	base    string // BasePath, "" for the root
	certDir string
	csrfKey []byte
	log     *slog.Logger
	now     func() time.Time
	tmpl    map[string]*template.Template
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
}

// New returns the admin pages for store as an http.Handler. It refuses a
// nil store, a nil Options.Authorize and malformed options (every problem
// reported at once). The handler answers every request that Authorize
// refuses with Options.Unauthorized (default 403) before anything else.
func New(store sysparams.Store, opts Options) (http.Handler, error) {
	var errs []error
	if store == nil {
		errs = append(errs, ErrNoStore)
	}
	if err := opts.check(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	h := &handler{store: store, opts: opts, base: opts.BasePath, log: opts.Logger, now: opts.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.opts.TestTimeout == 0 {
		h.opts.TestTimeout = defaultTestTimeout
	}
	if h.opts.Title == "" {
		h.opts.Title = "System parameters"
	}
	h.csrfKey = []byte(opts.CSRFKey.Reveal())
	if len(h.csrfKey) == 0 {
		h.csrfKey = make([]byte, minCSRFKey)
		_, _ = rand.Read(h.csrfKey)
	}
	h.certDir = opts.CertDir
	if h.certDir == "" {
		if fsStore, ok := store.(*sysparams.FileStore); ok {
			h.certDir = filepath.Dir(fsStore.Path())
		} else {
			h.certDir = "."
		}
	}
	var err error
	if h.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	h.cop = http.NewCrossOriginProtection()
	h.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.Warn("adminui: cross-origin request refused", "method", r.Method, "path", r.URL.Path)
		h.forbidden(w, r, "Cross-origin request refused.")
	}))
	h.routes()
	return h, nil
}

func (h *handler) routes() {
	m := http.NewServeMux()
	static := http.StripPrefix("/static/", Static())
	m.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			// No directory listings.
			h.errorPage(w, r, http.StatusNotFound, "Page not found.")
			return
		}
		static.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /{$}", h.index)
	for _, s := range sections {
		if s.form {
			m.HandleFunc("GET /"+s.name, h.showSection(s.name))
			m.HandleFunc("POST /"+s.name, h.saveSection(s.name))
		}
	}
	m.HandleFunc("POST /email/test", h.testEmail)
	m.HandleFunc("GET /numbering_plan/explain", h.explain)
	m.HandleFunc("GET /certificate/cert.pem", h.downloadCert)
	m.HandleFunc("POST /certificate/regenerate", h.regenerate)
	m.HandleFunc("POST /cloud/forget", h.forget(sysparams.SectionCloud))
	m.HandleFunc("POST /web_server/forget", h.forget(sysparams.SectionWebServer))
	h.mux = m
}

// ServeHTTP sets the security headers, strips BasePath, asks Authorize,
// refuses cross-origin and token-less state changes, then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")

	if h.base != "" {
		p := r.URL.Path
		if p == h.base {
			http.Redirect(w, r, h.base+"/", http.StatusSeeOther)
			return
		}
		rest, ok := strings.CutPrefix(p, h.base+"/")
		if !ok {
			h.errorPage(w, r, http.StatusNotFound, "Page not found.")
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = "/" + rest
		u.RawPath = ""
		r2.URL = &u
		r = r2
	}
	if !canonicalPath(r.URL.Path) {
		// The mux would redirect "/static/../email" to "/email", outside
		// BasePath (or answer a Location-less 3xx): such a path is not a
		// page of ours.
		h.errorPage(w, r, http.StatusNotFound, "Page not found.")
		return
	}
	if !h.opts.Authorize(r) {
		h.log.Info("adminui: request not authorized", "method", r.Method, "path", r.URL.Path)
		if h.opts.Unauthorized != nil {
			h.opts.Unauthorized.ServeHTTP(w, r)
			return
		}
		h.forbidden(w, r, "You are not allowed to change the system parameters.")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				h.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
				return
			}
			h.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if !h.checkCSRF(r) {
			h.log.Warn("adminui: "+ErrCSRF.Error(), "path", r.URL.Path)
			h.forbidden(w, r, "The form expired or did not come from this page (missing or invalid CSRF token). Reload the page and try again.")
			return
		}
	default:
		// Only GET and POST are routed; let the mux answer 405 with Allow.
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.noRoute(w, r)
		return
	}
	h.cop.Handler(h.mux).ServeHTTP(w, r)
}

// canonicalPath reports whether p is an absolute, already clean path:
// no "." or ".." segments, no empty segments, no backslash (which browsers
// read as a slash in a Location).
func canonicalPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\') {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// noRoute answers a request no pattern matches with the mux's verdict
// (404, or 405 with its Allow header) as an HTML page.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{header: http.Header{}}
	h.mux.ServeHTTP(rec, r)
	code := rec.code
	if code != http.StatusMethodNotAllowed {
		// Only 404 and 405 are answers of their own; a redirect the mux
		// proposes would leave BasePath.
		code = http.StatusNotFound
	}
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	msg := "Page not found."
	if code == http.StatusMethodNotAllowed {
		msg = "This address does not accept " + r.Method + " requests."
	}
	h.errorPage(w, r, code, msg)
}

// statusRecorder captures the status and headers of the mux's own 404 and
// 405 answers; the body is dropped.
type statusRecorder struct {
	header http.Header
	code   int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}

// url returns the browser path of a handler path ("/email" →
// "/admin/params/email").
func (h *handler) url(p string) string { return h.base + p }

func (h *handler) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	h.errorPage(w, r, http.StatusForbidden, msg)
}

// errorPage renders a short page with status code and message. It needs
// no parameters, so it works when the store is unreadable.
func (h *handler) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	pg := &page{h: h, Title: http.StatusText(code), Message: msg, Code: code}
	h.render(w, r, code, "error", pg)
}

// render executes the named page template. A template failure is logged
// and answered with a bare 500, never with partial output.
func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, name string, pg *page) {
	pg.h = h
	pg.Base = h.base
	pg.Product = h.opts.Title
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodPost {
		pg.CSRF = h.csrfToken(h.csrfNonce(w, r))
	}
	t := h.tmpl[name]
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", pg); err != nil {
		h.log.Error("adminui: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
}

// load reads the parameters or renders an error page.
func (h *handler) load(w http.ResponseWriter, r *http.Request) (*sysparams.Params, bool) {
	p, err := h.store.Load(r.Context())
	if err != nil {
		h.log.Error("adminui: load parameters", "err", err)
		h.errorPage(w, r, http.StatusInternalServerError, "The parameters could not be read: "+err.Error())
		return nil, false
	}
	return p, true
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	pg := &page{Title: h.opts.Title, P: p}
	if err := p.Validate(); err != nil {
		pg.setProblems(err)
	}
	h.render(w, r, http.StatusOK, "index", pg)
}

func (h *handler) showSection(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.load(w, r)
		if !ok {
			return
		}
		pg := h.sectionPage(r, name, p)
		if q, ok := h.verifyFlash("/"+name, r.URL.RawQuery); ok {
			pg.Flash = readFlash(q)
		}
		h.render(w, r, http.StatusOK, name, pg)
	}
}

// sectionPage builds the view of one section page.
func (h *handler) sectionPage(r *http.Request, name string, p *sysparams.Params) *page {
	pg := &page{Section: name, Title: sectionByName(name).title, P: p}
	switch name {
	case sysparams.SectionCertificate:
		pg.Cert = h.certView(p)
	case sysparams.SectionWebServer:
		pg.DefaultURL = p.WebServer.EffectiveBaseURL(h.hostname())
	case sysparams.SectionNumberingPlan:
		pg.Explain = h.explainView(r, p)
	}
	return pg
}

func (h *handler) saveSection(name string) http.HandlerFunc {
	apply := appliers[name]
	return func(w http.ResponseWriter, r *http.Request) {
		var candidate *sysparams.Params
		ch, err := h.store.Update(r.Context(), func(p *sysparams.Params) error {
			if h.stale(p, name, r.PostFormValue(stampField)) {
				return errStale
			}
			candidate = p
			if ferr := apply(p, r.PostForm); ferr != nil {
				// Report the form's problems together with the rest.
				var l []error
				l = append(l, ferr)
				if verr := p.Validate(); verr != nil {
					l = append(l, verr)
				}
				return &sysparams.ValidationError{Err: joinErrs(l)}
			}
			return nil
		})
		h.afterSave(w, r, name, candidate, ch, err)
	}
}

// afterSave renders the outcome of an Update: the form again with every
// problem (422), an error page, or a redirect to the section with a flash
// (Post/Redirect/Get, so a reload does not resubmit).
func (h *handler) afterSave(w http.ResponseWriter, r *http.Request, name string, candidate *sysparams.Params, ch sysparams.Change, err error) {
	var verr *sysparams.ValidationError
	switch {
	case errors.Is(err, errStale):
		h.log.Info("adminui: change refused: section changed since the form was loaded", "section", name)
		p, ok := h.load(w, r)
		if !ok {
			return
		}
		pg := h.sectionPage(r, name, p)
		pg.Conflict = true
		h.render(w, r, http.StatusConflict, name, pg)
	case err == nil:
		h.log.Info("adminui: parameters saved", "section", name, "fields", ch.Fields, "revision", ch.Revision, "restart", ch.Restart.String())
		http.Redirect(w, r, h.url("/"+name)+"?"+h.signFlash("/"+name, flashQuery(ch)), http.StatusSeeOther)
	case errors.As(err, &verr) && candidate != nil:
		h.log.Info("adminui: change refused", "section", name, "problems", len(verr.Problems()))
		pg := h.sectionPage(r, name, candidate)
		pg.setProblems(verr)
		pg.Refused = true
		if stored, lerr := h.store.Load(r.Context()); lerr == nil {
			pg.stored = stored
		}
		h.render(w, r, http.StatusUnprocessableEntity, name, pg)
	default:
		h.log.Error("adminui: save failed", "section", name, "err", err)
		h.errorPage(w, r, http.StatusInternalServerError, "The parameters could not be saved: "+err.Error())
	}
}

func (h *handler) forget(section string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch, err := sysparams.Forget(r.Context(), h.store, section)
		h.afterSave(w, r, section, nil, ch, err)
	}
}

// hostname is the computer name for the certificate and the default URL.
func (h *handler) hostname() string {
	if h.opts.Hostname != "" {
		return h.opts.Hostname
	}
	n, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return n
}

// flash is the one-shot message of a page reached by a redirect after a
// save. It comes from the query string only; it changes nothing.
type flash struct {
	Saved     bool
	Unchanged bool
	Done      string
	Restart   string
	Notes     []string
}

// knownNotes are the sysparams warnings a flash can carry by index.
var knownNotes = []string{sysparams.NoteTelephony, sysparams.NoteProxy, sysparams.NoteCertificate, sysparams.NoteWebServer}

func flashQuery(ch sysparams.Change) string {
	if ch.Empty() {
		return "saved=0"
	}
	// "saved" first, so the URL reads well in the address bar.
	q := "saved=1"
	if ch.Restart != sysparams.RestartNone {
		q += "&restart=" + url.QueryEscape(ch.Restart.String())
	}
	for _, n := range ch.Notes {
		for i, k := range knownNotes {
			if n == k {
				q += fmt.Sprintf("&note=%d", i)
			}
		}
	}
	return q
}

// signFlash appends a keyed signature of the flash query for page, so
// that only this handler's own redirects show "Saved." or a restart
// warning: a link someone else crafts ("?saved=1&note=1", "reboot the
// server") shows the page without a message.
func (h *handler) signFlash(page, q string) string {
	return q + "&sig=" + h.flashMAC(page, q)
}

func (h *handler) flashMAC(page, q string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte("adminui-flash-v1\x00" + page + "\x00" + q))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// verifyFlash returns the flash values of a signed query for page.
func (h *handler) verifyFlash(page, raw string) (url.Values, bool) {
	q, sig, ok := strings.Cut(raw, "&sig=")
	if !ok || !hmac.Equal([]byte(sig), []byte(h.flashMAC(page, q))) {
		return nil, false
	}
	v, err := url.ParseQuery(q)
	return v, err == nil
}

func readFlash(q url.Values) *flash {
	f := &flash{}
	switch q.Get("saved") {
	case "1":
		f.Saved = true
	case "0":
		f.Unchanged = true
	}
	switch q.Get("done") {
	case "regenerated", "created":
		f.Done = q.Get("done")
	}
	switch q.Get("restart") {
	case "services", "host":
		f.Restart = q.Get("restart")
	}
	for _, s := range q["note"] {
		for i := range knownNotes {
			if s == fmt.Sprint(i) {
				f.Notes = append(f.Notes, knownNotes[i])
			}
		}
	}
	if !f.Saved && !f.Unchanged && f.Done == "" {
		return nil
	}
	return f
}

// testCtx bounds one connection test.
func (h *handler) testCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, h.opts.TestTimeout)
}

// joinErrs is errors.Join for a slice.
func joinErrs(errs []error) error { return errors.Join(errs...) }
