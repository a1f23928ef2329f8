"""Fake third-party services for the tests: real HTTP servers on 127.0.0.1, started in a thread."""
