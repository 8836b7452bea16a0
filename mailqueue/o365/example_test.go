package o365_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
)

// Sending through Microsoft Graph. A stand-in for login.microsoftonline.com
// and graph.microsoft.com answers here; a real host leaves AuthURL and
// GraphURL empty (or sets Cloud) and passes its proxy-aware *http.Client.
func Example() {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			r.ParseForm()
			fmt.Println("token scope:", r.PostForm.Get("scope"))
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAi.e30.sig"}`)
		case strings.HasSuffix(r.URL.Path, "/sendMail"):
			body, _ := io.ReadAll(r.Body)
			msg, _ := base64.StdEncoding.DecodeString(string(body))
			fmt.Printf("%s %s (%s)\n%s", r.Method, r.URL.Path, r.Header.Get("Content-Type"), strings.ReplaceAll(string(msg), "\r\n", "\n"))
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer fake.Close()

	sender, err := o365.New(o365.Config{
		TenantID:     "contoso.onmicrosoft.com",
		ClientID:     "11111111-2222-3333-4444-555555555555",
		ClientSecret: o365.NewSecret("value-from-the-app-registration"),
		Sender:       "fax@contoso.com",
		AuthURL:      fake.URL, // overrides for the stand-in only
		GraphURL:     fake.URL,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sender.Close()

	msg := "From: fax@contoso.com\r\nTo: bob@example.com\r\nSubject: Fax\r\n\r\nHello\r\n"
	err = sender.Send(context.Background(), mailqueue.Envelope{To: []string{"bob@example.com"}}, []byte(msg))
	if err != nil {
		// The queue acts on the class: retry, pause, dead-letter.
		fmt.Println(mailqueue.ClassOf(err), err)
		return
	}
	fmt.Println("sent")
	// Output:
	// token scope: https://graph.microsoft.com/.default
	// POST /v1.0/users/fax@contoso.com/sendMail (text/plain)
	// From: fax@contoso.com
	// To: bob@example.com
	// Subject: Fax
	//
	// Hello
	// sent
}

// Validation names every field at fault, with the JSON names the
// parameter store uses.
func ExampleConfig_Validate() {
	err := o365.Config{TenantID: "common", Mode: "pop3"}.Validate()
	fmt.Println(err)
	// Output:
	// tenant_id: must be the directory ID or a verified domain, not "common"
	// client_id: required (the application ID of the app registration)
	// client_secret: required
	// address: required (the mailbox the messages are sent from)
	// mode: must be graph, smtp or ews, got "pop3"
}

// A host that wants the seed's environment overrides copies them in
// explicitly.
func ExampleEnvURLs() {
	authURL, serverURL := o365.EnvURLs()
	cfg := o365.Config{AuthURL: authURL, ServerURL: serverURL, Mode: o365.ModeEWS}
	fmt.Println(cfg.Mode)
	// Output: ews
}
