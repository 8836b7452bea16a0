package o365

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock shared by the fake services and the
// Sender under test.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cannedResponse is one scripted answer of a fake service.
type cannedResponse struct {
	status int
	header map[string]string
	body   string
	hang   bool // read the request, then never answer
}

// issuedToken is what the fake token endpoint remembers of a token.
type issuedToken struct {
	scope   string
	expires time.Time
}

// fakeMS imitates the Microsoft endpoints with the documented wire
// formats: the v2.0 token endpoint (client credentials), Graph sendMail
// and users/{id}, and EWS CreateItem/GetFolder.
type fakeMS struct {
	t      testing.TB
	srv    *httptest.Server
	clock  *fakeClock
	tenant string
	client string
	secret string
	sender string
	// expiresIn is the token lifetime in seconds announced by the endpoint.
	expiresIn int
	// tokenDelay is added to every token answer (network distance).
	tokenDelay time.Duration
	// discard drops received messages instead of keeping them (benchmarks).
	discard bool
	// roles per scope resource put into the token's "roles" claim.
	roles map[string][]string

	mu           sync.Mutex // guards everything below
	tokens       map[string]issuedToken
	tokenCalls   int
	tokenScopes  []string
	tokenErr     *cannedResponse
	graphScript  []cannedResponse
	ewsScript    []cannedResponse
	graphMsgs    [][]byte
	ewsMsgs      [][]byte
	expiredUses  int
	wrongAud     int
	graphCalls   int
	ewsCalls     int
	lastEWSBody  string
	lastGraphHdr http.Header
	seq          int
}

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testClient = "11111111-2222-3333-4444-555555555555"
	// testSecret has the characters Entra secrets carry (~ . _ -) and a
	// few that need form encoding.
	testSecret = "Qx8~s3cr3t.V4lue_with-Specials+&=%"
	testSender = "fax@contoso.example"
)

func newFakeMS(t testing.TB, tlsServer bool) *fakeMS {
	f := &fakeMS{
		t: t, clock: newFakeClock(), tenant: testTenant, client: testClient, secret: testSecret,
		sender: testSender, expiresIn: 3599, tokens: map[string]issuedToken{},
		roles: map[string][]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", f.route)
	if tlsServer {
		f.srv = httptest.NewTLSServer(mux)
	} else {
		f.srv = httptest.NewServer(mux)
	}
	t.Cleanup(f.srv.Close)
	return f
}

// config returns a Config pointing every endpoint at the fake.
func (f *fakeMS) config(mode Mode) Config {
	return Config{
		TenantID: f.tenant, ClientID: f.client, ClientSecret: NewSecret(f.secret), Sender: f.sender,
		Mode: mode, AuthURL: f.srv.URL, GraphURL: f.srv.URL + "/graph", ServerURL: f.srv.URL,
		GraphScope: "https://graph.microsoft.com/.default",
		HTTPClient: f.srv.Client(), Now: f.clock.Now,
	}
}

func (f *fakeMS) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		f.token(w, r)
	case strings.HasPrefix(r.URL.Path, "/graph/v1.0/users/"):
		f.graph(w, r)
	case r.URL.Path == "/EWS/Exchange.asmx":
		f.ews(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeMS) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func aadError(code, desc string, codes ...int) map[string]any {
	return map[string]any{
		"error": code, "error_description": desc, "error_codes": codes,
		"timestamp": "2026-06-01 09:00:00Z", "trace_id": "0d1e4a6b", "correlation_id": "9c7f",
	}
}

func (f *fakeMS) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenDelay > 0 {
		time.Sleep(f.tokenDelay)
	}
	f.tokenCalls++
	if r.Method != http.MethodPost {
		f.writeJSON(w, 405, aadError("invalid_request", "AADSTS900561: The endpoint only accepts POST requests.", 900561))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.writeJSON(w, 400, aadError("invalid_request", "AADSTS900144: bad content type "+ct, 900144))
		return
	}
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("token request carries an Authorization header; expected the secret in the form (AuthStyleInParams)")
	}
	if err := r.ParseForm(); err != nil {
		f.writeJSON(w, 400, aadError("invalid_request", "AADSTS900144: unreadable body", 900144))
		return
	}
	tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	f.tokenScopes = append(f.tokenScopes, r.PostForm.Get("scope"))
	if f.tokenErr != nil {
		c := f.tokenErr
		for k, v := range c.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
		return
	}
	switch {
	case tenant != f.tenant:
		f.writeJSON(w, 400, aadError("invalid_request",
			"AADSTS90002: Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", 90002))
	case r.PostForm.Get("grant_type") != "client_credentials":
		f.writeJSON(w, 400, aadError("unsupported_grant_type", "AADSTS70003: unsupported grant", 70003))
	case r.PostForm.Get("client_id") != f.client:
		f.writeJSON(w, 400, aadError("unauthorized_client",
			"AADSTS700016: Application with identifier '"+r.PostForm.Get("client_id")+"' was not found in the directory.", 700016))
	case r.PostForm.Get("client_secret") != f.secret:
		f.writeJSON(w, 401, aadError("invalid_client",
			"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.", 7000215))
	case !strings.HasSuffix(r.PostForm.Get("scope"), "/.default") || strings.Contains(r.PostForm.Get("scope"), " "):
		f.writeJSON(w, 400, aadError("invalid_scope", "AADSTS1002012: The provided value for scope is not valid.", 1002012))
	default:
		scope := r.PostForm.Get("scope")
		f.seq++
		aud := strings.TrimSuffix(scope, "/.default")
		exp := f.clock.Now().Add(time.Duration(f.expiresIn) * time.Second)
		tok := makeJWT(map[string]any{
			"aud": aud, "tid": f.tenant, "appid": f.client, "roles": f.roles[aud],
			"exp": exp.Unix(), "jti": fmt.Sprintf("tok-%d", f.seq),
		})
		f.tokens[tok] = issuedToken{scope: scope, expires: exp}
		f.writeJSON(w, 200, map[string]any{
			"token_type": "Bearer", "expires_in": f.expiresIn, "ext_expires_in": f.expiresIn, "access_token": tok,
		})
	}
}

