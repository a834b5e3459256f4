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
from collections.abc import Iterator
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
    _set(instance, "__dict__", data)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


def builder(cls: type[ModelT]) -> Any:
    """A constructor for ``cls`` taking a dict with *every* field, in declaration order.

    Faster than :func:`trusted` (no defaults merged, no checks): for decoders' inner loops, whose
    dict literals list all fields. The fixture tests compare every result with validation.
    """
    new = _new
    set_attribute = _set

    def build(data: dict[str, Any]) -> ModelT:
        instance = new(cls)
        set_attribute(instance, "__dict__", data)
        set_attribute(instance, "__pydantic_fields_set__", set(data))
        set_attribute(instance, "__pydantic_extra__", None)
        set_attribute(instance, "__pydantic_private__", None)
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
            gc.enable()
