package control

import (
	"reflect"
	"testing"

	"github.com/ptu-dev/ptu"
)

func TestPlace(t *testing.T) {
	pools := []ptu.Pool{
		{ID: "a", RatedPTU: 100},
		{ID: "b", RatedPTU: 100},
		{ID: "c", RatedPTU: 300},
	}
	al := func(kv ...any) []ptu.Allocation {
		var out []ptu.Allocation
		for i := 0; i < len(kv); i += 2 {
			out = append(out, ptu.Allocation{PoolID: kv[i].(string), PTU: kv[i+1].(int)})
		}
		return out
	}
	tests := []struct {
		name      string
		others    map[string]int
		current   []ptu.Allocation
		want      int
		wantAlloc []ptu.Allocation
		wantShort int
	}{
		{"fits in the first pool", nil, nil, 50, al("a", 50), 0},
		{"one pool that holds it all beats spreading", nil, nil, 150, al("c", 150), 0},
		{"spread when no single pool fits", map[string]int{"c": 250}, nil, 180, al("a", 100, "b", 80), 0},
		{"short by what no pool has", map[string]int{"a": 100, "b": 100, "c": 290}, nil, 20, nil, 10},
		{"scale up grows where it is", nil, al("b", 50), 80, al("b", 80), 0},
		{"scale up overflows to the first whole fit", map[string]int{"b": 40}, al("b", 50), 100, al("b", 60, "c", 40)[0:1], 0},
		{"scale down keeps preferred pools", nil, al("a", 100, "c", 50), 120, al("a", 100, "c", 20), 0},
		{"lowered rating never evicts", map[string]int{"a": 150}, al("a", 30), 30, al("a", 30), 0},
		{"zero-rated pools are skipped", map[string]int{"a": 100, "b": 100}, nil, 300, al("c", 300), 0},
	}
	// The overflow case: b has 50 held and 10 more room, then 40 go to the first pool that holds them whole.
	tests[5].wantAlloc = al("a", 40, "b", 60)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			others := tt.others
			if others == nil {
				others = map[string]int{}
			}
			got, short := place(pools, others, tt.current, tt.want)
			if short != tt.wantShort {
				t.Fatalf("short = %d, want %d", short, tt.wantShort)
			}
			if !reflect.DeepEqual(got, tt.wantAlloc) {
				t.Fatalf("allocations = %v, want %v", got, tt.wantAlloc)
			}
			sum := 0
			for _, a := range got {
				sum += a.PTU
			}
			if short == 0 && sum != tt.want {
				t.Fatalf("placed %d PTUs, want %d", sum, tt.want)
			}
		})
	}
}
