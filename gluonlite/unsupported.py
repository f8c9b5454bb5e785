"""The names MXNet 1.9.1's operator namespaces (``mx.nd``, ``mx.sym`` and their ``contrib``,
``image``, ``linalg``, ``random`` and ``sparse`` submodules) export that gluonlite does not
have, each with the reason.

Using one of them raises ``AttributeError`` that names it and says why, instead of Python's
bare "module has no attribute": the namespaces' ``__getattr__`` is :func:`namespace_getattr`.
``tests/ops/test_namespace_diff.py`` compares :data:`MISSING` with MXNet's own names (recorded
from MXNet 1.9.1) and with gluonlite's live namespaces, so the list can only shrink: a name
that gluonlite gains must leave it.
"""
from __future__ import annotations

import fnmatch

__all__ = ["MISSING", "REASONS", "reason", "namespace_getattr"]

# namespace -> names MXNet exports there that gluonlite lacks (whitespace separated)
_RECORDED = {
    "nd": """
    CachedOp Correlation IdentityAttachKLSparseReg ROIPooling gen__internal gen_contrib
    gen_image gen_linalg gen_op gen_sparse get_indexing_dispatch_code
    get_oshape_of_gather_nd_op imdecode indexing_key_expand_implicit_axes np npx numpy
    numpy_extension utils
    """,
    "nd.contrib": """
    BatchNormWithReLU DeformableConvolution DeformablePSROIPooling
    ModulatedDeformableConvolution MultiProposal PSROIPooling Proposal RROIAlign
    SparseEmbedding backward_gradientmultiplier backward_hawkesll calibrate_entropy
    count_sketch current_context dequantize dgl_adjacency
    dgl_csr_neighbor_non_uniform_sample dgl_csr_neighbor_uniform_sample
    dgl_graph_compact dgl_subgraph edge_id fft hawkesll ifft math multi_adamw_update
    multi_lamb_update multi_mp_adamw_update multi_mp_lamb_update mx ndarray np quantize
    quantize_asym quantize_v2 quantized_act quantized_batch_norm quantized_concat
    quantized_conv quantized_elemwise_add quantized_elemwise_mul quantized_embedding
    quantized_flatten quantized_fully_connected quantized_pooling quantized_rnn
    rand_zipfian requantize
    """,
    "nd.random": """
    numeric_types
    """,
    "nd.sparse": """
    NDArrayHandle NotSupportedForSparseNDArray c_array_buf check_call ctypes
    integer_types mx_real_t native_array numeric_types op operator py_slice py_sum spsp
    warnings
    """,
    "sym": """
    Correlation IdentityAttachKLSparseReg ROIPooling gen__internal gen_contrib gen_image
    gen_linalg gen_op gen_sparse np npx numpy numpy_extension reset_arrays
    """,
    "sym.contrib": """
    AttrScope BatchNormWithReLU DeformableConvolution DeformablePSROIPooling
    ModulatedDeformableConvolution MultiProposal PSROIPooling Proposal RROIAlign
    SparseEmbedding Symbol SymbolHandle backward_gradientmultiplier backward_hawkesll
    calibrate_entropy check_call copy count_sketch ctypes dequantize dgl_adjacency
    dgl_csr_neighbor_non_uniform_sample dgl_csr_neighbor_uniform_sample
    dgl_graph_compact dgl_subgraph edge_id fft hawkesll ifft math quantize quantize_asym
    quantize_v2 quantized_act quantized_batch_norm quantized_concat quantized_conv
    quantized_elemwise_add quantized_elemwise_mul quantized_embedding quantized_flatten
    quantized_fully_connected quantized_pooling quantized_rnn rand_zipfian requantize
    symbol
    """,
    "sym.random": """
    numeric_types
    """,
}

#: namespace -> frozenset of missing names
MISSING = {ns: frozenset(names.split()) for ns, names in _RECORDED.items()}

