// Package pgtest holds the test helpers the ucxkit PostgreSQL stores
// share: a fresh schema per test on the server named by UCXKIT_PG_DSN
// (tests skip, naming the variable, when it is unset), pools confined to
// that schema by search_path, and the check that Connect errors never
// show the DSN's password. It is imported by _test.go files only.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// testPassword is the password ConnectHidesPassword puts in its DSNs.
const testPassword = "Sup3r-Secret-DB-pw"

// DSNEnv enables the tests against a real PostgreSQL server.
const DSNEnv = "UCXKIT_PG_DSN"

// DSN returns the server's DSN or skips the test, naming the variable.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		t.Skipf("skipping: set %s (for example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL tests", DSNEnv)
	}
	return dsn
}

// Schema creates a fresh schema named prefix plus 12 random hex digits
// for the test and drops it (CASCADE) at cleanup. It skips the test
// when DSNEnv is unset.
func Schema(t testing.TB, prefix string) (dsn, schema string) {
	t.Helper()
	dsn = DSN(t)
	schema = prefix + RandHex(6)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", DSNEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}

// Pool opens a pool whose search_path is schema (maxConns > 0 caps it);
// it is closed at cleanup, before a schema made by Schema earlier in the
// same test is dropped.
func Pool(t testing.TB, dsn, schema string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	pool, err := NewPool(context.Background(), dsn, schema, maxConns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewPool is Pool for code that must not call t.Fatal (another
// goroutine): the caller closes the pool.
func NewPool(ctx context.Context, dsn, schema string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// RandHex returns n random bytes in hex.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// WithSearchPath adds search_path to a URL-style DSN.
func WithSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&search_path=" + schema
	}
	return dsn + "?search_path=" + schema
}

// ConnectHidesPassword calls connect with DSNs that carry a password and
// cannot connect (a bad sslmode, a closed port in URL and key=value form,
// a bad connect_timeout), and fails the test if connect succeeds or the
// password shows in its error formatted with Error, %+v, %#v or by slog.
func ConnectHidesPassword(t *testing.T, connect func(ctx context.Context, dsn string) error) {
	t.Helper()
	const pw = testPassword
	for _, dsn := range []string{
		"postgres://ucx:" + pw + "@127.0.0.1:1/db?sslmode=bogus",
		"postgres://ucx:" + pw + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=ucx password=" + pw + " sslmode=disable connect_timeout=2",
		"postgres://ucx:" + pw + "@127.0.0.1:1/db?connect_timeout=x",
	} {
		err := connect(context.Background(), dsn)
		if err == nil {
			t.Fatalf("Connect(%q) succeeded", strings.ReplaceAll(dsn, pw, "***"))
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Error("connect", "err", err)
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), buf.String()} {
			if strings.Contains(s, pw) {
				t.Fatalf("password in error output: %s", strings.ReplaceAll(s, pw, "***"))
			}
		}
	}
}

// Store opens a store with open on a pool confined to a fresh schema
// (Schema with prefix) and closes the store, then the pool, then drops the
// schema at cleanup.
func Store[S interface{ Close() error }](t testing.TB, prefix string, open func(*pgxpool.Pool) (S, error)) (s S, dsn, schema string) {
	t.Helper()
	dsn, schema = Schema(t, prefix)
	s, err := open(Pool(t, dsn, schema, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn, schema
}

// PrintsNoPassword formats v with %v, %+v, %#v, JSON and slog and fails
// the test if JSON encoding fails or the password ConnectHidesPassword
// uses shows in any of them.
func PrintsNoPassword(t *testing.T, v any) {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("value", "v", v)
	for _, s := range []string{fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), string(j), buf.String()} {
		if strings.Contains(s, testPassword) {
			t.Fatalf("password in formatted value: %s", strings.ReplaceAll(s, testPassword, "***"))
		}
	}
}
