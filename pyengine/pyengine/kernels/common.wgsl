// Shared by every kernel that applies an activation (prepended by pyengine.backends.webgpu.sources).
// ACT: 0 linear, 1 relu, 2 leaky_relu, 3 elu, 4 gelu (tanh approximation), 5 sigmoid, 6 tanh.
override ACT: u32 = 0u;
override ALPHA: f32 = 0.01;  // leaky_relu slope / elu alpha

fn safe_tanh(x: f32) -> f32 {
  return tanh(clamp(x, -15.0, 15.0));  // tanh(large) can be inf/inf = NaN in some implementations
}

fn activate(x: f32) -> f32 {
  switch ACT {
    case 1u: { return max(x, 0.0); }
    case 2u: { return select(ALPHA * x, x, x > 0.0); }
    case 3u: { return select(ALPHA * (exp(min(x, 0.0)) - 1.0), x, x > 0.0); }
    case 4u: { return 0.5 * x * (1.0 + safe_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
    case 5u: { return 1.0 / (1.0 + exp(-x)); }
    case 6u: { return safe_tanh(x); }
    default: { return x; }
  }
}

// d activate / dx, from the input x and the output y (y alone suffices for all but gelu).
fn activate_grad(x: f32, y: f32) -> f32 {
  switch ACT {
    case 1u: { return select(0.0, 1.0, y > 0.0); }
    case 2u: { return select(ALPHA, 1.0, y > 0.0); }
    case 3u: { return select(y + ALPHA, 1.0, y > 0.0); }
    case 4u: {
      let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
      let t = safe_tanh(u);
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x);
    }
    case 5u: { return y * (1.0 - y); }
    case 6u: { return 1.0 - y * y; }
    default: { return 1.0; }
  }
}
