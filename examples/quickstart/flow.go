package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/sysparams"
)

// demoPassword is the local password of the demo user "alice".
const demoPassword = "correct horse battery staple"

// demoCloudSecret is a sample cloud client secret, stored sealed to show
// that no secret reaches the file in clear.
const demoCloudSecret = "demo-cloud-secret-8f1e"

// flow carries the state of one run.
type flow struct {
	o     options
	out   io.Writer
	dir   string
	host  string
	start time.Time
	store sysparams.Store // open for the whole run
	pg    *pgStores       // with -pg: the PostgreSQL stores
}

func runFlow(ctx context.Context, o options, out io.Writer) (err error) {
	f := &flow{o: o, out: out, start: time.Now()}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "ucxkit-quickstart-")
		if err != nil {
			return err
		}
		f.dir = d
		if !o.keep {
			defer os.RemoveAll(d)
		}
	} else {
		if err := os.MkdirAll(o.dir, 0o700); err != nil {
			return err
		}
		f.dir = o.dir
	}
	f.host = o.hostname
	if f.host == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			f.host = h
		} else {
			f.host = "localhost"
		}
	}
	note := "kept"
	if o.dir == "" && !o.keep {
		note = "removed at the end"
	}
	f.printf("ucxkit quickstart: work folder %s (%s)\n", f.dir, note)

	// The in-process SMTP server is started first so that the parameters
	// can name it.
	var sk *sink
	if o.smtpAddr == "" && o.params == "" {
		if sk, err = startSink(); err != nil {
			return fmt.Errorf("start the in-process SMTP server: %w", err)
		}
		defer sk.close()
	}

	p, err := f.stepParams(ctx, sk)
	if f.pg != nil {
		defer f.pg.close()
	} else if f.store != nil {
		defer f.store.Close()
	}
	if err != nil {
		return fmt.Errorf("step 1, parameters: %w", err)
	}
	if err := f.stepCertificate(p); err != nil {
		return fmt.Errorf("step 2, certificate: %w", err)
	}
	if err := f.stepNumbering(p); err != nil {
		return fmt.Errorf("step 3, numbering plan: %w", err)
	}
	if err := f.stepAuth(ctx, p); err != nil {
		return fmt.Errorf("step 4, authentication: %w", err)
	}
	if err := f.stepMail(ctx, p, sk); err != nil {
		return fmt.Errorf("step 5, voicemail notification: %w", err)
	}
	f.printf("\nall steps done in %s\n", time.Since(f.start).Round(time.Millisecond))
	return nil
}

func (f *flow) printf(format string, a ...any) { fmt.Fprintf(f.out, format, a...) }

func (f *flow) section(n int, title string) {
	f.printf("\n[%d/5] %s\n", n, title)
}

func (f *flow) row(label, format string, a ...any) {
	f.printf("  %-10s %s\n", label, fmt.Sprintf(format, a...))
}

