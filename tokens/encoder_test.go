package tokens

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// Token ids from OpenAI's "How to count tokens with tiktoken" guide (sections
// 3 and 5), which prints what the Python tiktoken library returns, plus
// "hello world", whose ids are widely quoted.
var knownEncodings = []struct {
	encoding, text string
	ids            []int
}{
	{O200kBase, "tiktoken is great!", []int{83, 8251, 2488, 382, 2212, 0}},
	{Cl100kBase, "tiktoken is great!", []int{83, 1609, 5963, 374, 2294, 0}},
	{O200kBase, "hello world", []int{24912, 2375}},
	{Cl100kBase, "hello world", []int{15339, 1917}},
	{R50kBase, "hello world", []int{31373, 995}},
	{O200kBase, "antidisestablishmentarianism", []int{493, 129901, 376, 160388, 21203, 2367}},
	{Cl100kBase, "antidisestablishmentarianism", []int{519, 85342, 34500, 479, 8997, 2191}},
	{P50kBase, "antidisestablishmentarianism", []int{415, 29207, 44390, 3699, 1042}},
	{R50kBase, "antidisestablishmentarianism", []int{415, 29207, 44390, 3699, 1042}},
	{O200kBase, "2 + 2 = 4", []int{17, 659, 220, 17, 314, 220, 19}},
	{Cl100kBase, "2 + 2 = 4", []int{17, 489, 220, 17, 284, 220, 19}},
	{P50kBase, "2 + 2 = 4", []int{17, 1343, 362, 796, 604}},
	{O200kBase, "お誕生日おめでとう", []int{8930, 9697, 243, 128225, 8930, 17693, 4344, 48669}},
	{Cl100kBase, "お誕生日おめでとう", []int{33334, 45918, 243, 21990, 9080, 33334, 62004, 16556, 78699}},
	{R50kBase, "お誕生日おめでとう", []int{2515, 232, 45739, 243, 37955, 33768, 98, 2515, 232, 1792, 223, 30640, 30201, 29557}},
	{O200kBase, "", nil},
}

func TestEncodeKnownIDs(t *testing.T) {
	for _, tc := range knownEncodings {
		e := MustGet(tc.encoding)
		if got := e.Encode(tc.text); !slices.Equal(got, tc.ids) {
			t.Errorf("%s Encode(%q) = %v, want %v", tc.encoding, tc.text, got, tc.ids)
		}
		if got := e.Count(tc.text); got != len(tc.ids) {
			t.Errorf("%s Count(%q) = %d, want %d", tc.encoding, tc.text, got, len(tc.ids))
		}
		if got := e.Decode(tc.ids); got != tc.text {
			t.Errorf("%s Decode(%v) = %q, want %q", tc.encoding, tc.ids, got, tc.text)
		}
	}
}

func TestGet(t *testing.T) {
	if got, want := Encodings(), []string{Cl100kBase, O200kBase, P50kBase, R50kBase}; !slices.Equal(got, want) {
		t.Fatalf("Encodings() = %v, want %v", got, want)
	}
	for _, name := range Encodings() {
		e, err := Get(name)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		if e.Name() != name {
			t.Errorf("Get(%q).Name() = %q", name, e.Name())
		}
	}
	for _, name := range []string{"", "gpt2", "O200K_BASE", "o200k_harmony"} {
		_, err := Get(name)
		if err == nil || !strings.Contains(err.Error(), "unknown encoding") || !strings.Contains(err.Error(), O200kBase) {
			t.Errorf("Get(%q) error = %v, want an unknown-encoding error listing the known ones", name, err)
		}
	}
}

func TestGetBuildsOnce(t *testing.T) {
	var wg sync.WaitGroup
	got := make([]*Encoder, 16)
	for i := range got {
		wg.Go(func() { got[i] = MustGet(Cl100kBase) })
	}
	wg.Wait()
	for _, e := range got {
		if e != got[0] {
			t.Fatal("Get returned different encoders for the same encoding")
		}
	}
}

func TestEncodeConcurrent(t *testing.T) {
	text := englishText(4 << 10)
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		want := e.Encode(text)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if got := e.Encode(text); !slices.Equal(got, want) {
					t.Errorf("%s: concurrent Encode differs", name)
				}
				if got := e.Decode(want); got != text {
					t.Errorf("%s: concurrent Decode differs", name)
				}
			})
		}
		wg.Wait()
	}
}

