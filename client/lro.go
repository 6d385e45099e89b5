package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu/armwire"
)

// ARM long-running operations: a creation answers 201 (or 202) with an
// Azure-AsyncOperation URL, polled until its status is terminal, as the
// Azure SDKs do (https://github.com/Azure/azure-resource-manager-rpc,
// async-api-reference.proposed.md).

// defaultPollInterval is the wait between polls when the service names none.
const defaultPollInterval = time.Second

// maxPollInterval bounds a wait the service asks for.
const maxPollInterval = time.Minute

// awaitOperation polls the operation at op (named by first, the response
// that started it) until it succeeds, and fails with the operation's error
// when it fails or is canceled.
func (s *settings) awaitOperation(ctx context.Context, first *http.Response, op string) error {
	u, err := s.operationURL(op)
	if err != nil {
		return err
	}
	wait := pollDelay(first.Header)
	for {
		if err := s.clock.Sleep(ctx, wait); err != nil {
			return err
		}
		resp, err := s.armSend(ctx, http.MethodGet, u, nil, true)
		if err != nil {
			return err
		}
		var st armwire.OperationStatus
		derr := json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if derr != nil {
			return fmt.Errorf("client: decode operation status: %w", derr)
		}
		switch {
		case strings.EqualFold(st.Status, "Succeeded"):
			return nil
		case strings.EqualFold(st.Status, "Failed"), strings.EqualFold(st.Status, "Canceled"):
			e := &Error{StatusCode: http.StatusOK, Code: st.Status, Message: "the operation " + strings.ToLower(st.Status),
				Method: http.MethodGet, URL: u}
			if st.Error != nil {
				e.Code, e.Message = st.Error.Code, st.Error.Message
			}
			return e
		}
		wait = pollDelay(resp.Header)
	}
}

// operationURL is the URL to poll: the service's, on the endpoint this
// client calls (the token goes nowhere else).
func (s *settings) operationURL(op string) (string, error) {
	u, err := url.Parse(op)
	if err != nil {
		return "", fmt.Errorf("client: Azure-AsyncOperation %q: %w", op, err)
	}
	return strings.TrimRight(s.endpoint, "/") + "/" + strings.TrimLeft(u.EscapedPath(), "/") + "?" + u.RawQuery, nil
}

// pollDelay is the wait the service asks for before the next poll:
// retry-after-ms, else Retry-After in seconds, else a second.
func pollDelay(h http.Header) time.Duration {
	d := defaultPollInterval
	if ms, err := strconv.ParseInt(h.Get("retry-after-ms"), 10, 64); err == nil && ms >= 0 {
		d = time.Duration(ms) * time.Millisecond
	} else if secs, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err == nil && secs >= 0 {
		d = time.Duration(secs) * time.Second
	}
	return min(d, maxPollInterval)
}
