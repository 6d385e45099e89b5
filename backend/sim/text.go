package sim

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ptu-dev/ptu/backend"
)

// commonWords are the words simulated text is made of. Only those that are a
// single token of the engine's tokenizer (with a leading space) are used, so
// every generated token is a real token whose text is known.
var commonWords = strings.Fields(`
the of and to in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their
has would when if so no will more can out up about into them some could time
what only new other these two may first then do any like my now over such our
man me even most made after also did many before must through back years where
much your way well down should because each just those people how too little
state good very make world still own see men work long get here between both
life being under never day same another know while last might us great old
year off come since against go came right used take three states himself few
house use during without again place around however home small found thought
went say part once general high upon school every does got united left number
course war until always away something fact though water less public put think
almost hand enough far took head yet government system better set told nothing
night end why called find going look asked later knew point next city
give group toward young days let room president side social present given
several order national possible rather second face per among form important
often things looked early white case large become big need four within felt
along children saw best church ever least power development light thing seemed
family interest want members others mind country area done open service certain
kind problem began different door thus help sense means whole matter perhaps
itself times law human line above name example action company hands local
show whether five history gave today either act feet across taken past quite
anything seen having death week experience body word half really field car
words already themselves information tell together college shall money period
held keep sure probably free seems real behind cannot miss political air
question making office brought whose special heard major problems ago became
federal moment study available known result street economic boy position reason
change south board individual job society west close turn love community true
court force full seem wife age future voice center woman control common policy
necessary following front sometimes six girl clear further land run students
provide strong model energy data system process research value market plan
`)

// piece is one token: its id and its text.
type piece struct {
	id   int
	text string
}

// vocabulary holds the tokens simulated text is drawn from.
type vocabulary struct {
	words  []piece // " word"
	starts []piece // "Word", the first token of a text
	caps   []piece // " Word", the first word of a later sentence
	period piece
	comma  piece
}

func newVocabulary(tok Tokenizer) (*vocabulary, error) {
	single := func(s string) (piece, bool) {
		ids := tok.Encode(s)
		if len(ids) != 1 || tok.Decode(ids) != s {
			return piece{}, false
		}
		return piece{ids[0], s}, true
	}
	v := &vocabulary{}
	seen := map[string]bool{}
	for _, w := range commonWords {
		if seen[w] {
			continue
		}
		seen[w] = true
		if p, ok := single(" " + w); ok {
			v.words = append(v.words, p)
		}
		r, n := utf8.DecodeRuneInString(w)
		c := string(unicode.ToUpper(r)) + w[n:]
		if p, ok := single(c); ok {
			v.starts = append(v.starts, p)
		}
		if p, ok := single(" " + c); ok {
			v.caps = append(v.caps, p)
		}
	}
	var ok1, ok2 bool
	v.period, ok1 = single(".")
	v.comma, ok2 = single(",")
	if !ok1 || !ok2 || len(v.words) < 32 || len(v.starts) < 8 || len(v.caps) < 8 {
		return nil, errors.New("tokenizer has too few single-token English words to simulate text")
	}
	return v, nil
}

// textGen writes a choice's English-looking text one token at a time. A copy
// of a generator produces the same tokens as the original.
type textGen struct {
	v       *vocabulary
	src     rand.PCG
	n       int  // tokens the choice would have if nothing stopped it
	natural bool // the text ends a sentence, as a model stopping on its own would
	k       int  // tokens produced
	left    int  // words left in the current sentence; -1 right after a period
	comma   bool // the last token was a comma
}

func (g *textGen) next() piece {
	r := rand.New(&g.src)
	v, k, n := g.v, g.k, g.n
	g.k++
	var p piece
	switch {
	case g.natural && k == n-1 && k > 0:
		return v.period
	case k == 0:
		p = v.starts[r.IntN(len(v.starts))]
		g.left = 4 + r.IntN(14)
	case g.left == 0 && !(g.natural && k == n-2):
		p = v.period
		g.left = -1
	case g.left < 0:
		p = v.caps[r.IntN(len(v.caps))]
		g.left = 4 + r.IntN(14)
	case !g.comma && g.left > 2 && !(g.natural && k >= n-2) && r.IntN(10) == 0:
		g.comma = true
		return v.comma
	default:
		p = v.words[r.IntN(len(v.words))]
	}
	g.comma = false
	if g.left > 0 {
		g.left--
	}
	return p
}

