package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
)

func runQS(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestQuickstartDefaultFlow(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runQS(t, "-dir", dir, "-hostname", "IAS-SRV01")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	for _, want := range []string{
		"[1/5] System parameters", "(new, revision 1)", "restart    services", "plaintext absent from the stored document: yes", "validate   ok",
		"[2/5] Secure communications certificate", "action     created", "subject    CN=IAS-SRV01", "names      ias-srv01",
		"[3/5] Numbering plan",
		"in    00612345678        -> key  +390612345678    external",
		"in    00044 20 7946 0123 -> key  +442079460123    external",
		"in    2001               -> key  2001             internal",
		"tapi  00612345678        -> key  +390612345678    external",
		"out   +390612345678      -> dial 00612345678      external",
		"out   +442079460123      -> dial 000442079460123  external",
		"[4/5] Authentication (order sso>local) and session",
		"alice with a wrong password: denied", "accepted, decided by local", "cookie __Host-ucx_session", "the cookie finds the session of alice",
		"[5/5] Voicemail notification through the mail queue", "identical to the recording",
		"all steps done",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, demoCloudSecret)
	for _, f := range []string{"params.json", "params.json.key", "certs/cert.pem", "certs/key.pem"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "params.json"))
	require.NoError(t, err)
	require.NotContains(t, string(raw), demoCloudSecret)

	// A second run in the same folder loads what the first one made: the
	// parameters exist (only the in-process server's port changes) and the
	// certificate is kept.
	code, out, errs = runQS(t, "-dir", dir, "-hostname", "IAS-SRV01")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "(existing, revision 2)")
	require.Contains(t, out, "changed    1 fields in email")
	require.Contains(t, out, "action     loaded")
}

func TestQuickstartTempFolderRemoved(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	code, out, errs := runQS(t, "-hostname", "srv")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "(removed at the end)")
	entries, err := os.ReadDir(os.Getenv("TMPDIR"))
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestQuickstartUsage(t *testing.T) {
	for _, args := range [][]string{
		{"extra"},
		{"-smtp", "nohostport"},
		{"-smtp", "h:0"},
		{"-smtp-security", "ssl"},
		{"-smtp-user", "u"},
		{"-smtp-user", "u", "-smtp-password-env", "X"},
		{"-params", "p.json", "-smtp", "h:25"},
		{"-params", "p.json", "-pg", "postgres://x"},
		{"-to", "Alice <a@b.c>"},
		{"-bogus"},
	} {
		code, _, errs := runQS(t, args...)
		require.Equal(t, 2, code, "%q: %s", args, errs)
	}
	code, _, _ := runQS(t, "-h")
	require.Equal(t, 0, code)
}

// realServer is an SMTP server standing in for a company server: it
// requires nothing, counts deliveries, and is reached through -smtp or a
// parameter file.
type realServer struct {
	mu   sync.Mutex
	rcpt []string
}

func (s *realServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &realSession{s: s}, nil }

type realSession struct{ s *realServer }

func (r *realSession) Mail(string, *smtp.MailOptions) error { return nil }
func (r *realSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	r.s.mu.Lock()
	r.s.rcpt = append(r.s.rcpt, to)
	r.s.mu.Unlock()
	return nil
}
func (r *realSession) Data(rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err }
func (r *realSession) Reset()                  {}
func (r *realSession) Logout() error           { return nil }

func startReal(t *testing.T) (*realServer, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rs := &realServer{}
	srv := smtp.NewServer(rs)
	srv.Domain = "mx.test"
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return rs, ln.Addr().String()
}

func TestQuickstartSMTPFlag(t *testing.T) {
	rs, addr := startReal(t)
	code, out, errs := runQS(t, "-dir", t.TempDir(), "-hostname", "srv", "-smtp", addr, "-smtp-security", "none", "-to", "bob@example.com")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "accepted   by "+addr+" for bob@example.com")
	require.Equal(t, []string{"bob@example.com"}, rs.rcpt)

	// A server that is down makes step 5 fail with exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	ln.Close()
	code, _, errs = runQS(t, "-dir", t.TempDir(), "-hostname", "srv", "-smtp", dead, "-smtp-security", "none")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "step 5")
}

