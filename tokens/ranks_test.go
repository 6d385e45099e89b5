package tokens

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
)

// openAIRankHashes are the SHA-256 hashes tiktoken pins for the rank files
// it downloads, the expected_hash= arguments in
// https://github.com/openai/tiktoken/blob/main/tiktoken_ext/openai_public.py.
var openAIRankHashes = map[string]string{
	O200kBase:  "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
	Cl100kBase: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
	P50kBase:   "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
	R50kBase:   "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
}

func TestRankFilesAreOpenAIs(t *testing.T) {
	for _, name := range Encodings() {
		text, err := rankFile(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(text)
		if got, want := hex.EncodeToString(sum[:]), openAIRankHashes[name]; got != want {
			t.Errorf("%s.tiktoken: sha256 %s, tiktoken pins %s", name, got, want)
		}
	}
}

// The gzip headers carry no name or time, so that regenerating the files
// gives the same bytes.
func TestRankFilesHaveBareGzipHeaders(t *testing.T) {
	for _, name := range Encodings() {
		gz, err := rankFileGz(name)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		if h := zr.Header; h.Name != "" || h.Comment != "" || !h.ModTime.IsZero() || h.Extra != nil {
			t.Errorf("%s: gzip header %+v, want it bare", name, h)
		}
	}
}

// Every token of the vocabulary has the id the library gives it, and there
// are no others.
func TestVocabMatchesLibrary(t *testing.T) {
	for _, name := range Encodings() {
		v := MustGet(name).vocab
		ranks := getRef(t, name).ranks
		n := 0
		for id := range uint32(len(v.off) - 1) {
			tok := v.token(id)
			if tok == "" {
				continue
			}
			n++
			if want, ok := ranks[tok]; !ok || uint32(want) != id {
				t.Fatalf("%s: token %q has id %d, library %d (known %v)", name, tok, id, want, ok)
			}
			if got := v.rank(tok); got != id {
				t.Fatalf("%s: rank(%q) = %d, want %d", name, tok, got, id)
			}
		}
		if n != len(ranks) {
			t.Errorf("%s: %d tokens, library %d", name, n, len(ranks))
		}
	}
}

func TestParseRanks(t *testing.T) {
	blob, off, err := parseRanks([]byte("YQ== 0\nYmM= 1\nZGVm 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if blob != "abcdef" {
		t.Errorf("blob %q, want %q", blob, "abcdef")
	}
	if want := []uint32{0, 1, 3, 3, 6}; !slices.Equal(off, want) {
		t.Errorf("off %v, want %v (id 2 skipped)", off, want)
	}
	// The last line need not end in a newline.
	if blob, _, err := parseRanks([]byte("YQ== 0\nYmM= 1")); err != nil || blob != "abc" {
		t.Errorf("no final newline: %q, %v", blob, err)
	}
}

// A file parsed as it arrives, in pieces that end anywhere, gives what it
// gives parsed whole.
func TestRankParserInPieces(t *testing.T) {
	text, err := rankFile(R50kBase)
	if err != nil {
		t.Fatal(err)
	}
	wantBlob, wantOff, err := parseRanks(text)
	if err != nil {
		t.Fatal(err)
	}
	text = text[:len(text)-1] // no final newline
	for _, step := range []int{1 << 16, 12345, 997} {
		var p rankParser
		for n := step; n < len(text); n += step {
			if err := p.feed(text[:n], false); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		if err := p.feed(text, true); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		blob, off, err := p.result()
		if err != nil || blob != wantBlob || !slices.Equal(off, wantOff) {
			t.Errorf("step %d: %d bytes, %d offsets, %v; parsed whole %d bytes, %d offsets", step, len(blob), len(off), err, len(wantBlob), len(wantOff))
		}
	}
}

func TestParseRanksRejects(t *testing.T) {
	for _, text := range []string{
		"",
		"\n",
		"YQ==\n",            // no rank
		"YQ== \n",           // empty rank
		" 0\n",              // empty token
		"YQ= 0\n",           // unpadded
		"YQ== x\n",          // rank not a number
		"YQ== -1\n",         // negative rank
		"YQ== 1234567890\n", // rank too large
		"YQ== 1\nYg== 1\n",  // rank repeated
		"YQ== 1\nYg== 0\n",  // ranks descend
		"Y!== 0\n",          // not base64
		"YQ== 0\r\n",        // CRLF
	} {
		if _, _, err := parseRanks([]byte(text)); err == nil {
			t.Errorf("parseRanks(%q) succeeded, want an error", text)
		}
	}
}

func TestGunzipRejectsTruncated(t *testing.T) {
	gz, err := rankFileGz(R50kBase)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 10, len(gz) / 2, len(gz) - 1} {
		if _, err := gunzip(gz[:n]); err == nil {
			t.Errorf("gunzip of the first %d of %d bytes succeeded", n, len(gz))
		}
	}
	for _, delta := range []int{-1, +1} {
		bad := bytes.Clone(gz)
		size := bad[len(bad)-4:] // little-endian; the low byte is not 0 or 255
		size[0] = byte(int(size[0]) + delta)
		if _, err := gunzip(bad); err == nil {
			t.Errorf("gunzip with the length in the trailer off by %+d succeeded", delta)
		}
	}
}

// Whatever the text, parseRanks returns an error or offsets that ascend
// through the whole blob, in one piece or in any two.
func FuzzParseRanks(f *testing.F) {
	f.Add([]byte("YQ== 0\nYmM= 1\nZGVm 3\n"), 7)
	f.Add([]byte("IQ== 0\nIg== 1"), 3)
	f.Add([]byte("YQ== 1\nYg== 0\n"), 0)
	f.Fuzz(func(t *testing.T, text []byte, cut int) {
		blob, off, err := parseRanks(text)
		if err != nil {
			return
		}
		if off[0] != 0 || int(off[len(off)-1]) != len(blob) || !slices.IsSorted(off) {
			t.Fatalf("offsets %v over a blob of %d bytes", off, len(blob))
		}
		var p rankParser
		if cut = max(cut, 0) % (len(text) + 1); cut < len(text) {
			if err := p.feed(text[:cut:len(text)], false); err != nil {
				t.Fatalf("whole: ok; first %d bytes: %v", cut, err)
			}
		}
		if err := p.feed(text, true); err != nil {
			t.Fatalf("whole: ok; in two pieces: %v", err)
		}
		if b, o, err := p.result(); err != nil || b != blob || !slices.Equal(o, off) {
			t.Fatalf("in two pieces: %q %v %v; whole: %q %v", b, o, err, blob, off)
		}
	})
}
