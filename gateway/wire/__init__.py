"""The gateway worker's conversion between wire messages and records, a batch per call.

``orders_to_inputs``: the NewOrder / Cancel / Replace / MassCancel messages at the
start of a buffer, as INPUT_DTYPE records (and reject entries for bad ones).
``events_to_reports``: EVENT_DTYPE records as ExecutionReport / MassCancelDone
bytes, grouped per session slot. Compiled (``_convert.pyx``) where it was built,
else the pure-Python reference (``wire_reference``): ``wire_choice`` picks, and
says which. ``reject_text.describe_reject`` words a reject entry.
"""
