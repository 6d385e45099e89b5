package sim

import (
	"fmt"

	"github.com/ptu-dev/ptu/tokens"
)

// Tokenizer is the part of a model's tokenizer the simulator needs: it
// counts prompts and decodes the token ids it generates.
type Tokenizer interface {
	Encode(text string) []int
	Decode(ids []int) string
}

var _ Tokenizer = (*tokens.Encoder)(nil)

// DefaultEncoding is the tokenizer used when a Config names none (GPT-4o and later).
const DefaultEncoding = "o200k_base"

// Tiktoken returns the tiktoken encoding called name (o200k_base,
// cl100k_base, p50k_base, p50k_edit, r50k_base), the tokens package's
// encoder. Encoders are shared: they are safe for concurrent use and costly
// to build.
func Tiktoken(name string) (Tokenizer, error) {
	enc, err := tokens.Get(encodingOf(name))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: %w", name, err)
	}
	return enc, nil
}

// encodingOf maps p50k_edit, the edit models' encoding, to p50k_base: the two
// share ranks and split pattern and differ only in special tokens, which
// ordinary text never encodes to.
func encodingOf(name string) string {
	if name == "p50k_edit" {
		return tokens.P50kBase
	}
	return name
}
