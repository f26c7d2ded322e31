"""hpcinv's phases and operator products in PETSc's profiler, so ``-log_view`` shows where
the time goes.

A run's phases are PETSc log stages (``hpcinv: setup``, ``hpcinv: problem build``,
``hpcinv: solve``, ``hpcinv: checkpoint``, ``hpcinv: result write``); every operator class's
products are PETSc log events named after the class (``ReflectiveConvolution mult``,
``ReflectiveConvolution multT``; see ``linalg.operator``).  Pushing a stage is logically collective:
every rank passes through the same phases in the same order.  Stages and events are
registered once per process, on first use, after PETSc has started.
"""
from __future__ import annotations

from contextlib import contextmanager

STAGE_PREFIX = "hpcinv: "
_stages: dict = {}
_events: dict = {}


def _petsc():
    from petsc4py import PETSc

    return PETSc


@contextmanager
def stage(name: str):
    """Log everything inside as the stage ``hpcinv: <name>``."""
    registered = _stages.get(name)
    if registered is None:
        registered = _stages[name] = _petsc().Log.Stage(STAGE_PREFIX + name)
    registered.push()
    try:
        yield
    finally:
        registered.pop()


def event(name: str):
    """The PETSc log event ``name`` (``begin()``/``end()``), registered on first use."""
    registered = _events.get(name)
    if registered is None:
        registered = _events[name] = _petsc().Log.Event(name)
    return registered


def logged(name: str, product):
    """``product`` (a method of an operator) timed as the PETSc event ``name``."""
    def timed(*args, **kwargs):
        occurrence = event(name)
        occurrence.begin()
        try:
            return product(*args, **kwargs)
        finally:
            occurrence.end()
    timed.__wrapped__ = product
    timed.__doc__ = product.__doc__
    timed.__name__ = product.__name__
    return timed
