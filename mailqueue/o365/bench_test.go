package o365

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The baselines a user would write by hand against the same fake Graph:
// x/oauth2's own client (ReuseTokenSource, 10 s expiry delta) and a fresh
// token per message. Run with:
//
//	go test -run '^$' -bench Graph -benchtime 2000x ./mailqueue/o365/
func benchSetup(b *testing.B) (*fakeMS, Config, []byte) {
	f := newFakeMS(b, false)
	f.with(func(f *fakeMS) {
		f.discard = true
		// A token round trip to Entra ID costs at least one WAN RTT;
		// 2 ms models a very close one.
		f.tokenDelay = 2 * time.Millisecond
	})
	cfg := f.config(ModeGraph)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB fax-sized body
	msg = append([]byte(testMsg), msg...)
	return f, cfg, msg
}

func BenchmarkGraphSend(b *testing.B) {
	f, cfg, msg := benchSetup(b)
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for b.Loop() {
		if err := s.Send(ctx, testEnv, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(f.snap().tokenCalls), "token-fetches")
}

func handPost(ctx context.Context, client *http.Client, url string, msg []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(base64.StdEncoding.EncodeToString(msg))))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return &ServiceError{Service: "graph", Status: resp.StatusCode}
	}
	return nil
}

func BenchmarkGraphSendOAuth2Client(b *testing.B) {
	f, cfg, msg := benchSetup(b)
	r, _ := cfg.resolve()
	cc := &clientcredentials.Config{ClientID: r.ClientID, ClientSecret: r.ClientSecret.Reveal(), TokenURL: r.tokenURL,
		Scopes: []string{r.graphScope}, AuthStyle: oauth2.AuthStyleInParams}
	client := cc.Client(context.WithValue(context.Background(), oauth2.HTTPClient, r.HTTPClient))
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for b.Loop() {
		if err := handPost(ctx, client, r.sendMailURL, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(f.snap().tokenCalls), "token-fetches")
}

func BenchmarkGraphSendTokenPerMessage(b *testing.B) {
	f, cfg, msg := benchSetup(b)
	r, _ := cfg.resolve()
	cc := &clientcredentials.Config{ClientID: r.ClientID, ClientSecret: r.ClientSecret.Reveal(), TokenURL: r.tokenURL,
		Scopes: []string{r.graphScope}, AuthStyle: oauth2.AuthStyleInParams}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, r.HTTPClient)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for b.Loop() {
		tok, err := cc.Token(ctx)
		if err != nil {
			b.Fatal(err)
		}
		client := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
		if err := handPost(ctx, client, r.sendMailURL, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(f.snap().tokenCalls), "token-fetches")
}
