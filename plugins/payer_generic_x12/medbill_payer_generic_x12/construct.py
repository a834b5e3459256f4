"""Building domain objects from decoded X12 without a second validation pass.

The decoders check every value they read (amounts parse, codes are known, dates are real) and
convert it to the field's type, so running pydantic's validation again would only cost time: for a
5,000-claim 835 it took longer than reading the file. :func:`trusted` fills a model's ``__dict__``
directly, as ``BaseModel.model_construct`` does but without its per-field Python loop.

The test suite checks ``Model.model_validate(obj.model_dump()) == obj`` for every decoded fixture,
so a decoder that hands out something validation would change is caught.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

ModelT = TypeVar("ModelT", bound=BaseModel)

_Template = tuple[dict[str, Any], tuple[tuple[str, Any], ...], frozenset[str]]
_TEMPLATES: dict[type[BaseModel], _Template] = {}
_new = object.__new__
_set = object.__setattr__
_REQUIRED = object()


def _slot_setter(name: str) -> Any:
    """The ``__set__`` of BaseModel's slot ``name``: a direct store, no ``__setattr__`` lookup."""
    for klass in BaseModel.__mro__:
        descriptor = vars(klass).get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor.__set__
    return lambda instance, value: _set(instance, name, value)  # pragma: no cover


_set_dict = _slot_setter("__dict__")
_set_fields_set = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")


def _template_of(cls: type[BaseModel]) -> _Template:
    # A dict in field order (so dumps and reprs list fields as the model declares them).
    template: dict[str, Any] = {}
    factories: list[tuple[str, Any]] = []
    required: set[str] = set()
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            template[name] = None
            factories.append((name, info.default_factory))
        elif info.default is not PydanticUndefined:
            template[name] = info.default
        else:
            template[name] = _REQUIRED
            required.add(name)
    result = (template, tuple(factories), frozenset(required))
    _TEMPLATES[cls] = result
    return result


def trusted(cls: type[ModelT], values: dict[str, Any]) -> ModelT:
    """An instance of ``cls`` holding ``values`` (already of the fields' types) plus defaults.

    Fields missing from ``values`` get their defaults; a required field missing is a programming
    error in a decoder and raises ``KeyError``.
    """
    template, factories, required = _TEMPLATES.get(cls) or _template_of(cls)
    if not required <= values.keys():
        missing = sorted(required - values.keys())
        raise KeyError(f"{cls.__name__}: required fields not decoded: {', '.join(missing)}")
    data = template.copy()
    for name, factory in factories:
        if name not in values:
            data[name] = factory()
    data.update(values)
    if len(data) != len(template):
        unknown = sorted(set(data) - set(template))
        raise KeyError(f"{cls.__name__}: not fields of the model: {', '.join(unknown)}")
    instance = _new(cls)
    _set_dict(instance, data)
    _set_fields_set(instance, set(values))
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance


def builder(cls: type[ModelT]) -> Callable[[dict[str, Any]], ModelT]:
    """A constructor for ``cls`` taking a dict with *every* field, in declaration order.

    Faster than :func:`trusted` (no defaults merged, no checks): for decoders' inner loops, whose
    dict literals list all fields. The fixture tests compare every result with validation.
    """
    new = _new
    set_dict = _set_dict
    set_fields_set = _set_fields_set
    set_extra = _set_extra
    set_private = _set_private
    # Every field is given, so the fields set is always all of them: copy one prebuilt set.
    names = set(cls.model_fields)

    def build(data: dict[str, Any]) -> ModelT:
        instance = new(cls)
        set_dict(instance, data)
        set_fields_set(instance, names.copy())
        set_extra(instance, None)
        set_private(instance, None)
        return instance

    build.__name__ = f"build_{cls.__name__}"
    return build


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a decoder builds many acyclic objects.

    Decoded domain objects hold no reference cycles, yet allocating tens of thousands of them
    makes CPython run full collections over the whole heap repeatedly: for a 5,000-claim 835 that
    was a third of the decoding time. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _enable_without_young_scan()


def _enable_without_young_scan() -> None:
    """Re-enable the collector, filing what was allocated meanwhile with the old objects.

    Everything allocated during the pause sits in the youngest generation, so the first
    allocation after :func:`gc.enable` would trigger a collection scanning all of it (a fifth of
    the decoding time for a 5,000-claim 835). ``freeze`` + ``unfreeze`` moves every tracked object
    into the oldest generation in constant time instead; full collections still examine them.
    Done only when nothing else is frozen (``unfreeze`` would release an application's frozen
    objects too).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.enable()
        gc.unfreeze()
    else:
        gc.enable()
