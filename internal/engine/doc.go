// Package engine runs backpropagation through time on small recurrent
// networks and measures how the error signal shrinks or grows on its way
// back: the numbers behind every gradviz plot.
//
// # Overview
//
// A model is a vanilla RNN (sigmoid, tanh, ReLU or linear), an LSTM
// (gates i, f, g, o, as PyTorch's nn.LSTM) or a GRU (r, z, n, as
// nn.GRU), optionally with a second chain that reads the sequence
// backwards. Settings names it, with the sequence length T, the sizes H,
// D and K, the initialisation, the gain of Wh, the clipping mode and the
// seed. The package provides:
//
//   - BackpropProfile and Runner.Profile: one seeded sequence, forward and
//     backward, giving ‖∂E/∂s_k‖ for k = 1..T with and without step
//     clipping, ‖∂E/∂c_k‖ and the cell path for the LSTM, ‖∂E/∂θ‖ before
//     and after clipping, and for the RNN the spectrum of Wh, the per-step
//     Jacobian norms ‖diag(f′(a_k))·Wh‖₂ and Pascanu et al.'s bound.
//   - InputSensitivity (‖∂E_t/∂x_k‖, the bidirectional view) and
//     FullGradientMap (‖∂E_t/∂s_k‖ for every t ≥ k).
//   - Trainer: seeded mini-batch training on the recall, adding and copy
//     tasks with SGD or Adam, one iteration at a time.
//
// The mathematics, notation and names are those of docs/design.md;
// doc comments give each formula where it is computed.
//
// # Invariants
//
//   - All arithmetic is float64. States start at zero. Series are indexed
//     k−1 for step k, in time order.
//   - Every random number comes from the seed, through one stream per
//     named quantity (each weight matrix, the inputs, the targets, each
//     task's data), so changing T only appends steps and changing the
//     gain only scales Wh. The same settings give the same bits on the
//     same architecture, cached or not, and whether or not a batch was
//     split between goroutines.
//   - A setting a user can get wrong is a *FieldError naming the field; an
//     overflow to Inf or NaN is data, reported in Result.Overflow, and
//     never a panic or a hang. Panics are reserved for programmer errors
//     (an unknown enum value past validation).
//   - Long computations take a context and check it between steps: a
//     cancelled run stops within one step.
//   - The step loops allocate nothing: buffers are sized once per run,
//     and what grows with T grows per 128-step gradient chunk. A Trainer
//     reuses its buffers, so an iteration allocates nothing at all.
//   - The package imports gonum, golang.org/x/sys/cpu (to find FMA) and
//     the standard library only, and holds
//     no global state beyond what the CPU supports and one helper
//     goroutine that runs half of a batch: caches live in a Runner.
package engine
