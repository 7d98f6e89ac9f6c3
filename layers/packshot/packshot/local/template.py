"""Reading template.yaml: CloudFormation tags, the LanguageExtensions transform, SAM Globals, intrinsic functions and
physical names for the embedded stack."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from packshot.errors import ConfigurationError
from packshot.local.language_extensions import expand

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
# What `!Ref AWS::NoValue` resolves to: the property or list item is dropped.
_NO_VALUE: Any = object()


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns short-form tags (!Ref, !Sub, ...) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    """The template as written (loops not unrolled: `Stack.from_file(path).template` is the expanded one)."""
    with path.open(encoding="utf-8") as fh:
        return dict(yaml.load(fh, Loader=_CfnLoader))


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and str(next(iter(value))).startswith(("Ref", "Fn::"))


def _merge_global(global_value: Any, local_value: Any) -> Any:
    """SAM's rule for a Globals property a resource also sets: maps merge, lists concatenate, otherwise it wins."""
    if (isinstance(global_value, dict) and isinstance(local_value, dict)
            and not (_is_intrinsic(global_value) or _is_intrinsic(local_value))):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_global(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


@dataclass
class Stack:
    """The template's resources with the names the embedded AWS gives them."""

    template: dict[str, Any]
    root: Path
    name: str = "packshot-local"
    parameters: dict[str, str] = field(default_factory=dict)
    physical: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path, name: str = "packshot-local", parameters: dict[str, str] | None = None) -> Stack:
        """The template after the transforms CloudFormation runs before creating anything (see `expand`)."""
        raw = load_template(path)
        values = {pname: str((parameters or {}).get(pname, spec.get("Default", "")))
                  for pname, spec in raw.get("Parameters", {}).items()}
        pseudo = {"AWS::StackName": name, "AWS::AccountId": ACCOUNT_ID, "AWS::Region": REGION,
                  "AWS::Partition": PARTITION, "AWS::URLSuffix": "amazonaws.com"}
        stack = cls(template=expand(raw, values, pseudo), root=path.parent, name=name, parameters=values)
        for logical, resource in stack.resources.items():
            stack.physical[logical] = stack._names_for(logical, resource)
        for logical, resource in stack.of_type("AWS::Logs::LogGroup").items():
            if "LogGroupName" in resource.get("Properties", {}):
                name = stack.resolve(resource["Properties"]["LogGroupName"])
                arn = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*"
                stack.physical[logical] = {"Ref": name, "Arn": arn}
        return stack

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources this stack creates: those whose `Condition` is false are left out, as CloudFormation does."""
        return {k: v for k, v in self.template.get("Resources", {}).items()
                if "Condition" not in v or self.condition(v["Condition"])}

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise ConfigurationError(f"template uses condition {name!r}, which is not in Conditions")
        return self._truth(conditions[name])

    def _truth(self, value: Any) -> bool:
        """Evaluate a condition expression: Fn::Equals, Fn::Not, Fn::And, Fn::Or and named conditions."""
        if isinstance(value, bool):
            return value
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Condition":
                return self.condition(str(arg))
            if fn == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if fn == "Fn::Not":
                return not self._truth(arg[0])
            if fn == "Fn::And":
                return all(self._truth(a) for a in arg)
            if fn == "Fn::Or":
                return any(self._truth(a) for a in arg)
        raise ConfigurationError(f"the embedded runner cannot evaluate the condition {value!r}")

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    def properties(self, logical: str) -> dict[str, Any]:
        """The resource's properties; a SAM function's with the Globals it does not ignore (IgnoreGlobals)."""
        resource = self.resources[logical]
        props = dict(resource.get("Properties", {}))
        if resource.get("Type") != "AWS::Serverless::Function":
            return props
        ignored = resource.get("IgnoreGlobals", [])
        if ignored == "*":
            return props
        merged = {k: v for k, v in self.template.get("Globals", {}).get("Function", {}).items() if k not in ignored}
        return dict(_merge_global(merged, props))

    # --- names ---
    def _names_for(self, logical: str, resource: dict[str, Any]) -> dict[str, str]:
        rtype = resource.get("Type", "")
        props = resource.get("Properties", {})
        generated = f"{self.name}-{logical}"
        arn_prefix = f"arn:{PARTITION}"
        if rtype == "AWS::S3::Bucket":
            name = self.resolve(props["BucketName"]) if "BucketName" in props else generated.lower()
            return {"Ref": name, "Arn": f"{arn_prefix}:s3:::{name}"}
        if rtype == "AWS::SQS::Queue":
            name = self.resolve(props.get("QueueName", generated))
            return {
                "Ref": f"http://localhost/{ACCOUNT_ID}/{name}",  # replaced by the real URL once created
                "QueueName": name,
                "Arn": f"{arn_prefix}:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            }
        if rtype == "AWS::DynamoDB::Table":
            name = self.resolve(props.get("TableName", generated))
            return {"Ref": name, "Arn": f"{arn_prefix}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"}
        if rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            name = self.resolve(props.get("FunctionName", generated))
            return {"Ref": name, "Arn": f"{arn_prefix}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"}
        if rtype in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            name = self.resolve(props.get("Name", generated))
            arn = f"{arn_prefix}:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"
            return {"Ref": arn, "Arn": arn, "Name": name}
        if rtype == "AWS::SNS::Topic":
            name = self.resolve(props.get("TopicName", generated))
            arn = f"{arn_prefix}:sns:{REGION}:{ACCOUNT_ID}:{name}"
            return {"Ref": arn, "Arn": arn, "TopicName": name}
        if rtype == "AWS::CloudWatch::Alarm":
            return {"Ref": self.resolve(props.get("AlarmName", generated))}
        if rtype == "AWS::Logs::LogGroup":
            # Usually "/aws/lambda/${Function}": resolved once the functions have their names (second pass).
            return {"Ref": generated}
        if rtype == "AWS::CloudWatch::Dashboard":
            return {"Ref": self.resolve(props.get("DashboardName", generated))}
        if rtype == "AWS::IAM::ManagedPolicy":
            return {"Ref": f"{arn_prefix}:iam::{ACCOUNT_ID}:policy/{generated}"}
        if rtype == "AWS::Serverless::LayerVersion":
            return {"Ref": f"{arn_prefix}:lambda:{REGION}:{ACCOUNT_ID}:layer:{generated}:1"}
        return {"Ref": generated}

    # --- intrinsic functions ---
    def resolve(self, value: Any) -> Any:
        """Evaluate Ref, GetAtt, Sub, Join, Split, Select, If and ToJsonString against the embedded stack; others are
        an error (the LanguageExtensions transform already looked up Fn::FindInMap)."""
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref" and arg == "AWS::NoValue":
                return _NO_VALUE
            if fn == "Ref":
                return self._ref(str(arg))
            if fn == "Fn::If":
                name, if_true, if_false = arg
                return self.resolve(if_true if self.condition(name) else if_false)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self._attr(logical, attr)
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::Join":
                sep, items = arg
                return sep.join(str(self.resolve(i)) for i in items)
            if fn == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if fn == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if fn == "Fn::ToJsonString":
                # Compact, keys in template order: the string CloudFormation's documented examples show.
                return json.dumps(self.resolve(arg), separators=(",", ":"), ensure_ascii=False)
            if fn.startswith("Fn::"):
                raise ConfigurationError(f"the embedded runner does not evaluate {fn} yet; extend local/template.py")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]["Ref"]
        raise ConfigurationError(f"template refers to {name!r}, which is not a parameter or resource")

    def _attr(self, logical: str, attr: str) -> str:
        try:
            return self.physical[logical][attr]
        except KeyError:
            raise ConfigurationError(f"the embedded runner has no value for !GetAtt {logical}.{attr}") from None

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def substitute(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(self.resolve(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                logical, attr = token.split(".", 1)
                return self._attr(logical, attr)
            return self._ref(token)

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)

    # --- helpers for the runner ---
    def function_environment(self, logical: str) -> dict[str, str]:
        """Globals' variables overlaid with the function's own, resolved; a variable that is AWS::NoValue is unset."""
        env: dict[str, Any] = self.properties(logical).get("Environment", {}).get("Variables", {})
        resolved = {k: self.resolve(v) for k, v in env.items()}
        return {k: str(v) for k, v in resolved.items() if v is not _NO_VALUE}

    def state_machine_definition(self, logical: str) -> str:
        props = self.properties(logical)
        text = (self.root / props["DefinitionUri"]).read_text(encoding="utf-8")
        substitutions = {k: str(self.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
        missing = set(re.findall(r"\$\{(\w+)\}", text)) - substitutions.keys()
        if missing:
            raise ConfigurationError(f"{props['DefinitionUri']} uses undefined substitutions: {sorted(missing)}")
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", value)
        json.loads(text)  # a bad substitution must fail here, not inside moto
        return text
