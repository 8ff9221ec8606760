"""Array kernels: numpy_backend (NumPy, with the WebAssembly SIMD routes of simd.py) for the ops,
and webgpu/ for a whole model's training step on the GPU (chosen per model: Model.set_backend)."""
