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
	"github.com/ptu-dev/ptu/control"
)

// errorResponse is ARM's error envelope (ErrorResponse / ErrorDetail).
type errorResponse struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code           string           `json:"code"`
	Message        string           `json:"message"`
	Target         string           `json:"target,omitempty"`
	Details        []errorDetail    `json:"details,omitempty"`
	AdditionalInfo []additionalInfo `json:"additionalInfo,omitempty"`
}

type additionalInfo struct {
	Type string `json:"type"`
	Info any    `json:"info"`
}

// writeError writes err as an ARM error with the status ptu.ErrorStatus gives
// it. Server errors are logged under the request id and reach the client only
// as that id, never with their text.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, rc *reqContext, err error) {
	status := ptu.ErrorStatus(err)
	if sw, ok := w.(*statusWriter); ok {
		sw.code = ptu.ErrorCode(err)
	}
	var body errorResponse
	if status >= http.StatusInternalServerError {
		h.log.Error("arm request failed",
			slog.String("requestId", rc.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Duration("elapsed", time.Since(rc.start)),
			slog.Any("err", err))
		body.Error = errorDetail{
			Code:    ptu.CodeInternal,
			Message: fmt.Sprintf("The server encountered an internal error. Tracking id '%s'.", rc.id),
		}
	} else {
		var e *ptu.Error
		errors.As(err, &e)
		body.Error = detailOf(e)
	}
	// An errorResponse holds only strings and plain structs; Info values
	// come from the service's own types.
	if err := writeJSON(w, status, body); err != nil {
		h.log.Error("arm error response not encodable", slog.String("requestId", rc.id), slog.Any("err", err))
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func detailOf(e *ptu.Error) errorDetail {
	d := errorDetail{Code: e.Code, Message: e.Message, Target: e.Target}
	for _, sub := range e.Details {
		if sub != nil {
			d.Details = append(d.Details, detailOf(sub))
		}
	}
	if e.Info != nil {
		d.AdditionalInfo = []additionalInfo{infoOf(e.Info)}
	}
	return d
}

// infoOf turns an error's structured detail into an ARM additionalInfo entry
// whose type names the detail.
func infoOf(v any) additionalInfo {
	switch s := v.(type) {
	case *control.CapacityShortage:
		return additionalInfo{Type: "CapacityShortage", Info: shortageWire(*s)}
	case control.CapacityShortage:
		return additionalInfo{Type: "CapacityShortage", Info: shortageWire(s)}
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return additionalInfo{Type: t.Name(), Info: v}
}

type capacityShortageJSON struct {
	Requested     int               `json:"requested"`
	DeployableNow int               `json:"deployableNow"`
	QuotaFree     int               `json:"quotaFree"`
	Alternatives  []alternativeJSON `json:"alternatives"`
}

type alternativeJSON struct {
	Location    string   `json:"location"`
	DisplayName string   `json:"displayName"`
	MaxCapacity int      `json:"maxCapacity"`
	Accounts    []string `json:"accounts"`
}

func shortageWire(s control.CapacityShortage) capacityShortageJSON {
	out := capacityShortageJSON{
		Requested:     s.Requested,
		DeployableNow: s.DeployableNow,
		QuotaFree:     s.QuotaFree,
		Alternatives:  []alternativeJSON{},
	}
	for _, a := range s.Alternatives {
		accts := a.Accounts
		if accts == nil {
			accts = []string{}
		}
		out.Alternatives = append(out.Alternatives, alternativeJSON{
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}
