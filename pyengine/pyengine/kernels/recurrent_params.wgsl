// One time step k of a recurrent layer over a batch of N sequences of T steps, U units.
// seq: the layer returns the whole sequence (its gradient DY has a term at every step);
// last: k == T - 1 (the backward pass starts here with zero carried state gradients).
struct Params { N: u32, T: u32, U: u32, k: u32, seq: u32, last: u32, p0: u32, p1: u32 }

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));  // never overflows, as pyengine's _sigmoid
  return select(e, 1.0, x >= 0.0) / (1.0 + e);
}
