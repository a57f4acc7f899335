"""The JSON API under /api/v1/: Bearer tokens, RFC 6750 errors, RFC 7662 introspection."""

from __future__ import annotations

import functools
import logging
import re
from datetime import timedelta
from typing import NoReturn

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import re_path
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from ninja import Form, NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError
from ninja.security import HttpBearer

from accounts import errors, text
from accounts.audit import audit_record
from accounts.http import client_ip, limit_key, user_agent
from accounts.models import Workspace
from tokens import lookup_limit, services, signals
from tokens import scopes as scope_catalogue
from tokens.actors import Actor
from tokens.auth import (
    AuthenticationFailed,
    TokenPrincipal,
    announce_use,
    authenticate_pair,
    authenticate_token,
)
from tokens.models import Token
from tokens.schemas import (
    ErrorOut,
    IntrospectionOut,
    KindName,
    ListStatus,
    TokenCreateIn,
    TokenOut,
    TokenRotateIn,
    TokenUpdateIn,
    TokenWithSecretOut,
    WhoAmIOut,
)

logger = logging.getLogger("keyward.tokens.api")
REALM = 'Bearer realm="keyward"'
# Public ids are short ASCII words (tok_…); anything else cannot name a token.
PUBLIC_ID = re.compile(r"[A-Za-z0-9_]{1,32}")
# Where ninja says a bad value came from; clients know their field names without it.
SOURCES = {"body", "payload", "query", "path", "form"}
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_OFFSET = 10**9  # databases refuse offsets beyond their integer range
NO_STORE = "no-store, private"


class ApiError(Exception):
    """An error answered as JSON with a stable code (and RFC 6750 headers where they apply)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        headers: dict | None = None,
        body: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers = headers or {}
        self.body = body


def _invalid_token() -> ApiError:
    return ApiError(
        401,
        "invalid_token",
        "The access token is not valid: it is malformed, unknown, revoked or expired.",
        {"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
    )


def audit_failure(failure: AuthenticationFailed, request: HttpRequest) -> None:
    """Record a failed use of a token we know; garbage and unknown values only reach the log."""
    token = Token.objects.select_related("workspace").filter(public_id=failure.token_id).first()
    if token is not None:
        audit_record(
            action="token.auth_failed",
            actor=None,
            target=token,
            request=request,
            details={"reason": failure.reason, "path": request.path[:200]},
        )


def bearer_auth(request: HttpRequest, companion: str | None = None) -> TokenPrincipal:
    """Authenticate the request's Bearer token, or raise an ApiError; announce the outcome.

    With `companion`, a second token value (introspection's subject), look it up in the
    same query and leave `(companion, its principal or AuthenticationFailed)` in
    `request.companion`.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        _announce(request, "missing_token")
        raise ApiError(
            401,
            "missing_token",
            "Send a token in the Authorization header: Bearer <token>.",
            {"WWW-Authenticate": REALM},
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        _announce(request, "invalid_request")
        raise ApiError(
            400,
            "invalid_request",
            "Use the Bearer scheme: Authorization: Bearer <token>.",
            {"WWW-Authenticate": f'{REALM}, error="invalid_request"'},
        )
    address = client_ip(request)
    ip = address or "unknown"
    try:
        if companion is None:
            principal = authenticate_token(
                value.strip(), client_ip=address, user_agent=user_agent(request)
            )
        else:
            principal, found = authenticate_pair(
                value.strip(), companion, client_ip=address, user_agent=user_agent(request)
            )
            request.companion = (companion, found)
    except AuthenticationFailed as failure:
        _announce(request, failure.reason)
        if failure.token_id:
            outcome = "ip" if failure.reason == "ip_not_allowed" else "invalid"
            announce_use(failure.token_id, outcome, "", address, user_agent(request))
        _refuse_failure(failure, request, ip)
    _announce(request, "ok")
    _admit(request, principal)
    return principal


# What counts an authenticated request against its token's limits: the gateway app registers
# gateway.limits.admit (DESIGN §1: tokens never imports it). It returns None for a token
# without limits, else an object with `headers` (for every answer), `allowed`, `error`,
# `retry_after` and `body()` (the 429's JSON).
_admissions: list = []


def register_admission(admit) -> None:
    """Let `admit(principal)` refuse an authenticated API request over its token's limits."""
    _admissions[:] = [admit]


def _admit(request: HttpRequest, principal: TokenPrincipal) -> None:
    """Count the request against the token's limits; answer 429 over them."""
    if not _admissions:
        return
    admission = _admissions[0](principal)
    if admission is None:
        return
    request.limit_headers = admission.headers
    if not admission.allowed:
        announce_use(principal.public_id, "limit", "", client_ip(request), user_agent(request))
        body = admission.body()
        raise ApiError(429, body["error"], body["message"], admission.headers, body)


def _announce(request: HttpRequest, reason: str) -> None:
    signals.api_authentication.send(sender=TokenPrincipal, reason=reason, request=request)


def count_failure(ip: str) -> None:
    """Count a failed token lookup from `ip`, or answer 429 once it has failed too often."""
    try:
        lookup_limit.count_failure(ip)
    except lookup_limit.TooManyFailures as over:
        raise ApiError(
            429,
            "rate_limited",
            "Too many failed authentications from this address. Try again later.",
            {"Retry-After": str(over.wait)},
        ) from None


def _refuse_failure(failure: AuthenticationFailed, request: HttpRequest, ip: str) -> NoReturn:
    """Answer a token that did not authenticate: 401, or 429 once its address fails too often.

    Only failing attempts are limited, so a valid token is served whatever others
    sent from its address; over the limit nothing more is logged or audited.
    """
    count_failure(ip)
    logger.warning(
        "API authentication failed: %s (token %s, ip %s)",
        failure.reason,
        failure.token_id or "-",
        ip,
    )
    if failure.token_id:
        audit_failure(failure, request)
    raise _invalid_token() from None


class BearerAuth(HttpBearer):
    """Declare Bearer authentication in the OpenAPI schema; `bearer_auth` does the work."""

    def __call__(self, request: HttpRequest) -> TokenPrincipal:
        return bearer_auth(request)

    def authenticate(self, request: HttpRequest, token: str):  # pragma: no cover - unused
        raise NotImplementedError


api = NinjaAPI(
    title="Keyward API",
    version="1",
    description="Authenticate with `Authorization: Bearer <token>`. Errors follow RFC 6750.",
    urls_namespace="api",
    auth=BearerAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error(request, status: int, error: str, message: str, headers=None, fields=None, codes=None):
    body = {"error": error, "message": message}
    if fields:
        body["fields"] = fields
        body["field_codes"] = codes
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError) -> HttpResponse:
    if exc.body is not None:
        response = api.create_response(request, exc.body, status=exc.status)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    return _error(request, exc.status, exc.error, exc.message, exc.headers)


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc) -> HttpResponse:
    failure = _invalid_token()
    return _error(request, failure.status, failure.error, failure.message, failure.headers)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or "This token may not do that.")


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError) -> HttpResponse:
    # A service's refusal: each field's messages and their codes (an error of no field
    # is under __all__), as the forms show them.
    fields, codes = errors.by_field(exc)
    message = " ".join(exc.messages)
    return _error(request, 400, "validation_error", message, fields=fields, codes=codes)