func TestQuickstartParamsFlag(t *testing.T) {
	rs, addr := startReal(t)
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	pf := filepath.Join(t.TempDir(), "site.json")
	st, err := sysparams.OpenFile(context.Background(), pf, sysparams.FileOptions{})
	require.NoError(t, err)
	_, err = st.Update(context.Background(), func(p *sysparams.Params) error {
		p.Telephony = sysparams.Telephony{SystemName: "Site", PBXAddress: "pbx.example.com"}
		p.Email.Enabled = true
		p.Email.Server, p.Email.Port, p.Email.Security = host, n, sysparams.SecurityNone
		p.Email.From = "fax@example.com"
		p.NumberingPlan.UseDefaults = true
		return nil
	})
	require.NoError(t, err)
	before, _ := os.ReadFile(pf)

	code, out, errs := runQS(t, "-dir", t.TempDir(), "-hostname", "srv", "-params", pf)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "read only")
	require.Len(t, rs.rcpt, 1)
	after, _ := os.ReadFile(pf)
	require.Equal(t, before, after, "the parameter file is only read")
	require.True(t, strings.Contains(out, "len:1-5"), out)
}

// TestQuickstartParamsMissing: -params naming no file is an error, not the
// defaults (which used to be reported as "telephony.system_name: is
// mandatory").
func TestQuickstartParamsMissing(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runQS(t, "-dir", t.TempDir(), "-params", filepath.Join(dir, "nope.json"))
	require.Equal(t, 1, code)
	require.Contains(t, errs, "-params:")
	require.Contains(t, errs, "no such file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing is created beside a missing -params file")
}

func TestQuickstartOddHostname(t *testing.T) {
	code, out, errs := runQS(t, "-dir", t.TempDir(), "-hostname", "bad host!")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "using localhost")
	require.Contains(t, out, "subject    CN=localhost")
}

// TestQuickstartPostgreSQL runs the flow on the PostgreSQL stores (cluster
// mode). It needs a server: set UCXKIT_PG_DSN, for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
func TestQuickstartPostgreSQL(t *testing.T) {
	dsn := os.Getenv("UCXKIT_PG_DSN")
	if dsn == "" {
		t.Skip("skipping: set UCXKIT_PG_DSN (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the quickstart on PostgreSQL")
	}
	dsn = testSchemaDSN(t, dsn)
	dir := t.TempDir()
	code, out, errs := runQS(t, "-dir", dir, "-hostname", "srv", "-pg", dsn)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "PostgreSQL store shared by cluster nodes")
	require.Contains(t, out, "plaintext absent from the stored document: yes")
	require.Contains(t, out, "identical to the recording")
	require.Contains(t, out, "queue      PostgreSQL")
	require.Contains(t, out, "session of alice (PostgreSQL")

	// Same key, same set: the second run finds the first one's parameters.
	code, out, errs = runQS(t, "-dir", dir, "-hostname", "srv", "-pg", dsn)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "revision 2")
}

// testSchemaDSN creates a fresh schema, dropped at cleanup, and returns dsn
// with its search_path set to it, so the test leaves nothing behind.
func testSchemaDSN(t *testing.T, dsn string) string {
	ctx := context.Background()
	var rnd [6]byte
	_, _ = crand.Read(rnd[:])
	schema := "ucxkit_qs_test_" + hex.EncodeToString(rnd[:])
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// A plain parameter file (the format "ucxparams import" reads) is not a
// store: the error says how to seed one from it.
func TestQuickstartParamsPlainFile(t *testing.T) {
	code, _, errs := runQS(t, "-dir", t.TempDir(), "-params", "../ucxparams/params.example.json")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "holds plain parameters, not a parameter store")
	require.Contains(t, errs, "ucxparams -file params.json import ../ucxparams/params.example.json")
}
