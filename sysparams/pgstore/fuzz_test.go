package pgstore

import (
	"testing"
)

func FuzzParsePayload(f *testing.F) {
	f.Add(payload{Schema: "public", Name: "default", Revision: 1}.encode())
	f.Add(`{"schema":"s","name":"n","revision":-1}`)
	f.Add(`{"schema":"s","name":"n","revision":1e30}`)
	f.Add(`not json`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePayload(s)
		if err != nil {
			return
		}
		if p.Schema == "" || p.Name == "" || p.Revision <= 0 {
			t.Fatalf("accepted an incomplete payload %q: %+v", s, p)
		}
		q, err := parsePayload(p.encode())
		if err != nil || q != p {
			t.Fatalf("round trip of %+v: %+v, %v", p, q, err)
		}
	})
}

func TestParsePayload(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"valid", `{"schema":"public","name":"default","revision":3}`, true},
		{"no schema", `{"name":"default","revision":3}`, false},
		{"zero revision", `{"schema":"s","name":"default","revision":0}`, false},
		{"garbage", `revision 3`, false},
		{"too long", `{"schema":"` + string(make([]byte, maxPayload)) + `"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePayload(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("parsePayload(%.40q) = %v", tc.in, err)
			}
		})
	}
}
