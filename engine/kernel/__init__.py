"""The compiled matching kernel: records in, records out (docs/PIPELINE.md, "Records").

``ringmatch.engine.kernel._kernel`` is the Cython extension (built by setup.py
when Cython and a C++ compiler are there); ``api`` names what every kernel
offers and ``event_buffer`` what they raise, importable without it.
"""