# pydantic's error types, in the codes the services use for the same faults (Django's
# words: required, min_value, max_length, invalid_choice, ...); any other is "invalid".
SCHEMA_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "greater_than": "min_value",
    "greater_than_equal": "min_value",
    "less_than": "max_value",
    "less_than_equal": "max_value",
    "string_too_short": "min_length",
    "too_short": "min_length",
    "string_too_long": "max_length",
    "too_long": "max_length",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
}


def _names_a_field(part) -> bool:
    """Return whether a part of pydantic's error location names a field or an index.

    Left out: where the value came from (body, query, ...) and which member of a
    union was tried (``literal['tokens:read', …]``, ``constrained-str``).
    """
    return isinstance(part, int) or (part not in SOURCES and FIELD_NAME.fullmatch(part) is not None)


@api.exception_handler(SchemaValidationError)
def _schema_invalid(request, exc: SchemaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    codes: dict[str, list[str]] = {}
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", ()) if _names_a_field(part)]
        field = ".".join(location) or "body"
        message = text.PATTERN_MESSAGES.get(item.get("ctx", {}).get("pattern"), item.get("msg"))
        fields.setdefault(field, []).append(message or "invalid")
        codes.setdefault(field, []).append(SCHEMA_CODES.get(item.get("type"), "invalid"))
    message = f"The request is not valid; check {', '.join(fields)}."
    return _error(request, 400, "invalid_request", message, fields=fields, codes=codes)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError) -> HttpResponse:
    # django-ninja raises these itself, e.g. for a body that is not JSON.
    return _error(request, exc.status_code, "invalid_request", str(exc))


