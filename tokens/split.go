package tokens

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizers below cut text into the pieces tiktoken's split
// patterns match, one piece per call, without a regular-expression engine.
// Each is written from its pattern's alternatives, tried in order at the
// current position, with the backtracking the pattern implies worked out by
// hand (see the comments). The patterns are those of tiktoken's openai_public.py
// (https://github.com/openai/tiktoken/blob/main/tiktoken_ext/openai_public.py):
//
//	gpt2 (r50k, p50k):  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//	cl100k_base:        (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//	o200k_base:         [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	                   |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	                   |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Character classes follow Go's unicode tables, as the regexp2 engine that
// tiktoken's Go ports use does: \s is unicode.IsSpace, \p{L} unicode.L, and
// so on. Case-insensitive 's also matches U+017F (ſ), whose simple case
// folding is s. Input is valid UTF-8 (Encode replaces ill-formed bytes first).

// Character classes, as bits. Every character has exactly one of cL, cN, cS,
// cO; cNL marks \r and \n (also cS); cU and cW are o200k_base's "upper"
// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and "lower" [\p{Ll}\p{Lm}\p{Lo}\p{M}] sets.
// The end of the text has no bits.
const (
	cL  uint8 = 1 << iota // \p{L}
	cN                    // \p{N}
	cS                    // \s
	cO                    // [^\s\p{L}\p{N}]
	cNL                   // [\r\n]
	cU                    // o200k upper
	cW                    // o200k lower
)

func runeClass(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		switch {
		case unicode.Is(unicode.Lu, r), unicode.Is(unicode.Lt, r):
			return cL | cU
		case unicode.Is(unicode.Ll, r):
			return cL | cW
		default: // Lm, Lo
			return cL | cU | cW
		}
	case unicode.IsNumber(r):
		return cN
	case unicode.IsSpace(r):
		if r == '\r' || r == '\n' {
			return cS | cNL
		}
		return cS
	case unicode.Is(unicode.M, r):
		return cO | cU | cW
	default:
		return cO
	}
}

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for b := range t {
		t[b] = runeClass(rune(b))
	}
	return t
}()

// bmpClass caches runeClass for the Basic Multilingual Plane (64 KiB), built
// on first use: looking a character up in the unicode range tables costs more
// than the rest of the pre-tokenizer's work for it.
var bmpClass = sync.OnceValue(func() *[1 << 16]uint8 {
	var t [1 << 16]uint8
	for r := range t {
		t[r] = runeClass(rune(r))
	}
	return &t
})

// classAt returns the class of the character at s[i:] and its length in
// bytes; 0, 0 at the end of s.
func classAt(s string, i int) (uint8, int) {
	if i >= len(s) {
		return 0, 0
	}
	if b := s[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r < 1<<16 {
		return bmpClass()[r], n
	}
	return runeClass(r), n
}

// runEnd returns the end of the run of characters of class want from i.
func runEnd(s string, i int, want uint8) int {
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if asciiClass[b]&want == 0 {
				return i
			}
			i++
			continue
		}
		c, n := classAt(s, i)
		if c&want == 0 {
			return i
		}
		i += n
	}
	return i
}

// digitsEnd is \p{N}{1,3} once the first digit, ending at i, is taken.
func digitsEnd(s string, i int) int {
	for range 2 {
		c, n := classAt(s, i)
		if c&cN == 0 {
			break
		}
		i += n
	}
	return i
}

// contraction returns the length of the contraction after an apostrophe at
// s[i:] ('s|'t|'re|'ve|'m|'ll|'d without the apostrophe), 0 if none.
// foldCase makes it case-insensitive, as (?i:...), where s also matches ſ.
func contraction(s string, i int, foldCase bool) int {
	if i >= len(s) {
		return 0
	}
	lower := func(b byte) byte {
		if foldCase && 'A' <= b && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	switch lower(s[i]) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if i+1 < len(s) && lower(s[i+1]) == 'e' {
			return 2
		}
	case 'l':
		if i+1 < len(s) && lower(s[i+1]) == 'l' {
			return 2
		}
	case 0xC5: // ſ is C5 BF
		if foldCase && i+1 < len(s) && s[i+1] == 0xBF {
			return 2
		}
	}
	return 0
}

// punctEnd is ` ?[^\s\p{L}\p{N}]+` followed by any run of trail (the
// characters \r, \n and, for o200k_base, /); -1 if it does not match at i,
// whose character has class c and length n.
func punctEnd(s string, i int, c uint8, n int, slash bool) int {
	j := i
	if s[i] == ' ' {
		j = i + 1
		c, n = classAt(s, j)
	}
	if c&cO == 0 {
		return -1
	}
	j = runEnd(s, j+n, cO)
	for j < len(s) && (s[j] == '\r' || s[j] == '\n' || slash && s[j] == '/') {
		j++
	}
	return j
}

