"""Stage 5, reverse: the adjoint (reverse-mode derivative) function.

Takes a `Program` and the names of the parameters to differentiate, and gives
a `gast.FunctionDef`:

    def d_f(<the user's parameters>, d_out=1.0):
        <primal sweep: every equation of the program, in order>
        <adjoint sweep: for each equation, last to first, for each input that
         depends on a differentiated parameter:  d_input = d_target * partial
         (the first contribution assigns, later ones add)>
        return d_x, d_y          # or: return value, (d_x, d_y)

`d_out` is the output seed, so the same code computes vector-Jacobian
products. Adjoint names are ``d_`` + the variable's name, made unique against
every other name. Parameters the output does not depend on get ``0.0``. The
output is deliberately naive (``d_out * 1``, copies, unused primal lines):
the optimize stage cleans it.
"""

import gast

from . import runtime
from .errors import Location, NoDerivativeError
from .names import copy_atom, name
from .primitives import NOT_DIFFERENTIABLE, ZERO, dotted_name, is_numpy, is_operator, returns_python_scalar

SEED = "d_out"


def reverse(program, wrt, as_tuple, with_value=False):
    """The adjoint FunctionDef of `program` for the parameters named in `wrt`."""
    namespace = program.namespace
    seed = namespace.fresh(SEED)
    active = _active_names(program, wrt)
    adjoint = {}  # variable -> name of the adjoint variable accumulating its gradient
    body = [_assign(eq.target, eq.value) for eq in program.equations]

    def accumulate(variable, contribution):
        if variable not in adjoint:
            adjoint[variable] = namespace.fresh("d_" + variable)
            body.append(_assign(adjoint[variable], contribution))
        else:
            total = gast.BinOp(left=name(adjoint[variable]), op=gast.Add(), right=contribution)
            body.append(_assign(adjoint[variable], total))

    output = program.output
    if isinstance(output, gast.Name) and output.id in active:
        adjoint[output.id] = seed
        if _may_be_array(program, output.id):
            # An array output is refused at run time unless the seed has its shape.
            check = gast.Call(func=namespace.reference(runtime.scalar_seed), args=[name(output.id), name(seed)],
                              keywords=[])  # fmt: skip
            body.append(_assign(seed, check))
    for equation in reversed(program.equations):
        if equation.target not in adjoint:
            continue
        rule = equation.rule
        placeholders = dict(zip(rule.params, equation.inputs))
        placeholders[rule.output] = name(equation.target)
        for param, atom in zip(rule.params, equation.inputs):
            if not (isinstance(atom, gast.Name) and atom.id in active):
                continue
            partial = rule.partials[param]
            if partial is ZERO:
                continue
            if partial is NOT_DIFFERENTIABLE:
                raise _not_differentiable(equation, param)
            term = instantiate(partial, placeholders, rule.references, namespace)
            accumulate(atom.id, gast.BinOp(left=name(adjoint[equation.target]), op=gast.Mult(), right=term))

    gradients = [name(adjoint[p]) if p in adjoint else gast.Constant(value=0.0, kind=None) for p in wrt]
    gradient = gast.Tuple(elts=gradients, ctx=gast.Load()) if as_tuple else gradients[0]
    result = gast.Tuple(elts=[copy_atom(output), gradient], ctx=gast.Load()) if with_value else gradient
    body.append(gast.Return(value=result))
    return gast.FunctionDef(
        name=("value_and_d_" if with_value else "d_") + program.name,
        args=_with_seed(program.args, seed),
        body=body,
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )


def _may_be_array(program, variable):
    """Whether `variable` may be an array: only in NumPy code, and not if it is surely a Python number.

    Code that calls no NumPy function is scalar code: its gradient does not
    pay for a shape check (see docs/design.md).
    """
    if not any(is_numpy(equation.rule) for equation in program.equations):
        return False
    scalar = set()
    for equation in program.equations:
        rule = equation.rule
        inputs_scalar = all(not isinstance(a, gast.Name) or a.id in scalar for a in equation.inputs)
        if returns_python_scalar(rule) or (is_operator(rule) and inputs_scalar):
            scalar.add(equation.target)
    return variable not in scalar


def _active_names(program, wrt):
    """Names whose value depends on a differentiated parameter."""
    active = set(wrt)
    for equation in program.equations:
        rule = equation.rule
        if any(
            isinstance(atom, gast.Name) and atom.id in active and rule.partials[param] is not ZERO
            for param, atom in zip(rule.params, equation.inputs)
        ):
            active.add(equation.target)
    return active


def instantiate(template, placeholders, references, namespace):
    """A new tree for `template`: placeholders replaced by atoms, module names by references."""
    if isinstance(template, gast.Name):
        return copy_atom(placeholders[template.id])
    if isinstance(template, gast.Attribute):
        return namespace.reference(references[dotted_name(template)])
    fields = {}
    for field, value in gast.iter_fields(template):
        if isinstance(value, list):
            fields[field] = [instantiate(v, placeholders, references, namespace) if isinstance(v, gast.AST) else v for v in value]
        elif isinstance(value, gast.AST):
            fields[field] = instantiate(value, placeholders, references, namespace)
        else:
            fields[field] = value
    return type(template)(**fields)


def _assign(target, value):
    store = gast.Name(id=target, ctx=gast.Store(), annotation=None, type_comment=None)
    return gast.Assign(targets=[store], value=value, type_comment=None)


def _with_seed(args, seed):
    """The user's parameters plus the output seed `seed=1.0` (keyword-only if they have any)."""
    parameter = gast.Name(id=seed, ctx=gast.Param(), annotation=None, type_comment=None)
    one = gast.Constant(value=1.0, kind=None)
    copy = [gast.Name(id=a.id, ctx=gast.Param(), annotation=None, type_comment=None) for a in args.args]
    kwonly = [gast.Name(id=a.id, ctx=gast.Param(), annotation=None, type_comment=None) for a in args.kwonlyargs]
    defaults, kw_defaults = list(args.defaults), list(args.kw_defaults)
    if kwonly:
        kwonly.append(parameter)
        kw_defaults.append(one)
    else:
        copy.append(parameter)
        defaults.append(one)
    return gast.arguments(
        args=copy, posonlyargs=[], vararg=None, kwonlyargs=kwonly, kw_defaults=kw_defaults,
        kwarg=None, defaults=defaults,
    )  # fmt: skip


def _not_differentiable(equation, param):
    filename, _ = equation.origin
    return Location(filename).error(
        NoDerivativeError,
        equation.value,
        f"`{equation.rule.expression}` has no derivative with respect to `{param}`, "
        "and the value passed for it depends on a differentiated parameter",
        hint=f"pass a constant for `{param}`",
    )
