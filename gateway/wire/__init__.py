"""The gateway worker's conversion between wire messages and records, a batch per call.

``orders_to_inputs``: the NewOrder / Cancel / Replace / MassCancel messages at the
start of a buffer, as INPUT_DTYPE records (and reject entries for bad ones).
``events_to_reports`` / ``events_to_slot_bytes``: EVENT_DTYPE records as
ExecutionReport / MassCancelDone bytes, grouped per session slot. Compiled
(``_convert.pyx``) where it was built, else the pure-Python reference
(``wire_reference``, whose docstrings are the spec of both): ``wire_choice``
picks. ``reject_text.describe_reject`` words a reject entry.

A session's read loop, in outline::

    conv = wire_choice.conversion()
    while True:
        consumed, count, rejects = conv.orders_to_inputs(
            view[pos:], account, symbol_ids, time.time_ns(), records)
        pos += consumed
        ...push records[:count]; for each entry of rejects, describe_reject -> MessageReject
        if count < len(records):
            break  # not full: at view[pos:] is another type, a partial message or nothing
    ...the Python protocol code reads the message at view[pos:], if whole, then loop again

and on the way out, per batch of events from the ring::

    chunks, max_seq = conv.events_to_slot_bytes(events, slot_of_account, wire_symbol)
    for slot, data in chunks:
        transports[slot].write(data)  # a bytes of its own: the transport may keep it
"""