@api.exception_handler(SuspiciousOperation)
def _suspicious(request, exc: SuspiciousOperation) -> HttpResponse:
    # Django's own parsing refusals (too many fields, a body over the limit) land here;
    # ninja would answer them with a traceback under DEBUG, Django with an HTML page.
    logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(
        "%s (%s %s)", exc, request.method, request.path[:200]
    )
    if isinstance(exc, RequestDataTooBig):
        return _error(request, 413, "too_large", "The request body is too large.")
    return _error(request, 400, "invalid_request", f"The request cannot be read: {exc}")


@api.exception_handler(BadRequest)
def _bad_request(request, exc: BadRequest) -> HttpResponse:
    # Django's refusal of a body it will not decode (a form in a charset other than UTF-8).
    return _error(request, 400, "invalid_request", f"The request cannot be read: {exc}")


@api.exception_handler(MultiPartParserError)
def _unreadable_multipart(request, exc: MultiPartParserError) -> HttpResponse:
    return _error(request, 400, "invalid_request", f"The multipart body cannot be read: {exc}")


@api.exception_handler(Http404)
def _not_found(request, exc) -> HttpResponse:
    return _error(request, 404, "not_found", "No such token in this workspace.")


def require_scope(scope: str):
    """Decorate an endpoint so that it answers 403 insufficient_scope without `scope`."""

    def decorator(endpoint):
        @functools.wraps(endpoint)
        def wrapped(request, *args, **kwargs):
            if not request.auth.has_scope(scope):
                request.usage_outcome = "scope"
                raise ApiError(
                    403,
                    "insufficient_scope",
                    f"This token needs the {scope} scope.",
                    {"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
                )
            return endpoint(request, *args, **kwargs)

        return wrapped

    return decorator


def _workspace(principal: TokenPrincipal) -> Workspace:
    """Return the caller's workspace as a model instance without a query."""
    return Workspace(
        pk=principal.workspace_id, slug=principal.workspace_slug, name=principal.workspace_name
    )


def _token(request, public_id: str) -> Token:
    if not PUBLIC_ID.fullmatch(public_id):
        raise Http404
    actor = Actor.token(request.auth)
    try:
        return services.token_for(actor, _workspace(request.auth), public_id)
    except Token.DoesNotExist:
        raise Http404 from None


# Who reads and sets tokens' limits (rate_limit, quota): the gateway app registers
# gateway.limit_api's functions (DESIGN §1: tokens never imports it).
_token_limits: dict = {}


def register_token_limits(*, read, write) -> None:
    """Let `read(tokens)` describe tokens' limits, `write(...)` set one token's."""
    _token_limits.update(read=read, write=write)


def _outs(tokens: list[Token]) -> list[TokenOut]:
    """Return the API view of tokens, with their limits read for all of them at once."""
    limits = _token_limits["read"](tokens) if _token_limits and tokens else {}
    outs = []
    for token in tokens:
        out = TokenOut.from_token(token)
        for name, value in limits.get(token.pk, {}).items():
            setattr(out, name, value)  # RateLimitOut / QuotaOut instances
        outs.append(out)
    return outs


def _out(token: Token) -> TokenOut:
    return _outs([token])[0]


def _set_limits(request, token: Token, payload, sent: set[str]) -> None:
    """Give the token the rate_limit and quota the payload sent (null: none)."""
    if not {"rate_limit", "quota"} & sent:
        return
    if not _token_limits:
        raise errors.field_error(
            "rate_limit", "This deployment does not limit tokens.", "not_available"
        )
    _token_limits["write"](
        actor=Actor.token(request.auth),
        token=token,
        values={name: getattr(payload, name) for name in ("rate_limit", "quota") if name in sent},
        request=request,
    )


ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 413, 429)}


# Endpoints on every client's hot path, served without ninja (see direct()), by name.
DIRECT: dict[str, tuple[str, object, object, object]] = {}


def direct(method: str, params=None, companion=None):
    """Serve an endpoint declared to ninja as a plain Django view for `method` requests.

    ninja still describes it in the OpenAPI schema and answers other methods (405),
    but the requests themselves skip its per-operation plumbing: the Bearer check
    runs directly and the endpoint's dict is rendered without pydantic validating
    it again, so the endpoint must build exactly its declared shape (the schema
    tests check that it does). `params(request)` returns the endpoint's arguments;
    `companion(request)` a token value the endpoint looks up, which the Bearer check
    then finds in its own query (see bearer_auth), or None.
    """

    def decorator(endpoint):
        DIRECT[endpoint.__name__] = (method, endpoint, params, companion)
        return endpoint

    return decorator


