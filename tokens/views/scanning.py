"""The GitHub Secret Scanning partner endpoint: no session, no CSRF, a signed body."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tokens.scanning import ScanningError, handle_report


@csrf_exempt  # GitHub cannot send a CSRF token; the ECDSA signature authenticates it
@require_POST
def github_secret_scanning(request: HttpRequest) -> HttpResponse:
    """Revoke the tokens GitHub found in public and label each report entry."""
    limit = settings.KEYWARD_GITHUB_SECRET_SCANNING_MAX_BODY
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = limit + 1
    if length > limit:
        return JsonResponse(
            {"error": "too_large", "message": "The report is too large."}, status=413
        )
    try:
        answer = handle_report(
            request.body,
            request.headers.get("Github-Public-Key-Identifier", ""),
            request.headers.get("Github-Public-Key-Signature", ""),
        )
    except ScanningError as error:
        code = "invalid_signature" if error.status == 401 else "invalid_request"
        return JsonResponse({"error": code, "message": str(error)}, status=error.status)
    return JsonResponse(answer, safe=False)
