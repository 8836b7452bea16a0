package o365

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// maxResponse bounds how much of a Graph or EWS answer is read.
const maxResponse = 1 << 20

// response is what one HTTP exchange produced.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request with a bearer token and reads the answer. A failure
// before the request was fully written is ClassTransport (nothing was
// delivered); a failure after it is ClassAmbiguous (the service may have
// accepted the message: retry and flag a possible duplicate).
func (s *Sender) do(ctx context.Context, step, method, url, token string, body []byte, header http.Header) (*response, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, url, bytes.NewReader(body))
	if err != nil {
		return nil, deliveryErr(mailqueue.ClassConfig, step, 0, "check the service URL", 0, fmt.Errorf("o365: building the %s request: %w", step, err))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, s.transportErr(step, err, wrote.Load())
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode/100 != 2 {
		// The status is known; a torn error body does not change it.
		err = nil
	}
	if err != nil {
		return nil, s.transportErr(step, err, true)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (s *Sender) transportErr(step string, err error, wrote bool) error {
	// The URL in *url.Error carries no credential: tokens travel in the
	// Authorization header, never in the URL.
	if wrote {
		return deliveryErr(mailqueue.ClassAmbiguous, step, 0,
			"the request was sent but no answer came back; the message may have been delivered", 0,
			fmt.Errorf("o365: %s: no answer after the request was sent: %w", step, err))
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return deliveryErr(mailqueue.ClassTransport, step, 0, "", 0, fmt.Errorf("o365: %s: %w", step, err))
	}
	return deliveryErr(mailqueue.ClassTransport, step, 0, "", 0, fmt.Errorf("o365: %s: cannot reach the service: %w", step, err))
}
