package sysparams

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzDocument feeds arbitrary bytes to the stored-file parser and the
// decryption: errors, never panics, and a document that decodes re-encodes
// to one that decodes to the same parameters.
func FuzzDocument(f *testing.F) {
	k, err := GenerateKeyring()
	if err != nil {
		f.Fatal(err)
	}
	p := Defaults()
	p.Telephony = Telephony{SystemName: "HQ", PBXAddress: "10.0.0.1"}
	p.Cloud = Cloud{ClientID: "c", ClientSecret: NewSecret("s")}
	d, err := NewDocument(p, k, 1, time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	b, _ := d.Marshal()
	f.Add(b)
	f.Add([]byte(`{"schema":"ucxkit.sysparams","schema_version":1,"params":{}}`))
	f.Add([]byte(`{"schema":"ucxkit.sysparams","schema_version":1,"params":{"cloud":{"client_secret":"[REDACTED]"}},"secrets":{"cloud.client_secret":"v1:x:y"}}`))
	f.Add([]byte(`{"schema":"ucxkit.sysparams","schema_version":1,"params":{"proxy":{"http":null}},"secrets":{"proxy.http.password":"v1:x:y"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDocument(data)
		if err != nil {
			return
		}
		p, err := d.Decode(k)
		if err != nil {
			return
		}
		d2, err := NewDocument(p, k, d.Revision, d.UpdatedAt)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		p2, err := d2.Decode(k)
		if err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(p2)
		if string(a) != string(b) {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
		if len(Diff(p, p2).Fields) != 0 {
			t.Fatalf("round trip changed %v", Diff(p, p2).Fields)
		}
	})
}

// FuzzParamsJSON checks that decoding arbitrary JSON into Params and
// validating it never panics.
func FuzzParamsJSON(f *testing.F) {
	b, _ := json.Marshal(Defaults())
	f.Add(b)
	f.Add([]byte(`{"email":{"port":70000},"authentication":{"inactivity_timeout":"31d"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Params
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		_ = p.Validate()
		_ = Diff(Defaults(), &p)
		c, err := p.Clone()
		if err != nil {
			t.Fatalf("clone: %v", err)
		}
		if d := Diff(&p, c); !d.Empty() {
			t.Fatalf("clone differs in %v", d.Fields)
		}
	})
}

// FuzzKeyringOpen feeds arbitrary sealed values to Open: errors, never
// panics, and nothing opens without the right key and path.
func FuzzKeyringOpen(f *testing.F) {
	k, err := GenerateKeyring()
	if err != nil {
		f.Fatal(err)
	}
	good, _ := k.Seal("email.password", NewSecret("x"))
	f.Add(good, "email.password")
	f.Add("v1:"+k.PrimaryID()+":", "email.password")
	f.Add("v1::", "")
	f.Fuzz(func(t *testing.T, sealed, path string) {
		s, err := k.Open(path, sealed)
		if err == nil && (sealed != good || path != "email.password" || s.Reveal() != "x") {
			t.Fatalf("opened a value that was not sealed for %q", path)
		}
	})
}

// FuzzKeyFile feeds arbitrary key files to LoadKeyFile.
func FuzzKeyFile(f *testing.F) {
	k, _ := GenerateKeyring()
	dir := f.TempDir()
	path := dir + "/k.key"
	if err := k.WriteKeyFile(path); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	f.Add(b)
	f.Add([]byte(`{"schema":"ucxkit.sysparams.keys","primary":"a","keys":[{"id":"a","key":"AAAA"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "k.key")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := LoadKeyFile(p)
		if err != nil {
			return
		}
		if len(k.IDs()) == 0 || k.PrimaryID() == "" {
			t.Fatal("a loaded keyring without a primary key")
		}
	})
}

// FuzzHostAndURL checks the host and URL checks never panic and never
// accept control characters or non-https URLs.
func FuzzHostAndURL(f *testing.F) {
	for _, s := range []string{"pbx.example.com", "10.0.0.1", "2001:db8::1", "https://ucx.example.com/x", "https://[::1]:8443/", "http://x", "https://a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkHost(s) == "" && strings.ContainsAny(s, " \r\n\x00/@") {
			t.Fatalf("host %q accepted", s)
		}
		if checkHTTPSURL(s) == "" && (!strings.HasPrefix(strings.ToLower(s), "https://") || strings.ContainsAny(s, " \r\n\x00?#")) {
			t.Fatalf("url %q accepted", s)
		}
	})
}
