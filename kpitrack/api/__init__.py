"""JSON API v1: one module per resource, each with plain `to_dict` functions and its views.
Decimals travel as exact strings (`kpitrack.core.formatting.exact`/`plain`) so no client turns them
into floats; answers are UTF-8 JSON with the text as is, not \\u-escaped."""

from django.http import JsonResponse


def answer(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def error(message: str, status: int) -> JsonResponse:
    return answer({"error": message}, status)
