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
		`CREATE TABLE ucxkit_mail_queue (
				id                 text PRIMARY KEY,
				state              text NOT NULL CHECK (state IN ('queued', 'leased', 'failed')),
				env_from           text NOT NULL,
				env_to             text[] NOT NULL,
				data               bytea NOT NULL,
				size               bigint NOT NULL,
				enqueued_at        timestamptz NOT NULL,
				next_attempt       timestamptz NOT NULL,
				attempts           integer NOT NULL DEFAULT 0,
				last_error         text NOT NULL DEFAULT '',
				last_class         text NOT NULL DEFAULT '',
				possible_duplicate boolean NOT NULL DEFAULT false,
				lease_owner        text,
				lease_expires      timestamptz,
				lease_token        text,
				reason             text NOT NULL DEFAULT '',
				failed_at          timestamptz
			)`,
		// Claim scans waiting messages in FIFO order; dead letters stay
		// out of the index.
		`CREATE INDEX ucxkit_mail_queue_fifo ON ucxkit_mail_queue (enqueued_at, id) WHERE state <> 'failed'`,
		`CREATE INDEX ucxkit_mail_queue_failed ON ucxkit_mail_queue (failed_at) WHERE state = 'failed'`,
	},
}

// history is this package's row in the shared version table
// (pgschema.VersionTable) with its steps.
var history = pgschema.Component{
	Name:   "mailqueue",
	Prefix: "mailqueue/pgstore",
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
