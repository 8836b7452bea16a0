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
		`CREATE TABLE ucxkit_sysparams (
			name       text PRIMARY KEY,
			revision   bigint NOT NULL CHECK (revision > 0),
			document   jsonb NOT NULL,
			updated_at timestamptz NOT NULL,
			updated_by text NOT NULL DEFAULT ''
		)`,
	},
}

// history is this package's row in the shared version table
// (pgschema.VersionTable) with its steps.
var history = pgschema.Component{
	Name:   "sysparams",
	Prefix: "sysparams/pgstore",
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
