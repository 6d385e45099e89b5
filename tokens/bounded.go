package tokens

import (
	"unicode"
	"unicode/utf8"
)

// Bounded counting: a request whose prompt is far past the context window is
// refused, and counting all of a 15 MiB prompt to say so costs seconds of CPU
// and memory many times its size. CountUpTo counts a piece at a time and
// stops once the count is past the limit.
const (
	countPiece = 16 << 10 // bytes counted at a time
	countRun   = 32 << 10 // the longest run searched for a clean cut before cutting anywhere
	// cutSlack is how far a cut at an arbitrary character may move the
	// count: only the pre-tokenization piece that the cut splits is
	// tokenized differently.
	cutSlack = 8
)

// CountUpTo counts the tokens of text as Count does, a piece at a time, and
// stops once the count is certainly above limit. It returns the count and
// false, or, once past limit, the count so far and true.
//
// Pieces end before a space that follows and precedes a non-space
// character: every encoding's pre-tokenization starts a piece there, so the
// pieces' counts add up to Count's. Where a run of countRun bytes has no such
// space it is cut at a character boundary, and the count may differ from
// Count's by a few tokens per such cut; over is true only when the count
// exceeds limit by more than that.
//
// A first pass, a plain scan, counts the clean cuts of the whole text: each
// begins a piece, and every piece is at least one token, so a text of
// prose far past the limit is refused without tokenizing any of it.
func (e *Encoder) CountUpTo(text string, limit int) (n int, over bool) {
	if len(text) > limit {
		if pieces := cleanCuts(text) + 1; pieces > limit {
			return pieces, true
		}
	}
	cuts := 0
	for len(text) > 0 {
		cut, clean := nextCut(text)
		if !clean {
			cuts++
		}
		// Each piece stops counting once the total is past the bound too.
		n += e.countUpTo(text[:cut], max(0, limit+cuts*cutSlack-n))
		text = text[cut:]
		if n > limit+cuts*cutSlack {
			return n, true
		}
	}
	return n, false
}

// cleanCuts counts the spaces of text between two non-space characters.
func cleanCuts(text string) int {
	n := 0
	for i := 1; i < len(text)-1; i++ {
		if text[i] == ' ' && text[i-1] != ' ' && text[i+1] != ' ' && clean(text, i) {
			n++
		}
	}
	return n
}

// clean reports whether the space at i is between two non-space characters.
func clean(text string, i int) bool {
	before, _ := utf8.DecodeLastRuneInString(text[:i])
	after, _ := utf8.DecodeRuneInString(text[i+1:])
	return !unicode.IsSpace(before) && !unicode.IsSpace(after)
}

// nextCut is where the next piece of text ends, and whether the cut is clean
// (see CountUpTo).
func nextCut(text string) (int, bool) {
	if len(text) <= countPiece {
		return len(text), true
	}
	end := min(len(text), countRun)
	for i := countPiece; i < end-1; i++ {
		if text[i] == ' ' && clean(text, i) {
			return i, true
		}
	}
	if end == len(text) {
		return end, true
	}
	for end > countPiece && !utf8.RuneStart(text[end]) {
		end--
	}
	return end, false
}
