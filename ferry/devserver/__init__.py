"""Reference servers for development and tests: OAuth authorization server, Generic Importer API."""
