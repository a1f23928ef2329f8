"""Direct messages (no ferry vertical): one JSON file per chat.

``Direct Message → Direct Messages → ChatHistory`` (current) or ``Direct Messages → Chat History
→ ChatHistory`` (older) is an object keyed ``"Chat History with <user>:"``, each value a list of
``{Date, From, Content}``. Each chat becomes ``/TikTok/Direct Messages/Chat History with <user>.json``;
other sub-sections of the DM section are written next to them as they are.
"""

from __future__ import annotations

from ..models import File
from .parse import Schema, TikTokExport, blank
from .sections import ROOT, json_file, safe_name, split_section

__all__ = ["dm_files", "FOLDER", "PATHS"]

FOLDER = f"{ROOT}/Direct Messages"
#: (top-level key, sub-section holding the chats) per schema.
PATHS = {Schema.CURRENT: ("Direct Message", "Direct Messages"), Schema.OLDER: ("Direct Messages", "Chat History")}


def dm_files(export: TikTokExport) -> list[File]:
    """Raises FatalError (naming the JSON path) when ChatHistory is not an object."""
    if export.schema not in PATHS:
        return []
    key, sub = PATHS[export.schema]
    chats = export.expect_dict(key, sub, "ChatHistory")
    files = [
        json_file(FOLDER, f"{safe_name(chat)}.json", (key, sub, "ChatHistory", chat), messages)
        for chat, messages in chats.items()
        if not blank(messages)
    ]
    return files + split_section(export, key, FOLDER, skip=(sub,))
