package sysparams_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ucxkit/ucxkit/sysparams"
)

// Import seeds a file store from a plain document written by hand; the
// secrets are sealed on the way in and a rejected document saves nothing.
func ExampleImport() {
	dir, _ := os.MkdirTemp("", "sysparams-import")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := sysparams.OpenFile(ctx, filepath.Join(dir, "params.json"), sysparams.FileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	_, err = sysparams.Import(ctx, store, strings.NewReader(`{
	  "telephony": {"system_name": "HQ"},
	  "email": {"port": 70000, "pasword": "x"}
	}`))
	var ve *sysparams.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems() {
			fmt.Println(p)
		}
	}

	c, err := sysparams.Import(ctx, store, strings.NewReader(`{
	  "telephony": {"system_name": "HQ", "pbx_address": "192.168.4.6"},
	  "cloud": {"client_id": "clientId", "client_secret": "s3cret"}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("revision", c.Revision, "restart", c.Restart)
	p, _ := store.Load(ctx)
	fmt.Println(p.Cloud.ClientSecret.Reveal() == "s3cret")
	// Output:
	// email: unknown field "pasword"
	// telephony.pbx_address: is mandatory
	// email.port: must be 1-65535, got 70000
	// revision 1 restart services
	// true
}
