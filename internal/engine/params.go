package engine

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// CellWeights holds the weights of one chain of cells. Gate blocks are
// stacked in the order of Cell.GateNames, each block H rows tall.
type CellWeights struct {
	Wx  []float64 // (gates·H)×D, row-major
	Wh  []float64 // (gates·H)×H, row-major
	B   []float64 // gates·H
	BhN []float64 // GRU only: the bias inside r ⊙ (Wh_n h + bh_n); nil otherwise
}

// Params holds every weight of a model. All slices are views of Data, so
// an optimizer or a norm can treat the model as one vector.
type Params struct {
	Cell    Cell
	H, D, K int
	Dirs    int // 1, or 2 for a bidirectional recurrent model
	// Bidir is the setting bidir: a second chain for a recurrent model
	// (Dirs is 2), no causal mask for attention.
	Bidir bool

	// Chain[0] reads t = 1..T; Chain[1], present when Dirs == 2, reads
	// t = T..1.
	Chain [2]CellWeights
	V     []float64 // K×(Dirs·H): o_t = V [s_t; s'_t] + c
	C     []float64 // K

	Data []float64
}

// NewParams returns zero-valued parameters of the given shape.
func NewParams(cell Cell, hidden, inputs, classes, dirs int) *Params {
	p := &Params{Cell: cell, H: hidden, D: inputs, K: classes, Dirs: dirs}
	blocks := p.layout()
	last := blocks[len(blocks)-1]
	p.Data = make([]float64, last.start+last.rows*last.cols)
	for _, bl := range blocks {
		if bl.dst != nil {
			*bl.dst = p.Data[bl.start : bl.start+bl.rows*bl.cols : bl.start+bl.rows*bl.cols]
		}
	}
	return p
}

// block is one named weight array inside Params.Data.
type block struct {
	name       string     // "Wx", "Wh", "b", "bh_n", "V", "c"; "rev." prefixed for chain 1
	dst        *[]float64 // the field that views it, or nil
	start      int
	rows, cols int
}

// layout returns the arrays of p in storage order: the model's own (per
// chain Wx, Wh, b, and bh_n for the GRU; Wx, b, Wq, Wk, Wv for
// attention), then V and c.
func (p *Params) layout() []block {
	var blocks []block
	at := 0
	add := func(name string, dst *[]float64, rows, cols int) {
		blocks = append(blocks, block{name, dst, at, rows, cols})
		at += rows * cols
	}
	modelOf(p.Cell).layout(p, add)
	add("V", &p.V, p.K, p.Dirs*p.H)
	add("c", &p.C, p.K, 1)
	return blocks
}

// Block is one named weight array of a model, a view of Params.Data.
type Block struct {
	Name       string // "Wx", "Wh", "b", "bh_n", "Wq", "V", "c"; "rev." prefixed for a reverse chain
	Rows, Cols int
	Data       []float64
}

// Vector reports whether the block is a vector (a bias: b, bh_n, c)
// rather than a matrix; as in the equations, vectors have lower-case
// names.
func (b Block) Vector() bool {
	name := b.Name[strings.LastIndexByte(b.Name, '.')+1:]
	return name != "" && name[0] >= 'a' && name[0] <= 'z'
}

// Blocks returns the weight arrays of p in storage order.
func (p *Params) Blocks() []Block {
	var out []Block
	for _, bl := range p.layout() {
		out = append(out, Block{bl.name, bl.rows, bl.cols, p.Data[bl.start : bl.start+bl.rows*bl.cols]})
	}
	return out
}

// Clone returns a deep copy of p.
func (p *Params) Clone() *Params {
	q := NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
	q.Bidir = p.Bidir
	copy(q.Data, p.Data)
	return q
}

// Gate returns rows [g·H, (g+1)·H) of a gate-stacked matrix with cols
// columns, or of a bias vector when cols is 1.
func (p *Params) Gate(m []float64, gate, cols int) []float64 {
	return m[gate*p.H*cols : (gate+1)*p.H*cols]
}

