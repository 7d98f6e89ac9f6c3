"""The LanguageExtensions transform as the embedded runner applies it: loops, map look-ups, JSON strings.

Where AWS documents a template and what the transform turns it into, the test feeds the one and expects the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from packshot.errors import ConfigurationError
from packshot.local.language_extensions import expand
from packshot.local.template import Stack

SAM = "AWS::Serverless-2016-10-31"


def transformed(resources: dict[str, Any], **sections: Any) -> dict[str, Any]:
    template = {"Transform": ["AWS::LanguageExtensions", SAM], "Resources": resources, **sections}
    return expand(template, sections.pop("values", None), {"AWS::Region": "eu-west-1"})["Resources"]


def stack_from(tmp_path: Path, text: str, **parameters: str) -> Stack:
    (tmp_path / "template.yaml").write_text(text, encoding="utf-8")
    return Stack.from_file(tmp_path / "template.yaml", parameters=parameters or None)


def test_a_loop_over_a_list_makes_one_resource_per_item_with_the_item_in_its_key_refs_and_subs() -> None:
    # AWS's "Replicate an Amazon DynamoDB resource" example, with a Fn::Sub added.
    resources = transformed({"Fn::ForEach::Tables": ["TableName", ["Points", "Score"], {
        "DynamoDB${TableName}": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": {"Ref": "TableName"}, "Description": {"Fn::Sub": "the ${TableName} table"}}}}]})
    assert resources == {
        "DynamoDBPoints": {"Type": "AWS::DynamoDB::Table",
                           "Properties": {"TableName": "Points", "Description": "the Points table"}},
        "DynamoDBScore": {"Type": "AWS::DynamoDB::Table",
                          "Properties": {"TableName": "Score", "Description": "the Score table"}},
    }


def test_nested_loops_name_resources_by_both_items_and_refer_to_them_through_sub() -> None:
    # AWS's "Replicate multiple resources using nested Fn::ForEach loops" example.
    resources = transformed({"Fn::ForEach::SubnetResources": ["Prefix", ["Transit", "Public"], {
        "Nacl${Prefix}Subnet": {"Type": "AWS::EC2::NetworkAcl", "Properties": {"VpcId": {"Ref": "VPC"}}},
        "Fn::ForEach::LoopInner": ["Suffix", ["A", "B"], {
            "${Prefix}Subnet${Suffix}": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}}},
            "Nacl${Prefix}Subnet${Suffix}Association": {"Type": "AWS::EC2::SubnetNetworkAclAssociation", "Properties": {
                "SubnetId": {"Ref": {"Fn::Sub": "${Prefix}Subnet${Suffix}"}},
                "NetworkAclId": {"Fn::GetAtt": [{"Fn::Sub": "Nacl${Prefix}Subnet"}, "Id"]}}}}]}]})
    assert sorted(resources) == sorted([
        "NaclTransitSubnet", "TransitSubnetA", "NaclTransitSubnetAAssociation", "TransitSubnetB",
        "NaclTransitSubnetBAssociation", "NaclPublicSubnet", "PublicSubnetA", "NaclPublicSubnetAAssociation",
        "PublicSubnetB", "NaclPublicSubnetBAssociation"])
    assert resources["NaclPublicSubnetBAssociation"]["Properties"] == {
        "SubnetId": {"Ref": "PublicSubnetB"}, "NetworkAclId": {"Fn::GetAtt": ["NaclPublicSubnet", "Id"]}}
    assert resources["TransitSubnetA"]["Properties"] == {"VpcId": {"Ref": "VPC"}}


def test_the_item_replaces_its_identifier_in_every_string_and_key_not_only_in_sub() -> None:
    # As the documentation says ("all instances ... in the OutputKey and OutputValue") and SAM CLI's port does.
    resources = transformed({"Fn::ForEach::Topics": ["Name", ["Jobs"], {"${Name}Topic": {
        "Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t-${Name}", "Tags": {"${Name}Owner": "${!Name}"},
                                                  "Arn": {"Fn::GetAtt": "${Name}Queue.Arn"}}}}]})
    assert resources == {"JobsTopic": {"Type": "AWS::SNS::Topic", "Properties": {
        "TopicName": "t-Jobs", "Tags": {"JobsOwner": "${!Name}"}, "Arn": {"Fn::GetAtt": "JobsQueue.Arn"}}}}


def test_an_ampersand_identifier_keeps_only_the_item_s_letters_and_digits() -> None:
    resources = transformed({"Fn::ForEach::Buckets": ["Host", ["cdn.example.com", "img-2"], {
        "Bucket&{Host}": {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": {"Fn::Sub": "${Host}-logs"}, "Tags": [{"Key": "id", "Value": {"Fn::Sub": "&{Host}"}}]}}}]})
    assert sorted(resources) == ["Bucketcdnexamplecom", "Bucketimg2"]
    assert resources["Bucketimg2"]["Properties"] == {"BucketName": "img-2-logs",
                                                     "Tags": [{"Key": "id", "Value": "img2"}]}


def test_a_sub_becomes_its_string_once_every_variable_is_known_and_otherwise_stays_with_its_escapes() -> None:
    resources = transformed({"Fn::ForEach::Queues": ["Name", ["Jobs"], {"${Name}Queue": {
        "Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": {"Fn::Sub": "${AWS::StackName}-${Name}"},
            "Literal": {"Fn::Sub": "${!Name} is ${Name}"},
            "Known": {"Fn::Sub": ["${Name}:${Size}", {"Size": {"Fn::FindInMap": ["Sizes", {"Ref": "Name"}, "Size"]}}]},
            "Deployed": {"Fn::Sub": ["${Name}:${Arn}",
                                     {"Arn": {"Fn::GetAtt": [{"Fn::Sub": "${Name}Topic"}, "Arn"]}}]}}}}]},
        Mappings={"Sizes": {"Jobs": {"Size": 3}}})
    assert resources["JobsQueue"]["Properties"] == {
        "QueueName": {"Fn::Sub": "${AWS::StackName}-Jobs"},
        "Literal": {"Fn::Sub": "${!Name} is Jobs"},
        "Known": "Jobs:3",
        "Deployed": {"Fn::Sub": ["Jobs:${Arn}", {"Arn": {"Fn::GetAtt": ["JobsTopic", "Arn"]}}]}}


def test_find_in_map_is_looked_up_before_deployment_with_the_item_a_parameter_or_a_pseudo_parameter() -> None:
    mappings = {"Sizes": {"Small": {"Memory": 256, "Name": "s"}, "Large": {"Memory": 3008, "Name": "l"}},
                "Regions": {"eu-west-1": {"Ami": "ami-1"}}}
    parameters = {"Preferred": {"Type": "String", "Default": "Small"}}
    resources = transformed({
        "Fn::ForEach::Fns": ["Size", ["Small", "Large"], {"${Size}Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "MemorySize": {"Fn::FindInMap": ["Sizes", {"Ref": "Size"}, "Memory"]}}}}],
        "Chosen": {"Type": "AWS::Lambda::Function", "Properties": {
            "MemorySize": {"Fn::FindInMap": ["Sizes", {"Ref": "Preferred"}, "Memory"]},
            "Description": {"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Ami"]}}},
    }, Mappings=mappings, Parameters=parameters, values={"Preferred": "Large"})
    assert resources["SmallFn"]["Properties"]["MemorySize"] == 256
    assert resources["LargeFn"]["Properties"]["MemorySize"] == 3008
    assert resources["Chosen"]["Properties"] == {"MemorySize": 3008, "Description": "ami-1"}


def test_a_find_in_map_default_value_applies_only_when_the_entry_is_missing_and_no_value_drops_the_property() -> None:
    # AWS's "Replicate multiple resources" example: only B and C have a condition.
    resources = transformed({"Fn::ForEach::Nat": ["Id", ["A", "B"], {"NatGateway${Id}": {
        "Type": "AWS::EC2::NatGateway", "Properties": {"Domain": {"Fn::FindInMap": [
            "NatGateway", "Domain", {"Ref": "Id"}, {"DefaultValue": "vpc"}]}},
        "Condition": {"Fn::FindInMap": ["NatGateway", "Condition", {"Ref": "Id"},
                                        {"DefaultValue": {"Ref": "AWS::NoValue"}}]}}}]},
        Mappings={"NatGateway": {"Condition": {"B": "TwoNatGateways"}, "Domain": {"A": "standard"}}})
    assert resources["NatGatewayA"] == {"Type": "AWS::EC2::NatGateway", "Properties": {"Domain": "standard"}}
    assert resources["NatGatewayB"] == {"Type": "AWS::EC2::NatGateway", "Properties": {"Domain": "vpc"},
                                        "Condition": "TwoNatGateways"}


@pytest.mark.parametrize("find_in_map, problem", [
    (["Sizes", "Huge", "Memory"], "no Sizes.Huge.Memory"),
    (["Sizes", {"Ref": "SomeBucket"}, "Memory"], "no value before deployment"),
    (["Sizes", "Small"], r"takes \[MapName"),
    (["Sizes", "Huge", "Memory", {"Default": 1}], "DefaultValue"),
])
def test_a_find_in_map_the_transform_cannot_answer_is_an_error_naming_where(find_in_map: list, problem: str) -> None:
    function = {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": {"Fn::FindInMap": find_in_map}}}
    with pytest.raises(ConfigurationError, match=problem) as error:
        transformed({"Fn": function}, Mappings={"Sizes": {"Small": {"Memory": 256}}})
    assert "Resources.Fn.Properties.MemorySize" in str(error.value)


def test_a_collection_can_be_a_comma_delimited_list_parameter_or_a_mapping_s_list() -> None:
    parameters = {"Names": {"Type": "CommaDelimitedList", "Default": "a,b"}}
    fragment = {"Topic${Name}": {"Type": "AWS::SNS::Topic"}}
    from_parameter = transformed({"Fn::ForEach::T": ["Name", {"Ref": "Names"}, fragment]},
                                 Parameters=parameters, values={"Names": "x, y,z"})
    from_mapping = transformed({"Fn::ForEach::T": ["Name", {"Fn::FindInMap": ["Lists", "Topics", "Names"]}, fragment]},
                               Mappings={"Lists": {"Topics": {"Names": ["p", "q"]}}})
    assert sorted(from_parameter) == ["Topicx", "Topicy", "Topicz"]
    assert sorted(from_mapping) == ["Topicp", "Topicq"]


def test_loops_work_in_conditions_and_outputs_too() -> None:
    template = {
        "Transform": "AWS::LanguageExtensions",
        "Conditions": {"Fn::ForEach::Envs": ["Env", ["Prod", "Dev"], {
            "Is${Env}": {"Fn::Equals": [{"Ref": "Stage"}, {"Ref": "Env"}]}}]},
        "Resources": {"Fn::ForEach::Envs": ["Env", ["Prod"], {"${Env}Topic": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": {"Fn::If": ["Is${Env}", {"Fn::Sub": "${Env} topic"}, {"Ref": "AWS::NoValue"}]}}}}]},
        "Outputs": {"Fn::ForEach::Envs": ["Env", ["Prod"], {
            "${Env}TopicArn": {"Value": {"Ref": {"Fn::Sub": "${Env}Topic"}}}}]},
    }
    result = expand(template)
    assert "Transform" not in result
    assert result["Conditions"] == {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "Prod"]},
                                    "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "Dev"]}}
    assert result["Resources"]["ProdTopic"]["Properties"]["DisplayName"] == {
        "Fn::If": ["IsProd", "Prod topic", {"Ref": "AWS::NoValue"}]}
    assert result["Outputs"] == {"ProdTopicArn": {"Value": {"Ref": "ProdTopic"}}}


def test_the_template_given_is_not_changed_and_only_sam_s_transform_is_left() -> None:
    template = {"Transform": ["AWS::LanguageExtensions", SAM],
                "Resources": {"Fn::ForEach::T": ["N", ["A"], {"T${N}": {"Type": "AWS::SNS::Topic"}}]}}
    before = json.dumps(template)
    result = expand(template)
    assert json.dumps(template) == before
    assert result == {"Transform": SAM, "Resources": {"TA": {"Type": "AWS::SNS::Topic"}}}


@pytest.mark.parametrize("resources, problem", [
    # Every copy would have the same logical ID.
    ({"Fn::ForEach::T": ["N", ["A", "B"], {"Topic": {"Type": "AWS::SNS::Topic"}}]}, "generated twice"),
    # A loop's copy collides with a resource written out.
    ({"Fn::ForEach::T": ["N", ["A"], {"Topic${N}": {"Type": "AWS::SNS::Topic"}}],
      "TopicA": {"Type": "AWS::SNS::Topic"}},
     "defined twice"),
    # A loop's identifier that is also a parameter's name: which would Ref mean?
    ({"Fn::ForEach::T": ["Size", ["A"], {"T${Size}": {"Type": "AWS::SNS::Topic"}}]}, "a parameter's name"),
    ({"Fn::ForEach::T": ["N", ["A"], {"Topic${Other}": {"Type": "AWS::SNS::Topic"}}]}, "other than a loop identifier"),
    ({"Fn::ForEach::T": ["N", [1, 2], {"Topic${N}": {"Type": "AWS::SNS::Topic"}}]}, "list of strings"),
    ({"Fn::ForEach::T": ["N", ["A"]]}, r"\[Identifier, Collection"),
    ({"Fn::ForEach::T": ["N", ["A"], {"Fn::ForEach::U": ["N", ["B"], {"T${N}": {}}]}]}, "already an enclosing"),
    ({"Fn::ForEach::T": ["N", {"Ref": "SomeTopic"}, {"T${N}": {}}]}, "no value before deployment"),
])
def test_a_loop_the_transform_would_refuse_or_that_could_mean_two_things_is_an_error(resources: dict,
                                                                                     problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        transformed(resources, Parameters={"Size": {"Type": "String", "Default": "s"}})


def test_a_loop_without_the_transform_or_with_sam_running_first_is_refused() -> None:
    resources = {"Fn::ForEach::T": ["N", ["A"], {"T${N}": {"Type": "AWS::SNS::Topic"}}]}
    with pytest.raises(ConfigurationError, match="without Transform"):
        expand({"Transform": SAM, "Resources": resources})
    with pytest.raises(ConfigurationError, match="first"):
        expand({"Transform": [SAM, "AWS::LanguageExtensions"], "Resources": resources})


def test_the_embedded_stack_resolves_to_json_string_to_the_compact_json_of_the_resolved_block(tmp_path: Path) -> None:
    stack = stack_from(tmp_path, """
