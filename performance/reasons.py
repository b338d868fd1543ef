"""User-facing wording for the engine's reason codes and formula errors (the engine has no i18n)."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kpitrack.core.engine.achievement import Reason
from kpitrack.core.engine.formula import FormulaError
from kpitrack.core.engine.numbers import FIGURE_DECIMAL_PLACES, FIGURE_LIMIT, FigureError
from kpitrack.core.engine.shape import ShapeProblem
from kpitrack.core.formatting import quarter_label

from .choices import MethodChoice

STATUS_LABELS = {
    "green": gettext_lazy("綠燈"),
    "yellow": gettext_lazy("黃燈"),
    "red": gettext_lazy("紅燈"),
    "white": gettext_lazy("白燈"),
}


def status_label(status) -> str:
    """綠燈/黃燈/紅燈/白燈 for an engine Status (or its value), in the active language."""
    return str(STATUS_LABELS[getattr(status, "value", status)])


def _quarters(quarters) -> str:
    return "、".join(quarter_label(q) for q in quarters)


def reason_message(reason: Reason | None, labels: dict[str, str] | None = None) -> str | None:
    """One sentence saying why a figure cannot be computed, naming the input concerned."""
    if reason is None:
        return None
    label = (labels or {}).get(reason.key, reason.key)
    messages = {
        "no_data": lambda: _("尚無填報資料。"),
        "missing_quarters": lambda: (
            _("「%(label)s」缺少%(quarters)s的資料。")
            % {"label": label, "quarters": _quarters(reason.quarters)}
        ),
        "missing_value": lambda: _("「%(label)s」尚未填報。") % {"label": label},
        "missing_previous": lambda: (
            _("缺少「%(label)s」的上年度實績，無法計算成長率。") % {"label": label}
        ),
        "zero_previous": lambda: (
            _("「%(label)s」的上年度實績為 0，無法計算成長率。") % {"label": label}
        ),
        "zero_denominator": lambda: _("分母「%(label)s」為 0，無法計算比率。") % {"label": label},
        "division_by_zero": lambda: _("公式計算時發生除以 0。"),
        "no_target": lambda: _("「%(label)s」未設定目標值。") % {"label": label},
        "zero_target": lambda: _("「%(label)s」的目標值為 0，無法計算達成率。") % {"label": label},
        "invalid_value": lambda: _("「%(label)s」的數值不符合此指標的規則。") % {"label": label},
        "missing_weight": lambda: _("子項目「%(label)s」未設定權重。") % {"label": label},
        "zero_weight": lambda: _("各子項目權重合計為 0。"),
        "formula_invalid": lambda: _("指標公式有誤，無法計算。"),
        "invalid_spec": lambda: _("指標的填報項目或目標項目設定不完整，無法計算。"),
    }
    make = messages.get(reason.code)
    return make() if make else _("無法計算（%(code)s）。") % {"code": reason.code}


def undeclared_inputs_message(keys: str, valid: str) -> str:
    """Names the keys that are not the indicator's inputs and lists the ones that are."""
    return _("「%(keys)s」不是此指標的填報項目。可填報的項目：%(valid)s") % {
        "keys": keys,
        "valid": valid or _("（此指標尚未設定填報項目）"),
    }


def figure_error_message(exc: FigureError) -> str:
    """Why a figure is refused, stating the allowed range."""
    if exc.code == "not_finite":
        return _("「%(text)s」不是有限的數值。") % {"text": exc.text}
    if exc.code == "not_a_number":
        return _("「%(text)s」不是數字，請輸入例如 1234 或 1,234.5 的數值。") % {"text": exc.text}
    return _("數值必須介於 %(low)s 與 %(high)s 之間，且最多 %(places)s 位小數。") % {
        "low": f"{-FIGURE_LIMIT:,}",
        "high": f"{FIGURE_LIMIT:,}",
        "places": FIGURE_DECIMAL_PLACES,
    }


def figure_bounds_message(text: str, low: Decimal, high: Decimal, *, places: int | None) -> str:
    """Why a typed figure is refused, quoting it and stating the input's own bounds (0 for a
    count, not the storage's negative limit); `places` None for whole-number inputs."""
    try:
        negative = Decimal(str(text).replace(",", "").strip()) < 0 <= low
    except InvalidOperation:
        negative = False
    values = {"text": text, "low": f"{low:,}", "high": f"{high:,}", "places": places}
    if negative:
        return _("「%(text)s」不可為負數：數值必須介於 %(low)s 與 %(high)s 之間。") % values
    if places is None:
        return _("「%(text)s」不符：數值必須介於 %(low)s 與 %(high)s 之間。") % values
    return (
        _("「%(text)s」不符：數值必須介於 %(low)s 與 %(high)s 之間，且最多 %(places)s 位小數。")
        % values
    )


