package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ptu-dev/ptu"
)

// raiPolicyBody and raiBlocklistBody are what the body column holds.
type raiPolicyBody struct {
	BasePolicyName   string                 `json:"basePolicyName,omitempty"`
	Mode             string                 `json:"mode,omitempty"`
	ContentFilters   []ptu.RAIContentFilter `json:"contentFilters,omitempty"`
	CustomBlocklists []ptu.RAIBlocklistRef  `json:"customBlocklists,omitempty"`
}

type raiBlocklistBody struct {
	Description string                 `json:"description,omitempty"`
	Items       []ptu.RAIBlocklistItem `json:"items,omitempty"`
}

func (t *tx) raiAccountID(sub, rg, account string) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT id FROM accounts WHERE subscription_id = ? AND resource_group = ? AND name = ?`,
		sub, rg, account).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("account %s", ptu.AccountID(sub, rg, account))
	}
	return id, err
}

const raiSelect = `SELECT a.subscription_id, a.resource_group, a.name, r.name, r.body, r.created_at, r.updated_at
	FROM %s r JOIN accounts a ON a.id = r.account_id
	WHERE a.subscription_id = ? AND a.resource_group = ? AND a.name = ?`

type raiRow struct {
	sub, rg, account, name, body string
	created, updated             string
}

func (t *tx) raiRows(table, sub, rg, account, name string) ([]raiRow, error) {
	q := fmt.Sprintf(raiSelect, table)
	args := []any{sub, rg, account}
	if name != "" {
		q += ` AND r.name = ?`
		args = append(args, name)
	}
	return scanAll(t, func(r *sql.Rows) (raiRow, error) {
		var x raiRow
		err := r.Scan(&x.sub, &x.rg, &x.account, &x.name, &x.body, &x.created, &x.updated)
		return x, err
	}, q+` ORDER BY r.name`, args...)
}

func (t *tx) putRAI(table, sub, rg, account, name string, body any, created, updated string) error {
	id, err := t.raiAccountID(sub, rg, account)
	if err != nil {
		return err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = t.exec(fmt.Sprintf(`INSERT INTO %s (account_id, name, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`, table),
		id, name, string(b), created, updated)
	return err
}

func (t *tx) deleteRAI(table, what, sub, rg, account, name string) error {
	res, err := t.exec(fmt.Sprintf(`DELETE FROM %s WHERE name = ? AND account_id IN (
		SELECT id FROM accounts WHERE subscription_id = ? AND resource_group = ? AND name = ?)`, table),
		name, sub, rg, account)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound("%s %s/%s", what, ptu.AccountID(sub, rg, account), name)
	}
	return nil
}

func policyOf(x raiRow) (ptu.RAIPolicy, error) {
	p := ptu.RAIPolicy{SubscriptionID: x.sub, ResourceGroup: x.rg, AccountName: x.account, Name: x.name}
	var b raiPolicyBody
	if err := json.Unmarshal([]byte(x.body), &b); err != nil {
		return p, err
	}
	p.BasePolicyName, p.Mode, p.ContentFilters, p.CustomBlocklists = b.BasePolicyName, b.Mode, b.ContentFilters, b.CustomBlocklists
	var err error
	if p.CreatedAt, err = parseTime(x.created); err != nil {
		return p, err
	}
	p.UpdatedAt, err = parseTime(x.updated)
	return p, err
}

func blocklistOf(x raiRow) (ptu.RAIBlocklist, error) {
	l := ptu.RAIBlocklist{SubscriptionID: x.sub, ResourceGroup: x.rg, AccountName: x.account, Name: x.name}
	var b raiBlocklistBody
	if err := json.Unmarshal([]byte(x.body), &b); err != nil {
		return l, err
	}
	l.Description, l.Items = b.Description, b.Items
	var err error
	if l.CreatedAt, err = parseTime(x.created); err != nil {
		return l, err
	}
	l.UpdatedAt, err = parseTime(x.updated)
	return l, err
}

func (t raiPolicies) List(sub, rg, account string) ([]ptu.RAIPolicy, error) {
	rows, err := t.raiRows("rai_policies", sub, rg, account, "")
	if err != nil {
		return nil, err
	}
	out := make([]ptu.RAIPolicy, 0, len(rows))
	for _, x := range rows {
		p, err := policyOf(x)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (t raiPolicies) Get(sub, rg, account, name string) (ptu.RAIPolicy, error) {
	rows, err := t.raiRows("rai_policies", sub, rg, account, name)
	if err != nil {
		return ptu.RAIPolicy{}, err
	}
	if len(rows) == 0 {
		return ptu.RAIPolicy{}, notFound("raiPolicy %s/raiPolicies/%s", ptu.AccountID(sub, rg, account), name)
	}
	return policyOf(rows[0])
}

func (t raiPolicies) Put(p ptu.RAIPolicy) error {
	return t.putRAI("rai_policies", p.SubscriptionID, p.ResourceGroup, p.AccountName, p.Name,
		raiPolicyBody{BasePolicyName: p.BasePolicyName, Mode: p.Mode, ContentFilters: p.ContentFilters, CustomBlocklists: p.CustomBlocklists},
		FormatTime(p.CreatedAt), FormatTime(p.UpdatedAt))
}

func (t raiPolicies) Delete(sub, rg, account, name string) error {
	return t.deleteRAI("rai_policies", "raiPolicy", sub, rg, account, name)
}

func (t raiBlocklists) List(sub, rg, account string) ([]ptu.RAIBlocklist, error) {
	rows, err := t.raiRows("rai_blocklists", sub, rg, account, "")
	if err != nil {
		return nil, err
	}
	out := make([]ptu.RAIBlocklist, 0, len(rows))
	for _, x := range rows {
		l, err := blocklistOf(x)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (t raiBlocklists) Get(sub, rg, account, name string) (ptu.RAIBlocklist, error) {
	rows, err := t.raiRows("rai_blocklists", sub, rg, account, name)
	if err != nil {
		return ptu.RAIBlocklist{}, err
	}
	if len(rows) == 0 {
		return ptu.RAIBlocklist{}, notFound("raiBlocklist %s/raiBlocklists/%s", ptu.AccountID(sub, rg, account), name)
	}
	return blocklistOf(rows[0])
}

func (t raiBlocklists) Put(l ptu.RAIBlocklist) error {
	return t.putRAI("rai_blocklists", l.SubscriptionID, l.ResourceGroup, l.AccountName, l.Name,
		raiBlocklistBody{Description: l.Description, Items: l.Items}, FormatTime(l.CreatedAt), FormatTime(l.UpdatedAt))
}

func (t raiBlocklists) Delete(sub, rg, account, name string) error {
	return t.deleteRAI("rai_blocklists", "raiBlocklist", sub, rg, account, name)
}
