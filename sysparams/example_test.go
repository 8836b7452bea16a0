package sysparams_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/sysparams"
)

// Validate reports every problem at once, each with its path.
func ExampleParams_Validate() {
	p := sysparams.Defaults()
	p.Telephony.SystemName = "HQ"
	p.Email.Port = 70000
	p.Authentication.InactivityTimeout = sysparams.Duration(31 * sysparams.Day)
	fmt.Println(p.Validate())
	// Output:
	// telephony.pbx_address: is mandatory
	// email.port: must be 1-65535, got 70000
	// authentication.inactivity_timeout: must be > 0 and <= 30d, got 31d
}

// A host opens the file store, saves a change and rebuilds its normalizer
// when the numbering plan changes, without a restart.
func ExampleFileStore() {
	dir, _ := os.MkdirTemp("", "sysparams-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := sysparams.OpenFile(ctx, filepath.Join(dir, "params.json"), sysparams.FileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	var plan atomic.Pointer[numplan.Plan]
	store.Subscribe(func(c sysparams.Change) {
		fmt.Printf("changed %v, restart: %s\n", c.Sections, c.Restart)
		if c.Has(sysparams.SectionNumberingPlan) {
			if np, err := c.New.Normalizer(numplan.Options{}); err == nil {
				plan.Store(np)
			}
		}
	})

	_, err = store.Update(ctx, func(p *sysparams.Params) error {
		p.Telephony = sysparams.Telephony{SystemName: "HQ", PBXAddress: "10.0.0.1"}
		p.NumberingPlan.UseDefaults = false
		p.NumberingPlan.LocalCountryCode = "+39"
		p.NumberingPlan.InternationalPrefix = "00"
		p.Cloud = sysparams.Cloud{ClientID: "id", ClientSecret: sysparams.NewSecret("s3cr3t")}
		return nil
	})
	fmt.Println("saved:", err == nil)
	fmt.Println("key:", plan.Load().In("0612345678").Key)

	// A rejected update leaves the file as it was.
	_, err = store.Update(ctx, func(p *sysparams.Params) error {
		p.WebServer.BaseURL = "http://ucx.example.com"
		return nil
	})
	var ve *sysparams.ValidationError
	fmt.Println(errors.As(err, &ve), ve.Problems()[0])

	p, _ := store.Load(ctx)
	fmt.Println("cloud secret:", p.Cloud.ClientSecret)
	// Output:
	// changed [telephony numbering_plan cloud], restart: services
	// saved: true
	// key: +390612345678
	// true web_server.base_url: must start with https://, got "http://ucx.example.com"
	// cloud secret: [REDACTED]
}
