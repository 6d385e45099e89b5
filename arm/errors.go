package arm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/control"
)

// writeError writes err as an ARM error with the status ptu.ErrorStatus gives
// it. Server errors are logged under the request id and reach the client only
// as that id, never with their text.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, rc *reqContext, err error) {
	status := ptu.ErrorStatus(err)
	if sw, ok := w.(*statusWriter); ok {
		sw.code = ptu.ErrorCode(err)
	}
	var body armwire.ErrorResponse
	if status >= http.StatusInternalServerError {
		h.log.Error("arm request failed",
			slog.String("requestId", rc.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Duration("elapsed", time.Since(rc.start)),
			slog.Any("err", err))
		body.Error = armwire.ErrorDetail{
			Code:    ptu.CodeInternal,
			Message: fmt.Sprintf("The server encountered an internal error. Tracking id '%s'.", rc.id),
		}
	} else {
		var e *ptu.Error
		errors.As(err, &e)
		var derr error
		if body.Error, derr = detailOf(e); derr != nil {
			h.log.Error("arm error response not encodable", slog.String("requestId", rc.id), slog.Any("err", derr))
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	}
	// An ErrorResponse holds only strings and plain structs; Info values
	// come from the service's own types.
	if err := writeJSON(w, status, body); err != nil {
		h.log.Error("arm error response not encodable", slog.String("requestId", rc.id), slog.Any("err", err))
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func detailOf(e *ptu.Error) (armwire.ErrorDetail, error) {
	d := armwire.ErrorDetail{Code: e.Code, Message: e.Message, Target: e.Target}
	for _, sub := range e.Details {
		if sub != nil {
			sd, err := detailOf(sub)
			if err != nil {
				return d, err
			}
			d.Details = append(d.Details, sd)
		}
	}
	if e.Info != nil {
		ai, err := infoOf(e.Info)
		if err != nil {
			return d, err
		}
		d.AdditionalInfo = []armwire.AdditionalInfo{ai}
	}
	return d, nil
}

// infoOf turns an error's structured detail into an ARM additionalInfo entry
// whose type names the detail.
func infoOf(v any) (armwire.AdditionalInfo, error) {
	typ := ""
	switch s := v.(type) {
	case *control.CapacityShortage:
		typ, v = armwire.CapacityShortageType, shortageWire(*s)
	case control.CapacityShortage:
		typ, v = armwire.CapacityShortageType, shortageWire(s)
	default:
		t := reflect.TypeOf(v)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		typ = t.Name()
	}
	info, err := encodeJSON(v)
	return armwire.AdditionalInfo{Type: typ, Info: info}, err
}

func shortageWire(s control.CapacityShortage) armwire.CapacityShortage {
	out := armwire.CapacityShortage{
		Requested:     s.Requested,
		DeployableNow: s.DeployableNow,
		QuotaFree:     s.QuotaFree,
		Alternatives:  []armwire.Alternative{},
	}
	for _, a := range s.Alternatives {
		accts := a.Accounts
		if accts == nil {
			accts = []string{}
		}
		out.Alternatives = append(out.Alternatives, armwire.Alternative{
			Location:    a.Location,
			DisplayName: a.DisplayName,
			MaxCapacity: a.MaxCapacity,
			Accounts:    accts,
		})
	}
	return out
}

// writeJSON writes v as the JSON body; a nil v writes no body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	if v == nil {
		w.WriteHeader(status)
		return nil
	}
	b, err := encodeJSON(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// encodeJSON is v as JSON without HTML escaping, as ARM writes it.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
