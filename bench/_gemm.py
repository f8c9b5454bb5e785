"""The GEMM floor of a training step: the matrix products a step cannot avoid, timed alone.

For every ``Dense`` and ``Conv2D`` layer of a model, one training step performs three
GEMMs (convolutions as im2col GEMMs, one big product over the whole batch):

* forward    ``Y[M,N]  = X[M,K] @ W[N,K]^T``
* weight grad ``dW[N,K] = dY[M,N]^T @ X[M,K]``
* input grad ``dX[M,K] = dY[M,N] @ W[N,K]``  -- skipped for the layer that reads the data
  (the input needs no gradient)

with, for ``Dense``, M = batch, K = in_units, N = units; for ``Conv2D`` with weight
(F, C, kh, kw) and output (B, F, OH, OW), M = B*OH*OW, K = C*kh*kw, N = F. The shapes are
read off the model itself: one forward with hooks on its Dense/Conv2D blocks records each
layer's input, weight and output shapes. The floor is the time NumPy's BLAS (the one
gluonlite calls) takes for exactly these products on float32 operands, with the transposes
as strided views and preallocated outputs; everything else a step does -- im2col, pooling,
BatchNorm, activations, loss, bias gradients, the optimizer update, Python -- is "rest".
"""
import time

import numpy as np

from _workloads import ROWS, batch, gluon_net


def layer_gemms(kind, in_shape, weight_shape, out_shape, reads_data):
    """The GEMMs of one layer's training step, as ``(name, (m, k), trans_a, (k2, n),
    trans_b)`` tuples over the operands' stored shapes (see the module docstring).

    ``kind`` is ``"dense"`` or ``"conv"``; ``reads_data`` drops the input-gradient GEMM.
    """
    if kind == "dense":
        m = in_shape[0]
        n, k = weight_shape
    elif kind == "conv":
        if len(weight_shape) != 4 or len(out_shape) != 4:
            raise ValueError(f"conv: expected 4-d weight and output, got {weight_shape}, "
                             f"{out_shape}")
        f, c, kh, kw = weight_shape
        m, n, k = out_shape[0] * out_shape[2] * out_shape[3], f, c * kh * kw
    else:
        raise ValueError(f"kind must be 'dense' or 'conv', got {kind!r}")
    # (label, stored A shape, A transposed?, stored B shape, B transposed?)
    out = [("fwd", (m, k), False, (n, k), True),      # X @ W^T
           ("dW", (m, n), True, (m, k), False)]       # dY^T @ X
    if not reads_data:
        out.append(("dX", (m, n), False, (n, k), False))  # dY @ W
    return out


def capture(mx, row):
    """Run one forward of ``row``'s model in framework ``mx`` (imperative, a fresh copy)
    and return the GEMM list of its training step (``layer_gemms`` of each layer, in
    forward order)."""
    if not ROWS[row].train:
        raise ValueError(f"row {row!r} is inference only: no training-step GEMMs")
    nn = mx.gluon.nn
    net = gluon_net(mx, row)
    net.initialize(mx.init.Xavier())
    xn, _ = batch(row)
    x = mx.nd.array(xn)
    gemms, handles = [], []

    def hook(block, inputs, output):
        kind = "dense" if isinstance(block, nn.Dense) else "conv"
        gemms.extend(layer_gemms(kind, inputs[0].shape, block.weight.shape, output.shape,
                                 inputs[0] is x))

    def attach(block):
        if isinstance(block, (nn.Dense, nn.Conv2D)):
            handles.append(block.register_forward_hook(hook))
    net.apply(attach)
    net(x).wait_to_read()
    for h in handles:
        h.detach()
    if not gemms:
        raise RuntimeError(f"no Dense/Conv2D forward was seen in row {row!r}")
    return gemms


def gflop(gemms):
    """Floating-point work of ``gemms`` in GFLOP (2*m*k*n each)."""
    total = 0
    for _, a, ta, b, tb in gemms:
        m, k = (a[1], a[0]) if ta else a
        total += 2 * m * k * (b[0] if tb else b[1])
    return total / 1e9


def runner(gemms):
    """Return ``run(n) -> seconds`` performing all of ``gemms`` n times with ``np.matmul``
    (random float32 operands, transposes as views, outputs preallocated)."""
    rs = np.random.RandomState(0)
    work = []
    for _, a_shape, ta, b_shape, tb in gemms:
        a = rs.rand(*a_shape).astype(np.float32)
        b = rs.rand(*b_shape).astype(np.float32)
        a, b = (a.T if ta else a), (b.T if tb else b)
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"GEMM operands do not chain: {a.shape} @ {b.shape}")
        work.append((a, b, np.empty((a.shape[0], b.shape[1]), np.float32)))

    def run(n):
        t = time.perf_counter()
        for _ in range(n):
            for a, b, c in work:
                np.matmul(a, b, out=c)
        return time.perf_counter() - t
    return run
