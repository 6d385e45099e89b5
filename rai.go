package ptu

import "time"

// Content filter policy types, in the shapes of ARM's raiPolicies and
// raiBlocklists (armcognitiveservices RaiPolicy, RaiBlocklist).

// Content sources a filter or blocklist applies to.
const (
	RAISourcePrompt     = "Prompt"
	RAISourceCompletion = "Completion"
)

// RAIPolicy is a content filter policy of an account; deployments name it
// in raiPolicyName.
type RAIPolicy struct {
	SubscriptionID   string
	ResourceGroup    string
	AccountName      string
	Name             string
	BasePolicyName   string
	Mode             string // Default | Deferred | Blocking | Asynchronous_filter
	ContentFilters   []RAIContentFilter
	CustomBlocklists []RAIBlocklistRef
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// RAIContentFilter configures one category of the classifier (hate, sexual,
// violence, selfharm, jailbreak, …) for one source.
type RAIContentFilter struct {
	Name              string
	Enabled           bool
	Blocking          bool
	SeverityThreshold string // Low | Medium | High
	Source            string // RAISourcePrompt | RAISourceCompletion
}

// RAIBlocklistRef applies a custom blocklist of the account to one source.
type RAIBlocklistRef struct {
	BlocklistName string
	Blocking      bool
	Source        string
}

// RAIBlocklist is a custom blocklist of an account: exact terms and regular expressions.
type RAIBlocklist struct {
	SubscriptionID string
	ResourceGroup  string
	AccountName    string
	Name           string
	Description    string
	Items          []RAIBlocklistItem
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RAIBlocklistItem is one pattern of a blocklist.
type RAIBlocklistItem struct {
	Name    string
	Pattern string
	IsRegex bool
}
