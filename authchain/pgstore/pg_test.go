package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// dsnEnv enables the tests against a real PostgreSQL server.
const dsnEnv = "UCXKIT_PG_DSN"

// testDSN returns the server's DSN or skips the test, naming the variable.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skipf("skipping: set %s (for example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL tests", dsnEnv)
	}
	return dsn
}

// testSchema creates a fresh schema for the test and drops it at cleanup.
func testSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = testDSN(t)
	schema = "ucxkit_auth_test_" + randHex(6)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsnEnv, err)
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

// schemaPool opens a pool whose search_path is schema; it is closed at
// cleanup (before the schema is dropped).
func schemaPool(t testing.TB, dsn, schema string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	pool, err := newSchemaPool(context.Background(), dsn, schema, maxConns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newSchemaPool(ctx context.Context, dsn, schema string, maxConns int32) (*pgxpool.Pool, error) {
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

// testStore opens a Store on a fresh schema.
func testStore(t testing.TB, opts Options) (*Store, string, string) {
	t.Helper()
	dsn, schema := testSchema(t)
	s, err := Open(context.Background(), schemaPool(t, dsn, schema, 0), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn, schema
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func authchainHex(b []byte) string { return hex.EncodeToString(b) }

// withSearchPath adds search_path to a URL-style DSN.
func withSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&search_path=" + schema
	}
	return dsn + "?search_path=" + schema
}
