"""Sign people in through the operator's OpenID Connect issuer (mozilla-django-oidc's backend).

The package runs the authorization-code flow (state, nonce, PKCE) and
exchanges the code; this subclass decides who signs in. The ID token must be
signed with RS256 or ES256 by a key of the issuer's JWKS, name our issuer and
our client, not be expired and carry the nonce this browser sent. The person
is matched by email only when the token says the email is verified; nobody is
created unless a workspace's just-in-time membership takes their domain.

Every refusal is an `SsoRefused` with a stable reason: audited as
`signin.sso_failed` (the reason and the email when known, never a token),
counted under the sign-in limits, and shown on the login page in words
(`REFUSAL_MESSAGES`).
"""

from __future__ import annotations

import contextlib
import hmac
import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import signin_limit
from accounts.audit import audit_record
from accounts.models.users import normalize_email
from accounts.shared_cache import SharedCacheUnavailable
from accounts.signin import oidc_config, sso, sso_logout

logger = logging.getLogger(__name__)

# The issuer's clock and ours may differ a little.
LEEWAY_SECONDS = 60
UNTRUSTED = (
    "The answer from your single sign-on provider could not be trusted, so you are not "
    "signed in. Try again; if it keeps happening, tell your Keyward operator."
)
REFUSAL_MESSAGES = {
    "provider_error": "Your single sign-on provider did not sign you in.",
    "provider_unreachable": "The single sign-on provider could not be reached. Try again shortly.",
    "state_mismatch": "That single sign-on attempt was not started here or has already been "
    "used. Sign in again.",
    "token_refused": UNTRUSTED,
    "invalid_token": UNTRUSTED,
    "algorithm_refused": UNTRUSTED,
    "unknown_key": UNTRUSTED,
    "bad_signature": UNTRUSTED,
    "wrong_issuer": UNTRUSTED,
    "wrong_audience": UNTRUSTED,
    "token_expired": UNTRUSTED,
    "nonce_mismatch": UNTRUSTED,
    "no_email": "Your single sign-on provider did not share your email address with Keyward.",
    "email_unverified": "Your single sign-on provider has not verified your email address, "
    "so Keyward cannot match it to an account. Verify it with your provider, then sign in again.",
    "no_account": "No Keyward account uses the email address your provider gave. Ask a "
    "workspace Admin for an invitation.",
    "invalid_email": "The email address your provider gave cannot be used for a Keyward account.",
    "inactive": "This Keyward account is deactivated.",
    "rate_limited": "Too many failed sign-in attempts. Wait a few minutes, then try again.",
    "unavailable": "Sign-ins cannot be checked for a moment. Try again shortly.",
}


