#!/usr/bin/env python3
"""Run pyengine's WGSL kernels outside the browser with wgpu-py: check each against NumPy, time the GEMMs.

    python3 -m venv .venv-wgpu && .venv-wgpu/bin/pip install -r scripts/requirements-wgpu.txt
    .venv-wgpu/bin/python scripts/wgsl_run.py [--check-only] [--sizes 256,512,1024]

The kernels are the same .wgsl files the browser runs, joined by pyengine/backends/webgpu/sources.py
and driven by the same kernels.py (its `Eager` helper): `WgpuDevice` below implements the small
device interface that device.BrowserDevice implements over web/gpu.js (create_buffer, write, read,
destroy, pipeline, program, run). wgpu-py picks the machine's GPU through wgpu-native (Vulkan,
Metal or D3D12); without one, Mesa's lavapipe (apt-get install mesa-vulkan-drivers) is a CPU
Vulkan device it also finds. Exits 1 when a kernel's error (max |diff| / max |NumPy|) exceeds 1e-4.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import wgpu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyengine"))
from pyengine.backends import numpy_backend as nb  # noqa: E402
from pyengine.backends.webgpu.kernels import Eager  # noqa: E402
from pyengine.backends.webgpu.sources import OVERRIDES, source  # noqa: E402

TOLERANCE = 1e-4


class WgpuDevice:
    """kernels.py's device interface on wgpu-py's native API (handles are ints, as in gpu.js)."""

    def __init__(self, power_preference="high-performance"):
        self.adapter = wgpu.gpu.request_adapter_sync(power_preference=power_preference)
        limits = self.adapter.limits
        self.device = self.adapter.request_device_sync(required_limits={
            "max-storage-buffer-binding-size": limits["max-storage-buffer-binding-size"],
            "max-buffer-size": limits["max-buffer-size"]})
        info = self.adapter.info
        self.name = f"{info['device']} ({info['backend_type']}, {info['adapter_type']})"
        self.objects, self.next_id, self.pipelines = {}, 1, {}

    def _store(self, obj):
        self.objects[self.next_id] = obj
        self.next_id += 1
        return self.next_id - 1

    def create_buffer(self, nbytes, uniform=False):
        usage = (wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST if uniform else
                 wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST)
        return self._store(self.device.create_buffer(size=max(16, -(-int(nbytes) // 16) * 16), usage=usage))

    def write(self, handle, array, offset=0):
        array = np.ascontiguousarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        self.device.queue.write_buffer(self.objects[handle], offset, array)

    def read(self, handle, count):
        data = self.device.queue.read_buffer(self.objects[handle], 0, int(count) * 4)
        return np.frombuffer(data, np.float32, count).copy()

    def destroy(self, handle):
        obj = self.objects.pop(handle, None)
        if isinstance(obj, wgpu.GPUBuffer):
            obj.destroy()

    def pipeline(self, name, **constants):
        consts = {k: v for k, v in constants.items() if k in OVERRIDES.get(name, ())}
        key = (name, tuple(sorted(consts.items())))
        if key not in self.pipelines:
            module = self.device.create_shader_module(code=source(name), label=name)
            self.pipelines[key] = self._store(self.device.create_compute_pipeline(
                layout="auto", compute={"module": module, "entry_point": "main", "constants": consts}))
        return self.pipelines[key]

    def program(self, ops):
        recorded = []
        for op in ops:
            _, pipe_id, buffers, x, y, z = op
            pipe = self.objects[pipe_id]
            entries = [{"binding": i, "resource": {"buffer": self.objects[h]}}
                       for i, h in enumerate(buffers) if h is not None]
            group = self.device.create_bind_group(layout=pipe.get_bind_group_layout(0), entries=entries)
            recorded.append((pipe, group, (x, y, z)))
        return self._store(recorded)

    def run(self, program, read=None, count=0):
        encoder = self.device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        for pipe, group, groups in self.objects[program]:
            compute.set_pipeline(pipe)
            compute.set_bind_group(0, group)
            compute.dispatch_workgroups(*groups)
        compute.end()
        self.device.queue.submit([encoder.finish()])
        if read is None:
            self.device.queue.on_submitted_work_done_sync()
            return None
        return self.read(read, count)  # waits for the submission

    def release_program(self, program):
        self.objects.pop(program, None)


def err(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-6))


def checks(E, rng):
    """(name, error) of each kernel against pyengine's NumPy backend."""
    rnd = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    out = []
    for m, k, n in [(5, 7, 3), (65, 33, 70), (128, 64, 96), (20, 784, 10)]:
        a, b, bias = rnd(m, k), rnd(k, n), rnd(n)
        want = a.astype(np.float64) @ b
        out.append((f"matmul {m}x{k}x{n}", err(E.matmul(a, b), want)))
        out.append((f"matmul {m}x{k}x{n} A^T, bias, relu", err(E.matmul(np.ascontiguousarray(a.T), b, trans_a=True,
                                                                      bias=bias, act="relu"), np.maximum(want + bias, 0))))
        out.append((f"matmul {m}x{k}x{n} split-K 4", err(E.matmul(a, b, shape=(4, 8, 4)), want)))
    a, b = rnd(3, 17, 8), rnd(3, 8, 20)
    out.append(("matmul batched 3", err(E.matmul(a, b), a.astype(np.float64) @ b)))
    for xs, (kh, kw, f), s, p in [((4, 24, 24, 1), (5, 5, 8), (1, 1), ((2, 2), (2, 2))),
                                  ((2, 10, 9, 3), (3, 3, 4), (2, 2), ((1, 0), (1, 1)))]:
        x, w, bias = rnd(*xs).astype(np.float64), rnd(kh, kw, xs[3], f).astype(np.float64), rnd(f)
        y, cols = nb.conv2d_forward(x, w, bias.astype(np.float64), s, p, (1, 1))
        dy = rng.standard_normal(y.shape)
        tag = f"conv2d {xs} {kh}x{kw}x{f} s{s[0]}"
        out.append((tag, err(E.conv2d(x, w, bias, s, p), y)))
        out.append((tag + " dx", err(E.conv2d_grad_input(dy, w, xs, s, p), nb.conv2d_backward_input(dy, w, xs, s, p, (1, 1)))))
        out.append((tag + " dw", err(E.conv2d_grad_weight(x, dy, w.shape, s, p), nb.conv2d_backward_weight(dy, cols, w.shape))))
    x = rnd(2, 9, 7, 4)
    pool, s, p = (3, 3), (2, 2), ((1, 1), (1, 1))
    y, idx = nb.maxpool2d_forward(x, pool, s, p)
    dy = rnd(*y.shape)
    out.append(("maxpool", err(E.maxpool(x, pool, s, p)[0], y)))
    out.append(("maxpool grad", err(E.maxpool_grad(dy, idx.astype(np.uint32), x.shape, pool, s, p),
                                    nb.maxpool2d_backward(dy, idx, x.shape, pool, s, p))))
    ya, counts = nb.avgpool2d_forward(x, pool, s, p)
    out.append(("avgpool", err(E.avgpool(x, pool, s, p), ya)))
    out.append(("avgpool grad", err(E.avgpool_grad(dy, x.shape, pool, s, p), nb.avgpool2d_backward(dy, counts, x.shape, pool, s, p))))
    z = rnd(7, 45) * 3
    out.append(("relu", err(E.activation(z, "relu"), np.maximum(z, 0))))
    out.append(("tanh", err(E.activation(z, "tanh"), np.tanh(z.astype(np.float64)))))
    dy = rnd(1000, 9)
    out.append(("bias grad (colsum)", err(E.colsum(dy), dy.astype(np.float64).sum(0))))
    logits, labels = rnd(37, 10), rng.integers(0, 10, 37)
    loss, grad = E.loss(logits, np.eye(10, dtype=np.float32)[labels])
    z = logits.astype(np.float64) - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    out.append(("softmax cross-entropy", err(loss, -logp[np.arange(37), labels].mean())))
    out.append(("softmax cross-entropy grad", err(grad, (np.exp(logp) - np.eye(10)[labels]) / 37)))
    w, g = rnd(50), rnd(50)
    cfg = {"type": "sgd", "lr": 0.1, "l1": 0.0, "l2": 0.0, "clipvalue": None}
    out.append(("sgd update", err(E.optimizer_step(cfg, w, g)[0], w - 0.1 * g.astype(np.float64))))
    return out


