package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// component is this package's row in the shared version table.
const component = "sysparams"

// versionTable records, per ucxkit component, the schema version applied in
// the current schema. The three ucxkit PostgreSQL stores share it.
const versionTable = "ucxkit_schema_version"

// migrations are applied in order; the version of a schema is the number of
// steps applied. A step is never edited once released: changes are new
// steps.
var migrations = [][]string{
	{ // version 1
		`CREATE TABLE ucxkit_sysparams (
			name       text PRIMARY KEY,
			revision   bigint NOT NULL CHECK (revision > 0),
			document   jsonb NOT NULL,
			updated_at timestamptz NOT NULL,
			updated_by text NOT NULL DEFAULT ''
		)`,
	},
}

// SchemaVersion is the schema version this build creates and the newest it
// accepts.
func SchemaVersion() int { return len(migrations) }

// migrate brings the current schema (the first of search_path) to
// SchemaVersion. It runs in one transaction under a transaction-scoped
// advisory lock keyed by the schema name, so nodes starting together
// migrate once and wait for each other; a schema already up to date costs
// one round trip of reads.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("sysparams/pgstore: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("sysparams/pgstore: migrate: %w", err)
	}
	if schema == nil {
		return errors.New("sysparams/pgstore: migrate: no schema selected (the search_path names no existing schema)")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('ucxkit.migrate.' || $1::text))`, *schema); err != nil {
		return fmt.Errorf("sysparams/pgstore: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+versionTable+` (
		component  text PRIMARY KEY,
		version    integer NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("sysparams/pgstore: migrate: %w", err)
	}
	v := 0
	err = tx.QueryRow(ctx, `SELECT version FROM `+versionTable+` WHERE component = $1`, component).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("sysparams/pgstore: migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%w: schema %q is at version %d, this build knows 1-%d", ErrSchemaTooNew, *schema, v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for ; v < len(migrations); v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("sysparams/pgstore: migrate to version %d: %w", v+1, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+versionTable+` (component, version) VALUES ($1, $2)
		ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`, component, v); err != nil {
		return fmt.Errorf("sysparams/pgstore: migrate: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sysparams/pgstore: migrate: %w", err)
	}
	return nil
}
