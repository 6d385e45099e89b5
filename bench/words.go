package bench

import "strings"

// promptWords are what prompts are made of: random words, as
// azure-openai-benchmark writes them, so a prompt shares no prefix with
// another and no cache can serve it. Only the words that are one token of
// the model's tokenizer with a leading space are used, so a prompt's length
// in tokens is known without tokenizing it.
var promptWords = strings.Fields(`
apple river mountain garden window table chair paper pencil market forest ocean
island bridge castle village engine rocket planet galaxy comet silver golden copper
marble granite velvet cotton leather wooden glass metal plastic rubber crystal stone
winter summer autumn spring morning evening midnight sunrise sunset thunder lightning
breeze storm cloud rain snow frost desert valley canyon meadow prairie harbor
lantern candle mirror ladder basket bottle kettle hammer needle thread button pocket
doctor farmer teacher sailor pilot baker painter singer dancer writer driver hunter
tiger eagle falcon rabbit turtle dolphin whale spider beetle salmon pigeon donkey
orange lemon cherry grape melon peach carrot potato onion pepper garlic butter
cheese bread honey sugar coffee tea juice soup salad sauce cookie pizza
happy quiet bright gentle brave clever eager fancy proud calm lucky noble
ancient modern distant hidden secret simple silent sudden narrow broad steep shallow
run walk jump swim climb write read sing dance paint build travel
listen answer borrow carry choose gather follow collect deliver explore imagine protect
music story poem letter journal novel theater circus museum library station airport
hospital factory office kitchen bedroom garage cellar attic balcony corridor tunnel
signal rhythm melody harmony echo shadow mystery puzzle riddle treasure journey voyage
captain soldier knight wizard giant dragon legend hero villain prince princess queen
number letter circle square triangle angle corner edge surface volume weight
energy motion force pressure balance pattern system method process result reason
feather pebble shell seed root branch leaf blossom flower grass moss vine
coin ticket stamp badge medal trophy crown jewel pearl diamond ruby emerald
silk wool linen canvas brick tile cement steel iron tin
north south east west center border margin region county province nation empire
question problem answer idea theory fact detail example choice chance moment memory
camera radio phone screen keyboard cable battery circuit sensor motor wheel gear
breakfast lunch dinner picnic festival holiday wedding party parade concert contest
`)

// singleTokenWords returns the words that count is one token with a
// leading space.
func singleTokenWords(count func(string) int) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range promptWords {
		if seen[w] {
			continue
		}
		seen[w] = true
		if count(" "+w) == 1 {
			out = append(out, " "+w)
		}
	}
	return out
}
