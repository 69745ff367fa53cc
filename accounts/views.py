"""Auth and account endpoints (SPEC §3.1): parse, rate-limit, call a service, serialize."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers as s
from accounts.exports import user_export
from accounts.oidc import provider_summary
from accounts.services import codes, sessions, users
from accounts.services.erasure import user_delete
from mdcreator import errors
from mdcreator.ratelimit import client_ip, hit
from mdcreator.validation import validated

CODE_CHECK_RATE = "10/15minute"
CODE_SEND_RATE = "1/minute"
EXPORT_RATE = "1/hour"
REAUTH_WINDOW_SECONDS = 600
SENT_IF_EXISTS = "If an account exists for this address, an email with a code is on its way."


def _client(request, device_id: str | None = None) -> sessions.ClientInfo:
    return sessions.ClientInfo(
        user_agent=request.META.get("HTTP_USER_AGENT", ""), ip=client_ip(request), device_id=device_id
    )


class PublicAPIView(APIView):
    """Endpoints callable without a token; a stale Authorization header is ignored, not refused."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


@extend_schema(tags=["auth"], auth=[], responses=s.ProvidersSerializer)
class ProvidersView(PublicAPIView):
    """Which sign-in methods this server offers."""

    def get(self, request):
        return Response(
            {
                "local": {
                    "enabled": True,
                    "signup_enabled": settings.ACCOUNTS_SIGNUP_ENABLED,
                    "email_confirmation": settings.ACCOUNTS_EMAIL_CONFIRMATION,
                },
                "oidc": provider_summary(),
            }
        )


@extend_schema(tags=["auth"], auth=[], request=s.SignupSerializer, responses={201: s.SignupResponseSerializer})
class SignupView(PublicAPIView):
    """Create a local account (also served as `auth/register`)."""

    def post(self, request):
        data = validated(s.SignupSerializer, request.data)
        hit("signup", client_ip(request), settings.RATE_LIMIT_SIGNUP)
        user, tokens = users.user_signup(
            email=data["email"],
            password=data["password"],
            display_name=data["display_name"],
            username=data["username"],
            client=_client(request),
        )
        body = {
            "user_id": str(user.pk),
            "email": user.email,
            "display_name": user.display_name,
            "email_verified": user.email_verified,
            "confirmation_required": tokens is None,
            "message": "Check your inbox for a 6-digit confirmation code."
            if tokens is None
            else "Your account is ready.",
        }
        profile = s.MeSerializer(user).data
        body.update({name: profile[name] for name in ("full_name", "is_verified", "is_active")})  # the client's names
        if tokens is not None:  # signed in at once: the profile too, as login answers
            body.update(tokens.as_dict(), user=profile)
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"], auth=[], request=s.ConfirmSerializer, responses=s.ConfirmResponseSerializer)
class ConfirmView(PublicAPIView):
    """Verify an email address with the mailed code."""

    def post(self, request):
        data = validated(s.ConfirmSerializer, request.data)
        hit("confirm", data["email"], CODE_CHECK_RATE)
        codes.email_confirm(email=data["email"], code=data["confirmation_code"])
        return Response({"email_verified": True, "message": "Your email address is confirmed."})


@extend_schema(tags=["auth"], auth=[], request=s.EmailSerializer, responses={202: s.MessageSerializer})
class ConfirmResendView(PublicAPIView):
    """Mail a new confirmation code (same answer for unknown addresses)."""

    def post(self, request):
        data = validated(s.EmailSerializer, request.data)
        hit("confirm-resend", data["email"], CODE_SEND_RATE)
        codes.confirmation_resend(email=data["email"])
        return Response({"message": SENT_IF_EXISTS}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["auth"], auth=[], request=s.LoginSerializer, responses=s.LoginResponseSerializer)
class LoginView(PublicAPIView):
    """Exchange email and password for an access and a refresh token."""

    def post(self, request):
        data = validated(s.LoginSerializer, request.data)
        hit("login", f"{client_ip(request)}|{data['email']}", settings.RATE_LIMIT_LOGIN)
        user, tokens = sessions.session_login(
            email=data["email"], password=data["password"], client=_client(request, data.get("device_id"))
        )
        return Response({**tokens.as_dict(), "user": s.MeSerializer(user).data})


