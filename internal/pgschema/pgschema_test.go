package pgschema_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ucxkit/ucxkit/internal/pgschema"
	"github.com/ucxkit/ucxkit/internal/pgtest"
)

var errTooNew = errors.New("x/pgstore: database schema is newer than this build")

func comp(name string, steps ...string) pgschema.Component {
	c := pgschema.Component{Name: name, Prefix: "x/pgstore", TooNew: errTooNew}
	for _, s := range steps {
		c.Steps = append(c.Steps, []string{s})
	}
	return c
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dsn, schema := pgtest.Schema(t, "ucxkit_pgschema_test_")
	pool := pgtest.Pool(t, dsn, schema, 4)
	v1 := comp("a", `CREATE TABLE a1 (id int)`)
	v2 := comp("a", `CREATE TABLE a1 (id int)`, `CREATE TABLE a2 (id int)`)

	// Concurrent first runs serialize on the advisory lock: one creates,
	// the others see the version and do nothing.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = pgschema.Migrate(ctx, pool, v1) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := pgschema.Migrate(ctx, pool, v2); err != nil {
		t.Fatal(err)
	}
	// Another component keeps its own row in the shared table.
	if err := pgschema.Migrate(ctx, pool, comp("b", `CREATE TABLE b1 (id int)`)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"a": 2, "b": 1} {
		var got int
		if err := pool.QueryRow(ctx, `SELECT version FROM `+pgschema.VersionTable+` WHERE component = $1`, name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("component %s at version %d, want %d", name, got, want)
		}
	}
	// An older build refuses the newer schema with its own sentinel.
	err := pgschema.Migrate(ctx, pool, v1)
	if !errors.Is(err, errTooNew) || !strings.Contains(err.Error(), "is at version 2, this build knows 1-1") {
		t.Fatalf("older build: %v", err)
	}
	// A failing step rolls back and names the version it was going to.
	err = pgschema.Migrate(ctx, pool, comp("c", `CREATE TABLE c1 (id int)`, `CREATE TABLE a1 (id int)`))
	if err == nil || !strings.HasPrefix(err.Error(), "x/pgstore: migrate to version 2: ") {
		t.Fatalf("failing step: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'c1'`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("failed migration left c1 (%d, %v)", n, err)
	}
}

func TestMigrateNoSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	pool := pgtest.Pool(t, dsn, "ucxkit_no_such_schema_"+pgtest.RandHex(4), 1)
	err := pgschema.Migrate(context.Background(), pool, comp("a", `CREATE TABLE a1 (id int)`))
	if err == nil || !strings.Contains(err.Error(), "x/pgstore: migrate: no schema selected") {
		t.Fatalf("got %v", err)
	}
}

func TestConnect(t *testing.T) {
	ctx := context.Background()
	_, err := pgschema.Connect(ctx, "postgres://127.0.0.1:1/db?sslmode=bogus", "x/pgstore", func(*pgxpool.Pool) (int, error) {
		t.Fatal("open called for a bad DSN")
		return 0, nil
	})
	if err == nil || !strings.HasPrefix(err.Error(), "x/pgstore: connect: ") {
		t.Fatalf("bad DSN: %v", err)
	}
	dsn := pgtest.DSN(t)
	openErr := errors.New("open failed")
	var got *pgxpool.Pool
	_, err = pgschema.Connect(ctx, dsn, "x/pgstore", func(p *pgxpool.Pool) (int, error) {
		got = p
		return 0, openErr
	})
	if err != openErr {
		t.Fatalf("open error: got %v, want it unwrapped", err)
	}
	if err := got.Ping(ctx); err == nil {
		t.Fatal("pool still open after open failed")
	}
	n, err := pgschema.Connect(ctx, dsn, "x/pgstore", func(p *pgxpool.Pool) (int, error) {
		got = p
		return 7, p.Ping(ctx)
	})
	if err != nil || n != 7 {
		t.Fatalf("success: %d, %v", n, err)
	}
	if err := got.Ping(ctx); err != nil {
		t.Fatalf("pool closed after success: %v", err)
	}
	got.Close()
}
