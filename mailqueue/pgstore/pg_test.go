package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ucxkit/ucxkit/internal/pgtest"
)

// dsnEnv enables the tests against a real PostgreSQL server.
const dsnEnv = pgtest.DSNEnv

// schemaPrefix starts the name of each test's schema.
const schemaPrefix = "ucxkit_mq_test_"

// testSchema creates a fresh schema for the test and drops it at cleanup.
func testSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	return pgtest.Schema(t, schemaPrefix)
}

// testStore opens a Store on a fresh schema.
func testStore(t testing.TB, opts Options) (*Store, string, string) {
	t.Helper()
	return pgtest.Store(t, schemaPrefix, func(pool *pgxpool.Pool) (*Store, error) {
		return Open(context.Background(), pool, opts)
	})
}
