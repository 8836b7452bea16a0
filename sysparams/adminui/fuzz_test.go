package adminui

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ucxkit/ucxkit/sysparams"
)

// FuzzApplyForms feeds arbitrary form bodies to every section's form
// parser: it must never panic, must only report problems that name a
// field of its own section, and must leave the other sections alone.
func FuzzApplyForms(f *testing.F) {
	f.Add("email.port=70000&email.enabled=on&email.password=x")
	f.Add("proxy.socks.version=6&proxy.http.port=-1&proxy.bypass=a%0Ab")
	f.Add("numbering_plan.internal_patterns=2XXX%0D%0A%0D%0A[&numbering_plan.use_defaults=")
	f.Add("authentication.inactivity_timeout=1d1d&authentication.order=local")
	f.Add("certificate.validity_years=99999999999999999999&cloud.client_secret.clear=on")
	f.Add("%zz=1&&=&web_server.base_url=%00")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		for section, apply := range appliers {
			p := sysparams.Defaults()
			before := *p
			err := apply(p, form)
			pg := &page{}
			if err != nil {
				pg.setProblems(err)
			}
			for _, pr := range pg.Problems {
				if !strings.HasPrefix(pr.Field, section+".") {
					t.Fatalf("%s: problem names a field of another section: %q", section, pr.Message)
				}
			}
			if section != sysparams.SectionTelephony && p.Telephony != before.Telephony {
				t.Fatalf("%s: changed telephony", section)
			}
			if section != sysparams.SectionCloud && p.Cloud != before.Cloud {
				t.Fatalf("%s: changed cloud", section)
			}
			if section != sysparams.SectionWebServer && p.WebServer != before.WebServer {
				t.Fatalf("%s: changed web_server", section)
			}
			_ = p.Validate() // must not panic on anything a form produced
		}
	})
}

// FuzzFlash checks that the flash read from a query string only ever
// carries known notes and restart levels (no reflected text).
func FuzzFlash(f *testing.F) {
	f.Add("saved=1&restart=host&note=1&note=0")
	f.Add("saved=0&note=<script>")
	f.Add("done=regenerated&restart=reboot")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		fl := readFlash(v)
		if fl == nil {
			return
		}
		switch fl.Restart {
		case "", "services", "host":
		default:
			t.Fatalf("restart %q", fl.Restart)
		}
		switch fl.Done {
		case "", "regenerated", "created":
		default:
			t.Fatalf("done %q", fl.Done)
		}
		for _, n := range fl.Notes {
			ok := false
			for _, k := range knownNotes {
				ok = ok || n == k
			}
			if !ok {
				t.Fatalf("unknown note %q", n)
			}
		}
	})
}

// FuzzCSRF checks that no token but the HMAC of the cookie's nonce is
// accepted.
func FuzzCSRF(f *testing.F) {
	h := &handler{csrfKey: []byte("0123456789abcdef0123456789abcdef")}
	nonce := strings.Repeat("A", 43)
	good := h.csrfToken(nonce)
	f.Add(nonce, good)
	f.Add(nonce, good[:len(good)-1])
	f.Add("", "")
	f.Add("not-base64!", good)
	f.Fuzz(func(t *testing.T, cookie, token string) {
		ok := validNonce(cookie) && token != "" && token == h.csrfToken(cookie)
		r := csrfRequest(cookie, token)
		if got := h.checkCSRF(r); got != ok {
			t.Fatalf("checkCSRF(%q, %q) = %v, want %v", cookie, token, got, ok)
		}
	})
}

// FuzzVerifyFlash checks the flash signature: what signFlash produced
// for a page verifies there with the same values, and nothing verifies
// unless it is exactly what signFlash would produce for that page.
func FuzzVerifyFlash(f *testing.F) {
	f.Add("/proxy", "saved=1&restart=host&note=1", "saved=1&sig=")
	f.Add("/certificate", "done=created", "done=created&sig=AAAA&sig=")
	f.Add("/telephony", "saved=0", "%zz&sig=%zz")
	h := &handler{csrfKey: []byte(strings.Repeat("k", minCSRFKey))}
	f.Fuzz(func(t *testing.T, page, q, raw string) {
		want, perr := url.ParseQuery(q)
		v, ok := h.verifyFlash(page, h.signFlash(page, q))
		if !strings.Contains(q, "&sig=") && ok != (perr == nil) {
			t.Fatalf("own signature of %q: ok=%v", q, ok)
		}
		if ok && v.Encode() != want.Encode() {
			t.Fatalf("values changed: %q", q)
		}
		if _, ok := h.verifyFlash(page, raw); ok {
			prefix, _, _ := strings.Cut(raw, "&sig=")
			if raw != h.signFlash(page, prefix) {
				t.Fatalf("forged query verified: %q", raw)
			}
			if _, ok := h.verifyFlash(page+"/", raw); ok {
				t.Fatalf("signature valid for another page: %q", raw)
			}
		}
	})
}
