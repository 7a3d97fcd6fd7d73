"""Every stage is a function of its input: run twice on the same input, it gives the same output.

Stages that make names (ssa, reverse, forward) each work on their own fork of
the namespace they are handed, so one run cannot take names from the next.
"""

import numpy as np
import pytest
from math import cos, sin

from astgrad import AstgradError, check, desugar, forward, optimize, parse, resolve, reverse, ssa
from astgrad.errors import Location
from cases import many_obstacles
from astgrad.compile import to_source
from astgrad.arrays import ArrayPolicy
from astgrad.ir import function_def
from stages import equations_text, front_of


def scalar(x, y):
    return sin(x) * cos(y) + x * y


def array(w, X, y):
    z = X @ w
    return np.mean((z - y) ** 2)


def printed(derivative):
    return to_source(function_def(derivative))


def test_ssa_twice_on_one_resolved_function_gives_the_same_equations():
    resolved, location = front_of(scalar)
    first, second = ssa.to_ssa(resolved, location), ssa.to_ssa(resolved, location)
    assert equations_text(first) == equations_text(second) == [
        "sin_x = sin(x)", "cos_y = cos(y)", "sin_x_times_cos_y = sin_x * cos_y", "x_times_y = x * y",
        "out = sin_x_times_cos_y + x_times_y",
    ]  # fmt: skip


def leaves_early(x, xs, n):
    for k in range(n):
        if x > 3.0:
            if x > 4.0:
                continue
            x = x * 0.5
        x = x + 1.0
        if x < 0.0:
            break
    for v in xs:
        if v > 1.0:
            break
        x = x * v
    return x


def test_desugar_twice_on_one_function_gives_the_same_tree_and_leaves_it_unchanged():
    function, _ = front_of(leaves_early, stage="parse")
    before = to_source(function.tree)
    first, second = (to_source(desugar.desugared(function.tree)) for _ in range(2))
    assert first == second and "break" not in first and "continue" not in first
    assert to_source(function.tree) == before


def test_resolve_twice_on_one_function_gives_the_same_statements():
    function, location = front_of(scalar, stage="parse")
    first, second = resolve.resolve(function, location), resolve.resolve(function, location)
    assert [to_source(s) for s in first.statements] == [to_source(s) for s in second.statements]


def test_check_and_resolve_twice_on_a_refused_function_list_the_same_obstacles_and_change_nothing():
    function = parse.read(many_obstacles.eight_obstacles)
    location = Location(function.filename)
    before = to_source(function.tree)
    listed = []
    for _ in range(2):
        survey = check.survey(function.tree, location)
        with pytest.raises(AstgradError) as info:
            resolve.resolve(function, location, survey)
        listed.append([(type(o), o.lineno, o.col_offset, o.reason, o.hint) for o in info.value.obstacles])
    assert listed[0] == listed[1] and len(listed[0]) == 8
    assert to_source(function.tree) == before


def test_reverse_twice_on_one_program_gives_the_same_names():
    for fn, wrt in ((scalar, ("x", "y")), (array, ("w",))):
        resolved, location = front_of(fn)
        program = ssa.to_ssa(resolved, location)
        first, second = (printed(reverse.reverse(program, wrt, len(wrt) > 1, array_policy=ArrayPolicy)) for _ in range(2))
        assert first == second
        assert "d_out_1" not in second and "d_x_1" not in second and "d_w_1" not in second


def test_forward_twice_on_one_program_gives_the_same_names():
    resolved, location = front_of(scalar)
    program = ssa.to_ssa(resolved, location)
    assert printed(forward.jvp(program, ("x", "y"))) == printed(forward.jvp(program, ("x", "y")))
    first = printed(forward.gradient(program, ("x", "y"), as_tuple=True))
    assert first == printed(forward.gradient(program, ("x", "y"), as_tuple=True))
    assert "dx_1" not in first


def test_optimize_twice_on_one_derivative_gives_the_same_lines():
    resolved, location = front_of(array)
    adjoint = reverse.reverse(ssa.to_ssa(resolved, location), ("w",), False, array_policy=ArrayPolicy)
    assert printed(optimize.optimize(adjoint)) == printed(optimize.optimize(adjoint))
    assert optimize.optimize(adjoint).lines != adjoint.lines  # it did rewrite something, from the same input


def test_a_stage_leaves_the_program_it_was_given_unchanged():
    resolved, location = front_of(array)
    program = ssa.to_ssa(resolved, location)
    before = (equations_text(program), set(program.namespace.locals), dict(program.namespace.added))
    reverse.reverse(program, ("w",), False, array_policy=ArrayPolicy)
    forward.jvp(program, ("w",))
    assert (equations_text(program), set(program.namespace.locals), dict(program.namespace.added)) == before


def layered(layers, x):
    W, b = layers[0]
    last = layers[1]
    return np.sum(np.tanh(x @ W + b) @ last["W"])


def test_flatten_twice_on_one_function_gives_the_same_tree_and_leaves_it_unchanged():
    from astgrad import parse, pytrees

    function = parse.read(layered)
    before = to_source(function.tree)
    specs = {"layers": pytrees.structure([(np.ones((2, 2)), np.ones(2)), {"W": np.ones((2, 1))}])}
    first, second = pytrees.flatten(function, specs), pytrees.flatten(function, specs)
    assert to_source(first.function.tree) == to_source(second.function.tree)
    assert first.read == second.read == {"layers": (((0, 0), "W"), ((0, 1), "b"), ((1, "W"), "layers_1_W"))}
    assert to_source(function.tree) == before


def packed_loss(w, *args, **kwargs):
    X, y = args
    return kwargs["scale"] * np.sum((X @ w - y) ** 2)


def test_specializing_twice_for_one_call_gives_the_same_function_and_leaves_the_parsed_one_unchanged():
    import gast

    from astgrad import parse, varargs

    function = parse.read(packed_loss)
    before = gast.dump(function.tree)
    shape = varargs.CallShape(2, ("scale",))
    first, second = varargs.specialize(function, shape), varargs.specialize(function, shape)
    assert gast.dump(first.function.tree) == gast.dump(second.function.tree)
    assert (first.positional, first.keywords) == (("X", "y"), {"scale": "scale"})
    assert gast.dump(function.tree) == before