// stepParams creates (or loads) the parameter file and applies the
// quickstart's settings through Update, printing the change notification.
func (f *flow) stepParams(ctx context.Context, sk *sink) (*sysparams.Params, error) {
	if f.o.params != "" {
		f.section(1, "System parameters (from "+f.o.params+", read only)")
		// A missing file would read as the defaults; here it is a mistake.
		if _, err := os.Stat(f.o.params); err != nil {
			return nil, fmt.Errorf("-params: %w", err)
		}
		st, err := sysparams.OpenFile(ctx, f.o.params, sysparams.FileOptions{})
		if errors.Is(err, sysparams.ErrForeign) {
			if b, rerr := os.ReadFile(f.o.params); rerr == nil && isPlainParams(b) {
				return nil, fmt.Errorf("-params: %s holds plain parameters, not a parameter store; seed a store from it first (go run ./examples/ucxparams -file params.json import %s) and pass -params params.json", f.o.params, f.o.params)
			}
		}
		if err != nil {
			return nil, err
		}
		f.store = st
		p, err := st.Load(ctx)
		if err != nil {
			return nil, err
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		f.row("file", "%s", f.o.params)
		f.row("validate", "ok")
		return p, nil
	}
	path := filepath.Join(f.dir, "params.json")
	var statErr error
	if f.o.pg != "" {
		f.section(1, "System parameters (PostgreSQL store shared by cluster nodes)")
		pg, err := openPG(ctx, f.o.pg, f.dir)
		if err != nil {
			return nil, err
		}
		f.pg = pg
		f.store = pg.params
	} else {
		f.section(1, "System parameters")
		_, statErr = os.Stat(path)
		st, err := sysparams.OpenFile(ctx, path, sysparams.FileOptions{})
		if err != nil {
			return nil, err
		}
		f.store = st
	}
	st := f.store
	var notified []sysparams.Change
	defer st.Subscribe(func(c sysparams.Change) { notified = append(notified, c) })()

	var password sysparams.Secret
	if f.o.smtpPassEnv != "" {
		password = sysparams.NewSecret(os.Getenv(f.o.smtpPassEnv))
		if !password.IsSet() {
			return nil, fmt.Errorf("environment variable %s is empty", f.o.smtpPassEnv)
		}
	}
	c, err := st.Update(ctx, func(p *sysparams.Params) error {
		if p.Telephony.SystemName == "" {
			p.Telephony = sysparams.Telephony{SystemName: "ucxkit quickstart", PBXAddress: "127.0.0.1"}
		}
		// A plan for Italy behind a PBX that adds 0 to caller numbers and
		// needs 0 for an outside line; extensions are 2XXX.
		p.NumberingPlan.UseDefaults = false
		p.NumberingPlan.LocalCountryCode = "+39"
		p.NumberingPlan.InternationalPrefix = "00"
		p.NumberingPlan.IncomingPrefix = "0"
		p.NumberingPlan.OutgoingPrefix = "0"
		p.NumberingPlan.TAPIIncludesPrefix = true
		p.NumberingPlan.InternalPatterns = []string{"2XXX"}
		p.Cloud = sysparams.Cloud{ClientID: "quickstart-client", ClientSecret: sysparams.NewSecret(demoCloudSecret)}

		e := &p.Email
		e.Enabled = true
		e.Protocol = sysparams.ProtocolSMTP
		e.From = f.o.from
		e.Proxy = sysparams.ProxyNone
		if sk != nil {
			host, port, _ := net.SplitHostPort(sk.addr)
			e.Server = host
			e.Port, _ = strconv.Atoi(port)
			e.Security = sysparams.SecurityNone // the in-process server speaks plain SMTP on loopback
			e.UseAuth, e.Username, e.Password = false, "", sysparams.NewSecret("")
		} else {
			host, port, _ := net.SplitHostPort(f.o.smtpAddr)
			e.Server = host
			e.Port, _ = strconv.Atoi(port)
			e.Security = sysparams.Security(f.o.smtpSecurity)
			e.UseAuth = f.o.smtpUser != ""
			e.Username, e.Password = f.o.smtpUser, password
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f.pg != nil {
		f.row("set", "%q in PostgreSQL (revision %d, optimistic concurrency, LISTEN/NOTIFY)", f.pg.name, c.Revision)
		f.row("key file", "%s (every node of a cluster needs the same key)", f.pg.keyPath)
	} else {
		state := "new"
		if statErr == nil {
			state = "existing"
		}
		f.row("file", "%s (%s, revision %d)", path, state, c.Revision)
		if fs, ok := st.(*sysparams.FileStore); ok {
			if fi, err := os.Stat(fs.KeyPath()); err == nil {
				f.row("key file", "%s (mode %04o, AES-256-GCM key)", fs.KeyPath(), fi.Mode().Perm())
			}
		}
	}
	if c.Empty() {
		f.row("changed", "nothing")
	} else {
		f.row("changed", "%d fields in %s", len(c.Fields), strings.Join(c.Sections, ", "))
		f.row("restart", "%s", c.Restart)
		for _, n := range c.Notes {
			f.row("note", "%s", n)
		}
		f.row("notified", "%d subscriber call(s), revision %d", len(notified), c.Revision)
	}
	var raw []byte
	where := "on disk"
	if f.pg != nil {
		raw, err = f.pg.document(ctx)
		where = "in the database"
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var doc sysparams.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	sealed := doc.Secrets["cloud.client_secret"]
	if len(sealed) > 24 {
		sealed = sealed[:24] + "..."
	}
	f.row("secrets", "cloud.client_secret %s: %s", where, sealed)
	if bytes.Contains(raw, []byte(demoCloudSecret)) {
		return nil, errors.New("the cloud secret is stored in clear")
	}
	f.row("", "plaintext absent from the stored document: yes")
	p, err := st.Load(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	f.row("validate", "ok")
	return p, nil
}

func (f *flow) stepCertificate(p *sysparams.Params) error {
	f.section(2, "Secure communications certificate")
	if o, err := p.CertificateOptions(f.host); err != nil || o.Validate() != nil {
		// Some computer names (with characters a certificate cannot carry)
		// are refused; the demo goes on with "localhost".
		f.row("note", "computer name %q cannot be a certificate name; using localhost", f.host)
		f.host = "localhost"
	}
	_, st, err := p.EnsureCertificate(f.dir, f.host, nil)
	if err != nil {
		return err
	}
	f.row("action", "%s", st.Action)
	f.row("subject", "CN=%s", st.Subject)
	names := append(append([]string(nil), st.DNSNames...), st.IPAddresses...)
	f.row("names", "%s", strings.Join(names, ", "))
	f.row("validity", "%s to %s (%d days left)", st.NotBefore.Format("2006-01-02"), st.NotAfter.Format("2006-01-02"), st.DaysLeft)
	f.row("key", "%s, serial %s", st.KeyType, shorten(st.Serial, 16))
	f.row("sha256", "%s", shorten(st.Fingerprint, 47))
	f.row("state", "%s: %s", st.State, st.Message)
	f.row("files", "%s/{cert.pem,key.pem}", p.Certificate.Dir(f.dir))
	return nil
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func (f *flow) stepNumbering(p *sysparams.Params) error {
	np := p.NumberingPlan.Effective()
	f.section(3, fmt.Sprintf("Numbering plan (local country %s, international prefix %s, incoming prefix %q, outgoing prefix %q, internal %s)",
		orNone(np.LocalCountryCode), orNone(np.InternationalPrefix), np.IncomingPrefix, np.OutgoingPrefix, strings.Join(np.InternalPatterns, " ")))
	plan, err := p.Normalizer(numplan.Options{})
	if err != nil {
		return err
	}
	samples := []struct {
		dir, number, primary, what string
	}{
		{"in", "00612345678", "", "caller ID as the PBX reports it (redial 0 added)"},
		{"in", "00044 20 7946 0123", "", "foreign caller (redial 0 added)"},
		{"in", "2001", "", "internal extension"},
		{"tapi", "00612345678", "", "called number of an outgoing call"},
		{"out", "+390612345678", "", "directory number, national"},
		{"out", "+442079460123", "", "directory number, foreign"},
		{"out", "2001", "", "internal extension"},
	}
	for _, s := range samples {
		var r numplan.Result
		switch s.dir {
		case "in":
			r = plan.In(s.number)
		case "tapi":
			r = plan.TAPI(s.number)
		case "out":
			r = plan.Out(s.number, s.primary)
		}
		if r.Err != nil {
			return fmt.Errorf("%s %s: %w", s.dir, s.number, r.Err)
		}
		res := r.Key
		label := "key"
		if s.dir == "out" {
			res, label = r.Dial, "dial"
		}
		f.printf("  %-5s %-18s -> %-4s %-16s %-9s %s\n", s.dir, s.number, label, res, r.Kind, s.what)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (f *flow) stepAuth(ctx context.Context, p *sysparams.Params) error {
	f.section(4, fmt.Sprintf("Authentication (order %s) and session", p.Authentication.Order))
	hash, err := authchain.HashPassword(demoPassword, authchain.DefaultArgon2Params)
	if err != nil {
		return err
	}
	dir, err := authchain.NewMemoryDirectory(authchain.User{Login: "alice", PasswordHash: hash, Roles: []string{"user"}})
	if err != nil {
		return err
	}
	chain, err := p.Chain(authchain.ChainConfig{Directory: dir})
	if err != nil {
		return err
	}
	if _, err := chain.Authenticate(ctx, "alice", "wrong password"); !errors.Is(err, authchain.ErrDenied) {
		return fmt.Errorf("a wrong password must be denied, got %v", err)
	}
	f.row("login", "alice with a wrong password: denied")
	res, err := chain.Authenticate(ctx, "alice", demoPassword)
	if err != nil {
		return err
	}
	f.row("login", "alice with her password: accepted, decided by %s", res.Method)

	var sessions authchain.Store = authchain.NewMemoryStore()
	where := "memory"
	if f.pg != nil {
		sessions, where = f.pg.sessions, "PostgreSQL (valid on every node)"
	}
	mgr, err := p.SessionManager(sessions)
	if err != nil {
		return err
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "https://"+strings.ToLower(f.host)+"/login", nil)
	sess, err := mgr.Login(ctx, w, r, res.User, p.Authentication.RememberUser)
	if err != nil {
		return err
	}
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		return errors.New("login set no cookie")
	}
	ck := cookies[0]
	f.row("session", "cookie %s (Secure %t, HttpOnly %t, SameSite Lax), remember %t", ck.Name, ck.Secure, ck.HttpOnly, sess.Remember)
	f.row("expiry", "idle %s (inactivity %s), absolute %s",
		sess.IdleExpiresAt.Format(time.DateTime), p.Authentication.InactivityTimeout, sess.AbsoluteExpiresAt.Format(time.DateTime))
	r2 := httptest.NewRequest(http.MethodGet, "https://"+strings.ToLower(f.host)+"/", nil)
	r2.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	got, err := mgr.Lookup(ctx, r2)
	if err != nil {
		return fmt.Errorf("the session cookie does not find the session: %w", err)
	}
	f.row("lookup", "the cookie finds the session of %s (%s store)", got.Login, where)
	return nil
}

func (f *flow) stepMail(ctx context.Context, p *sysparams.Params, sk *sink) error {
	f.section(5, "Voicemail notification through the mail queue")
	var qstore mailqueue.Store
	where := ""
	if f.pg != nil {
		qstore, where = f.pg.queue, "PostgreSQL (shared by cluster nodes; claims with FOR UPDATE SKIP LOCKED)"
	} else {
		spoolDir := filepath.Join(f.dir, "spool")
		spool, err := mailqueue.OpenSpool(spoolDir, mailqueue.SpoolOptions{})
		if err != nil {
			return err
		}
		defer spool.Close()
		qstore, where = spool, spoolDir
	}
	var id string // the notification's queue ID, set before Run starts
	delivered := make(chan mailqueue.Meta, 64)
	failed := make(chan error, 1)
	q, err := mailqueue.New(mailqueue.Config{
		Store: qstore,
		OnDelivered: func(m mailqueue.Meta) {
			select {
			case delivered <- m:
			default:
			}
		},
		OnFailed: func(m mailqueue.Meta, err error) {
			if m.ID == id {
				failed <- err
			}
		},
	})
	if err != nil {
		return err
	}
	defer q.Close()
	// The queue's sender follows the parameters: built now, rebuilt after
	// every change to the email or proxy settings, without a restart.
	stopWatch, err := sysparams.Watch(ctx, f.store, []string{sysparams.SectionEmail, sysparams.SectionProxy}, func(p *sysparams.Params) error {
		snd, err := p.MailSender(sysparams.MailOptions{})
		if err != nil {
			return err
		}
		q.SetSender(snd)
		return nil
	}, func(err error) { f.row("warning", "mail settings changed but the sender cannot be rebuilt: %v", err) })
	if err != nil {
		return err
	}
	defer stopWatch()
	kind := "SMTP"
	if p.Email.Protocol == sysparams.ProtocolO365 {
		kind = "Office 365 (" + string(p.Email.O365.Mode) + ")"
	}
	f.row("sender", "%s, built from the parameters and rebuilt when email or proxy change (sysparams.Watch)", kind)

	from := p.Email.From
	if p.Email.Protocol == sysparams.ProtocolO365 {
		from = p.Email.O365.Address
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return fmt.Errorf("email.from: %w", err)
	}
	wav := toneWAV(440, 1000)
	now := time.Now()
	msg := mailqueue.Message{
		From:    mail.Address{Name: "Voicemail", Address: fromAddr.Address},
		To:      []mail.Address{{Name: "Alice", Address: f.o.to}},
		Subject: "New voicemail from +39 06 1234 5678 (0:01)",
		Text: "You have a new voicemail.\n\nFrom: +39 06 1234 5678\nReceived: " + now.Format(time.RFC1123) +
			"\nDuration: 0:01\n\nThe recording is attached.\n",
		Attachments: []mailqueue.Attachment{{Filename: "voicemail-" + now.Format("20060102-150405") + ".wav", Data: wav}},
		Header:      []mailqueue.HeaderField{{Key: "Auto-Submitted", Value: "auto-generated"}},
	}
	data, err := msg.Build()
	if err != nil {
		return err
	}
	id, err = q.Enqueue(ctx, msg.Envelope(), data)
	if err != nil {
		return err
	}
	f.row("queue", "%s", where)
	f.row("message", "%q, %s (%d bytes) attached, %d bytes in all", msg.Subject, msg.Attachments[0].Filename, len(wav), len(data))
	f.row("enqueued", "id %s (durable before Enqueue returned)", id)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- q.Run(runCtx) }()
	sent := time.Now()
	target := net.JoinHostPort(p.Email.Server, strconv.Itoa(p.Email.Port))
	if p.Email.Protocol == sysparams.ProtocolO365 {
		target = "Office 365 (" + string(p.Email.O365.Mode) + ")"
	}
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var m mailqueue.Meta
wait:
	for {
		select {
		case m = <-delivered:
			if m.ID == id {
				break wait
			}
		case err := <-failed:
			return fmt.Errorf("delivery failed: %w", err)
		case err := <-runDone:
			return fmt.Errorf("the queue stopped: %v", err)
		case <-tick.C:
			if st := q.Stats(); st.Status == mailqueue.StatusDown || st.Status == mailqueue.StatusPaused {
				return fmt.Errorf("delivery to %s stopped (%s): %s", target, st.Status, st.LastError)
			}
		case <-deadline.C:
			return fmt.Errorf("not delivered to %s within 60s: %s", target, q.Stats().LastError)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.row("delivered", "to %s in %s after %d attempt(s)", target, time.Since(sent).Round(time.Millisecond), m.Attempts)
	if err := q.Shutdown(ctx); err != nil {
		return err
	}
	if sk == nil {
		f.row("accepted", "by %s for %s", target, strings.Join(msg.Envelope().To, ", "))
		return nil
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-sk.got:
			if !bytes.Contains(got.data, []byte(msg.MessageID)) {
				continue // an older message of a shared queue
			}
			f.row("received", "MAIL FROM:<%s> RCPT TO:<%s>, %d bytes", got.from, strings.Join(got.to, ">,<"), len(got.data))
			name, ctype, body, err := findAttachment(got.data)
			if err != nil {
				return fmt.Errorf("the received message: %w", err)
			}
			if !bytes.Equal(body, wav) {
				return errors.New("the received attachment differs from the recording")
			}
			f.row("", "attachment %s (%s, %d bytes) identical to the recording", name, ctype, len(body))
			return nil
		case <-timeout:
			return errors.New("the in-process SMTP server did not receive the message")
		}
	}
}

// findAttachment returns the file name, media type and decoded content of
// the first attachment of an RFC 5322 message.
func findAttachment(raw []byte) (name, ctype string, body []byte, err error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", "", nil, err
	}
	return walkParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), "", m.Body)
}

func walkParts(contentType, cte, disposition string, r io.Reader) (string, string, []byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", "", nil, err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return "", "", nil, errors.New("no attachment")
			}
			if err != nil {
				return "", "", nil, err
			}
			name, ct, body, err := walkParts(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part.Header.Get("Content-Disposition"), part)
			if err == nil {
				return name, ct, body, nil
			}
		}
	}
	disp, dparams, err := mime.ParseMediaType(disposition)
	if err != nil || disp != "attachment" {
		return "", "", nil, errors.New("not an attachment")
	}
	var body []byte
	if strings.EqualFold(cte, "base64") {
		body, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, r))
	} else {
		body, err = io.ReadAll(r)
	}
	if err != nil {
		return "", "", nil, err
	}
	return dparams["filename"], mt, body, nil
}

// isPlainParams reports whether b is a JSON object without the stored
// document's "schema" field whose keys are parameter sections: the plain
// format that "ucxparams import" reads.
func isPlainParams(b []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil || top == nil {
		return false
	}
	if _, ok := top["schema"]; ok {
		return false
	}
	for k := range top {
		if slices.Contains(sysparams.Sections, k) {
			return true
		}
	}
	return false
}
