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

// RAIBlocklist is a custom blocklist of an account (RaiBlocklist).
type RAIBlocklist struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Etag       string                 `json:"etag"`
	Properties RAIBlocklistProperties `json:"properties"`
	SystemData *SystemData            `json:"systemData,omitempty"`
}

// RAIBlocklistProperties are a blocklist's description; PUT of a blocklist
// sends them too.
type RAIBlocklistProperties struct {
	Description string `json:"description,omitempty"`
}

// RAIBlocklistBody is the body of PUT of a blocklist.
type RAIBlocklistBody struct {
	Properties RAIBlocklistProperties `json:"properties"`
}

// RAIBlocklistItem is one pattern of a blocklist (RaiBlocklistItem).
type RAIBlocklistItem struct {
	ID         string                     `json:"id"`
	Name       string                     `json:"name"`
	Type       string                     `json:"type"`
	Etag       string                     `json:"etag"`
	Properties RAIBlocklistItemProperties `json:"properties"`
}

// RAIBlocklistItemProperties are an item's pattern.
type RAIBlocklistItemProperties struct {
	Pattern string `json:"pattern"`
	IsRegex bool   `json:"isRegex"`
}

// RAIBlocklistItemBody is one item of addRaiBlocklistItems and the body of
// PUT of an item.
type RAIBlocklistItemBody struct {
	Name       string                     `json:"name"`
	Properties RAIBlocklistItemProperties `json:"properties"`
}
