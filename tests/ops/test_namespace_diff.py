"""The names MXNet 1.9.1's ``mx.nd``/``mx.sym`` (and their ``linalg``, ``random``,
``contrib``, ``sparse``, ``image`` submodules) export that gluonlite does not, as a
recorded list that can only shrink (issue 17 §2).

MXNet's names come from ``tests/fixtures/mxnet_namespaces.json`` (written by
``tests/fixtures/gen/linalg_ops_mxnet.py`` with MXNet itself); gluonlite's are read from the
live modules, so names other work adds show up here at once. The test fails

* when a name on the list now exists: remove it from ``MISSING`` (the list shrinks);
* when an MXNet name that is not on the list is missing: something was lost.

``python -m tests.ops.test_namespace_diff`` prints the current diff in ``MISSING``'s format.
Every recorded name has a reason in ``REASONS`` (matched by the first pattern that fits).
"""
import fnmatch
import json
import os

import gluonlite as mx

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet_namespaces.json")

# namespace -> names MXNet exports there that gluonlite lacks (whitespace separated)
MISSING = {
    "nd": """
    BatchNorm_v1 BilinearSampler CachedOp Convolution_v1 Correlation GridGenerator
    IdentityAttachKLSparseReg LRN Pooling_v1 ROIPooling SVMOutput SpatialTransformer
    adam_update amp_cast amp_multicast cast_storage col2im fill_element_0index
    from_dlpack from_numpy ftml_update ftrl_update gen__internal gen_contrib gen_image
    gen_linalg gen_op gen_sparse get_indexing_dispatch_code get_oshape_of_gather_nd_op
    histogram im2col imdecode indexing_key_expand_implicit_axes lamb_update_phase1
    lamb_update_phase2 mp_lamb_update_phase1 mp_lamb_update_phase2 mp_nag_mom_update
    mp_sgd_mom_update mp_sgd_update multi_lars multi_mp_sgd_mom_update
    multi_mp_sgd_update multi_sgd_mom_update multi_sgd_update nag_mom_update np npx
    numpy numpy_extension onehot_encode preloaded_multi_mp_sgd_mom_update
    preloaded_multi_mp_sgd_update preloaded_multi_sgd_mom_update
    preloaded_multi_sgd_update random_pdf_dirichlet reset_arrays rmsprop_update
    rmspropalex_update sgd_mom_update sgd_update signsgd_update signum_update
    to_dlpack_for_read to_dlpack_for_write utils
    """,
    "nd.contrib": """
    BatchNormWithReLU DeformableConvolution DeformablePSROIPooling
    ModulatedDeformableConvolution MultiProposal PSROIPooling Proposal RROIAlign
    SparseEmbedding adamw_update allclose arange_like backward_gradientmultiplier
    backward_hawkesll backward_index_copy backward_quadratic bipartite_matching
    boolean_mask box_decode box_encode calibrate_entropy cond count_sketch
    current_context dequantize dgl_adjacency dgl_csr_neighbor_non_uniform_sample
    dgl_csr_neighbor_uniform_sample dgl_graph_compact dgl_subgraph div_sqrt_dim edge_id
    fft foreach getnnz gradientmultiplier group_adagrad_update hawkesll ifft index_array
    index_copy interleaved_matmul_encdec_qk interleaved_matmul_encdec_valatt
    interleaved_matmul_selfatt_qk interleaved_matmul_selfatt_valatt isfinite isinf isnan
    math mp_adamw_update multi_adamw_update multi_lamb_update multi_mp_adamw_update
    multi_mp_lamb_update mx ndarray np quadratic quantize quantize_asym quantize_v2
    quantized_act quantized_batch_norm quantized_concat quantized_conv
    quantized_elemwise_add quantized_elemwise_mul quantized_embedding quantized_flatten
    quantized_fully_connected quantized_pooling quantized_rnn rand_zipfian requantize
    round_ste sign_ste uniform while_loop
    """,
    "nd.image": """
    adjust_lighting crop flip_left_right flip_top_bottom random_brightness
    random_color_jitter random_contrast random_flip_left_right random_flip_top_bottom
    random_hue random_lighting random_saturation resize
    """,
    "nd.linalg": "",
    "nd.random": """
    exponential_like gamma_like generalized_negative_binomial_like
    negative_binomial_like normal_like numeric_types poisson_like uniform_like
    """,
    "nd.sparse": """
    NDArrayHandle NotSupportedForSparseNDArray adagrad_update adam_update c_array_buf
    check_call ctypes ftrl_update gs_retain integer_types mx_real_t native_array
    numeric_types op operator py_slice py_sum sgd_mom_update sgd_update spsp warnings
    """,
    "sym": """
    BatchNorm_v1 BilinearSampler Convolution_v1 Correlation GridGenerator
    IdentityAttachKLSparseReg LRN Pooling_v1 ROIPooling SVMOutput SpatialTransformer
    adam_update amp_cast amp_multicast cast_storage col2im fill_element_0index
    ftml_update ftrl_update gen__internal gen_contrib gen_image gen_linalg gen_op
    gen_sparse histogram im2col lamb_update_phase1 lamb_update_phase2
    mp_lamb_update_phase1 mp_lamb_update_phase2 mp_nag_mom_update mp_sgd_mom_update
    mp_sgd_update multi_lars multi_mp_sgd_mom_update multi_mp_sgd_update
    multi_sgd_mom_update multi_sgd_update nag_mom_update np npx numpy numpy_extension
    preloaded_multi_mp_sgd_mom_update preloaded_multi_mp_sgd_update
    preloaded_multi_sgd_mom_update preloaded_multi_sgd_update random_pdf_dirichlet
    reset_arrays rmsprop_update rmspropalex_update sgd_mom_update sgd_update
    signsgd_update signum_update sparse
    """,
    "sym.contrib": """
    AttrScope BatchNormWithReLU DeformableConvolution DeformablePSROIPooling
    ModulatedDeformableConvolution MultiProposal PSROIPooling Proposal RROIAlign
    SparseEmbedding Symbol SymbolHandle adamw_update allclose arange_like
    backward_gradientmultiplier backward_hawkesll backward_index_copy backward_quadratic
    bipartite_matching boolean_mask box_decode box_encode calibrate_entropy check_call
    cond copy count_sketch ctypes dequantize dgl_adjacency
    dgl_csr_neighbor_non_uniform_sample dgl_csr_neighbor_uniform_sample
    dgl_graph_compact dgl_subgraph div_sqrt_dim edge_id fft foreach getnnz
    gradientmultiplier group_adagrad_update hawkesll ifft index_array index_copy
    interleaved_matmul_encdec_qk interleaved_matmul_encdec_valatt
    interleaved_matmul_selfatt_qk interleaved_matmul_selfatt_valatt math mp_adamw_update
    quadratic quantize quantize_asym quantize_v2 quantized_act quantized_batch_norm
    quantized_concat quantized_conv quantized_elemwise_add quantized_elemwise_mul
    quantized_embedding quantized_flatten quantized_fully_connected quantized_pooling
    quantized_rnn rand_zipfian requantize round_ste sign_ste symbol uniform while_loop
    """,
    "sym.image": """
    adjust_lighting crop flip_left_right flip_top_bottom random_brightness
    random_color_jitter random_contrast random_flip_left_right random_flip_top_bottom
    random_hue random_lighting random_saturation resize
    """,
    "sym.linalg": "",
    "sym.random": """
    exponential_like gamma_like generalized_negative_binomial_like
    negative_binomial_like normal_like numeric_types poisson_like uniform_like
    """,
    "sym.sparse": """
    ElementWiseSum Embedding FullyConnected LinearRegressionOutput
    LogisticRegressionOutput MAERegressionOutput abs adagrad_update adam_update add_n
    arccos arccosh arcsin arcsinh arctan arctanh broadcast_add broadcast_div
    broadcast_minus broadcast_mul broadcast_plus broadcast_sub cast_storage cbrt ceil
    clip concat cos cosh degrees dot elemwise_add elemwise_div elemwise_mul elemwise_sub
    exp expm1 fix floor ftrl_update gamma gammaln log log10 log1p log2 make_loss mean
    negative norm radians relu retain rint round rsqrt sgd_mom_update sgd_update sigmoid
    sign sin sinh slice sqrt square stop_gradient sum tan tanh trunc where zeros_like
    """,
}

