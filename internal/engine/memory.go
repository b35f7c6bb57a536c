package engine

// WorkingBytes estimates the memory one pass over batch sequences of s
// needs at its peak: the forward tape (states, gate values, cell states),
// the backward pass's per-step gate gradients, the parameters and their
// gradients, and the inputs, doubled for a profile's second (clipped)
// backward pass and the garbage collector's headroom. A server reserves
// it against a memory budget before the run starts, so it errs high.
func (s Settings) WorkingBytes(batch int) int64 {
	batch = max(batch, 1)
	T, H, D, K := int64(s.T), int64(s.H), int64(s.D), int64(s.K)
	dirs := int64(s.Directions())
	gh := int64(s.Cell.Gates()) * H
	steps := T * int64(batch)
	perStep := 2*gh + 4*H // pre and its gradient, s, c, tanh c, hn
	if s.Cell == CellGRU {
		perStep += gh // the recurrent half's gradient
	}
	params := dirs*(gh*(D+H)+gh) + K*(dirs*H+1)
	floats := dirs*steps*perStep + steps*(D+K) + 3*params
	return 2 * 8 * floats
}
