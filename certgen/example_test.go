package certgen_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/certgen"
)

// The boot-time call: load the server's pair, or create it, and tell the
// admin when it needs attention.
func ExampleEnsure() {
	dir, err := os.MkdirTemp("", "certgen-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	opts := certgen.Options{Host: "IAS_SRV01", FQDN: "ias_srv01.corp.example", KeyType: certgen.KeyECDSAP256}
	_, st, err := certgen.Ensure(dir, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Action, st.State, st.DNSNames)

	// Next boot: the same pair is loaded.
	_, st, _ = certgen.Ensure(dir, opts)
	fmt.Println(st.Action, st.State)

	// The computer was renamed: reported, not replaced ...
	opts.Host, opts.FQDN = "IAS_SRV02", ""
	_, st, _ = certgen.Ensure(dir, opts)
	fmt.Println(st.Action, st.State, st.MissingNames)

	// ... unless the host's policy says so.
	opts.RegenerateOnRename = true
	p, st, _ := certgen.Ensure(dir, opts)
	fmt.Println(st.Action, st.State, p.Certificate().Subject.CommonName)
	// Output:
	// created valid [ias_srv01 ias_srv01.corp.example]
	// loaded valid
	// loaded hostname-mismatch [IAS_SRV02]
	// regenerated valid IAS_SRV02
}

func ExampleGenerate() {
	p, err := certgen.Generate(certgen.Options{
		Host:    "IAS_SRV01",
		KeyType: certgen.KeyECDSAP256,
		Now:     func() time.Time { return time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := p.Certificate()
	fmt.Println(c.Subject.CommonName, c.DNSNames, c.IsCA)
	fmt.Println(c.NotBefore.Format(time.DateTime), "->", c.NotAfter.Format(time.DateTime))
	fmt.Print(strings.SplitAfter(string(p.CertPEM()), "\n")[0])
	fmt.Print(strings.SplitAfter(string(p.KeyPEM()), "\n")[0])
	fmt.Println(len(p.Serial()) <= 40, fmt.Sprintf("%+v", p) == p.String()) // serial ≤ 20 octets; printing never shows the key
	// Output:
	// IAS_SRV01 [ias_srv01] false
	// 2024-02-29 12:00:00 -> 2029-03-01 12:00:00
	// -----BEGIN CERTIFICATE-----
	// -----BEGIN PRIVATE KEY-----
	// true true
}

func ExampleCheck() {
	p, _ := certgen.Generate(certgen.Options{Host: "pbx-link", KeyType: certgen.KeyECDSAP256,
		Now: func() time.Time { return time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC) }})
	for _, now := range []time.Time{
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC),
	} {
		st := certgen.Check(p.Certificate(), "PBX-LINK", now)
		fmt.Println(st.State, st.DaysLeft, st.NeedsAction)
	}
	fmt.Println(certgen.Check(p.Certificate(), "other", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)).State)
	// Output:
	// valid 1461 false
	// expiring 365 true
	// expired -151 true
	// hostname-mismatch
}

// A boot script that states the whole pair it wants: the same options keep
// the pair; a name no longer asked for, or another key type, replaces it.
func ExampleEnsureMatching() {
	dir, err := os.MkdirTemp("", "certgen-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	opts := certgen.Options{Host: "IAS_SRV01", DNSNames: []string{"ias.corp.example"}, IPAddresses: []string{"10.0.0.5"},
		KeyType: certgen.KeyECDSAP256}
	first, st, err := certgen.EnsureMatching(dir, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Action, st.State)

	again, st, _ := certgen.EnsureMatching(dir, opts)
	fmt.Println(st.Action, again.Serial() == first.Serial())

	smaller := certgen.Options{Host: "IAS_SRV01", KeyType: certgen.KeyECDSAP256}
	fmt.Println(certgen.Differences(again, smaller))
	p, st, _ := certgen.EnsureMatching(dir, smaller)
	fmt.Println(st.Action, p.Certificate().DNSNames, p.Serial() == first.Serial())
	// Output:
	// created valid
	// loaded true
	// [dns names: has [ias.corp.example ias_srv01], asked [ias_srv01] ip addresses: has [10.0.0.5], asked none]
	// regenerated [ias_srv01] false
}
