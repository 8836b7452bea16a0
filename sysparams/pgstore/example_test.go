package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/pgstore"
)

// Two nodes share one parameter set: node B hears node A's change, and a
// stale edit is refused. It needs a PostgreSQL server (UCXKIT_PG_DSN), so
// it is compiled but not run by go test.
func Example() {
	ctx := context.Background()
	dsn := os.Getenv("UCXKIT_PG_DSN")
	// Every node gets the same key from the host's secret manager.
	keys, err := sysparams.NewKeyring("cluster-key-1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	a, err := pgstore.Connect(ctx, dsn, pgstore.Options{Keyring: keys, Node: "node-a"})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	b, err := pgstore.Connect(ctx, dsn, pgstore.Options{Keyring: keys, Node: "node-b"})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	heard := make(chan sysparams.Change, 1)
	b.Subscribe(func(c sysparams.Change) { heard <- c })

	_, base, _ := b.LoadRevision(ctx) // an admin opens the form on node B
	if _, err := a.Update(ctx, func(p *sysparams.Params) error {
		p.Telephony.SystemName = "UC cluster"
		p.Telephony.PBXAddress = "pbx.example.com"
		return nil
	}); err != nil {
		panic(err)
	}
	c := <-heard
	fmt.Println("node B sees revision", c.Revision, "sections", c.Sections)

	_, err = b.UpdateRevision(ctx, base, func(p *sysparams.Params) error {
		p.Telephony.SystemName = "stale edit"
		return nil
	})
	fmt.Println("stale edit refused:", errors.Is(err, sysparams.ErrConflict))
}
