"""Sessions that share botocore's model loader keep their own credentials and region."""

from __future__ import annotations

from slsops.deployment.aws_sessions import new_session


def test_sessions_share_the_loader_and_nothing_else():
    first = new_session(
        aws_access_key_id="AKIAFIRST", aws_secret_access_key="s1", region_name="eu-west-1"
    )
    second = new_session(
        aws_access_key_id="AKIASECOND", aws_secret_access_key="s2", region_name="us-east-1"
    )
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    assert first.get_credentials().access_key == "AKIAFIRST"
    assert second.get_credentials().access_key == "AKIASECOND"
    assert (first.region_name, second.region_name) == ("eu-west-1", "us-east-1")
    # boto3 adds its data folder to the search path at each session: listed once all the same
    assert len(loader.search_paths) == len(set(loader.search_paths))
    client = second.client("dynamodb", endpoint_url="http://127.0.0.1:9")
    assert client.meta.region_name == "us-east-1"
    assert "DescribeTable" in client.meta.service_model.operation_names
