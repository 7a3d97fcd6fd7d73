"""Run the pipeline stage by stage on a function, for the stage tests."""

import gast

from astgrad import api, check, optimize, parse, resolve, ssa
from astgrad.compile import to_source
from astgrad.errors import Location
from astgrad.ir import function_def


def front_of(fn, stage="resolve"):
    """The checked function (stage "parse") or its resolved form, and its location."""
    function = parse.read(fn)
    location = Location(function.filename)
    check.check(function.tree, location)
    if stage == "parse":
        return function, location
    return resolve.resolve(function, location), location


def program_of(fn):
    return ssa.to_ssa(*front_of(fn))


def equations_text(program):
    return [f"{eq.target} = {gast.unparse(eq.value)}" for eq in program.equations]


def adjoint_source(fn, wrt, optimized=True, arrays=True):
    adjoint = api.reverse_adjoint(program_of(fn), wrt, as_tuple=len(wrt) > 1, arrays=arrays)
    return to_source(function_def(optimize.optimize(adjoint) if optimized else adjoint))
