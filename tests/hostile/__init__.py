"""Generators of hostile and malformed input, built at test time (no large binaries committed).

One module per kind of input: ``archives`` (Meta/TikTok zips and export folders), ``folders`` (special
files, symlinks), ``pages`` (catalog solution pages), ``requests`` (HTTP bodies for ferry's receivers).
Each generator writes into a directory the test owns and returns what it made, so a test can name the
item it expects the error about.
"""
