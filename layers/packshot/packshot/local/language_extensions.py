"""The AWS::LanguageExtensions transform, applied the way CloudFormation applies it before SAM's: loops unrolled.

CloudFormation runs a template's transforms in the order listed, so with
`Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]` SAM (and CloudFormation after it) sees plain
resources. `expand` does that first step for the embedded runner and for the IaC scan:

- `Fn::ForEach::Name: [Identifier, Collection, {OutputKey: OutputValue}]` in Conditions, Resources and Outputs
  (nested too) becomes one copy of the fragment per item. In each copy `${Identifier}` and `&{Identifier}` (the
  item without its non-alphanumeric characters) are replaced in every key and string, `Fn::Sub`'s included, and
  `Ref: Identifier` becomes the item (as the transform's documentation says, and SAM CLI's port of it does). A
  `Fn::Sub` whose variables are then all known becomes its string, so `Ref: {Fn::Sub: "${Name}Function"}` and
  `Fn::GetAtt: [{Fn::Sub: ...}, Arn]` name a resource, as the documented examples show. The collection is a list of
  strings, a CommaDelimitedList parameter or a mapping's list; an identifier may not be a parameter's name.
- `Fn::FindInMap` (with an optional `DefaultValue`) is looked up now: the transform resolves it before deployment,
  so its keys may use identifiers, parameters and pseudo parameters, never a resource. A `DefaultValue` of
  `Ref: AWS::NoValue` removes the property.
- `Fn::ToJsonString` needs the resources' names, so it is left to `Stack.resolve`, like the other functions.

Anything the transform would reject is a `ConfigurationError` naming the place: a key generated twice, a map
entry that does not exist, a loop whose items are not strings, a value the transform cannot know before deployment.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from packshot.errors import ConfigurationError

TRANSFORM = "AWS::LanguageExtensions"
_FOR_EACH = re.compile(r"^Fn::ForEach::[A-Za-z0-9]+$")
# The sections CloudFormation expands; Fn::ForEach anywhere else is an error there too.
_SECTIONS = ("Conditions", "Resources", "Outputs")
_NO_VALUE = {"Ref": "AWS::NoValue"}


class _Removed:
    """What a `Fn::FindInMap` whose `DefaultValue` is `AWS::NoValue` becomes: the property is dropped."""


_REMOVED = _Removed()


def expand(
    template: Mapping[str, Any],
    parameters: Mapping[str, str] | None = None,
    pseudo: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The template as CloudFormation hands it to the next transform (a copy; `template` is not changed).

    `parameters` are the stack's parameter values (strings, as CloudFormation passes them; a CommaDelimitedList is
    split here); `pseudo` the values of `AWS::Region`, `AWS::AccountId` and the like.
    """
    result = copy.deepcopy(dict(template))
    declared = result.get("Transform", [])
    transforms = [declared] if isinstance(declared, str) else list(declared)
    if TRANSFORM not in transforms:
        if any(_FOR_EACH.match(key) for key in _keys(result)):
            raise ConfigurationError(f"the template uses Fn::ForEach without Transform: {TRANSFORM}")
        return result
    if transforms[0] != TRANSFORM:
        raise ConfigurationError(f"list {TRANSFORM} first in Transform: the transforms run in the order listed, "
                                 "and the others do not know Fn::ForEach")
    rest = transforms[1:]
    if rest:
        result["Transform"] = rest[0] if len(rest) == 1 else rest
    else:
        del result["Transform"]
    expander = _Expander(result, parameters or {}, pseudo or {})
    for section in _SECTIONS:
        if section in result:
            result[section] = expander.expand(result[section], {}, section)
    return result


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _substitute(text: str, names: Mapping[str, str]) -> str:
    for name, item in names.items():
        text = text.replace("${" + name + "}", item)
        text = text.replace("&{" + name + "}", re.sub(r"[^A-Za-z0-9]", "", item))
    return text


