package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
)

// maxEventSize bounds one server-sent event.
const maxEventSize = 16 << 20

// ErrStreamTruncated is reported when a stream ends before data: [DONE].
var ErrStreamTruncated = errors.New("client: the stream ended before data: [DONE]")

// Stream reads a server-sent event stream of T (chat chunks or completion
// chunks) until data: [DONE]. It is not safe for concurrent use.
type Stream[T any] struct {
	// Response describes how the call was served (target, attempts, headers).
	Response Response

	body   io.ReadCloser
	events *eventReader
	cur    T
	err    error
	done   bool
}

func newStream[T any](resp *http.Response, meta *Response) *Stream[T] {
	return &Stream[T]{Response: *meta, body: resp.Body, events: newEventReader(resp.Body)}
}

// Next advances to the next chunk and reports whether there is one. At the
// end of the stream, or on an error, it returns false; see Err.
func (s *Stream[T]) Next() bool {
	if s.done || s.err != nil {
		return false
	}
	data, err := s.events.next()
	if err != nil {
		if err == io.EOF {
			err = ErrStreamTruncated
		}
		s.err = err
		s.body.Close()
		return false
	}
	if bytes.Equal(data, []byte("[DONE]")) {
		s.done = true
		s.body.Close()
		return false
	}
	if e := streamError(data); e != nil {
		e.RequestID = s.Response.RequestID
		s.err = e
		s.body.Close()
		return false
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		s.err = fmt.Errorf("client: decode stream event (request id %s): %w", s.Response.RequestID, err)
		s.body.Close()
		return false
	}
	s.cur = v
	return true
}

// Current is the chunk Next advanced to.
func (s *Stream[T]) Current() T { return s.cur }

// Err is the error that ended the stream, nil after data: [DONE].
func (s *Stream[T]) Err() error { return s.err }

// Close releases the connection; reading stops.
func (s *Stream[T]) Close() error {
	if !s.done && s.err == nil {
		s.err = errors.New("client: stream closed")
	}
	return s.body.Close()
}

// All ranges over the chunks; an error ends the sequence as its last pair.
//
//	for chunk, err := range stream.All() { ... }
func (s *Stream[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		defer s.body.Close()
		for s.Next() {
			if !yield(s.cur, nil) {
				return
			}
		}
		if s.err != nil {
			var zero T
			yield(zero, s.err)
		}
	}
}

// streamError reads an error event ({"error":{...}}) sent inside a stream.
func streamError(data []byte) *Error {
	if !bytes.Contains(data, []byte(`"error"`)) {
		return nil
	}
	var b struct {
		Error *struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Type    string          `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &b) != nil || b.Error == nil {
		return nil
	}
	e := &Error{Code: rawCode(b.Error.Code), Message: b.Error.Message, Type: b.Error.Type}
	if e.Code == "" {
		e.Code = e.Type
	}
	if e.Code == "" {
		e.Code = "StreamError"
	}
	return e
}

// eventReader splits a text/event-stream into the data of its events.
type eventReader struct {
	sc *bufio.Scanner
}

func newEventReader(r io.Reader) *eventReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventSize)
	return &eventReader{sc: sc}
}

// next returns the data of the next event that has any (multi-line data
// joined by "\n"), or io.EOF at the end of the input.
func (r *eventReader) next() ([]byte, error) {
	var data []byte
	have := false
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			if have {
				return data, nil
			}
			continue
		}
		if line[0] == ':' { // comment
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		if string(field) != "data" {
			continue // event:, id:, retry: carry nothing the client needs
		}
		if have {
			data = append(data, '\n')
		}
		data = append(data, value...)
		have = true
		if len(data) > maxEventSize {
			return nil, errors.New("client: stream event too large")
		}
	}
	if err := r.sc.Err(); err != nil {
		return nil, err
	}
	if have { // the last event may lack its blank line
		return data, nil
	}
	return nil, io.EOF
}
