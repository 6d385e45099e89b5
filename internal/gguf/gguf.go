// Package gguf writes GGUF v3 model files, the format llama.cpp and Ollama
// load, and makes small random-weight llama models with them: real engines
// generate real tokens from such a model at real speed, with no download.
//
// The format is the one specified in ggml's docs/gguf.md
// (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): a header
// (magic, version 3, tensor count, metadata count), the metadata key/value
// pairs, the tensor infos, padding to the alignment, then the tensor data,
// every tensor aligned. Everything is little-endian.
package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Metadata value types (gguf_metadata_value_type).
const (
	typeUint8   = 0
	typeInt8    = 1
	typeUint16  = 2
	typeInt16   = 3
	typeUint32  = 4
	typeInt32   = 5
	typeFloat32 = 6
	typeBool    = 7
	typeString  = 8
	typeArray   = 9
	typeUint64  = 10
	typeInt64   = 11
	typeFloat64 = 12
)

// ggmlTypeF32 is ggml_type GGML_TYPE_F32.
const ggmlTypeF32 = 0

// Alignment is the default general.alignment.
const Alignment = 32

// File is a GGUF file being assembled: metadata in insertion order and F32 tensors.
type File struct {
	kvs     []kv
	tensors []Tensor
}

type kv struct {
	key   string
	value any
}

// Tensor is one F32 tensor. Dims are in ggml's order: Dims[0] is the
// number of elements of a row (for a weight matrix, the input width).
type Tensor struct {
	Name string
	Dims []uint64
	Data []float32
}

// Set adds a metadata pair. A value is a uint32, int32, uint64, float32,
// bool, string, []string, []float32 or []int32.
func (f *File) Set(key string, value any) {
	f.kvs = append(f.kvs, kv{key, value})
}

// Add adds a tensor; its data length must match its dims.
func (f *File) Add(t Tensor) {
	f.tensors = append(f.tensors, t)
}

// WriteTo writes the file.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<16)}
	e := &encoder{w: cw}
	e.raw([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(f.tensors)))
	e.u64(uint64(len(f.kvs)))
	for _, p := range f.kvs {
		e.str(p.key)
		e.value(p.value)
	}
	var offset uint64
	for _, t := range f.tensors {
		n := uint64(1)
		for _, d := range t.Dims {
			n *= d
		}
		if n != uint64(len(t.Data)) {
			return cw.n, fmt.Errorf("gguf: tensor %s: dims %v hold %d values, data has %d", t.Name, t.Dims, n, len(t.Data))
		}
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(ggmlTypeF32)
		e.u64(offset)
		offset = align(offset + 4*n)
	}
	e.pad()
	for _, t := range f.tensors {
		for _, v := range t.Data {
			e.u32(math.Float32bits(v))
		}
		e.pad()
	}
	if e.err == nil {
		e.err = cw.w.(*bufio.Writer).Flush()
	}
	return cw.n, e.err
}

func align(n uint64) uint64 { return (n + Alignment - 1) / Alignment * Alignment }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type encoder struct {
	w   *countWriter
	err error
	buf [8]byte
}

func (e *encoder) raw(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.raw(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

// pad writes zeros up to the next multiple of the alignment.
func (e *encoder) pad() {
	if n := align(uint64(e.w.n)) - uint64(e.w.n); n > 0 {
		e.raw(make([]byte, n))
	}
}

func (e *encoder) value(v any) {
	switch v := v.(type) {
	case uint32:
		e.u32(typeUint32)
		e.u32(v)
	case int32:
		e.u32(typeInt32)
		e.u32(uint32(v))
	case uint64:
		e.u32(typeUint64)
		e.u64(v)
	case float32:
		e.u32(typeFloat32)
		e.u32(math.Float32bits(v))
	case bool:
		e.u32(typeBool)
		b := byte(0)
		if v {
			b = 1
		}
		e.raw([]byte{b})
	case string:
		e.u32(typeString)
		e.str(v)
	case []string:
		e.u32(typeArray)
		e.u32(typeString)
		e.u64(uint64(len(v)))
		for _, s := range v {
			e.str(s)
		}
	case []float32:
		e.u32(typeArray)
		e.u32(typeFloat32)
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u32(math.Float32bits(x))
		}
	case []int32:
		e.u32(typeArray)
		e.u32(typeInt32)
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u32(uint32(x))
		}
	default:
		if e.err == nil {
			e.err = fmt.Errorf("gguf: unsupported metadata value %T", v)
		}
	}
}

// Keys returns the metadata keys in order, for tests.
func (f *File) Keys() []string {
	out := make([]string, len(f.kvs))
	for i, p := range f.kvs {
		out[i] = p.key
	}
	return out
}
