"""``ringmatch bench``: benchmarks users can run and trust.

One module per benchmark (core, replay, ring, ids, e2e), each returning a
``Result`` (report.py) that is printed as a table and written as JSON plus one
``.hgrm`` percentile file per latency histogram; compare.py diffs two results.
Every result records the machine and which core ran (machine.py).
"""
