"""The ``shendu`` command line."""
