"""An IAM policy evaluator that decides as AWS does for the policies this project writes.

Why not moto's: ``moto.iam.access_control`` matches action names case-sensitively, treats ``?``
as a regular-expression character, ignores ``NotResource`` and all condition operators but
StringEquals, and has no trust-policy (resource-based) evaluation. The local stack needs a deny
wherever AWS denies, so this package implements the documented logic:

- explicit ``Deny`` wins, then an ``Allow``, else an implicit deny;
- ``Action``/``NotAction`` (case-insensitive) and ``Resource``/``NotResource`` (case-sensitive,
  each of the six ARN components matched separately) with ``*`` and ``?`` wildcards;
- ``Condition`` blocks: every operator AWS documents (String*, Numeric*, Date*, Bool,
  BinaryEquals, IpAddress, Arn*, Null) with the ``ForAnyValue:``/``ForAllValues:`` prefixes and
  the ``IfExists`` suffix; keys are case-insensitive, several values of one key are OR'ed,
  several keys and operators are AND'ed; a key missing from the request makes a positive
  operator false and a negated one (``StringNotEquals``...) true;
- policy variables (``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``) in Resource and
  condition values when the document says ``"Version": "2012-10-17"``;
- trust policies for ``sts:AssumeRole``: ``Principal``/``NotPrincipal`` (AWS, Service,
  Federated), combined with the caller's identity policies as AWS does (see ``trust_allows``).

Not modelled (the project does not use them): permission boundaries and session policies are
composed by the caller (``slsops.local.identity.authorize``), SCPs, and the escapes ``${*}``,
``${?}``, ``${$}``.

The parts: ``documents`` (reading policies), ``matching`` (wildcards and ARNs), ``conditions``
(context, variables, operators), ``identity`` (identity-based evaluation), ``trust`` (trust
policies). This module is the one import the rest of the project uses.
"""

from slsops.iam.conditions import conditions_hold, normalize_context
from slsops.iam.documents import (
    Context,
    Decision,
    Policies,
    PolicyDocument,
    PolicyError,
    as_list,
    load_policy,
    statements,
)
from slsops.iam.identity import evaluate
from slsops.iam.matching import action_matches, arn_matches, wildcard_match
from slsops.iam.trust import principal_match, trust_allows

__all__ = [
    "Context",
    "Decision",
    "Policies",
    "PolicyDocument",
    "PolicyError",
    "action_matches",
    "arn_matches",
    "as_list",
    "conditions_hold",
    "evaluate",
    "load_policy",
    "normalize_context",
    "principal_match",
    "statements",
    "trust_allows",
    "wildcard_match",
]
