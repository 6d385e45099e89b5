package gateway

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ptu-dev/ptu/oai"
)

// The gateway prices a call from the body as Go's encoding/json reads it,
// and an upstream backend runs the body as its own JSON parser reads it.
// The two must read the same values. They differ on two points:
//
//   - encoding/json matches object keys to fields case-insensitively (Unicode
//     simple folding: "MAX_TOKENS", and "max_to\u212aens" with a Kelvin sign,
//     are max_tokens), where Python's json (vLLM, TGI's clients, OpenAI's own
//     servers) and most others are case-sensitive;
//   - on a repeated key each parser keeps the first, the last, or refuses.
//
// So before decoding, one pass over the body refuses (400, OpenAI's
// invalid_request_error) any object with a key repeated after unescaping
// ("max_tokens" and "max\u005ftokens" are the same key), and in the objects the
// gateway reads (the body, each message, each content part, stream_options)
// any key that is a case variant of a field the gateway reads or of another
// key of the same object. What is left reads the same in every parser, and
// the raw body can be forwarded unchanged.

// keyContext is what kind of object the scan is in.
type keyContext uint8

const (
	ctxOther      keyContext = iota // only exact duplicates are refused
	ctxTop                          // the request body
	ctxMessage                      // messages[i]
	ctxPart                         // messages[i].content[j]
	ctxStreamOpts                   // stream_options
)

// maxKeyDepth is encoding/json's nesting limit; deeper bodies are left to the
// decoder to refuse.
const maxKeyDepth = 10000

// fieldNames maps the folded JSON names of a struct's fields to the names.
func fieldNames(vs ...any) map[string]string {
	out := map[string]string{}
	for _, v := range vs {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				out[string(foldKey(nil, []byte(name)))] = name
			}
		}
	}
	return out
}

// bodyFields are the fields of each operation's body that a backend reads and
// the gateway prices or validates; notFor are fields of the other operation
// that an upstream would take as a different call (a completions body with
// messages is sent as a chat), refused as OpenAI refuses unknown arguments.
var (
	chatFields = fieldNames(oai.ChatCompletionRequest{})
	compFields = fieldNames(oai.CompletionRequest{})
	msgFields  = fieldNames(oai.ChatMessage{})
	partFields = fieldNames(struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}{})
	streamOptFields = fieldNames(oai.StreamOptions{})
	// best_of runs several generations and returns n of them; chat
	// completions have no such parameter, and a server that honours it there
	// reports only the choices it returns.
	chatNotFor = fieldNames(struct {
		BestOf any `json:"best_of"`
	}{})
	compNotFor = fieldNames(struct {
		Messages            any `json:"messages"`
		MaxCompletionTokens any `json:"max_completion_tokens"`
	}{})
)

var keySeed = maphash.MakeSeed()

type pathElem struct {
	key   []byte // nil for an array element
	index int
}

type keyScan struct {
	b    []byte
	i    int
	op   operation
	path []pathElem
	err  *openAIError // set when a key is refused; nil with ok false on a syntax error
	fold []byte       // scratch for folded keys
}

// checkKeys scans body once and refuses repeated and case-variant keys. A
// body that is not valid JSON passes: the decoder reports it.
func checkKeys(op operation, body []byte) *openAIError {
	s := keyScan{b: body, op: op}
	s.ws()
	s.value(ctxTop, 0)
	return s.err
}

func (s *keyScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value skips one JSON value; false stops the scan (a refusal or a syntax error).
func (s *keyScan) value(ctx keyContext, depth int) bool {
	if s.i >= len(s.b) || depth > maxKeyDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(ctx, depth+1)
	case c == '[':
		return s.array(ctx, depth+1)
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		for s.i < len(s.b) && strings.IndexByte("+-.0123456789eE", s.b[s.i]) >= 0 {
			s.i++
		}
		return true
	case c == 't' || c == 'f' || c == 'n':
		for s.i < len(s.b) && s.b[s.i] >= 'a' && s.b[s.i] <= 'z' {
			s.i++
		}
		return true
	}
	return false
}

// str skips a string and returns its raw contents and whether it holds escapes.
func (s *keyScan) str() (raw []byte, escaped, ok bool) {
	s.i++ // the opening quote
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, true
		case '\\':
			escaped = true
			s.i += 2
			continue
		}
		s.i++
	}
	return nil, false, false
}

// array skips an array whose elements are in ctx (the context its key gives them).
func (s *keyScan) array(ctx keyContext, depth int) bool {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for n := 0; ; n++ {
		s.path = append(s.path, pathElem{index: n})
		ok := s.value(ctx, depth)
		s.path = s.path[:len(s.path)-1]
		if !ok {
			return false
		}
		if more, ok := s.separator(']'); !more {
			return ok
		}
	}
}

// keySet holds the hashes of an object's keys: a few inline, a map past that.
type keySet struct {
	few  [16]uint64
	n    int
	many map[uint64]struct{}
}

