"""``slsops audit``: a read-only integrity audit of the log table.

``scan`` reads the table in parallel segments, ``rules`` judges one item at a time,
``aggregate`` keeps what spans items (duplicate log ids, index counts, counts per service,
level and day) in bounded memory, ``run`` ties them together for ``checks/audit.py``.
"""
