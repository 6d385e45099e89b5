package armwire

// Content filter policies (accounts/raiPolicies, RaiPolicy in
// armcognitiveservices v1.7.0).

// RAIPolicy is an account's content filter policy.
type RAIPolicy struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	Etag       string              `json:"etag"`
	Properties RAIPolicyProperties `json:"properties"`
	SystemData *SystemData         `json:"systemData,omitempty"`
}

// RAIPolicyProperties are a policy's base policy, mode, filters and blocklists.
type RAIPolicyProperties struct {
	BasePolicyName   string             `json:"basePolicyName,omitempty"`
	Mode             string             `json:"mode,omitempty"`
	Type             string             `json:"type,omitempty"`
	ContentFilters   []RAIContentFilter `json:"contentFilters"`
	CustomBlocklists []RAIBlocklistRef  `json:"customBlocklists"`
}

// RAIContentFilter is one category's filter on prompts or completions (Source).
type RAIContentFilter struct {
	Name              string `json:"name,omitempty"`
	Enabled           *bool  `json:"enabled,omitempty"`
	Blocking          *bool  `json:"blocking,omitempty"`
	SeverityThreshold string `json:"severityThreshold,omitempty"`
	Source            string `json:"source,omitempty"`
}

// RAIBlocklistRef is a custom blocklist a policy applies.
type RAIBlocklistRef struct {
	BlocklistName string `json:"blocklistName"`
	Blocking      *bool  `json:"blocking,omitempty"`
	Source        string `json:"source,omitempty"`
}

// RAIPolicyBody is the body of PUT of a policy.
type RAIPolicyBody struct {
	Properties RAIPolicyProperties `json:"properties"`
}