# why a name is missing: (namespace pattern, name pattern, reason); first match wins
REASONS = [
    ("*", "gen_*", "MXNet's code-generator modules, not API"),
    ("*", "np", "MXNet's NumPy interface (mx.np / mx.npx) is out of gluonlite's scope"),
    ("*", "npx", "MXNet's NumPy interface (mx.np / mx.npx) is out of gluonlite's scope"),
    ("*", "numpy", "MXNet's NumPy interface (mx.np / mx.npx) is out of gluonlite's scope"),
    ("*", "numpy_extension", "MXNet's NumPy interface is out of gluonlite's scope"),
    ("*", "*dlpack*", "DLPack exchange with other frameworks: not implemented"),
    ("*", "from_numpy", "zero-copy NumPy import: use nd.array (copies)"),
    ("*", "utils", "module internals of MXNet, not operators"),
    ("*", "get_*", "module internals of MXNet, not operators"),
    ("*", "indexing_key_expand_implicit_axes", "module internals of MXNet, not operators"),
    ("*", "numeric_types", "module internals of MXNet, not operators"),
    ("*", "integer_types", "module internals of MXNet, not operators"),
    ("*", "[A-Z]*Handle", "ctypes handles of MXNet's C API"),
    ("*", "c_array_buf", "ctypes helpers of MXNet's C API"),
    ("*", "check_call", "ctypes helpers of MXNet's C API"),
    ("*", "ctypes", "ctypes helpers of MXNet's C API"),
    ("*", "mx", "modules MXNet's namespaces re-export by accident"),
    ("*", "ndarray", "modules MXNet's namespaces re-export by accident"),
    ("*", "symbol", "modules MXNet's namespaces re-export by accident"),
    ("*", "math", "modules MXNet's namespaces re-export by accident"),
    ("*", "operator", "modules MXNet's namespaces re-export by accident"),
    ("*", "warnings", "modules MXNet's namespaces re-export by accident"),
    ("*", "copy", "modules MXNet's namespaces re-export by accident"),
    ("*", "op", "modules MXNet's namespaces re-export by accident"),
    ("*", "current_context", "re-exported helper (mx.current_context exists)"),
    ("*", "AttrScope", "re-exported helper (mx.AttrScope)"),
    ("*", "Symbol", "re-exported class (mx.sym.Symbol exists)"),
    ("*", "py_*", "re-exported Python builtins"),
    ("*", "native_array", "module internals of MXNet, not operators"),
    ("*", "mx_real_t", "module internals of MXNet, not operators"),
    ("*", "spsp", "module internals of MXNet (scipy.sparse alias)"),
    ("*", "NotSupportedForSparseNDArray", "module internals of MXNet, not operators"),
    ("*", "*_update", "optimizer update operators mutate their weight/state inputs in place; "
                      "gluonlite's optimizers (mx.optimizer) do the updates: not implemented"),
    ("*", "*_update_phase*", "optimizer update operators: not implemented (see *_update)"),
    ("*", "multi_lars", "optimizer helper operator: not implemented"),
    ("*", "reset_arrays", "optimizer helper operator (zeroes arrays in place): not implemented"),
    ("*", "*_v1", "deprecated pre-1.0 operators, superseded by the current ones"),
    ("*", "amp_*", "automatic mixed precision casts: AMP is not implemented"),
    ("*", "CachedOp", "MXNet's C++ graph executor handle; gluonlite compiles graphs itself"),
    ("*", "Custom", "custom C++/Python operators (mx.operator.CustomOp): not implemented"),
    ("*", "imdecode", "legacy image decoding operator: use mx.image.imdecode"),
    ("*", "random_pdf_dirichlet", "Dirichlet density operator: not implemented yet"),
    ("*.random", "*_like", "samplers shaped like an input: not implemented yet"),
    ("*sparse*", "*", "sparse storage (issue 17 §3, another work item)"),
    ("*", "cast_storage", "sparse storage (issue 17 §3, another work item)"),
    ("*", "sparse", "sparse storage (issue 17 §3, another work item)"),
    ("*contrib", "quantiz*", "INT8 quantization operators: not implemented"),
    ("*contrib", "requantize", "INT8 quantization operators: not implemented"),
    ("*contrib", "dequantize", "INT8 quantization operators: not implemented"),
    ("*contrib", "calibrate_entropy", "INT8 quantization operators: not implemented"),
    ("*contrib", "dgl_*", "DGL graph-sampling operators: not implemented"),
    ("*contrib", "edge_id", "DGL graph operators: not implemented"),
    ("*contrib", "*", "contrib operators (issue 17 §7, another work item): not implemented yet"),
    ("*image", "*", "image augmentation operators: not implemented yet"),
    ("*", "*", "operator not implemented yet"),
]


