package proxycfg_test

import (
	"errors"
	"fmt"

	"github.com/ucxkit/ucxkit/proxycfg"
)

func ExampleFromURL() {
	cfg, err := proxycfg.FromURL("http://alice:p%40ss%3Aword@proxy.example.com:3128")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg)
	fmt.Println(cfg.HTTP.Username, cfg.HTTP.Port)
	// Output:
	// http://alice:xxxxx@proxy.example.com:3128
	// alice 3128
}

func ExampleConfig_Validate() {
	cfg := proxycfg.Config{
		HTTP:  proxycfg.HTTPProxy{Address: "proxy:3128", Port: 70000, Username: "alice"},
		SOCKS: proxycfg.SOCKSProxy{Version: 4, Address: "10.0.0.4", Port: 1080, Username: "bob", Password: proxycfg.NewSecret("x")},
	}
	err := cfg.Validate()
	fmt.Println(err)
	var fe *proxycfg.FieldError
	if errors.As(err, &fe) {
		fmt.Println("first field:", fe.Field)
	}
	// Output:
	// http.address: must not include a port; use the port field
	// http.port: must be 1-65535, got 70000
	// http.password: is mandatory when username is set
	// socks.password: SOCKS4 cannot carry a password; use version 5 for username/password authentication
	// first field: http.address
}

func ExampleConfig_Dialer() {
	cfg := proxycfg.Config{
		SOCKS:  proxycfg.SOCKSProxy{Version: 5, Address: "socks.example.com", Port: 1080, Username: "alice", Password: proxycfg.NewSecret("s3cr3t")},
		Bypass: []string{"localhost", "10.0.0.0/8", ".corp.example.com"},
	}
	d, err := cfg.Dialer(nil) // raw TCP: SOCKS if set, else HTTP CONNECT
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = d // d.DialContext(ctx, "tcp", "smtp.office365.com:587") goes through the proxy
	fmt.Println(cfg)
	// Output: socks5h://alice:xxxxx@socks.example.com:1080 bypass=localhost,10.0.0.0/8,.corp.example.com
}