class _Expander:
    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str], pseudo: Mapping[str, str]) -> None:
        self._mappings: Mapping[str, Any] = template.get("Mappings", {})
        self._pseudo = pseudo
        self._parameters: dict[str, str | list[str]] = {}
        for name, spec in template.get("Parameters", {}).items():
            value = str(parameters.get(name, spec.get("Default", "")))
            kind = str(spec.get("Type", "String"))
            self._parameters[name] = [v.strip() for v in value.split(",")] if "List" in kind else value

    # --- the walk ---
    def expand(self, node: Any, names: Mapping[str, str], where: str) -> Any:
        if isinstance(node, list):
            items = (self.expand(item, names, f"{where}[{i}]") for i, item in enumerate(node))
            return [item for item in items if item is not _REMOVED]
        if isinstance(node, str):
            return _substitute(node, names)
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self._ref(arg, names, where)
            if key == "Fn::Sub":
                return self._sub(arg, names, where)
            if key == "Fn::GetAtt":
                return self._get_att(arg, names, where)
            if key == "Fn::FindInMap":
                return self._find_in_map(arg, names, where)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if _FOR_EACH.match(key):
                generated = self._for_each(key, value, names, f"{where}.{key}")
            else:
                generated = {_substitute(key, names): self.expand(value, names, f"{where}.{key}")}
            for out_key, out_value in generated.items():
                if out_key in out:
                    raise ConfigurationError(f"{where}: {out_key!r} is defined twice (is each loop's identifier "
                                             "in its output keys?)")
                if out_value is not _REMOVED:
                    out[out_key] = out_value
        return out

    def _for_each(self, key: str, value: Any, names: Mapping[str, str], where: str) -> dict[str, Any]:
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
                and isinstance(value[2], dict)):
            raise ConfigurationError(f"{where}: write [Identifier, Collection, {{OutputKey: OutputValue}}]")
        identifier, collection, fragment = value
        if identifier in names or identifier in self._parameters:
            raise ConfigurationError(f"{where}: the identifier {identifier!r} is already an enclosing loop's or a "
                                     "parameter's name")
        out: dict[str, Any] = {}
        for item in self._collection(collection, names, where):
            inner = {**names, identifier: item}
            for out_key, out_value in fragment.items():
                if _FOR_EACH.match(out_key):
                    generated = self._for_each(out_key, out_value, inner, f"{where}.{out_key}")
                else:
                    name = _substitute(out_key, inner)
                    if "${" in name or "&{" in name:
                        raise ConfigurationError(f"{where}: {out_key!r} names something other than a loop "
                                                 "identifier (only identifiers are replaced in output keys)")
                    generated = {name: self.expand(out_value, inner, f"{where}.{name}")}
                for name, expanded in generated.items():
                    if name in out:
                        raise ConfigurationError(f"{where}: {name!r} is generated twice (put ${{{identifier}}} "
                                                 "in the output key)")
                    out[name] = expanded
        return out

    def _collection(self, collection: Any, names: Mapping[str, str], where: str) -> list[str]:
        items = self._static(collection, names, where)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ConfigurationError(f"{where}: the collection must be a list of strings, not {items!r}")
        return items

    # --- the functions the transform rewrites ---
    def _ref(self, arg: Any, names: Mapping[str, str], where: str) -> Any:
        if isinstance(arg, str):
            return names[arg] if arg in names else {"Ref": arg}
        target = self._static(arg, names, where)
        if not isinstance(target, str):
            raise ConfigurationError(f"{where}: Ref needs a name, not {target!r}")
        return {"Ref": target}

    def _get_att(self, arg: Any, names: Mapping[str, str], where: str) -> Any:
        if isinstance(arg, str):
            return {"Fn::GetAtt": _substitute(arg, names)}
        if not (isinstance(arg, list) and len(arg) == 2):
            raise ConfigurationError(f"{where}: Fn::GetAtt takes [LogicalId, Attribute], not {arg!r}")
        parts = [_substitute(part, names) if isinstance(part, str) else self._static(part, names, where)
                 for part in arg]
        return {"Fn::GetAtt": parts}

    def _sub(self, arg: Any, names: Mapping[str, str], where: str) -> Any:
        if isinstance(arg, str):
            text = _substitute(arg, names)
            # Nothing left for CloudFormation to substitute (and no ${!literal} to unescape): it is a string.
            return text if "${" not in text else {"Fn::Sub": text}
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
            text, variables = _substitute(arg[0], names), self.expand(arg[1], names, where)
            used = set(re.findall(r"\$\{([^!}][^}]*)\}", text))
            if "${!" not in text and all(isinstance(variables.get(v), (str, int, float)) for v in used):
                # Every variable is known now (a loop item, a map entry): the transform hands on the string.
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(variables[m.group(1)]), text)
            return {"Fn::Sub": [text, variables]}
        raise ConfigurationError(f"{where}: Fn::Sub takes a string or [string, {{name: value}}], not {arg!r}")

    def _find_in_map(self, arg: Any, names: Mapping[str, str], where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            raise ConfigurationError(f"{where}: Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey] and "
                                     "an optional {DefaultValue: ...}")
        keys = [self._static(part, names, where) for part in arg[:3]]
        if not all(isinstance(k, (str, int)) for k in keys):
            raise ConfigurationError(f"{where}: Fn::FindInMap keys must be strings, not {keys!r}")
        level: Any = self._mappings
        for k in keys:
            level = level.get(str(k)) if isinstance(level, dict) else None
        if level is not None:
            return copy.deepcopy(level)
        if len(arg) == 4:
            default = arg[3]
            if not (isinstance(default, dict) and list(default) == ["DefaultValue"]):
                raise ConfigurationError(f"{where}: the fourth argument of Fn::FindInMap is {{DefaultValue: ...}}")
            if default["DefaultValue"] == _NO_VALUE:
                return _REMOVED
            return self._static(default["DefaultValue"], names, where)
        raise ConfigurationError(f"{where}: Mappings has no {'.'.join(str(k) for k in keys)} (and no DefaultValue)")

    def _static(self, value: Any, names: Mapping[str, str], where: str) -> Any:
        """A value the transform knows before deployment: literals, loop items, parameters, pseudo parameters."""
        if isinstance(value, (str, int, float, bool)):
            return value
        if isinstance(value, list):
            return [self._static(item, names, where) for item in value]
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" and isinstance(arg, str):
                if arg in names:
                    return names[arg]
                if arg in self._parameters:
                    return copy.deepcopy(self._parameters[arg])
                if arg in self._pseudo:
                    return self._pseudo[arg]
                raise ConfigurationError(f"{where}: {arg!r} has no value before deployment (a resource, or an "
                                         "unknown name): the transform cannot use it here")
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                text = _substitute(text, names)
                known = {**self._pseudo, **{k: str(v) for k, v in self._parameters.items()},
                         **{k: str(self._static(v, names, where)) for k, v in variables.items()}}

                def lookup(match: re.Match[str]) -> str:
                    if match.group(1).startswith("!"):
                        return "${" + match.group(1)[1:] + "}"
                    if match.group(1) not in known:
                        raise ConfigurationError(f"{where}: ${{{match.group(1)}}} has no value before deployment")
                    return known[match.group(1)]

                return re.sub(r"\$\{([^}]+)\}", lookup, text)
            if key == "Fn::FindInMap":
                return self._find_in_map(arg, names, where)
            if key == "Fn::Join":
                items = self._static(arg[1], names, where)
                return str(arg[0]).join(str(self._static(item, names, where)) for item in items)
            if key == "Fn::Select":
                return self._static(arg[1], names, where)[int(self._static(arg[0], names, where))]
            if key == "Fn::Split":
                return str(self._static(arg[1], names, where)).split(str(arg[0]))
        raise ConfigurationError(f"{where}: the transform cannot evaluate {value!r} before deployment")


def main(argv: list[str] | None = None) -> int:
    """`python -m packshot.local.language_extensions template.yaml out.json`: the expanded template, for scanners."""
    from packshot.local.template import Stack

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m packshot.local.language_extensions TEMPLATE OUT.json", file=sys.stderr)
        return 2
    source, target = Path(args[0]), Path(args[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(Stack.from_file(source).template, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