@extend_schema(tags=["auth"], auth=[], request=s.RefreshSerializer, responses=s.TokenPairSerializer)
class RefreshView(PublicAPIView):
    """Rotate a refresh token (SPEC §3.1: reuse detection with a 10-second grace)."""

    def post(self, request):
        data = validated(s.RefreshSerializer, request.data)
        tokens = sessions.session_refresh(refresh_token=data["refresh_token"], client=_client(request))
        return Response(tokens.as_dict())


@extend_schema(tags=["auth"], request=s.LogoutSerializer, responses={204: OpenApiResponse(description="Signed out")})
class LogoutView(APIView):
    """Sign out one session (family) or every device; a no-op for OIDC callers."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        data = validated(s.LogoutSerializer, request.data)
        sessions.session_logout(
            user=request.user,
            refresh_token=data.get("refresh_token") or None,
            session_id=request.auth.session_id,
            all_devices=data["all_devices"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"], auth=[], request=s.EmailSerializer, responses={202: s.MessageSerializer})
class PasswordResetView(PublicAPIView):
    """Mail a password-reset code (same answer for unknown addresses)."""

    def post(self, request):
        data = validated(s.EmailSerializer, request.data)
        hit("reset-request", data["email"], CODE_SEND_RATE)
        codes.password_reset_request(email=data["email"])
        return Response({"message": SENT_IF_EXISTS}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["auth"], auth=[], request=s.ResetConfirmSerializer, responses=s.MessageSerializer)
class PasswordResetConfirmView(PublicAPIView):
    """Set a new password with the mailed reset code."""

    def post(self, request):
        data = validated(s.ResetConfirmSerializer, request.data)
        hit("reset-confirm", data["email"], CODE_CHECK_RATE)
        codes.password_reset_confirm(email=data["email"], code=data["code"], new_password=data["new_password"])
        return Response({"message": "Your password has been reset. Sign in with the new password."})


@extend_schema(tags=["auth"], request=s.PasswordChangeSerializer, responses=s.MessageSerializer)
class PasswordChangeView(APIView):
    """Change the password of a local account; other sessions are signed out."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        data = validated(s.PasswordChangeSerializer, request.data)
        users.password_change(
            user=request.user,
            current_password=data["current_password"],
            new_password=data["new_password"],
            keep_session_id=request.auth.session_id,
        )
        return Response({"message": "Your password has been changed."})


class MeView(APIView):
    """The caller's profile."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], responses=s.MeSerializer)
    def get(self, request):
        return Response(s.me_body(request.user))

    @extend_schema(tags=["auth"], request=s.MeUpdateSerializer, responses=s.MeSerializer)
    def patch(self, request):
        data = validated(s.MeUpdateSerializer, request.data)
        user = users.user_update_profile(user=request.user, data=data)
        return Response(s.me_body(user))

    @extend_schema(
        tags=["auth"],
        request=s.AccountDeleteSerializer,
        responses={204: OpenApiResponse(description="Deleted")},
        description=(
            "Erase the caller's account. Local accounts send their `password` in a JSON body; OIDC callers "
            "need a token from a sign-in less than ten minutes old (`auth_time`). Refused with 409 "
            "`owns-shared-workspace` while the caller owns a team workspace with other members."
        ),
    )
    def delete(self, request):
        data = validated(s.AccountDeleteSerializer, request.data)
        _confirm_identity(request, data.get("password"))
        user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _confirm_identity(request, password: str | None) -> None:
    """Deletion needs the password, or an OIDC token from a sign-in of the last ten minutes."""
    user = request.user
    if password and user.has_usable_password():
        if not user.check_password(password):
            raise errors.InvalidCredentialsError("The password is wrong.")
        return
    claims = (request.auth.claims or {}) if request.auth.source == "oidc" else {}
    auth_time = claims.get("auth_time")
    if isinstance(auth_time, (int, float)) and timezone.now().timestamp() - auth_time <= REAUTH_WINDOW_SECONDS:
        return
    if user.has_usable_password():
        raise errors.InvalidCredentialsError("Confirm with your password to delete the account.")
    raise errors.InvalidCredentialsError("Sign in again with your identity provider, then retry within ten minutes.")


@extend_schema(tags=["auth"], responses={200: OpenApiResponse(description="JSON download of the account's data")})
class MeExportView(APIView):
    """Everything the caller owns, as a JSON download (at most once an hour)."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        hit("export", str(request.user.pk), EXPORT_RATE)
        document = user_export(user=request.user)
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d")
        response["Content-Disposition"] = f'attachment; filename="mdcreator-export-{stamp}.json"'
        return response
