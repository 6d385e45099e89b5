package billing

import (
	"cmp"
	"context"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// The meter turns a subscription's capacity history, reservations and token
// counts into hourly lines: per deployment, hour, deployment type and model
// version, the PTU-minutes deployed, the part reservations covered and the
// tokens used; and per reservation and hour, the PTU-minutes it offered and
// the part deployments used. It runs over the whole subscription because a
// subscription-wide reservation is shared by deployments in every group.

// depState is what a deployment is billed as from one minute on.
type depState struct {
	sku      string
	capacity int
	region   string // lower case
	model    ptu.ModelRef
}

// timeline is a deployment's capacity history, one state per minute that
// changed it (the last change made in a minute wins).
type timeline struct {
	key               string
	rg, account, name string // as the latest entry spells them
	at                []time.Time
	st                []depState
}

func depKey(rg, account, name string) string {
	return strings.ToLower(rg) + "/" + strings.ToLower(account) + "/" + strings.ToLower(name)
}

func (tl *timeline) stateAt(t time.Time) depState {
	i := sort.Search(len(tl.at), func(i int) bool { return tl.at[i].After(t) }) - 1
	if i < 0 {
		return depState{}
	}
	return tl.st[i]
}

// timelines groups changes (oldest first) by deployment, in key order.
func timelines(changes []ptu.CapacityChange) []*timeline {
	by := map[string]*timeline{}
	var out []*timeline
	for _, c := range changes {
		k := depKey(c.ResourceGroup, c.AccountName, c.Deployment)
		tl := by[k]
		if tl == nil {
			tl = &timeline{key: k}
			by[k] = tl
			out = append(out, tl)
		}
		tl.rg, tl.account, tl.name = c.ResourceGroup, c.AccountName, c.Deployment
		at := minute(c.At)
		st := depState{sku: c.SKUName, capacity: c.Capacity, region: strings.ToLower(c.Region), model: c.Model}
		if n := len(tl.at); n > 0 && tl.at[n-1].Equal(at) {
			tl.st[n-1] = st
			continue
		}
		tl.at, tl.st = append(tl.at, at), append(tl.st, st)
	}
	slices.SortFunc(out, func(a, b *timeline) int { return strings.Compare(a.key, b.key) })
	return out
}

// lineKey identifies an hourly line.
type lineKey struct {
	dep   string
	hour  int64 // Unix seconds
	sku   string
	model string // lower-case name and version
}

func compareLineKeys(a, b lineKey) int {
	return cmp.Or(cmp.Compare(a.hour, b.hour), strings.Compare(a.dep, b.dep), strings.Compare(a.sku, b.sku), strings.Compare(a.model, b.model))
}

// hourLine is one deployment's usage in one hour as one type and model version.
type hourLine struct {
	key                               lineKey
	hour                              time.Time
	rg, account, deployment, region   string
	sku                               string
	model                             ptu.ModelRef
	ptuMinutes, reservedMinutes       int64
	shares                            map[string]*ReservationShare // by reservation id
	calls, prompt, cached, completion int64
	price                             Price
	paygCost, reservedCost, tokenCost int64
}

// resHour is one reservation in one hour.
type resHour struct {
	r                    *resv
	hour                 time.Time
	from, to             time.Time // the part of the hour it applied in
	available, used      int64     // PTU-minutes
	lines                map[lineKey]int64
	usedCost, unusedCost int64 // its amortized cost, split
}

type resHourKey struct {
	id   string
	hour int64
}

// metered is the meter's output for [from, to).
type metered struct {
	from, to time.Time
	lines    map[lineKey]*hourLine
	resHours map[resHourKey]*resHour
	resvs    []*resv
}

// piece is the PTUs one reservation covers of one deployment during a segment.
type piece struct {
	r, d int
	ptu  int64
}

// allocate shares the reservations rs among deployments of sizes caps (in
// resource groups rgs) that match them: each group's reservations cover its
// own deployments first, then subscription-wide reservations what is left.
func allocate(caps []int64, rgs []string, rs []*resv) []piece {
	covered := make([]int64, len(caps))
	var pieces []piece
	cover := func(ds []int, rsIdx []int) {
		weights := make([]int64, len(ds))
		var deployed int64
		for i, d := range ds {
			weights[i] = caps[d] - covered[d]
			deployed += weights[i]
		}
		qs := make([]int64, len(rsIdx))
		var reserved int64
		for i, r := range rsIdx {
			qs[i] = int64(rs[r].Quantity)
			reserved += qs[i]
		}
		c := min(deployed, reserved)
		if c == 0 {
			return
		}
		dShare, rShare := apportion(c, weights), apportion(c, qs)
		// Lay both shares end to end and cut where either changes hands.
		for i, j := 0, 0; i < len(rsIdx) && j < len(ds); {
			n := min(rShare[i], dShare[j])
			if n > 0 {
				pieces = append(pieces, piece{r: rsIdx[i], d: ds[j], ptu: n})
				covered[ds[j]] += n
				rShare[i] -= n
				dShare[j] -= n
			}
			if rShare[i] == 0 {
				i++
			}
			if j < len(ds) && dShare[j] == 0 {
				j++
			}
		}
	}

	byRG := map[string][]int{}
	var groups []string
	var subWide []int
	for i, r := range rs {
		if r.ResourceGroup == "" {
			subWide = append(subWide, i)
			continue
		}
		g := strings.ToLower(r.ResourceGroup)
		if _, ok := byRG[g]; !ok {
			groups = append(groups, g)
		}
		byRG[g] = append(byRG[g], i)
	}
	slices.Sort(groups)
	for _, g := range groups {
		var ds []int
		for d := range caps {
			if strings.EqualFold(rgs[d], g) {
				ds = append(ds, d)
			}
		}
		cover(ds, byRG[g])
	}
	if len(subWide) > 0 {
		ds := make([]int, len(caps))
		for d := range ds {
			ds[d] = d
		}
		cover(ds, subWide)
	}
	return pieces
}

// tokenUsage reads the token counts of subscription sub over [from, to), the
// tokens meter charges.
func (s *Service) tokenUsage(ctx context.Context, sub string, from, to time.Time) ([]ptu.TokenUsage, error) {
	if !from.Before(to) {
		return nil, nil
	}
	return s.store.ListTokenUsage(ctx, ptu.TokenUsageFilter{SubscriptionID: strings.ToLower(sub), From: from, To: to})
}

// meter computes the hourly lines of sub over [from, to) from its capacity
// history, its reservations and tokens (tokenUsage); from is on the hour and
// to on the minute.
func (s *Service) meter(tx ptu.Tx, sub string, from, to time.Time, tokens []ptu.TokenUsage) (*metered, error) {
	changes, err := tx.CapacityChanges().List(ptu.CapacityChangeFilter{SubscriptionID: sub, Before: to})
	if err != nil {
		return nil, err
	}
	stored, err := tx.Reservations().List(sub)
	if err != nil {
		return nil, err
	}
	m := &metered{from: from, to: to, lines: map[lineKey]*hourLine{}, resHours: map[resHourKey]*resHour{}}
	for _, r := range stored {
		rv := newResv(r)
		m.resvs = append(m.resvs, &rv)
	}
	// Deployments deleted before the range (the history keeps them all)
	// have nothing to bill in it.
	var tls []*timeline
	for _, tl := range timelines(changes) {
		i := sort.Search(len(tl.at), func(i int) bool { return tl.at[i].After(from) })
		if tl.stateAt(from).capacity > 0 || i < len(tl.at) && tl.at[i].Before(to) {
			tls = append(tls, tl)
		}
	}

	// Segments: spans in which no deployment and no reservation changes and
	// which do not cross an hour.
	cuts := map[int64]time.Time{}
	cut := func(t time.Time) {
		if t.After(from) && t.Before(to) {
			cuts[t.Unix()] = t
		}
	}
	for h := from.Add(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		cut(h)
	}
	for _, tl := range tls {
		for _, at := range tl.at {
			cut(at)
		}
	}
	for _, r := range m.resvs {
		cut(r.Start)
		cut(r.end())
	}
	bounds := []time.Time{from, to}
	for _, t := range cuts {
		bounds = append(bounds, t)
	}
	slices.SortFunc(bounds, func(a, b time.Time) int { return a.Compare(b) })

	type groupKey struct{ region, sku string }
	type group struct {
		lines []*hourLine
		caps  []int64
		rgs   []string
		rs    []*resv
	}
	for i := 0; i+1 < len(bounds); i++ {
		a, b := bounds[i], bounds[i+1]
		span := minutes(a, b)
		hour := a.Truncate(time.Hour)
		groups := map[groupKey]*group{}
		var order []groupKey
		groupOf := func(k groupKey) *group {
			g := groups[k]
			if g == nil {
				g = &group{}
				groups[k] = g
				order = append(order, k)
			}
			return g
		}
		for _, tl := range tls {
			st := tl.stateAt(a)
			if st.capacity <= 0 || !ptu.IsProvisioned(st.sku) {
				continue
			}
			line := m.line(tl.key, hour, st.sku, st.model, tl.rg, tl.account, tl.name, st.region)
			line.ptuMinutes += int64(st.capacity) * span
			g := groupOf(groupKey{st.region, st.sku})
			g.lines, g.caps, g.rgs = append(g.lines, line), append(g.caps, int64(st.capacity)), append(g.rgs, tl.rg)
		}
		for _, r := range m.resvs {
			if !r.activeAt(a) {
				continue
			}
			g := groupOf(groupKey{strings.ToLower(r.Region), r.SKUName})
			g.rs = append(g.rs, r)
			rh := m.resHour(r, hour)
			rh.available += int64(r.Quantity) * span
			if rh.from.IsZero() || a.Before(rh.from) {
				rh.from = a
			}
			rh.to = b
		}
		for _, k := range order {
			g := groups[k]
			for _, p := range allocate(g.caps, g.rgs, g.rs) {
				line, r := g.lines[p.d], g.rs[p.r]
				n := p.ptu * span
				line.reservedMinutes += n
				sh := line.shares[r.ID]
				if sh == nil {
					sh = &ReservationShare{ReservationID: r.ID}
					line.shares[r.ID] = sh
				}
				sh.PTUMinutes += n
				rh := m.resHour(r, hour)
				rh.used += n
				rh.lines[line.key] += n
			}
		}
	}

	for _, u := range tokens {
		line := m.line(depKey(u.ResourceGroup, u.AccountName, u.Deployment), u.Hour, u.SKUName, u.Model,
			u.ResourceGroup, u.AccountName, u.Deployment, strings.ToLower(u.Region))
		line.calls += u.Calls
		line.prompt += u.PromptTokens
		line.cached += u.CachedTokens
		line.completion += u.CompletionTokens
	}

	m.amortize(to)
	for _, line := range m.lines {
		line.price, _ = s.price(line.model, line.sku)
		line.paygCost = mulDiv(line.ptuMinutes-line.reservedMinutes, line.price.PricePerPTUHourMicros, 60)
		line.tokenCost = tokenCost(line.price, line.prompt, line.cached, line.completion)
	}
	return m, nil
}

func (m *metered) line(dep string, hour time.Time, sku string, model ptu.ModelRef, rg, account, name, region string) *hourLine {
	k := lineKey{dep: dep, hour: hour.Unix(), sku: sku, model: strings.ToLower(model.Name + "/" + model.Version)}
	l := m.lines[k]
	if l == nil {
		l = &hourLine{key: k, hour: hour.UTC(), rg: rg, account: account, deployment: name, region: region, sku: sku,
			model: model, shares: map[string]*ReservationShare{}}
		m.lines[k] = l
	}
	return l
}

func (m *metered) resHour(r *resv, hour time.Time) *resHour {
	k := resHourKey{id: r.ID, hour: hour.Unix()}
	rh := m.resHours[k]
	if rh == nil {
		rh = &resHour{r: r, hour: hour, lines: map[lineKey]int64{}}
		m.resHours[k] = rh
	}
	return rh
}

// amortize spreads each reservation's payments over the hours it applied in
// and splits each hour's part between the lines it covered and its unused
// PTU-minutes.
func (m *metered) amortize(to time.Time) {
	periods := map[string][]period{}
	for _, r := range m.resvs {
		periods[r.ID] = r.periods(to)
	}
	for _, rh := range m.resHours {
		cost := rh.r.amortized(periods[rh.r.ID], rh.from, rh.to)
		keys := make([]lineKey, 0, len(rh.lines))
		for k := range rh.lines {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareLineKeys)
		weights := make([]int64, 0, len(keys)+1)
		for _, k := range keys {
			weights = append(weights, rh.lines[k])
		}
		weights = append(weights, rh.available-rh.used)
		parts := apportion(cost, weights)
		for i, k := range keys {
			l := m.lines[k]
			l.reservedCost += parts[i]
			l.shares[rh.r.ID].CostMicros += parts[i]
			rh.usedCost += parts[i]
		}
		rh.unusedCost = parts[len(parts)-1]
	}
}

// tokenCost is the price of a line's tokens: uncached input, cached input
// and output at their prices per million, rounded half up.
func tokenCost(p Price, prompt, cached, completion int64) int64 {
	if prompt == 0 && completion == 0 {
		return 0
	}
	var sum, t big.Int
	sum.Mul(big.NewInt(max(0, prompt-cached)), big.NewInt(p.InputPer1MMicros))
	sum.Add(&sum, t.Mul(big.NewInt(min(cached, prompt)), big.NewInt(p.CachedInputPer1MMicros)))
	sum.Add(&sum, t.Mul(big.NewInt(completion), big.NewInt(p.OutputPer1MMicros)))
	sum.Add(&sum, big.NewInt(500_000))
	return sum.Quo(&sum, big.NewInt(1_000_000)).Int64()
}
