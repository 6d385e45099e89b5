package arm

import (
	"net/http"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/control"
)

// Content filter policies and custom blocklists of an account, in the shapes
// of armcognitiveservices v1.7.0 (RaiPolicy, RaiBlocklist, RaiBlocklistItem).

const (
	pRAIPolicy    = pAccount + "/raiPolicies/{policy}"
	pRAIBlocklist = pAccount + "/raiBlocklists/{blocklist}"
	pRAIItem      = pRAIBlocklist + "/raiBlocklistItems/{item}"

	typeRAIPolicy    = "Microsoft.CognitiveServices/accounts/raiPolicies"
	typeRAIBlocklist = "Microsoft.CognitiveServices/accounts/raiBlocklists"
	typeRAIItem      = "Microsoft.CognitiveServices/accounts/raiBlocklists/raiBlocklistItems"
)

func (h *handler) registerRAI() {
	h.handle(http.MethodGet, pAccount+"/raiPolicies", cognitiveVersions, h.listRAIPolicies)
	h.handle(http.MethodPut, pRAIPolicy, cognitiveVersions, h.putRAIPolicy)
	h.handle(http.MethodGet, pRAIPolicy, cognitiveVersions, h.getRAIPolicy)
	h.handle(http.MethodDelete, pRAIPolicy, cognitiveVersions, h.deleteRAIPolicy)

	h.handle(http.MethodGet, pAccount+"/raiBlocklists", cognitiveVersions, h.listRAIBlocklists)
	h.handle(http.MethodPut, pRAIBlocklist, cognitiveVersions, h.putRAIBlocklist)
	h.handle(http.MethodGet, pRAIBlocklist, cognitiveVersions, h.getRAIBlocklist)
	h.handle(http.MethodDelete, pRAIBlocklist, cognitiveVersions, h.deleteRAIBlocklist)
	h.handle(http.MethodPost, pRAIBlocklist+"/addRaiBlocklistItems", cognitiveVersions, h.addRAIBlocklistItems)
	h.handle(http.MethodPost, pRAIBlocklist+"/deleteRaiBlocklistItems", cognitiveVersions, h.deleteRAIBlocklistItems)

	h.handle(http.MethodGet, pRAIBlocklist+"/raiBlocklistItems", cognitiveVersions, h.listRAIBlocklistItems)
	h.handle(http.MethodPut, pRAIItem, cognitiveVersions, h.putRAIBlocklistItem)
	h.handle(http.MethodGet, pRAIItem, cognitiveVersions, h.getRAIBlocklistItem)
	h.handle(http.MethodDelete, pRAIItem, cognitiveVersions, h.deleteRAIBlocklistItem)
}

func boolp(b bool) *bool { return &b }

func raiPolicyWire(p ptu.RAIPolicy) armwire.RAIPolicy {
	out := armwire.RAIPolicy{ID: ptu.AccountID(p.SubscriptionID, p.ResourceGroup, p.AccountName) + "/raiPolicies/" + p.Name,
		Name: p.Name, Type: typeRAIPolicy,
		Properties: armwire.RAIPolicyProperties{BasePolicyName: p.BasePolicyName, Mode: p.Mode, Type: "UserManaged",
			ContentFilters: []armwire.RAIContentFilter{}, CustomBlocklists: []armwire.RAIBlocklistRef{}},
		SystemData: systemData(p.CreatedAt, p.UpdatedAt)}
	for _, f := range p.ContentFilters {
		out.Properties.ContentFilters = append(out.Properties.ContentFilters, armwire.RAIContentFilter{Name: f.Name,
			Enabled: boolp(f.Enabled), Blocking: boolp(f.Blocking), SeverityThreshold: f.SeverityThreshold, Source: f.Source})
	}
	for _, b := range p.CustomBlocklists {
		out.Properties.CustomBlocklists = append(out.Properties.CustomBlocklists, armwire.RAIBlocklistRef{BlocklistName: b.BlocklistName,
			Blocking: boolp(b.Blocking), Source: b.Source})
	}
	out.Etag = contentETag(out)
	return out
}

func raiPolicyInput(b armwire.RAIPolicyBody) control.RAIPolicyInput {
	in := control.RAIPolicyInput{BasePolicyName: b.Properties.BasePolicyName, Mode: b.Properties.Mode}
	for _, f := range b.Properties.ContentFilters {
		in.ContentFilters = append(in.ContentFilters, ptu.RAIContentFilter{Name: f.Name, Enabled: f.Enabled == nil || *f.Enabled,
			Blocking: f.Blocking == nil || *f.Blocking, SeverityThreshold: f.SeverityThreshold, Source: f.Source})
	}
	for _, r := range b.Properties.CustomBlocklists {
		in.CustomBlocklists = append(in.CustomBlocklists, ptu.RAIBlocklistRef{BlocklistName: r.BlocklistName,
			Blocking: r.Blocking == nil || *r.Blocking, Source: r.Source})
	}
	return in
}

