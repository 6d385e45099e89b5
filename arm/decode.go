package arm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/ptu-dev/ptu"
)

// decodeBody decodes the request body into v. Unknown fields are ignored, as
// ARM ignores them; wrong types, malformed JSON, trailing data and bodies over
// the body limit are InvalidRequestContent errors naming the field and the
// problem, or RequestEntityTooLarge.
// An empty body is an error unless optional is set, when v is left as it is.
func decodeBody(r *http.Request, v any, optional bool) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return invalidContent("", "The request content could not be read: %v.", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return invalidContent("", "The request content is empty; a JSON object is required.")
	}
	if string(bytes.TrimSpace(data)) == "null" && !optional {
		return invalidContent("", "The request content was invalid and could not be deserialized: the request content must be an object, not null.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err, data)
	}
	if path, ok := repeatedKey(data); ok {
		return invalidContent(path, "The request content was invalid and could not be deserialized: the property '%s' is given more than once (property names are compared without regard to case).", path)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidContent("", "The request content was invalid and could not be deserialized: unexpected data after the JSON object at offset %d.", dec.InputOffset())
	}
	return nil
}

// repeatedKey finds an object key given twice in data, compared without
// regard to case, and returns its path (sku.capacity). Go's decoder would
// take the last of them and match "CAPACITY" to capacity; another reader
// of the same body (a proxy, a policy engine, an audit log) may take the
// first or the exact-case one, so such a body is refused rather than read
// one way. data is valid JSON (it has just been decoded).
func repeatedKey(data []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func(path string) (string, bool) // reads one value
	walk = func(path string) (string, bool) {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return "", false
				}
				k, _ := kt.(string)
				p := k
				if path != "" {
					p = path + "." + k
				}
				fold := strings.ToLower(strings.ToUpper(k)) // as strings.EqualFold compares
				if seen[fold] {
					return p, true
				}
				seen[fold] = true
				if p, dup := walk(p); dup {
					return p, true
				}
			}
			_, _ = dec.Token() // }
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if p, dup := walk(fmt.Sprintf("%s[%d]", path, i)); dup {
					return p, true
				}
			}
			_, _ = dec.Token() // ]
		}
		return "", false
	}
	return walk("")
}

// checkMediaType refuses a body declared as something other than JSON, as
// ARM does; a body without a Content-Type is read as JSON.
func checkMediaType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return ptu.Errorf(ptu.CodeUnsupportedMediaType, "The content media type '%s' is not supported. Only 'application/json' is supported.", ct)
}

// tooLarge is the error for a body over the limit of limit bytes.
func tooLarge(limit int64) error {
	return ptu.Errorf(ptu.CodeRequestEntityTooLarge, "The request content is larger than the limit of %d bytes.", limit)
}

func invalidContent(target, format string, args ...any) error {
	return &ptu.Error{Code: ptu.CodeInvalidRequestContent, Message: fmt.Sprintf(format, args...), Target: target}
}

func describeJSONError(err error, data []byte) error {
	const prefix = "The request content was invalid and could not be deserialized: "
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalidContent("", prefix+"%s at offset %d.", syn.Error(), syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidContent("", prefix+"the request content must be %s, not %s.", kindName(typ.Type), typ.Value)
		}
		return invalidContent(typ.Field, prefix+"'%s' must be %s, not %s (offset %d).", typ.Field, kindName(typ.Type), typ.Value, typ.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidContent("", prefix+"the JSON ends unexpectedly at offset %d.", len(data))
	}
	return invalidContent("", prefix+"%v.", err)
}

// kindName describes a Go type in JSON terms.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + strings.ToLower(t.Kind().String())
}
