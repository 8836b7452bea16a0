package authchain

// A minimal in-process LDAP server (RFC 4511 bind, search, StartTLS,
// unbind) for the LDAP authenticator's tests. go-ldap has no server, and
// the real-slapd suite (.ci/integration/slapd.sh) is the end-to-end proof;
// this one records every request so tests can assert what was (not) sent.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

type testEntry struct {
	dn       string
	attrs    map[string][]string // lower-case attribute names
	password string
	// bindDiag, when set, makes a bind with the right password fail with
	// result 49 and this diagnostic message (AD account states).
	bindDiag string
	// anyScope puts the entry in every search (a server answering with a
	// bogus entry).
	anyScope bool
}

type testLDAP struct {
	t        *testing.T
	ln       net.Listener
	tlsCfg   *tls.Config
	ldaps    bool
	mu       sync.Mutex // guards the fields below
	entries  []testEntry
	binds    []string // DNs of bind requests, in order
	filters  []string // decompiled search filters
	conns    int
	open     []net.Conn
	startTLS int
	// bindDelay delays every bind response (timeout tests).
	bindDelay time.Duration
}

// testPKI is a CA and a server certificate for 127.0.0.1 and "ldap.test".
type testPKI struct {
	caPEM  []byte
	pool   *x509.CertPool
	server tls.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ucxkit test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ldap.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"ldap.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{
		caPEM:  pemEncode("CERTIFICATE", caDER),
		pool:   pool,
		server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}
}

func newTestLDAP(t *testing.T, pki *testPKI, ldaps bool, entries ...testEntry) *testLDAP {
	t.Helper()
	s := &testLDAP{t: t, entries: entries, ldaps: ldaps,
		tlsCfg: &tls.Config{Certificates: []tls.Certificate{pki.server}}}
	var err error
	if ldaps {
		s.ln, err = tls.Listen("tcp", "127.0.0.1:0", s.tlsCfg)
	} else {
		s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.ln.Close() })
	go s.serve()
	return s
}

func (s *testLDAP) URL() string {
	if s.ldaps {
		return "ldaps://" + s.ln.Addr().String()
	}
	return "ldap://" + s.ln.Addr().String()
}

func (s *testLDAP) Binds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.binds...)
}

func (s *testLDAP) Filters() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.filters...)
}

func (s *testLDAP) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// dropAll closes every accepted connection, as a server's idle timeout
// does.
func (s *testLDAP) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.open {
		c.Close()
	}
	s.open = nil
}

func (s *testLDAP) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.open = append(s.open, c)
		s.mu.Unlock()
		go s.handle(c)
	}
}

func pstr(p *ber.Packet) string { return p.Data.String() }

func envelope(id int64, op *ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	p.AppendChild(op)
	return p
}

func result(app ber.Tag, code int64, diag string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, app, nil, "Result")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	return op
}

func (s *testLDAP) handle(c net.Conn) {
	defer func() { c.Close() }()
	for {
		p, err := ber.ReadPacket(c)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id, _ := p.Children[0].Value.(int64)
		op := p.Children[1]
		switch op.Tag {
		case 0: // BindRequest
			dn, pw := pstr(op.Children[1]), pstr(op.Children[2])
			s.mu.Lock()
			s.binds = append(s.binds, dn)
			delay := s.bindDelay
			entries := s.entries
			s.mu.Unlock()
			time.Sleep(delay)
			code, diag := int64(49), "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 52e, v3839"
			if dn == "" && pw == "" {
				code, diag = 0, ""
			}
			for _, e := range entries {
				if strings.EqualFold(e.dn, dn) && e.password != "" && e.password == pw {
					code, diag = 0, ""
					if e.bindDiag != "" {
						code, diag = 49, e.bindDiag
					}
				}
			}
			_, _ = c.Write(envelope(id, result(1, code, diag)).Bytes())
		case 3: // SearchRequest
			base := pstr(op.Children[0])
			scope, _ := op.Children[1].Value.(int64)
			filter := op.Children[6]
			s.mu.Lock()
			f, _ := decompile(filter)
			s.filters = append(s.filters, f)
			entries := s.entries
			s.mu.Unlock()
			code := int64(0)
			found := false
			for _, e := range entries {
				inScope := strings.EqualFold(e.dn, base) || (scope != 0 && strings.HasSuffix(strings.ToLower(e.dn), ","+strings.ToLower(base)))
				if strings.EqualFold(e.dn, base) {
					found = true
				}
				if !(inScope || e.anyScope) || !match(filter, e) {
					continue
				}
				r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "SearchResultEntry")
				r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.dn, "objectName"))
				r.AppendChild(ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes"))
				_, _ = c.Write(envelope(id, r).Bytes())
			}
			if scope == 0 && !found {
				code = 32 // noSuchObject
			}
			_, _ = c.Write(envelope(id, result(5, code, "")).Bytes())
		case 23: // ExtendedRequest
			name := pstr(op.Children[0])
			if name != startTLSOID || s.ldaps {
				_, _ = c.Write(envelope(id, result(24, 2, "unsupported")).Bytes())
				continue
			}
			s.mu.Lock()
			s.startTLS++
			s.mu.Unlock()
			_, _ = c.Write(envelope(id, result(24, 0, "")).Bytes())
			tc := tls.Server(c, s.tlsCfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
		case 2: // UnbindRequest
			return
		default:
			_, _ = c.Write(envelope(id, result(op.Tag+1, 53, "unwilling")).Bytes())
		}
	}
}

// match evaluates the subset of RFC 4511 filters the authenticator sends.
func match(f *ber.Packet, e testEntry) bool {
	switch f.Tag {
	case 0: // and
		for _, c := range f.Children {
			if !match(c, e) {
				return false
			}
		}
		return true
	case 1: // or
		for _, c := range f.Children {
			if match(c, e) {
				return true
			}
		}
		return false
	case 2: // not
		return !match(f.Children[0], e)
	case 3: // equalityMatch (case-insensitive, like most directory strings)
		attr, val := strings.ToLower(pstr(f.Children[0])), pstr(f.Children[1])
		if attr == "dn" {
			return strings.EqualFold(e.dn, val)
		}
		for _, v := range e.attrs[attr] {
			if strings.EqualFold(v, val) {
				return true
			}
		}
		return false
	case 7: // present
		return len(e.attrs[strings.ToLower(pstr(f))]) > 0
	}
	return false
}

func decompile(f *ber.Packet) (string, error) {
	switch f.Tag {
	case 0, 1:
		op := "&"
		if f.Tag == 1 {
			op = "|"
		}
		s := "(" + op
		for _, c := range f.Children {
			x, _ := decompile(c)
			s += x
		}
		return s + ")", nil
	case 2:
		x, _ := decompile(f.Children[0])
		return "(!" + x + ")", nil
	case 3:
		return "(" + pstr(f.Children[0]) + "=" + escapeForLog(pstr(f.Children[1])) + ")", nil
	case 7:
		return "(" + pstr(f) + "=*)", nil
	}
	return "(?)", nil
}

func escapeForLog(v string) string {
	r := strings.NewReplacer("*", `\2a`, "(", `\28`, ")", `\29`, `\`, `\5c`, "\x00", `\00`)
	return r.Replace(v)
}
