"""Accept an invitation from its emailed link: sign up or sign in, then join."""

from __future__ import annotations

from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts import services
from accounts.forms import InvitationSignupForm
from accounts.invitation_links import InvitationLinkError, invitation_from_link_token
from accounts.models import User
from accounts.signin import browsers

TEMPLATE = "accounts/invitation_accept.html"


@sensitive_post_parameters("password1", "password2")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show the invitation and let its addressee join the workspace."""
    try:
        invitation = invitation_from_link_token(token)
    except InvitationLinkError as error:
        return render(request, TEMPLATE, {"link_error": str(error)}, status=400)

    context = {"invitation": invitation, "token": token}
    user = request.user
    if not user.is_authenticated:
        if User.objects.filter(email=invitation.email).exists():
            context["needs_login"] = True
            return render(request, TEMPLATE, context)
        form = InvitationSignupForm(request.POST or None, email=invitation.email)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    new_user, _ = services.user_signup(
                        email=invitation.email,
                        password=form.cleaned_data["password1"],
                        full_name=form.cleaned_data["full_name"],
                        request=request,
                    )
                    services.invitation_accept(
                        invitation=invitation, user=new_user, request=request
                    )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
                response = redirect(invitation.workspace)
                browsers.remember(request, response, new_user)
                return response
        context["signup_form"] = form
        return render(request, TEMPLATE, context)

    if request.method == "POST":
        try:
            services.invitation_accept(invitation=invitation, user=user, request=request)
        except ValidationError as error:
            context["accept_error"] = " ".join(error.messages)
        else:
            return redirect(invitation.workspace)
    elif user.email != invitation.email:
        context["accept_error"] = (
            f"This invitation is for {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out and open the link again."
        )
    return render(request, TEMPLATE, context, status=400 if "accept_error" in context else 200)
