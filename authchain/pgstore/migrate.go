package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// component is this package's row in the shared version table.
const component = "authchain"

// versionTable records, per ucxkit component, the schema version applied in
// the current schema. The three ucxkit PostgreSQL stores share it.
const versionTable = "ucxkit_schema_version"

// migrations are applied in order; the version of a schema is the number of
// steps applied. A step is never edited once released: changes are new
// steps.
var migrations = [][]string{
	{ // version 1
		// id is the SHA-256 of the cookie token (authchain.HashToken): the
		// token itself is never stored.
		`CREATE TABLE ucxkit_sessions (
			id                  bytea PRIMARY KEY CHECK (octet_length(id) = 32),
			login               text NOT NULL,
			roles               text[] NOT NULL DEFAULT '{}',
			remember            boolean NOT NULL,
			created_at          timestamptz NOT NULL,
			last_seen           timestamptz NOT NULL,
			idle_expires_at     timestamptz NOT NULL,
			absolute_expires_at timestamptz NOT NULL,
			expires_at          timestamptz GENERATED ALWAYS AS (least(idle_expires_at, absolute_expires_at)) STORED
		)`,
		// Cleanup deletes by expiry; DeleteUser by login.
		`CREATE INDEX ucxkit_sessions_expires ON ucxkit_sessions (expires_at)`,
		`CREATE INDEX ucxkit_sessions_login ON ucxkit_sessions (login)`,
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
		return fmt.Errorf("authchain/pgstore: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("authchain/pgstore: migrate: %w", err)
	}
	if schema == nil {
		return errors.New("authchain/pgstore: migrate: no schema selected (the search_path names no existing schema)")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('ucxkit.migrate.' || $1::text))`, *schema); err != nil {
		return fmt.Errorf("authchain/pgstore: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+versionTable+` (
		component  text PRIMARY KEY,
		version    integer NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("authchain/pgstore: migrate: %w", err)
	}
	v := 0
	err = tx.QueryRow(ctx, `SELECT version FROM `+versionTable+` WHERE component = $1`, component).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("authchain/pgstore: migrate: %w", err)
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
				return fmt.Errorf("authchain/pgstore: migrate to version %d: %w", v+1, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+versionTable+` (component, version) VALUES ($1, $2)
		ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`, component, v); err != nil {
		return fmt.Errorf("authchain/pgstore: migrate: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("authchain/pgstore: migrate: %w", err)
	}
	return nil
}