class SsoRefused(Exception):
    """Raised when a single sign-on is refused; `reason` is a key of REFUSAL_MESSAGES."""

    def __init__(self, reason: str, *, email: str | None = None, user=None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.email = email
        self.user = user


def record_refusal(request: HttpRequest | None, refused: SsoRefused, **details) -> None:
    """Audit a refused SSO sign-in; count it against the account when the email is known.

    The client IP's count comes from Django's `user_login_failed`, sent for every
    sign-in `authenticate` refuses (accounts.signin_limit); the view sends it for
    refusals that never reach `authenticate`.
    """
    audit_record(
        action="signin.sso_failed",
        actor=refused.user,
        request=request,
        details={
            "reason": refused.reason,
            **({"email": refused.email} if refused.email else {}),
            **details,
        },
    )
    logger.info("single sign-on refused: %s", refused.reason)
    if refused.email:
        by_account, _ = signin_limit.login_limiters()
        with contextlib.suppress(SharedCacheUnavailable):
            by_account.record_failure(normalize_email(refused.email))
    if request is not None:
        request.sso_refused = refused


def _email_verified(claims: dict) -> bool:
    # Some issuers send the boolean as a string.
    return claims.get("email_verified") in (True, "true")


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """Authenticate the person the issuer's ID token names; see the module's docstring.

    Django builds every backend for each `authenticate` and for each request's
    `get_user`, so nothing here reads the issuer before an SSO sign-in asks.
    """

    get_settings = staticmethod(oidc_config.library_setting)

    def __init__(self, *args, **kwargs) -> None:
        # Not the package's __init__: it reads the endpoints eagerly.
        self.UserModel = get_user_model()

    # The package's methods read these attributes.
    OIDC_RP_CLIENT_ID = property(lambda self: self.get_settings("OIDC_RP_CLIENT_ID"))
    OIDC_RP_CLIENT_SECRET = property(lambda self: self.get_settings("OIDC_RP_CLIENT_SECRET"))
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: self.get_settings("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: self.get_settings("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: self.get_settings("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_SIGN_ALGO = property(lambda self: self.get_settings("OIDC_RP_SIGN_ALGO"))
    OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, *, oidc_nonce: str, oidc_code_verifier: str):
        """Return the user the issuer signed in for this callback, or None (audited).

        Keyword-only credentials: a password sign-in never reaches this backend.
        """
        if request is None:
            return None
        self.request = request
        try:
            if not oidc_config.is_enabled():
                raise SsoRefused("provider_error")
            user = super().authenticate(request, nonce=oidc_nonce, code_verifier=oidc_code_verifier)
            if user is None:  # the package found no code or state
                raise SsoRefused("state_mismatch")
        except SsoRefused as refused:
            record_refusal(request, refused)
            return None
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            record_refusal(request, SsoRefused("token_refused"), status=status)
            return None
        except (requests.RequestException, oidc_config.ProviderUnavailable, ValueError) as error:
            logger.warning("single sign-on provider unavailable: %s", error)
            record_refusal(request, SsoRefused("provider_unreachable"))
            return None
        return user

    def store_tokens(self, access_token, id_token) -> None:
        """Leave the ID token on the request for the SSO logout (accounts.signin.sso_logout)."""
        setattr(self.request, sso_logout.REQUEST_ATTRIBUTE, id_token)

    def user_can_authenticate(self, user) -> bool:
        return getattr(user, "is_active", False)

    def _signing_key(self, header: dict) -> jwt.PyJWK:
        """Return the issuer's key that signed the token: same kid and algorithm."""
        for refresh in (False, True):  # unknown kid: the issuer may have rotated its keys
            for key in oidc_config.signing_keys(refresh=refresh):
                if header.get("kid") is not None and key.get("kid") != header["kid"]:
                    continue
                if key.get("alg") not in (None, header["alg"]) or key.get("use") not in (
                    None,
                    "sig",
                ):
                    continue
                with contextlib.suppress(jwt.PyJWKError, jwt.InvalidKeyError):
                    return jwt.PyJWK(key, algorithm=header["alg"])
        raise SsoRefused("unknown_key")

    def verify_token(self, token, **kwargs) -> dict:
        """Return the ID token's claims if its signature, issuer, audience, expiry, nonce hold."""
        if not isinstance(token, str):
            raise SsoRefused("invalid_token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise SsoRefused("invalid_token") from None
        if header.get("alg") not in settings.KEYWARD_OIDC_SIGN_ALGORITHMS:
            raise SsoRefused("algorithm_refused")
        key = self._signing_key(header)
        client_id = settings.KEYWARD_OIDC_CLIENT_ID
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                audience=client_id,
                issuer=settings.KEYWARD_OIDC_ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidSignatureError:
            raise SsoRefused("bad_signature") from None
        except jwt.ExpiredSignatureError:
            raise SsoRefused("token_expired") from None
        except jwt.InvalidAudienceError:
            raise SsoRefused("wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise SsoRefused("wrong_issuer") from None
        except jwt.InvalidTokenError:
            raise SsoRefused("invalid_token") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != client_id:
            raise SsoRefused("wrong_audience")  # OpenID Connect Core 3.1.3.7, step 4-5
        nonce = kwargs.get("nonce")
        if not (
            isinstance(nonce, str)
            and isinstance(claims.get("nonce"), str)
            and hmac.compare_digest(claims["nonce"], nonce)
        ):
            raise SsoRefused("nonce_mismatch")
        return claims

    def get_userinfo(self, access_token, id_token, payload) -> dict:
        """Return the ID token's claims; ask the userinfo endpoint only for a missing email."""
        if "email" in payload or not self.OIDC_OP_USER_ENDPOINT or not access_token:
            return payload
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SsoRefused("invalid_token")  # OpenID Connect Core 5.3.2: same subject
        return {**userinfo, **payload}

    def get_or_create_user(self, access_token, id_token, payload):
        """Return the account of the verified email; create it only for JIT membership."""
        claims = self.get_userinfo(access_token, id_token, payload)
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise SsoRefused("no_email")
        email = normalize_email(email)
        if not _email_verified(claims):
            raise SsoRefused("email_unverified", email=email)
        try:
            if signin_limit.retry_after(self.request, email):
                raise SsoRefused("rate_limited", email=email)
        except SharedCacheUnavailable:
            raise SsoRefused("unavailable", email=email) from None
        user = self.UserModel.objects.filter(email=email).first()
        joining = sso.jit_workspaces(email)
        if user is not None and not user.is_active:
            raise SsoRefused("inactive", email=email, user=user)
        if user is None and not joining:
            raise SsoRefused("no_account", email=email)
        with transaction.atomic():
            if user is None:
                try:
                    with transaction.atomic():
                        user = self.UserModel.objects.create_user(email)  # no usable password
                except (ValidationError, IntegrityError):
                    # A parallel sign-in may have created it first; else the email is unusable.
                    user = self.UserModel.objects.filter(email=email).first()
                    if user is None:
                        raise SsoRefused("invalid_email", email=email) from None
            sso.jit_join(user, joining, self.request)
        return user
