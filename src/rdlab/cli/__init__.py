"""Command-line interface: thin wrappers over the library; no logic of its own."""
