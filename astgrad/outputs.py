"""Choosing what a derivative differentiates and returns: one output of several, `has_aux`, Hessian-vector products.

Pure functions on the records of the other stages (`ir.Program`,
`ir.Derivative`), used by the API before and after the derivative stages:

- `selected(program, i)`: the program whose output is the `i`-th of a tuple
  output (the Jacobian in reverse mode takes one gradient per output);
- `split_aux(program, ...)`: for ``has_aux=True``, the program whose output is
  the loss, and the auxiliary value, from ``return loss, aux``;
- `with_aux(derivative, aux, ...)`: the derivative returning the auxiliary
  value beside the gradient, as JAX's ``has_aux`` does;
- `hvp(derivative, ...)`: the tangent function of a gradient as a
  Hessian-vector product: the tangents only, the output seed last.
"""

from dataclasses import replace

import gast

from .errors import NonScalarOutputError
from .ir import return_line
from .names import copy_atom


def selected(program, index):
    """`program` with only the `index`-th of its tuple output (a single output is index 0)."""
    if not isinstance(program.output, tuple):
        return program
    return replace(program, output=program.output[index])


def split_aux(program, location, function):
    """``(program of the loss, aux atoms)`` for a function that returns ``loss, aux``.

    Anything else (one value, a tuple of three) is refused at the return,
    before any code runs: the gradient would otherwise be of the wrong thing.
    """
    output = program.output
    if not isinstance(output, tuple) or len(output) != 2:
        what = f"a tuple of {len(output)}" if isinstance(output, tuple) else "a single value"
        raise location.error(
            NonScalarOutputError,
            function.tree.body[-1],
            f"{program.name} is differentiated with has_aux=True, so it must return a pair (loss, aux), "
            f"but it returns {what}",
            hint="write `return loss, aux` (aux may itself be a tuple: `return loss, (a, b)`), "
            "or leave out has_aux=True",
        )
    return replace(program, output=output[0]), output[1]


def with_aux(derivative, aux, with_value):
    """`derivative` returning ``(gradient, aux)``, or ``((value, aux), gradient)`` for value_and_grad."""
    value = derivative.lines[-1].value
    if with_value:
        loss, gradient = value.elts
        returned = gast.Tuple(elts=[gast.Tuple(elts=[loss, copy_atom(aux)], ctx=gast.Load()), gradient],
                              ctx=gast.Load())  # fmt: skip
    else:
        returned = gast.Tuple(elts=[value, copy_atom(aux)], ctx=gast.Load())
    return derivative.with_lines(derivative.lines[:-1] + (return_line(returned),))


def aux_returned(returned, with_value):
    """The wanted names of `with_aux`'s return, from the gradient's own (`rename.gradient_names`)."""
    if returned is None:
        return None
    if with_value:
        return ((None, None), returned[1])
    return (returned, None)


def jvp_with_aux(derivative, aux):
    """A tangent function's ``return loss, loss_dot`` made ``return (loss, aux), loss_dot``."""
    value, tangent = derivative.lines[-1].value.elts
    pair = gast.Tuple(elts=[value, copy_atom(aux)], ctx=gast.Load())
    returned = gast.Tuple(elts=[pair, tangent], ctx=gast.Load())
    return derivative.with_lines(derivative.lines[:-1] + (return_line(returned),))


def jvp_returning_aux(derivative, aux):
    """A tangent function's ``return out, out_dot`` made ``return out, out_dot, aux`` (`astgrad.jvp`, as JAX's)."""
    value, tangent = derivative.lines[-1].value.elts
    returned = gast.Tuple(elts=[value, tangent, copy_atom(aux)], ctx=gast.Load())
    return derivative.with_lines(derivative.lines[:-1] + (return_line(returned),))


def hvp(derivative, program, name):
    """The tangent function of a gradient (``jvp_d_f(x, d_out, x_dot)``) as ``hvp_f(x, x_dot, d_out=1.0)``.

    It returns the gradient's tangent only, the Hessian-vector product, and
    the gradient's output seed moves after the vectors, keeping its default
    1.0 (`hvp_f(x, v, d_out=s)` is the product of the Hessian of ``s * f``).
    A keyword-only seed stays where it is.
    """
    _, tangent = derivative.lines[-1].value.elts
    lines = derivative.lines[:-1] + (return_line(tangent),)
    args = derivative.args
    if not program.args.kwonlyargs:
        seed = args.args[len(program.params) - 1]
        vectors = args.args[len(program.params):]
        positional = args.args[: len(program.params) - 1] + vectors + [seed]
        args = gast.arguments(
            args=positional, posonlyargs=[], vararg=None, kwonlyargs=args.kwonlyargs,
            kw_defaults=args.kw_defaults, kwarg=None, defaults=[gast.Constant(value=1.0, kind=None)],
        )  # fmt: skip
    return replace(derivative, name=name, args=args, lines=lines)
