"""``python -m rdlab ...``: the ``rdlab`` command without the installed console script."""

if __name__ == "__main__":
    from rdlab.cli.main import entry_point

    entry_point()
