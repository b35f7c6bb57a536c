package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// JSON has no NaN or Infinity. gradviz sends a non-finite number as the
// string "NaN", "Infinity" or "-Infinity" (the spellings of JavaScript's
// Number() and Python's float()), so an exploding run reaches the page
// intact. Float, Floats and Matrix are the only encoders of floats on the
// wire.

// Float is a float64 that encodes non-finite values as strings.
type Float float64

// Floats is a series of float64 encoded like []Float.
type Floats []float64

// Matrix is a row-major rows×cols matrix encoded as nested arrays.
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) { return appendFloat(nil, float64(f)), nil }

// MarshalJSON implements json.Marshaler. A nil series encodes as null.
func (fs Floats) MarshalJSON() ([]byte, error) {
	if fs == nil {
		return []byte("null"), nil
	}
	return appendFloats(make([]byte, 0, 2+len(fs)*20), fs), nil
}

func appendFloats(b []byte, fs []float64) []byte {
	b = append(b, '[')
	for i, v := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, v)
	}
	return append(b, ']')
}

// MarshalJSON implements json.Marshaler.
func (m Matrix) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(m.Data)*20)
	b = append(b, '[')
	for r := range m.Rows {
		if r > 0 {
			b = append(b, ',')
		}
		b = appendFloats(b, m.Data[r*m.Cols:(r+1)*m.Cols])
	}
	return append(b, ']'), nil
}

// UnmarshalJSON implements json.Unmarshaler, accepting numbers and the
// three strings.
func (f *Float) UnmarshalJSON(b []byte) error {
	v, err := parseFloatJSON(b)
	*f = Float(v)
	return err
}

// UnmarshalJSON implements json.Unmarshaler.
func (fs *Floats) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*fs = nil
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]float64, len(raw))
	for i, r := range raw {
		v, err := parseFloatJSON(r)
		if err != nil {
			return err
		}
		out[i] = v
	}
	*fs = out
	return nil
}

func parseFloatJSON(b []byte) (float64, error) {
	switch string(b) {
	case `"NaN"`:
		return math.NaN(), nil
	case `"Infinity"`:
		return math.Inf(1), nil
	case `"-Infinity"`:
		return math.Inf(-1), nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("not a number: %s", b)
	}
	return v, nil
}