func makeJWT(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256","kid":"fake"}`))
	p, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + ".c2lnbmF0dXJl"
}

// checkBearer validates the Authorization header against the issued
// tokens: known, not expired on the shared clock, for the right resource.
// It must be called with f.mu held.
func (f *fakeMS) checkBearer(r *http.Request, wantScope string) (ok bool, why string) {
	auth := r.Header.Get("Authorization")
	tok, found := strings.CutPrefix(auth, "Bearer ")
	if !found {
		return false, "no bearer token"
	}
	it, known := f.tokens[tok]
	switch {
	case !known:
		return false, "unknown token"
	case !f.clock.Now().Before(it.expires):
		f.expiredUses++
		return false, "expired token"
	case it.scope != wantScope:
		f.wrongAud++
		return false, "token for " + it.scope + ", want " + wantScope
	}
	return true, ""
}

func (f *fakeMS) next(script *[]cannedResponse) *cannedResponse {
	if len(*script) == 0 {
		return nil
	}
	c := (*script)[0]
	*script = (*script)[1:]
	return &c
}

func writeCanned(w http.ResponseWriter, r *http.Request, c *cannedResponse) {
	if c.hang {
		<-r.Context().Done()
		return
	}
	for k, v := range c.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(c.status)
	io.WriteString(w, c.body)
}

func graphErrorJSON(code, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"date": "2026-06-01T09:00:00", "request-id": "req-123", "client-request-id": "req-123"},
	}})
	return string(b)
}