def _direct_view(method: str, endpoint, params, companion, ninja_view):
    """Return the plain Django view for a direct() endpoint; ninja keeps the other methods."""

    @functools.wraps(ninja_view)  # keeps ninja's csrf_exempt: Bearer requests carry no cookie
    def view(request, *args, **kwargs):
        if request.method != method:
            return ninja_view(request, *args, **kwargs)
        try:
            value, unreadable = _read_companion(companion, request)
            request.auth = bearer_auth(request, value)
            if unreadable is not None:  # what params() would raise: after the Bearer check
                raise unreadable
            body = endpoint(request, **(params(request) if params else {}))
            return api.create_response(request, body, status=200)
        except Exception as exc:  # as ninja does: its exception handlers answer
            return api.on_exception(request, exc)

    return view


def _read_companion(companion, request) -> tuple[str | None, Exception | None]:
    """Return the companion value of a request and the error reading its body raised, if any.

    A body that cannot be read is answered only after the Bearer check, as params()
    would answer it; Django does not parse a faulty multipart body twice, so the
    error is kept rather than met again.
    """
    if companion is None:
        return None, None
    try:
        return companion(request), None
    except Exception as error:  # raised again by the view, after the Bearer check
        return None, error


def form_field(name: str):
    """Return a params() for direct() that reads the form field `name`, required like Form[str]."""

    def params(request) -> dict[str, str]:
        value = request.POST.get(name)
        if value is None:
            missing = {"type": "missing", "loc": ("form", name), "msg": "Field required"}
            raise SchemaValidationError([missing])
        return {name: value}

    return params


@direct("GET")
@api.get("/whoami", response={200: WhoAmIOut, **ERRORS}, tags=["tokens"])
def whoami(request):
    """Return the calling token's id, name, kind, workspace, scopes, resources and expiry."""
    principal: TokenPrincipal = request.auth
    return {
        "id": principal.public_id,
        "name": principal.name,
        "kind": principal.kind,
        "workspace": {"slug": principal.workspace_slug, "name": principal.workspace_name},
        "scopes": sorted(principal.scopes),
        "resources": list(principal.resources),
        "expires_at": principal.expires_at,
    }


# What decides whether an introspected token may make a request to a guarded service:
# the gateway app registers gateway.decision.decide (DESIGN §1: tokens never imports it).
_request_deciders: list = []
# Bounds of introspect's optional request fields: a method name, a resource's name, a path.
REQUEST_FIELD_LIMITS = {"resource": 100, "method": 20, "path": 2048}


def register_request_decider(decide) -> None:
    """Let `decide(principal, *, method, resource, path)` answer introspect's decision."""
    _request_deciders[:] = [decide]


def _introspect_params(request) -> dict[str, str | None]:
    """Return introspect's form fields: token (required), resource, method, path (optional)."""
    params = form_field("token")(request)
    problems = {}
    for name, limit in REQUEST_FIELD_LIMITS.items():
        value = request.POST.get(name) or None
        if value is not None and len(value) > limit:
            # A Django error: ninja's would drop the field name "path" (a source's name).
            problems[name] = ValidationError(f"At most {limit} characters.", code="max_length")
        params[name] = value
    if problems:
        raise ValidationError(problems)
    return params


# Bytes of an introspection body read before its caller is known (RFC 7662's are ~100).
EARLY_BODY_LIMIT = 4096


def _small_body(request) -> bool:
    try:
        return 0 <= int(request.META.get("CONTENT_LENGTH") or 0) <= EARLY_BODY_LIMIT
    except ValueError:
        return False


def _introspect_subject(request) -> str | None:
    """Return the value introspect is asked about (its `token` field), stripped, or None.

    Only a small body sent with credentials is read before the Bearer check: a larger
    one (a multipart one may spill to temporary files) is read after it, and the
    subject then costs a second lookup.
    """
    if "HTTP_AUTHORIZATION" not in request.META or not _small_body(request):
        return None
    value = request.POST.get("token")
    return None if value is None else value.strip()


def _subject(request, value: str) -> TokenPrincipal:
    """Return the principal of the token introspected, or raise AuthenticationFailed.

    The Bearer check found it in its own query when direct() served the request.
    """
    found = getattr(request, "companion", None)
    if found is None or found[0] != value:
        return authenticate_token(value, check_ip=False, record_use=False)
    if isinstance(found[1], AuthenticationFailed):
        raise found[1]
    return found[1]


