"""What the admin's change forms post, built from the database as a browser would send them."""

import json

from performance.models import Indicator, Result


def _formset(prefix, rows, initial):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{name}": value for name, value in row.items()})
    return data


def _text(value):
    return "" if value is None else str(value)


def indicator_post(indicator: Indicator, **overrides) -> dict:
    data = {
        "goal": indicator.goal_id,
        "code": indicator.code,
        "order": indicator.order,
        "name": indicator.name,
        "evaluation_system": indicator.evaluation_system,
        "evaluation_method": indicator.evaluation_method,
        "measurement_standard": indicator.measurement_standard,
        "target_text": indicator.target_text,
        "responsible_unit": _text(indicator.responsible_unit_id),
        "weight": str(indicator.weight),
        "method": indicator.method,
        "aggregation": indicator.aggregation,
        "formula": indicator.formula,
        "baseline": _text(indicator.baseline),
        "part_rate_cap": _text(indicator.part_rate_cap),
        "version_seen": indicator.version,
        "change_reason": "",
    }
    inputs = [
        {
            "id": i.pk,
            "indicator": indicator.pk,
            "order": i.order,
            "key": i.key,
            "label": i.label,
            "unit": i.unit,
        }
        for i in indicator.inputs.all()
    ]
    parts = [
        {
            "id": p.pk,
            "indicator": indicator.pk,
            "order": p.order,
            "key": p.key,
            "label": p.label,
            "value": _text(p.value),
            "unit": p.unit,
            "weight": _text(p.weight),
            "revision_reason": p.revision_reason,
        }
        for p in indicator.parts.all()
    ]
    data.update(_formset("inputs", inputs, len(inputs)))
    data.update(_formset("parts", parts, len(parts)))
    data.update(overrides)
    return data


def result_post(result: Result, **overrides) -> dict:
    data = {
        "state": result.state,
        "owner_unit": _text(result.owner_unit_id),
        "progress": result.progress,
        "benefit": result.benefit,
        "shortfall_reason": result.shortfall_reason,
        "improvement": result.improvement,
        "remarks": result.remarks,
        "published_text": result.published_text,
        "published_rate": result.published_rate,
        "published_basis": result.published_basis,
        "source": result.source,
        "layout": json.dumps(result.layout, ensure_ascii=False),
        "version_seen": result.version,
        "change_reason": "",
    }
    figures = [
        {
            "id": f.pk,
            "result": result.pk,
            "key": f.key,
            "value": _text(f.value),
            "published_rate": f.published_rate,
        }
        for f in result.figures.all()
    ]
    data.update(_formset("figures", figures, len(figures)))
    data.update(overrides)
    return data