func (f *fakeMS) graph(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.graphCalls++
	f.lastGraphHdr = r.Header.Clone()
	ok, why := f.checkBearer(r, "https://graph.microsoft.com/.default")
	c := f.next(&f.graphScript)
	f.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, graphErrorJSON("InvalidAuthenticationToken", "Access token validation failure: "+why))
		return
	}
	if c != nil {
		writeCanned(w, r, c)
		return
	}
	wantUser := "/graph/v1.0/users/" + url.PathEscape(f.sender)
	switch {
	case r.Method == http.MethodGet && r.URL.EscapedPath() == wantUser:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"0b7e","mail":"`+f.sender+`","userPrincipalName":"`+f.sender+`"}`)
	case r.Method == http.MethodPost && r.URL.EscapedPath() == wantUser+"/sendMail":
		if ct := r.Header.Get("Content-Type"); ct != "text/plain" {
			w.WriteHeader(415)
			io.WriteString(w, graphErrorJSON("UnsupportedMediaType", "content type "+ct))
			return
		}
		msg, err := base64.StdEncoding.DecodeString(string(body))
		if err != nil {
			w.WriteHeader(400)
			io.WriteString(w, graphErrorJSON("ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."))
			return
		}
		f.mu.Lock()
		if !f.discard {
			f.graphMsgs = append(f.graphMsgs, msg)
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	default:
		w.WriteHeader(404)
		io.WriteString(w, graphErrorJSON("ErrorInvalidUser", "The requested user '"+r.URL.Path+"' is invalid."))
	}
}

// ewsRequest is the subset of the SOAP request the fake checks. Names
// carry their namespaces so https variants are rejected.
type ewsRequest struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  struct {
		Version struct {
			Version string `xml:"Version,attr"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types RequestServerVersion"`
		Impersonation *struct {
			Primary string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ConnectingSID>PrimarySmtpAddress"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExchangeImpersonation"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		CreateItem *struct {
			Disposition string `xml:"MessageDisposition,attr"`
			Items       struct {
				Messages []struct {
					Mime []struct {
						Charset string `xml:"CharacterSet,attr"`
						Value   string `xml:",chardata"`
					} `xml:"http://schemas.microsoft.com/exchange/services/2006/types MimeContent"`
				} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Message"`
			} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Items"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages CreateItem"`
		GetFolder *struct {
			Folder struct {
				ID string `xml:"Id,attr"`
			} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FolderIds>DistinguishedFolderId"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetFolder"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

const soapOpen = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="7" MinorBuildNumber="0" Version="V2018_01_08" ` +
	`xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>`

func ewsSuccess(op string) string {
	return soapOpen + `<s:Body><m:` + op + `Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ` +
		`xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>` +
		`<m:` + op + `ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items/></m:` + op + `ResponseMessage>` +
		`</m:ResponseMessages></m:` + op + `Response></s:Body></s:Envelope>`
}

func ewsItemError(op, code, text string) string {
	return soapOpen + `<s:Body><m:` + op + `Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ` +
		`xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>` +
		`<m:` + op + `ResponseMessage ResponseClass="Error"><m:MessageText>` + text + `</m:MessageText>` +
		`<m:ResponseCode>` + code + `</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:` + op + `ResponseMessage>` +
		`</m:ResponseMessages></m:` + op + `Response></s:Body></s:Envelope>`
}

func ewsFault(code, text string, backoffMS int) string {
	extra := ""
	if backoffMS > 0 {
		extra = `<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">` +
			fmt.Sprintf(`<t:Value Name="BackOffMilliseconds">%d</t:Value>`, backoffMS) + `</t:MessageXml>`
	}
	return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>` +
		`<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:` + code + `</faultcode>` +
		`<faultstring xml:lang="en-US">` + text + `</faultstring><detail>` +
		`<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">` + code + `</e:ResponseCode>` +
		`<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">` + text + `</e:Message>` + extra +
		`</detail></s:Fault></s:Body></s:Envelope>`
}

func (f *fakeMS) ews(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.ewsCalls++
	f.lastEWSBody = string(body)
	ok, why := f.checkBearer(r, f.srv.URL+"/.default")
	c := f.next(&f.ewsScript)
	f.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", error="invalid_token", error_description="`+why+`"`)
		w.WriteHeader(401)
		return
	}
	fail := func(msg string) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(500)
		io.WriteString(w, ewsFault("ErrorSchemaValidation", "The request failed schema validation: "+msg, 0))
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		fail("content type " + ct)
		return
	}
	if a := r.Header.Get("X-AnchorMailbox"); a != f.sender {
		fail("X-AnchorMailbox " + a)
		return
	}
	var req ewsRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		fail(err.Error())
		return
	}
	if req.Header.Impersonation == nil || req.Header.Impersonation.Primary != f.sender {
		fail("missing ExchangeImpersonation of the sender")
		return
	}
	if req.Header.Version.Version == "" {
		fail("missing RequestServerVersion")
		return
	}
	if c != nil {
		writeCanned(w, r, c)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	switch {
	case req.Body.CreateItem != nil:
		ci := req.Body.CreateItem
		if ci.Disposition != "SendOnly" || len(ci.Items.Messages) != 1 || len(ci.Items.Messages[0].Mime) != 1 {
			fail("CreateItem must be SendOnly with one MimeContent")
			return
		}
		msg, err := base64.StdEncoding.DecodeString(ci.Items.Messages[0].Mime[0].Value)
		if err != nil {
			w.WriteHeader(200)
			io.WriteString(w, ewsItemError("CreateItem", "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."))
			return
		}
		f.mu.Lock()
		f.ewsMsgs = append(f.ewsMsgs, msg)
		f.mu.Unlock()
		io.WriteString(w, ewsSuccess("CreateItem"))
	case req.Body.GetFolder != nil:
		io.WriteString(w, ewsSuccess("GetFolder"))
	default:
		fail("unknown operation")
	}
}

