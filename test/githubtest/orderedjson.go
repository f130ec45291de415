package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The payload builders edit real examples in place. To keep everything they
// don't touch exactly as GitHub sent it, including key order and number
// spelling, payloads are decoded into this small ordered tree instead of
// map[string]any: a value is nil, bool, json.Number, string, []any or *object.

type object struct {
	keys []string
	vals map[string]any
}

func (o *object) get(k string) any { return o.vals[k] }

// obj returns the member k if it is an object, else nil.
func (o *object) obj(k string) *object {
	v, _ := o.vals[k].(*object)
	return v
}

func (o *object) str(k string) string {
	v, _ := o.vals[k].(string)
	return v
}

func (o *object) has(k string) bool {
	_, ok := o.vals[k]
	return ok
}

// set replaces k's value where it is, or appends k.
func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// setAfter is set, but a new key goes right after key after (or at the end).
func (o *object) setAfter(after, k string, v any) {
	if _, ok := o.vals[k]; ok {
		o.vals[k] = v
		return
	}
	i := len(o.keys)
	for j, key := range o.keys {
		if key == after {
			i = j + 1
			break
		}
	}
	o.keys = append(o.keys[:i], append([]string{k}, o.keys[i:]...)...)
	o.vals[k] = v
}

func newObject(kv ...any) *object {
	o := &object{vals: map[string]any{}}
	for i := 0; i+1 < len(kv); i += 2 {
		o.set(kv[i].(string), kv[i+1])
	}
	return o
}

func num[T int | int64](n T) json.Number { return json.Number(fmt.Sprint(n)) }

func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token() // ']'
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return tok, nil // nil, bool, json.Number, string
	}
}

// encodeOrdered writes v as compact JSON. Like GitHub (and unlike
// encoding/json's default) it does not escape <, > and &.
func encodeOrdered(v any) []byte {
	var b bytes.Buffer
	writeValue(&b, v)
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		b.WriteString(t.String())
	case string:
		writeString(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case *object:
		b.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeValue(b, t.vals[k])
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("githubtest: cannot encode %T", v))
	}
}

func writeString(b *bytes.Buffer, s string) {
	if plain(s) {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // cannot fail for a string
	b.Truncate(b.Len() - 1) // Encode's newline
}

// plain reports whether s is written as it is between quotes: printable
// ASCII without a quote or a backslash, as most of a payload's strings are.
// That saves the test server an encoder per string: CPU that the bench
// would count against tekbot, whose requests it serves on the same cores.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// replaceStrings replaces old with new in every string value under v (keys
// are left alone).
func replaceStrings(v any, old, new string) any {
	switch t := v.(type) {
	case string:
		return strings.ReplaceAll(t, old, new)
	case []any:
		for i := range t {
			t[i] = replaceStrings(t[i], old, new)
		}
	case *object:
		for _, k := range t.keys {
			t.vals[k] = replaceStrings(t.vals[k], old, new)
		}
	}
	return v
}
