"""Direct messages (no ferry vertical): one JSON file per chat.

``Direct Message → Direct Messages → ChatHistory`` (current) or ``Direct Messages → Chat History
→ ChatHistory`` (older) is an object keyed ``"Chat History with <user>:"``, each value a list of
``{Date, From, Content}``. Each chat becomes ``/TikTok/Direct Messages/Chat History with <user>.json``;
other sub-sections of the DM section are written next to them as they are.
"""

from __future__ import annotations

from ..models import File
from .parse import Schema, TikTokExport, blank
from .sections import ROOT, json_file, readable, section_file_stem, split_section

__all__ = ["dm_files", "FOLDER", "PATHS"]

FOLDER = f"{ROOT}/Direct Messages"
#: (top-level key, sub-section holding the chats) per schema.
PATHS = {Schema.CURRENT: ("Direct Message", "Direct Messages"), Schema.OLDER: ("Direct Messages", "Chat History")}


def dm_files(export: TikTokExport) -> list[File]:
    """One file per chat; a ChatHistory that is not an object is a problem naming its JSON path."""
    if export.schema not in PATHS:
        return []
    key, sub = PATHS[export.schema]
    files = [
        json_file(export, FOLDER, f"{section_file_stem(str(chat.path[-1]))}.json", (key, sub, "ChatHistory", str(chat.path[-1])), chat.value)
        for chat in export.object_at(key, sub, "ChatHistory")
        if readable(export, chat) and not blank(chat.value)
    ]
    return files + split_section(export, key, FOLDER, skip=(sub,))
