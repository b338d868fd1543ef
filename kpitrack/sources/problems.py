"""Problems found in source documents, each worded for the user with its file and YAML path."""

from django.utils.translation import gettext as _
from pydantic import ValidationError

from kpitrack.sources.schema import path


class DocumentError(Exception):
    """The documents cannot be loaded; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def problem(file: str, where: str, message: str) -> str:
    """One line: `2013-budget.yaml: goals[0].indicators[2].parts: 必須是清單。`"""
    return f"{file}: {where}: {message}" if where else f"{file}: {message}"


def _messages() -> dict:
    # pydantic's error types (and our validators' own) in our words; its English never shows.
    return {
        "missing": lambda ctx: _("必須填寫。"),
        "extra_forbidden": lambda ctx: _("資料格式沒有這個欄位（見 docs/data-format.md）。"),
        "string_type": lambda ctx: _("必須是文字。"),
        "int_type": lambda ctx: _("必須是整數。"),
        "list_type": lambda ctx: _("必須是清單。"),
        "dict_type": lambda ctx: _("必須是對照表（鍵: 值）。"),
        "model_type": lambda ctx: _("必須是對照表（鍵: 值）。"),
        "model_attributes_type": lambda ctx: _("必須是對照表（鍵: 值）。"),
        "greater_than_equal": lambda ctx: _("不可小於 %(ge)s。") % ctx,
        "less_than_equal": lambda ctx: _("不可大於 %(le)s。") % ctx,
        "figure_type": lambda ctx: _('數值必須寫成字串，例如 "1234.5"。'),
        "not_a_number": lambda ctx: (
            _("「%(value)s」不是數字：請寫成 1234 或 -12.5 的形式（不含千分位逗號）。") % ctx
        ),
        "code": lambda ctx: (
            _("「%(value)s」不是有效的代碼：只能使用英文字母、數字、連字號與底線（最多 50 字）。")
            % ctx
        ),
        "choice": lambda ctx: _("「%(value)s」不是可用的值；可用的值：%(choices)s。") % ctx,
    }


def validation_problems(file: str, exc: ValidationError) -> list[str]:
    messages = _messages()
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        make = messages.get(error["type"])
        ctx = error.get("ctx") or {}
        message = make(ctx) if make else _("格式不符（%(type)s）。") % {"type": error["type"]}
        found.append(problem(file, path(error["loc"]), message))
    return found