# why a name is missing: (namespace pattern, name pattern, reason); the first match wins
REASONS = [
    ("*", "gen_*", "it is one of MXNet's code-generator modules, not an API"),
    ("*", "np", "MXNet's NumPy interface (mx.np / mx.npx) is out of gluonlite's scope"),
    ("*", "npx", "MXNet's NumPy interface (mx.np / mx.npx) is out of gluonlite's scope"),
    ("*", "numpy", "MXNet's NumPy interface (mx.np / mx.npx) is out of gluonlite's scope"),
    ("*", "numpy_extension", "MXNet's NumPy interface is out of gluonlite's scope"),
    ("*", "utils", "it is a module internal of MXNet, not an operator"),
    ("*", "get_*", "it is a module internal of MXNet, not an operator"),
    ("*", "indexing_key_expand_implicit_axes", "it is a module internal of MXNet"),
    ("*", "numeric_types", "it is a module internal of MXNet (use mx.base.numeric_types)"),
    ("*", "integer_types", "it is a module internal of MXNet (use mx.base.integer_types)"),
    ("*", "[A-Z]*Handle", "it is a ctypes handle of MXNet's C API, which gluonlite has not"),
    ("*", "c_array_buf", "it is a ctypes helper of MXNet's C API, which gluonlite has not"),
    ("*", "check_call", "it is a ctypes helper of MXNet's C API, which gluonlite has not"),
    ("*", "ctypes", "it is a ctypes helper of MXNet's C API, which gluonlite has not"),
    ("*", "mx", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "ndarray", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "symbol", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "math", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "operator", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "warnings", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "copy", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "op", "it is a module MXNet's namespace re-exports by accident"),
    ("*", "current_context", "it is a re-exported helper: use mx.current_context"),
    ("*", "AttrScope", "it is a re-exported helper: use mx.AttrScope"),
    ("*", "Symbol", "it is a re-exported class: use mx.sym.Symbol"),
    ("*", "py_*", "it is a re-exported Python builtin"),
    ("*", "native_array", "it is a module internal of MXNet"),
    ("*", "mx_real_t", "it is a module internal of MXNet (use mx.base.mx_real_t)"),
    ("*", "spsp", "it is a module internal of MXNet (its scipy.sparse alias)"),
    ("*", "NotSupportedForSparseNDArray", "it is a module internal of MXNet"),
    ("*", "CachedOp", "it is MXNet's C++ graph executor handle; gluonlite compiles graphs "
                      "itself (HybridBlock.hybridize)"),
    ("*", "imdecode", "the legacy image decoding operator is not implemented: use "
                      "mx.image.imdecode"),
    ("*contrib", "multi_*_update", "the multi-tensor AdamW/LAMB updates are not "
                                   "implemented: use mx.optimizer (AdamW, LAMB) or "
                                   "contrib.adamw_update per weight"),
    ("sym", "reset_arrays", "it builds a node without outputs, which a gluonlite graph "
                            "cannot hold: use mx.nd.reset_arrays"),
    ("*", "ROIPooling", "not implemented: use contrib.ROIAlign"),
    ("*", "Correlation", "FlowNet's correlation operator is not implemented"),
    ("*", "IdentityAttachKLSparseReg", "the KL sparsity regulariser operator is not "
                                       "implemented"),
    ("*contrib", "quantiz*", "INT8 quantization operators are not implemented"),
    ("*contrib", "requantize", "INT8 quantization operators are not implemented"),
    ("*contrib", "dequantize", "INT8 quantization operators are not implemented"),
    ("*contrib", "calibrate_entropy", "INT8 quantization operators are not implemented"),
    ("*contrib", "dgl_*", "DGL graph-sampling operators are not implemented"),
    ("*contrib", "edge_id", "DGL graph operators are not implemented"),
    ("*contrib", "fft", "it is GPU-only in MXNet 1.9.1 (cuFFT; its CPU build raises), so "
                        "there is no CPU reference to match: not implemented"),
    ("*contrib", "ifft", "it is GPU-only in MXNet 1.9.1 (cuFFT): not implemented"),
    ("*contrib", "count_sketch", "it is GPU-only in MXNet 1.9.1: not implemented"),
    ("*contrib", "BatchNormWithReLU", "MXNet 1.9.1 runs it only with MKL-DNN (its plain CPU "
                                      "build raises): use BatchNorm then relu"),
    ("*contrib", "SparseEmbedding", "it is deprecated in MXNet: use "
                                    "Embedding(sparse_grad=True)"),
    ("*contrib", "backward_*", "it is a backward operator: the forward operator's gradient "
                               "rule computes it"),
    ("*contrib", "hawkesll", "the Hawkes process log-likelihood is not implemented"),
    ("*contrib", "rand_zipfian", "the candidate sampler is not implemented"),
    ("*contrib", "*Proposal", "Faster R-CNN's region proposal operators are not implemented"),
    ("*contrib", "*PSROIPooling", "R-FCN's position-sensitive ROI pooling is not "
                                  "implemented"),
    ("*contrib", "*DeformableConvolution", "deformable convolutions are not implemented"),
    ("*contrib", "RROIAlign", "rotated ROI align is not implemented"),
]


def reason(namespace: str, name: str) -> str | None:
    """Why ``mx.<namespace>.<name>`` (a name MXNet 1.9.1 has) is missing here, or None when
    the name is not on the recorded list."""
    if name not in MISSING.get(namespace, ()):
        return None
    for ns_pat, name_pat, why in REASONS:
        if fnmatch.fnmatchcase(namespace, ns_pat) and fnmatch.fnmatchcase(name, name_pat):
            return why
    return None


def namespace_getattr(namespace: str, module_name: str):
    """A module ``__getattr__`` for ``mx.<namespace>``: names MXNet has and gluonlite lacks
    raise ``AttributeError`` naming them and the reason; other names raise the usual one."""
    def __getattr__(name):
        why = reason(namespace, name)
        if why is not None:
            raise AttributeError(f"mx.{namespace}.{name}: MXNet 1.9.1 has it, gluonlite does "
                                 f"not: {why}")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
    return __getattr__
