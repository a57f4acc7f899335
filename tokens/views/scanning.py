"""The GitHub Secret Scanning partner endpoint: no session, no CSRF, a signed body."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import query_params
from tokens.scanning import ScanningError, check_size, handle_report

CODES = {401: "invalid_signature", 413: "too_large"}
UNREADABLE_LENGTH = 2**63


def _announced_length(request: HttpRequest) -> int:
    """Return the Content-Length; one that is not a number in ASCII digits counts as too large."""
    announced = query_params.whole_number(
        request.META.get("CONTENT_LENGTH") or "0", minimum=0, maximum=UNREADABLE_LENGTH - 1
    )
    return UNREADABLE_LENGTH if announced is None else announced


@csrf_exempt  # GitHub cannot send a CSRF token; the ECDSA signature authenticates it
@require_POST
def github_secret_scanning(request: HttpRequest) -> HttpResponse:
    """Revoke the tokens GitHub found in public and label each report entry."""
    try:
        check_size(_announced_length(request))  # before reading the body
        answer = handle_report(
            request.body,
            request.headers.get("Github-Public-Key-Identifier", ""),
            request.headers.get("Github-Public-Key-Signature", ""),
        )
    except RequestDataTooBig:  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE
        error = ScanningError(413, "The report is too large.")
    except ScanningError as refused:
        error = refused
    else:
        response = JsonResponse(answer, safe=False)
        # The answer repeats the reported values: leaked secrets, but secrets.
        patch_cache_control(response, no_store=True, private=True)
        return response
    code = CODES.get(error.status, "invalid_request")
    return JsonResponse({"error": code, "message": str(error)}, status=error.status)
