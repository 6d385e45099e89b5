package tokens

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
)

// The BPE ranks of each encoding, exactly the files OpenAI publishes for
// tiktoken (https://openaipublic.blob.core.windows.net/encodings/<name>.tiktoken),
// gzip-compressed. They are generated from github.com/tiktoken-go/tokenizer's
// vocabularies; TestRankFilesAreOpenAIs holds them to the hashes tiktoken pins.
//
//go:generate go run ./internal/genranks -out ranks
//go:embed ranks/*.tiktoken.gz
var rankFiles embed.FS

// rankFile returns the decompressed rank file of an encoding.
func rankFile(name string) ([]byte, error) {
	gz, err := rankFiles.ReadFile("ranks/" + name + ".tiktoken.gz")
	if err != nil {
		return nil, err
	}
	return gunzip(gz)
}

// gunzip decompresses a gzip file in one allocation of the right size: its
// trailer ends with the length of the data, modulo 2³².
func gunzip(gz []byte) ([]byte, error) {
	if len(gz) < 18 {
		return nil, fmt.Errorf("gzip file of %d bytes is truncated", len(gz))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	out := make([]byte, binary.LittleEndian.Uint32(gz[len(gz)-4:]))
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	// Reading past the end checks the CRC and that no data is left.
	if n, err := zr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return nil, fmt.Errorf("gzip: data longer than its trailer says")
	}
	return out, nil
}

// parseRanks reads a rank file in tiktoken's format, one "base64(token) rank"
// line per token, into the token bytes end to end (blob) and each id's
// offset in it (off, as vocab holds them). Ranks must ascend; an id the file
// skips gets no bytes.
func parseRanks(text []byte) (blob string, off []uint32, err error) {
	// A token is at most 3/4 the length of its line, and there is one id
	// per line unless the file skips some.
	buf := make([]byte, 0, len(text)/4*3)
	off = make([]uint32, 1, bytes.Count(text, []byte{'\n'})+2)
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		b64, rank, err := splitRankLine(line)
		if err != nil {
			return "", nil, err
		}
		if rank < len(off)-1 {
			return "", nil, fmt.Errorf("rank %d after %d: ranks must ascend", rank, len(off)-2)
		}
		for len(off) <= rank { // ids the file skips
			off = append(off, uint32(len(buf)))
		}
		if buf, err = base64.StdEncoding.AppendDecode(buf, b64); err != nil {
			return "", nil, fmt.Errorf("rank %d: %w", rank, err)
		}
		off = append(off, uint32(len(buf)))
	}
	if len(off) == 1 {
		return "", nil, fmt.Errorf("no ranks")
	}
	// The blob is copied out at its exact size; buf is dropped.
	return string(buf), off, nil
}

// splitRankLine splits "base64 rank" into its fields.
func splitRankLine(line []byte) (b64 []byte, rank int, err error) {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || sp%4 != 0 {
		return nil, 0, fmt.Errorf("rank line %q: want base64 token, space, rank", line)
	}
	b64, digits := line[:sp], line[sp+1:]
	if len(digits) == 0 || len(digits) > 9 {
		return nil, 0, fmt.Errorf("rank line %q: bad rank", line)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, 0, fmt.Errorf("rank line %q: bad rank", line)
		}
		rank = rank*10 + int(c-'0')
	}
	return b64, rank, nil
}
