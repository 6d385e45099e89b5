package control

import (
	"sort"
	"strings"

	"github.com/ptu-dev/ptu"
)

// world is a snapshot of regions, pools and pool allocations, read inside one
// transaction so that placement decisions see a consistent picture.
type world struct {
	regions map[string]ptu.Region
	names   []string // region names, sorted
	pools   []ptu.Pool
	alloc   map[string]int // PTUs allocated per pool, all deployments
}

func loadWorld(tx ptu.Tx) (*world, error) {
	regions, err := tx.Regions().List()
	if err != nil {
		return nil, err
	}
	pools, err := tx.Pools().List()
	if err != nil {
		return nil, err
	}
	alloc, err := tx.Pools().Allocations()
	if err != nil {
		return nil, err
	}
	w := &world{regions: map[string]ptu.Region{}, pools: pools, alloc: alloc}
	for _, r := range sortedRegions(regions) {
		w.regions[r.Name] = r
		w.names = append(w.names, r.Name)
	}
	return w, nil
}

// without returns the allocations with a deployment's own allocations taken out,
// so an update can count what it already holds as available to itself.
func (w *world) without(own []ptu.Allocation) map[string]int {
	others := make(map[string]int, len(w.alloc))
	for id, n := range w.alloc {
		others[id] = n
	}
	for _, a := range own {
		others[a.PoolID] -= a.PTU
	}
	return others
}

// reachable reports whether a deployment of type sku whose account is in home may
// draw from a pool in region: Regional from its own region, DataZone from its
// data zone, Global from anywhere.
func (w *world) reachable(sku, home, region string) bool {
	switch sku {
	case ptu.ProvisionedManaged:
		return region == home
	case ptu.DataZoneProvisionedManaged:
		h, ok1 := w.regions[home]
		r, ok2 := w.regions[region]
		return ok1 && ok2 && h.DataZone != "" && h.DataZone == r.DataZone
	case ptu.GlobalProvisionedManaged:
		return true
	}
	return false
}

// candidates lists the pools a deployment may use, most preferred first. A
// Regional deployment has only its own region's pools. Data-zone and global
// deployments take the pool with the most room first, wherever it is, so
// they drain the fullest-stocked regions and leave small pools to the
// Regional deployments that have nowhere else to go; ties go to the home
// region's data zone, then to pool id.
func (w *world) candidates(model, version, sku, home string, others map[string]int) []ptu.Pool {
	var out []ptu.Pool
	for _, p := range w.pools {
		if strings.EqualFold(p.Model, model) && p.Version == version && w.reachable(sku, home, p.Region) {
			out = append(out, p)
		}
	}
	sameZone := func(p ptu.Pool) bool { return w.regions[p.Region].DataZone == w.regions[home].DataZone }
	sort.SliceStable(out, func(i, j int) bool {
		fi, fj := room(out[i], others), room(out[j], others)
		if fi != fj {
			return fi > fj
		}
		if zi, zj := sameZone(out[i]), sameZone(out[j]); zi != zj {
			return zi
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// room is how many PTUs a deployment could hold in p, given the others' allocations.
func room(p ptu.Pool, others map[string]int) int {
	if f := p.RatedPTU - others[p.ID]; f > 0 {
		return f
	}
	return 0
}

// place decides a deployment's allocations for want PTUs over cands (in order of
// preference). It keeps what the deployment already holds where it can, so a
// resize never moves PTUs that stay; a scale-down releases the least preferred
// pools first; growth goes first to pools it already uses, then to the first
// single pool with room for all of it, and only then is spread. It returns the
// PTUs it could not place.
func place(cands []ptu.Pool, others map[string]int, current []ptu.Allocation, want int) ([]ptu.Allocation, int) {
	held := map[string]int{}
	for _, a := range current {
		held[a.PoolID] += a.PTU
	}
	amount := make([]int, len(cands))
	limit := make([]int, len(cands))
	have := 0
	for i, p := range cands {
		amount[i] = held[p.ID]
		limit[i] = max(room(p, others), amount[i]) // a lowered rating never evicts
		have += amount[i]
	}
	switch {
	case have > want:
		for i := len(cands) - 1; i >= 0 && have > want; i-- {
			cut := min(amount[i], have-want)
			amount[i] -= cut
			have -= cut
		}
	case have < want:
		need := want - have
		for i := range cands {
			if amount[i] > 0 && need > 0 {
				add := min(need, limit[i]-amount[i])
				amount[i] += add
				need -= add
			}
		}
		if need > 0 {
			for i := range cands {
				if amount[i] == 0 && limit[i] >= need {
					amount[i] = need
					need = 0
					break
				}
			}
		}
		for i := range cands {
			if need == 0 {
				break
			}
			add := min(need, limit[i]-amount[i])
			amount[i] += add
			need -= add
		}
		if need > 0 {
			return nil, need
		}
	}
	var out []ptu.Allocation
	for i, p := range cands {
		if amount[i] > 0 {
			out = append(out, ptu.Allocation{PoolID: p.ID, PTU: amount[i]})
		}
	}
	return out, 0
}

// capacityFor is the most PTUs a deployment could hold over cands.
func capacityFor(cands []ptu.Pool, others map[string]int, current []ptu.Allocation) int {
	held := map[string]int{}
	for _, a := range current {
		held[a.PoolID] += a.PTU
	}
	total := 0
	for _, p := range cands {
		total += max(room(p, others), held[p.ID])
	}
	return total
}
