"""The HTTP servers ferry runs, one module or package per server.

* :mod:`.destination` - the reference destination (``ferry serve``): an OAuth authorization server
  and the Generic Importer API, for development, ``ferry conformance`` and the tests.
* :mod:`.tiktok_webhooks` - ``ferry serve-webhooks``: TikTok's "data ready" callback wakes a
  waiting transfer.
* :mod:`.expiry_notices` - ``ferry serve-expiry-notices``: providers' access-expiry notices (Meta's
  webhook included).
* :mod:`.threaded` - runs any of these apps in a thread of the calling process (tests, bench).

The CLI (:mod:`ferry.cli`) starts them; the logic they call lives in ``connectors`` and ``flows``.
"""
