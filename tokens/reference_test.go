package tokens

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/tiktoken-go/tokenizer"
)

// refEncoder is tiktoken's algorithm written the plain way, as the reference
// the package's Encoder is held to: the split pattern interpreted by a
// regular-expression engine (regexp2, with the same character tables), then
// byte-pair merging of each piece by the textbook loop over a map of ranks
// read from github.com/tiktoken-go/tokenizer's vocabulary.
//
// lib is that library's own encoder, which this package used before. Its
// compiled copy of the split patterns differs from the patterns in two ways:
// it never matches DEL (U+007F), and in a whitespace run holding two newlines
// apart ("\n  \n") it stops \s*[\r\n]+ at the first newline where the
// pattern (and tiktoken) runs to the last. Encode follows the pattern; the
// tests hold it to lib's ids on all text where lib splits as the pattern does.
type refEncoder struct {
	lib   tokenizer.Codec
	split *regexp2.Regexp // the pattern, interpreted
	ranks map[string]int
}

// refPatterns are tiktoken's split patterns (openai_public.py).
var refPatterns = map[string]string{
	O200kBase:  `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	Cl100kBase: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	P50kBase:   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
	R50kBase:   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
}

var refEncoders sync.Map // name -> *refEncoder

func getRef(t testing.TB, name string) *refEncoder {
	if r, ok := refEncoders.Load(name); ok {
		return r.(*refEncoder)
	}
	lib, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		t.Fatal(err)
	}
	lib.SetErrorMode(tokenizer.ErrorModeReplace)
	// Wrapping the pattern in a group keeps regexp2 from substituting the
	// library's generated matcher, which is looked up by pattern text.
	split, err := regexp2.Compile(`(?:`+refPatterns[name]+`)`, regexp2.None)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := tokenizer.Get(tokenizer.Encoding(name))
	dec.SetErrorMode(tokenizer.ErrorModeNone)
	ranks := make(map[string]int)
	for id, misses := 0, 0; misses < 4096; id++ {
		s, err := dec.Decode([]uint{uint(id)})
		if err != nil {
			misses++
			continue
		}
		misses = 0
		ranks[s] = id
	}
	r := &refEncoder{lib: lib, split: split, ranks: ranks}
	refEncoders.Store(name, r)
	return r
}

func pieces(re *regexp2.Regexp, text string) []string {
	var out []string
	m, err := re.FindStringMatch(text)
	for ; m != nil && err == nil; m, err = re.FindNextMatch(m) {
		out = append(out, m.String())
	}
	if err != nil {
		panic(err)
	}
	return out
}

// Encode is tiktoken's encode_ordinary.
func (r *refEncoder) Encode(text string) []int {
	var out []int
	for _, p := range pieces(r.split, toValidUTF8(text)) {
		if id, ok := r.ranks[p]; ok {
			out = append(out, id)
			continue
		}
		parts := make([]string, 0, len(p))
		for i := range len(p) {
			parts = append(parts, p[i:i+1])
		}
		for {
			best, at := -1, -1
			for i := 0; i+1 < len(parts); i++ {
				if id, ok := r.ranks[parts[i]+parts[i+1]]; ok && (best < 0 || id < best) {
					best, at = id, i
				}
			}
			if at < 0 {
				break
			}
			merged := parts[at] + parts[at+1]
			parts = append(parts[:at+1], parts[at+2:]...)
			parts[at] = merged
		}
		for _, part := range parts {
			out = append(out, r.ranks[part])
		}
	}
	return out
}

// libAgrees reports whether the library splits text as the pattern does:
// whether text holds no DEL and no whitespace run with a newline, then other
// whitespace, then another newline (the two places its compiled pattern
// departs from the pattern).
func libAgrees(text string) bool {
	text = toValidUTF8(text)
	if strings.IndexByte(text, 0x7f) >= 0 {
		return false
	}
	state := 0 // 1: in a run after a newline; 2: then after other whitespace
	for _, r := range text {
		switch {
		case r == '\r' || r == '\n':
			if state == 2 {
				return false
			}
			state = 1
		case unicode.IsSpace(r):
			if state == 1 {
				state = 2
			}
		default:
			state = 0
		}
	}
	return true
}

// libEncode is the library's encoder.
func (r *refEncoder) libEncode(text string) []int {
	ids, _, err := r.lib.Encode(text)
	if err != nil {
		panic(err)
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// mixedCorpus returns deterministic text of every kind the gateway sees, in
// pieces of varied length: English prose, source code, JSON, CJK, emoji with
// modifiers and joiners, combining marks, mixed-case identifiers,
// contractions in every case, numbers, runs of spaces, tabs and newlines
// (CRLF too), control characters, DEL, and invalid UTF-8.
func mixedCorpus(n int) []string {
	r := rand.New(rand.NewPCG(20, 2026))
	frags := []string{
		englishText(600),
		"func (e *Encoder) Count(text string) int {\n\tif text == \"\" {\n\t\treturn 0\n\t}\n\treturn len(e.Encode(text))\n}\n",
		"def main():\n    for i in range(10):\n        print(f\"{i:03d}\")  # comment\r\n\r\n",
		`{"messages":[{"role":"user","content":"Hello"}],"max_tokens":50,"temperature":0.7}`,
		"HTTPServer XMLHttpRequest getHTTPResponseCode iOS macOS ALLCAPS CamelCase snake_case kebab-case",
		"I'm you're he's she'd we'll they've it'S I'M WE'LL THEY'VE 'Re 'sS ſ'ſ 'ſ don'ſ",
		"東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다。お誕生日おめでとう！",
		"Ελληνικά κείμενα και Кириллица ТЕКСТ и עברית وعربي हिन्दी ไทย",
		"😀👍🏽👨‍👩‍👧‍👦🇫🇷 ❤️‍🔥 ✔︎ 1️⃣ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
		"é é ñ ñ a\u0301\u0302b \u0301x \u0301 X\u0301Y ǅungla ǅ ʰʱ ˆa ㄱㄴ",
		"1234567890 3.14159 1,000,000 ٠١٢٣ ½ ⅓ Ⅻ ²³ 0x7fFF 1e-9",
		"   \t\t  \n\n\n   \r\n\r\n \u00a0\u2003\u3000 \v\f \u0085 x  \n  y   ",
		"!!! ??? ... --- === +++ /// \\\\ ||| &&& ;;; ::: @@@ ### $$$ %%% ^^^ *** ((( ))) [[[ ]]] {{{ }}}",
		"a/b/c //comment\n/* block */ path/to/file.go !/\n// url: https://example.com/a?b=c&d=e#f\n/",
		"\x00\x01\x02\x1b[0m\x7f\x7fa\x7f.b \x7fA \x7f1 a\x7f\x7f\n\x7f \x7f",
		"\xff\xfe\xe3\x81 \xed\xa0\x80 \xf0\x9f\x98 abc\xc3 \xc3\xa9 \xe2\x82",
		"<|endoftext|><|im_start|>user<|im_sep|>hi<|im_end|><|endofprompt|>",
		strings.Repeat("ab", 80) + strings.Repeat(" ", 100) + strings.Repeat("中文", 60) + strings.Repeat("=", 70),
		strings.Repeat("antidisestablishmentarianism", 5) + strings.Repeat("z", 150) + strings.Repeat("\n", 40),
	}
	out := make([]string, 0, n)
	for range n {
		var sb strings.Builder
		for k := 1 + r.IntN(6); k > 0; k-- {
			f := frags[r.IntN(len(frags))]
			a := r.IntN(len(f))
			b := a + r.IntN(len(f)-a+1)
			sb.WriteString(f[a:b])
			if r.IntN(4) == 0 {
				sb.WriteString([]string{" ", "\n", "'", "\x7f", "\xff", "’", "\t", "A", "é"}[r.IntN(9)])
			}
		}
		out = append(out, sb.String())
	}
	return append(out, frags...)
}

// The package's Encoder gives exactly the reference's ids, for every
// encoding, on a large mixed corpus, and the previous tokenizer's (the
// library's) wherever the library splits text as the pattern does.
func TestEncodeMatchesReference(t *testing.T) {
	corpus := mixedCorpus(2000)
	total := 0
	for _, name := range Encodings() {
		e, ref := MustGet(name), getRef(t, name)
		bad, libCompared := 0, 0
		for _, text := range corpus {
			total += len(text)
			got, want := e.Encode(text), ref.Encode(text)
			if !slices.Equal(got, want) {
				t.Errorf("%s Encode(%q):\n got %v\nwant %v", name, text, got, want)
				if bad++; bad > 5 {
					t.FailNow()
				}
			}
			if n := e.Count(text); n != len(want) {
				t.Errorf("%s Count(%q) = %d, want %d", name, text, n, len(want))
			}
			if libAgrees(text) {
				libCompared++
				if lib := ref.libEncode(text); !slices.Equal(got, lib) {
					t.Errorf("%s Encode(%q) = %v, library %v", name, text, got, lib)
				}
			}
		}
		if libCompared < len(corpus)/2 {
			t.Errorf("%s: only %d of %d texts compared with the library", name, libCompared, len(corpus))
		}
	}
	if total < 1<<20 {
		t.Errorf("corpus is only %d bytes", total)
	}
}

// Where the library's compiled pattern departs from the pattern, Encode
// gives tiktoken's ids: "\n  \n" is one piece. The ids are those OpenAI's
// tiktoken 0.x (the Rust core, through its npm build) returns.
func TestEncodeNewlineRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		ids  []int
	}{
		{Cl100kBase, "a\n  \nb", []int{64, 14211, 65}},
		{O200kBase, "a\n  \nb", []int{64, 31835, 65}},
		{Cl100kBase, "x\n \n\t\ny", []int{87, 27907, 1602, 88}},
		{O200kBase, "x\n \n\t\ny", []int{87, 47812, 2775, 88}},
	} {
		if got := MustGet(tc.name).Encode(tc.text); !slices.Equal(got, tc.ids) {
			t.Errorf("%s Encode(%q) = %v, want %v", tc.name, tc.text, got, tc.ids)
		}
		if lib := getRef(t, tc.name).libEncode(tc.text); slices.Equal(lib, tc.ids) {
			t.Errorf("%s: the library now encodes %q as tiktoken does; libAgrees can say so", tc.name, tc.text)
		}
	}
}

// The whole corpus at once, so pieces meet across fragment boundaries, and
// twice, so the second pass is served by the piece cache.
func TestEncodeMatchesReferenceWhole(t *testing.T) {
	text := strings.Join(mixedCorpus(400), "")
	for _, name := range []string{O200kBase, Cl100kBase} {
		e, ref := MustGet(name), getRef(t, name)
		want := ref.Encode(text)
		for pass := range 2 {
			if got := e.Encode(text); !slices.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Fatalf("%s pass %d: first difference at token %d of %d/%d", name, pass, i, len(got), len(want))
			}
		}
	}
}

func FuzzEncodeMatchesReference(f *testing.F) {
	for _, text := range mixedCorpus(0) {
		f.Add(text)
	}
	for _, tc := range knownEncodings {
		f.Add(tc.text)
	}
	names := Encodings()
	f.Fuzz(func(t *testing.T, text string) {
		for _, name := range names {
			ref := getRef(t, name)
			got, want := MustGet(name).Encode(text), ref.Encode(text)
			if !slices.Equal(got, want) {
				t.Fatalf("%s Encode(%q) = %v, reference %v", name, text, got, want)
			}
			if libAgrees(text) {
				if lib := ref.libEncode(text); !slices.Equal(got, lib) {
					t.Fatalf("%s Encode(%q) = %v, library %v", name, text, got, lib)
				}
			}
		}
	})
}

// The corpus holds every kind of text named above.
func TestMixedCorpusKinds(t *testing.T) {
	text := strings.Join(mixedCorpus(0), "")
	for _, want := range []string{"\x7f", "\xff", "東京", "👍🏽", "\r\n", "I'M", "\u0301", "   "} {
		if !strings.Contains(text, want) {
			t.Errorf("corpus lacks %q", want)
		}
	}
	if utf8.ValidString(text) {
		t.Error("corpus holds no invalid UTF-8")
	}
}
