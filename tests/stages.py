"""Run the pipeline stage by stage on a function, for the stage tests."""

import gast

from astgrad import check, optimize, parse, resolve, reverse, ssa
from astgrad.compile import to_source
from astgrad.errors import Location


def program_of(fn):
    function = parse.read(fn)
    location = Location(function.filename)
    check.check(function.tree, location)
    return ssa.to_ssa(resolve.resolve(function, location), location)


def equations_text(program):
    return [f"{eq.target} = {gast.unparse(eq.value)}" for eq in program.equations]


def adjoint_source(fn, wrt, optimized=True):
    tree = reverse.reverse(program_of(fn), wrt, as_tuple=len(wrt) > 1)
    return to_source(optimize.optimize(tree) if optimized else tree)