// choice is the plan of one choice, fixed when the request starts.
type choice struct {
	gen    textGen // positioned at the first token
	tokens int     // tokens generated, including any that complete a stop sequence
	cut    int     // byte length of the text returned; -1 for all of it
	finish string  // backend.FinishStop or backend.FinishLength
}

// applyStop runs the choice's text once to find where a stop sequence first
// completes: the choice then ends with that token, and its text is cut
// before the stop sequence (whose tokens are generated and counted, not shown).
func (c *choice) applyStop(stop []string) {
	longest := 0
	for _, s := range stop {
		longest = max(longest, len(s))
	}
	if longest == 0 {
		return
	}
	g := c.gen
	var window []byte // the text's last longest-1 bytes, then the new token
	base := 0         // offset of window[0] in the text
	for k := 0; k < c.tokens; k++ {
		window = append(window, g.next().text...)
		at := -1
		for _, s := range stop {
			if s == "" {
				continue
			}
			// An occurrence found now ends in the new token (earlier ones were
			// found before); the text is cut before the earliest one.
			if i := strings.Index(string(window), s); i >= 0 && (at < 0 || i < at) {
				at = i
			}
		}
		if at >= 0 {
			c.tokens, c.cut, c.finish = k+1, base+at, backend.FinishStop
			return
		}
		if drop := len(window) - (longest - 1); drop > 0 {
			base += drop
			window = append(window[:0], window[drop:]...)
		}
	}
}

// emitter hands out the text of a choice token by token.
type emitter struct {
	gen   textGen
	cut   int
	bytes int // bytes of text produced so far
}

// next returns the visible text of the next token: empty past a stop cut.
func (m *emitter) next() string {
	t := m.gen.next().text
	start := m.bytes
	m.bytes += len(t)
	switch {
	case m.cut < 0:
		return t
	case m.cut <= start:
		return ""
	}
	return t[:min(len(t), m.cut-start)]
}

// outputLength draws the length a choice would have if nothing stopped it:
// log-normal with the given mean and standard deviation, at least 1.
func outputLength(r *rand.Rand, mean, stddev float64, limit int) int {
	if stddev <= 0 {
		return max(1, min(limit, int(math.Round(mean))))
	}
	s2 := math.Log(1 + stddev*stddev/(mean*mean))
	mu := math.Log(mean) - s2/2
	x := math.Exp(mu + math.Sqrt(s2)*r.NormFloat64())
	return max(1, min(limit, int(math.Round(x))))
}

// seedFor derives the random source of a request. With a seed the text is a
// function of the seed, the model and the prompt; without one it is random.
func seedFor(model string, promptTokens int, body []byte, seed *int64) (uint64, uint64) {
	if seed == nil {
		return rand.Uint64(), rand.Uint64()
	}
	h := fnv.New64a()
	h.Write([]byte(model))
	h.Write([]byte{0, byte(promptTokens), byte(promptTokens >> 8), byte(promptTokens >> 16), byte(promptTokens >> 24)})
	var p struct {
		Messages json.RawMessage `json:"messages"`
		Prompt   json.RawMessage `json:"prompt"`
	}
	if json.Unmarshal(body, &p) == nil {
		h.Write(p.Messages)
		h.Write([]byte{0})
		h.Write(p.Prompt)
	}
	return uint64(*seed), h.Sum64()
}

// choiceSource returns the random source of choice i of a request.
func choiceSource(s1, s2 uint64, i int) *rand.PCG {
	return rand.NewPCG(s1, s2^(uint64(i)+1)*0x9e3779b97f4a7c15)
}
