package main

import (
	"context"
	"fmt"
	"path/filepath"

	mqpg "github.com/ucxkit/ucxkit/mailqueue/pgstore"
	"github.com/ucxkit/ucxkit/sysparams"
	sppg "github.com/ucxkit/ucxkit/sysparams/pgstore"
)

// pgStores are the PostgreSQL stores of a -pg run: the parameter set and
// the mail queue, shared by every node that uses the same database and
// key.
type pgStores struct {
	params  *sppg.Store
	queue   *mqpg.Store
	name    string // parameter set name
	keyPath string // key file sealing the set's secrets
}

// openPG connects the stores to dsn. The set's secrets are sealed with the
// key in dir/pg.key (created on first use); every node of a cluster must
// be given the same key, so the set is named after the key's ID and a run
// with a new key gets its own set instead of failing on the other's.
func openPG(ctx context.Context, dsn, dir string) (*pgStores, error) {
	keyPath := filepath.Join(dir, "pg.key")
	k, _, err := sysparams.LoadOrCreateKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	name := "quickstart-" + k.PrimaryID()
	ps, err := sppg.Connect(ctx, dsn, sppg.Options{Name: name, Keyring: k})
	if err != nil {
		return nil, fmt.Errorf("parameter store: %w", err)
	}
	qs, err := mqpg.Connect(ctx, dsn, mqpg.Options{})
	if err != nil {
		ps.Close()
		return nil, fmt.Errorf("mail queue store: %w", err)
	}
	return &pgStores{params: ps, queue: qs, name: name, keyPath: keyPath}, nil
}

// document returns the stored form of the set, as the database holds it.
func (s *pgStores) document(ctx context.Context) ([]byte, error) {
	var doc []byte
	err := s.params.Pool().QueryRow(ctx, `SELECT document FROM ucxkit_sysparams WHERE name = $1`, s.name).Scan(&doc)
	return doc, err
}

func (s *pgStores) close() {
	s.queue.Close()
	s.params.Close()
}
