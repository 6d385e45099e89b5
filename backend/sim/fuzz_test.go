package sim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/backend"
)

func FuzzDecodeRequests(f *testing.F) {
	f.Add([]byte(chatBody))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":null}],"stop":null}`))
	f.Add([]byte(`{"model":"m","prompt":[[1,2],"x"],"stop":["a","b"]}`))
	f.Add([]byte(`{"prompt":[],"messages":[{"content":[{"type":"image_url"}]}]}`))
	tok, err := Tiktoken(DefaultEncoding)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var chat ChatCompletionRequest
		if json.Unmarshal(body, &chat) == nil {
			if n := CountChat(tok, chat.Messages); n < 3+3*len(chat.Messages) {
				t.Errorf("CountChat = %d for %d messages", n, len(chat.Messages))
			}
		}
		var comp CompletionRequest
		if json.Unmarshal(body, &comp) == nil {
			if _, err := json.Marshal(comp.Prompt); err != nil {
				t.Error(err)
			}
		}
	})
}

// FuzzStop checks that a choice's streamed text is its full text cut where
// a stop sequence first completes, and that its token count ends there.
func FuzzStop(f *testing.F) {
	f.Add(int64(1), ".", "")
	f.Add(int64(2), " the", "e, ")
	f.Add(int64(3), "zzz", "")
	e := realEngine(f, Config{OutputMean: 60})
	f.Fuzz(func(t *testing.T, seed int64, stop1, stop2 string) {
		req := backend.Request{Seed: &seed, MaxTokens: 80}
		full := e.plan(req)[0]
		m := emitter{gen: full.gen, cut: -1}
		var text strings.Builder
		ends := make([]int, full.tokens)
		for k := range full.tokens {
			text.WriteString(m.next())
			ends[k] = text.Len()
		}
		all := text.String()

		req.Stop = []string{stop1, stop2}
		c := e.plan(req)[0]
		m = emitter{gen: c.gen, cut: c.cut}
		var got strings.Builder
		for range c.tokens {
			got.WriteString(m.next())
		}
		// Where generation would have stopped: the first token after which
		// the text contains a stop sequence.
		want, tokens := all, full.tokens
		for k := range full.tokens {
			cut := -1
			for _, s := range req.Stop {
				if i := strings.Index(all[:ends[k]], s); s != "" && i >= 0 && (cut < 0 || i < cut) {
					cut = i
				}
			}
			if cut >= 0 {
				want, tokens = all[:cut], k+1
				break
			}
		}
		if got.String() != want || c.tokens != tokens {
			t.Errorf("stops %q: got %q (%d tokens), want %q (%d tokens)", req.Stop, got.String(), c.tokens, want, tokens)
		}
	})
}
