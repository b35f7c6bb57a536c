package engine

// WorkingBytes estimates the memory one pass over batch sequences of s
// needs at its peak: the model's forward record and backward buffers, its
// weights and their gradients, the inputs and outputs, doubled for a
// profile's second (clipped) backward pass and the garbage collector's
// headroom. A server reserves it against a memory budget before the run
// starts, so it errs high.
func (s Settings) WorkingBytes(batch int) int64 {
	batch = max(batch, 1)
	T, D, K := int64(s.T), int64(s.D), int64(s.K)
	steps := T * int64(batch)
	m := modelOf(s.Cell)
	out := K * (int64(s.Directions())*int64(s.H) + 1) // V and c
	floats := m.workingFloats(s, batch) + steps*(D+K) + 3*out
	return 2 * 8 * floats
}