def _decision(principal: TokenPrincipal, resource, method, path) -> dict | None:
    """Return whether `principal` may make the request named, or None if no resource is."""
    if resource is None:
        return None
    if not _request_deciders:
        raise errors.field_error("resource", "This deployment guards no services.", "not_available")
    decision = _request_deciders[0](
        principal, method=(method or "GET").strip(), resource=resource.strip(), path=path
    )
    return decision.as_dict()


@direct("POST", _introspect_params, _introspect_subject)
@api.post(
    "/introspect", response={200: IntrospectionOut, **ERRORS}, tags=["tokens"], exclude_none=True
)
@require_scope("tokens:introspect")
def introspect(
    request,
    token: Form[str],
    resource: str | None = Form(
        None,
        max_length=REQUEST_FIELD_LIMITS["resource"],
        description="A guarded service (its scope name or resource name): answer a decision.",
    ),
    method: str | None = Form(
        None,
        max_length=REQUEST_FIELD_LIMITS["method"],
        description="With resource; GET if left out.",
    ),
    path: str | None = Form(
        None,
        max_length=REQUEST_FIELD_LIMITS["path"],
        description="With resource: a path that must be under one of its prefixes.",
    ),
):
    """Report whether a token is active (RFC 7662); only this workspace's tokens can be.

    With `resource` (and optionally `method`, default GET, and `path`), also say
    whether the token may make that request to that guarded service, as the
    gateway check would decide (`decision`); without `resource`, no decision.
    """
    try:
        principal = _subject(request, token.strip())
    except AuthenticationFailed as failure:
        if failure.token_id is None:  # names no token: a guess, limited like a bad Bearer
            count_failure(limit_key(request))
        return {"active": False}
    if principal.workspace_id != request.auth.workspace_id:
        return {"active": False}
    answer = {
        "active": True,
        "scope": " ".join(sorted(principal.scopes)),
        "client_id": principal.public_id,
        "token_type": "Bearer",
        "exp": int(principal.expires_at.timestamp()) if principal.expires_at else None,
        "iat": int(principal.created_at.timestamp()),
        "sub": principal.owner_email or principal.public_id,
        "username": principal.owner_email,
        "workspace": principal.workspace_slug,
        "name": principal.name,
        "decision": _decision(principal, resource, method, path),
    }
    return {key: value for key, value in answer.items() if value is not None}  # exclude_none


@api.get("/tokens", response={200: list[TokenOut], **ERRORS}, tags=["tokens"])
@require_scope("tokens:read")
def token_list(
    request,
    status: ListStatus = "active",
    kind: KindName | None = None,
    limit: int = Query(100, ge=1, description="At most 500 tokens are sent, whatever the limit."),
    offset: int = Query(0, ge=0),
):
    """List the workspace's tokens this token may see (status: active, expired, revoked, all)."""
    actor = Actor.token(request.auth)
    tokens = services.tokens_visible_to(actor, _workspace(request.auth)).with_status(status)
    if kind:
        tokens = tokens.filter(kind=kind)
    limit = min(limit, 500)
    offset = min(offset, MAX_OFFSET)
    page = tokens.select_related(
        "owner", "created_by", "created_by_token", "rotated_from"
    ).prefetch_related("resources")[offset : offset + limit]
    return _outs(list(page))


@api.post("/tokens", response={201: TokenWithSecretOut, **ERRORS}, tags=["tokens"])
@require_scope("tokens:write")
def token_create(request, payload: TokenCreateIn):
    """Create a token; the secret is in this response only."""
    sent = payload.model_fields_set
    if {"scopes", "preset"} <= sent:
        raise errors.field_error(
            "preset", "Send scopes or a preset, not both.", "mutually_exclusive"
        )
    if {"expires_at", "expires_in_days"} <= sent:
        raise errors.field_error(
            "expires_in_days", "Send expires_at or expires_in_days, not both.", "mutually_exclusive"
        )
    scopes = payload.scopes
    if payload.preset:
        scopes = scope_catalogue.preset_scopes(payload.preset)
    expires_at = payload.expires_at
    if payload.expires_in_days:
        expires_at = timezone.now() + timedelta(days=payload.expires_in_days)
    with transaction.atomic():  # a token whose limits are refused is not created either
        token, secret = services.token_create(
            actor=Actor.token(request.auth),
            workspace=_workspace(request.auth),
            name=payload.name,
            description=payload.description,
            kind=payload.kind,
            scopes=scopes or [],
            resource_ids=payload.resources,
            allowed_ips=payload.allowed_ips,
            expires_at=expires_at,
            request=request,
        )
        _set_limits(request, token, payload, sent)
    token = services.token_for(Actor.token(request.auth), _workspace(request.auth), token.public_id)
    return Status(201, TokenWithSecretOut(**_out(token).dict(), token=secret))


