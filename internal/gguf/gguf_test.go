package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// reader decodes what File writes, following the specification
// independently of the writer, to check the bytes a loader sees.
type reader struct {
	b   []byte
	off int
	t   *testing.T
}

func (r *reader) next(n int) []byte {
	if r.off+n > len(r.b) {
		r.t.Fatalf("read past the end at %d (+%d of %d)", r.off, n, len(r.b))
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.next(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.next(8)) }
func (r *reader) str() string { return string(r.next(int(r.u64()))) }
func (r *reader) scalar(typ uint32) any {
	switch typ {
	case typeUint8, typeInt8, typeBool:
		return r.next(1)[0]
	case typeUint16, typeInt16:
		return binary.LittleEndian.Uint16(r.next(2))
	case typeUint32, typeInt32:
		return r.u32()
	case typeFloat32:
		return math.Float32frombits(r.u32())
	case typeUint64, typeInt64, typeFloat64:
		return r.u64()
	case typeString:
		return r.str()
	}
	r.t.Fatalf("unknown value type %d at %d", typ, r.off)
	return nil
}

func (r *reader) value() any {
	typ := r.u32()
	if typ != typeArray {
		return r.scalar(typ)
	}
	et, n := r.u32(), r.u64()
	out := make([]any, n)
	for i := range out {
		out[i] = r.scalar(et)
	}
	return out
}

type tensorInfo struct {
	dims   []uint64
	typ    uint32
	offset uint64
}

func TestTinyLlamaFile(t *testing.T) {
	f, err := Tiny.File()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := f.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d bytes, %v; buffer holds %d", n, err, buf.Len())
	}
	r := &reader{b: buf.Bytes(), t: t}
	if magic := string(r.next(4)); magic != "GGUF" {
		t.Fatalf("magic %q", magic)
	}
	if v := r.u32(); v != 3 {
		t.Fatalf("version %d, want 3", v)
	}
	nt, nkv := r.u64(), r.u64()
	md := map[string]any{}
	for range nkv {
		k := r.str()
		md[k] = r.value()
	}
	for k, want := range map[string]any{
		"general.architecture": "llama", "llama.block_count": uint32(2), "llama.embedding_length": uint32(64),
		"llama.attention.head_count": uint32(4), "llama.feed_forward_length": uint32(128),
		"tokenizer.ggml.model": "llama", "tokenizer.ggml.eos_token_id": uint32(2), "general.alignment": uint32(32),
	} {
		if md[k] != want {
			t.Errorf("%s = %v (%T), want %v", k, md[k], md[k], want)
		}
	}
	toks := md["tokenizer.ggml.tokens"].([]any)
	if toks[0] != "<unk>" || toks[1] != "<s>" || toks[2] != "</s>" || toks[3] != "<0x00>" || toks[258] != "<0xFF>" || toks[FirstTextToken] != "▁" {
		t.Errorf("vocabulary starts %v … %v %v", toks[:4], toks[258], toks[FirstTextToken])
	}
	if len(md["tokenizer.ggml.scores"].([]any)) != len(toks) || len(md["tokenizer.ggml.token_type"].([]any)) != len(toks) {
		t.Error("scores or types do not match the tokens")
	}
	seen := map[string]bool{}
	for _, tk := range toks {
		if seen[tk.(string)] {
			t.Errorf("token %q twice", tk)
		}
		seen[tk.(string)] = true
	}
	for _, w := range []string{"▁h", "▁he", "▁hel", "▁hell", "▁hello", "a", "~"} {
		if !seen[w] {
			t.Errorf("piece %q missing", w)
		}
	}

	infos := map[string]tensorInfo{}
	var order []string
	for range nt {
		name := r.str()
		nd := r.u32()
		ti := tensorInfo{dims: make([]uint64, nd)}
		for i := range ti.dims {
			ti.dims[i] = r.u64()
		}
		ti.typ, ti.offset = r.u32(), r.u64()
		infos[name] = ti
		order = append(order, name)
	}
	if want := 3 + 2*9; len(infos) != want {
		t.Fatalf("%d tensors, want %d", len(infos), want)
	}
	data := (r.off + Alignment - 1) / Alignment * Alignment
	nv := uint64(len(toks))
	for name, dims := range map[string][]uint64{
		"token_embd.weight": {64, nv}, "output.weight": {64, nv}, "output_norm.weight": {64},
		"blk.1.attn_q.weight": {64, 64}, "blk.0.ffn_down.weight": {128, 64}, "blk.1.ffn_up.weight": {64, 128},
	} {
		if got := infos[name].dims; fmt.Sprint(got) != fmt.Sprint(dims) {
			t.Errorf("%s dims %v, want %v", name, got, dims)
		}
	}
	end := uint64(0)
	for _, name := range order {
		ti := infos[name]
		if ti.typ != ggmlTypeF32 || ti.offset%Alignment != 0 || ti.offset < end {
			t.Errorf("%s: type %d offset %d (previous tensor ended at %d)", name, ti.typ, ti.offset, end)
		}
		size := uint64(4)
		for _, d := range ti.dims {
			size *= d
		}
		end = ti.offset + size
	}
	if got, want := uint64(buf.Len()), uint64(data)+align(end); got != want {
		t.Errorf("file is %d bytes, want %d (data at %d, tensors end at %d)", got, want, data, end)
	}

	// The output rows of special and byte tokens are zero; the text tokens' are not.
	out := infos["output.weight"]
	row := func(tok uint64) []byte {
		at := uint64(data) + out.offset + tok*64*4
		return buf.Bytes()[at : at+64*4]
	}
	for _, tok := range []uint64{0, 1, 2, 3, FirstTextToken - 1} {
		if !bytes.Equal(row(tok), make([]byte, 64*4)) {
			t.Errorf("output row of token %d is not zero", tok)
		}
	}
	if bytes.Equal(row(FirstTextToken), make([]byte, 64*4)) {
		t.Error("output row of the first text token is zero")
	}
	norm := infos["output_norm.weight"]
	if v := math.Float32frombits(binary.LittleEndian.Uint32(buf.Bytes()[uint64(data)+norm.offset:])); v != 1 {
		t.Errorf("output norm %v, want 1", v)
	}

	// The same seed writes the same bytes.
	var again bytes.Buffer
	f2, _ := Tiny.File()
	if _, err := f2.WriteTo(&again); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("two writes of the same model differ")
	}
}

func TestBadShapes(t *testing.T) {
	if _, err := (Llama{Layers: 1, Hidden: 10, Heads: 3, FeedForward: 8}).File(); err == nil {
		t.Error("hidden 10 over 3 heads accepted")
	}
	f := &File{}
	f.Add(Tensor{Name: "x", Dims: []uint64{2, 2}, Data: []float32{1}})
	if _, err := f.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("a tensor whose data does not fill its dims was written")
	}
	f = &File{}
	f.Set("k", 3.5)
	if _, err := f.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("a float64 metadata value was written")
	}
}