def time_ops(E, ops, out, flops, reps):
    prog = E.dev.program(ops * reps)
    try:
        E.dev.run(prog, read=out, count=1)  # warm-up
        t0 = time.perf_counter()
        E.dev.run(prog, read=out, count=1)
        return flops * reps / (time.perf_counter() - t0) / 1e9
    finally:
        E.dev.release_program(prog)


def timings(E, rng, sizes):
    """GFLOP/s of matmul n^3 and of conv2d forward / dx / dw (the issue's and ConvNetJS's layers)."""
    rows = []
    for n in sizes:
        a, b, c = E.upload(rng.standard_normal((n, n))), E.upload(rng.standard_normal((n, n))), E.empty(n * n)
        rows.append((f"matmul {n}", time_ops(E, E.k.matmul_op(a, b, c, n, n, n), c, 2 * n ** 3, max(1, 2 ** 30 // n ** 3))))
    for label, xs, f, k in [("32x32x32x16, 32 3x3", (32, 32, 32, 16), 32, 3),
                            ("MNIST conv1 20x24x24x1, 8 5x5", (20, 24, 24, 1), 8, 5),
                            ("MNIST conv2 20x12x12x8, 16 5x5", (20, 12, 12, 8), 16, 5),
                            ("CIFAR conv1 4x32x32x3, 16 5x5", (4, 32, 32, 3), 16, 5),
                            ("CIFAR conv2 4x16x16x16, 20 5x5", (4, 16, 16, 16), 20, 5),
                            ("CIFAR conv3 4x8x8x20, 20 5x5", (4, 8, 8, 20), 20, 5)]:
        n, h, w, c = xs
        p = k // 2
        geo = (xs, (k, k, c, f), (h, w), (1, 1), ((p, p), (p, p)), (1, 1))
        x, wt = E.upload(rng.standard_normal(xs)), E.upload(rng.standard_normal((k, k, c, f)))
        y, dx, dw = E.upload(rng.standard_normal((n, h, w, f))), E.empty(n * h * w * c), E.empty(k * k * c * f)
        flops = 2 * n * h * w * f * k * k * c
        reps = max(1, 2 ** 28 // flops)
        rows.append((f"conv2d {label}", time_ops(E, E.k.conv2d_op(x, wt, None, y, *geo), y, flops, reps),
                     time_ops(E, E.k.conv2d_grad_input_op(y, wt, dx, *geo), dx, flops, reps),
                     time_ops(E, E.k.conv2d_grad_weight_op(x, y, dw, *geo), dw, flops, reps)))
        E.release()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check-only", action="store_true", help="compare with NumPy, no timings")
    parser.add_argument("--sizes", default="256,512,1024,2048", help="matmul sizes to time")
    args = parser.parse_args()
    dev = WgpuDevice()
    print(f"adapter: {dev.name}")
    E = Eager(dev)
    rng = np.random.default_rng(0)
    results = checks(E, rng)
    E.release()
    worst = max(e for _, e in results)
    for name, e in results:
        print(f"  {'ok ' if e <= TOLERANCE else 'BAD'} {e:9.2e}  {name}")
    print(f"{len(results)} checks, worst error {worst:.2e} (bound {TOLERANCE:g})")
    if not args.check_only:
        print("GFLOP/s (forward | backward input | backward weights):")
        for name, *gflops in timings(E, rng, [int(s) for s in args.sizes.split(",") if s]):
            print(f"  {name:38s} " + " | ".join(f"{g:7.2f}" for g in gflops))
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