// spaceEnd is `\s*[\r\n]+|\s+(?!\S)|\s+` at a whitespace character at i.
func spaceEnd(s string, i int, newlines bool) int {
	e, lastNL, last := i, -1, i
	for e < len(s) {
		c, n := classAt(s, e)
		if c&cS == 0 {
			break
		}
		if c&cNL != 0 {
			lastNL = e
		}
		last = e
		e += n
	}
	// \s*[\r\n]+: \s* gives back characters until a newline follows it,
	// so the match ends after the run's last newline.
	if newlines && lastNL >= 0 {
		return lastNL + 1
	}
	// \s+(?!\S): the whole run at the end of the text; otherwise all but its
	// last character, which is followed by whitespace.
	if e == len(s) || last > i {
		if e == len(s) {
			return e
		}
		return last
	}
	// \s+: a single whitespace character before a non-space.
	return e
}

// splitGPT2 returns the end of the piece starting at i for r50k_base and
// p50k_base.
func splitGPT2(s string, i int) int {
	if s[i] == '\'' {
		if k := contraction(s, i+1, false); k > 0 {
			return i + 1 + k
		}
	}
	c, n := classAt(s, i)
	j := i
	if s[i] == ' ' {
		if c2, n2 := classAt(s, i+1); c2&(cL|cN|cO) != 0 {
			j, c, n = i+1, c2, n2
		}
	}
	switch {
	case c&cL != 0:
		return runEnd(s, j+n, cL)
	case c&cN != 0:
		return runEnd(s, j+n, cN)
	case c&cO != 0:
		return runEnd(s, j+n, cO)
	}
	return spaceEnd(s, i, false)
}

// splitCl100k returns the end of the piece starting at i for cl100k_base.
func splitCl100k(s string, i int) int {
	if s[i] == '\'' {
		if k := contraction(s, i+1, true); k > 0 {
			return i + 1 + k
		}
	}
	c, n := classAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+: the optional character is taken when a
	// letter follows it.
	if c&(cL|cN|cNL) == 0 {
		if c2, n2 := classAt(s, i+n); c2&cL != 0 {
			return runEnd(s, i+n+n2, cL)
		}
	}
	if c&cL != 0 {
		return runEnd(s, i+n, cL)
	}
	if c&cN != 0 {
		return digitsEnd(s, i+n)
	}
	if e := punctEnd(s, i, c, n, false); e >= 0 {
		return e
	}
	return spaceEnd(s, i, true)
}

// splitO200k returns the end of the piece starting at i for o200k_base.
func splitO200k(s string, i int) int {
	c, n := classAt(s, i)
	prefix := c&(cL|cN|cNL) == 0 // may be [^\r\n\p{L}\p{N}]
	// The first two alternatives, each with its optional leading character
	// taken first and then without it.
	if prefix {
		if e := wordLowerEnd(s, i+n); e >= 0 {
			return contractionAfter(s, e)
		}
	}
	if e := wordLowerEnd(s, i); e >= 0 {
		return contractionAfter(s, e)
	}
	if prefix {
		if e := wordUpperEnd(s, i+n); e >= 0 {
			return contractionAfter(s, e)
		}
	}
	if e := wordUpperEnd(s, i); e >= 0 {
		return contractionAfter(s, e)
	}
	if c&cN != 0 {
		return digitsEnd(s, i+n)
	}
	if e := punctEnd(s, i, c, n, true); e >= 0 {
		return e
	}
	return spaceEnd(s, i, true)
}

// wordLowerEnd is [U]*[W]+ at k, U and W being o200k's upper and lower sets;
// -1 if it does not match. U* first takes its whole run [k, u). If a W
// character follows, W+ takes its run from there. Otherwise U* gives back
// characters until W+ can start: at the run's last character t that is also
// in W (Lm, Lo, M); W+ then ends right after t, since what follows t in the
// run is Lu or Lt and what follows the run is not in W.
func wordLowerEnd(s string, k int) int {
	u, tEnd := k, -1
	for {
		c, n := classAt(s, u)
		if c&cU == 0 {
			if c&cW != 0 {
				return runEnd(s, u+n, cW)
			}
			return tEnd
		}
		u += n
		if c&cW != 0 {
			tEnd = u
		}
	}
}

// wordUpperEnd is [U]+[W]* at k; -1 if it does not match.
func wordUpperEnd(s string, k int) int {
	c, n := classAt(s, k)
	if c&cU == 0 {
		return -1
	}
	return runEnd(s, runEnd(s, k+n, cU), cW)
}

// contractionAfter adds o200k's optional case-insensitive contraction at e.
func contractionAfter(s string, e int) int {
	if e < len(s) && s[e] == '\'' {
		if k := contraction(s, e+1, true); k > 0 {
			return e + 1 + k
		}
	}
	return e
}
