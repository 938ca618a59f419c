"""``slsops drill``: a restore drill of the log table (point-in-time or on-demand backup).

``checksum`` records what a table holds (count and order-independent checksum of canonical
items under one predicate), ``restore`` runs the timed steps, ``cleanup`` tags, records and
removes drill tables and backups.
"""