func TestEncodeSpecialTokenTextIsOrdinary(t *testing.T) {
	e := MustGet(O200kBase)
	ids := e.Encode("<|endoftext|>")
	if len(ids) < 2 || slices.Contains(ids, 199999) {
		t.Errorf("Encode(<|endoftext|>) = %v, want ordinary text tokens", ids)
	}
	if got := e.Decode(ids); got != "<|endoftext|>" {
		t.Errorf("round trip = %q", got)
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	e := MustGet(Cl100kBase)
	if got, want := e.Encode("a\xffb"), e.Encode("a\uFFFDb"); !slices.Equal(got, want) {
		t.Errorf("Encode(a\\xffb) = %v, want %v (invalid byte replaced by U+FFFD)", got, want)
	}
	if got, want := e.Count("a\xffb"), len(e.Encode("a\uFFFDb")); got != want {
		t.Errorf("Count(a\\xffb) = %d, want %d", got, want)
	}
}

// The library drops U+007F (DEL); Encode must not. tiktoken gives DEL the
// byte token 221 in every encoding, and its split patterns keep a DEL with
// the letters after it, or in a run of punctuation.
func TestEncodeDEL(t *testing.T) {
	for _, name := range Encodings() {
		e := MustGet(name)
		enc := func(parts ...string) []int {
			var ids []int
			for _, p := range parts {
				if p == "\x7f" {
					ids = append(ids, 221)
				} else {
					ids = append(ids, e.Encode(p)...)
				}
			}
			return ids
		}
		for _, tc := range []struct {
			text string
			want []int
		}{
			{"\x7f", []int{221}},
			{"\x7f\x7f", []int{221, 221}},
			{"a\x7fb", enc("a", "\x7f", "b")},
			{"hello\x7f world", enc("hello", "\x7f", " world")},
		} {
			if got := e.Encode(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("%s: Encode(%q) = %v, want %v", name, tc.text, got, tc.want)
			}
			if got := e.Count(tc.text); got != len(tc.want) {
				t.Errorf("%s: Count(%q) = %d, want %d", name, tc.text, got, len(tc.want))
			}
			if got := e.Decode(e.Encode(tc.text)); got != tc.text {
				t.Errorf("%s: round trip of %q = %q", name, tc.text, got)
			}
		}
	}
	// "\x7f.b" splits as "\x7f." and "b" (the DEL opens a punctuation run),
	// not as the DEL and ".b", which o200k_base has one token for.
	e := MustGet(O200kBase)
	if len(e.Encode(".b")) != 1 {
		t.Fatalf("o200k_base Encode(.b) = %v, the case assumes one token", e.Encode(".b"))
	}
	want := append(append([]int{221}, e.Encode(".")...), e.Encode("b")...)
	if got := e.Encode("\x7f.b"); !slices.Equal(got, want) {
		t.Errorf("o200k_base Encode(\\x7f.b) = %v, want %v", got, want)
	}
}

func TestToValidUTF8(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ok", "ok"},
		{"a\xffb", "a\uFFFDb"},
		{"\xe3\x81", "\uFFFD"},                 // truncated 3-byte sequence: one subpart
		{"\xe3\x81x", "\uFFFDx"},               // truncated, then ASCII
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate: each byte on its own
		{"\xf0\x9f\x98", "\uFFFD"},             // truncated 4-byte sequence
		{"\xff\xfe", "\uFFFD\uFFFD"},
	} {
		if got := toValidUTF8(tc.in); got != tc.want {
			t.Errorf("toValidUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	e := MustGet(O200kBase)
	// Unknown ids render as U+FFFD and do not spoil their neighbours.
	hello := e.Encode("hello")
	ids := append(append([]int{-1}, hello...), 1<<30)
	if got := e.Decode(ids); got != "\uFFFDhello\uFFFD" {
		t.Errorf("Decode(%v) = %q", ids, got)
	}
	// Chat markers render as their names.
	if got := e.Decode([]int{200006, 200008, 200007}); got != "<|start|><|message|><|end|>" {
		t.Errorf("Decode(markers) = %q", got)
	}
	// A character split across runs reassembles when the runs are joined,
	// which is how a stream of tokens is decoded piece by piece.
	text := "お誕生日おめでとう"
	toks := e.Encode(text)
	var sb strings.Builder
	for _, id := range toks {
		sb.WriteString(e.Decode([]int{id}))
	}
	if sb.String() != text {
		t.Errorf("token-by-token decode = %q, want %q", sb.String(), text)
	}
	if utf8.ValidString(e.Decode(toks[1:2])) {
		t.Errorf("Decode of a partial character is valid UTF-8; want the raw bytes")
	}
}

func TestEncodingForModel(t *testing.T) {
	for _, tc := range []struct {
		model, encoding string
		known           bool
	}{
		{"gpt-4o", O200kBase, true},
		{"gpt-4o-mini", O200kBase, true},
		{"GPT-4.1", O200kBase, true},
		{"gpt-4.1-nano", O200kBase, true},
		{"gpt-5.2-codex", O200kBase, true},
		{"o1", O200kBase, true},
		{"o3-mini", O200kBase, true},
		{"o4-mini", O200kBase, true},
		{"gpt-oss-120b", O200kBase, true},
		{"gpt-4", Cl100kBase, true},
		{"gpt-4-32k", Cl100kBase, true},
		{"gpt-35-turbo", Cl100kBase, true},
		{"gpt-3.5-turbo-0125", Cl100kBase, true},
		{"text-embedding-3-large", Cl100kBase, true},
		{"text-davinci-003", P50kBase, true},
		{"code-search-ada-code-001", R50kBase, true},
		{"davinci", R50kBase, true},
		{"Llama-3.3-70B-Instruct", O200kBase, false},
		{"DeepSeek-R1", O200kBase, false},
	} {
		enc, known := EncodingForModel(tc.model)
		if enc != tc.encoding || known != tc.known {
			t.Errorf("EncodingForModel(%q) = %q, %v; want %q, %v", tc.model, enc, known, tc.encoding, tc.known)
		}
	}
}

func FuzzEncodeDecode(f *testing.F) {
	for _, tc := range knownEncodings {
		f.Add(tc.text)
	}
	f.Add(englishText(300))
	f.Add("  leading spaces\n\n\ttabs\r\n and 'quotes' don't, 123456789 😀👍🏽 𝔘𝔫𝔦𝔠𝔬𝔡𝔢")
	f.Add("<|endoftext|><|im_start|>")
	f.Add("a\x7fb \x7f.b \x7f\x7f\r\n/")
	f.Add("\xe3\x81 \xed\xa0\x80 \xff\x7f")
	encs := []*Encoder{MustGet(O200kBase), MustGet(Cl100kBase)}
	f.Fuzz(func(t *testing.T, text string) {
		for _, e := range encs {
			ids := e.Encode(text)
			if n := e.Count(text); n != len(ids) {
				t.Fatalf("%s: Count(%q) = %d, len(Encode) = %d", e.Name(), text, n, len(ids))
			}
			if utf8.ValidString(text) {
				if got := e.Decode(ids); got != text {
					t.Fatalf("%s: Decode(Encode(%q)) = %q", e.Name(), text, got)
				}
			} else if want := e.Encode(toValidUTF8(text)); !slices.Equal(ids, want) {
				t.Fatalf("%s: Encode(%q) = %v, but %v after toValidUTF8: the replacements differ", e.Name(), text, ids, want)
			}
		}
	})
}

// countUpTo stops past the limit and agrees with Count below it.
func TestCountUpToStopsPastLimit(t *testing.T) {
	e := MustGet(O200kBase)
	text := englishText(20 << 10)
	n := e.Count(text)
	if got := e.countUpTo(text, n); got != n {
		t.Errorf("countUpTo(text, %d) = %d, want %d", n, got, n)
	}
	if got := e.countUpTo(text, 100); got <= 100 || got > 100+64 {
		t.Errorf("countUpTo(text, 100) = %d, want just past 100", got)
	}
	if got := e.countUpTo("", 0); got != 0 {
		t.Errorf("countUpTo of empty text = %d", got)
	}
}
