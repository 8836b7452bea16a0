package sysparams

import (
	"encoding/json"
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
	p.Cloud = Cloud{ClientID: "c", ClientSecret: "s"}
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
