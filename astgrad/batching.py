"""Batched tangent templates: the tangent of a primitive for n directions at once (see `batched`).

The forward stage writes a batched tangent function (`forward.jvp` with
``batched=True``) for the Hessian of array code: every tangent carries a
leading axis of n directions. An elementwise entry needs no template of its
own (its partials broadcast against the tangents once these have their
value's rank, `batched.lifted`); an entry with a tangent template needs its
batched form, given here by the text of its tangent template. An entry
missing here is not batched: the Hessian then runs the plain tangent
function once per direction, as before.
"""

from dataclasses import replace

from . import batched

BATCHED_TANGENTS = {
    "d_x @ y + x @ d_y": "batched.batched_matmul(d_x, y) + batched.batched_rmatmul(x, d_y)",
    "np.matmul(d_x, y) + np.matmul(x, d_y)": "batched.batched_matmul(d_x, y) + batched.batched_rmatmul(x, d_y)",
    "np.dot(d_x, y) + np.dot(x, d_y)": "batched.batched_dot(d_x, y) + batched.batched_rdot(x, d_y)",
    "reduced(np.sum(d_x))": "batched.batched_summed(d_x, axis, keepdims)",
    "reduced(np.mean(d_x))": "batched.batched_averaged(d_x, axis, keepdims)",
    "d_x.T": "batched.batched_transposed(d_x)",
    "d_seed": "d_seed",
    "runtime.unbroadcast(d_x, like)": "batched.batched_unbroadcast(d_x, like)",
    "runtime.broadcast_like(d_x, like)": "batched.batched_broadcast(d_x, like)",
    "runtime.matmul_left_adjoint(d_g, x, y) + runtime.matmul_left_adjoint(g, x, d_y)":
        "batched.batched_matmul_left_adjoint(d_g, x, y) + batched.batched_matmul_left_adjoint_of_y(g, x, d_y)",
    "runtime.matmul_right_adjoint(d_g, x, y) + runtime.matmul_right_adjoint(g, d_x, y)":
        "batched.batched_matmul_right_adjoint(d_g, x, y) + batched.batched_matmul_right_adjoint_of_x(g, d_x, y)",
}  # fmt: skip

_rules = {}  # (entry, spelling, module) -> the batched twin of that rule (or None), made when first asked for


def batched_rule(rule):
    """`rule` with its tangent template batched, or None if it has no batched form."""
    key = (rule.entry, rule.signature, rule.names)  # array_twin makes equal rules anew
    if key not in _rules:
        text = BATCHED_TANGENTS.get(rule.tangent_text)
        twin = None
        if text is not None:
            namespace = {**rule.entry.namespace, "batched": batched}
            entry = replace(rule.entry, tangent_text=text, namespace=namespace, rules=rule.entry.rules)
            twin = replace(rule, entry=entry)
        _rules[key] = twin
    return _rules[key]
