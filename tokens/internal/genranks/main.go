// Command genranks writes the BPE rank files the tokens package embeds, in
// tiktoken's own format (one "base64(token bytes) rank" line per token, in
// rank order, as OpenAI publishes them at
// https://openaipublic.blob.core.windows.net/encodings/<name>.tiktoken),
// gzip-compressed. The ranks are read from github.com/tiktoken-go/tokenizer's
// embedded vocabularies. The gzip header carries no name or time, so running
// it again with the same Go release gives the same bytes.
//
// Usage (from the tokens directory, as its go:generate line does):
//
//	go run ./internal/genranks -out ranks
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tiktoken-go/tokenizer"
)

var encodings = []string{"o200k_base", "cl100k_base", "p50k_base", "r50k_base"}

func main() {
	out := flag.String("out", "ranks", "directory to write <encoding>.tiktoken.gz into")
	flag.Parse()
	for _, name := range encodings {
		if err := write(*out, name); err != nil {
			log.Fatalf("genranks: %s: %v", name, err)
		}
	}
}

func write(dir, name string) error {
	text, err := rankFile(name)
	if err != nil {
		return err
	}
	gz, err := compress(text)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".tiktoken.gz"), gz, 0o644)
}

// rankFile returns the encoding's ranks in tiktoken's format. The library
// keeps no list of its ids, so each id is decoded in turn until 4096 in a
// row are unknown, past the largest.
func rankFile(name string) ([]byte, error) {
	codec, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		return nil, err
	}
	codec.SetErrorMode(tokenizer.ErrorModeNone)
	var buf bytes.Buffer
	for id, misses := 0, 0; misses < 4096; id++ {
		tok, err := codec.Decode([]uint{uint(id)})
		if err != nil || tok == "" {
			misses++
			continue
		}
		misses = 0
		buf.WriteString(base64.StdEncoding.EncodeToString([]byte(tok)))
		buf.WriteByte(' ')
		buf.WriteString(strconv.Itoa(id))
		buf.WriteByte('\n')
	}
	if buf.Len() == 0 {
		return nil, fmt.Errorf("no tokens")
	}
	return buf.Bytes(), nil
}

// compress gzips b with a zero header (no name, no modification time).
func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
