package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/authz"
	"github.com/ptu-dev/ptu/oai"
)

// Handler returns the data-plane routes, mounted under /accounts/{subdomain}/.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /accounts/{sd}/openai/deployments/{dep}/chat/completions", g.track(g.classic(opChat)))
	mux.Handle("POST /accounts/{sd}/openai/deployments/{dep}/completions", g.track(g.classic(opCompletions)))
	mux.Handle("POST /accounts/{sd}/openai/v1/chat/completions", g.track(g.v1(opChat)))
	mux.Handle("POST /accounts/{sd}/openai/v1/completions", g.track(g.v1(opCompletions)))
	mux.HandleFunc("GET /accounts/{sd}/openai/v1/models", g.models)
	mux.HandleFunc("/accounts/{sd}/", func(w http.ResponseWriter, r *http.Request) {
		setRequestID(w)
		writeAzureError(w, http.StatusNotFound, "404", "Resource not found")
	})
	return mux
}

type operation int

const (
	opChat operation = iota
	opCompletions
)

// dataAction is the data action a principal needs for the operation.
func (op operation) dataAction() string {
	if op == opChat {
		return authz.DataChatCompletions
	}
	return authz.DataCompletions
}

// path is the operation's path under a deployment (or /openai/v1).
func (op operation) path() string {
	if op == opChat {
		return "chat/completions"
	}
	return "completions"
}

func (op operation) String() string {
	if op == opChat {
		return "ChatCompletions_Create"
	}
	return "Completions_Create"
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func setRequestID(w http.ResponseWriter) string {
	id := newRequestID()
	h := w.Header()
	setHeader(h, hdrRequestID, id)
	setHeader(h, hdrXRequestID, id)
	return id
}

// classic serves /openai/deployments/{dep}/...?api-version=...
func (g *Gateway) classic(op operation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := setRequestID(w)
		v := r.URL.Query().Get("api-version")
		switch {
		case v == "":
			// Azure answers a call without an api-version as an unknown route.
			writeAzureError(w, http.StatusNotFound, "404", "Resource not found")
			return
		case !op.supportsAPIVersion(v):
			writeAzureError(w, http.StatusBadRequest, "BadRequest", msgAPIVersion)
			return
		}
		a, ok := g.authenticate(w, r, op.dataAction(), "POST /openai/deployments/{deployment-id}/"+op.path())
		if !ok {
			return
		}
		g.call(w, r, a, r.PathValue("dep"), op, v, id, nil)
	}
}

