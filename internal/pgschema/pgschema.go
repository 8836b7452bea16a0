// Package pgschema holds the schema machinery the ucxkit PostgreSQL stores
// (authchain/pgstore, mailqueue/pgstore, sysparams/pgstore) share: the
// versioned migration runner over the ucxkit_schema_version table and the
// pool handling of their Connect functions. Each store keeps its own SQL
// steps, sentinel errors and error prefix; this package only runs them.
package pgschema

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// VersionTable records, per ucxkit component, the schema version applied
// in the current schema. The ucxkit PostgreSQL stores share it.
const VersionTable = "ucxkit_schema_version"

// Component is one store's schema history.
type Component struct {
	// Name is the component's row in VersionTable ("mailqueue").
	Name string
	// Prefix starts every error message ("mailqueue/pgstore").
	Prefix string
	// TooNew is the store's sentinel, wrapped when the schema was
	// migrated by a newer build (more steps applied than Steps holds).
	TooNew error
	// Steps are applied in order; the version of a schema is the number
	// of steps applied. A step is never edited once released: changes
	// are new steps.
	Steps [][]string
}

// Version is the schema version this build creates and the newest it
// accepts.
func (c Component) Version() int { return len(c.Steps) }

// Migrate brings the current schema (the first existing schema of the
// pool's search_path) to c.Version. It runs in one transaction under a
// transaction-scoped advisory lock keyed by the schema name, so nodes
// starting together migrate once and wait for each other; a schema
// already up to date costs one round trip of reads. A schema at a newer
// version than c knows is left alone and reported with c.TooNew.
func Migrate(ctx context.Context, pool *pgxpool.Pool, c Component) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", c.Prefix, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("%s: migrate: %w", c.Prefix, err)
	}
	if schema == nil {
		return errors.New(c.Prefix + ": migrate: no schema selected (the search_path names no existing schema)")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('ucxkit.migrate.' || $1::text))`, *schema); err != nil {
		return fmt.Errorf("%s: migrate: lock: %w", c.Prefix, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+VersionTable+` (
		component  text PRIMARY KEY,
		version    integer NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("%s: migrate: %w", c.Prefix, err)
	}
	v := 0
	err = tx.QueryRow(ctx, `SELECT version FROM `+VersionTable+` WHERE component = $1`, c.Name).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: migrate: %w", c.Prefix, err)
	}
	if v > len(c.Steps) {
		return fmt.Errorf("%w: schema %q is at version %d, this build knows 1-%d", c.TooNew, *schema, v, len(c.Steps))
	}
	if v == len(c.Steps) {
		return nil
	}
	for ; v < len(c.Steps); v++ {
		for _, stmt := range c.Steps[v] {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: migrate to version %d: %w", c.Prefix, v+1, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+VersionTable+` (component, version) VALUES ($1, $2)
		ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`, c.Name, v); err != nil {
		return fmt.Errorf("%s: migrate: %w", c.Prefix, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: migrate: %w", c.Prefix, err)
	}
	return nil
}

// Connect opens a pool for dsn (a postgres:// URL or key=value string, as
// pgxpool.ParseConfig reads it) and hands it to open. If open fails, the
// pool is closed and open's error returned as is; a pool error is prefixed
// with prefix ("mailqueue/pgstore: connect: ..."). On success the caller
// owns the pool through the returned store.
func Connect[S any](ctx context.Context, dsn, prefix string, open func(*pgxpool.Pool) (S, error)) (S, error) {
	var zero S
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return zero, fmt.Errorf("%s: connect: %w", prefix, err)
	}
	s, err := open(pool)
	if err != nil {
		pool.Close()
		return zero, err
	}
	return s, nil
}
