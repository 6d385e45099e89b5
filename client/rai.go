package client

import (
	"context"
	"net/http"

	"github.com/ptu-dev/ptu/armwire"
)

// RAIPolicy is an account's content filter policy (accounts/raiPolicies).
type RAIPolicy = armwire.RAIPolicy

// ListRAIPolicies lists the content filter policies an account defines.
func (c *Client) ListRAIPolicies(ctx context.Context, resourceGroup, account string, opts ...Option) ([]RAIPolicy, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, account)
	if err != nil {
		return nil, err
	}
	var out list[RAIPolicy]
	err = c.armDo(ctx, &s, http.MethodGet, p+"/raiPolicies", nil, nil, &out, true)
	return out.Value, err
}