def formula_error_message(exc: FormulaError) -> str:
    position = exc.position + 1
    detail = exc.detail
    messages = {
        "empty": _("公式不可空白。"),
        "too_long": _("公式太長（最多 500 個字元）。"),
        "too_deep": _("公式的括號或正負號層次太深。"),
        "unexpected_character": _("第 %(pos)s 個字元「%(detail)s」不是公式可用的符號。"),
        "unexpected_token": _("第 %(pos)s 個字元附近的「%(detail)s」不應出現在這裡。"),
        "unexpected_end": _("公式不完整，結尾缺少數值或名稱。"),
        "unbalanced_parentheses": _("第 %(pos)s 個字元附近的括號不成對。"),
        "unknown_name": _("「%(detail)s」不是此指標的填報項目代號。"),
        "reserved_name": _("「%(detail)s」是保留字，不可作為名稱使用。"),
    }
    message = messages.get(exc.code, _("公式有誤（%(detail)s）。"))
    return message % {"pos": position, "detail": detail}


def _method_label(value) -> str:
    return str(dict(MethodChoice.choices).get(value, value))


def shape_problem_message(problem: ShapeProblem) -> str:
    """One sentence, in the active language, for a problem `indicator_shape_problems` found."""
    p = dict(problem.params)
    if "method" in p:
        p["method"] = _method_label(p["method"])
    if problem.code == "formula_invalid":
        return formula_error_message(FormulaError(p["error"], p["position"], p["detail"]))
    messages = {
        "unknown_method": lambda: _("「%(value)s」不是計算方式。"),
        "unknown_aggregation": lambda: _("「%(value)s」不是季別彙總方式。"),
        "missing_key": lambda: _("必須填寫代號。"),
        "invalid_key": lambda: _(
            "「%(key)s」不是有效的代號：只能使用小寫英文字母、數字與底線，且不能以數字開頭。"
        ),
        "key_too_long": lambda: _("代號「%(key)s」太長（最多 %(max)s 個字元）。"),
        "reserved_key": lambda: _("「%(key)s」為公式保留字，不可作為代號。"),
        "duplicate_key": lambda: _("代號「%(key)s」重複。"),
        "not_a_number": lambda: _("「%(value)s」不是數字。"),
        "no_parts": lambda: _("至少要有一個目標項目。"),
        "input_without_part": lambda: _(
            "計算方式「%(method)s」的每個填報項目都必須有同代號的目標項目，「%(key)s」沒有。"
        ),
        "part_without_input": lambda: _(
            "計算方式「%(method)s」的每個目標項目都必須有同代號的填報項目，「%(key)s」沒有。"
        ),
        "too_many_parts": lambda: _(
            "計算方式「%(method)s」只能有一個目標項目，目前有 %(count)s 個。"
        ),
        "wrong_input_count": lambda: _(
            "計算方式「%(method)s」必須剛好有 %(expected)s 個填報項目，目前有 %(count)s 個。"
        ),
        "no_inputs": lambda: _("計算方式「%(method)s」至少要有一個填報項目。"),
        "rating_target": lambda: _("外部評等指標的目標值必須是 1（達成）。"),
        "ordinal_target": lambda: _("等第代碼指標的目標值必須是 0 或正整數。"),
        "negative_weight": lambda: _("權重不可為負數。"),
        "missing_weight": lambda: _("加權子項目「%(key)s」必須設定權重。"),
        "zero_weights": lambda: _("各子項目權重合計不可為 0。"),
        "formula_unused": lambda: _(
            "只有自訂公式指標使用公式；計算方式「%(method)s」不可填寫公式。"
        ),
        "formula_required": lambda: _("自訂公式指標必須填寫公式。"),
        "baseline_unused": lambda: _(
            "只有成長率指標使用上年度實績；計算方式「%(method)s」不可填寫。"
        ),
        "baseline_zero": lambda: _("上年度實績為 0，無法計算成長率。"),
    }
    make = messages.get(problem.code)
    if make is None:
        return _("指標設定有誤（%(code)s）。") % {"code": problem.code}
    return make() % p