@api.get("/tokens/{token_id}", response={200: TokenOut, **ERRORS}, tags=["tokens"])
@require_scope("tokens:read")
def token_detail(request, token_id: str):
    """Return one token's metadata."""
    return _out(_token(request, token_id))


@api.patch("/tokens/{token_id}", response={200: TokenOut, **ERRORS}, tags=["tokens"])
@require_scope("tokens:write")
def token_update(request, token_id: str, payload: TokenUpdateIn):
    """Rename a token, change its description, or its limits (rate_limit, quota; null: none)."""
    token = _token(request, token_id)
    with transaction.atomic():
        services.token_rename(
            actor=Actor.token(request.auth),
            token=token,
            name=payload.name if payload.name is not None else token.name,
            description=payload.description,
            request=request,
        )
        _set_limits(request, token, payload, payload.model_fields_set)
    return _out(token)


@api.delete("/tokens/{token_id}", response={200: TokenOut, **ERRORS}, tags=["tokens"])
@require_scope("tokens:write")
def token_revoke(request, token_id: str):
    """Revoke a token at once."""
    token = _token(request, token_id)
    services.token_revoke(actor=Actor.token(request.auth), token=token, request=request)
    return _out(_token(request, token_id))


@api.post(
    "/tokens/{token_id}/rotate", response={201: TokenWithSecretOut, **ERRORS}, tags=["tokens"]
)
@require_scope("tokens:write")
def token_rotate(request, token_id: str, payload: TokenRotateIn | None = None):
    """Replace a token's secret; the old one works for the grace period. Secret shown once.

    The body may be left out: the grace period is then none.
    """
    grace = payload.grace if payload is not None else TokenRotateIn().grace
    actor = Actor.token(request.auth)
    new_token, secret = services.token_rotate(
        actor=actor, token=_token(request, token_id), grace=grace, request=request
    )
    new_token = _token(request, new_token.public_id)
    return Status(201, TokenWithSecretOut(**_out(new_token).dict(), token=secret))


def _api_view(view):
    """Wrap an API view: a wrong method gets our JSON 405, and no response is stored by caches.

    Every answer is about a workspace's tokens for one bearer, and some carry a
    new secret; marking them all no-store keeps that rule in one place.
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        # A limited token's RateLimit headers, on every answer it gets (bearer_auth sets them).
        for name, value in getattr(request, "limit_headers", {}).items():
            response.setdefault(name, value)
        principal = getattr(request, "auth", None)
        if isinstance(principal, TokenPrincipal):
            # Counted once the answer is decided: allowed, or refused for want of a scope.
            outcome = getattr(request, "usage_outcome", "allowed")
            announce_use(principal.public_id, outcome, "", client_ip(request), user_agent(request))
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            response = _error(
                request,
                405,
                "method_not_allowed",
                f"This endpoint accepts {allowed or 'no method'}.",
            )
            response["Allow"] = allowed
        if response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        else:  # what patch_cache_control would write, without parsing and re-joining it
            response["Cache-Control"] = NO_STORE
        return response

    return wrapped


@csrf_exempt  # an unknown API path answers JSON 404 whatever the method, like known ones
def _unknown_endpoint(request: HttpRequest, path: str = "") -> HttpResponse:
    return _error(request, 404, "not_found", "No such API endpoint. See /api/v1/docs.")


def api_urls():
    """Return the API's URLconf: ninja's routes (direct() ones as plain views), then a JSON
    404 for the rest, all no-store."""
    patterns, app_name, namespace = api.urls
    # The hot endpoints first: URL resolution tries patterns in order.
    patterns = sorted(patterns, key=lambda pattern: pattern.name not in DIRECT)
    patterns = [*patterns, re_path(r"^(?P<path>.*)$", _unknown_endpoint)]
    for pattern in patterns:
        if pattern.name in DIRECT:
            pattern.callback = _direct_view(*DIRECT[pattern.name], pattern.callback)
        pattern.callback = _api_view(pattern.callback)
    return patterns, app_name, namespace
