"""The release gate's load test: verdict (targets vs. Locust's stats) and the run orchestration.

The scenarios themselves live in loadtests/ (locustfile.py); see loadtests/README.md.
"""
