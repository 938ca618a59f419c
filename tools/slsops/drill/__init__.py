"""``slsops drill``: a restore drill of the log table (point-in-time or on-demand backup).

``restore`` runs the timed phases (``result`` holds options, phases and the evidence record),
``canary`` writes and checks the entries that prove the restore point, ``compare`` judges the
restored table against what the source held at the point (``checksum``: canonical items and
order-independent checksums), ``validation`` runs those checks after the restore,
``settings`` lists what a restore does not carry over, and ``cleanup`` records, tags and
removes what a drill creates.
"""
