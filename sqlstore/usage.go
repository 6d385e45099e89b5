package sqlstore

import (
	"database/sql"

	"github.com/ptu-dev/ptu"
)

// Token usage

func (t *tx) addTokenUsage(rows []ptu.TokenUsage) error {
	for _, u := range rows {
		if _, err := t.exec(`INSERT INTO token_usage (subscription_id, resource_group, account, deployment, region,
			model_format, model_name, model_version, sku_name, hour, calls, prompt_tokens, cached_tokens, completion_tokens)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (subscription_id, hour, resource_group, account, deployment, sku_name, model_name, model_version, region)
			DO UPDATE SET calls = token_usage.calls + excluded.calls, prompt_tokens = token_usage.prompt_tokens + excluded.prompt_tokens,
				cached_tokens = token_usage.cached_tokens + excluded.cached_tokens,
				completion_tokens = token_usage.completion_tokens + excluded.completion_tokens`,
			u.SubscriptionID, u.ResourceGroup, u.AccountName, u.Deployment, u.Region,
			u.Model.Format, u.Model.Name, u.Model.Version, u.SKUName, FormatTime(u.Hour),
			u.Calls, u.PromptTokens, u.CachedTokens, u.CompletionTokens); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) listTokenUsage(f ptu.TokenUsageFilter) ([]ptu.TokenUsage, error) {
	var w where
	w.add(true, "subscription_id = ?", f.SubscriptionID)
	w.add(f.ResourceGroup != "", "resource_group = ?", f.ResourceGroup)
	w.add(f.Account != "", "account = ?", f.Account)
	w.add(f.Deployment != "", "deployment = ?", f.Deployment)
	w.add(!f.From.IsZero(), "hour >= ?", FormatTime(f.From))
	w.add(!f.To.IsZero(), "hour < ?", FormatTime(f.To))
	return scanAll(t, func(r *sql.Rows) (ptu.TokenUsage, error) {
		var u ptu.TokenUsage
		var hour string
		if err := r.Scan(&u.SubscriptionID, &u.ResourceGroup, &u.AccountName, &u.Deployment, &u.Region,
			&u.Model.Format, &u.Model.Name, &u.Model.Version, &u.SKUName, &hour,
			&u.Calls, &u.PromptTokens, &u.CachedTokens, &u.CompletionTokens); err != nil {
			return u, err
		}
		var err error
		u.Hour, err = parseTime(hour)
		return u, err
	}, `SELECT subscription_id, resource_group, account, deployment, region, model_format, model_name, model_version,
		sku_name, hour, calls, prompt_tokens, cached_tokens, completion_tokens FROM token_usage`+w.clause()+`
		ORDER BY hour, resource_group, account, deployment, sku_name, model_name, model_version, region`, w.args...)
}
