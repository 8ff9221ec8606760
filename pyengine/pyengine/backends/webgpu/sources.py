"""WGSL sources: each kernel is a few `.wgsl` files from pyengine/kernels/ joined in order.

WGSL has no `#include`, so shared pieces (the tiled GEMM core, activations, geometry structs)
are separate files listed here. Pure Python with no browser dependency: scripts/wgsl_run.py
loads kernels through the same table under wgpu-py.
"""
from functools import lru_cache
from importlib import resources

KERNELS = {
    # GEMM family: kernel file (bindings, loaders, epilogue) + a tile loader + the shared core.
    "matmul": ("common.wgsl", "matmul.wgsl", "tiles_scalar.wgsl", "gemm_core.wgsl"),
    "matmul_vec4": ("common.wgsl", "matmul_vec4.wgsl", "gemm_core.wgsl"),
    "conv2d": ("common.wgsl", "conv_params.wgsl", "conv2d.wgsl", "tiles_scalar.wgsl", "gemm_core.wgsl"),
    "conv2d_grad_input": ("conv_params.wgsl", "conv2d_grad_input.wgsl", "tiles_scalar.wgsl", "gemm_core.wgsl"),
    "conv2d_grad_weight": ("conv_params.wgsl", "conv2d_grad_weight.wgsl", "tiles_scalar.wgsl", "gemm_core.wgsl"),
    "splitk_reduce": ("common.wgsl", "index.wgsl", "splitk_reduce.wgsl"),
    # Pooling (global average pooling is avgpool with the whole image as the window).
    "maxpool": ("index.wgsl", "pool_params.wgsl", "maxpool.wgsl"),
    "maxpool_grad": ("index.wgsl", "pool_params.wgsl", "maxpool_grad.wgsl"),
    "avgpool": ("index.wgsl", "pool_params.wgsl", "avgpool.wgsl"),
    "avgpool_grad": ("index.wgsl", "pool_params.wgsl", "avgpool_grad.wgsl"),
    # Elementwise, reductions, loss, optimizer.
    "activation": ("common.wgsl", "index.wgsl", "activation.wgsl"),
    "activation_grad": ("common.wgsl", "index.wgsl", "activation_grad.wgsl"),
    "colsum": ("colsum.wgsl",),
    "loss": ("loss.wgsl",),
    "metrics": ("metrics.wgsl",),
    "optimizer": ("index.wgsl", "optimizer.wgsl"),
    # The other layers of the whole-step plan.
    "elementwise": ("index.wgsl", "elementwise.wgsl"),
    "block_copy": ("index.wgsl", "block_copy.wgsl"),
    "softmax": ("index.wgsl", "softmax.wgsl"),
    "maxout": ("index.wgsl", "maxout.wgsl"),
    "norm_reduce": ("norm_reduce.wgsl",),
    "batchnorm_stats": ("batchnorm_stats.wgsl",),
    "batchnorm": ("index.wgsl", "batchnorm.wgsl"),
    "layernorm": ("index.wgsl", "layernorm.wgsl"),
    "embedding": ("index.wgsl", "embedding.wgsl"),
    "lstm": ("index.wgsl", "recurrent_params.wgsl", "lstm.wgsl"),
    "lstm_grad": ("index.wgsl", "recurrent_params.wgsl", "lstm_grad.wgsl"),
    "gru": ("index.wgsl", "recurrent_params.wgsl", "gru.wgsl"),
    "gru_grad": ("index.wgsl", "recurrent_params.wgsl", "gru_grad.wgsl"),
    "rnn": ("common.wgsl", "index.wgsl", "recurrent_params.wgsl", "rnn.wgsl"),
    "rnn_grad": ("common.wgsl", "index.wgsl", "recurrent_params.wgsl", "rnn_grad.wgsl"),
}

# Override constants each kernel declares (only these may be passed when creating its pipeline).
GEMM_SHAPE = ("TX", "TY", "SPLITS")  # gemm_core.wgsl's tile shape and split-K factor
OVERRIDES = {
    "matmul": ("ACT", "ALPHA", *GEMM_SHAPE), "matmul_vec4": ("ACT", "ALPHA", *GEMM_SHAPE),
    "conv2d": ("ACT", "ALPHA", *GEMM_SHAPE), "conv2d_grad_input": GEMM_SHAPE, "conv2d_grad_weight": GEMM_SHAPE,
    "splitk_reduce": ("ACT", "ALPHA"), "activation": ("ACT", "ALPHA"), "activation_grad": ("ACT", "ALPHA"),
    "loss": ("LOSS",), "optimizer": ("OPT",), "elementwise": ("OP",), "softmax": ("MODE",), "maxout": ("MODE",),
    "batchnorm": ("MODE",), "layernorm": ("MODE",), "embedding": ("MODE",),
    "rnn": ("ACT", "ALPHA"), "rnn_grad": ("ACT", "ALPHA"),
}


@lru_cache(maxsize=None)
def source(name):
    """The full WGSL text of kernel `name`."""
    try:
        files = KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown WGSL kernel {name!r}; known: {', '.join(sorted(KERNELS))}") from None
    root = resources.files("pyengine") / "kernels"
    return "\n".join(f"// ---- {f}\n" + (root / f).read_text(encoding="utf-8") for f in files)
