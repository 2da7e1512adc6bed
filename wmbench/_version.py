"""The version of wmbench (read by the build and recorded in results)."""

__version__ = "0.1.0"