// add reports whether h was already there.
func (k *keySet) add(h uint64) bool {
	if k.many != nil {
		if _, dup := k.many[h]; dup {
			return true
		}
		k.many[h] = struct{}{}
		return false
	}
	for _, x := range k.few[:k.n] {
		if x == h {
			return true
		}
	}
	if k.n < len(k.few) {
		k.few[k.n] = h
		k.n++
		return false
	}
	k.many = make(map[uint64]struct{}, 2*len(k.few))
	for _, x := range k.few {
		k.many[x] = struct{}{}
	}
	k.many[h] = struct{}{}
	return false
}

func (s *keyScan) object(ctx keyContext, depth int) bool {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	var seen keySet
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		raw, escaped, ok := s.str()
		if !ok {
			return false
		}
		key := raw
		if escaped {
			var k string
			if json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &k) != nil {
				return false
			}
			key = []byte(k)
		}
		if !s.checkKey(ctx, key, &seen) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		s.path = append(s.path, pathElem{key: key})
		ok = s.value(childContext(ctx, key, s.peek()), depth)
		s.path = s.path[:len(s.path)-1]
		if !ok {
			return false
		}
		if more, ok := s.separator('}'); !more {
			return ok
		}
	}
}

func (s *keyScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// childContext is the context of the value of key in an object of ctx. The
// elements of an array take the context the array's key gives them.
func childContext(ctx keyContext, key []byte, first byte) keyContext {
	switch {
	case ctx == ctxTop && string(key) == "messages" && first == '[':
		return ctxMessage
	case ctx == ctxTop && string(key) == "stream_options":
		return ctxStreamOpts
	case ctx == ctxMessage && string(key) == "content" && first == '[':
		return ctxPart
	}
	return ctxOther
}

// checkKey refuses key when the object already has it (or, where the
// gateway reads the object, a case variant of it), and case variants of
// the fields the gateway reads.
func (s *keyScan) checkKey(ctx keyContext, key []byte, seen *keySet) bool {
	if ctx == ctxOther {
		if seen.add(maphash.Bytes(keySeed, key)) {
			s.err = s.refuse(key, "duplicate")
			return false
		}
		return true
	}
	s.fold = foldKey(s.fold[:0], key)
	if seen.add(maphash.Bytes(keySeed, s.fold)) {
		s.err = s.refuse(key, "duplicate")
		return false
	}
	var known, notFor map[string]string
	switch ctx {
	case ctxTop:
		known, notFor = chatFields, chatNotFor
		if s.op == opCompletions {
			known, notFor = compFields, compNotFor
		}
	case ctxMessage:
		known = msgFields
	case ctxPart:
		known = partFields
	case ctxStreamOpts:
		known = streamOptFields
	}
	if _, bad := notFor[string(s.fold)]; bad {
		s.err = s.refuse(key, "unrecognized")
		return false
	}
	if name, ok := known[string(s.fold)]; ok && name != string(key) {
		s.err = s.refuse(key, "unrecognized")
		return false
	}
	return true
}

// refuse is the 400 for a refused key, naming where it is.
func (s *keyScan) refuse(key []byte, why string) *openAIError {
	var p strings.Builder
	for _, e := range s.path {
		if e.key == nil {
			p.WriteString("[" + strconv.Itoa(e.index) + "]")
			continue
		}
		if p.Len() > 0 {
			p.WriteByte('.')
		}
		p.Write(e.key)
	}
	if p.Len() > 0 {
		p.WriteByte('.')
	}
	p.Write(key)
	name := p.String()
	if len(name) > 256 {
		name = name[:256] + "…"
	}
	name = strings.ToValidUTF8(name, "\uFFFD")
	if why == "duplicate" {
		return invalid(name, "invalid_value", fmt.Sprintf(
			"Invalid request body: the key '%s' appears more than once in the same object. Each key may be given once.", name))
	}
	return invalid(name, "", "Unrecognized request argument supplied: "+name)
}

// foldKey appends key folded so that two keys fold alike exactly when
// strings.EqualFold (encoding/json's field matching) holds between them:
// each rune is replaced by the smallest rune of its simple-folding orbit.
func foldKey(dst, key []byte) []byte {
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			// The Kelvin sign and the long s fold to k and s below.
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(key[i:])
		i += size
		dst = utf8.AppendRune(dst, canonicalFold(r))
	}
	return dst
}

// canonicalFold is the representative of r's simple-folding orbit: its
// lower-case ASCII member when there is one (so the non-ASCII Kelvin sign
// and long s fold as k and s do above), else its smallest member.
func canonicalFold(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			if 'A' <= f && f <= 'Z' {
				f += 'a' - 'A'
			}
			return f
		}
		least = min(least, f)
	}
	return least
}

// separator reads what follows a value in an array or object: a comma
// (more to come), or close (the end, ok). Anything else is malformed.
func (s *keyScan) separator(close byte) (more, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		s.ws()
		return true, true
	case close:
		s.i++
		return false, true
	}
	return false, false
}
