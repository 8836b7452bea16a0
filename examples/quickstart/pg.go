package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	acpg "github.com/ucxkit/ucxkit/authchain/pgstore"
	mqpg "github.com/ucxkit/ucxkit/mailqueue/pgstore"
	"github.com/ucxkit/ucxkit/sysparams"
	sppg "github.com/ucxkit/ucxkit/sysparams/pgstore"
)

// pgStores are the PostgreSQL stores of a -pg run, over one pool: the
// parameter set, the sessions and the mail queue, shared by every node
// that uses the same database (and, for the parameters, the same key).
type pgStores struct {
	pool     *pgxpool.Pool
	params   *sppg.Store
	sessions *acpg.Store
	queue    *mqpg.Store
	name     string // parameter set name
	keyPath  string // key file sealing the set's secrets
}

// openPG connects the stores to dsn. The set's secrets are sealed with the
// key in dir/pg.key (created on first use); every node of a cluster must
// be given the same key, so the set is named after the key's ID and a run
// with a new key gets its own set instead of failing on another's.
func openPG(ctx context.Context, dsn, dir string) (_ *pgStores, err error) {
	keyPath := filepath.Join(dir, "pg.key")
	k, _, err := sysparams.LoadOrCreateKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	s := &pgStores{pool: pool, name: "quickstart-" + k.PrimaryID(), keyPath: keyPath}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.params, err = sppg.Open(ctx, pool, sppg.Options{Name: s.name, Keyring: k}); err != nil {
		return nil, fmt.Errorf("parameter store: %w", err)
	}
	if s.sessions, err = acpg.Open(ctx, pool, acpg.Options{}); err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	if s.queue, err = mqpg.Open(ctx, pool, mqpg.Options{}); err != nil {
		return nil, fmt.Errorf("mail queue store: %w", err)
	}
	return s, nil
}

// document returns the stored form of the set, as the database holds it.
func (s *pgStores) document(ctx context.Context) ([]byte, error) {
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT document FROM ucxkit_sysparams WHERE name = $1`, s.name).Scan(&doc)
	return doc, err
}

// close closes the stores, then the pool they share.
func (s *pgStores) close() {
	if s.queue != nil {
		s.queue.Close()
	}
	if s.sessions != nil {
		s.sessions.Close()
	}
	if s.params != nil {
		s.params.Close()
	}
	s.pool.Close()
}
