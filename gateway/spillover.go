package gateway

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/ptu-dev/ptu"
)

// Spillover headers, as Microsoft documents them in
// https://learn.microsoft.com/azure/ai-foundry/openai/how-to/spillover-traffic-management.
const (
	// HeaderSpilloverDeployment names, per request, the Standard deployment
	// to spill over to; the deployment's spilloverDeploymentName wins over it.
	HeaderSpilloverDeployment = "x-ms-spillover-deployment"
	// HeaderSpilloverFrom marks a spilled call with the provisioned deployment's name.
	HeaderSpilloverFrom = "x-ms-spillover-from-deployment"
	// HeaderSpilloverError carries the spillover attempt's status when it failed too.
	HeaderSpilloverError = "x-ms-spillover-error"
	// HeaderIsSpilledOver is "true" on an answer of the spillover deployment
	// and "false" on every other answer of a deployment. Azure sends it on
	// its inference responses, false on ordinary calls; cost tools key on it
	// (LiteLLM's PTU cost attribution, in BerriAI/litellm, prices a response
	// with "x-ms-is-spilled-over: true" at the Standard deployment's token
	// rates and the others at zero). When spillover happens is Microsoft's
	// https://learn.microsoft.com/azure/ai-foundry/openai/how-to/spillover-traffic-management.
	HeaderIsSpilledOver = "x-ms-is-spilled-over"
)

// spilloverTarget returns the Standard deployment a call to dep spills over
// to, or nil. Only provisioned deployments spill; the deployment property
// wins over the request header; a header naming a deployment that does not
// exist in the account or is not of a Standard type is ignored, as the
// control plane would have refused it as a property.
func (a *account) spilloverTarget(dep *deployment, header string) *deployment {
	if !ptu.IsProvisioned(dep.d.SKUName) {
		return nil
	}
	name := dep.d.SpilloverDeploymentName
	if name == "" {
		name = strings.TrimSpace(header)
	}
	if name == "" {
		return nil
	}
	t, ok := a.deployments[strings.ToLower(name)]
	if !ok || ptu.IsProvisioned(t.d.SKUName) || t == dep {
		return nil
	}
	return t
}

// holdWriter passes a successful response straight through (streams keep
// their immediate flushes) and holds back an unsuccessful one, so the caller
// can try a spillover target before deciding which answer the client gets.
type holdWriter struct {
	w      http.ResponseWriter
	header http.Header
	held   bool // the response was not successful and is held back
	wrote  bool
	status int
	body   bytes.Buffer
}

var _ http.Flusher = (*holdWriter)(nil)

func newHoldWriter(w http.ResponseWriter) *holdWriter {
	return &holdWriter{w: w, header: http.Header{}}
}

func (h *holdWriter) Header() http.Header { return h.header }

func (h *holdWriter) WriteHeader(status int) {
	if h.wrote {
		return
	}
	h.wrote, h.status = true, status
	if status >= 200 && status < 300 {
		h.copyHeader()
		h.w.WriteHeader(status)
		return
	}
	h.held = true
}

func (h *holdWriter) Write(b []byte) (int, error) {
	if !h.wrote {
		h.WriteHeader(http.StatusOK)
	}
	if h.held {
		return h.body.Write(b)
	}
	return h.w.Write(b)
}

func (h *holdWriter) Flush() {
	if h.wrote && !h.held {
		if f, ok := h.w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func (h *holdWriter) copyHeader() {
	dst := h.w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
}

// release writes a held response to the client.
func (h *holdWriter) release() {
	if !h.held {
		return
	}
	h.copyHeader()
	h.w.WriteHeader(h.status)
	_, _ = h.w.Write(h.body.Bytes())
}