func (f *fakeMS) stats() (tokenCalls, expired, wrongAud int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, f.expiredUses, f.wrongAud
}

// countingProxy is an HTTP proxy that serves CONNECT tunnels and
// absolute-form forwarding and counts both.
type countingProxy struct {
	srv      *httptest.Server
	connects atomic.Int64
	forwards atomic.Int64
	targets  sync.Map // host -> count
}

func newCountingProxy(t *testing.T) *countingProxy {
	p := &countingProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *countingProxy) URL() *url.URL { u, _ := url.Parse(p.srv.URL); return u }

func (p *countingProxy) serve(w http.ResponseWriter, r *http.Request) {
	v, _ := p.targets.LoadOrStore(r.Host, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if r.Method == http.MethodConnect {
		p.connects.Add(1)
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			up.Close()
			http.Error(w, "no hijack", 500)
			return
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() {
			if n := brw.Reader.Buffered(); n > 0 {
				b, _ := brw.Reader.Peek(n)
				up.Write(b)
			}
			io.Copy(up, conn)
			up.Close()
		}()
		io.Copy(conn, up)
		conn.Close()
		return
	}
	p.forwards.Add(1)
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vv := range resp.Header {
		w.Header()[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// connectDialer is a minimal proxy.ContextDialer that tunnels TCP through
// an HTTP CONNECT proxy (for the SMTP connection).
type connectDialer struct{ proxyAddr string }

func (d connectDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", d.proxyAddr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != 200 {
		c.Close()
		return nil, fmt.Errorf("proxy: %s", resp.Status)
	}
	// The server's greeting may already sit in the buffer.
	return &bufferedConn{Conn: c, r: br}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// with runs fn with the fake's lock held, for reading or scripting its
// state from the test goroutine.
func (f *fakeMS) with(fn func(f *fakeMS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeMS) scriptGraph(rs ...cannedResponse) {
	f.with(func(f *fakeMS) { f.graphScript = rs })
}

func (f *fakeMS) scriptEWS(rs ...cannedResponse) {
	f.with(func(f *fakeMS) { f.ewsScript = rs })
}

// snapshot is a copy of the fake's counters and received messages.
type snapshot struct {
	tokenCalls, graphCalls, ewsCalls, expired, wrongAud int
	tokenScopes                                         []string
	graphMsgs, ewsMsgs                                  [][]byte
	lastGraphHdr                                        http.Header
	lastEWSBody                                         string
}

func (f *fakeMS) snap() snapshot {
	var s snapshot
	f.with(func(f *fakeMS) {
		s = snapshot{
			tokenCalls: f.tokenCalls, graphCalls: f.graphCalls, ewsCalls: f.ewsCalls,
			expired: f.expiredUses, wrongAud: f.wrongAud,
			tokenScopes:  append([]string(nil), f.tokenScopes...),
			graphMsgs:    append([][]byte(nil), f.graphMsgs...),
			ewsMsgs:      append([][]byte(nil), f.ewsMsgs...),
			lastGraphHdr: f.lastGraphHdr.Clone(), lastEWSBody: f.lastEWSBody,
		}
	})
	return s
}
