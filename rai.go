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

// RAIPolicies are the content filter policies of a transaction (Tx).
type RAIPolicies interface {
	// List lists an account's policies by name.
	List(subscriptionID, resourceGroup, account string) ([]RAIPolicy, error)
	Get(subscriptionID, resourceGroup, account, name string) (RAIPolicy, error)
	// Put creates or replaces a policy; the account must exist.
	Put(RAIPolicy) error
	Delete(subscriptionID, resourceGroup, account, name string) error
}

// RAIBlocklists are the content filter blocklists of a transaction (Tx).
type RAIBlocklists interface {
	// List lists an account's blocklists by name, with their items.
	List(subscriptionID, resourceGroup, account string) ([]RAIBlocklist, error)
	Get(subscriptionID, resourceGroup, account, name string) (RAIBlocklist, error)
	// Put creates or replaces a blocklist with its items; the account must exist.
	Put(RAIBlocklist) error
	Delete(subscriptionID, resourceGroup, account, name string) error
}