def mxnet_names():
    with open(FIX) as f:
        return json.load(f)


def live_names(path):
    """Public names of ``mx.<path>`` (e.g. ``nd.linalg``); empty if the module is absent."""
    root, *rest = path.split(".")
    mod = {"nd": mx.nd, "sym": mx.sym}[root]
    for part in rest:
        mod = getattr(mod, part, None)
        if mod is None:
            return set()
    return {n for n in dir(mod) if not n.startswith("_")}


def current_diff():
    return {ns: sorted(set(names) - live_names(ns)) for ns, names in mxnet_names().items()}


def reason(ns, name):
    for ns_pat, name_pat, why in REASONS:
        if fnmatch.fnmatchcase(ns, ns_pat) and fnmatch.fnmatchcase(name, name_pat):
            return why
    return None


def test_recorded_namespaces_are_mxnets():
    assert set(MISSING) == set(mxnet_names())


def test_missing_list_only_shrinks():
    now = current_diff()
    gained, lost = {}, {}
    for ns, recorded in MISSING.items():
        rec = set(recorded.split())
        assert rec <= set(mxnet_names()[ns]), \
            f"{ns}: recorded names MXNet does not export: {sorted(rec - set(mxnet_names()[ns]))}"
        if rec - set(now[ns]):
            gained[ns] = sorted(rec - set(now[ns]))
        if set(now[ns]) - rec:
            lost[ns] = sorted(set(now[ns]) - rec)
    assert not gained, (f"gluonlite now has these recorded-missing names: remove them from "
                        f"MISSING in {__file__}: {gained}")
    assert not lost, f"MXNet names missing from gluonlite that were present before: {lost}"


def test_every_missing_name_has_a_reason():
    for ns, recorded in MISSING.items():
        for name in recorded.split():
            assert reason(ns, name), f"{ns}.{name}: no reason recorded in REASONS"


def test_operator_namespaces_added_by_issue_17_are_complete():
    names = mxnet_names()
    for ns in ("nd.linalg", "sym.linalg"):
        assert set(names[ns]) <= live_names(ns), ns
    want = {"uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
            "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle"}
    assert want <= live_names("sym.random") and want <= set(names["sym.random"])
    for name in ("make_loss", "split_v2", "cumsum", "diag", "gather_nd", "scatter_nd",
                 "khatri_rao", "moments", "hard_sigmoid", "depth_to_space"):
        assert name in live_names("nd") and name in live_names("sym"), name


if __name__ == "__main__":  # print the current diff, to paste into MISSING
    import textwrap
    for ns, miss in sorted(current_diff().items()):
        body = textwrap.fill(" ".join(miss), width=88, initial_indent="    ",
                             subsequent_indent="    ")
        print(f'    "{ns}": """\n{body}\n    """,' if miss else f'    "{ns}": "",')