Transform: AWS::LanguageExtensions
Parameters:
  Period: {Type: Number, Default: 300}
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Board:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardBody:
        Fn::ToJsonString:
          widgets:
            - {type: metric, x: 0, period: !Ref Period, title: "depth: ${x}",
               metrics: [[AWS/SQS, Depth, !GetAtt Queue.QueueName]],
               note: !If [Never, kept, !Ref AWS::NoValue], region: !Sub "${AWS::Region}"}
Conditions:
  Never: !Equals [a, b]
""", Period="60")
    body = stack.resolve(stack.properties("Board")["DashboardBody"])
    assert body == ('{"widgets":[{"type":"metric","x":0,"period":"60","title":"depth: ${x}",'
                    '"metrics":[["AWS/SQS","Depth","packshot-local-Queue"]],"region":"us-east-1"}]}')


def test_the_embedded_stack_unrolls_a_loop_in_a_yaml_template_with_short_tags(tmp_path: Path) -> None:
    stack = stack_from(tmp_path, """
Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Mappings:
  Limits: {Jobs: {Timeout: 30}, Mail: {Timeout: 60}}
Resources:
  Fn::ForEach::Queues:
    - Name
    - [Jobs, Mail]
    - ${Name}Queue:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: !Sub "${AWS::StackName}-${Name}"
          VisibilityTimeout: !FindInMap [Limits, !Ref Name, Timeout]
      ${Name}Alarm:
        Type: AWS::CloudWatch::Alarm
        Properties:
          Dimensions: [{Name: QueueName, Value: !GetAtt [!Sub "${Name}Queue", QueueName]}]
