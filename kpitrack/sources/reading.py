"""Reading YAML that a stranger may have written: bounded in size, depth and number width.

The files are plain data, so YAML's programming features are refused outright rather than
limited: an anchor or alias (the "billion laughs" file expands aliases into gigabytes), any
explicit tag (`!!python/object`, `!!binary`, even `!!str`), a repeated mapping key (PyYAML keeps
the last one silently), nesting deeper than any document needs, and an integer so long that
converting it is itself the attack. Sizes are checked before a byte is parsed.
"""

import re
from pathlib import Path

import yaml
from django.utils.translation import gettext as _

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FOLDER_BYTES = 20 * 1024 * 1024
MAX_FILES = 100
MAX_DEPTH = 20
MAX_INTEGER_DIGITS = 20

_DIGITS = re.compile(r"[0-9a-fA-F]")


class UnsafeYAML(yaml.YAMLError):
    """A construct this reader refuses; `message` is already worded for the user."""

    def __init__(self, message: str, mark=None):
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases, tags, repeated keys, deep nesting or absurd integers."""

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise UnsafeYAML(_("不接受錨點（&）與別名（*），請把內容直接寫出。"), event.start_mark)
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise UnsafeYAML(
                _("不接受 YAML 標籤「%(tag)s」，請只寫純文字、數字、清單與對照表。") % {"tag": tag},
                event.start_mark,
            )
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if self.depth >= MAX_DEPTH:
                raise UnsafeYAML(
                    _("巢狀層次太深（最多 %(max)s 層）。") % {"max": MAX_DEPTH}, event.start_mark
                )
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                raise UnsafeYAML(_("對照表的鍵必須是文字。"), key_node.start_mark)
            if key in seen:
                raise UnsafeYAML(_("鍵「%(key)s」重複。") % {"key": key}, key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        # Counted before int() runs: converting a huge digit string is quadratic.
        if len(_DIGITS.findall(node.value)) > MAX_INTEGER_DIGITS:
            raise UnsafeYAML(
                _("整數太長（最多 %(max)s 位數）。") % {"max": MAX_INTEGER_DIGITS},
                node.start_mark,
            )
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


def _where(mark) -> str:
    if mark is None:
        return ""
    return _("第 %(line)s 行第 %(column)s 欄：") % {
        "line": mark.line + 1,
        "column": mark.column + 1,
    }


def parse_yaml(text: str):
    """The data in `text`; raises UnsafeYAML with a worded message (line and column first)."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except UnsafeYAML as exc:
        raise UnsafeYAML(_where(exc.mark) + exc.message, exc.mark) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise UnsafeYAML(_where(mark) + _("YAML 語法錯誤。"), mark) from None
    except yaml.YAMLError:
        raise UnsafeYAML(_("YAML 語法錯誤。")) from None
    finally:
        loader.dispose()


def read_files(folder: Path) -> tuple[dict[str, object], list[str]]:
    """Every `*.yaml` in `folder` parsed (name → data), and the problems of those that are not."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}, [f"{folder}: " + _("找不到資料夾。")]
    paths = sorted(path for path in folder.glob("*.yaml") if path.is_file())
    problems = []
    if len(paths) > MAX_FILES:
        message = _("YAML 檔太多（%(count)s 個，最多 %(max)s 個）。")
        return {}, [f"{folder}: " + message % {"count": len(paths), "max": MAX_FILES}]
    total = sum(path.stat().st_size for path in paths)
    if total > MAX_FOLDER_BYTES:
        message = _("YAML 檔合計太大（%(size)s 位元組，最多 %(max)s 位元組）。")
        return {}, [f"{folder}: " + message % {"size": total, "max": MAX_FOLDER_BYTES}]
    files = {}
    for path in paths:
        with path.open("rb") as stream:
            # Read one byte past the limit: the file may have grown since it was measured.
            raw = stream.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            message = _("檔案太大（最多 %(max)s 位元組），未讀取。")
            problems.append(f"{path.name}: " + message % {"max": MAX_FILE_BYTES})
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{path.name}: " + _("檔案必須以 UTF-8 編碼。"))
            continue
        try:
            files[path.name] = parse_yaml(text)
        except UnsafeYAML as exc:
            problems.append(f"{path.name}: {exc.message}")
    return files, problems