// InitParams draws the parameters for s. Each matrix has its own random
// stream derived from the seed and the matrix's name, so changing T, the
// activation or the gain never redraws the underlying numbers: gain only
// scales them, and a longer sequence only appends steps.
func InitParams(s Settings) *Params {
	p := NewParams(s.Cell, s.H, s.D, s.K, s.Directions())
	p.Bidir = s.Bidir
	modelOf(s.Cell).init(p, s)
	initMatrix(p.V, s.K, p.Dirs*s.H, s.Init, 1, stream(s.Seed, "V"))
	return p
}

func chainTag(d int) string {
	if d == 1 {
		return "/rev/"
	}
	return "/"
}

// stream returns the random source for one named quantity of a run.
func stream(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// initMatrix fills the rows×cols matrix dst with the scheme at the gain.
// Fan-in is cols. For non-square matrices, identity falls back to
// gaussian (IRNN initialises only the recurrent matrix to I).
func initMatrix(dst []float64, rows, cols int, scheme InitScheme, gain float64, rng *rand.Rand) {
	fanIn, fanOut := float64(cols), float64(rows)
	switch scheme {
	case InitIdentity:
		if rows == cols {
			clear(dst)
			for i := range rows {
				dst[i*cols+i] = gain
			}
			return
		}
		fillNormal(dst, gain/math.Sqrt(fanIn), rng)
	case InitGaussian:
		fillNormal(dst, gain/math.Sqrt(fanIn), rng)
	case InitHe:
		fillNormal(dst, gain*math.Sqrt(2/fanIn), rng)
	case InitUniform:
		fillUniform(dst, gain*math.Sqrt(3/fanIn), rng)
	case InitXavier:
		fillUniform(dst, gain*math.Sqrt(6/(fanIn+fanOut)), rng)
	case InitOrthogonal:
		fillOrthogonal(dst, rows, cols, gain, rng)
	default:
		panic("engine: unknown init scheme " + string(scheme))
	}
}

func fillNormal(dst []float64, std float64, rng *rand.Rand) {
	for i := range dst {
		dst[i] = std * rng.NormFloat64()
	}
}

func fillUniform(dst []float64, limit float64, rng *rand.Rand) {
	for i := range dst {
		dst[i] = limit * (2*rng.Float64() - 1)
	}
}

// fillOrthogonal sets dst to gain·Q where Q has orthonormal rows or
// columns (whichever are fewer), taken from the QR factorisation of a
// Gaussian matrix with the signs fixed so that Q is Haar-distributed
// (Mezzadri 2007).
func fillOrthogonal(dst []float64, rows, cols int, gain float64, rng *rand.Rand) {
	tall, wide := rows, cols
	if rows < cols {
		tall, wide = cols, rows
	}
	z := mat.NewDense(tall, wide, nil)
	fillNormal(z.RawMatrix().Data, 1, rng)
	var qr mat.QR
	qr.Factorize(z)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	for i := range rows {
		for j := range cols {
			ti, tj := i, j
			if rows < cols {
				ti, tj = j, i
			}
			v := q.At(ti, tj)
			if r.At(tj, tj) < 0 {
				v = -v
			}
			dst[i*cols+j] = gain * v
		}
	}
}

// paramName returns a readable name for index i of Data, such as
// "Wh.f[3,1]" or "rev.b.g[2]", for error messages.
func (p *Params) paramName(i int) string {
	gates := p.Cell.GateNames()
	for _, bl := range p.layout() {
		n := bl.rows * bl.cols
		if i < bl.start || i >= bl.start+n {
			continue
		}
		off := i - bl.start
		row, col := off/bl.cols, off%bl.cols
		gate := ""
		if gates != nil && bl.rows == len(gates)*p.H {
			gate = "." + gates[row/p.H]
			row %= p.H
		}
		if bl.cols == 1 {
			return fmt.Sprintf("%s%s[%d]", bl.name, gate, row)
		}
		return fmt.Sprintf("%s%s[%d,%d]", bl.name, gate, row, col)
	}
	return fmt.Sprintf("θ[%d]", i)
}