func (h *handler) listRAIPolicies(r *http.Request, p params) (int, any, error) {
	ps, err := h.rai.ListRAIPolicies(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.RAIPolicy, 0, len(ps))
	for _, x := range ps {
		out = append(out, raiPolicyWire(x))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) putRAIPolicy(r *http.Request, p params) (int, any, error) {
	var b armwire.RAIPolicyBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	x, created, err := h.rai.PutRAIPolicy(r.Context(), p["sub"], p["rg"], p["account"], p["policy"], raiPolicyInput(b))
	if err != nil {
		return 0, nil, err
	}
	return createdOrOK(created), raiPolicyWire(x), nil
}

func (h *handler) getRAIPolicy(r *http.Request, p params) (int, any, error) {
	x, err := h.rai.GetRAIPolicy(r.Context(), p["sub"], p["rg"], p["account"], p["policy"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, raiPolicyWire(x), nil
}

// Deletes answer 204 whether or not the resource existed: the SDK's delete
// pollers accept 202 or 204, and 204 needs no polling.
func (h *handler) deleteRAIPolicy(r *http.Request, p params) (int, any, error) {
	if _, err := h.rai.DeleteRAIPolicy(r.Context(), p["sub"], p["rg"], p["account"], p["policy"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func blocklistID(l ptu.RAIBlocklist) string {
	return ptu.AccountID(l.SubscriptionID, l.ResourceGroup, l.AccountName) + "/raiBlocklists/" + l.Name
}

func raiBlocklistWire(l ptu.RAIBlocklist) armwire.RAIBlocklist {
	out := armwire.RAIBlocklist{ID: blocklistID(l), Name: l.Name, Type: typeRAIBlocklist, SystemData: systemData(l.CreatedAt, l.UpdatedAt)}
	out.Properties.Description = l.Description
	out.Etag = contentETag(out)
	return out
}

func raiItemWire(l ptu.RAIBlocklist, it ptu.RAIBlocklistItem) armwire.RAIBlocklistItem {
	out := armwire.RAIBlocklistItem{ID: blocklistID(l) + "/raiBlocklistItems/" + it.Name, Name: it.Name, Type: typeRAIItem,
		Properties: armwire.RAIBlocklistItemProperties{Pattern: it.Pattern, IsRegex: it.IsRegex}}
	out.Etag = contentETag(out)
	return out
}

func (h *handler) listRAIBlocklists(r *http.Request, p params) (int, any, error) {
	ls, err := h.rai.ListRAIBlocklists(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.RAIBlocklist, 0, len(ls))
	for _, l := range ls {
		out = append(out, raiBlocklistWire(l))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) putRAIBlocklist(r *http.Request, p params) (int, any, error) {
	var b armwire.RAIBlocklistBody
	if err := decodeBody(r, &b, true); err != nil {
		return 0, nil, err
	}
	l, created, err := h.rai.PutRAIBlocklist(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"], b.Properties.Description)
	if err != nil {
		return 0, nil, err
	}
	return createdOrOK(created), raiBlocklistWire(l), nil
}

func (h *handler) getRAIBlocklist(r *http.Request, p params) (int, any, error) {
	l, err := h.rai.GetRAIBlocklist(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, raiBlocklistWire(l), nil
}

func (h *handler) deleteRAIBlocklist(r *http.Request, p params) (int, any, error) {
	if _, err := h.rai.DeleteRAIBlocklist(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"]); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// addRaiBlocklistItems takes [{name, properties:{pattern, isRegex}}] and answers the blocklist.
func (h *handler) addRAIBlocklistItems(r *http.Request, p params) (int, any, error) {
	var b []armwire.RAIBlocklistItemBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	items := make([]ptu.RAIBlocklistItem, len(b))
	for i, x := range b {
		items[i] = ptu.RAIBlocklistItem{Name: x.Name, Pattern: x.Properties.Pattern, IsRegex: x.Properties.IsRegex}
	}
	l, _, err := h.rai.PutRAIBlocklistItems(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"], items)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, raiBlocklistWire(l), nil
}

// deleteRaiBlocklistItems takes a list of item names.
func (h *handler) deleteRAIBlocklistItems(r *http.Request, p params) (int, any, error) {
	var names []string
	if err := decodeBody(r, &names, false); err != nil {
		return 0, nil, err
	}
	if _, err := h.rai.DeleteRAIBlocklistItems(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"], names); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h *handler) listRAIBlocklistItems(r *http.Request, p params) (int, any, error) {
	l, err := h.rai.GetRAIBlocklist(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.RAIBlocklistItem, 0, len(l.Items))
	for _, it := range l.Items {
		out = append(out, raiItemWire(l, it))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) putRAIBlocklistItem(r *http.Request, p params) (int, any, error) {
	var b armwire.RAIBlocklistItemBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	it := ptu.RAIBlocklistItem{Name: p["item"], Pattern: b.Properties.Pattern, IsRegex: b.Properties.IsRegex}
	l, created, err := h.rai.PutRAIBlocklistItems(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"], []ptu.RAIBlocklistItem{it})
	if err != nil {
		return 0, nil, err
	}
	for _, x := range l.Items {
		if x.Name == it.Name || !created[0] && equalFold(x.Name, it.Name) {
			return createdOrOK(created[0]), raiItemWire(l, x), nil
		}
	}
	return createdOrOK(created[0]), raiItemWire(l, it), nil
}

func (h *handler) getRAIBlocklistItem(r *http.Request, p params) (int, any, error) {
	l, err := h.rai.GetRAIBlocklist(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"])
	if err != nil {
		return 0, nil, err
	}
	for _, it := range l.Items {
		if equalFold(it.Name, p["item"]) {
			return http.StatusOK, raiItemWire(l, it), nil
		}
	}
	return 0, nil, ptu.Errorf(ptu.CodeResourceNotFound, "The RaiBlocklistItem '%s' was not found in blocklist '%s'.", p["item"], l.Name)
}

func (h *handler) deleteRAIBlocklistItem(r *http.Request, p params) (int, any, error) {
	if _, err := h.rai.DeleteRAIBlocklistItems(r.Context(), p["sub"], p["rg"], p["account"], p["blocklist"], []string{p["item"]}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
