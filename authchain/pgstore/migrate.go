package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ucxkit/ucxkit/internal/pgschema"
)

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

// history is this package's row in the shared version table
// (pgschema.VersionTable) with its steps.
var history = pgschema.Component{
	Name:   "authchain",
	Prefix: "authchain/pgstore",
	TooNew: ErrSchemaTooNew,
	Steps:  migrations,
}

// SchemaVersion is the schema version this build creates and the newest it
// accepts.
func SchemaVersion() int { return len(migrations) }

// migrate brings the current schema (the first of search_path) to
// SchemaVersion under an advisory lock; see pgschema.Migrate.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgschema.Migrate(ctx, pool, history)
}
