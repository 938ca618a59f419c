"""The CI harnesses: whole-system runs that judge a stack rather than inspect one resource.

- :mod:`slsops.harness.suite`: the main job (``nox -s suite``), every command in one run;
- :mod:`slsops.harness.fuzz`: generated requests from service/openapi.json (``nox -s fuzz``);
- :mod:`slsops.harness.campaign`: ingest and read under injected DynamoDB faults, then count;
- :mod:`slsops.harness.reliability`: fuzzing, fault campaigns, concurrency and the access
  matrix, judged by the REL- checks (:mod:`slsops.harness.reliability_checks`).
"""
