package tokens

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// The BPE ranks of each encoding, exactly the files OpenAI publishes for
// tiktoken (https://openaipublic.blob.core.windows.net/encodings/<name>.tiktoken),
// gzip-compressed. They are generated from github.com/tiktoken-go/tokenizer's
// vocabularies; TestRankFilesAreOpenAIs holds them to the hashes tiktoken pins.
//
//go:generate go run ./internal/genranks -out ranks
//go:embed ranks/*.tiktoken.gz
var rankFiles embed.FS

func rankFileGz(name string) ([]byte, error) {
	return rankFiles.ReadFile("ranks/" + name + ".tiktoken.gz")
}

// rankFile returns the decompressed rank file of an encoding.
func rankFile(name string) ([]byte, error) {
	gz, err := rankFileGz(name)
	if err != nil {
		return nil, err
	}
	return gunzip(gz)
}

// readRanks returns the token bytes and offsets of an encoding's rank file,
// as parseRanks does.
func readRanks(name string) (blob string, off []uint32, err error) {
	text, err := rankFile(name)
	if err != nil {
		return "", nil, err
	}
	return parseRanks(text)
}

// gunzip decompresses a gzip file in one allocation of the right size: its
// trailer ends with the length of the data, modulo 2³². It checks that the
// data ends there.
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
		return nil, fmt.Errorf("gzip: data longer than its trailer says, or corrupt")
	}
	return out, nil
}

// parseRanks reads a rank file in tiktoken's format, one "base64(token) rank"
// line per token, into the token bytes end to end (blob) and each id's
// offset in it (off, as vocab holds them). Ranks must ascend; an id the file
// skips gets no bytes.
func parseRanks(text []byte) (blob string, off []uint32, err error) {
	var p rankParser
	if err := p.feed(text, true); err != nil {
		return "", nil, err
	}
	return p.result()
}

// rankParser parses a rank file as it arrives.
type rankParser struct {
	buf  []byte   // the tokens' bytes end to end
	off  []uint32 // as vocab.off
	done int      // how much of the file is parsed
}

// feed parses the lines of text, the file so far, that end in it; with last,
// text is the whole file and a last line without "\n" is parsed too.
func (p *rankParser) feed(text []byte, last bool) error {
	if p.off == nil {
		// A token is at most 3/4 the length of its line, and the lines
		// of OpenAI's files are 16 to 18 bytes long on average.
		p.buf = make([]byte, 0, cap(text)/4*3)
		p.off = make([]uint32, 1, cap(text)/16+2)
	}
	for rest := text[p.done:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 && !last {
			break
		}
		line := rest
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if err := p.line(line); err != nil {
			return err
		}
		p.done = len(text) - len(rest)
	}
	return nil
}

func (p *rankParser) line(line []byte) error {
	b64, rank, err := splitRankLine(line)
	if err != nil {
		return err
	}
	if rank < len(p.off)-1 {
		return fmt.Errorf("rank %d after %d: ranks must ascend", rank, len(p.off)-2)
	}
	for len(p.off) <= rank { // ids the file skips
		p.off = append(p.off, uint32(len(p.buf)))
	}
	if p.buf, err = base64.StdEncoding.AppendDecode(p.buf, b64); err != nil {
		return fmt.Errorf("rank %d: %w", rank, err)
	}
	p.off = append(p.off, uint32(len(p.buf)))
	return nil
}

// result returns the tables parsed, copied out at their exact sizes.
func (p *rankParser) result() (blob string, off []uint32, err error) {
	if len(p.off) <= 1 {
		return "", nil, fmt.Errorf("no ranks")
	}
	return string(p.buf), slices.Clone(p.off), nil
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
