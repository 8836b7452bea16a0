package pgstore

import (
	"context"
	"testing"

	"github.com/ucxkit/ucxkit/internal/pgtest"
)

// dsnEnv enables the tests against a real PostgreSQL server.
const dsnEnv = pgtest.DSNEnv

// testSchema creates a fresh schema for the test and drops it at cleanup.
func testSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	return pgtest.Schema(t, "ucxkit_mq_test_")
}

// testStore opens a Store on a fresh schema.
func testStore(t testing.TB, opts Options) (*Store, string, string) {
	t.Helper()
	dsn, schema := testSchema(t)
	s, err := Open(context.Background(), pgtest.Pool(t, dsn, schema, 0), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn, schema
}
