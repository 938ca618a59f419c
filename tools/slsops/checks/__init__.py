"""The check families: one module per resource family (``checks/dynamodb.py`` ...).

Each module registers its checks, each with an id, a title, a severity, a remediation and what it
reads, with ``slsops.framework.model.check``; running them and writing the results belong to
``slsops.framework``, which knows no family.
"""