""")
    assert set(stack.resources) == {"JobsQueue", "MailQueue", "JobsAlarm", "MailAlarm"}
    assert stack.physical["MailQueue"]["QueueName"] == "packshot-local-Mail"
    assert stack.properties("MailQueue")["VisibilityTimeout"] == 60
    assert stack.resolve(stack.properties("JobsAlarm")["Dimensions"]) == [
        {"Name": "QueueName", "Value": "packshot-local-Jobs"}]


def test_a_sam_function_takes_the_globals_it_does_not_ignore_maps_merging_and_lists_adding_up(tmp_path: Path) -> None:
    stack = stack_from(tmp_path, """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 30
    Layers: [shared]
    Environment: {Variables: {A: global, B: global}}
Resources:
  Zip:
    Type: AWS::Serverless::Function
    Properties: {Timeout: 60, Layers: [own], Environment: {Variables: {B: own}}}
  Image:
    Type: AWS::Serverless::Function
    IgnoreGlobals: [Runtime, Layers]
    Properties: {PackageType: Image}
  Bare:
    Type: AWS::Serverless::Function
    IgnoreGlobals: "*"
    Properties: {}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {}
""")
    assert stack.properties("Zip") == {"Runtime": "python3.12", "Timeout": 60, "Layers": ["shared", "own"],
                                       "Environment": {"Variables": {"A": "global", "B": "own"}}}
    assert stack.properties("Image") == {"Timeout": 30, "PackageType": "Image",
                                         "Environment": {"Variables": {"A": "global", "B": "global"}}}
    assert stack.properties("Bare") == {} and stack.properties("Queue") == {}
    assert stack.function_environment("Zip") == {"A": "global", "B": "own"}