// v1 serves /openai/v1/..., where the deployment is the body's "model".
func (g *Gateway) v1(op operation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := setRequestID(w)
		a, ok := g.authenticate(w, r, op.dataAction(), "POST /openai/v1/"+op.path())
		if !ok {
			return
		}
		hold, ok := g.holdBody(w, r)
		if !ok {
			return
		}
		defer hold.release()
		r = r.WithContext(context.WithValue(r.Context(), holdKey{}, hold))
		body, status := g.readBody(w, r, hold)
		if status != 0 {
			return
		}
		if e := checkKeys(op, body); e != nil {
			writeOpenAIError(w, e) // "model" read here must be the one the upstream reads
			return
		}
		var m struct {
			Model string `json:"model"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			writeOpenAIError(w, decodeError(err)) // a body that is not JSON is not a bad model
			return
		}
		if m.Model == "" {
			writeOpenAIError(w, invalid("model", "invalid_value", "The 'model' field must name one of this resource's deployments."))
			return
		}
		g.call(w, r, a, m.Model, op, "v1", id, body)
	}
}

func (g *Gateway) models(w http.ResponseWriter, r *http.Request) {
	setRequestID(w)
	a, ok := g.authenticate(w, r, authz.DataModelsRead, "GET /openai/v1/models")
	if !ok {
		return
	}
	list := oai.ModelList{Object: "list", Data: []oai.Model{}}
	for _, d := range a.list {
		list.Data = append(list.Data, oai.Model{ID: d.d.Name, Object: "model", Created: d.d.CreatedAt.Unix(), OwnedBy: "organization-owner"})
	}
	writeJSON(w, http.StatusOK, list)
}

// authenticate resolves the account of the call and checks its credential:
// one of the account's keys, or the token of a principal holding the data
// action on the account. operation names the call in a refusal
// ("POST /openai/deployments/{deployment-id}/chat/completions").
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, action, operation string) (*account, bool) {
	a, err := g.resolve(r.Context(), r.PathValue("sd"))
	if err != nil {
		if ptu.ErrorCode(err) == ptu.CodeResourceNotFound {
			writeAzureError(w, http.StatusNotFound, "404", "Resource not found")
		} else {
			g.internal(w, err)
		}
		return nil, false
	}
	cred := credentialOf(r)
	if cred.token == "" {
		if !keyMatches(cred.key, a.acct) {
			reason := "wrong_key"
			switch {
			case cred.key == "":
				reason = "no_credential"
			case a.acct.DisableLocalAuth:
				reason = "local_auth_disabled"
			}
			g.authFailed(r, reason)
			writeAzureError(w, http.StatusUnauthorized, "401", msgUnauthorized)
			return nil, false
		}
		return a, true
	}
	caller, err := g.opt.Control.Authenticate(r.Context(), cred.token)
	switch ptu.ErrorCode(err) {
	case "":
	case ptu.CodeInvalidAuthenticationToken, ptu.CodeExpiredAuthenticationToken:
		reason := "invalid_token"
		if ptu.ErrorCode(err) == ptu.CodeExpiredAuthenticationToken {
			reason = "expired_token"
		}
		g.authFailed(r, reason)
		writeAzureError(w, http.StatusUnauthorized, "401", msgBadToken)
		return nil, false
	default:
		if err != nil {
			g.internal(w, err)
			return nil, false
		}
	}
	if !caller.CanData(action, a.acct.ID()) {
		g.authFailed(r, "permission_denied")
		writeAzureError(w, http.StatusUnauthorized, "PermissionDenied",
			"The principal `"+caller.ID+"` lacks the required data action `"+action+"` to perform `"+operation+"` operation.")
		return nil, false
	}
	return a, true
}

// authFailed reports a call refused with 401.
func (g *Gateway) authFailed(r *http.Request, reason string) {
	if g.opt.OnAuthFailure != nil {
		g.opt.OnAuthFailure("data", reason, r.RemoteAddr)
	}
}

func (g *Gateway) internal(w http.ResponseWriter, err error) {
	id := w.Header().Get("apim-request-id")
	g.opt.Logger.Error("data plane error", "request_id", id, "err", err)
	writeAzureError(w, http.StatusInternalServerError, "InternalServerError",
		"The server had an error while processing your request (request id "+id+").")
}

// readBody reads the request body, or answers the error and returns its
// status (0 when the body was read). The body holds its share of the decode
// budget until releaseBody (attempt, once it is parsed) or hold's release.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request, hold *bodyHold) ([]byte, int) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, g.opt.MaxBody), r.ContentLength, g.opt.MaxBody)
	var e *openAIError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		e = &openAIError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
			Message: fmt.Sprintf("The request body is larger than the limit of %d bytes.", g.opt.MaxBody), Code: strp("request_too_large")}
	case err != nil:
		e = invalid("", "", "The request body could not be read: "+err.Error())
	default:
		return body, 0
	}
	hold.release()
	writeOpenAIError(w, e)
	return nil, e.status()
}

// readAll reads r whole into one buffer of its announced length, so a large
// body costs its size once rather than the doubling growth of io.ReadAll.
func readAll(r io.Reader, length, limit int64) ([]byte, error) {
	if length <= 0 || length > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, length+1) // +1: the read that sees EOF
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) { // longer than announced
			rest, err := io.ReadAll(r)
			return append(buf, rest...), err
		}
	}
}

// refused records a call to dep answered with status before it reached
// admission (a body too large, a request that does not validate), so that
// the deployment's Requests metric and access log count it as Azure does.
func (g *Gateway) refused(a *account, dep *deployment, op operation, id string, start time.Time, status int, isSpill bool) {
	if g.opt.Recorder == nil {
		return
	}
	g.opt.Recorder.Record(ptu.CallRecord{Time: start, RequestID: id, Account: a.acct, Deployment: dep.d, Operation: op.String(),
		Status: status, Duration: g.opt.Now().Sub(start), IsSpillover: isSpill})
}

// call runs one inference call end to end, spilling it over to a Standard
// deployment when the provisioned one cannot serve it and a target is set.
func (g *Gateway) call(w http.ResponseWriter, r *http.Request, a *account, depName string, op operation, apiVersion, id string, body []byte) {
	dep, ok := a.deployments[strings.ToLower(depName)]
	if !ok {
		writeAzureError(w, http.StatusNotFound, "DeploymentNotFound", msgNoDeployment)
		return
	}
	if body == nil {
		start := g.opt.Now()
		hold, ok := g.holdBody(w, r)
		if !ok {
			g.refused(a, dep, op, id, start, http.StatusServiceUnavailable, false)
			return
		}
		defer hold.release()
		r = r.WithContext(context.WithValue(r.Context(), holdKey{}, hold))
		var status int
		if body, status = g.readBody(w, r, hold); status != 0 {
			g.refused(a, dep, op, id, start, status, false)
			return
		}
	}
	spill := a.spilloverTarget(dep, r.Header.Get(HeaderSpilloverDeployment))
	if spill == nil {
		g.attempt(w, r, a, dep, op, apiVersion, id, body, false)
		return
	}
	first := newHoldWriter(w)
	if !g.attempt(first, r, a, dep, op, apiVersion, id, body, false).spills() {
		first.release() // served, or failed in a way spillover does not cover
		return
	}
	second := newHoldWriter(w)
	second.Header().Set(HeaderSpilloverFrom, dep.d.Name)
	g.attempt(second, r, a, spill, op, apiVersion, id, body, true)
	if second.held {
		// The spillover target failed too: the caller gets the provisioned
		// deployment's answer and the spillover's status.
		first.Header().Set(HeaderSpilloverError, strconv.Itoa(second.status))
		first.release()
	}
}
