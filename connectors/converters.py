"""Converters between verticals, and the route a transfer takes through them.

DTP's idea (AnyToAnyImporter): a media importer plus a conversion function is a photos importer.
Here a :class:`Route` says which vertical to export, which to import, and the function that turns
a page of one into a page of the other. Converters are pure and deterministic: the ids of
converted items derive from the originals, so a redone page converts to the same ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass

from .errors import ConfigError
from .models import VERTICAL_KINDS, File, Folder, Item, MediaAlbum, Photo, Video, Vertical
from .names import safe_segment

__all__ = ["Route", "Converter", "plan_route", "media_to_blobs"]

#: converter(items, state) -> items. ``state`` is a small JSON-able dict the framework keeps per
#: job and vertical, for facts that span pages (which folder path an album became).
Converter = Callable[[list[Item], MutableMapping[str, str]], list[Item]]


def _keep_kinds(kinds: frozenset[str]) -> Converter:
    def convert(items: list[Item], state: MutableMapping[str, str]) -> list[Item]:
        return [item for item in items if getattr(item, "kind", None) in kinds]

    return convert


def media_to_blobs(items: list[Item], state: MutableMapping[str, str]) -> list[Item]:
    """Albums become folders (``/<album name>``), photos and videos become files in them."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, MediaAlbum):
            path = "/" + safe_segment(item.name or item.id)
            state[item.id] = path
            out.append(Folder(id=item.id, path=path))
        elif isinstance(item, (Photo, Video)):
            folder = state.get(item.album_id or "", "/")
            out.append(
                File(
                    id=item.id,
                    folder=folder,
                    name=item.file_name,
                    mime_type=item.mime_type,
                    modified=item.taken_time or item.uploaded_time,
                    size=item.size,
                    ref=item.ref,
                )
            )
    return out


@dataclass(frozen=True)
class Route:
    """How one requested vertical travels: export ``source``, convert, import ``target``."""

    requested: Vertical
    source: Vertical
    target: Vertical
    convert: Converter

    @property
    def is_identity(self) -> bool:
        return self.source == self.target


# (exported vertical, imported vertical) -> converter. Identity routes are implicit.
_CONVERSIONS: dict[tuple[Vertical, Vertical], Converter] = {
    (Vertical.PHOTOS, Vertical.MEDIA): _keep_kinds(VERTICAL_KINDS[Vertical.PHOTOS]),
    (Vertical.VIDEOS, Vertical.MEDIA): _keep_kinds(VERTICAL_KINDS[Vertical.VIDEOS]),
    (Vertical.MEDIA, Vertical.PHOTOS): _keep_kinds(VERTICAL_KINDS[Vertical.PHOTOS]),
    (Vertical.MEDIA, Vertical.VIDEOS): _keep_kinds(VERTICAL_KINDS[Vertical.VIDEOS]),
    (Vertical.PHOTOS, Vertical.BLOBS): media_to_blobs,
    (Vertical.VIDEOS, Vertical.BLOBS): media_to_blobs,
    (Vertical.MEDIA, Vertical.BLOBS): media_to_blobs,
}

# When the requested vertical is not exported as such, which exported vertical can stand in.
_EXPORT_FALLBACK: dict[Vertical, tuple[Vertical, ...]] = {
    Vertical.PHOTOS: (Vertical.MEDIA,),
    Vertical.VIDEOS: (Vertical.MEDIA,),
    Vertical.MEDIA: (Vertical.PHOTOS, Vertical.VIDEOS),
}


def _identity(items: list[Item], state: MutableMapping[str, str]) -> list[Item]:
    return items


def plan_route(requested: Vertical, exports: Iterable[Vertical], imports: Iterable[Vertical]) -> Route:
    """Pick the cheapest way to move ``requested`` between these capabilities.

    Prefers no conversion, then a conversion on the import side, then a stand-in export.
    Raises ConfigError naming the vertical when no route exists.
    """
    exports, imports = frozenset(exports), frozenset(imports)
    export_choices = ([requested] if requested in exports else []) + [
        v for v in _EXPORT_FALLBACK.get(requested, ()) if v in exports
    ]
    for source in export_choices:
        if source in imports:
            return Route(requested, source, source, _identity)
        for target in (requested, Vertical.MEDIA, Vertical.PHOTOS, Vertical.VIDEOS, Vertical.BLOBS):
            if target in imports and (source, target) in _CONVERSIONS:
                return Route(requested, source, target, _CONVERSIONS[(source, target)])
    if not export_choices:
        have = ", ".join(sorted(exports)) or "nothing"
        raise ConfigError(f"the source cannot export {requested}; it exports {have}")
    have = ", ".join(sorted(imports)) or "nothing"
    raise ConfigError(f"the destination cannot import {requested} (it imports {have}) and no converter fits")
